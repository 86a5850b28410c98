"""Running a :class:`~nsad_lib.formula.program.Program` on torch tensors.

Two evaluators over the operator tables of :mod:`nsad_lib.nn.ops`:

* functional (:func:`run_program`, :func:`functional_steps` + :func:`run_steps`): plain composed
  torch ops, for autograd, ``torch.compile`` and ``torch.export``;
* into reused buffers (:func:`forward_into`, :func:`backward_into`), when no graph is recorded.

Every elementwise instruction reads and writes a tensor the size of the input, so an eager
activation costs roughly (number of passes) x (memory traffic + allocation). Outside autograd
(inside the custom autograd.Function, or under no_grad) intermediates belong to us: each
instruction writes into the buffer of an operand that dies there, or into a buffer freed
earlier, through the ops' ``out=`` forms. On CPU, small inputs (:data:`SMALL_BYTES`) run whole
on buffers kept per thread and shape, and larger dense tensors in chunks whose scratch buffers
are cached per thread (a few MiB), so an activation of any size allocates only its result
(and, in the backward, the input's gradient): no full-size temporaries, and no fresh pages to
fault in. The backward multiplies by the incoming gradient chunk by chunk,
with a trailing constant factor of the derivative folded into that multiply.

Schedules and step tuples derived from a program are memoised in its ``cache``.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch

from nsad_lib.formula.ops import cost
from nsad_lib.formula.plan import needed_slots, plan_slots
from nsad_lib.formula.program import Program
from nsad_lib.nn.ops import COMPILE_OPS, INTO_OPS, TORCH_OPS, scalar_like

_X, _PARAM, _CONST, _SMALL, _INTO, _NEW = range(6)

#: (kind, slot, fn, args, payload, buffer, dead slots) per instruction, in order
Step = tuple[int, int, Any, tuple[int, ...], Any, int, tuple[int, ...]]

#: Buffer id meaning "the caller's output slice" (forward: f; backward: d/dx, then times grad).
_OUT = -2

#: Bytes of one buffer's chunk when torch runs single-threaded: small enough that the few live
#: buffers of a chunk stay in cache between the instructions that use them.
CHUNK_BYTES = 1 << 22
#: ... and with several threads: every op is an OpenMP parallel region, and on a busy machine each
#: region can wait for a descheduled thread, so fewer, longer regions win over cache reuse.
CHUNK_BYTES_THREADED = 1 << 24
#: Inputs of at most this many bytes (a 1024 x 64 float32 batch) run as one piece on whole
#: tensors, their intermediates in buffers kept per thread and shape (:func:`_whole_buffers`): a
#: small network's activation is a few microseconds of arithmetic, so the flat views, chunk loop
#: and scratch lookups of the chunked path were a large part of its cost. (Larger inputs keep the
#: chunked path; when whole runs still took fresh buffers, at 1024 x 200 they measured 1.3-1.6x
#: the chunked path.)
SMALL_BYTES = 1 << 18
#: Shapes whose whole-tensor buffers are kept per thread (:meth:`_Scratch.shaped`).
WHOLE_SHAPES = 16


@dataclass(frozen=True)
class _Schedule:
    steps: tuple[Step, ...]
    n_buffers: int
    pinned: int  # output slot written straight into the caller's output, or -1
    slots: tuple[int, ...]  # output slots, in the order asked
    scales: tuple[float, ...]  # output k is scales[k] * (value of slots[k])
    slot_buffers: tuple[int, ...]  # buffer holding output k's value at the end (_OUT, or -1: none)


def _fold_scales(instructions: Sequence[Any], slots: tuple[int, ...], first: int = 0) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Outputs of the form c*v (a final negation or constant factor) as v and c, where v is
    not needed otherwise: the caller applies c for free (in its multiply by the incoming
    gradient, or to a parameter's sum). Outputs before ``first`` are left as they are."""
    slots_out = list(slots)
    scales = [1.0] * len(slots)
    for k, slot in enumerate(slots):
        if k < first:
            continue
        op, args, _ = instructions[slot]
        if op == "neg":
            inner, c = args[0], -1.0
        elif op == "mul" and instructions[args[1]][0] == "const":
            inner, c = args[0], float(instructions[args[1]][2])
        else:
            continue
        if instructions[inner][0] in ("x", "param", "const") or inner in slots_out or slots_out.count(slot) > 1:
            continue
        trial = slots_out[:k] + [inner] + slots_out[k + 1 :]
        order, _ = plan_slots(instructions, trial)
        if any(slot in instructions[s][1] for s in order):  # the scaled value is used elsewhere
            continue
        slots_out, scales[k] = trial, c
    return tuple(slots_out), tuple(scales)


def _schedule(program: Program, outputs: tuple[int, ...], fold_scale: bool = False, fold_from: int = 0) -> _Schedule:
    """Buffer assignment for ``outputs`` (cached on the program).

    Output ``outputs[0]`` is pinned: its instruction writes into the caller's output slice.
    Other outputs (parameter derivatives) live in scratch buffers until the caller reads them.
    With ``fold_scale`` a final negation or constant factor of an output is left to the caller
    (the backward folds it into its multiply by the incoming gradient, or into a sum), for
    the outputs from index ``fold_from`` on.
    """
    key = ("into", outputs, fold_scale, fold_from)
    cached = program.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    instructions = program.instructions
    slots = tuple(program.outputs[o] for o in outputs)
    scales = (1.0,) * len(slots)
    if fold_scale:
        slots, scales = _fold_scales(instructions, slots, fold_from)
    order, frees = plan_slots(instructions, slots)
    first = slots[0]
    depends: dict[int, bool] = {}  # slot -> is a tensor the size of x
    buffer_of: dict[int, int] = {}
    free: list[int] = []
    n_buffers = 0
    steps: list[Step] = []
    pinned = -1
    for s in order:
        op, args, payload = instructions[s]
        dead = frees.get(s, ())
        if op in ("x", "param", "const"):
            depends[s] = op == "x"
            kind = {"x": _X, "param": _PARAM, "const": _CONST}[op]
            steps.append((kind, s, None, (), payload, -1, dead))
            continue
        depends[s] = any(depends[a] for a in args)
        released = [buffer_of[a] for a in dead if a in buffer_of and buffer_of[a] != _OUT]
        if not depends[s]:  # parameters and constants only: a 0-dim tensor or a float
            steps.append((_SMALL, s, TORCH_OPS[op], args, payload, -1, dead))
            free.extend(released)
            continue
        if s == first:
            b = pinned = _OUT
            free.extend(released)
        elif released:  # write over an operand that dies here
            b = released[0]
            free.extend(released[1:])
        elif free:
            b = free.pop()
        else:
            b, n_buffers = n_buffers, n_buffers + 1
        buffer_of[s] = b
        into = INTO_OPS[op]
        if into is not None:
            into = getattr(into, "unchecked", into)  # runs inside ignoring_fp_errors
            steps.append((_INTO, s, (into, TORCH_OPS[op]), args, payload, b, dead))
        else:
            steps.append((_NEW, s, TORCH_OPS[op], args, payload, b, dead))
    slot_buffers = tuple(buffer_of.get(slot, -1) for slot in slots)
    result = _Schedule(tuple(steps), n_buffers, first if pinned == _OUT else -1, slots, scales, slot_buffers)
    program.cache[key] = result
    return result


class _Scratch(threading.local):
    """Per-thread scratch buffers for chunked evaluation, reused across calls (a few MB)."""

    def __init__(self) -> None:
        self.buffers: dict[tuple[torch.dtype, torch.device, int], torch.Tensor] = {}
        self.whole: dict[tuple[torch.dtype, torch.device, tuple[int, ...]], list[torch.Tensor]] = {}

    def shaped(self, dtype: torch.dtype, device: torch.device, shape: tuple[int, ...], n: int) -> list[torch.Tensor]:
        """``n`` buffers of ``shape`` (inputs of at most :data:`SMALL_BYTES`), cached per shape: a
        network calls its activations with the same few shapes, so a call costs one lookup. At
        most :data:`WHOLE_SHAPES` shapes are kept (a few MB)."""
        key = (dtype, device, shape)
        held = self.whole.get(key)
        if held is None or len(held) < n:
            if held is None and len(self.whole) >= WHOLE_SHAPES:
                self.whole.clear()
            with torch.inference_mode(False):
                held = (held or []) + [torch.empty(shape, dtype=dtype, device=device) for _ in range(n - len(held or []))]
            self.whole[key] = held
        return held[:n]

    def get(self, dtype: torch.dtype, device: torch.device, index: int, numel: int) -> torch.Tensor:
        key = (dtype, device, index)
        buf = self.buffers.get(key)
        if buf is None or buf.numel() < numel:
            # a normal tensor even when created in inference mode: it is written in place later,
            # possibly outside inference mode, which inference tensors do not allow
            with torch.inference_mode(False):
                buf = self.buffers[key] = torch.empty(numel, dtype=dtype, device=device)
        return buf[:numel]


_SCRATCH = _Scratch()


def _run_chunk(schedule: _Schedule, x: torch.Tensor, params: Sequence[Any], out: torch.Tensor, buffers: list[Any], values: list[Any]) -> None:
    """One pass of the schedule over ``x`` (a whole tensor or one chunk)."""
    for kind, s, fn, args, payload, b, dead in schedule.steps:
        if kind == _X:
            values[s] = x
        elif kind == _PARAM:
            values[s] = params[payload]
        elif kind == _CONST:
            values[s] = payload
        else:
            operands = [values[a] for a in args]
            if payload is not None:
                operands.append(payload)
            if kind == _SMALL:
                values[s] = fn(*operands)
            else:
                target = out if b == _OUT else buffers[b]
                if kind == _INTO:
                    result = fn[0](target, *operands)
                    if result is None:  # an operand mix the out= form does not take
                        result = fn[1](*operands)
                        if b == _OUT:
                            result = target.copy_(result)
                else:
                    result = fn(*operands)
                    if b == _OUT:
                        result = target.copy_(result)
                if b != _OUT:
                    buffers[b] = result
                values[s] = result
        for d in dead:
            values[d] = None
    if schedule.pinned == -1:  # f (or d/dx) is x itself, a constant or a parameter
        value = values[schedule.slots[0]]
        if isinstance(value, torch.Tensor):
            out.copy_(value)
        else:
            out.fill_(value)


_F = TypeVar("_F", bound=Callable[..., Any])


def ignoring_fp_errors(fn: _F) -> _F:
    """Run ``fn`` with numpy's floating-point error reports off: inf and NaN are values here, as in
    torch. One ``np.errstate`` per run, for the numpy kernels of :data:`nsad_lib.nn.ops.INTO_OPS`
    called through their ``unchecked`` forms."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return run  # type: ignore[return-value]


def _whole_buffers(x: torch.Tensor, n: int) -> list[Any]:
    """``n`` buffers shaped like ``x`` for a run on the whole tensor.

    On CPU, buffers kept per thread and shape (:meth:`_Scratch.shaped`), so a call allocates only
    what it returns: in a training step the first op writing a fresh 1024 x 64 intermediate
    measured 78-130 us where the same op takes 7-11 us (profiler reading; fresh memory is cold).
    Elsewhere (CUDA's caching allocator) fresh tensors. Nothing written here may be returned to
    the caller: results get their own tensors.
    """
    if x.device.type != "cpu":
        return [torch.empty_like(x) for _ in range(n)]
    return _SCRATCH.shaped(x.dtype, x.device, tuple(x.shape), n)


def _chunks(x: torch.Tensor, others: Sequence[torch.Tensor]) -> tuple[int, list[torch.Tensor]] | None:
    """Chunk length and flat views for dense CPU tensors of one layout (else None: whole tensors,
    intermediates in :func:`_whole_buffers`).

    Scratch buffers for a chunk come from a per-thread cache, so repeated calls neither allocate
    nor page-fault; the cache holds a few buffers of at most twice the chunk size. Inputs of at
    most :data:`SMALL_BYTES` run whole (None): for them the views and the chunk loop cost more
    than the ops.
    """
    if x.numel() * x.element_size() <= SMALL_BYTES:
        return None
    if x.device.type != "cpu" or not x.is_contiguous() or any(not t.is_contiguous() or t.shape != x.shape for t in others):
        return None
    budget = CHUNK_BYTES if torch.get_num_threads() == 1 else CHUNK_BYTES_THREADED
    chunk = max(budget // x.element_size(), 1 << 12)
    n = x.numel()
    return (n if n <= 2 * chunk else chunk), [x.view(-1), *(t.view(-1) for t in others)]


@ignoring_fp_errors
def forward_into(program: Program, x: torch.Tensor, params: Sequence[Any]) -> torch.Tensor:
    """f(x) with every intermediate written into reused buffers; allocates only the result.

    Only where :func:`can_run_into` holds (no autograd graph is recorded). Large CPU inputs are
    processed in chunks (:data:`CHUNK_BYTES`, :data:`CHUNK_BYTES_THREADED` per buffer).
    """
    schedule = _schedule(program, (0,))
    values: list[Any] = [None] * len(program.instructions)
    y = torch.empty_like(x, memory_format=torch.contiguous_format if x.is_contiguous() else torch.preserve_format)
    flat = _chunks(x, (y,))
    if flat is None:
        _run_chunk(schedule, x, params, y, _whole_buffers(x, schedule.n_buffers), values)
        return y
    chunk, (xf, yf) = flat
    n = xf.numel()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        buffers = [_SCRATCH.get(x.dtype, x.device, i, m) for i in range(schedule.n_buffers)]
        _run_chunk(schedule, xf[start : start + m], params, yf[start : start + m], buffers, values)
    return y


def saves_derivative(program: Program) -> bool:
    """Whether, for a formula without trainable constants, the forward should compute f and f'
    together and save f'(x) instead of x (the backward is then one multiply).

    Op-cost model (:func:`nsad_lib.formula.ops.cost`, shared subexpressions counted once):
    cost(f and f' together) + 1 (writing f') against cost(f) + cost(f') (the backward
    re-evaluating f' from x). Cached on the program.
    """
    key = ("saves_derivative",)
    cached = program.cache.get(key)
    if cached is not None:
        return bool(cached)
    instructions = program.instructions
    f, d = program.outputs[0], program.outputs[1]

    def total(slots: list[int]) -> float:
        return sum(cost(instructions[s][0]) for s in needed_slots(instructions, slots))

    result = total([f, d]) + 1.0 < total([f]) + total([d])
    program.cache[key] = result
    return result


@ignoring_fp_errors
def forward_with_derivative_into(program: Program, x: torch.Tensor, params: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(f(x), d, c) with f'(x) = c*d, in one pass over the program (shared subexpressions once);
    allocates the two results only. A final negation or constant factor of f' is left to the
    caller (``c``), who folds it into the backward's multiply: one pass fewer. Same conditions as
    :func:`forward_into`."""
    schedule = _schedule(program, (0, 1), fold_scale=True, fold_from=1)
    values: list[Any] = [None] * len(program.instructions)
    fmt = torch.contiguous_format if x.is_contiguous() else torch.preserve_format
    y = torch.empty_like(x, memory_format=fmt)
    flat = _chunks(x, (y,))
    slot = schedule.slots[1]
    if flat is None or flat[0] >= x.numel():  # one piece: f' is written into its own fresh buffer
        buffers = _whole_buffers(x, schedule.n_buffers)
        held = schedule.slot_buffers[1]
        if held >= 0:
            buffers[held] = torch.empty_like(y)
        _run_chunk(schedule, x, params, y, buffers, values)
        d = y if slot == schedule.slots[0] and schedule.pinned != -1 else values[slot]
        if not (isinstance(d, torch.Tensor) and d.shape == x.shape):
            d = torch.empty_like(y).copy_(torch.as_tensor(d, dtype=x.dtype, device=x.device).expand_as(y))
        return y, d, schedule.scales[1]
    d = torch.empty_like(y)
    chunk, (xf, yf, df) = flat[0], (*flat[1], d.view(-1))
    n = xf.numel()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        buffers = [_SCRATCH.get(x.dtype, x.device, i, m) for i in range(schedule.n_buffers)]
        ys = yf[start : start + m]
        _run_chunk(schedule, xf[start : start + m], params, ys, buffers, values)
        value = ys if slot == schedule.slots[0] and schedule.pinned != -1 else values[slot]
        target = df[start : start + m]
        if isinstance(value, torch.Tensor):
            target.copy_(value)
        else:
            target.fill_(value)
    return y, d, schedule.scales[1]


@ignoring_fp_errors
def backward_into(program: Program, x: torch.Tensor, params: Sequence[Any], grad: torch.Tensor, wanted: tuple[int, ...]) -> list[torch.Tensor]:
    """Gradients for the outputs ``wanted`` (1 = d/dx, 2+i = d/dparam_i) given ``grad`` = dL/df.

    d/dx comes back as ``grad * f'(x)`` (the only full-size allocation); each parameter's as the
    float32 sum of ``grad * df/dparam``. Intermediates live in reused (chunk-sized) buffers.
    """
    schedule = _schedule(program, wanted, fold_scale=True)  # wanted[0] is pinned
    with_x = wanted[0] == 1
    values: list[Any] = [None] * len(program.instructions)
    n_sums = len(wanted) - 1 if with_x else len(wanted)
    acc = sum_dtype(x.dtype)
    dots = n_sums > 0 and x.dtype in (torch.float32, torch.float64)
    sums: list[Any] = [None] * n_sums  # the first piece's sums, then added to
    gx = torch.empty_like(x, memory_format=torch.contiguous_format if x.is_contiguous() else torch.preserve_format) if with_x else None
    flat = _chunks(x, (grad,))
    if flat is None:
        buffers = _whole_buffers(x, schedule.n_buffers + 1)
        pieces = [(x, grad, gx if gx is not None else buffers[-1], buffers[:-1])]
    else:
        chunk, (xf, gf) = flat
        n = xf.numel()
        pieces = []
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            sl = slice(start, start + m)
            out = gx.view(-1)[sl] if gx is not None else None
            pieces.append((xf[sl], gf[sl], out, None))
    for xs, gs, out, buffers in pieces:
        m = xs.numel()
        if buffers is None:
            buffers = [_SCRATCH.get(x.dtype, x.device, i, m) for i in range(schedule.n_buffers)]
        if out is None:
            out = _SCRATCH.get(x.dtype, x.device, schedule.n_buffers, m)
        _run_chunk(schedule, xs, params, out, buffers, values)
        first = 1 if with_x else 0
        gflat = gs.view(-1) if dots and gs.is_contiguous() else None
        for k, slot in enumerate(schedule.slots[first:]):
            d = out if slot == schedule.slots[0] else values[slot]
            c = schedule.scales[first + k]
            if isinstance(d, torch.Tensor) and d.shape == gs.shape:
                if gflat is not None and d.is_contiguous():
                    part = torch.dot(d.view(-1), gflat)  # one read of both, no product written
                else:
                    tmp = _SCRATCH.get(x.dtype, x.device, schedule.n_buffers + 1, m) if flat is not None else None
                    part = torch.sum(torch.mul(d, gs, out=tmp) if tmp is not None else d * gs, dtype=acc)
            else:
                part = torch.sum(gs, dtype=acc) * d
            part = part if c == 1.0 else part * c
            sums[k] = part if sums[k] is None else sums[k].add_(part)
        if with_x:
            if schedule.scales[0] == 1.0:
                out.mul_(gs)
            else:  # out = scale * out * grad in one pass
                torch.addcmul(scalar_like(0.0, out), out, gs, value=schedule.scales[0], out=out)
    return ([gx] if gx is not None else []) + sums


def sum_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation dtype of parameter-gradient sums: float32, or float64 for float64 inputs."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def can_run_into(x: Any, params: Sequence[Any]) -> bool:
    """Whether :func:`forward_into` / :func:`backward_into` apply: a plain floating-point strided
    ``x``, 0-dim parameters, and no tracing (``torch.compile`` and ``torch.export`` see the
    functional ops instead)."""
    # tracing first: under torch.compile the checks below on a traced tensor would be traced too
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if type(x) is not torch.Tensor or not x.is_floating_point() or x.layout != torch.strided or is_functorch_wrapped(x):
        return False
    for p in params:
        if not isinstance(p, torch.Tensor) or p.dim() != 0 or p.is_complex():
            return False
    return True


def functional_steps(program: Program, outputs: tuple[int, ...], compiled: bool = False) -> tuple[tuple[Step, ...], tuple[int, ...]]:
    """Immutable (steps, output slots) for :func:`run_steps`, cached on the program.

    Computed outside any trace: under ``torch.compile`` the traced code then reads only
    tuples, never the program's mutable caches (which dynamo would guard on and recompile for).
    ``compiled`` takes the ops from :data:`COMPILE_OPS` (for code that torch.compile traces).
    """
    table = COMPILE_OPS if compiled else TORCH_OPS
    key = ("steps", outputs, compiled)
    cached = program.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    order, frees = program.plan(outputs)
    steps: list[Step] = []
    for s in order:
        op, args, payload = program.instructions[s]
        kind = {"x": _X, "param": _PARAM, "const": _CONST}.get(op, _SMALL)
        steps.append((kind, s, table.get(op), args, payload, -1, frees.get(s, ())))
    result = (tuple(steps), tuple(program.outputs[o] for o in outputs))
    program.cache[key] = result
    return result


def run_program(program: Program, x: Any, params: Sequence[Any], outputs: tuple[int, ...] = (0,)) -> list[Any]:
    """Evaluate the chosen outputs of ``program`` with plain composed torch ops (autograd
    records them; the same path the activation takes under tracing)."""
    steps, slots = functional_steps(program, outputs)
    return run_steps(steps, slots, x, params)


def run_steps(steps: tuple[Step, ...], out_slots: tuple[int, ...], x: Any, params: Sequence[Any]) -> list[Any]:
    """Functional evaluation (plain composed torch ops): autograd, ``torch.compile``, export."""
    values: dict[int, Any] = {}
    for kind, s, fn, args, payload, _, dead in steps:
        if kind == _X:
            values[s] = x
        elif kind == _PARAM:
            values[s] = params[payload]
        elif kind == _CONST:
            values[s] = payload
        else:
            operands = [values[a] for a in args]
            values[s] = fn(*operands, payload) if payload is not None else fn(*operands)
        for d in dead:
            del values[d]
    return [values[s] for s in out_slots]


_FUNCTORCH_WRAPPED = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
_LEGACY_BATCHED = getattr(torch._C._functorch, "is_legacy_batchedtensor", None)


def is_functorch_wrapped(x: torch.Tensor) -> bool:
    """Whether ``x`` is a functorch wrapper (vmap's batched tensors, torch.func's grad levels) or a
    batched tensor of the older vmap that ``torch.autograd.functional.jacobian(vectorize=True)``
    runs: out= forms into plain buffers cannot take either."""
    if _FUNCTORCH_WRAPPED is not None and _FUNCTORCH_WRAPPED(x):
        return True
    return bool(_LEGACY_BATCHED(x)) if _LEGACY_BATCHED is not None else False
