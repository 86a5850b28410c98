"""Where entries live: bundled, user directories and explicit paths; resolve, verify, add.

A registry directory holds one ``<id>.json`` per entry and an ``index.json`` mapping ids to
their hashes. Every load verifies each entry's content hash (and the index, when it lists the
id), so a tampered file is refused with its path named. Adding writes atomically (temporary
file + ``os.replace``) and refuses a different entry under an existing id: published ids are
immutable, and new work under a known name becomes the next version.

Search order: explicit paths given to :class:`Registry`, then ``NSAD_REGISTRY_PATH``
(``os.pathsep``-separated), then the bundled registry shipped with the package.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from nsad_lib.errors import EntryConflictError, EntryError, UnknownEntryError
from nsad_lib.registry.entry import (
    ID_RE,
    MAX_ENTRY_BYTES,
    MAX_INDEX_BYTES,
    Entry,
    canonical_json,
    json_error_detail,
    split_id,
)
from nsad_lib.registry.resolve import resolve_scheme, scheme_of
from nsad_lib.util.atomic import atomic_write_text
from nsad_lib.util.paths import UnsafeFileError, read_bounded

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.nn.activation import SymbolicActivation

ENV_VAR = "NSAD_REGISTRY_PATH"
INDEX_FILE = "index.json"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def bundled_path() -> Path:
    """The registry shipped with nsad-lib (inside the wheel, or ``registry/`` in a checkout)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "_bundled"
    if installed.is_dir() and any(installed.glob("*.json")):
        return installed
    return package.parent / "registry"


def _is_bundled(directory: Path) -> bool:
    """The shipped registry (its entries were checked when added, so loads skip the numerics)."""
    try:
        return directory.resolve() == bundled_path().resolve()
    except OSError:
        return False


def env_paths() -> list[Path]:
    """Directories named by ``NSAD_REGISTRY_PATH``."""
    raw = os.environ.get(ENV_VAR, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


# Parsed entries keyed by (path, mtime_ns, size): re-reading a directory costs one scandir.
_FILE_CACHE: dict[tuple[str, int, int], Entry] = {}


@dataclass(frozen=True)
class Located:
    """An entry together with the file it came from."""

    entry: Entry
    path: Path


def _read_json_file(path: Path, limit: int, what: str) -> Any:
    """Parsed JSON of an untrusted file: a regular file of at most ``limit`` bytes, bounded nesting."""
    try:
        raw = read_bounded(path, limit)
    except UnsafeFileError as exc:
        raise EntryError(f"{path}: refused {what}: {exc}") from None
    except OSError as exc:
        raise EntryError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise EntryError(f"{path}: unreadable {what}: not UTF-8 text") from None
    except RecursionError:
        raise EntryError(f"{path}: unreadable {what}: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or a number literal with thousands of digits
        raise EntryError(f"{path}: unreadable {what}: {json_error_detail(exc)}") from None


def _read_index(directory: Path) -> dict[str, str]:
    path = directory / INDEX_FILE
    if not os.path.lexists(path):
        return {}
    data = _read_json_file(path, MAX_INDEX_BYTES, "registry index")
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise EntryError(f"{path}: unreadable registry index: expected an object with an 'entries' object")
    for k, v in entries.items():
        if not isinstance(v, str) or not SHA256_RE.match(v):
            shown = k if len(k) <= 80 else k[:77] + "..."
            raise EntryError(f"{path}: unreadable registry index: the hash of {shown!r} is not 64 hex characters")
    return dict(entries)


def load_entry_file(path: Path, expected_sha256: str | None = None, *, check_numerics: bool = True) -> Entry:
    """Read, validate and hash-check one entry file; the error names the file.

    Only a regular file of at most :data:`~nsad_lib.registry.entry.MAX_ENTRY_BYTES` is read (a FIFO,
    a device or a directory is refused without blocking). With ``check_numerics`` (the
    default; the bundled registry, checked when its entries were added, skips it) the formula
    must also pass :func:`nsad_lib.nn.finite.check_finite`: a hand-edited, rehashed entry is
    refused on load, not only on add.
    """
    try:
        st = path.stat()
    except OSError as exc:
        raise EntryError(f"{path}: cannot read entry: {exc.strerror or exc}") from None
    key = (str(path), st.st_mtime_ns, st.st_size)
    entry = _FILE_CACHE.get(key) if stat.S_ISREG(st.st_mode) else None
    if entry is None:
        try:
            raw = read_bounded(path, MAX_ENTRY_BYTES)
            text = raw.decode("utf-8")
        except UnsafeFileError as exc:
            raise EntryError(f"{path}: refused entry file: {exc}") from None
        except UnicodeDecodeError:
            raise EntryError(f"{path}: cannot read entry: not UTF-8 text") from None
        except OSError as exc:
            raise EntryError(f"{path}: cannot read entry: {exc.strerror or exc}") from None
        entry = Entry.from_json(text, source=str(path))
        if path.stem != entry.id:
            raise EntryError(f"{path}: file name does not match the entry id {entry.id!r}")
        if len(_FILE_CACHE) > 4096:
            _FILE_CACHE.clear()
        _FILE_CACHE[key] = entry
    if expected_sha256 is not None and entry.sha256 != expected_sha256:
        raise EntryError(f"{path}: hash {entry.sha256[:12]}... differs from the registry index ({expected_sha256[:12]}...)")
    if check_numerics:
        entry.check_numerics(source=str(path))
    return entry


def _scan(directory: Path, *, check_numerics: bool = True) -> list[Located]:
    if not directory.is_dir():
        return []
    index = _read_index(directory)
    found = []
    for path in sorted(directory.glob("*.json")):
        if path.name == INDEX_FILE or not ID_RE.match(path.stem):
            continue  # only NAME-vN.json files are entries; other JSON (metadata) is not ours
        found.append(Located(load_entry_file(path, index.get(path.stem), check_numerics=check_numerics), path))
    _check_index_has_files(directory, index, {it.path.stem for it in found})
    return found


def _check_index_has_files(directory: Path, index: dict[str, str], present: set[str]) -> None:
    """Every id the index lists must have its file: a missing one is reported, not skipped."""
    for entry_id in sorted(set(index) - present):
        if not ID_RE.match(entry_id):
            raise EntryError(f"{directory / INDEX_FILE}: lists an invalid entry id {entry_id!r} (expected NAME-vN)")
        raise EntryError(
            f"{directory / INDEX_FILE}: lists entry {entry_id!r}, but {directory / (entry_id + '.json')} does not exist "
            "(restore the file, or remove the id from the index if the entry was deleted on purpose)"
        )


class Registry:
    """A view over several registry directories (first = where :meth:`add` writes).

    Args:
        paths: registry directories searched first, in order.
        include_env: also search ``NSAD_REGISTRY_PATH``.
        include_bundled: also search the bundled registry (read-only).
    """

    def __init__(self, paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None, *, include_env: bool = True, include_bundled: bool = True) -> None:
        if paths is None:
            explicit: list[Path] = []
        elif isinstance(paths, (str, os.PathLike)):
            explicit = [Path(paths).expanduser()]
        else:
            explicit = [Path(p).expanduser() for p in paths]
        self.explicit = explicit
        self.directories: list[Path] = [*explicit, *(env_paths() if include_env else [])]
        self.bundled = bundled_path() if include_bundled else None

    def _sources(self) -> list[Path]:
        return [*self.directories, *([self.bundled] if self.bundled is not None else [])]

    def _scan(self, directory: Path) -> list[Located]:
        """Entries of one directory; numerics are re-checked except for the bundled registry."""
        return _scan(directory, check_numerics=not _is_bundled(directory))

    # -- reading -------------------------------------------------------------------------
    def located(self) -> list[Located]:
        """Every entry with its file; an id found in several places must have one content."""
        seen: dict[str, Located] = {}
        for directory in self._sources():
            for item in self._scan(directory):
                first = seen.get(item.entry.id)
                if first is None:
                    seen[item.entry.id] = item
                elif first.entry.sha256 != item.entry.sha256:
                    raise EntryConflictError(
                        f"entry {item.entry.id!r} differs between {first.path} and {item.path}; ids are immutable"
                    )
        return sorted(seen.values(), key=lambda it: (it.entry.name, it.entry.version))

    def entries(self) -> list[Entry]:
        """Every entry, sorted by name then version."""
        return [it.entry for it in self.located()]

    def ids(self) -> list[str]:
        return [e.id for e in self.entries()]

    def resolve(self, ref: str) -> Entry:
        """An exact id (``higgs-v1``) or a name (``higgs`` -> its latest version).

        A name the bundled registry holds resolves to its latest *bundled* version, so a user
        registry's ``higgs-v2`` (e.g. an evidence copy) is reached by its exact id only.
        """
        return self.locate(ref).entry

    def locate(self, ref: str) -> Located:
        """Like :meth:`resolve`, also returning the file the entry was read from."""
        if not isinstance(ref, str) or not ref.strip():
            raise UnknownEntryError(f"entry reference must be a non-empty string, got {ref!r}")
        items = self.located()
        by_id = {it.entry.id: it for it in items}
        if ref in by_id:
            return by_id[ref]
        versions = [it for it in items if it.entry.name == ref]
        bundled_ids = {it.entry.id for it in _scan(self.bundled)} if self.bundled is not None and versions else set()
        if any(it.entry.id in bundled_ids for it in versions):
            # a bundled name resolves among the bundled versions: a user copy (name-v2 written by
            # `check --write-evidence`) does not shadow it; ask for it by its exact id
            versions = [it for it in versions if it.entry.id in bundled_ids]
        if versions:
            return max(versions, key=lambda it: it.entry.version)
        candidates = sorted({*by_id, *(it.entry.name for it in items)})
        close = difflib.get_close_matches(ref, candidates, n=5, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        where = ", ".join(str(p) for p in self._sources())
        raise UnknownEntryError(
            f"no registry entry {ref!r}{hint} (searched {where}; add a directory with --registry DIR or {ENV_VAR}; "
            "`nsad-lib list` shows all)"
        )

    def __contains__(self, ref: object) -> bool:
        try:
            self.resolve(ref)  # type: ignore[arg-type]
        except UnknownEntryError:
            return False
        return True

    def next_version(self, name: str) -> int:
        """The version a new entry under ``name`` gets (1 for a new name)."""
        return 1 + max((e.version for e in self.entries() if e.name == name), default=0)

    def get(self, ref: str, *, trainable: bool | None = None, compile: bool = False) -> "SymbolicActivation":
        """A fresh activation module for ``ref`` (``trainable`` defaults to the entry's)."""
        from nsad_lib.nn.activation import SymbolicActivation

        entry = self.resolve(ref)
        train = entry.trainable if trainable is None else bool(trainable)
        return SymbolicActivation(entry.formula_object(), trainable=train, compile=compile, name=entry.id)

    # -- writing -------------------------------------------------------------------------
    def add(self, entry: Entry, directory: str | os.PathLike[str] | None = None, *, check_numerics: bool = True) -> Path:
        """Write ``entry`` atomically; the same content again is a no-op, different content an error."""
        target = Path(directory).expanduser() if directory is not None else (self.directories[0] if self.directories else None)
        if target is None:
            raise EntryError("no writable registry directory: pass a path to Registry(...) or set NSAD_REGISTRY_PATH")
        if self.bundled is not None and target.resolve() == self.bundled.resolve() and os.environ.get("NSAD_ALLOW_BUNDLED_WRITE") != "1":
            raise EntryError(f"{target} is the bundled registry, which is read-only; write to a user registry")
        entry.validate(check_numerics=check_numerics)
        if entry.with_hash().sha256 != entry.sha256:
            raise EntryError(f"entry {entry.id!r}: sha256 does not match its content; build it with Entry.create")
        with _writing(target):  # check and write as one step: no other process adds in between
            for item in self._search_for_conflicts(target):
                if item.entry.id == entry.id:
                    if item.entry.sha256 == entry.sha256:
                        return item.path
                    raise EntryConflictError(
                        f"entry {entry.id!r} already exists in {item.path} with different content; "
                        f"published ids are immutable: add it as {entry.name}-v{self.next_version(entry.name)}"
                    )
            path = target / f"{entry.id}.json"
            atomic_write_text(path, entry.to_json())
            index = _read_index(target)
            index[entry.id] = entry.sha256
            atomic_write_text(target / INDEX_FILE, json.dumps({"schema": 1, "entries": dict(sorted(index.items()))}, indent=2) + "\n")
        return path

    def _search_for_conflicts(self, target: Path) -> Iterable[Located]:
        sources = [target, *[d for d in self._sources() if d.resolve() != target.resolve()]]
        for directory in sources:
            yield from self._scan(directory)


#: Lock file taken while an entry is added (in the registry directory; not an entry).
LOCK_FILE = ".nsad-registry.lock"
#: Seconds to wait for another process's add before giving up.
LOCK_TIMEOUT_S = 60.0


@contextlib.contextmanager
def _writing(directory: Path) -> Iterator[None]:
    """Hold ``directory``'s registry lock (an OS file lock, via ``filelock``) while adding.

    Without it, two processes adding at once could both pass the immutability check and the
    second would overwrite the first's entry, or drop its line from ``index.json``.
    """
    from filelock import FileLock, Timeout

    directory.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(directory / LOCK_FILE), timeout=LOCK_TIMEOUT_S):
            yield
    except Timeout:
        raise EntryError(
            f"{directory}: another process has held the registry lock ({LOCK_FILE}) for {LOCK_TIMEOUT_S:.0f} s; "
            "try again when it has finished"
        ) from None


def default_registry() -> Registry:
    """The registry that :func:`get` and friends use (env paths + bundled)."""
    return Registry()


def get(ref: str, trainable: bool | None = None, *, compile: bool = False) -> "SymbolicActivation":
    """A fresh activation module for a registry id, a name (latest version) or an ``hf://`` reference.

    >>> import nsad_lib
    >>> act = nsad_lib.get("hajbi2026-higgs-fig-v1")
    """
    if scheme_of(ref) is not None:  # hf://...: resolved by the layer that registered the scheme
        return resolve_scheme(ref, trainable=trainable, compile=compile)
    return default_registry().get(ref, trainable=trainable, compile=compile)


def list_entries() -> list[Entry]:
    """Every entry visible to the default registry."""
    return default_registry().entries()


def info(ref: str) -> dict[str, Any]:
    """The entry's full record as a dict (resolves names to their latest version)."""
    return default_registry().resolve(ref).to_dict()




__all__ = [
    "ENV_VAR",
    "Registry",
    "bundled_path",
    "canonical_json",
    "default_registry",
    "env_paths",
    "get",
    "info",
    "list_entries",
    "load_entry_file",
    "split_id",
]
