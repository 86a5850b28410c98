"""A missing optional dependency gives one line naming the extra to install (CLI: exit code 2).

The missing module is simulated with ``sys.modules[name] = None``, which makes ``import name``
raise ImportError exactly as on an install without that extra.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from nsad_lib.errors import MissingDependencyError, NsadError
from nsad_lib.util.optional import require


def _block(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Make ``import name`` (and its submodules) fail as if the package were not installed."""
    for loaded in list(sys.modules):
        if any(loaded == n or loaded.startswith(n + ".") for n in names):
            monkeypatch.delitem(sys.modules, loaded)
    for n in names:
        monkeypatch.setitem(sys.modules, n, None)


def test_require_returns_the_module():
    assert require("json", "data", "anything") is sys.modules["json"]
    assert require("os.path", "data", "anything").join("a", "b").endswith("b")


def test_require_names_the_extra_and_the_distribution(monkeypatch):
    _block(monkeypatch, "sklearn")
    with pytest.raises(MissingDependencyError) as info:
        require("sklearn.isotonic", "check", "the compatibility checker")
    err = info.value
    assert str(err) == "the compatibility checker needs scikit-learn: pip install 'nsad-lib[check]'"
    assert isinstance(err, NsadError) and isinstance(err, ImportError)
    assert (err.module, err.extra, err.name) == ("sklearn.isotonic", "check", "sklearn.isotonic")
    assert "\n" not in str(err)


def test_require_names_a_missing_dependency_of_an_installed_package(monkeypatch):
    pytest.importorskip("pyoperon")
    monkeypatch.delitem(sys.modules, "pyoperon.sklearn", raising=False)  # imported afresh below
    _block(monkeypatch, "sklearn")  # pyoperon is there, scikit-learn is not
    with pytest.raises(MissingDependencyError) as info:
        require("pyoperon.sklearn", "discover", "the operon backend")
    assert str(info.value) == ("the operon backend needs scikit-learn (needed by pyoperon): "
                               "pip install 'nsad-lib[discover]'")


def test_require_appends_a_hint(monkeypatch):
    _block(monkeypatch, "gplearn")
    from nsad_lib.discovery.backends import gplearn

    with pytest.raises(MissingDependencyError, match=r"^the gplearn backend needs gplearn: "
                       r"pip install 'nsad-lib\[gplearn\]' \(or use --backend operon\)$"):
        gplearn._import()


def test_plot_without_matplotlib(monkeypatch, tmp_path):
    from nsad_lib.formula import Formula
    from nsad_lib.formula.plot import plot_formula

    _block(monkeypatch, "matplotlib")
    with pytest.raises(MissingDependencyError, match=r"^plotting needs matplotlib: pip install 'nsad-lib\[plot\]'$"):
        plot_formula(Formula.parse("x*sigmoid(x)"), tmp_path / "f.png")
    assert not (tmp_path / "f.png").exists()


def test_cli_show_plot_without_matplotlib_is_one_line_exit_2(monkeypatch, tmp_path, capsys):
    from nsad_lib.cli import main

    _block(monkeypatch, "matplotlib")
    with pytest.raises(SystemExit) as info:
        main(["show", "higgs-v1", "--plot", str(tmp_path / "f.png")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: plotting needs matplotlib: pip install 'nsad-lib[plot]'"
    assert not (tmp_path / "f.png").exists()


def test_hub_card_plot_without_matplotlib(monkeypatch):
    from nsad_lib.hub.card import render_plot
    from nsad_lib.registry.store import default_registry

    entry = default_registry().resolve("higgs-v1")
    _block(monkeypatch, "matplotlib")
    with pytest.raises(MissingDependencyError, match=r"^the Hub card's plot needs matplotlib: .*\[plot\]'$"):
        render_plot(entry)


def test_operon_backend_without_pyoperon(monkeypatch):
    from nsad_lib.discovery.backends.operon import OperonBackend

    _block(monkeypatch, "pyoperon")
    X = np.linspace(-1, 1, 20).reshape(-1, 1)
    with pytest.raises(MissingDependencyError,
                       match=r"^the operon backend needs pyoperon: pip install 'nsad-lib\[discover\]'$"):
        OperonBackend()._fit(X, X[:, 0], seed=0, budget_s=1.0, symbols="add,mul", max_length=5,
                             population=10, generations=1)


def test_dataset_loading_without_pandas(monkeypatch):
    from nsad_lib.data import datasets

    _block(monkeypatch, "pandas")
    with pytest.raises(MissingDependencyError,
                       match=r"^reading the datasets needs pandas: pip install 'nsad-lib\[data\]'$"):
        datasets.load("spambase", sample=True)


def test_checker_without_scipy(monkeypatch):
    from nsad_lib.compat import profile_formula

    _block(monkeypatch, "scipy")
    with pytest.raises(MissingDependencyError, match=r"^the compatibility checker needs scipy: .*\[check\]'$"):
        profile_formula._spearman(np.arange(5.0), np.arange(5.0))
