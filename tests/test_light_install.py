"""The light core install (issue 15): in a fresh venv, `pip install -e .` with no extras, then `get()` works.

It builds a real virtual environment (no --system-site-packages: it must not see this one's
packages) and installs torch and the core into it: about a minute with a warm pip cache, so it runs
only when asked, as its own step of .ci/run:

    NSAD_LIGHT_INSTALL=1 .venv/bin/python -m pytest -q tests/test_light_install.py
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    os.environ.get("NSAD_LIGHT_INSTALL") != "1",
    reason="builds a fresh venv (~1 min); .ci/run runs it as its own step with NSAD_LIGHT_INSTALL=1",
)

#: what a light install must not pull (each belongs to an extra)
HEAVY = ("pyoperon", "matplotlib", "scikit-learn", "pandas", "pyarrow", "gplearn", "ray", "pysr")


def _run(args: list[str], **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "NSAD_REGISTRY_PATH")}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=900, **kw)


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory) -> Path:
    where = tmp_path_factory.mktemp("light") / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(where)
    py = where / "bin" / "python"
    # The same torch as this environment (.ci/run pins it: a local CPU wheel on these machines).
    torch_version = metadata.version("torch").split("+")[0]
    out = _run([str(py), "-m", "pip", "install", "-q", f"torch=={torch_version}", "-e", str(ROOT)])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return where


def test_no_optional_package_is_installed(light_venv):
    out = _run([str(light_venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"])
    assert out.returncode == 0, out.stderr
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(out.stdout)}
    assert "nsad-lib" in installed and "torch" in installed
    assert not installed & set(HEAVY), f"the core install pulled {sorted(installed & set(HEAVY))}"


def test_get_works_without_extras(light_venv):
    code = (
        "import sys, torch, nsad_lib\n"
        "act = nsad_lib.get('higgs-v1')\n"
        "x = torch.linspace(-2, 2, 5, dtype=torch.float64)\n"
        "print(act(x).tolist())\n"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'sklearn', 'pyoperon') if m in sys.modules))\n"
    )
    out = _run([str(light_venv / "bin" / "python"), "-c", code], cwd=light_venv.parent)
    assert out.returncode == 0, out.stderr[-3000:]
    values, loaded = out.stdout.strip().splitlines()
    import torch

    import nsad_lib

    expected = nsad_lib.get("higgs-v1")(torch.linspace(-2, 2, 5, dtype=torch.float64)).tolist()
    assert json.loads(values) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert loaded == "[]"


def test_cli_names_the_missing_extra(light_venv, tmp_path):
    cli = str(light_venv / "bin" / "nsad-lib")
    listed = _run([cli, "list"], cwd=tmp_path)
    assert listed.returncode == 0 and "higgs-v1" in listed.stdout, listed.stderr
    plot = _run([cli, "show", "higgs-v1", "--plot", str(tmp_path / "f.png")], cwd=tmp_path)
    assert plot.returncode == 2
    assert plot.stderr.strip() == "error: plotting needs matplotlib: pip install 'nsad-lib[plot]'"
    assert not (tmp_path / "f.png").exists()
