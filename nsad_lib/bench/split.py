"""The seeded split of a benchmark suite into a ``source`` half (searches read it) and a ``target``
half (never read by a search; the half a discovered activation is judged on).

The rule (:func:`split_suite`), stratified by domain:

1. Group the suite's members by their ``domain`` (:data:`nsad_lib.bench.suite.MEMBERS`).
2. With ``rng = numpy.random.default_rng(seed)``, visit the domains in alphabetical order; in
   each, shuffle its members (taken in alphabetical order) with ``rng.permutation``. The first
   ``n // 2`` shuffled members go to ``source``, the next ``n // 2`` to ``target``.
3. A domain with an odd count has one member left over. Left-overs are placed afterwards, in
   the alphabetical order of their domains: to the smaller half, or, when the halves are equal,
   to ``source`` if ``rng.random() < 0.5`` else ``target``.

So every domain with two or more members is on both sides, the halves differ in size by at most
one, and the split depends only on the suite's member names, their domains and ``seed``
(default :data:`DEFAULT_SEED`, fixed). Each half is listed in the suite's order.
"""

from __future__ import annotations

from typing import Sequence, Union

from nsad_lib.errors import NsadError

__all__ = ["DEFAULT_SEED", "HALVES", "split_suite", "half"]

#: The split every bundled suite search uses (``--split-seed`` changes it).
DEFAULT_SEED = 2024
HALVES = ("source", "target")


def _names(suite: Union[str, Sequence[str]]) -> list[str]:
    from nsad_lib.bench.suite import SUITES, member

    if isinstance(suite, str):
        if suite not in SUITES:
            raise NsadError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
        return list(SUITES[suite])
    return [member(n).name for n in suite]


def split_suite(suite: Union[str, Sequence[str]], seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """``{"source": [...], "target": [...]}`` for a suite name or a list of member names (the rule
    is in this module's docstring)."""
    import numpy as np

    from nsad_lib.bench.suite import MEMBERS

    names = _names(suite)
    by_domain: dict[str, list[str]] = {}
    for n in names:
        by_domain.setdefault(MEMBERS[n].domain, []).append(n)
    rng = np.random.default_rng(int(seed))
    source: list[str] = []
    target: list[str] = []
    leftover: list[str] = []
    for domain in sorted(by_domain):
        members = sorted(by_domain[domain])
        shuffled = [members[i] for i in rng.permutation(len(members))]
        k = len(members) // 2
        source += shuffled[:k]
        target += shuffled[k:2 * k]
        leftover += shuffled[2 * k:]
    for n in leftover:  # already in the alphabetical order of their domains
        if len(source) != len(target):
            (source if len(source) < len(target) else target).append(n)
        else:
            (source if rng.random() < 0.5 else target).append(n)
    order = {n: i for i, n in enumerate(names)}
    return {"source": sorted(source, key=order.__getitem__), "target": sorted(target, key=order.__getitem__)}


def half(suite: Union[str, Sequence[str]], which: str, seed: int = DEFAULT_SEED) -> list[str]:
    """One half of :func:`split_suite`; ``which`` is ``source`` or ``target``."""
    if which not in HALVES:
        raise NsadError(f"--split {which!r}: use source or target")
    return split_suite(suite, seed)[which]
