"""nsad-lib: discovered activation functions as safe, versioned, drop-in PyTorch modules.

>>> import torch.nn as nn, nsad_lib
>>> act = nsad_lib.get("hajbi2026-higgs-fig-v1")      # a fresh nn.Module on every call

The top-level import is light: torch, sympy and everything heavy load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    "get": "nsad_lib.registry.store",
    "list_entries": "nsad_lib.registry.store",
    "info": "nsad_lib.registry.store",
    "Registry": "nsad_lib.registry.store",
    "Entry": "nsad_lib.registry.entry",
    "get_act_layer": "nsad_lib.registry.factory",
    "create_act_layer": "nsad_lib.registry.factory",
    "Formula": "nsad_lib.formula",
    "parse_formula": "nsad_lib.formula",
    "SymbolicActivation": "nsad_lib.nn.activation",
    "check": "nsad_lib.compat.check",
    "push_to_hub": "nsad_lib.hub.api",
    "pull": "nsad_lib.hub.api",
    "discover": "nsad_lib.discovery",
    "NsadError": "nsad_lib.errors",
    "FormulaError": "nsad_lib.errors",
    "EntryError": "nsad_lib.errors",
    "UnknownEntryError": "nsad_lib.errors",
    "EntryConflictError": "nsad_lib.errors",
    "DataError": "nsad_lib.errors",
    "HubError": "nsad_lib.errors",
}

#: Old public names kept working for one release: name -> (module, attribute in it).
_DEPRECATED: dict[str, tuple[str, str]] = {"parse": ("nsad_lib.formula", "parse_formula")}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.compat.check import check
    from nsad_lib.discovery import discover
    from nsad_lib.errors import (
        DataError,
        EntryConflictError,
        EntryError,
        FormulaError,
        HubError,
        NsadError,
        UnknownEntryError,
    )
    from nsad_lib.formula import Formula, parse_formula
    from nsad_lib.hub.api import pull, push_to_hub
    from nsad_lib.nn.activation import SymbolicActivation
    from nsad_lib.registry.entry import Entry
    from nsad_lib.registry.factory import create_act_layer, get_act_layer
    from nsad_lib.registry.store import Registry, get, info, list_entries


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        import importlib
        import warnings

        module_name, attribute = _DEPRECATED[name]
        warnings.warn(f"nsad_lib.{name} is deprecated; use nsad_lib.{attribute}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module_name), attribute)
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'nsad_lib' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
