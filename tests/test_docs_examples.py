"""Every example under docs/examples/ runs (the documentation site includes them verbatim)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from integrations_env import import_torchvision

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "docs" / "examples").glob("*.py"))


def test_the_examples_exist():
    assert {p.stem for p in EXAMPLES} >= {"quickstart", "timm_resnet", "transformers_bert", "hub_mixin", "skorch_grid"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch, capsys, one_torch_thread):
    import_torchvision()
    monkeypatch.chdir(tmp_path)  # an example writes nothing into the repository
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip()  # each prints what it shows
    assert not list(tmp_path.iterdir())
