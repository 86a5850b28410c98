"""The reproduction harness: the plan, summaries, parallel determinism, and the CLI's files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nsad_lib.cli import main
from nsad_lib.data import datasets
from nsad_lib.errors import NsadError
from nsad_lib.paper.reproduce import (
    HIGGS_FORMULA_ID,
    PAPER,
    SPAMBASE_FORMULA_ID,
    RowSpec,
    Settings,
    plan,
    run_table,
    summarize,
)
from nsad_lib.training.protocol import RunResult

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_default_plan_is_the_papers_table():
    rows = plan()
    assert [r.dataset for r in rows].count("forest") == 5
    assert [r.dataset for r in rows].count("spambase") == 6
    assert [r.dataset for r in rows].count("higgs") == 5
    assert all((r.dataset, r.label) in PAPER for r in rows)  # every default row has a paper row
    labels = {(r.dataset, r.label): r.activation for r in rows}
    assert labels[("forest", "Hybrid Transfer (HIGGS formula)")] == HIGGS_FORMULA_ID
    assert labels[("higgs", "Hybrid Specialist (HIGGS formula)")] == HIGGS_FORMULA_ID
    assert labels[("spambase", "Hybrid Specialist (3x + sin(x))")] == SPAMBASE_FORMULA_ID
    assert rows[0] == RowSpec("forest", "Heavy ReLU", "heavy", "relu")


def test_plan_subsets_and_extras():
    rows = plan(["sms"], activations=["relu"], extra=["forest-v1:trainable", "relu"], heavy=False)
    assert [(r.label, r.activation) for r in rows] == [
        ("Light ReLU", "relu"), ("Light forest-v1:trainable", "forest-v1:trainable")]


def fake(seed: int, acc: float, auc: float, model: str = "light") -> RunResult:
    return RunResult("spambase", model, "relu", seed, acc, auc, 6017, auc / math.log10(6017), 1.0, 15,
                     3680, 921)


def test_summary_uses_population_std_and_compares_with_the_paper():
    row = RowSpec("spambase", "Light ReLU", "light", "relu")
    (s,) = summarize([row], [fake(42, 0.91, 0.96), fake(43, 0.92, 0.97), fake(44, 0.93, 0.95)])
    assert s.accuracy == pytest.approx(0.92) and s.accuracy_std == pytest.approx(np.std([0.91, 0.92, 0.93]))
    assert s.paper == PAPER[("spambase", "Light ReLU")]
    assert s.delta_accuracy == pytest.approx(0.001) and s.within() is True
    (far,) = summarize([row], [fake(42, 0.90, 0.96), fake(43, 0.90, 0.96)])
    assert far.within() is False


def test_one_seed_has_no_spread_and_no_verdict():
    from nsad_lib.paper.report import ONE_SEED, markdown_table, tolerance_line

    rows = [RowSpec("spambase", "Light ReLU", "light", "relu"), RowSpec("spambase", "Heavy ReLU", "heavy", "relu")]
    one = summarize(rows, [fake(42, 0.90, 0.96, model="light"), fake(42, 0.93, 0.97, model="heavy")])
    assert [s.within() for s in one] == [None, None]  # not False: one run is no verdict
    table = markdown_table(one)
    ours = [line.split(" | ")[4] for line in table.splitlines()[2:]]
    assert ours == ["0.900", "0.930"]  # no "± 0.000"
    assert all(line.endswith("– |") for line in table.splitlines()[2:])
    assert tolerance_line(one) == ONE_SEED and "0/" not in tolerance_line(one)
    three = summarize(rows[:1], [fake(s, 0.90, 0.96) for s in (42, 43, 44)])
    assert "± 0.000" in markdown_table(three) and tolerance_line(three).endswith("Spambase 0/1.")


def test_parallel_workers_give_the_same_numbers():
    ds = {"spambase": datasets.load("spambase", sample=True)}
    rows = plan(["spambase"], activations=["relu"], heavy=False)
    serial = run_table(rows, ds, Settings(seeds=(42, 43), epochs=1, jobs=1))
    parallel = run_table(rows, ds, Settings(seeds=(42, 43), epochs=1, jobs=2))
    key = [(r.seed, r.accuracy, r.auc, r.n_test) for r in serial]
    assert key == [(r.seed, r.accuracy, r.auc, r.n_test) for r in parallel]
    assert serial[0].n_test < 921  # the discovery rows are held out of the test split


def test_cli_writes_json_markdown_and_figure(tmp_path, capsys):
    out = tmp_path / "out"
    main(["reproduce", "--sample", "--datasets", "spambase", "--activations",
          f"relu,{SPAMBASE_FORMULA_ID}", "--seeds", "42", "--epochs", "2", "--jobs", "1", "--out", str(out)])
    payload = json.loads((out / "results.json").read_text())
    runs = payload["runs"]
    assert [(r["model"], r["activation"], r["params"]) for r in runs] == [
        ("heavy", "relu", 32_401), ("light", "relu", 6_017), ("light", SPAMBASE_FORMULA_ID, 6_017)]
    for r in runs:
        assert r["e_param"] == pytest.approx(r["auc"] / math.log10(r["params"]))
        assert 0.5 < r["accuracy"] <= 1.0
    meta = payload["datasets"]["spambase"]
    assert meta["rows"] == 4601 and meta["test_rows_held_out"] == 460
    assert list(meta["sha256"].values()) == ["dac8c1d190444d2bcbe8a0fed17319cd948e5ed17343746e859ed60c48131c7f"]
    assert payload["environment"]["torch_threads_per_run"] == 1
    assert payload["command"].startswith("nsad-lib reproduce --datasets spambase")
    md = (out / "results.md").read_text()
    assert "| Spambase | Hybrid Specialist (3x + sin(x)) | 6,017 | 0.920 ± 0.003 |" in md
    assert "| 0.920 ± 0.003 | 0." in md  # the paper's spread; ours (one seed) has none
    assert "± 0.000" not in md and "One seed: no spread and no within-tolerance verdict" in md
    png = (out / "results.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "Heavy ReLU" in capsys.readouterr().out
    # the runs went through the benchmark runner's store: a second run trains nothing and
    # reports the same numbers (an interrupted reproduce resumes)
    store = (out / "runs" / "results.jsonl").read_text().splitlines()
    assert len(store) == 3 and all(json.loads(line)["status"] == "ok" for line in store)
    main(["reproduce", "--sample", "--datasets", "spambase", "--activations",
          f"relu,{SPAMBASE_FORMULA_ID}", "--seeds", "42", "--epochs", "2", "--jobs", "1", "--out", str(out)])
    assert (out / "runs" / "results.jsonl").read_text().splitlines() == store
    again = json.loads((out / "results.json").read_text())["runs"]
    assert [(r["accuracy"], r["auc"]) for r in again] == [(r["accuracy"], r["auc"]) for r in runs]


def test_a_failing_run_is_named_after_the_others_finish(tmp_path):
    ds = {"spambase": datasets.load("spambase", sample=True)}
    rows = plan(["spambase"], activations=["relu"], heavy=True)
    settings = Settings(seeds=(42,), epochs=1, jobs=1)
    with pytest.raises(NsadError, match=r"1 of 2 runs failed; first: spambase heavy gelu seed 42"):
        run_table([RowSpec("spambase", "Heavy GELU", "heavy", "gelu"), rows[1]], ds, settings,
                  store_dir=str(tmp_path))
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["failed", "ok"]  # the good run is kept


@pytest.mark.parametrize("args,message", [
    (["--activations", "no-such-act-v1"], "no-such-act-v1"),
    (["--datasets", "mnist"], "unknown dataset 'mnist'"),
    (["--seeds", "4x"], "--seeds"),
    (["--executor", "dask"], "--executor 'dask'"),
    (["--address", "127.0.0.1:1"], "--address is for --executor ray"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "--sample", "--epochs", "1", "--out", str(tmp_path), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and message in err[-1]


def test_tolerance_line_counts_per_dataset():
    from nsad_lib.paper.report import tolerance_line

    row = RowSpec("spambase", "Light ReLU", "light", "relu")
    near = summarize([row], [fake(42, 0.919, 0.961), fake(43, 0.919, 0.961)])
    assert tolerance_line(near).endswith("Spambase 1/1.")
    sms = summarize([RowSpec("spambase", "Light x", "light", "relu")], [fake(42, 0.9, 0.9)])
    assert tolerance_line(sms).startswith("No row of this table")


def test_plan_refuses_unknown_activations_before_any_data_is_loaded():
    from nsad_lib.errors import NsadError

    with pytest.raises(NsadError, match="no-such-act-v1"):
        plan(["spambase"], activations=["relu"], extra=["no-such-act-v1"], heavy=False)
    with pytest.raises(NsadError, match="unknown variant"):
        plan(["spambase"], activations=["forest-v1:sometimes"], heavy=False)
