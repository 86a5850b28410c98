"""The torch operator table that :class:`nsad_lib.formula.program.Program` instructions run on.

Each entry is a plain torch call on tensors (or Python floats for constants), so the same
program runs eagerly, under ``torch.compile`` and under ``torch.export``. Protected operators
mask their unsafe branch *before* the unsafe op (``where`` on the input, not only on the
output), so even composed-op autograd through them never produces NaN.
"""

from __future__ import annotations

import functools
import operator
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from nsad_lib.formula.functions import PROTECT_EPS
from nsad_lib.formula.plan import plan_slots
from nsad_lib.formula.program import FUSED_OPS


def _plog(a: torch.Tensor) -> torch.Tensor:
    m = a.abs() > PROTECT_EPS
    return torch.where(m, torch.log(torch.where(m, a.abs(), 1.0)), 0.0)


def _pinv(a: torch.Tensor) -> torch.Tensor:
    m = a.abs() > PROTECT_EPS
    return torch.where(m, torch.reciprocal(torch.where(m, a, 1.0)), 0.0)


def _pdiv(a: Any, b: Any) -> torch.Tensor:
    if not isinstance(b, torch.Tensor):
        return a / b if abs(b) > PROTECT_EPS else torch.ones_like(a)
    m = b.abs() > PROTECT_EPS
    return torch.where(m, a / torch.where(m, b, 1.0), 1.0)


def _step(a: torch.Tensor) -> torch.Tensor:
    # Heaviside with H(0) = 0 (and 0 at NaN): the subgradient torch's own relu uses. Written as
    # clamp(sign(a), min=0) rather than (a > 0).to(dtype): under torch.compile the partitioner
    # would otherwise save the boolean a > 0 for the backward, and inductor's CPU kernels store
    # booleans an order of magnitude slower than floats.
    return torch.clamp_min(torch.sign(a), 0.0)


def _maximum(a: Any, b: Any) -> torch.Tensor:
    return torch.maximum(a, b)


def _minimum(a: Any, b: Any) -> torch.Tensor:
    return torch.minimum(a, b)


TORCH_OPS: dict[str, Callable[..., Any]] = {
    # operator.* accept a Python float on either side; torch.add and friends do not.
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
    "square": torch.square,
    "reciprocal": torch.reciprocal,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "pow_scalar": torch.pow,
    "scalar_pow": lambda e, base: torch.pow(base, e),
    "pow": torch.pow,
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "abs": torch.abs,
    "erf": torch.erf,
    "erfc": torch.erfc,
    "sign": torch.sign,
    "step": _step,
    "zeros": torch.zeros_like,
    "sigmoid": torch.sigmoid,
    "softplus": F.softplus,
    "plog": _plog,
    "psqrt": lambda a: torch.sqrt(torch.abs(a)),
    "pinv": _pinv,
    "pdiv": _pdiv,
    **FUSED_OPS,
    "maximum": _maximum,
    "minimum": _minimum,
    "clamp_min": torch.clamp_min,
    "clamp_max": torch.clamp_max,
}


# -- kernels for torch.compile ------------------------------------------------------------------
#
# Inductor's CPU kernels call SLEEF's tanh (``Sleef_tanhf16_u10``), about 3x slower than torch's
# eager tanh (MKL) and than the rest of a fused activation kernel. While torch.compile traces
# (not under torch.export, whose graphs keep the plain op for other backends), float32 tanh on
# CPU is written instead as the 13/6-degree odd rational interpolant used by Eigen
# (``generic_fast_tanh_float``), ONNX Runtime's MLAS and XLA, on x clamped to [-9, 9] (tanh
# rounds to +-1 beyond): a dozen fused multiply-adds and one division.
#
# Accuracy against float64 (tests/test_compile_kernels.py): absolute error at most 4e-7 on
# [-1000, 1000] (a few float32 ulp near +-1; torch's own tanh: 6e-8). NaN stays NaN,
# tanh(+-inf) = +-1. sin and cos were tried the same way (Cody-Waite reduction and Cephes'
# polynomials): no faster than SLEEF's inside a whole fused kernel, so they keep torch's ops.
_TANH_NUM = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
             -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)
_TANH_DEN = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)


def _horner(coefficients: tuple[float, ...], t: torch.Tensor) -> Any:
    acc: Any = coefficients[-1]
    for c in coefficients[-2::-1]:
        acc = acc * t + c
    return acc


def tanh_rational(a: Any) -> Any:
    """tanh as a rational function of ``a`` clamped to [-9, 9] (float32 on CPU; else torch.tanh).

    CPU only: on CUDA, triton's tanh is already fast.
    """
    if not (isinstance(a, torch.Tensor) and a.dtype == torch.float32 and a.device.type == "cpu"):
        return torch.tanh(a)
    c = torch.clamp(a, -9.0, 9.0)
    c2 = c * c
    return c * _horner(_TANH_NUM, c2) / _horner(_TANH_DEN, c2)


#: :data:`TORCH_OPS` with the ops whose inductor CPU lowering is slow replaced (see above).
COMPILE_OPS: dict[str, Callable[..., Any]] = {**TORCH_OPS, "tanh": tanh_rational}


# -- eager execution into reused buffers ------------------------------------------------------
#
# Every elementwise instruction reads and writes a tensor the size of the input, so an eager
# activation costs roughly (number of passes) x (memory traffic + allocation). Outside autograd
# (inside the custom autograd.Function, or under no_grad) intermediates belong to us: each
# instruction writes into the buffer of an operand that dies there, or into a buffer freed
# earlier, through the ops' ``out=`` forms. On CPU, dense tensors are processed in chunks whose
# scratch buffers are cached per thread (a few MiB), so an activation of any size allocates
# only its result (and, in the backward, the input's gradient): no full-size temporaries, and
# no fresh pages to fault in. The backward multiplies by the incoming gradient chunk by chunk,
# with a trailing constant factor of the derivative folded into that multiply.


def _scalar(value: float, like: torch.Tensor) -> torch.Tensor:
    # a cached 0-dim tensor: broadcasts as a scalar without promoting the dtype
    return _scalar_cached(value, like.dtype, like.device)


@functools.lru_cache(maxsize=512)
def _scalar_cached(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):  # a normal tensor even when first asked for in inference mode
        return torch.tensor(value, dtype=dtype, device=device)


def _commutative(fn: Callable[..., Any]) -> Callable[..., Any]:
    def into(out: torch.Tensor, a: Any, b: Any) -> Any:
        if isinstance(a, torch.Tensor):
            return fn(a, b, out=out)
        return fn(b, a, out=out)

    return into


def _sub_into(out: torch.Tensor, a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.sub(a, b, out=out)
    return torch.add(_scalar(a, out), b, alpha=-1, out=out)


def _div_into(out: torch.Tensor, a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.div(a, b, out=out)
    return torch.div(_scalar(a, out), b, out=out)


def _unary(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda out, a: fn(a, out=out)


def _affine_into(out: torch.Tensor, a: Any, st: tuple[float, float]) -> Any:
    return torch.add(_scalar(st[1], out), a, alpha=st[0], out=out)


def _add_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not isinstance(a, torch.Tensor):
        return torch.add(_scalar(a, out), b, alpha=c, out=out)
    return torch.add(a, b, alpha=c, out=out)


def _mul_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return torch.mul(a if isinstance(a, torch.Tensor) else b, (b if isinstance(a, torch.Tensor) else a) * c, out=out)
    return torch.addcmul(_scalar(0.0, out), a, b, value=c, out=out)


def _cpu_scalar(t: Any) -> float | None:
    """The value of a 0-dim CPU tensor (a parameter), else None (reading a CUDA one would sync)."""
    if isinstance(t, torch.Tensor) and t.dim() == 0 and t.device.type == "cpu":
        return float(t)
    return None


def _addcmul_into(out: torch.Tensor, a: Any, b: Any, c: Any, v: float) -> Any:
    if not (isinstance(b, torch.Tensor) and isinstance(c, torch.Tensor)):
        return None  # unusual operand mix: computed functionally
    if not isinstance(a, torch.Tensor):
        a = _scalar(a, out)
    # a + v*p*t with a 0-dim parameter p (e.g. 1 + b*(1 - tanh(x)**2)): torch.add with alpha runs
    # the fast scalar loop; addcmul broadcasting two 0-dim operands is about 2.5x slower on CPU
    for scalar, tensor in ((b, c), (c, b)):
        if tensor.shape == out.shape:
            value = _cpu_scalar(scalar)
            if value is not None:
                return torch.add(a, tensor, alpha=v * value, out=out)
    return torch.addcmul(a, b, c, value=v, out=out)


def _div_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return None
    return torch.addcdiv(_scalar(0.0, out), a, b, value=c, out=out)


def _scalar_div_into(out: torch.Tensor, b: Any, c: float) -> Any:
    return torch.div(_scalar(c, out), b, out=out)


def _step_into(out: torch.Tensor, a: Any) -> Any:
    return torch.gt(a, 0, out=out)


def _psqrt_into(out: torch.Tensor, a: Any) -> Any:
    return torch.sqrt(torch.abs(a, out=out), out=out)


def _softplus_into(out: torch.Tensor, a: Any) -> Any:
    return torch._C._nn.softplus(a, 1, 20, out=out)


def _clamp_into(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda out, a, v: fn(a, v, out=out)


def _binary_tensor(fn: Callable[..., Any]) -> Callable[..., Any]:
    def into(out: torch.Tensor, a: Any, b: Any) -> Any:
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            return fn(a, b, out=out)
        return None

    return into


#: ``op -> into(out, *operands[, payload])``: writes the result into ``out`` (which may be one of
#: the operands) and returns it, or returns None for an operand mix it does not handle.
INTO_OPS: dict[str, Callable[..., Any]] = {
    "add": _commutative(torch.add),
    "sub": _sub_into,
    "mul": _commutative(torch.mul),
    "div": _div_into,
    "neg": _unary(torch.neg),
    "square": _unary(torch.square),
    "reciprocal": _unary(torch.reciprocal),
    "sqrt": _unary(torch.sqrt),
    "rsqrt": _unary(torch.rsqrt),
    "pow_scalar": lambda out, a, p: torch.pow(a, p, out=out),
    "scalar_pow": lambda out, e, base: torch.pow(base, e, out=out),
    "pow": _binary_tensor(torch.pow),
    "sin": _unary(torch.sin),
    "cos": _unary(torch.cos),
    "tan": _unary(torch.tan),
    "tanh": _unary(torch.tanh),
    "exp": _unary(torch.exp),
    "log": _unary(torch.log),
    "abs": _unary(torch.abs),
    "erf": _unary(torch.erf),
    "erfc": _unary(torch.erfc),
    "sign": _unary(torch.sign),
    "step": _step_into,
    "zeros": lambda out, a: out.zero_(),
    "sigmoid": _unary(torch.sigmoid),
    "softplus": _softplus_into,
    "psqrt": _psqrt_into,
    "affine": _affine_into,
    "add_scaled": _add_scaled_into,
    "mul_scaled": _mul_scaled_into,
    "addcmul": _addcmul_into,
    "div_scaled": _div_scaled_into,
    "scalar_div": _scalar_div_into,
    "maximum": _binary_tensor(torch.maximum),
    "minimum": _binary_tensor(torch.minimum),
    "clamp_min": _clamp_into(torch.clamp_min),
    "clamp_max": _clamp_into(torch.clamp_max),
}

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


@dataclass(frozen=True)
class _Schedule:
    steps: tuple[Step, ...]
    n_buffers: int
    pinned: int  # output slot written straight into the caller's output, or -1
    slots: tuple[int, ...]  # output slots, in the order asked
    scales: tuple[float, ...]  # output k is scales[k] * (value of slots[k])


def _fold_scales(instructions: Sequence[Any], slots: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Outputs of the form c*v (a final negation or constant factor) as v and c, where v is
    not needed otherwise: the caller applies c for free (in its multiply by the incoming
    gradient, or to a parameter's sum)."""
    slots_out = list(slots)
    scales = [1.0] * len(slots)
    for k, slot in enumerate(slots):
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


def _schedule(program: Any, outputs: tuple[int, ...], fold_scale: bool = False) -> _Schedule:
    """Buffer assignment for ``outputs`` (cached on the program).

    Output ``outputs[0]`` is pinned: its instruction writes into the caller's output slice.
    Other outputs (parameter derivatives) live in scratch buffers until the caller reads them.
    With ``fold_scale`` a final negation or constant factor of an output is left to the caller
    (the backward folds it into its multiply by the incoming gradient, or into a sum).
    """
    key = ("into", outputs, fold_scale)
    cached = program._cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    instructions = program.instructions
    slots = tuple(program.outputs[o] for o in outputs)
    scales = (1.0,) * len(slots)
    if fold_scale:
        slots, scales = _fold_scales(instructions, slots)
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
        into = INTO_OPS.get(op)
        if into is not None:
            steps.append((_INTO, s, (into, TORCH_OPS[op]), args, payload, b, dead))
        else:
            steps.append((_NEW, s, TORCH_OPS[op], args, payload, b, dead))
    result = _Schedule(tuple(steps), n_buffers, first if pinned == _OUT else -1, slots, scales)
    program._cache[key] = result
    return result


class _Scratch(threading.local):
    """Per-thread scratch buffers for chunked evaluation, reused across calls (a few MB)."""

    def __init__(self) -> None:
        self.buffers: dict[tuple[torch.dtype, torch.device, int], torch.Tensor] = {}

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


def _chunks(x: torch.Tensor, others: Sequence[torch.Tensor]) -> tuple[int, list[torch.Tensor]] | None:
    """Chunk length and flat views for dense CPU tensors of one layout (else None: whole tensors).

    Scratch buffers for a chunk come from a per-thread cache, so repeated calls neither allocate
    nor page-fault; the cache holds a few buffers of at most twice the chunk size.
    """
    if x.device.type != "cpu" or not x.is_contiguous() or any(not t.is_contiguous() or t.shape != x.shape for t in others):
        return None
    budget = CHUNK_BYTES if torch.get_num_threads() == 1 else CHUNK_BYTES_THREADED
    chunk = max(budget // x.element_size(), 1 << 12)
    n = x.numel()
    return (n if n <= 2 * chunk else chunk), [x.view(-1), *(t.view(-1) for t in others)]


def forward_into(program: Any, x: torch.Tensor, params: Sequence[Any]) -> torch.Tensor:
    """f(x) with every intermediate written into reused buffers; allocates only the result.

    Only where :func:`can_run_into` holds (no autograd graph is recorded). Large CPU inputs are
    processed in chunks (:data:`CHUNK_BYTES`, :data:`CHUNK_BYTES_THREADED` per buffer).
    """
    schedule = _schedule(program, (0,))
    values: list[Any] = [None] * len(program.instructions)
    y = torch.empty_like(x, memory_format=torch.contiguous_format if x.is_contiguous() else torch.preserve_format)
    flat = _chunks(x, (y,))
    if flat is None:
        buffers: list[Any] = [torch.empty_like(y) for _ in range(schedule.n_buffers)]
        _run_chunk(schedule, x, params, y, buffers, values)
        return y
    chunk, (xf, yf) = flat
    n = xf.numel()
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        buffers = [_SCRATCH.get(x.dtype, x.device, i, m) for i in range(schedule.n_buffers)]
        _run_chunk(schedule, xf[start : start + m], params, yf[start : start + m], buffers, values)
    return y


def backward_into(program: Any, x: torch.Tensor, params: Sequence[Any], grad: torch.Tensor, wanted: tuple[int, ...]) -> list[torch.Tensor]:
    """Gradients for the outputs ``wanted`` (1 = d/dx, 2+i = d/dparam_i) given ``grad`` = dL/df.

    d/dx comes back as ``grad * f'(x)`` (the only full-size allocation); each parameter's as the
    float32 sum of ``grad * df/dparam``. Intermediates live in reused (chunk-sized) buffers.
    """
    schedule = _schedule(program, wanted, fold_scale=True)  # wanted[0] is pinned
    with_x = wanted[0] == 1
    values: list[Any] = [None] * len(program.instructions)
    n_sums = len(wanted) - 1 if with_x else len(wanted)
    acc = sum_dtype(x.dtype)
    sums = [torch.zeros((), dtype=acc, device=x.device) for _ in range(n_sums)]
    gx = torch.empty_like(x, memory_format=torch.contiguous_format if x.is_contiguous() else torch.preserve_format) if with_x else None
    flat = _chunks(x, (grad,))
    if flat is None:
        pieces = [(x, grad, gx if gx is not None else torch.empty_like(x), [torch.empty_like(x) for _ in range(schedule.n_buffers)])]
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
        for k, slot in enumerate(schedule.slots[first:]):
            d = out if slot == schedule.slots[0] else values[slot]
            c = schedule.scales[first + k]
            if isinstance(d, torch.Tensor) and d.shape == gs.shape:
                if flat is not None and x.dtype in (torch.float32, torch.float64):
                    part = torch.dot(d, gs)  # flat chunks: one read of both, no product written
                else:
                    tmp = _SCRATCH.get(x.dtype, x.device, schedule.n_buffers + 1, m) if flat is not None else None
                    part = torch.sum(torch.mul(d, gs, out=tmp) if tmp is not None else d * gs, dtype=acc)
            else:
                part = torch.sum(gs, dtype=acc) * d
            sums[k] += part if c == 1.0 else part * c
        if with_x:
            if schedule.scales[0] == 1.0:
                out.mul_(gs)
            else:  # out = scale * out * grad in one pass
                torch.addcmul(_scalar(0.0, out), out, gs, value=schedule.scales[0], out=out)
    return ([gx] if gx is not None else []) + sums


def sum_dtype(dtype: torch.dtype) -> torch.dtype:
    """Accumulation dtype of parameter-gradient sums: float32, or float64 for float64 inputs."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def can_run_into(x: Any, params: Sequence[Any]) -> bool:
    """Whether :func:`forward_into` / :func:`backward_into` apply: a plain floating-point strided
    ``x``, 0-dim parameters, and no tracing (``torch.compile`` and ``torch.export`` see the
    functional ops instead)."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if type(x) is not torch.Tensor or not x.is_floating_point() or x.layout != torch.strided or _is_functorch_wrapped(x):
        return False
    for p in params:
        if not isinstance(p, torch.Tensor) or p.dim() != 0 or p.is_complex():
            return False
    return True


def functional_steps(program: Any, outputs: tuple[int, ...], compiled: bool = False) -> tuple[tuple[Step, ...], tuple[int, ...]]:
    """Immutable (steps, output slots) for :func:`run_steps`, cached on the program.

    Computed outside any trace: under ``torch.compile`` the traced code then reads only
    tuples, never the program's mutable caches (which dynamo would guard on and recompile for).
    ``compiled`` takes the ops from :data:`COMPILE_OPS` (for code that torch.compile traces).
    """
    table = COMPILE_OPS if compiled else TORCH_OPS
    key = ("steps", outputs, compiled)
    cached = program._cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    order, frees = program.plan(outputs)
    steps: list[Step] = []
    for s in order:
        op, args, payload = program.instructions[s]
        kind = {"x": _X, "param": _PARAM, "const": _CONST}.get(op, _SMALL)
        steps.append((kind, s, table.get(op), args, payload, -1, frees.get(s, ())))
    result = (tuple(steps), tuple(program.outputs[o] for o in outputs))
    program._cache[key] = result
    return result


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


def _is_functorch_wrapped(x: torch.Tensor) -> bool:
    check = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(check(x)) if check is not None else False
