"""Torch implementations of the operator spec (:data:`nsad_lib.formula.ops.OPS`).

Three tables, each checked at import to cover every operator of the spec (a missing one is an
import error naming it):

* :data:`TORCH_OPS`: plain torch calls on tensors (or Python floats for constants), so the same
  program runs eagerly, under ``torch.compile`` and under ``torch.export``. Protected operators
  mask their unsafe branch *before* the unsafe op (``where`` on the input, not only on the
  output), so even composed-op autograd through them never produces NaN.
* :data:`COMPILE_OPS`: the same, with kernels that inductor fuses better (code torch.compile traces).
* :data:`INTO_OPS`: ``out=`` forms writing into a given buffer (eager buffer reuse,
  :mod:`nsad_lib.nn.executor`); None where an op has none.
"""

from __future__ import annotations

import functools
import operator
import os
from typing import Any, Callable

import torch
import torch.nn.functional as F

from nsad_lib.formula.functions import PROTECT_EPS
from nsad_lib.formula.ops import ARITHMETIC, check_table


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
    **ARITHMETIC,
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

check_table(TORCH_OPS, "nsad_lib.nn.ops.TORCH_OPS")
check_table(COMPILE_OPS, "nsad_lib.nn.ops.COMPILE_OPS")


# -- out= forms, for eager execution into reused buffers (nsad_lib.nn.executor) -----------------


def scalar_like(value: float, like: torch.Tensor) -> torch.Tensor:
    """A cached 0-dim tensor of ``like``'s dtype and device: broadcasts as a scalar without
    promoting the dtype."""
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
    return torch.add(scalar_like(a, out), b, alpha=-1, out=out)


def _div_into(out: torch.Tensor, a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return torch.div(a, b, out=out)
    return torch.div(scalar_like(a, out), b, out=out)


def _unary(fn: Callable[..., Any]) -> Callable[..., Any]:
    return lambda out, a: fn(a, out=out)


def _affine_into(out: torch.Tensor, a: Any, st: tuple[float, float]) -> Any:
    return torch.add(scalar_like(st[1], out), a, alpha=st[0], out=out)


def _add_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not isinstance(a, torch.Tensor):
        return torch.add(scalar_like(a, out), b, alpha=c, out=out)
    return torch.add(a, b, alpha=c, out=out)


def _mul_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return torch.mul(a if isinstance(a, torch.Tensor) else b, (b if isinstance(a, torch.Tensor) else a) * c, out=out)
    return torch.addcmul(scalar_like(0.0, out), a, b, value=c, out=out)


def _cpu_scalar(t: Any) -> float | None:
    """The value of a 0-dim CPU tensor (a parameter), else None (reading a CUDA one would sync)."""
    if isinstance(t, torch.Tensor) and t.dim() == 0 and t.device.type == "cpu":
        return float(t)
    return None


def _addcmul_into(out: torch.Tensor, a: Any, b: Any, c: Any, v: float) -> Any:
    if not (isinstance(b, torch.Tensor) and isinstance(c, torch.Tensor)):
        return None  # unusual operand mix: computed functionally
    if not isinstance(a, torch.Tensor):
        a = scalar_like(a, out)
    # a + v*p*t with a 0-dim parameter p (e.g. 1 + b*(1 - tanh(x)**2)): torch.add with alpha runs
    # the fast scalar loop; addcmul broadcasting two 0-dim operands is about 2.5x slower on CPU
    if b.dim() == 0 or c.dim() == 0:
        for scalar, tensor in ((b, c), (c, b)):
            if tensor.shape == out.shape:
                value = _cpu_scalar(scalar)
                if value is not None:
                    return torch.add(a, tensor, alpha=v * value, out=out)
    return torch.addcmul(a, b, c, value=v, out=out)


def _div_scaled_into(out: torch.Tensor, a: Any, b: Any, c: float) -> Any:
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        return None
    return torch.addcdiv(scalar_like(0.0, out), a, b, value=c, out=out)


def _scalar_div_into(out: torch.Tensor, b: Any, c: float) -> Any:
    return torch.div(scalar_like(c, out), b, out=out)


def _tanh_into(out: torch.Tensor, a: Any) -> Any:
    """tanh(a) = 1 / (1 + 2/expm1(2a)) for float32 on CPU (eager, into a buffer).

    torch's eager CPU ``tanh`` (MKL's high-accuracy vector tanh) measured 2.5-3.8 ns per
    float32 element at 65K elements (one thread), more than a whole built-in GELU forward. This
    form is five passes (one ``expm1`` and four cheap ones) without a scratch buffer and measured
    0.68-0.76x torch's ``tanh`` at 1024x64 and 4096x1024, one thread (docs/performance.md).

    Accuracy: relative, within 2 float32 eps of tanh over the whole range, near 0 too (``expm1``
    is relatively accurate there and no step cancels): tanh(1e-7) is 1e-7, so a formula that
    divides by ``tanh`` or takes its log stays right near 0. The earlier ``2*sigmoid(2a) - 1``
    (3 passes, faster) had an absolute error of 2e-7, which rounded tanh(1e-7) to 0. Limits
    are exact: expm1 overflowing to inf (a > 44) gives 1, a = -inf gives -1, 0 gives 0 (2/0 is
    inf), NaN stays NaN. Subnormal inputs (|a| < 3e-39, where 2/expm1(2a) overflows) give 0,
    an absolute error below 3e-39. Other dtypes and devices keep ``torch.tanh``. The choice never
    depends on the number of torch threads, so a formula gives the same bits with 1 or 8 threads
    (with 2 threads on a *busy* 2-core machine the five passes measured 2.5-5x torch's parallel
    ``tanh``: each pass waits for its second thread; docs/performance.md).
    """
    if not (isinstance(a, torch.Tensor) and a.dtype == torch.float32 and a.device.type == "cpu"):
        return torch.tanh(a, out=out)
    torch.mul(a, 2.0, out=out)
    torch.special.expm1(out, out=out)
    torch.div(scalar_like(2.0, out), out, out=out)
    torch.add(out, 1.0, out=out)
    return torch.reciprocal(out, out=out)


# -- numpy's SIMD kernels for float32 transcendentals (eager CPU, into a buffer) ----------------
#
# numpy dispatches its float32 sin, cos, tan, tanh, exp and log to SIMD loops for the CPU it runs
# on (``numpy.lib.introspect.opt_func_info``; AVX512 here). At 1024 x 64 float32, one thread, they
# measured 0.48-0.51x torch's eager sin and cos, 0.31x tan, 0.19x tanh (MKL's), 0.75x exp and
# 0.45x log, within 1.5 float32 ulp of the float64 result for sin, cos and tanh (exp 2.5, tan
# 3.0, log 3.2), with exact limits (inf, NaN, -0.0, subnormals): docs/performance.md,
# ``python benchmarks/training.py --kernels``. The result is written through zero-copy numpy
# views of the tensors. The kernel is chosen by dtype, device and the numpy build's dispatch
# only, never by the thread count, so a formula gives the same bits with 1 or 16 threads; with
# several torch threads a large input is split across a thread pool (numpy releases the GIL),
# each element computed by the same loop. Where numpy has only its scalar baseline loop,
# torch's kernels are kept.

#: Inputs of at least this many elements are split across torch.get_num_threads() threads. Below
#: it one thread wins: handing work to a pool thread costs tens of microseconds, and numpy's sin on
#: one thread measured under torch's on two at 204,800 float32 elements (119 us against 131; split:
#: 147); from 524,288 elements the split wins (226 us against 290 unsplit, torch 336).
NUMPY_PARALLEL_MIN = 1 << 19


@functools.lru_cache(maxsize=None)
def numpy_simd(name: str) -> bool:
    """Whether numpy's float32 ``name`` runs a SIMD loop on this CPU (not its scalar baseline)."""
    try:
        from numpy.lib.introspect import opt_func_info

        info = opt_func_info(func_name=f"^{name}$", signature="float32")
        current = str(info[name]["ff"]["current"])
    except Exception:  # an older numpy, or no float32 loop listed: keep torch's kernel
        return False
    return not current.startswith("baseline")


_POOL: Any = None


def _forget_pool() -> None:
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):  # a forked child (a grid worker) has none of the parent's threads
    os.register_at_fork(after_in_child=_forget_pool)


def _pool() -> Any:
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=max(2, torch.get_num_threads()), thread_name_prefix="nsad-numpy")
    return _POOL


_DISPATCH_STACK_LEN = getattr(torch._C, "_len_torch_dispatch_stack", None)
_FUNCTION_MODE_ENABLED = getattr(torch._C, "_is_torch_function_mode_enabled", None)


def _modes_active() -> bool:
    """A Python dispatch or function mode is watching torch's ops (a profiler, a FLOP counter, a
    tracer): numpy's work would be invisible to it, so torch's kernels run instead."""
    if _DISPATCH_STACK_LEN is None or _FUNCTION_MODE_ENABLED is None:  # a torch without these: keep torch's kernels
        return True
    return bool(_DISPATCH_STACK_LEN()) or bool(_FUNCTION_MODE_ENABLED())


_F32, _STRIDED = torch.float32, torch.strided


def _numpy_into(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    """``into(out, a)`` computing numpy's ``name`` for float32 CPU tensors, else ``fallback``.

    ``into.unchecked`` is the same without entering ``np.errstate`` on the calling thread: for
    callers that already ignore floating-point errors around a whole run
    (:func:`nsad_lib.nn.executor.ignoring_fp_errors`), where one ``errstate`` per run costs what one
    per op did.
    """
    import numpy as np

    ufunc = getattr(np, name)

    def apply(src: Any, dst: Any) -> None:
        with np.errstate(all="ignore"):  # inf and NaN results are values here, as in torch
            ufunc(src, out=dst)

    def make(checked: bool) -> Callable[..., Any]:
        def into(out: torch.Tensor, a: Any) -> Any:
            # (a real tensor is never a conjugate view; a negative view is checked)
            if not (isinstance(a, torch.Tensor) and a.dtype is _F32 and out.dtype is _F32 and a.is_cpu
                    and a.layout is _STRIDED and numpy_simd(name) and not a.is_neg() and not _modes_active()):
                return fallback(out, a)
            src, dst = (a.detach() if a.requires_grad else a).numpy(), out.numpy()
            n = src.size
            if n >= NUMPY_PARALLEL_MIN and torch.get_num_threads() > 1 and src.flags.c_contiguous and dst.flags.c_contiguous:
                threads = torch.get_num_threads()
                flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)
                step = -(-n // threads)
                parts = [slice(i, min(i + step, n)) for i in range(0, n, step)]
                pool = _pool()  # (pool threads do not share this thread's errstate: apply sets it)
                futures = [pool.submit(apply, flat_src[sl], flat_dst[sl]) for sl in parts[1:]]
                apply(flat_src[parts[0]], flat_dst[parts[0]])  # the calling thread takes the first part
                for future in futures:
                    future.result()
            elif checked:
                apply(src, dst)
            else:
                ufunc(src, out=dst)
            return out

        return into

    into = make(True)
    into.unchecked = make(False)  # type: ignore[attr-defined]
    return into


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
#: the operands) and returns it, or returns None for an operand mix it does not handle. None
#: instead of a function: the op has no ``out=`` form (computed functionally, then copied).
INTO_OPS: dict[str, Callable[..., Any] | None] = {
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
    "sin": _numpy_into("sin", _unary(torch.sin)),
    "cos": _numpy_into("cos", _unary(torch.cos)),
    "tan": _numpy_into("tan", _unary(torch.tan)),
    "tanh": _numpy_into("tanh", _tanh_into),
    "exp": _numpy_into("exp", _unary(torch.exp)),
    "log": _numpy_into("log", _unary(torch.log)),
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
    "plog": None,
    "pinv": None,
    "pdiv": None,
    "maximum": _binary_tensor(torch.maximum),
    "minimum": _binary_tensor(torch.minimum),
    "clamp_min": _clamp_into(torch.clamp_min),
    "clamp_max": _clamp_into(torch.clamp_max),
}

check_table(INTO_OPS, "nsad_lib.nn.ops.INTO_OPS")
