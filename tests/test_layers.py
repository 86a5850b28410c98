"""The layers hold: every module imports, the lower layers never pull torch, the top import is light.

Each check runs in a fresh interpreter (a subprocess), because this test process has long since
imported torch. Modules are imported in one batch; only when the batch pulls torch is each module
imported on its own, to name the culprit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: modules below nn/ in the layers: they need sympy and numpy, never torch
TORCH_FREE = ("nsad_lib.formula", "nsad_lib.util", "nsad_lib.errors")


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _all_modules() -> list[str]:
    out = _python("""
        import json, pkgutil, nsad_lib
        names = ["nsad_lib"] + [m.name for m in pkgutil.walk_packages(nsad_lib.__path__, "nsad_lib.",
                                                                     onerror=lambda name: None)]
        print(json.dumps([n for n in names if not n.endswith(".__main__")]))  # importing it runs the CLI
    """)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


MODULES = _all_modules()


def _torch_free(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in TORCH_FREE)


def test_the_walk_finds_every_subpackage():
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "nsad_lib").rglob("__init__.py")}
    found.discard("nsad_lib._bundled")  # the registry data package, mapped from registry/ at install time
    assert found <= set(MODULES)
    assert len(MODULES) > 40


def test_every_module_imports():
    out = _python(f"""
        import importlib, traceback
        failed = []
        for name in {MODULES!r}:
            try:
                importlib.import_module(name)
            except Exception:
                failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
        print("\\n".join(failed))
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"modules that do not import:\n{out.stdout}"


def test_formula_util_and_errors_never_import_torch():
    light = [m for m in MODULES if _torch_free(m)]
    assert "nsad_lib.formula.language" in light and "nsad_lib.errors" in light
    batch = _python(f"""
        import importlib, sys
        for name in {light!r}:
            importlib.import_module(name)
        print("torch" in sys.modules)
    """)
    assert batch.returncode == 0, batch.stderr
    if batch.stdout.strip() == "False":
        return
    culprits = []
    for name in light:  # the batch pulled torch: find which module did
        one = _python(f"import importlib, sys; importlib.import_module({name!r}); print('torch' in sys.modules)")
        if one.stdout.strip() != "False":
            culprits.append(name)
    pytest.fail(f"these modules import torch at module level (they sit below nn/): {culprits}")


def test_import_nsad_lib_is_light():
    out = _python("""
        import sys
        import nsad_lib
        print(sorted(m for m in ("torch", "sympy", "scipy", "pandas", "matplotlib", "sklearn")
                     if m in sys.modules))
    """)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.strip()
    assert "torch" not in loaded and "sympy" not in loaded, f"`import nsad_lib` loads {loaded}"
    assert loaded == "[]", f"`import nsad_lib` loads {loaded}"


def _lint_imports() -> str | None:
    exe = Path(sys.executable).with_name("lint-imports")
    return str(exe) if exe.exists() else shutil.which("lint-imports")


def test_lint_imports_contracts_hold():
    exe = _lint_imports()
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    out = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_the_cli_starts_without_torch():
    """``nsad-lib --help``/``--version`` register every command; none may load torch (seconds of startup)."""
    code = ("import sys; from nsad_lib.cli import _app; _app._register_commands(); "
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
