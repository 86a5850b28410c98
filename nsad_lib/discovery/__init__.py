"""Discover an activation formula on real data and register it with full provenance.

>>> from nsad_lib.discovery import discover
>>> result = discover("higgs", name="my-higgs", strategy="collapse", budget_s=60, registry="my_registry")

Every strategy reads only the training split of ``seed`` (see :mod:`.source`); candidates are
validated by short training, frozen and with trainable constants (:mod:`.validate`), and the
best (ties to the simpler) becomes ``NAME-v(N+1)``. The amount of work is fixed by the
arguments (:mod:`.budget`), so the same arguments and data give the same result on any machine.
Nothing is written unless a formula was found, it beats Light ReLU on validation (or
``keep_if_worse``), and the entry passed every check. Every argument error (including an
unwritable registry) is raised before any data is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nsad_lib.discovery.budget import DeadlineError

__all__ = ["discover", "DiscoveryResult", "STRATEGIES", "DEFAULT_BUDGET", "DeadlineError"]

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.discovery.run import DEFAULT_BUDGET, DiscoveryResult, discover
    from nsad_lib.discovery.strategies import STRATEGIES

#: name -> submodule; loaded on first use, so the CLI can read the choice lists without torch.
_LAZY = {"discover": "run", "DiscoveryResult": "run", "DEFAULT_BUDGET": "run", "STRATEGIES": "strategies"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nsad_lib.discovery' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"nsad_lib.discovery.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
