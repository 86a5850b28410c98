"""Sympy functions that the formula language adds to sympy's own.

``sigmoid`` and ``softplus`` are common activation building blocks. The protected operators
(``plog``, ``pdiv``, ``psqrt``, ``pinv``) reproduce genetic-programming backends' guarded
semantics (gplearn's, with the 0.001 threshold) as *named* functions, so a formula never
silently changes the meaning of ``log`` or ``/``. Each defines its derivative, so the symbolic
backward pass stays exact.
"""

from __future__ import annotations

import mpmath as mlib
import sympy as sp

#: Threshold under which gplearn's protected operators switch to their fallback value.
PROTECT_EPS = 0.001


def _latex_call(printer: sp.printing.latex.LatexPrinter, name: str, args: tuple[sp.Basic, ...]) -> str:
    inner = ", ".join(printer._print(a) for a in args)
    return rf"\operatorname{{{name}}}\left({inner}\right)"


class _RealFunction(sp.Function):
    """A function that is real for real arguments (lets sympy simplify ``Abs`` and friends)."""

    def _eval_is_real(self) -> bool | None:
        return all(a.is_real for a in self.args) or None

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        # None (= "cannot evaluate") unless the result is a finite real Float: sympy's callers
        # expect an mpf-backed number, and a NaN or complex infinity there used to escape as an
        # AttributeError ('NaN' object has no attribute '_mpf_').
        if not all(a.is_number for a in self.args):
            return None
        try:
            value = self._numeric_form()
            if value is None:
                return None
            dps = mlib.libmp.prec_to_dps(prec)
            result = value.evalf(dps)
            if not result.is_Number or result.is_finite is not True or result.is_real is not True:
                return None
            return sp.Float(result, dps)
        except (TypeError, ValueError, ArithmeticError, AttributeError):
            return None

    def _numeric_form(self) -> sp.Expr | None:  # overridden per function
        return None


class sigmoid(_RealFunction):
    """Logistic function 1 / (1 + exp(-x))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _numeric_form(self) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class softplus(_RealFunction):
    """log(1 + exp(x)), computed stably at run time."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _numeric_form(self) -> sp.Expr:
        return sp.log(1 + sp.exp(self.args[0]))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return _latex_call(printer, "softplus", self.args)


class pinv(_RealFunction):
    """Protected reciprocal: 1/x where |x| > 0.001, else 0 (gplearn's ``inv``)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return -pinv(self.args[0]) ** 2

    def _numeric_form(self) -> sp.Expr:
        a = self.args[0]
        return 1 / a if abs(float(a)) > PROTECT_EPS else sp.Integer(0)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return _latex_call(printer, "pinv", self.args)


class plog(_RealFunction):
    """Protected logarithm: log|x| where |x| > 0.001, else 0 (gplearn's ``log``)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return pinv(self.args[0])

    def _numeric_form(self) -> sp.Expr:
        a = self.args[0]
        return sp.log(sp.Abs(a)) if abs(float(a)) > PROTECT_EPS else sp.Integer(0)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return _latex_call(printer, "plog", self.args)


class psqrt(_RealFunction):
    """Protected square root: sqrt(|x|) (gplearn's ``sqrt``)."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a = self.args[0]
        return sp.sign(a) / (2 * psqrt(a))

    def _numeric_form(self) -> sp.Expr:
        return sp.sqrt(sp.Abs(self.args[0]))

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return _latex_call(printer, "psqrt", self.args)


class pdiv(_RealFunction):
    """Protected division: a/b where |b| > 0.001, else 1 (gplearn's ``div``)."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        if argindex == 1:
            return pinv(b)
        return -a * pinv(b) ** 2

    def _numeric_form(self) -> sp.Expr:
        a, b = self.args
        return a / b if abs(float(b)) > PROTECT_EPS else sp.Integer(1)

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        return _latex_call(printer, "pdiv", self.args)


#: Functions the formula language adds, by name.
EXTRA_FUNCTIONS: dict[str, type[sp.Function]] = {
    "sigmoid": sigmoid,
    "softplus": softplus,
    "plog": plog,
    "pdiv": pdiv,
    "psqrt": psqrt,
    "pinv": pinv,
}
