"""Issue 15.5 (CLI): shared options with one name, short flag and help text; Enum choices that
``--help`` lists; one registration style; a bad value is one line and exit code 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hub import HIGGS, REPO, TOKEN, hub  # noqa: F401  (the fake Hub fixture)

from nsad_lib.cli import app, main
from nsad_lib.cli._app import _register_commands
from nsad_lib.registry.entry import Entry
from nsad_lib.registry.store import Registry


def _click_commands() -> dict:
    import typer.main

    _register_commands()
    return typer.main.get_command(app).commands


def _options(name: str) -> dict[str, list]:
    """``{command: [option, ...]}`` for every command that has the option ``name``."""
    return {cmd: [p for p in command.params if name in p.opts]
            for cmd, command in _click_commands().items() if any(name in p.opts for p in command.params)}


def _fails(args: list[str], capsys) -> list[str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


# -- choices -------------------------------------------------------------------------------------
def test_choices_are_the_discovery_packages_lists():
    from nsad_lib.cli._options import Backend, Family, Strategy
    from nsad_lib.discovery.backends import BACKENDS
    from nsad_lib.discovery.strategies import STRATEGIES
    from nsad_lib.discovery.strategies.search import FAMILIES

    assert [m.value for m in Strategy] == list(STRATEGIES)
    assert [m.value for m in Backend] == list(BACKENDS)
    assert [m.value for m in Family] == list(FAMILIES)


def test_discover_help_lists_the_choices(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    try:
        main(["discover", "--help"])
    except SystemExit as exc:
        assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "<search|distill|collapse>" in out
    assert "<operon|gplearn|pysr>" in out
    assert "<any|periodic|gated>" in out


@pytest.mark.parametrize("option, value, words", [
    ("--strategy", "magic", "unknown strategy 'magic' (choose from search, distill, collapse)"),
    ("--backend", "julia", "unknown backend 'julia' (choose from operon, gplearn, pysr)"),
    ("--family", "odd", "unknown search family 'odd' (choose from any, periodic, gated)"),
])
def test_bad_choice_is_one_line_and_exit_2(option, value, words, tmp_path, capsys):
    lines = _fails(["discover", "--data", "sample:higgs", "--name", "x1", "--registry", str(tmp_path / "reg"),
                    option, value], capsys)
    assert len(lines) == 1, lines  # click alone prints usage, a hint, a blank line and the error
    assert lines[0].startswith("error: ") and words in lines[0] and "discover --help" in lines[0]
    assert not (tmp_path / "reg").exists()


def test_choices_reach_discover_as_plain_strings(monkeypatch, capsys):
    seen = {}

    def fake_run(data, **kwargs):
        seen.update(kwargs)
        raise SystemExit(0)

    from nsad_lib.cli import discover_cmd

    monkeypatch.setattr(discover_cmd, "_run", fake_run)
    with pytest.raises(SystemExit):
        main(["discover", "-d", "sample:higgs", "--name", "x1", "--dry-run", "--strategy", "collapse",
              "--backend", "gplearn"])
    assert (seen["strategy"], seen["backend"], seen["family"]) == ("collapse", "gplearn", "any")
    assert all(type(seen[k]) is str for k in ("strategy", "backend", "family"))
    with pytest.raises(SystemExit):
        main(["discover", "-d", "sample:higgs", "--name", "x1", "--dry-run"])  # the defaults
    assert (seen["strategy"], seen["backend"], seen["family"]) == ("search", "operon", "any")


# -- one style, shared options -------------------------------------------------------------------
def test_every_registry_option_accepts_r():
    found = _options("--registry")
    assert set(found) == {"list", "show", "check", "discover", "push", "lock", "verify"}
    for cmd, params in found.items():
        assert "-r" in params[0].opts, cmd


@pytest.mark.parametrize("name, short, commands", [
    ("--data", "-d", {"check", "discover"}),
    ("--target", "-t", {"check", "discover"}),
    ("--seed", None, {"check", "discover"}),
    ("--json", None, {"list", "show", "check", "discover"}),
    ("--token", None, {"push", "pull", "lock"}),
    ("--endpoint", None, {"push", "pull", "lock"}),
])
def test_shared_options_have_one_flag_set_and_one_help(name, short, commands):
    found = _options(name)
    assert set(found) == commands
    assert len({tuple(p[0].opts) for p in found.values()}) == 1
    assert len({p[0].help for p in found.values()}) == 1, {c: p[0].help for c, p in found.items()}
    if short:
        assert short in next(iter(found.values()))[0].opts


def test_registry_help_is_shared_except_where_discover_writes_one():
    found = _options("--registry")
    helps = {cmd: p[0].help for cmd, p in found.items()}
    assert len({h for cmd, h in helps.items() if cmd != "discover"}) == 1
    assert "write to" in helps["discover"]


def test_every_command_module_registers_the_same_way():
    import importlib

    _register_commands()
    for name in ("registry_cmds", "reproduce_cmd", "discover_cmd", "check_cmd", "hub_cmds"):
        module = importlib.import_module(f"nsad_lib.cli.{name}")
        assert callable(module.register)
        commands = [v for k, v in vars(module).items() if k.endswith("_command") and callable(v)]
        assert commands, name  # top-level functions, not closures inside register()


@pytest.mark.parametrize("make_args", [
    lambda reg, lock: ["list", "-r", reg, "--json"],
    lambda reg, lock: ["show", "mine-v1", "-r", reg, "--json"],
    lambda reg, lock: ["lock", "mine", "--file", lock, "-r", reg],
])
def test_short_registry_flag_finds_a_user_entry(make_args, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)
    reg = tmp_path / "reg"
    Registry(reg, include_env=False).add(Entry.create("mine", 1, "x*tanh(x)", domains={"source": "continuous"}))
    main(make_args(str(reg), str(tmp_path / "nsad.lock")))
    assert "mine-v1" in capsys.readouterr().out


# -- usage errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["discover", "--bogus"], "No such option: --bogus"),
    (["check"], "Missing argument 'ID'"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["list", "-r", "/no/such/registry/dir"], "does not exist"),
])
def test_usage_errors_are_one_line(args, words, capsys):
    lines = _fails(args, capsys)
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "--help" in lines[0]


# -- --token / --endpoint ------------------------------------------------------------------------
def test_push_and_pull_take_token_and_endpoint(hub, tmp_path, monkeypatch, capsys):  # noqa: F811
    monkeypatch.delenv("HF_ENDPOINT")  # only the options point at the fake Hub
    main(["push", HIGGS, "--repo", REPO, "--token", TOKEN, "--endpoint", hub.url])
    assert json.loads(hub.file(REPO, "nsad-index.json"))["entries"][HIGGS]
    capsys.readouterr()
    main(["pull", REPO, "--into", str(tmp_path / "pulled"), "--endpoint", hub.url])
    assert f"{REPO}@" in capsys.readouterr().out
    assert (tmp_path / "pulled" / f"{HIGGS}.json").is_file()


def test_push_without_token_option_or_env_fails_before_any_request(hub, capsys):  # noqa: F811
    before = hub.request_count()
    lines = _fails(["push", HIGGS, "--repo", REPO], capsys)
    assert "HF_TOKEN" in lines[-1]
    assert hub.request_count() == before
