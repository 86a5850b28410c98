"""The ``nsad:`` prefix shared by the integrations that look activations up by name."""

from __future__ import annotations

from typing import Iterable

PREFIX = "nsad:"


def registry_ids(ids: Iterable[str] | str | None) -> list[str]:
    """``ids`` as a list (a single string is one id); ``None``: every entry of the default registry."""
    if ids is None:
        from nsad_lib.registry.store import list_entries

        return sorted(entry.id for entry in list_entries())
    if isinstance(ids, str):
        return [ids]
    return list(ids)


def strip_prefix(name: str) -> str | None:
    """``"nsad:higgs-v1"`` -> ``"higgs-v1"``; ``None`` for a name without the prefix."""
    if isinstance(name, str) and name.startswith(PREFIX):
        return name[len(PREFIX):]
    return None
