"""Paths given on the command line: a missing folder, a file for a folder, or a failed write is
one clear line and exit code 2, before any work; no traceback."""

from __future__ import annotations

import pytest

from nsad_lib.cli import main


def _fails(args: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("command", [["list"], ["show", "higgs-v1"], ["check", "higgs-v1", "--data", "sample:forest"]])
def test_missing_registry_folder_is_refused(command, tmp_path, capsys):
    err = _fails([*command, "-r", str(tmp_path / "nope")], capsys)
    assert "does not exist" in err and "--registry" in err


def test_registry_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "reg.json"
    f.write_text("{}")
    err = _fails(["list", "-r", str(f)], capsys)
    assert "is a file" in err


def test_reproduce_out_that_is_a_file_fails_before_training(tmp_path, capsys):
    f = tmp_path / "results"
    f.write_text("keep me")
    err = _fails(["reproduce", "--sample", "--datasets", "spambase", "--activations", "relu", "--no-heavy",
                  "--epochs", "1", "--seeds", "1", "--out", str(f)], capsys)
    assert "--out" in err and "is a file" in err
    assert f.read_text() == "keep me"


def test_reproduce_unknown_activation_fails_before_out_is_made(tmp_path, capsys):
    out = tmp_path / "out"
    err = _fails(["reproduce", "--sample", "--datasets", "spambase", "--activations", "relu,no-such-act-v1",
                  "--no-heavy", "--epochs", "1", "--seeds", "1", "--out", str(out)], capsys)
    assert "no-such-act-v1" in err
    assert not out.exists()


def test_a_failed_write_under_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "plain"
    f.write_text("x")
    err = _fails(["reproduce", "--sample", "--datasets", "spambase", "--activations", "relu", "--no-heavy",
                  "--epochs", "1", "--seeds", "1", "--out", str(f / "sub")], capsys)
    assert f"error: Not a directory: {f / 'sub'}" in err


def test_pull_into_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "into"
    f.write_text("x")
    err = _fails(["pull", "alice/activations", "--into", str(f)], capsys)
    assert "--into" in err and "is a file" in err
