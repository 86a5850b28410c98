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
    assert f"error: not a directory: {f}\n" in err  # names the file in the way, not the folder wanted


def test_pull_into_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "into"
    f.write_text("x")
    err = _fails(["pull", "alice/activations", "--into", str(f)], capsys)
    assert "--into" in err and "is a file" in err


# --- issue 13.9: messages that named the wrong problem -----------------------------------------

def test_lock_file_under_a_file_says_not_a_directory(tmp_path, capsys):
    f = tmp_path / "plain"
    f.write_text("keep")
    err = _fails(["lock", "hajbi2026-higgs-fig-v1", "--file", str(f / "x.lock")], capsys)
    assert err.strip().splitlines()[-1] == f"error: not a directory: {f}"  # was "File exists: ..."
    assert f.read_text() == "keep"


def test_plot_under_a_file_says_not_a_directory(tmp_path, capsys):
    f = tmp_path / "plain"
    f.write_text("keep")
    err = _fails(["show", "hajbi2026-higgs-fig-v1", "--plot", str(f / "x.png")], capsys)
    assert f"not a directory: {f}" in err and "File exists" not in err
    assert f.read_text() == "keep"


@pytest.mark.parametrize("command", [["check", "hajbi2026-higgs-fig-v1"], ["discover", "--name", "x", "--target", "-1"]])
def test_data_that_is_a_device_is_not_a_regular_file(command, tmp_path, capsys):
    err = _fails([*command, "--data", "/dev/zero", *(["--registry", str(tmp_path)] if command[0] == "discover" else [])], capsys)
    assert "/dev/zero: not a regular file (a character device)" in err
    assert "no such file" not in err


@pytest.mark.parametrize("command", [["check", "hajbi2026-higgs-fig-v1"], ["discover", "--name", "x", "--target", "label"]])
def test_one_row_csv_is_too_few_rows_not_one_class(command, tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("a,b,label\n1,2,0\n")
    err = _fails([*command, "--data", str(data), *(["--registry", str(tmp_path)] if command[0] == "discover" else [])], capsys)
    assert f"{data}: only 1 row; at least 50 are needed" in err
    assert "one class" not in err


def test_describe_os_error_wording(tmp_path):
    import errno
    import os

    from nsad_lib.util.os_errors import describe_os_error, not_regular_file

    f = tmp_path / "plain"
    f.write_text("x")
    with pytest.raises(OSError) as info:
        (f / "a" / "b").mkdir(parents=True, exist_ok=True)
    assert describe_os_error(info.value) == f"not a directory: {f}"
    with pytest.raises(OSError) as info:
        open(f / "x.lock", "w")
    assert describe_os_error(info.value) == f"not a directory: {f}"
    # an ordinary error keeps the system's words and the path
    missing = OSError(errno.ENOENT, os.strerror(errno.ENOENT), str(tmp_path / "nope"))
    assert describe_os_error(missing) == f"No such file or directory: {tmp_path / 'nope'}"
    assert not_regular_file(f) is None
    assert not_regular_file(tmp_path) == "is a directory; pass a data file"
    assert not_regular_file(f / "x.csv") == f"not a directory: {f}"
    assert not_regular_file(tmp_path / "nope.csv") == "no such file"
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert not_regular_file(fifo) == "not a regular file (a named pipe (FIFO))"
