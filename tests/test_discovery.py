"""Each strategy on a small real sample, determinism, PySR CSV ingestion, and the pysr guard.

Runs on the HIGGS sample shipped in the package (3,000 real rows), capped further with
``max_rows`` and tiny budgets so the whole file stays well under a minute on 2 cores.
"""

from __future__ import annotations

import pytest
import torch

from nsad_lib.discovery import discover
from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula
from nsad_lib.registry.store import Registry

torch.set_num_threads(1)

DATA = "sample:higgs"


def _run(tmp_path, **kw):
    kw.setdefault("max_rows", 1200)
    kw.setdefault("budget_s", 4)
    kw.setdefault("keep_if_worse", True)  # these tests are about what is written, whatever it scores
    return discover(DATA, name=kw.pop("name", "t"), registry=tmp_path / "reg", **kw)


@pytest.mark.parametrize("strategy,backend", [("collapse", "operon"), ("collapse", "gplearn"), ("distill", "operon"), ("search", "operon")])
def test_strategy_produces_a_valid_registered_formula(tmp_path, strategy, backend):
    if backend == "gplearn":
        pytest.importorskip("gplearn")
    r = _run(tmp_path, strategy=strategy, backend=backend, name=f"t-{strategy}")
    e = r.entry
    f = Formula.parse(e.formula, e.parameters)
    assert f.complexity > 1
    assert e.id == f"t-{strategy}-v1" and r.path is not None and r.path.exists()
    again = Registry(tmp_path / "reg", include_env=False, include_bundled=False).resolve(e.id)
    assert again.sha256 == e.sha256
    prov = e.provenance
    assert prov["method"]["strategy"] == strategy and prov["method"]["seed"] == 42
    assert prov["dataset"]["sha256"] and prov["dataset"]["rows_used"] <= 1200
    assert prov["candidates"] and all("val_auc" in c for c in prov["candidates"])
    params = e.metrics["validation"]["params"]
    assert params >= 4161  # Light d=28 with ReLU has 4,161; trainable constants add theirs


@pytest.mark.parametrize("strategy", ["collapse", "search"])
def test_same_seed_same_formula(tmp_path, strategy):
    a = _run(tmp_path, strategy=strategy, dry_run=True, budget_s=3)
    b = _run(tmp_path, strategy=strategy, dry_run=True, budget_s=3)
    assert (a.entry.formula, a.entry.parameters, a.entry.trainable) == (b.entry.formula, b.entry.parameters, b.entry.trainable)
    assert not (tmp_path / "reg").exists() or not any((tmp_path / "reg").glob("t-v*.json"))


def test_versions_increase(tmp_path):
    a = _run(tmp_path, strategy="collapse", budget_s=2, name="v")
    b = _run(tmp_path, strategy="collapse", budget_s=2, name="v", seed=43)
    assert (a.entry.id, b.entry.id) == ("v-v1", "v-v2")


def test_from_pysr_csv(tmp_path):
    csv = tmp_path / "hall_of_fame.csv"
    csv.write_text("Complexity,Loss,Equation\n1,0.25,x0\n5,0.12,(x0 * 1.5) + sin(x0)\n6,0.11,exp(x0 * 900.0)\n")
    r = _run(tmp_path, from_pysr_csv=csv, strategy="collapse")
    assert r.entry.formula_object().expr == Formula.parse(r.entry.formula, r.entry.parameters).expr
    assert "sin(x)" in r.entry.formula
    assert r.entry.provenance["method"]["strategy"] == "pysr-csv"
    reasons = " ".join(x["reason"] for x in r.entry.provenance["rejected"])
    assert "linear" in reasons and "non-finite" in reasons


def test_pysr_without_julia_fails_at_once_naming_operon(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no julia anywhere
    with pytest.raises(NsadError, match="--backend operon"):
        _run(tmp_path, strategy="collapse", backend="pysr")
    assert not (tmp_path / "reg").exists()


def test_search_periodic_family_gives_periodic_formula_with_constants(tmp_path):
    r = _run(tmp_path, strategy="search", family="periodic", dry_run=True, budget_s=3)
    e = r.entry
    assert e.parameters and ("sin(" in e.formula or "cos(" in e.formula)
    assert e.provenance["method"]["settings"]["family"] == "periodic"


def test_family_only_for_search(tmp_path):
    with pytest.raises(NsadError, match="--family"):
        _run(tmp_path, strategy="collapse", family="periodic")
