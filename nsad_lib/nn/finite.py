"""Numerical safety check run before a formula enters a registry (and when one is loaded).

A registered activation must give a finite value and a finite derivative for every input it
will realistically see, in every dtype people train with. Literally "all finite inputs" is
impossible for anything that grows (``3*x`` overflows float16 at 21,846), so the check covers
|x| <= 1,000 in float32/float64 and |x| <= 100 in float16/bfloat16 (batch-normalised
pre-activations live well inside both).

Finiteness is established, not sampled:

* **float16 and bfloat16: every representable value** with |x| within range (all 65,536 bit
  patterns, filtered) is evaluated, so a formula that passes is finite at every input of those
  dtypes in range (for the kernels of the machine that ran the check).
* **float32 and float64: every candidate singularity is located and its neighbourhood checked
  densely.** The compiled program (f and df/dx) is walked instruction by instruction; each
  operation that can blow up names the quantity whose zeros are its singular points: a
  denominator (``/``, reciprocal), the argument of ``log``, ``sqrt``, a power's base, the
  switching points ``|b| = 0.001`` of the protected operators (``pdiv``, ``pinv``, ``plog``),
  the zero of ``psqrt``'s argument, and ``cos`` of ``tan``'s argument. Those quantities are
  evaluated on a float64 grid; every sign change and every local minimum of their magnitude is
  refined (bisection / ternary search to float64 resolution) to a candidate point, and the
  2 * :data:`POLE_ULPS` + 1 float32 values (and float64 values) around each candidate (fewer, at
  least 17, when there are hundreds of candidates: :data:`NEIGHBOURHOOD_POINTS` in all) are
  checked, together with the regular grid (:func:`check_grid`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from nsad_lib.errors import EntryError
from nsad_lib.formula.expression import Formula
from nsad_lib.formula.ops import NUMPY_OPS
from nsad_lib.formula.program import Program, compile_program
from nsad_lib.nn.executor import run_program

#: Largest |x| checked, per dtype name.
CHECK_RANGE: dict[str, float] = {"float64": 1000.0, "float32": 1000.0, "float16": 100.0, "bfloat16": 100.0}
#: float32/float64 values checked on each side of a candidate singularity (in units in the last place).
POLE_ULPS = 256
#: Most float32/float64 values checked around candidate points, all candidates together.
NEIGHBOURHOOD_POINTS = 65_536
#: Most candidate singular points examined (the closest to zero first); more are refused.
MAX_CANDIDATES = 2048

_PROTECTED = ("pdiv", "pinv", "plog")


def check_grid(limit: float) -> np.ndarray:
    """Regular inputs checked: a linear and a logarithmic grid, both signs, plus special points."""
    linear = np.linspace(-limit, limit, 20001)
    logs = np.logspace(-8, np.log10(limit), 400)
    special = np.array([0.0, 1e-3, 1.0e-3 + 1e-9, 1e-3 - 1e-9, np.pi / 2, np.pi, 1.0])
    grid = np.concatenate([linear, logs, -logs, special, -special])
    return np.unique(grid)


def all_values(dtype_name: str, limit: float) -> np.ndarray:
    """Every finite value of a 16-bit float dtype with |x| <= limit, as float64 (sorted)."""
    bits = np.arange(65536, dtype=np.uint32).astype(np.uint16)
    with np.errstate(all="ignore"):
        return _finite_within(bits, dtype_name, limit)


def _finite_within(bits: np.ndarray, dtype_name: str, limit: float) -> np.ndarray:
    if dtype_name == "float16":
        values = bits.view(np.float16).astype(np.float64)
    elif dtype_name == "bfloat16":
        values = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    else:  # pragma: no cover - only the 16-bit dtypes are enumerated
        raise ValueError(dtype_name)
    values = values[np.isfinite(values) & (np.abs(values) <= limit)]
    return np.unique(values)


def _critical(op: str, operands: list[np.ndarray]) -> np.ndarray | None:
    """The quantity whose zeros are the singular points of one instruction, or None."""
    if op in ("div", "div_scaled"):
        return operands[1]
    if op in ("reciprocal", "scalar_div", "log", "sqrt", "rsqrt", "psqrt", "pow", "pow_scalar"):
        return operands[0]
    if op == "pdiv":
        return np.abs(operands[1]) - 1e-3
    if op in ("pinv", "plog"):
        return np.abs(operands[0]) - 1e-3
    if op == "tan":
        return np.cos(operands[0])
    return None


def _walk(program: Program, x: np.ndarray, params: list[float], outputs: tuple[int, ...]) -> dict[int, np.ndarray]:
    """The critical quantity of every singular instruction needed for ``outputs``, on ``x``."""
    table = NUMPY_OPS
    order, frees = program.plan(outputs)
    values: dict[int, Any] = {}
    critical: dict[int, np.ndarray] = {}
    for s in order:
        op, args, payload = program.instructions[s]
        if op == "x":
            values[s] = x
        elif op == "param":
            values[s] = np.float64(params[payload])
        elif op == "const":
            values[s] = np.float64(payload)
        else:
            operands = [values[a] for a in args]
            values[s] = table[op](*operands, payload) if payload is not None else table[op](*operands)
            with np.errstate(all="ignore"):
                c = _critical(op, [np.broadcast_to(np.asarray(o, dtype=np.float64), x.shape) for o in operands])
            if c is not None:
                critical[s] = c
        for dead in frees.get(s, ()):
            del values[dead]
    return critical


def _pick(crit: dict[int, np.ndarray], slots: np.ndarray, offset: int) -> np.ndarray:
    """crit[slots[i]][offset + i] for every i, one numpy take per distinct slot."""
    out = np.empty(slots.size)
    for s in np.unique(slots):
        where = np.nonzero(slots == s)[0]
        out[where] = crit[int(s)][offset + where]
    return out


def candidate_points(program: Program, params: list[float], limit: float) -> np.ndarray:
    """Candidate singular points of f and df/dx in [-limit, limit], refined in float64."""
    grid = np.unique(np.concatenate([np.linspace(-limit, limit, 40001), np.linspace(-10.0, 10.0, 20001)]))
    with np.errstate(all="ignore"):
        critical = _walk(program, grid, params, (0, 1))
    brackets: list[tuple[np.ndarray, np.ndarray, int]] = []  # (lo, hi, slot); kind by sign
    minima: list[tuple[np.ndarray, np.ndarray, int]] = []
    for slot, c in critical.items():
        c = np.asarray(c, dtype=np.float64)
        finite = np.isfinite(c)
        sign = np.sign(c)
        change = (sign[:-1] * sign[1:] < 0) & finite[:-1] & finite[1:]
        idx = np.nonzero(change)[0]
        brackets.append((grid[idx], grid[idx + 1], slot))
        zero = np.nonzero(c == 0.0)[0]
        if zero.size:
            brackets.append((grid[zero], grid[zero], slot))
        a = np.abs(c)
        interior = (a[1:-1] < a[:-2]) & (a[1:-1] <= a[2:]) & finite[1:-1]
        m = np.nonzero(interior)[0] + 1
        minima.append((grid[m - 1], grid[m + 1], slot))
    points = [b[0][b[0] == b[1]] for b in brackets]
    lo = np.concatenate([b[0] for b in brackets] + [np.empty(0)])
    hi = np.concatenate([b[1] for b in brackets] + [np.empty(0)])
    slots = np.concatenate([np.full(len(b[0]), b[2]) for b in brackets] + [np.empty(0, dtype=np.int64)]).astype(np.int64)
    mlo = np.concatenate([b[0] for b in minima] + [np.empty(0)])
    mhi = np.concatenate([b[1] for b in minima] + [np.empty(0)])
    mslots = np.concatenate([np.full(len(b[0]), b[2]) for b in minima] + [np.empty(0, dtype=np.int64)]).astype(np.int64)
    if lo.size + mlo.size > MAX_CANDIDATES:
        keep = np.argsort(np.minimum(np.abs(lo), np.abs(hi)), kind="stable")[:MAX_CANDIDATES]
        lo, hi, slots = lo[keep], hi[keep], slots[keep]
        room = max(MAX_CANDIDATES - lo.size, 0)
        keep = np.argsort(np.minimum(np.abs(mlo), np.abs(mhi)), kind="stable")[:room]
        mlo, mhi, mslots = mlo[keep], mhi[keep], mslots[keep]
    if lo.size or mlo.size:
        lo_sign = None
        for _ in range(64):  # float64 resolution of any bracket within |x| <= 1000
            mid = 0.5 * (lo + hi)
            t1 = mlo + (mhi - mlo) / 3
            t2 = mhi - (mhi - mlo) / 3
            xs = np.concatenate([lo, mid, t1, t2])
            with np.errstate(all="ignore"):
                crit = _walk(program, xs, params, (0, 1))
            n, k = lo.size, mlo.size
            if n:
                c_lo = _pick(crit, slots, 0) if lo_sign is None else lo_sign
                c_mid = _pick(crit, slots, n)
                lo_sign = np.sign(c_lo)
                left = np.sign(c_mid) == lo_sign
                lo = np.where(left, mid, lo)
                hi = np.where(left, hi, mid)
            if k:
                a1 = np.abs(_pick(crit, mslots, 2 * n))
                a2 = np.abs(_pick(crit, mslots, 2 * n + k))
                shrink_left = a1 <= a2
                mhi = np.where(shrink_left, t2, mhi)
                mlo = np.where(shrink_left, mlo, t1)
        points += [lo, 0.5 * (mlo + mhi)]  # hi is lo's float64 neighbour: inside its neighbourhood
    pts = np.concatenate(points + [np.empty(0)])
    pts = pts[np.isfinite(pts) & (np.abs(pts) <= limit)]
    return np.unique(pts)


def _neighbourhood(points: np.ndarray, dtype: Any, ulps: int) -> np.ndarray:
    """The values of ``dtype`` within ``ulps`` steps of each point (both directions)."""
    if points.size == 0:
        return np.empty(0)
    centers = points.astype(dtype)
    out = [centers]
    up, down = centers.copy(), centers.copy()
    inf = np.array(np.inf, dtype=dtype)
    for _ in range(ulps):
        up = np.nextafter(up, inf)
        down = np.nextafter(down, -inf)
        out += [up, down]
    return np.concatenate(out).astype(np.float64)


def inputs_checked(program: Program, params: list[float], dtype_name: str) -> np.ndarray:
    """Every input checked in ``dtype_name`` (as float64 values exactly representable in it)."""
    limit = CHECK_RANGE[dtype_name]
    if dtype_name in ("float16", "bfloat16"):
        return all_values(dtype_name, limit)
    np_dtype = np.float32 if dtype_name == "float32" else np.float64
    poles = candidate_points(program, params, limit)
    # at most NEIGHBOURHOOD_POINTS values in all: with many candidates (tan, periodic
    # denominators) each gets a narrower neighbourhood, never under 8 ulps a side
    ulps = max(8, min(POLE_ULPS, NEIGHBOURHOOD_POINTS // max(2 * poles.size, 1)))
    near = _neighbourhood(poles, np_dtype, ulps)
    xs = np.concatenate([check_grid(limit), near]).astype(np_dtype).astype(np.float64)
    return np.unique(xs[np.isfinite(xs) & (np.abs(xs) <= limit)])


def check_finite(formula: Formula, values: Mapping[str, float] | None = None, *, dtypes: tuple[str, ...] = tuple(CHECK_RANGE)) -> None:
    """Raise :class:`EntryError` naming dtype and input where f or f' is NaN/Inf.

    ``values`` overrides the formula's parameter values. The formula is compiled under the
    formula language's work budget (a :class:`~nsad_lib.errors.FormulaError` if over it).
    """
    vals = {**formula.parameters, **(values or {})}
    params = [float(vals[n]) for n in formula.parameter_names]
    program = compile_program(formula.expr, formula.parameter_names, derivatives=True)
    for dtype_name in dtypes:
        if dtype_name not in CHECK_RANGE:
            raise ValueError(f"unknown dtype {dtype_name!r} (known: {', '.join(CHECK_RANGE)})")
        dtype = getattr(torch, dtype_name)
        xs = inputs_checked(program, params, dtype_name)
        grid = torch.tensor(xs, dtype=torch.float64).to(dtype)
        tparams = [torch.tensor(v, dtype=dtype) for v in params]
        try:
            with torch.no_grad():
                f, df = run_program(program, grid, tparams, outputs=(0, 1))
        except (RuntimeError, OverflowError) as exc:  # e.g. a constant beyond float16's range
            raise EntryError(
                f"formula {formula.canonical!r} cannot be evaluated in {dtype_name}: {str(exc).splitlines()[0]}"
            ) from None
        for label, out in (("value", f), ("derivative", df)):
            out = torch.as_tensor(out, dtype=dtype).expand_as(grid)
            bad = ~torch.isfinite(out)
            if bool(bad.any()):
                where = float(grid[bad.nonzero()[0, 0]].double())
                raise EntryError(
                    f"formula {formula.canonical!r} gives a non-finite {label} in {dtype_name} at x = {where:.9g} "
                    f"(checked |x| <= {CHECK_RANGE[dtype_name]:g})"
                )
