"""``SymbolicActivation``: a formula as a drop-in, memory-lean PyTorch activation.

Training path: a custom ``torch.autograd.Function`` computes the forward from the compiled
program and saves *only the input*; the backward recomputes what it needs from the input and
applies the symbolic derivative (shared subexpressions computed once). Saved memory is one
tensor whatever the formula's size, where composed ops would keep every intermediate.

Eagerly, forward and backward write every intermediate into reused buffers (chunked, with
cached scratch, on CPU; see :mod:`nsad_lib.nn.executor`): a call allocates only its result.

Inference path (``torch.no_grad()``, or nothing needs a gradient): the same buffer-reusing
evaluation; under ``torch.export`` / ``torch.compile`` tracing, the same program as plain
composed torch ops. ``compile=True`` runs the module through one ``torch.compile``d function
per formula, in which the autograd.Function is traced (no graph break), so inductor fuses the
forward into one kernel and the backward into another.
"""

from __future__ import annotations

import functools
import itertools
import types
import weakref
from typing import Any, Mapping

import sympy as sp
import torch
from torch import nn
from torch.autograd import forward_ad as _forward_ad

from nsad_lib.errors import FormulaError
from nsad_lib.formula.expression import Formula
from nsad_lib.formula.program import Program, compile_program
from nsad_lib.nn import executor
from nsad_lib.nn.builtins import builtin_kernel
from nsad_lib.nn.executor import (
    backward_into,
    can_run_into,
    forward_into,
    forward_with_derivative_into,
    functional_steps,
    is_functorch_wrapped,
    run_program,
    run_steps,
    saves_derivative,
    sum_dtype,
)
from nsad_lib.nn.ops import scalar_like

__all__ = ["SymbolicActivation"]


def _param_grad(grad_out: torch.Tensor, d: Any, like: torch.Tensor) -> torch.Tensor:
    acc = sum_dtype(grad_out.dtype)
    if isinstance(d, torch.Tensor):
        g = torch.sum(grad_out * d, dtype=acc)
    else:
        g = torch.sum(grad_out, dtype=acc) * float(d)
    return g.to(like.dtype).reshape(like.shape)


def _composed_grads(steps: Any, x: torch.Tensor, params: Any, grad_out: torch.Tensor,
                    needs: tuple[bool, ...]) -> tuple[torch.Tensor | None, ...]:
    """Input and constant gradients from the derivative ``steps`` run as plain composed ops (the
    backward under tracing, transforms or a double backward): differentiable and batchable."""
    values = iter(run_steps(steps[0], steps[1], x, params))
    grads: list[torch.Tensor | None] = []
    for i, need in enumerate(needs):
        if not need:
            grads.append(None)
        elif i == 0:
            grads.append(grad_out * next(values))
        else:
            grads.append(_param_grad(grad_out, next(values), params[i - 1]))
    return tuple(grads)


def _output_sets(n_params: int) -> list[tuple[int, ...]]:
    """Output tuples the backward may ask for (d/dx is output 1, d/dparam_i is 2+i)."""
    if n_params <= 5:
        subsets = []
        for mask in range(1, 1 << (n_params + 1)):
            subsets.append(tuple(i + 1 for i in range(n_params + 1) if mask >> i & 1))
        return subsets
    everything = tuple(range(1, n_params + 2))
    return [(1,), everything, everything[1:]]


#: Upstream autograd nodes :func:`_input_needs_gradient` visits before it stops looking (and
#: keeps the input, the safe choice): the second activation of the Light network sees 15 (a walk
#: of about 3 us); 64 bounds the walk near 15 us, and deeper activations simply save x.
INPUT_SEARCH_NODES = 64


def _input_needs_gradient(x: torch.Tensor) -> bool:
    """Whether ``x`` depends on a tensor that needs a gradient and is not an ``nn.Parameter``: the
    network's input in a physics-informed loss (derivatives of the output with respect to the
    input, then a backward through them) or a gradient penalty. Such losses differentiate the
    activation's backward again (``create_graph=True``), which needs the input. A walk over the
    graph upstream of ``x`` (a few microseconds in a small network); past
    :data:`INPUT_SEARCH_NODES` nodes it answers True."""
    stack = [x.grad_fn]
    seen: set[Any] = set()
    while stack:
        node = stack.pop()
        if node is None:
            continue
        for upstream, _ in node.next_functions:
            if upstream is None or upstream in seen:
                continue
            seen.add(upstream)
            if len(seen) > INPUT_SEARCH_NODES:
                return True
            leaf = getattr(upstream, "variable", None)  # AccumulateGrad: a leaf that needs a gradient
            if leaf is not None:
                if not isinstance(leaf, nn.Parameter):
                    return True
                continue
            stack.append(upstream)
    return False  # (x itself a leaf: its owner holds it, the weak reference below finds it)


@functools.lru_cache(maxsize=512)
def _autograd_function(program: Program, second_order: bool = False) -> type[torch.autograd.Function]:
    """One autograd.Function class per program (class attributes are constants to dynamo).

    With ``second_order`` the forward always saves the input (never f'(x)), so a double backward
    never needs the caller to hold the input.

    Eagerly, forward and backward write intermediates into reused scratch buffers
    (:func:`nsad_lib.nn.executor.forward_into`, :func:`~nsad_lib.nn.executor.backward_into`); under ``torch.compile`` they are traced as plain
    functional ops from precomputed, immutable step tuples, so inductor fuses the forward
    into one kernel and the backward into another, and nothing mutable is guarded on.
    """
    forward_steps = {fast: functional_steps(program, (0,), fast) for fast in (False, True)}
    backward_steps = {
        (wanted, fast): functional_steps(program, wanted, fast) for wanted in _output_sets(program.n_params) for fast in (False, True)
    }

    save_derivative = saves_derivative(program)

    def eager(x: torch.Tensor, params: tuple[Any, ...]) -> bool:
        # write into reused buffers unless tracing, recording a graph (double backward), or
        # given something unusual (tensor subclasses, integer input, non-scalar parameters)
        return not torch.is_grad_enabled() and can_run_into(x, params)

    class SymbolicFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
            ctx.params = tuple([p.detach() for p in params])
            ctx.derivative = False
            if eager(x, params):
                needs = ctx.needs_input_grad
                # small inputs (at most executor.SMALL_BYTES) save f' even where it costs as much
                # as the backward's re-evaluation: the backward is then one multiply instead of a
                # run of the program (in a Light epoch 3*x + sin(x) measured 366 us a step against 443)
                joint = not second_order and (save_derivative or x.numel() * x.element_size() <= executor.SMALL_BYTES)
                if joint and needs[0] and not any(needs[1:]) and not _input_needs_gradient(x):
                    # no constant needs a gradient: compute f and f' together and keep f'(x)
                    # (still one saved tensor); the backward is one multiply. Not where the
                    # input depends on a non-parameter that needs a gradient (a physics-informed
                    # loss will differentiate the backward again, and that needs x)
                    y, d, ctx.scale = forward_with_derivative_into(program, x, params)  # f' = scale * d
                    ctx.save_for_backward(d)
                    ctx.derivative = True
                    # for a double backward only (create_graph=True): the input, if its owner
                    # still holds it unchanged; a weak reference keeps no memory alive
                    ctx.input, ctx.input_version = weakref.ref(x), x._version
                    return y
                ctx.save_for_backward(x)  # the only tensor kept for backward
                return forward_into(program, x, params)
            ctx.save_for_backward(x)
            steps = forward_steps[_compiling()]
            return run_steps(steps[0], steps[1], x, params)[0]

        @staticmethod
        def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
            needs = ctx.needs_input_grad
            if ctx.derivative:
                (d,) = ctx.saved_tensors
                if not torch.is_grad_enabled():
                    scale = ctx.scale
                    gx = grad_out * d if scale == 1.0 else torch.addcmul(scalar_like(0.0, d), grad_out, d, value=scale)
                    return (gx,) + (None,) * (len(needs) - 1)
                x = ctx.input()
                if x is None or x._version != ctx.input_version:
                    raise RuntimeError(
                        "double backward through a nsad-lib activation without trainable constants needs its input "
                        "unchanged and still referenced (it saved f'(x), not x); keep a reference to the input, or "
                        "build the activation with second_order=True (set act.second_order = True), which saves x"
                    )
            else:
                (x,) = ctx.saved_tensors
            wanted = tuple(i + 1 for i, need in enumerate(needs) if need)
            if not wanted:
                return (None,) * len(needs)
            # grad_out may be batched (jacobian(vectorize=True) vmaps the backward over it): the
            # buffers and out= forms of the fused backward are for plain tensors only
            fused = (eager(x, ctx.params) and grad_out.dtype == x.dtype and grad_out.shape == x.shape
                     and type(grad_out) is torch.Tensor and not is_functorch_wrapped(grad_out))
            if not fused:
                fast = _compiling()
                steps = backward_steps.get((wanted, fast)) or functional_steps(program, wanted, fast)
                return _composed_grads(steps, x, ctx.params, grad_out, needs)
            # grad_out * f'(x) and the parameter sums computed chunk by chunk
            values = iter(backward_into(program, x, ctx.params, grad_out, wanted))
            grads: list[torch.Tensor | None] = []
            for i, need in enumerate(needs):
                if not need:
                    grads.append(None)
                    continue
                d = next(values)
                if i == 0:
                    grads.append(d)
                else:
                    like = ctx.params[i - 1]
                    grads.append(d if d.dtype == like.dtype and d.dim() == 0 == like.dim() else d.to(like.dtype).reshape(like.shape))
            return tuple(grads)

    SymbolicFunction.__name__ = SymbolicFunction.__qualname__ = "SymbolicFunction"
    SymbolicFunction.forward_steps = forward_steps  # type: ignore[attr-defined]  # read by modules: {compiling: steps}
    return SymbolicFunction


@functools.lru_cache(maxsize=512)
def _transform_function(program: Program) -> type[torch.autograd.Function]:
    """The autograd.Function used under ``torch.func`` transforms (``grad``, ``jacrev``, ``vmap``
    of them, ``hessian``): functorch needs ``setup_context`` and a vmap rule, and every tensor the
    backward reads saved through ``save_for_backward``. Plain composed ops only (no buffers, no
    f'(x) saved), so the backward can itself be differentiated and batched."""
    forward_steps = functional_steps(program, (0,))

    class SymbolicTransformFunction(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
            return run_steps(forward_steps[0], forward_steps[1], x, params)[0]

        @staticmethod
        def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
            ctx.save_for_backward(*inputs)
            ctx.save_for_forward(*inputs)

        @staticmethod
        def jvp(ctx: Any, *tangents: torch.Tensor | None) -> torch.Tensor:
            # forward mode (jacfwd, hessian = jacfwd(jacrev)): f'(x)*dx + sum_i df/dp_i * dp_i
            x, *params = ctx.saved_tensors
            wanted = tuple(i + 1 for i, t in enumerate(tangents) if t is not None)
            if not wanted:
                return torch.zeros_like(x)
            steps = functional_steps(program, wanted)
            result: Any = 0.0
            for tangent, d in zip([t for t in tangents if t is not None], run_steps(steps[0], steps[1], x, params)):
                result = result + tangent * d
            if not (isinstance(result, torch.Tensor) and result.shape == x.shape):
                result = result + torch.zeros_like(x)  # constant partials: broadcast to f's shape
            return result  # type: ignore[no-any-return]

        @staticmethod
        def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
            x, *params = ctx.saved_tensors
            needs = ctx.needs_input_grad
            wanted = tuple(i + 1 for i, need in enumerate(needs) if need)
            if not wanted:
                return (None,) * len(needs)
            return _composed_grads(functional_steps(program, wanted), x, params, grad_out, needs)

    return SymbolicTransformFunction


_TRANSFORMS_ACTIVE = getattr(torch._C, "_are_functorch_transforms_active", None)


def _forward_ad_active() -> bool:
    """A forward-mode AD level is open (``torch.autograd.forward_ad.dual_level``): dual tensors
    need the jvp rule that only the transform function has."""
    return getattr(_forward_ad, "_current_level", -1) >= 0


def _transforms_active() -> bool:
    return bool(_TRANSFORMS_ACTIVE()) if _TRANSFORMS_ACTIVE is not None else False


def _needs_graph(x: torch.Tensor, params: tuple[torch.Tensor, ...]) -> bool:
    return torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))


@functools.lru_cache(maxsize=256)
def _compiled_entry(program: Program) -> Any:
    """``torch.compile``d ``(x, *params) -> f(x)`` for one program, shared by all its modules.

    Dynamo caches compiled code per Python code object, with a small recompile limit per object.
    One shared entry function would collect a cache entry per formula and silently fall back to
    eager past the limit, so each program gets its own copy of the (same) code object; modules
    of the same formula share it, so ``get(id, compile=True)`` compiles once per process.
    """
    function = _autograd_function(program)
    steps = functional_steps(program, (0,), True)

    def entry(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        if _needs_graph(x, params):
            return function.apply(x, *params)
        return run_steps(steps[0], steps[1], x, params)[0]

    code = entry.__code__.replace(co_name=f"nsad_activation_{_entry_serial()}")
    own = types.FunctionType(code, entry.__globals__, code.co_name, entry.__defaults__, entry.__closure__)
    return torch.compile(own, options=_inductor_options())


#: Inductor settings for our own kernels only (``torch.compile(options=...)`` applies them to
#: this compilation, not to the user's other compiled code). Fused multiply-add contraction:
#: inductor's CPU default (``-ffp-contract=off``) turns every ``a*b + c`` of a polynomial into two
#: rounded operations; contracted they are one, faster and no less accurate.
_INDUCTOR_OPTIONS = {"cpp.enable_floating_point_contract_flag": "fast"}


def _inductor_options() -> dict[str, Any]:
    """:data:`_INDUCTOR_OPTIONS` that this torch's inductor knows (older versions lack some)."""
    from torch._inductor import config

    known = {}
    for key, value in _INDUCTOR_OPTIONS.items():
        section, _, name = key.rpartition(".")
        holder = getattr(config, section, None) if section else config
        if holder is not None and hasattr(holder, name):
            known[key] = value
    return known


_SERIAL = itertools.count()


def _entry_serial() -> int:
    return next(_SERIAL)


_IS_EXPORTING = getattr(torch.compiler, "is_exporting", None)


def _is_exporting() -> bool:
    return bool(_IS_EXPORTING()) if _IS_EXPORTING is not None else False


def _compiling() -> bool:
    """Whether torch.compile (not torch.export) is tracing: then ops come from
    :data:`nsad_lib.nn.ops.COMPILE_OPS`, whose kernels inductor fuses well."""
    return torch.compiler.is_compiling() and not _is_exporting()


class SymbolicActivation(nn.Module):
    """An elementwise activation defined by a safe symbolic formula.

    Args:
        formula: formula text (parsed safely) or a :class:`~nsad_lib.formula.expression.Formula`.
        parameters: initial values of named constants in the formula (``{"a": 1.0}``).
        trainable: named constants become ``nn.Parameter``s (else buffers).
        compile: wrap the forward with ``torch.compile``.
        name: registry id, shown in ``repr``.
        builtin: a formula that is exactly a torch built-in (ReLU, GELU, SiLU, sigmoid, softplus;
            :mod:`nsad_lib.nn.builtins`) runs torch's own kernel; ``False`` keeps the formula's
            program (for comparisons).
        second_order: always save the input for the backward. By default a formula without
            trainable constants may save f'(x) instead (faster); a double backward
            (``create_graph=True``) then needs the input still referenced by the caller. Inputs
            that depend on a non-parameter needing a gradient (the network input of a
            physics-informed loss, a gradient penalty) save x anyway; set this for other
            second-order uses (Hessians with respect to the parameters). Also an attribute.
    """

    def __init__(
        self,
        formula: str | Formula,
        parameters: Mapping[str, float] | None = None,
        *,
        trainable: bool = False,
        compile: bool = False,
        name: str | None = None,
        builtin: bool = True,
        second_order: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(formula, Formula):
            if parameters:
                formula = Formula.parse(formula.canonical, {**formula.parameters, **parameters})
        else:
            formula = Formula.parse(formula, parameters)
        self.formula = formula
        self.name = name
        self.trainable = bool(trainable)
        self.second_order = bool(second_order)
        self._names = formula.parameter_names
        for pname, value in formula.parameters.items():
            if hasattr(self, pname):
                raise FormulaError(f"parameter name {pname!r} collides with an nn.Module attribute; rename it", pname, None)
            tensor = torch.tensor(float(value), dtype=torch.float32)
            if self.trainable:
                self.register_parameter(pname, nn.Parameter(tensor))
            else:
                self.register_buffer(pname, tensor)
        self._program = compile_program(formula.expr, self._names, derivatives=True)
        self._function = _autograd_function(self._program)
        # read in forward from the module, not the autograd class: torch.compile cannot trace
        # an attribute of an autograd.Function class (a graph break under no_grad)
        self._forward_steps = self._function.forward_steps  # type: ignore[attr-defined]
        self._use_builtin = bool(builtin)
        self._builtin = builtin_kernel(formula) if builtin else None
        self._compiled = _compiled_entry(self._program) if compile and self._builtin is None else None

    # -- forward -------------------------------------------------------------------------
    # -- pickling: the compiled program and autograd class are rebuilt from the formula --------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_program"] = state["_function"] = state["_forward_steps"] = state["_builtin"] = None
        state["_compiled"] = state["_compiled"] is not None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        compiled = state.pop("_compiled")
        self.__dict__.update(state)
        self._program = compile_program(self.formula.expr, self._names, derivatives=True)
        self._function = _autograd_function(self._program)
        self._forward_steps = self._function.forward_steps  # type: ignore[attr-defined]
        self._builtin = builtin_kernel(self.formula) if state.get("_use_builtin", True) else None
        self._use_builtin = state.get("_use_builtin", True)
        self.second_order = state.get("second_order", False)  # (pickled before it existed)
        self._compiled = _compiled_entry(self._program) if compiled else None

    def _params(self) -> list[torch.Tensor]:
        # the named constants are parameters (trainable) or buffers: read the dicts directly,
        # nn.Module.__getattr__ is a noticeable part of a small activation's call
        held = self._parameters if self.trainable else self._buffers
        try:
            return [held[n] for n in self._names]  # type: ignore[misc]
        except KeyError:  # reassigned as the other kind by the user
            return [getattr(self, n) for n in self._names]

    def _forward_eager(self, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        if not _is_exporting():
            if _transforms_active() or _forward_ad_active():  # torch.func transforms, dual numbers
                return _transform_function(self._program).apply(x, *params)
            if _needs_graph(x, params):
                function = _autograd_function(self._program, True) if self.second_order else self._function
                return function.apply(x, *params)
            if can_run_into(x, params):  # nothing to record: write into reused buffers
                return forward_into(self._program, x, params)
        # traced (export, or a torch.compile of the enclosing model): plain ops from immutable
        # precomputed steps, so nothing mutable is guarded on
        steps = self._forward_steps[_compiling()]
        return run_steps(steps[0], steps[1], x, params)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._builtin is not None:  # the formula is exactly this torch built-in
            return self._builtin[1](x)
        params = self._params()
        if self._compiled is not None and not _is_exporting() and not _transforms_active():
            return self._compiled(x, *params)
        return self._forward_eager(x, *params)

    def forward_composed(self, x: torch.Tensor) -> torch.Tensor:
        """The formula as plain composed torch ops under autograd (for comparison only)."""
        return run_program(self._program, x, self._params())[0]

    # -- introspection -------------------------------------------------------------------
    def parameter_values(self) -> dict[str, float]:
        """Current values of the named constants."""
        return {n: float(getattr(self, n).detach().float()) for n in self._names}

    def sympy(self) -> sp.Expr:
        """The expression with the current parameter values substituted (float32 values at their
        shortest round-trip decimal: 0.71, not 0.709999978542328)."""
        import numpy as np

        return self.formula.substituted({n: float(str(np.float32(v))) for n, v in self.parameter_values().items()})

    def latex(self) -> str:
        """LaTeX of :meth:`sympy`."""
        return sp.latex(self.sympy())

    def extra_repr(self) -> str:
        parts = [f"formula={self.formula.canonical!r}"]
        if self._names:
            values = ", ".join(f"{n}={v:.6g}" for n, v in self.parameter_values().items())
            parts.append(f"parameters=({values})")
            parts.append(f"trainable={self.trainable}")
        if self.name:
            parts.insert(0, f"id={self.name!r}")
        if self._compiled is not None:
            parts.append("compiled=True")
        if self.second_order:
            parts.append("second_order=True")
        if self._builtin is not None:
            parts.append(f"kernel='torch {self._builtin[0]}'")
        return ", ".join(parts)
