"""Prior art (issue 18.4): the table of published activations, identify(), and where it is reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nsad_lib.cli import main
from nsad_lib.errors import FormulaError
from nsad_lib.formula import Formula
from nsad_lib.formula.known import KNOWN, TOLERANCE, identify, table_markdown

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("row", KNOWN, ids=[r.name for r in KNOWN])
def test_each_table_row_identifies_itself(row):
    params = {row.free[0]: 1.3} if row.free else None
    match = identify(row.formula, params)
    assert match is not None and match.citation == row.citation
    if row.free:  # the free constant is fitted back
        assert match.method == "values" and match.name.startswith(row.name)
        fitted = [v for k, v in match.constants.items() if k != "scale"]
        assert len(fitted) == 1
        assert match.relative_diff <= 1e-9
    else:
        assert (match.name, match.method, match.constants) == (row.name, "canonical", {})


@pytest.mark.parametrize("text", ["x*cos(x)", "cos(x)*x", "x*cos(-x)", "(x*cos(x) + x*cos(x))/2",
                                  "x*(cos(x/2)**2 - sin(x/2)**2)"])
def test_gcu_written_differently_is_gcu(text):
    match = identify(text)
    assert match is not None and match.name.startswith("GCU") and "Noel et al. 2021" in match.text
    assert match.constants == {}


def test_double_angle_gcu_matches_by_values():
    match = identify("x*(cos(x/2)**2 - sin(x/2)**2)")
    assert match is not None and match.method == "values" and match.max_abs_diff < 1e-12


@pytest.mark.parametrize("text,params", [("x*sigmoid(2*x)", None), ("x*sigmoid(a*x)", {"a": 2.0}),
                                         ("x/(1 + exp(-2*x))", None), ("x*(1 + tanh(x))/2", None)])
def test_swish_beta_2(text, params):
    match = identify(text, params)
    assert match is not None and match.name == "Swish-β (β = 2)"
    assert "Ramachandran et al. 2017" in match.citation


def test_swish_with_another_beta_is_fitted():
    match = identify("x*sigmoid(b*x)", {"b": 1.702})
    assert match is not None and match.name == "Swish-β (β = 1.702)" and match.method == "values"
    assert match.constants["β"] == pytest.approx(1.702, rel=1e-6)
    assert match.record()["constants"] == {"β": 1.702}


def test_positive_scale_is_fitted_and_reported():
    match = identify("3*Max(0, x)")
    assert match is not None and match.name == "ReLU" and match.constants == {"scale": 3.0}
    assert "scale 3" in match.describe()
    assert identify("-Max(0, x)") is None  # a negative scale is a different function


def test_reference_entries_and_paper_formulas_are_identified():
    expected = {"relu-v1": "ReLU", "silu-v1": "SiLU / Swish-1", "gelu-v1": "GELU (erf)",
                "hajbi2026-higgs-readme-v1": "GCU (growing cosine unit)", "higgs-specialist-v2": "Swish-β (β = 2)",
                "hajbi2026-higgs-fig-v1": "Hajbi 2026 HIGGS figure formula",
                "hajbi2026-spambase-fig-v1": "Hajbi 2026 Spambase figure formula"}
    for entry_id, name in expected.items():
        data = json.loads((REPO / "registry" / f"{entry_id}.json").read_text())
        match = identify(data["formula"], data["parameters"])
        assert match is not None and match.name == name, entry_id
    # every paper formula in the bundled registry is in the table
    for path in (REPO / "registry").glob("hajbi2026-*.json"):
        data = json.loads(path.read_text())
        assert identify(data["formula"], data["parameters"]) is not None, path.name


def test_nsad_lib_discoveries_are_not_prior_art():
    for entry_id in ("forest-v1", "higgs-v1", "spambase-v1", "higgs-specialist-v1"):
        data = json.loads((REPO / "registry" / f"{entry_id}.json").read_text())
        assert identify(data["formula"], data["parameters"]) is None, entry_id


@pytest.mark.parametrize("text", ["x*sigmoid(2*x) + 0.01*x", "x*cos(x) + 0.01*x**2", "tanh(x) + 0.01*x",
                                  "x*cos(1.05*x)", "Max(0, x) + 0.02*sin(x)"])
def test_perturbed_formulas_are_not_matched(text):
    assert identify(text) is None


def test_tolerance_is_relative_to_the_range():
    # x*sigmoid(2x) + e*x differs by e*4 at x = +-4; the range of the formula is ~4 on [-4, 4]
    assert identify("x*sigmoid(2*x) + 0.0001*x") is not None
    assert identify("x*sigmoid(2*x) + 0.0001*x").relative_diff <= TOLERANCE
    assert identify("x*sigmoid(2*x) + 0.002*x") is None


@pytest.mark.parametrize("text", ["exp(x)", "x**3", "x*exp(-x**2)", "log(x)", "x/(x - 1)", "1e-9*x*exp(x)",
                                  "exp(exp(x))", "x**(-2)", "pdiv(1, x)", "sin(1/x)", "1e300*x", "1e-300*x",
                                  "Max(0, x - 100)", "plog(x)*psqrt(x)", "tan(x)", "x - x + 1e-200*sin(x)"])
def test_non_matches_and_degenerate_formulas_give_none(text):
    assert identify(text) is None


def test_hostile_input_is_a_clean_error_or_none():
    with pytest.raises(FormulaError):
        identify("__import__('os').system('true')")
    with pytest.raises(FormulaError):
        identify("x*" * 5000 + "x")
    with pytest.raises(TypeError):
        identify(42)
    with pytest.raises(ValueError):
        identify("x", x_range=(1.0, -1.0))
    assert identify("sin(" * 25 + "x" + ")" * 25) is None
    assert identify("cos(x)*x", x_range=(-1e6, 1e6)).name.startswith("GCU")  # canonical: any range
    assert identify("exp(x)", x_range=(-1e6, 1e6)) is None  # overflows: not finite on the grid


def test_identify_accepts_a_formula_object_and_parameter_overrides():
    f = Formula.parse("x*sigmoid(a*x)", {"a": 1.0})
    assert identify(f).name == "SiLU / Swish-1"
    assert identify(f, {"a": 0.5}).name == "Swish-β (β = 0.5)"


def test_values_come_from_the_formula_core():
    # the fitted match really is close: check it independently with the formula's numpy evaluation
    match = identify("x*sigmoid(b*x)", {"b": 0.8})
    grid = np.linspace(-4, 4, 101)
    f = Formula.parse("x*sigmoid(b*x)", {"b": 0.8}).numpy(grid)
    g = Formula.parse("x*sigmoid(a*x)", {"a": match.constants["β"]}).numpy(grid)
    assert np.max(np.abs(f - g)) < 1e-6


def test_table_markdown_lists_every_row_and_docs_have_it():
    table = table_markdown()
    assert all(row.formula in table for row in KNOWN)
    docs = (REPO / "docs" / "discovery.md").read_text(encoding="utf-8")
    assert "## Prior art" in docs and table in docs


def _show(args, capsys) -> str:
    capsys.readouterr()
    main(["show", *args])
    return capsys.readouterr().out


@pytest.mark.parametrize("entry_id,needle", [
    ("hajbi2026-higgs-readme-v1", "GCU (growing cosine unit) (Noel et al. 2021)"),
    ("silu-v1", "SiLU / Swish-1"),
    ("gelu-v1", "GELU (erf) (Hendrycks & Gimpel 2016)"),
    ("relu-v1", "ReLU (Nair & Hinton 2010)"),
    ("higgs-specialist-v2", "Swish-β (β = 2) (Ramachandran et al. 2017)"),
])
def test_show_prints_also_known_as(entry_id, needle, capsys):
    out = _show([entry_id], capsys)
    assert "also known as" in out and needle in out


def test_show_prints_no_also_known_as_for_a_new_formula(capsys):
    assert "also known as" not in _show(["forest-v1"], capsys)


def test_discover_says_rediscovered(tmp_path, capsys):
    csv = tmp_path / "hall_of_fame.csv"
    csv.write_text("Complexity,Loss,Equation\n4,0.2,x0 * cos(x0)\n")
    capsys.readouterr()
    main(["discover", "--data", "sample:higgs", "--name", "gcu", "--strategy", "collapse", "--from-pysr-csv",
          str(csv), "--max-rows", "800", "--budget", "2", "--registry", str(tmp_path / "reg"), "--keep-if-worse"])
    out = capsys.readouterr().out
    assert "rediscovered GCU (growing cosine unit) (Noel et al. 2021)" in out
    written = json.loads((tmp_path / "reg" / "gcu-v1.json").read_text())
    assert written["provenance"]["prior_art"]["name"] == "GCU (growing cosine unit)"
    assert written["provenance"]["prior_art"]["method"] == "canonical"
    assert "rediscovered GCU" in written["summary"]
    # the written entry is a valid, hash-checked entry that show reads back
    assert "Noel et al. 2021" in _show(["gcu-v1", "--registry", str(tmp_path / "reg")], capsys)


def test_discover_json_has_the_rediscovered_field():
    from nsad_lib.discovery.run import DiscoveryResult
    from nsad_lib.registry.entry import Entry

    match = identify("x*sigmoid(2*x)")
    entry = Entry.create("d", 1, "x*sigmoid(2*x)", provenance={"prior_art": match.record()})
    relu = {"val_auc": 0.5, "val_accuracy": 0.5}
    assert DiscoveryResult(entry, None, [], relu).to_dict()["rediscovered"] == "Swish-β (β = 2)"
    plain = Entry.create("d", 1, "x*cos(cos(x))")
    assert DiscoveryResult(plain, None, [], relu).to_dict()["rediscovered"] is None
