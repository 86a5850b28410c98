"""``nsad-lib check``: verdicts, JSON, evidence writing and exit code 2 for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nsad_lib.cli import main
from nsad_lib.data import datasets
from nsad_lib.errors import DataError


def run(args, capsys):
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def data_args(name, tmp_path):
    """``--data NAME`` when ../shared/data holds the dataset, else the shipped sample written as
    a CSV file with its label column (the same fallback tests/test_compat.py uses)."""
    try:
        datasets.load(name)
        return ["--data", name]
    except DataError:
        sample = datasets.load(name, sample=True)
    path = tmp_path / f"{name}-sample.csv"
    header = ",".join([*(f"f{j}" for j in range(sample.X.shape[1])), "label"])
    np.savetxt(path, np.column_stack([sample.X, sample.y]), delimiter=",", header=header, comments="", fmt="%.9g")
    return ["--data", str(path), "--target", "label"]


def test_check_json(capsys, tmp_path):
    code, out, _ = run(["check", "hajbi2026-higgs-fig-v1", *data_args("spambase", tmp_path), "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["rules_verdict"] == "does-not-transfer" and data["domain"] == "discrete"
    assert data["verdict"] == data["prediction"]["verdict"]  # the checker v2 model decides
    assert data["prediction"]["delta"] < -1  # Δ predicted (the matrix measured -8.9 points)
    assert any(r["rule"] == "pile" and not r["accepted"] for r in data["reasons"])


def test_check_human_output(capsys, tmp_path):
    code, out, _ = run(["check", "hajbi2026-higgs-fig-v1", *data_args("forest", tmp_path)], capsys)
    assert code == 0
    assert "transfers" in out and "why:" in out and "one-hot" in out


@pytest.mark.parametrize("args, message", [
    (["check", "no-such-entry-v1", "--data", "forest"], "no registry entry"),
    (["check", "relu-v1", "--data", "/no/such/file.csv"], "no such file"),
    (["check", "relu-v1", "--data", "forest", "--target", "label"], "fixed target"),
    (["check", "relu-v1", "--data", "forest", "--write-evidence"], "--registry"),
    (["check", "relu-v1", "--data", "forest", "--probe", "--probe-seeds", "42,x"], "--probe-seeds '42,x'"),
    (["check", "relu-v1", "--data", "forest", "--probe", "--probe-seeds", "42,42"], "a seed is repeated"),
    (["check", "relu-v1", "--data", "forest", "--probe", "--probe-epochs", "0"], "--probe-epochs '0'"),
    (["check", "relu-v1", "--data", "forest", "--probe", "--probe-epochs", "long"], "or 'matched'"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_wrong_target_and_unreadable_file_exit_2(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(60)))
    code, _, err = run(["check", "relu-v1", "--data", str(table), "--target", "nope"], capsys)
    assert code == 2 and "no target column" in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b,y\n1,zz,0\n")
    code, _, err = run(["check", "relu-v1", "--data", str(bad), "--target", "y"], capsys)
    assert code == 2 and "error:" in err
    code, _, err = run(["check", "relu-v1", "--data", str(tmp_path)], capsys)
    assert code == 2 and "directory" in err


def test_probe_writes_evidence_into_a_user_registry(tmp_path, capsys):
    code, out, _ = run(["check", "hajbi2026-higgs-fig-v1", *data_args("spambase", tmp_path), "--probe", "--probe-epochs", "1",
                        "--probe-rows", "1200", "--registry", str(tmp_path), "--write-evidence", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["probe"]["epochs"] == 1 and data["written"] == "hajbi2026-higgs-fig-v2"
    saved = json.loads((tmp_path / "hajbi2026-higgs-fig-v2.json").read_text())
    assert saved["provenance"]["parent"] == "hajbi2026-higgs-fig-v1"
    assert saved["domains"]["transfers"][-1]["evidence"]["kind"] == "probe"


def test_multiclass_label_needs_positive_and_check_accepts_it(capsys, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "three.csv"
    X = rng.normal(size=(300, 4))
    np.savetxt(path, np.column_stack([X, rng.integers(0, 3, 300)]), delimiter=",", header="a,b,c,d,label",
               comments="", fmt="%.6g")
    code, _, err = run(["check", "higgs-v1", "--data", str(path), "--target", "label"], capsys)
    assert code == 0, err  # issue 16: a 3-class target is a multiclass task
    code, out, err = run(["check", "higgs-v1", "--data", str(path), "--target", "label", "--positive", "2", "--json"], capsys)
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["verdict"] in ("transfers", "uncertain", "does-not-transfer")
    assert verdict["data_profile"]["n_rows"] == 240  # the training split of 300 rows


def test_positive_is_for_files_only(capsys):
    code, _, err = run(["check", "higgs-v1", "--data", "spambase", "--positive", "1"], capsys)
    assert code == 2 and "--positive" in err, err


def test_probe_on_few_rows_prints_one_warning_line(capsys, tmp_path):
    code, _out, err = run(["check", "relu-v1", *data_args("spambase", tmp_path), "--probe", "--probe-epochs", "1",
                           "--probe-rows", "600"], capsys)
    assert code == 0
    lines = [line for line in err.splitlines() if "150 rows" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: the probe's validation scores come from only 150 rows")
    assert "SmallDataWarning" not in err and ".py:" not in err  # no source path, no class name


def test_header_only_and_regression_files_exit_2_with_one_line(capsys, tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("a,b,label\n")
    for command in (["check", "relu-v1"], ["discover", "--name", "x", "--target", "label", "--dry-run"]):
        code, _, err = run([*command, "--data", str(header)], capsys)  # was an IndexError traceback
        assert code == 2
        assert err.strip() == f"error: {header}: no data rows, only a header; at least 50 are needed to train and test"
    houses = tmp_path / "houses.csv"
    rng = np.random.default_rng(1)
    houses.write_text("rooms,value\n" + "".join(f"{rng.normal():.4f},{rng.uniform(1, 5):.3f}\n" for _ in range(300)))
    for command in (["check", "relu-v1", "--target", "value"], ["discover", "--name", "x", "--target", "value", "--dry-run"]):
        code, _, err = run([*command, "--data", str(houses), "--positive", "2"], capsys)  # issue 16: positive= is the error
        assert code == 2 and "applies to class labels" in err and len(err.strip().splitlines()) == 1, err


def test_probe_defaults_are_the_protocols_and_the_models():
    """The CLI's probe defaults are the library's (which the shipped model's probe combination reads)."""
    import inspect

    from nsad_lib.cli.check_cmd import check_command
    from nsad_lib.compat.check import check
    from nsad_lib.compat.predictor import load_model
    from nsad_lib.training.protocol import PROBE_DEFAULT_EPOCHS, PROBE_MAX_ROWS, PROBE_SEEDS

    cli = inspect.signature(check_command).parameters
    api = inspect.signature(check).parameters
    from nsad_lib.cli._options import probe_epochs_option

    assert probe_epochs_option(cli["probe_epochs"].default) == api["probe_epochs"].default == PROBE_DEFAULT_EPOCHS
    assert cli["probe_rows"].default == api["probe_rows"].default == PROBE_MAX_ROWS
    assert tuple(int(s) for s in cli["probe_seeds"].default.split(",")) == api["probe_seeds"].default == PROBE_SEEDS
    combination = load_model().probe
    assert combination is not None and combination.applies(PROBE_DEFAULT_EPOCHS, len(PROBE_SEEDS), PROBE_MAX_ROWS)
