"""The wheel ships every subpackage, the bundled registry and the samples."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "nsad_lib").rglob("__init__.py")}
    assert found <= listed, f"add to pyproject [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["nsad_lib._bundled"] == "registry"


def test_bundled_registry_has_an_index_for_every_entry():
    import json

    index = json.loads((ROOT / "registry" / "index.json").read_text())["entries"]
    files = {p.stem for p in (ROOT / "registry").glob("*-v*.json")}
    assert set(index) == files
