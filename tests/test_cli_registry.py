"""The CLI's registry commands, version and error handling (exit code 2, one line, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nsad_lib import __version__
from nsad_lib.cli import main


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def run_ok(args, capsys):
    main(args)
    return capsys.readouterr().out


def test_version(capsys):
    assert run_ok(["--version"], capsys).strip() == f"nsad-lib {__version__}"


def test_list_json_has_every_seed_entry(capsys):
    data = json.loads(run_ok(["list", "--json"], capsys))
    ids = {d["id"] for d in data}
    assert {"relu-v1", "hajbi2026-higgs-fig-v1"} <= ids
    assert all(set(d["domains"]) == {"continuous", "discrete"} for d in data)


def test_show_prints_formula_latex_and_provenance(capsys):
    out = run_ok(["show", "hajbi2026-higgs-fig-v1"], capsys)
    assert "cos(x) - cos(cos(x))" in out and "\\cos" in out and "literature" in out


def test_show_plot_writes_a_png(tmp_path, capsys):
    png = tmp_path / "f.png"
    run_ok(["show", "hajbi2026-higgs-fig-v1", "--plot", str(png)], capsys)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_show_json_round_trips(capsys):
    from nsad_lib.registry.entry import Entry

    entry = Entry.from_json(run_ok(["show", "silu-v1", "--json"], capsys))
    assert entry.id == "silu-v1"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["show", "higgs-v9"], "no registry entry 'higgs-v9'"),
        (["show", "hajbi2026-higs-fig"], "close matches"),
        (["show"], "Missing argument"),
        (["nonsense"], "No such command"),
        (["show", "relu-v1", "--plot", "/proc/forbidden/x.png"], "cannot write plot"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args, needle, capsys):
    code, out, err = run(args, capsys)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_console_script_runs_in_a_subprocess():
    proc = subprocess.run([sys.executable, "-m", "nsad_lib.cli", "show", "unknown-v1"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: no registry entry") and "Traceback" not in proc.stderr


# -- hostile registry directories: exit 2 with one line naming the file, never a traceback ---
def _registry_case(directory, case):
    import sys as _sys

    from nsad_lib.registry.entry import Entry, content_hash

    directory.mkdir(parents=True)
    entry = Entry.create("demo", 1, "a*x + sin(x)", parameters={"a": 0.5}, summary="t", provenance={"license": "CC0-1.0"})
    data = entry.to_dict()
    deep: list = []
    for _ in range(799):
        deep = [deep]
    mutate = {
        "huge-int-metric": lambda d: d["metrics"].update(n=10**5000),
        "huge-int-parameter": lambda d: d["parameters"].update(a=10**400),
        "deep-metrics": lambda d: d["metrics"].update(n=deep),
        "bad-id": lambda d: d.update(id="../x"),
        "index-without-file": lambda d: None,
        "non-finite-formula": lambda d: d.update(formula="log(x)", parameters={}),
        "huge-summary": lambda d: d.update(summary="x" * (100 << 20)),
    }[case]
    mutate(data)
    limit = _sys.get_int_max_str_digits()
    _sys.set_int_max_str_digits(0)
    try:
        data["sha256"] = content_hash(data)
        text = json.dumps(data, sort_keys=True)  # no indent: 800 levels of it would exceed the size limit
    finally:
        _sys.set_int_max_str_digits(limit)
    path = directory / "demo-v1.json"
    index = {"demo-v1": data["sha256"]}
    if case == "index-without-file":
        index["ghost-v1"] = "0" * 64
    path.write_text(text)
    (directory / "index.json").write_text(json.dumps({"schema": 1, "entries": index}))
    return path


@pytest.mark.parametrize(
    "case, needle",
    [
        ("huge-int-metric", "demo-v1.json: not valid entry JSON: a number has too many digits"),
        ("huge-int-parameter", "demo-v1.json: parameters.a is an integer too large (more than 64 bits)"),
        ("deep-metrics", "demo-v1.json: metrics.n[0][0]"),
        ("bad-id", "demo-v1.json: invalid entry id '../x'"),
        ("index-without-file", "index.json: lists entry 'ghost-v1', but "),
        ("non-finite-formula", "demo-v1.json: formula 'log(x)' gives a non-finite"),
        ("huge-summary", "demo-v1.json: refused entry file: 104857"),
    ],
)
def test_list_of_a_hostile_registry_exits_2_with_one_line(case, needle, tmp_path, capsys):
    directory = tmp_path / case
    _registry_case(directory, case)
    code, out, err = run(["list", "--json", "-r", str(directory)], capsys)
    assert code == 2 and out == ""
    assert needle in err and str(directory) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["list", "show"])
def test_hostile_file_in_a_registry_is_one_line_and_never_blocks(command, tmp_path):
    """`list`/`show` of a registry whose entry is a FIFO: exit 2 with one line, in bounded time."""
    import os

    from hostile_entries import run_bounded

    directory = tmp_path / "reg"
    _registry_case(directory, "bad-id")
    (directory / "demo-v1.json").unlink()
    os.mkfifo(directory / "demo-v1.json")
    args = ["list", "-r", str(directory)] if command == "list" else ["show", "demo-v1", "-r", str(directory)]
    proc = run_bounded(["-m", "nsad_lib.cli", *args])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == f"error: {directory / 'demo-v1.json'}: refused entry file: a named pipe (FIFO), not a regular file"


MARKUP = "[/] [bold]x[/bold] [link=https://evil.example]click[/link] [red \\"


def _markup_registry(directory):
    from nsad_lib.registry.entry import Entry
    from nsad_lib.registry.store import Registry

    entry = Entry.create("markup", 1, "a*x + sin(x)", parameters={"a": 0.5}, summary=MARKUP + "\x1b[2J",
                         provenance={"license": "[/]", "note": "[bold"})
    Registry(directory, include_env=False, include_bundled=False).add(entry)
    return entry


def test_markup_in_entry_fields_is_printed_literally_by_list_and_show(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    _markup_registry(tmp_path)
    out = run_ok(["list", "-r", str(tmp_path)], capsys)
    assert "markup-v1" in out and "[/] [bold]x[/bold]" in out  # the first 70 characters, literally
    out = run_ok(["show", "markup-v1", "-r", str(tmp_path)], capsys)
    assert MARKUP in out and "\\x1b[2J" in out and "\x1b" not in out  # the escape sequence is shown, not sent
    out = run_ok(["show", "markup-v1", "--full", "-r", str(tmp_path)], capsys)
    assert MARKUP in out and "\\x1b[2J" in out and "\x1b" not in out
    assert '"license": "[/]"' in out  # the provenance JSON, literally
    # machine-readable output is the exact text
    data = json.loads(run_ok(["list", "--json", "-r", str(tmp_path)], capsys))
    assert [d["summary"] for d in data if d["id"] == "markup-v1"] == [MARKUP + "\x1b[2J"]
