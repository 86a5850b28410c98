"""Which instructions an output needs, in order, and when each intermediate can be freed.

Shared by the functional evaluator (:mod:`nsad_lib.formula.program`), its cost model and the buffer
scheduler (:mod:`nsad_lib.nn.executor`), so all three agree on one dependency walk.
"""

from __future__ import annotations

from typing import Any, Sequence


def needed_slots(instructions: Sequence[Any], slots: Sequence[int]) -> set[int]:
    """Every slot that ``slots`` depend on, themselves included."""
    needed: set[int] = set()
    stack = list(slots)
    while stack:
        s = stack.pop()
        if s not in needed:
            needed.add(s)
            stack.extend(instructions[s][1])
    return needed


def plan_slots(instructions: Sequence[Any], slots: Sequence[int]) -> tuple[tuple[int, ...], dict[int, tuple[int, ...]]]:
    """Slots needed for ``slots`` in dependency order, and per slot the operands whose last use it
    is (never one of ``slots`` themselves: those are the results)."""
    order = tuple(sorted(needed_slots(instructions, slots)))
    keep = set(slots)
    last_use: dict[int, int] = {}
    for s in order:
        for a in instructions[s][1]:
            last_use[a] = s
    frees: dict[int, list[int]] = {}
    for slot, user in last_use.items():
        if slot not in keep:
            frees.setdefault(user, []).append(slot)
    return order, {k: tuple(v) for k, v in frees.items()}
