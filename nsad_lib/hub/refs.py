"""One reference syntax for every command and API that names an entry.

Accepted forms (the same that :func:`nsad_lib.get` accepts):

- ``ID``: an exact id, ``higgs-v1``;
- ``NAME``: a name, resolved to its latest version (a name that the bundled registry holds
  resolves among the bundled versions only; see :meth:`nsad_lib.registry.store.Registry.locate`);
- ``hf://OWNER/REPO/ID[@REVISION]``: an entry published on the Hub (``ID`` may be a name, the
  revision a tag, branch or commit). It is pulled (or served from the cache of a commit pulled
  before), every hash verified, and read from the pulled registry directory.

``reproduce``'s activation specs add ``:trainable`` / ``:fixed`` after any of these forms;
:func:`split_variant` separates them without mistaking the ``:`` of ``hf://`` for one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence, Union

from nsad_lib.errors import UnknownEntryError
from nsad_lib.hub._common import COMMIT_RE, parse_ref, pulled_dir
from nsad_lib.hub.pull import pull
from nsad_lib.registry.resolve import split_variant
from nsad_lib.registry.store import Registry

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.registry.entry import Entry

__all__ = ["HUB_PREFIX", "Resolved", "is_hub_ref", "pin", "resolve_ref", "split_variant"]

HUB_PREFIX = "hf://"
#: What every command's ID argument accepts, for help texts and errors.
FORMS = "ID (higgs-v1), NAME (latest version) or hf://OWNER/REPO/ID[@REVISION]"

RegistryLike = Union["Registry", str, os.PathLike, Sequence[Union[str, os.PathLike]], None]


@dataclass(frozen=True)
class Resolved:
    """An entry, the file it was read from, and for Hub references the repository and commit."""

    entry: "Entry"
    path: Path
    repo: str | None = None
    commit: str | None = None

    @property
    def directory(self) -> Path:
        """The registry directory holding the entry (a pulled commit's directory for the Hub)."""
        return self.path.parent

    @property
    def pinned(self) -> str:
        """A reference to exactly this entry: ``hf://OWNER/REPO/ID@COMMIT``, or the id."""
        if self.repo and self.commit:
            return f"{HUB_PREFIX}{self.repo}/{self.entry.id}@{self.commit}"
        return self.entry.id


def is_hub_ref(ref: object) -> bool:
    """True for an ``hf://`` reference."""
    return isinstance(ref, str) and ref.startswith(HUB_PREFIX)


def _registry(registry: RegistryLike) -> "Registry":
    if isinstance(registry, Registry):
        return registry
    if registry is None or (not isinstance(registry, (str, os.PathLike)) and len(registry) == 0):
        return Registry()
    return Registry(registry)


def resolve_ref(ref: str, registry: RegistryLike = None, *, endpoint: str | None = None,
                token: str | None = None) -> Resolved:
    """Find the entry ``ref`` names (any accepted form); unknown ids raise ``UnknownEntryError``.

    ``registry``: a :class:`~nsad_lib.registry.store.Registry` or directories searched before
    ``NSAD_REGISTRY_PATH`` and the bundled registry (ignored for ``hf://`` references).
    """
    if not isinstance(ref, str) or not ref.strip():
        raise UnknownEntryError(f"entry reference must be a non-empty string ({FORMS}), got {ref!r}")
    if not is_hub_ref(ref):
        located = _registry(registry).locate(ref)
        return Resolved(located.entry, located.path)
    hub_ref = parse_ref(ref)
    directory: Path | None = None
    entry_id, commit = hub_ref.entry, hub_ref.revision
    if hub_ref.revision and COMMIT_RE.match(hub_ref.revision):
        cached = pulled_dir(hub_ref.repo_id, hub_ref.revision)
        if (cached / f"{hub_ref.entry}.json").is_file():  # a commit is immutable: no network needed
            directory = cached
    if directory is None:
        result = pull(hub_ref.repo_id, revision=hub_ref.revision, into=None, ids=[hub_ref.entry], token=token, endpoint=endpoint)
        directory, entry_id, commit = result.directory, result.ids[0], result.commit
    located = Registry(directory, include_env=False, include_bundled=False).locate(entry_id)
    return Resolved(located.entry, located.path, hub_ref.repo_id, commit)


def pin(spec: str, **kwargs: Any) -> str:
    """An activation spec with a Hub reference pinned to the commit just verified (else unchanged).

    ``hf://alice/acts/higgs:trainable`` -> ``hf://alice/acts/higgs-v2@<commit>:trainable``, so later
    loads (every module a training run builds, in every worker) are served from the pulled copy.
    """
    ref, variant = split_variant(spec)
    if not is_hub_ref(ref):
        return spec
    pinned = resolve_ref(ref, **kwargs).pinned
    return f"{pinned}:{variant}" if variant else pinned

