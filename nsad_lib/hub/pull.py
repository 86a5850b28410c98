"""Pull entries from a Hub repository: resolve the revision, download, verify all, then write.

Downloads land in the Hugging Face cache (the staging area, and what ``HF_HUB_OFFLINE=1``
reads later); nothing reaches the target registry directory until every requested entry
and weights file has passed its checks, and each file is then written atomically.

Sizes are checked *before* downloading: the repository's file metadata at the resolved
commit (``model_info(files_metadata=True)``) must report every file the pull needs within
its limit, else nothing is fetched. The downloaded bytes are checked again (offline, the
metadata is not available; a server could report one size and send another), and a file
refused then is removed from the Hugging Face cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from nsad_lib.errors import EntryError
from nsad_lib.hub._common import (
    COMMIT_RE,
    HUB_INDEX,
    MAX_ENTRY_BYTES,
    MAX_WEIGHTS_BYTES,
    HubError,
    IndexItem,
    PullResult,
    check_repo_id,
    discard_cached,
    endpoint_or_default,
    hf_cache_dir,
    hub_errors,
    parse_hub_index,
    pulled_dir,
    read_limited,
    sha256_bytes,
    transport_errors,
)
from nsad_lib.hub.weights import build_module, load_weights, recorded_weights_sha256, weights_record, write_weights
from nsad_lib.registry.entry import MAX_INDEX_BYTES, Entry, split_id
from nsad_lib.registry.store import Registry

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.nn.activation import SymbolicActivation

__all__ = ["pull"]


@dataclass(frozen=True)
class _Verified:
    entry: Entry
    text: str
    weights: bytes | None
    weights_sha256: str | None


def _snapshot(repo_id: str, revision: str | None, patterns: list[str], token: str | None, endpoint: str | None) -> Path:
    from huggingface_hub import snapshot_download

    with hub_errors(f"pull {repo_id}" + (f"@{revision}" if revision else ""), repo_id):
        folder = snapshot_download(
            repo_id, revision=revision, allow_patterns=patterns, token=token, endpoint=endpoint, cache_dir=hf_cache_dir()
        )
    return Path(folder)


def _remote_sizes(repo_id: str, revision: str | None, token: str | None, endpoint: str | None) -> tuple[str | None, dict[str, int | None]]:
    """The commit ``revision`` resolves to and the size of every file in it, from the Hub's metadata.

    ``(None, {})`` when the Hub cannot be asked (offline mode, unreachable): the download
    step then serves the Hugging Face cache, and sizes are checked after the fact.
    """
    from huggingface_hub import HfApi
    from huggingface_hub import constants as hf_constants

    from nsad_lib import __version__

    offline = getattr(hf_constants, "is_offline_mode", None)
    if (offline() if callable(offline) else hf_constants.HF_HUB_OFFLINE):
        return None, {}
    api = HfApi(endpoint=endpoint, token=token, library_name="nsad-lib", library_version=__version__)
    with hub_errors(f"pull {repo_id}" + (f"@{revision}" if revision else ""), repo_id):
        try:
            info = api.model_info(repo_id, revision=revision, files_metadata=True)
        except transport_errors():
            return None, {}
    sizes = {s.rfilename: s.size for s in (info.siblings or [])}
    return (info.sha if isinstance(info.sha, str) and COMMIT_RE.match(info.sha) else None), sizes


def _check_sizes(sizes: dict[str, int | None], limits: dict[str, int], where: str) -> None:
    """Refuse, before any download, a file the Hub reports as larger than its limit."""
    for path, limit in limits.items():
        size = sizes.get(path)
        if isinstance(size, int) and size > limit:
            raise HubError(f"refused {where}:{path}: the Hub reports {size} bytes, more than the {limit}-byte limit (nothing was downloaded)")


def _read_download(path: Path, limit: int, where: str) -> bytes:
    """A downloaded file within its limit; a refused one is removed from the Hugging Face cache."""
    try:
        return read_limited(path, limit, where)
    except HubError:
        discard_cached(path)
        raise


def _select(index: dict[str, IndexItem], ids: Sequence[str] | None, where: str) -> list[str]:
    """Requested refs -> exact ids (a name means its latest version in this commit)."""
    if ids is None:
        return sorted(index)
    chosen: list[str] = []
    for ref in ids:
        if ref in index:
            found = ref
        else:
            versions = [i for i in index if split_id(i)[0] == ref]
            if not versions:
                listing = ", ".join(sorted(index)) or "none"
                raise HubError(f"{where} has no entry {ref!r} (it has: {listing})")
            found = max(versions, key=lambda i: split_id(i)[1])
        if found not in chosen:
            chosen.append(found)
    return chosen


def _verify(folder: Path, where: str, entry_id: str, item: IndexItem) -> _Verified:
    """Every check an entry must pass before it is written anywhere."""
    path_where = f"{where}:entries/{entry_id}.json"
    raw = _read_download(folder / "entries" / f"{entry_id}.json", MAX_ENTRY_BYTES, path_where)
    try:
        text = raw.decode("utf-8")
        entry = Entry.from_json(text, source=path_where)
        entry.check_numerics(source=path_where)
    except UnicodeDecodeError:
        raise HubError(f"refused {path_where}: not UTF-8 text") from None
    except EntryError as exc:
        raise HubError(f"refused {exc}") from None
    except (ValueError, OverflowError, RecursionError) as exc:  # defence in depth: Entry checks should catch these first
        raise HubError(f"refused {path_where}: not a valid entry ({type(exc).__name__}: {str(exc)[:200]})") from None
    if entry.id != entry_id:
        raise HubError(f"refused {path_where}: the file holds entry {entry.id!r}")
    if entry.sha256 != item.sha256:
        raise HubError(f"refused {path_where}: hash {entry.sha256[:12]}... differs from {HUB_INDEX} ({item.sha256[:12]}...)")
    if item.weights_sha256 is None:
        return _Verified(entry, text, None, None)
    weights_where = f"{where}:entries/{entry_id}.safetensors"
    data = _read_download(folder / "entries" / f"{entry_id}.safetensors", MAX_WEIGHTS_BYTES, weights_where)
    actual = sha256_bytes(data)
    if actual != item.weights_sha256:
        raise HubError(f"refused {weights_where}: sha256 {actual[:12]}... does not match {HUB_INDEX} ({item.weights_sha256[:12]}...)")
    load_weights(entry, data, weights_where)
    return _Verified(entry, text, data, actual)


def _check_target(directory: Path, verified: list[_Verified]) -> None:
    """Refuse before writing anything when the target already holds different content."""

    existing = {it.entry.id: it for it in Registry(directory, include_env=False, include_bundled=False).located()}
    for v in verified:
        here = existing.get(v.entry.id)
        if here is not None and here.entry.sha256 != v.entry.sha256:
            raise HubError(f"{here.path} holds a different entry {v.entry.id!r}; published ids are immutable (pull into another directory)")
        weights = directory / f"{v.entry.id}.safetensors"
        if os.path.lexists(weights) and (v.weights is None or sha256_bytes(read_limited(weights, MAX_WEIGHTS_BYTES, str(weights))) != v.weights_sha256):
            raise HubError(f"{weights} holds different trained parameters for {v.entry.id!r} (pull into another directory)")


def _write(directory: Path, verified: list[_Verified]) -> None:

    registry = Registry(directory, include_env=False, include_bundled=False)
    for v in verified:
        if v.weights is not None:  # weights first: an entry file never points at missing weights
            write_weights(directory / f"{v.entry.id}.safetensors", v.weights)
        registry.add(v.entry, check_numerics=False)  # numerics were checked in _verify


def pull(
    repo_id: str,
    *,
    revision: str | None,
    into: Path | None,
    ids: Sequence[str] | None,
    token: str | None,
    endpoint: str | None,
) -> PullResult:
    """See :func:`nsad_lib.hub.api.pull` (the public wrapper)."""
    check_repo_id(repo_id)
    endpoint = endpoint_or_default(endpoint)
    resolved, sizes = _remote_sizes(repo_id, revision, token, endpoint)
    if resolved is not None:
        _check_sizes(sizes, {HUB_INDEX: MAX_INDEX_BYTES}, f"{repo_id}@{resolved[:12]}")
    first = _snapshot(repo_id, revision, [HUB_INDEX], token, endpoint)
    commit = first.name  # snapshot folders are named by the resolved commit
    if not COMMIT_RE.match(commit):
        raise HubError(f"pull {repo_id}: unexpected snapshot folder {first} (not named by a commit)")
    where = f"{repo_id}@{commit[:12]}"
    if resolved is not None and resolved != commit:  # the branch moved in between: ask about the commit we got
        resolved, sizes = _remote_sizes(repo_id, commit, token, endpoint)
    if not (first / HUB_INDEX).is_file():
        raise HubError(f"{where} is not an nsad-lib repository (no {HUB_INDEX}); push entries with `nsad-lib push`")
    index = parse_hub_index(_read_download(first / HUB_INDEX, MAX_INDEX_BYTES, f"{where}:{HUB_INDEX}"), f"{where}:{HUB_INDEX}")
    wanted = _select(index, ids, where)
    limits = {f"entries/{i}.json": MAX_ENTRY_BYTES for i in wanted}
    limits.update({f"entries/{i}.safetensors": MAX_WEIGHTS_BYTES for i in wanted if index[i].weights_sha256})
    _check_sizes(sizes, limits, where)
    patterns = list(limits)
    folder = _snapshot(repo_id, commit, patterns, token, endpoint) if patterns else first
    verified = [_verify(folder, where, i, index[i]) for i in wanted]
    directory = into if into is not None else pulled_dir(repo_id, commit)
    _check_target(directory, verified)
    _write(directory, verified)
    return PullResult(
        repo_id=repo_id,
        commit=commit,
        directory=directory,
        ids=tuple(wanted),
        sha256={v.entry.id: v.entry.sha256 for v in verified},
        weights_sha256={v.entry.id: v.weights_sha256 for v in verified},
    )


def load_pulled(directory: str | os.PathLike[str], ref: str, *, trainable: bool | None = None, compile: bool = False) -> "SymbolicActivation":
    """A module from a pulled registry directory, weights checked against their sha256 record."""

    directory = Path(directory)
    entry = Registry(directory, include_env=False, include_bundled=False).resolve(ref)
    path = directory / f"{entry.id}.safetensors"
    expected = recorded_weights_sha256(path)
    state = None
    if expected:
        data = read_limited(path, MAX_WEIGHTS_BYTES, str(path))
        actual = sha256_bytes(data)
        if actual != expected:
            raise HubError(f"refused {path}: sha256 {actual[:12]}... does not match the pulled {expected[:12]}...")
        state = load_weights(entry, data, str(path))
    elif os.path.lexists(path):
        raise HubError(f"refused {path}: trained parameters without their sha256 record {weights_record(path).name}")
    return build_module(entry, state, trainable, compile)
