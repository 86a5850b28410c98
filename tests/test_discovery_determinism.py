"""Discovery's work is fixed by its arguments; losers to ReLU are not saved; bad arguments fail
before any data is loaded; ``--json``; the small-validation warning.

Runs on the shipped HIGGS sample capped at 600 rows with the smallest budgets, so every run
takes a few seconds.
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest

from nsad_lib.cli import main
from nsad_lib.discovery import DeadlineError, discover, source, validate
from nsad_lib.discovery.strategies import search
from nsad_lib.errors import NsadError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = "sample:higgs"
SMALL = dict(strategy="search", budget_s=2, max_rows=600)


def _outcome(r) -> tuple:
    """Everything a re-run must reproduce: the formula, its numbers, every candidate's numbers."""
    e = r.entry
    return (e.formula, e.parameters, e.trainable, e.metrics, [(c["formula"], c["val_auc"], c["val_accuracy"])
            for c in e.provenance["candidates"]], e.provenance["strategy_facts"]["top"])


def _slow_machine(monkeypatch) -> None:
    """A machine so slow that 1,000 s pass between any two looks at the clock."""
    now = [time.monotonic()]

    def monotonic() -> float:
        now[0] += 1000.0
        return now[0]

    monkeypatch.setattr(time, "monotonic", monotonic)


def test_same_seed_same_formula_and_numbers_even_on_a_slow_machine(monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 120 validation rows: the small-data warning (tested below)
        a = discover(DATA, name="det", dry_run=True, **SMALL)
        _slow_machine(monkeypatch)
        b = discover(DATA, name="det", dry_run=True, **SMALL)
    assert _outcome(a) == _outcome(b)
    # --budget 2 was converted once, by the fixed rule, into 16 evaluations; all 16 ran both times
    work = b.entry.provenance["method"]["settings"]["work"]
    assert work["search_evaluations"] == search.evaluations_for_budget(2, 384) == 16
    assert work["from"] == "--budget" and "not measured" in work["rule"]
    assert a.entry.provenance["strategy_facts"]["evaluated"] == b.entry.provenance["strategy_facts"]["evaluated"] == 16
    assert b.timings["total_s"] > 1000  # the clock did run slow, and nothing was cut short


def test_evaluations_fix_the_search_size():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = discover(DATA, name="ev", strategy="search", evaluations=5, max_rows=600, dry_run=True)
    assert r.entry.provenance["strategy_facts"]["evaluated"] == 5
    assert r.work["search_evaluations"] == 5 and r.work["from"] == "--evaluations"


def test_time_limit_stops_with_an_error_instead_of_a_different_result(tmp_path, monkeypatch):
    _slow_machine(monkeypatch)
    with warnings.catch_warnings(), pytest.raises(DeadlineError, match="--time-limit 60 s passed during the search"):
        warnings.simplefilter("ignore")
        discover(DATA, name="late", registry=tmp_path / "reg", time_limit_s=60, **SMALL)
    assert not list(tmp_path.rglob("*.json"))


def _relu_wins(monkeypatch) -> None:
    """Light ReLU scores 0.999 on validation: no candidate can beat it."""
    import torch.nn as nn

    real = validate.score

    def score(make, data, **kw):
        if make is nn.ReLU:
            return 0.999, 0.99, 4161, (0.999, 0.999)
        return real(make, data, **kw)

    monkeypatch.setattr(validate, "score", score)


def test_a_formula_that_loses_to_relu_is_not_written(tmp_path, monkeypatch):
    _relu_wins(monkeypatch)
    reg = tmp_path / "reg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lost = discover(DATA, name="lose", registry=reg, strategy="collapse", budget_s=2, max_rows=600)
        assert not lost.beats_baseline and lost.path is None
        assert not list(tmp_path.rglob("*.json"))
        assert lost.entry.metrics["validation"]["beats_baseline"] is False
        kept = discover(DATA, name="lose", registry=reg, strategy="collapse", budget_s=2, max_rows=600,
                        keep_if_worse=True)
    assert kept.path is not None and kept.path.exists() and "does not beat ReLU" in kept.entry.summary


def test_cli_says_so_and_exits_3_when_relu_wins(tmp_path, monkeypatch, capsys):
    _relu_wins(monkeypatch)
    reg = tmp_path / "reg"
    args = ["discover", "--data", DATA, "--name", "lose", "--strategy", "collapse", "--budget", "2",
            "--max-rows", "600", "--registry", str(reg)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 3
        captured = capsys.readouterr()
        assert "does not beat Light ReLU on validation" in captured.err and "nothing written" in captured.err
        assert "not written" in captured.out
        assert not list(tmp_path.rglob("*.json"))
        main([*args, "--keep-if-worse"])  # exit 0
    assert (reg / "lose-v1.json").exists()


def test_cli_json_has_the_entry_the_validation_table_and_the_timings(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main(["discover", "--data", DATA, "--name", "js", "--evaluations", "3", "--max-rows", "600", "--dry-run",
              "--json", "--keep-if-worse"])
    out = json.loads(capsys.readouterr().out)
    assert out["entry"]["id"] == "js-v1" and out["written"] is None
    table = out["validation"]
    assert table[-1]["formula"].startswith("relu") and all("val_auc" in row for row in table)
    assert table[-1]["val_auc"] == out["entry"]["metrics"]["validation"]["baseline_relu"]["val_auc"]
    assert set(out["timings"]) == {"load_s", "strategy_s", "validation_s", "total_s"}
    assert out["work"]["search_evaluations"] == 3 and isinstance(out["beats_baseline"], bool)


@pytest.fixture
def no_data(monkeypatch):
    """Loading any data fails the test: argument errors must come first."""
    from nsad_lib.data import datasets

    def loaded(*_a, **_k):
        raise AssertionError("data was loaded before the argument error")

    monkeypatch.setattr(source, "load_dataset", loaded)
    monkeypatch.setattr(datasets, "load", loaded)


@pytest.mark.parametrize("kw,message", [
    ({"registry": "/proc/nsadreg"}, "is not writable"),
    ({"registry": "FILE"}, "is not a directory"),
    ({"evaluations": 0}, "--evaluations must be a positive whole number"),
    ({"evaluations": 5, "budget_s": 3}, "not both"),
    ({"evaluations": 5, "strategy": "collapse"}, "--evaluations applies to --strategy search"),
    ({"budget_s": -1}, "--budget must be a positive number"),
    ({"budget_s": float("nan")}, "--budget must be a positive number"),
    ({"time_limit_s": 0}, "--time-limit must be a positive number"),
    ({"family": "nope"}, "unknown search family"),
    ({"max_rows": 10}, "--max-rows"),
    ({"name": "Bad Name!"}, "invalid entry name"),
    ({"name": "relu"}, "bundled registry"),
    ({"data": "no-such-data"}, "neither a known dataset"),
    ({"data": "CSV"}, "pass --target COLUMN"),
    ({"target": "label"}, "fixed target"),
    ({"from_pysr_csv": "missing.csv", "strategy": "collapse"}, "no such PySR"),
    ({"backend": "gplearn"}, "uses no backend"),
])
def test_every_argument_error_comes_before_the_data_loads(tmp_path, no_data, kw, message):
    kw = {"data": DATA, "name": "early", "registry": str(tmp_path / "reg"), **kw}
    if kw["registry"] == "FILE":
        (tmp_path / "file").write_text("x")
        kw["registry"] = str(tmp_path / "file")
    if kw["data"] == "CSV":
        (tmp_path / "d.csv").write_text("a,label\n1,0\n")
        kw["data"] = str(tmp_path / "d.csv")
    if "from_pysr_csv" in kw:
        kw["from_pysr_csv"] = str(tmp_path / kw["from_pysr_csv"])
    with pytest.raises(NsadError, match=message):
        discover(**kw)
    assert not (tmp_path / "reg").exists()


def test_cli_unwritable_registry_fails_at_once(no_data, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["discover", "--data", DATA, "--name", "x1", "--registry", "/proc/nsadreg"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --registry /proc/nsadreg is not writable")


def test_small_validation_warns():
    from types import SimpleNamespace

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate.warn_if_small(SimpleNamespace(y_val=np.zeros(480))) is False
    from nsad_lib.errors import SmallDataWarning

    with pytest.warns(SmallDataWarning, match="discovery validation scores come from only 120 rows"):
        discover(DATA, name="small", strategy="search", evaluations=2, max_rows=600, dry_run=True)
