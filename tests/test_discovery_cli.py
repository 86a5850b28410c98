"""``nsad-lib discover`` on bad input: one clear error, exit code 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from nsad_lib.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()} if d.exists() else {}


@pytest.fixture
def reg(tmp_path):
    d = tmp_path / "reg"
    d.mkdir()
    (d / "index.json").write_text('{"schema": 1, "entries": {}}\n')
    return d


def _bad(tmp_path, reg, *args: str, match: str):
    before = _snapshot(reg)
    r = _cli("discover", "--registry", str(reg), "--budget", "2", *args, cwd=tmp_path)
    assert r.returncode == 2, r.stderr + r.stdout
    assert match in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert _snapshot(reg) == before


def test_unknown_dataset(tmp_path, reg):
    _bad(tmp_path, reg, "--data", "no-such-data", "--name", "x1", match="neither a known dataset")


def test_missing_target_column(tmp_path, reg):
    f = tmp_path / "d.csv"
    f.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(100)))
    _bad(tmp_path, reg, "--data", str(f), "--target", "nope", "--name", "x1", match="nope")


def test_invalid_name(tmp_path, reg):
    _bad(tmp_path, reg, "--data", "sample:higgs", "--name", "Bad Name!", match="invalid entry name")


def test_name_collision_with_bundled_entry(tmp_path, reg):
    _bad(tmp_path, reg, "--data", "sample:higgs", "--name", "relu", match="bundled registry")


def test_unknown_strategy(tmp_path, reg):
    _bad(tmp_path, reg, "--data", "sample:higgs", "--name", "x1", "--strategy", "magic", match="unknown strategy")


def test_pysr_without_julia(tmp_path, reg):
    _bad(tmp_path, reg, "--data", "sample:higgs", "--name", "x1", "--strategy", "collapse", "--backend", "pysr",
         match="--backend operon")


@pytest.mark.parametrize("backend", ["pysr", "gplearn"])
def test_search_refuses_a_backend_it_would_ignore(tmp_path, reg, backend):
    _bad(tmp_path, reg, "--data", "sample:higgs", "--name", "x1", "--backend", backend,
         match="uses no backend")


def test_dry_run_needs_no_registry(tmp_path, monkeypatch):
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)
    r = _cli("discover", "--data", "sample:higgs", "--name", "dry", "--strategy", "collapse", "--budget", "3",
             "--max-rows", "1000", "--dry-run", "--keep-if-worse", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "dry-v1" in r.stdout + r.stderr
    assert not any(p.suffix == ".json" for p in tmp_path.rglob("*"))  # nothing written anywhere


def test_no_registry_without_dry_run_says_how(tmp_path, monkeypatch):
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)
    r = _cli("discover", "--data", "sample:higgs", "--name", "x1", "--budget", "2", cwd=tmp_path)
    assert r.returncode == 2 and "--registry DIR" in r.stderr and "--dry-run" in r.stderr, r.stderr


def test_discover_writes_entry_with_exact_command(tmp_path, reg):
    r = _cli("discover", "--data", "sample:higgs", "--name", "cli-test", "--strategy", "collapse", "--budget", "3",
             "--max-rows", "1000", "--registry", str(reg), "--keep-if-worse", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    import json

    entry = json.loads((reg / "cli-test-v1.json").read_text())
    assert ".py:" not in r.stderr  # no source-path column on the log lines
    assert entry["provenance"]["command"].startswith("nsad-lib discover --data sample:higgs --name cli-test")
