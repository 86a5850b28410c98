"""The formula language: safe parsing, canonical form, lowering to programs (sympy + numpy, no torch)."""

from nsad_lib.formula.language import Formula, canonical, parse

#: The top-level parser (``nsad_lib.parse_formula``), named apart from :meth:`Formula.parse`.
parse_formula = parse

__all__ = ["Formula", "canonical", "parse", "parse_formula"]
