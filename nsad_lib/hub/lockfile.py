"""``nsad.lock``: pin the activations a project uses, by id, repository, commit and sha256.

The file is JSON with sorted keys, written atomically::

    {"version": 1, "entries": {"higgs-v1": {"repo": "owner/acts", "commit": "<40 hex>",
                                            "sha256": "<entry hash>", "weights_sha256": null}}}

``lock`` adds entries (pulling Hub references, so the record is what was verified);
``verify`` checks every record offline against the local copies (the pulled registry
directories, else the Hugging Face cache; bundled and ``NSAD_REGISTRY_PATH`` entries for
records without a repository) and reports each failure with its id and file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

from nsad_lib.errors import EntryError, NsadError
from nsad_lib.hub._common import (
    COMMIT_RE,
    MAX_ENTRY_BYTES,
    MAX_WEIGHTS_BYTES,
    REF_PREFIX,
    SHA256_RE,
    HubError,
    check_repo_id,
    hf_cache_dir,
    parse_ref,
    pulled_dir,
    sha256_bytes,
)
from nsad_lib.hub.pull import pull
from nsad_lib.registry.entry import Entry, json_error_detail
from nsad_lib.util.atomic import atomic_write_bytes
from nsad_lib.util.paths import UnsafeFileError, read_bounded

__all__ = ["LOCK_FILE", "LockProblem", "LockRecord", "lock", "read_lock", "verify_lock", "write_lock"]

LOCK_FILE = "nsad.lock"
LOCK_VERSION = 1
MAX_LOCK_BYTES = 4 << 20
"""Largest lock file read, in bytes (about 15,000 records)."""


@dataclass(frozen=True)
class LockRecord:
    """One pinned entry; ``repo``/``commit`` are None for bundled or local-registry entries."""

    repo: str | None
    commit: str | None
    sha256: str
    weights_sha256: str | None = None


@dataclass(frozen=True)
class LockProblem:
    """A locked entry that failed verification, with the file that failed."""

    id: str
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.id}: {self.file}: {self.message}"


def read_lock(path: str | os.PathLike[str] = LOCK_FILE) -> dict[str, LockRecord]:
    """Parse a lock file strictly (a missing file is an empty lock)."""
    path = Path(path)
    if not os.path.lexists(path):
        return {}
    try:
        data = json.loads(read_bounded(path, MAX_LOCK_BYTES).decode("utf-8"))
        if data.get("version") != LOCK_VERSION or not isinstance(data.get("entries"), dict):
            raise ValueError(f"expected version {LOCK_VERSION} with an 'entries' object")
        records = {}
        for entry_id, raw in data["entries"].items():
            record = LockRecord(raw.get("repo"), raw.get("commit"), raw["sha256"], raw.get("weights_sha256"))
            _check_record(entry_id, record)
            records[entry_id] = record
        return records
    except UnsafeFileError as exc:
        raise HubError(f"{path}: refused lock file: {exc}") from None
    except OSError as exc:
        raise HubError(f"{path}: cannot read lock file: {exc.strerror or exc}") from None
    except RecursionError:
        raise HubError(f"{path}: not a valid lock file: nested too deeply") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise HubError(f"{path}: not a valid lock file: {json_error_detail(exc)}") from None


def _check_record(entry_id: str, record: LockRecord) -> None:
    from nsad_lib.registry.entry import split_id

    split_id(entry_id)
    if record.repo is not None:
        check_repo_id(record.repo)
        if not isinstance(record.commit, str) or not COMMIT_RE.match(record.commit):
            raise ValueError(f"{entry_id}: commit must be a full 40-hex commit hash")
    elif record.commit is not None:
        raise ValueError(f"{entry_id}: a commit without a repo")
    for label, value in (("sha256", record.sha256), ("weights_sha256", record.weights_sha256)):
        if (value is not None or label == "sha256") and (not isinstance(value, str) or not SHA256_RE.match(value)):
            raise ValueError(f"{entry_id}: {label} must be 64 hex characters")


def write_lock(path: str | os.PathLike[str], records: dict[str, LockRecord]) -> None:
    """Write the lock file atomically, keys sorted."""
    body = {"version": LOCK_VERSION, "entries": {k: asdict(v) for k, v in records.items()}}
    atomic_write_bytes(Path(path), (json.dumps(body, sort_keys=True, indent=2) + "\n").encode("utf-8"))


def lock(refs: Sequence[str], file: str | os.PathLike[str] = LOCK_FILE, *, endpoint: str | None = None, token: str | None = None,
         registry: "Sequence[str | os.PathLike[str]] | None" = None) -> dict[str, LockRecord]:
    """Pin ``refs`` (``hf://owner/repo/ID[@REV]`` or a local id/name) in ``file``; returns the new records.

    ``registry``: directories searched for local ids before ``NSAD_REGISTRY_PATH`` and the bundled registry.
    """
    from nsad_lib.registry.store import Registry

    records = read_lock(file)
    added: dict[str, LockRecord] = {}
    for ref in refs:
        if ref.startswith(REF_PREFIX):
            hub_ref = parse_ref(ref)
            result = pull(hub_ref.repo_id, revision=hub_ref.revision, into=None, ids=[hub_ref.entry], token=token, endpoint=endpoint)
            entry_id = result.ids[0]
            record = LockRecord(result.repo_id, result.commit, result.sha256[entry_id], result.weights_sha256[entry_id])
        else:
            entry = Registry(registry or None).resolve(ref)
            entry_id, record = entry.id, LockRecord(None, None, entry.sha256, None)
        old = records.get(entry_id)
        # another source (the local registry, or another Hub repo) is a different pin; a newer commit of
        # the same repo holding the same files (checked next) just moves the pin forward
        if old is not None and old.repo != record.repo:
            raise HubError(
                f"{file}: {entry_id} is already locked to {_source(old)}, but {ref} is {_source(record)}; "
                f"`nsad-lib lock` does not re-pin an entry: to switch, delete the {entry_id!r} record from {file} "
                "and lock again (or lock the same source)"
            )
        if old is not None and (old.sha256, old.weights_sha256) != (record.sha256, record.weights_sha256):
            raise HubError(
                f"{file}: {entry_id} is locked with sha256 {old.sha256[:12]}... but {ref} has {record.sha256[:12]}... "
                "(ids are immutable, so one of them is not the published entry); remove the old record by hand if you mean to switch"
            )
        records[entry_id] = added[entry_id] = record
    write_lock(file, dict(sorted(records.items())))
    return added


def _source(record: LockRecord) -> str:
    """Where a record pins its entry, in words."""
    return f"{record.repo}@{record.commit}" if record.repo else "the local registry"


def _locate(record: LockRecord, entry_id: str, suffix: str) -> Path | None:
    """The local copy of a locked file: pulled registry dir first, then the HF cache."""
    assert record.repo is not None and record.commit is not None
    path = pulled_dir(record.repo, record.commit) / f"{entry_id}{suffix}"
    if os.path.lexists(path):  # whatever is there is what loading would read: a FIFO or a directory is reported, not skipped
        return path
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(record.repo, f"entries/{entry_id}{suffix}", cache_dir=hf_cache_dir(), revision=record.commit)
    return Path(cached) if isinstance(cached, str) else None


def _verify_one(entry_id: str, record: LockRecord, registry: "Sequence[str | os.PathLike[str]] | None" = None) -> LockProblem | None:
    from nsad_lib.registry.store import Registry

    if record.repo is None:
        try:
            located = Registry(registry or None).locate(entry_id)
        except NsadError as exc:  # unknown id, or a damaged/conflicting local registry
            return LockProblem(entry_id, "(local registry)", str(exc))
        if located.entry.sha256 != record.sha256:
            return LockProblem(entry_id, str(located.path), f"sha256 {located.entry.sha256[:12]}... differs from the lock ({record.sha256[:12]}...)")
        return None
    missing = f"not in the local cache; run `nsad-lib pull {record.repo}@{record.commit}` once online"
    path = _locate(record, entry_id, ".json")
    if path is None:
        return LockProblem(entry_id, f"entries/{entry_id}.json", missing)
    try:
        entry = Entry.from_json(read_bounded(path, MAX_ENTRY_BYTES).decode("utf-8"), source=str(path))
        entry.check_numerics(source=str(path))
    except UnsafeFileError as exc:
        return LockProblem(entry_id, str(path), f"refused: {exc}")
    except OSError as exc:
        return LockProblem(entry_id, str(path), f"cannot read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return LockProblem(entry_id, str(path), "not UTF-8 text")
    except EntryError as exc:
        return LockProblem(entry_id, str(path), str(exc).replace(f"{path}: ", ""))
    except (ValueError, OverflowError, RecursionError) as exc:  # defence in depth: Entry checks should catch these first
        return LockProblem(entry_id, str(path), f"not a valid entry ({type(exc).__name__}: {str(exc)[:200]})")
    if entry.id != entry_id or entry.sha256 != record.sha256:
        return LockProblem(entry_id, str(path), f"holds {entry.id} with sha256 {entry.sha256[:12]}..., the lock says {record.sha256[:12]}...")
    if record.weights_sha256 is not None:
        wpath = _locate(record, entry_id, ".safetensors")
        if wpath is None:
            return LockProblem(entry_id, f"entries/{entry_id}.safetensors", missing)
        try:
            actual = sha256_bytes(read_bounded(wpath, MAX_WEIGHTS_BYTES))
        except UnsafeFileError as exc:
            return LockProblem(entry_id, str(wpath), f"refused: {exc}")
        except OSError as exc:
            return LockProblem(entry_id, str(wpath), f"cannot read: {exc.strerror or exc}")
        if actual != record.weights_sha256:
            return LockProblem(entry_id, str(wpath), f"sha256 {actual[:12]}... differs from the lock ({record.weights_sha256[:12]}...)")
    return None


def verify_lock(file: str | os.PathLike[str] = LOCK_FILE, *, registry: "Sequence[str | os.PathLike[str]] | None" = None) -> list[LockProblem]:
    """Check every locked entry offline; an empty list means all match (``registry``: as for :func:`lock`)."""
    if not os.path.lexists(file):
        raise HubError(f"{file}: no lock file (create one with `nsad-lib lock ID|hf://OWNER/REPO/ID@REV`)")
    problems = [_verify_one(entry_id, record, registry) for entry_id, record in sorted(read_lock(file).items())]
    return [p for p in problems if p is not None]
