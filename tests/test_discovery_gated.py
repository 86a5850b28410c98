"""The search's ``gated`` family: x times a learned gate, initial constants part of a formula's identity."""

from __future__ import annotations

import pytest
import torch

from nsad_lib.discovery import discover
from nsad_lib.discovery.strategies import search
from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula

torch.set_num_threads(1)


@pytest.mark.parametrize("text,gated", [
    ("x*sigmoid(2*x)", True), ("x*tanh(x) + x", True), ("x*sin(x) - 0.1*x", True), ("x*Abs(x)", True),
    ("x*cos(cos(x))*sigmoid(x)", True), ("sin(x)", False), ("x*x", False), ("2*x + tanh(x)", False),
    ("sigmoid(x)*tanh(x)", False), ("max(x, 0)", False),
])
def test_is_gated(text, gated):
    assert search.is_gated(Formula.parse(text)) is gated


def test_gated_scaffold_shapes_are_gated_and_lift_their_gains():
    formulas = [search.to_formula(t) for t in search.gated_scaffold()]
    assert all(f is not None and search.is_gated(f) for f in formulas)
    swish = [f for f in formulas if f.canonical == "x*sigmoid(a*x)"]
    assert sorted(f.parameters["a"] for f in swish) == [1.0, 2.0]  # two gains of one structure


def test_valued_key_separates_constants_only_in_gated():
    one, two = Formula.parse("x*sigmoid(a*x)", {"a": 1.0}), Formula.parse("x*sigmoid(a*x)", {"a": 2.0})
    assert search._key(one, "gated") != search._key(two, "gated")
    assert search._key(one, "any") == search._key(two, "any") == "x*sigmoid(a*x)"
    assert search._key(Formula.parse("x*sigmoid(x)"), "gated") == "x*sigmoid(x)"


def _run(tmp_path, **kw):
    return discover("sample:higgs", name="g", registry=tmp_path / "reg", strategy="search", family="gated",
                    max_rows=1200, budget_s=3, dry_run=True, **kw)


def test_gated_search_gives_a_gated_formula_deterministically(tmp_path):
    a, b = _run(tmp_path), _run(tmp_path)
    assert search.is_gated(Formula.parse(a.entry.formula, a.entry.parameters))
    ea, eb = a.entry, b.entry
    assert (ea.formula, ea.parameters, ea.trainable) == (eb.formula, eb.parameters, eb.trainable)
    settings = a.entry.provenance["method"]["settings"]
    assert settings["family"] == "gated" and settings["constants"] == "initial values distinguish formulas"
    top = a.entry.provenance["strategy_facts"]["top"]
    assert top and all("parameters" in t for t in top)


def test_unknown_family_is_an_error(tmp_path):
    with pytest.raises(NsadError, match="family"):
        discover("sample:higgs", name="g", registry=tmp_path / "reg", strategy="search", family="nope",
                 max_rows=1200, budget_s=3, dry_run=True)
