"""The ID argument and ``--registry`` option every command shares, and one resolver behind them.

Every command that names an entry accepts the same forms (:data:`nsad_lib.hub.refs.FORMS`): an id,
a name (latest version), or ``hf://OWNER/REPO/ID[@REVISION]``; and every such command takes
``--registry/-r DIR`` (repeatable), searched before ``NSAD_REGISTRY_PATH`` and the bundled
registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

import typer

from nsad_lib.hub.refs import FORMS

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.hub.refs import Resolved
    from nsad_lib.registry.store import Registry

REGISTRY_HELP = "Registry directory searched first (repeatable); also NSAD_REGISTRY_PATH."


def registry_option(help: str = REGISTRY_HELP) -> Optional[list[Path]]:  # noqa: A002 - typer's name
    """``--registry/-r DIR`` (repeatable, must exist)."""
    return typer.Option(None, "--registry", "-r", exists=True, file_okay=False, help=help)


def resolve(ref: str, registry: Optional[Sequence[Path]] = None) -> "Resolved":
    """The entry ``ref`` names (any accepted form), searching ``registry`` first."""
    from nsad_lib.hub.refs import resolve_ref

    return resolve_ref(ref, list(registry or []))


def registry_with(resolved: Sequence["Resolved"], registry: Optional[Sequence[Path]] = None) -> "Registry":
    """A registry that finds every resolved entry: ``registry`` plus the pulled Hub directories."""
    from nsad_lib.registry.store import Registry

    dirs: list[Path] = list(registry or [])
    for item in resolved:
        if item.repo and item.directory not in dirs:
            dirs.append(item.directory)
    return Registry(dirs or None)
