"""The formula language: safe parsing of untrusted text to sympy, the operator spec, and the
lowering to a flat instruction program evaluated with numpy (sympy and numpy only, no torch;
torch evaluation is :mod:`nsad_lib.nn`).

Modules, lowest first: ``functions`` (sympy functions the language adds), ``special`` (numpy
erf/expit), ``ops`` (THE operator spec), ``plan`` (dependency walk), ``language`` (lexer, parser,
size and work guards), ``program`` (lowering), ``expression`` (:class:`Formula`), ``plot``.
"""

from __future__ import annotations

from nsad_lib.formula.expression import Formula
from nsad_lib.formula.language import canonical, check_expression, parse_formula

#: Alias of :func:`parse_formula` (the text -> sympy parser; not :meth:`Formula.parse`).
parse = parse_formula

__all__ = ["Formula", "canonical", "check_expression", "parse", "parse_formula"]
