"""One resolver behind every command that names an entry.

Every such command accepts the same forms (:data:`nsad_lib.hub.refs.FORMS`, the ``EntryArg`` of
:mod:`nsad_lib.cli._options`): an id, a name (latest version), or ``hf://OWNER/REPO/ID[@REVISION]``;
and takes ``--registry/-r DIR`` (repeatable), searched before ``NSAD_REGISTRY_PATH`` and the
bundled registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.hub.refs import Resolved
    from nsad_lib.registry.store import Registry


def resolve(ref: str, registry: Optional[Sequence[Path]] = None, *, endpoint: Optional[str] = None,
            token: Optional[str] = None) -> "Resolved":
    """The entry ``ref`` names (any accepted form), searching ``registry`` first (``hf://`` refs are pulled)."""
    from nsad_lib.hub.refs import resolve_ref

    return resolve_ref(ref, list(registry or []), endpoint=endpoint, token=token)


def registry_with(resolved: Sequence["Resolved"], registry: Optional[Sequence[Path]] = None) -> "Registry":
    """A registry that finds every resolved entry: ``registry`` plus the pulled Hub directories."""
    from nsad_lib.registry.store import Registry

    dirs: list[Path] = list(registry or [])
    for item in resolved:
        if item.repo and item.directory not in dirs:
            dirs.append(item.directory)
    return Registry(dirs or None)
