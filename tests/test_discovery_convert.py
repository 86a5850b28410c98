"""Backend text -> formula language: collapse, protected operators, PySR CSV ingestion."""

from __future__ import annotations

import pytest
import sympy as sp

from nsad_lib.discovery.constants import lift_constants, tidy
from nsad_lib.discovery.convert import to_formula
from nsad_lib.discovery.pysr_csv import read_hall_of_fame
from nsad_lib.errors import DataError, FormulaError
from nsad_lib.formula import Formula


def test_gplearn_protected_ops_map_to_named_protected_functions():
    f = to_formula("add(div(X0, X3), sub(log(X1), mul(sqrt(X2), inv(X12))))", "gplearn")
    text = f.canonical
    for name in ("pdiv", "plog", "psqrt", "pinv"):
        assert name in text
    assert "log(" not in text.replace("plog(", "") and "/" not in text
    assert f.expr.free_symbols == {sp.Symbol("x", real=True)}


def test_gplearn_paper_program_collapses_to_x():
    f = to_formula("sub(cos(X5), cos(cos(X21)))", "gplearn")
    assert f.expr == Formula.parse("cos(x) - cos(cos(x))").expr


def test_operon_infix_with_negative_constants():
    f = to_formula("(0.000038 + ((-0.984474) * (sin(((-1.997399) * X1)) - (0.318310 * X1))))", "operon")
    g = tidy(f)
    assert set(g.parameters) == {"a", "b", "c"}
    x = 0.7
    assert abs(g.numpy(x) - (f.numpy(x) - 0.000038)) < 1e-3  # the offset is dropped, the shape kept


def test_unknown_backend_function_is_refused():
    with pytest.raises(FormulaError, match="no equivalent"):
        to_formula("frobnicate(X0)", "gplearn")
    with pytest.raises(FormulaError):
        to_formula("__import__('os')", "pysr")


def test_lift_constants_keeps_the_shape():
    expr = Formula.parse("1.5*x + sin(2.5*x)").expr
    lifted, params = lift_constants(expr)
    assert params == {"a": 1.5, "b": 2.5} or set(params.values()) == {1.5, 2.5}
    f = Formula.parse(str(lifted), params)
    assert abs(f.numpy(0.3) - (1.5 * 0.3 + __import__("math").sin(0.75))) < 1e-12


PYSR_CSV = """Complexity,Loss,Equation
1,0.25,x0
5,0.12,(x0 * 1.5) + sin(x0)
7,0.08,square(x0) - cube(x0 * 0.5)
8,0.05,exp(x0 * 900.0)
"""


def test_pysr_hall_of_fame_csv(tmp_path):
    path = tmp_path / "hall_of_fame.csv"
    path.write_text(PYSR_CSV)
    exprs = read_hall_of_fame(path)
    assert [e.text for e in exprs][0] == "exp(x0 * 900.0)"  # lowest loss first
    f = to_formula("(x0 * 1.5) + sin(x0)", "pysr")
    assert f.expr == Formula.parse("1.5*x + sin(x)").expr
    g = to_formula("square(x0) - cube(x0 * 0.5)", "pysr")
    assert g.expr == Formula.parse("x^2 - (0.5*x)^3").expr


def test_pysr_csv_wrong_columns(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="missing column"):
        read_hall_of_fame(path)


@pytest.mark.parametrize("text,family", [("max(x, 0)", True), ("x - abs(x)", True), ("2*x + abs(x)", True),
                                         ("x*sigmoid(x)", False), ("cos(x + sigmoid(abs(x)))", False)])
def test_relu_family_is_recognised(text, family):
    from nsad_lib.discovery.candidates import is_relu_family

    assert is_relu_family(Formula.parse(text)) is family
