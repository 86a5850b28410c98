"""Push entries to a Hub repository: read the remote state, refuse conflicts, commit the diff.

Order matters: the token is checked before any network call; the remote index, files and
tags are read and every pushed id compared with what is already published *before*
anything is uploaded; only files whose bytes differ are committed (none: no commit), on
top of the head that was read (``parent_commit``), so a concurrent push fails instead of
being overwritten. Each pushed id then gets a tag on a commit that contains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from nsad_lib.errors import EntryError
from nsad_lib.hub._common import (
    HUB_INDEX,
    MAX_ENTRY_BYTES,
    MAX_WEIGHTS_BYTES,
    HubError,
    IndexItem,
    PushResult,
    check_repo_id,
    discard_cached,
    endpoint_or_default,
    git_blob_oid,
    hf_cache_dir,
    hub_errors,
    parse_hub_index,
    read_limited,
    render_hub_index,
    resolve_token,
    sha256_bytes,
)
from nsad_lib.hub.weights import load_weights, weights_bytes
from nsad_lib.registry.entry import Entry

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.registry.store import Registry

__all__ = ["push"]


@dataclass(frozen=True)
class _Local:
    entry: Entry
    data: bytes
    weights: bytes | None

    @property
    def weights_sha256(self) -> str | None:
        return sha256_bytes(self.weights) if self.weights is not None else None


def _same(remote: Any, data: bytes) -> bool:
    """Whether a remote tree file holds exactly ``data`` (LFS files compare by sha256)."""
    if getattr(remote, "lfs", None) is not None:
        return remote.lfs.sha256 == sha256_bytes(data)
    return remote.blob_id == git_blob_oid(data)


def _locals(refs: Sequence[str], weights: Mapping[str, Any], registry: "Registry | None") -> dict[str, _Local]:
    from nsad_lib.registry.store import Registry

    reg = registry if registry is not None else Registry()
    entries: dict[str, Entry] = {}
    for ref in refs:
        entry = reg.resolve(ref)
        entries.setdefault(entry.id, entry)
    if not entries:
        raise HubError("nothing to push: give at least one entry id")
    unknown = sorted(set(weights) - set(entries))
    if unknown:
        raise HubError(f"weights given for {', '.join(unknown)}, which is not among the pushed ids ({', '.join(entries)})")
    return {
        i: _Local(e, e.to_json().encode("utf-8"), weights_bytes(e, weights[i]) if i in weights else None)
        for i, e in entries.items()
    }


def _conflicts(repo_id: str, local: dict[str, _Local], remote_files: Mapping[str, Any], remote_index: Mapping[str, IndexItem],
               fetch: Callable[[str], bytes]) -> None:
    """Refuse ids already published with a different entry or different trained parameters."""
    for entry_id, item in local.items():
        path, wpath = f"entries/{entry_id}.json", f"entries/{entry_id}.safetensors"
        remote_sha = remote_index[entry_id].sha256 if entry_id in remote_index else None
        if path in remote_files:
            if _same(remote_files[path], item.data):
                remote_sha = item.entry.sha256
            else:
                try:
                    remote_sha = Entry.from_json(fetch(path).decode("utf-8"), source=f"{repo_id}:{path}").sha256
                except (EntryError, UnicodeDecodeError) as exc:
                    raise HubError(f"{repo_id}:{path} on the Hub is not a valid entry ({exc}); refusing to overwrite it") from None
        if remote_sha is None:
            continue
        name, version = item.entry.name, item.entry.version
        advice = f"published ids are immutable: create a new version ({name}-v{version + 1}) and push that"
        if remote_sha != item.entry.sha256:
            raise HubError(f"entry {entry_id!r} already exists in {repo_id} with different content "
                           f"(remote {remote_sha[:12]}..., local {item.entry.sha256[:12]}...); {advice}")
        if wpath in remote_files:
            remote_w = item.weights_sha256 if item.weights is not None and _same(remote_files[wpath], item.weights) else sha256_bytes(fetch(wpath))
        else:
            remote_w = remote_index[entry_id].weights_sha256 if entry_id in remote_index else None
        if remote_w != item.weights_sha256:
            have = lambda s: f"sha256 {s[:12]}..." if s else "none"  # noqa: E731
            raise HubError(f"entry {entry_id!r} already exists in {repo_id} with different trained parameters "
                           f"(remote {have(remote_w)}, local {have(item.weights_sha256)}); {advice}")


@dataclass
class _Remote:
    """What the repository holds at ``head``: files, index, tags, and the entries not being pushed."""

    head: str
    files: dict[str, Any]
    index: dict[str, IndexItem]
    tags: set[str]
    others: list[Entry]


def _read_remote(api: Any, repo_id: str, local: dict[str, _Local]) -> _Remote:
    """Read the repository's state (sizes checked before any download) and refuse conflicting ids."""
    from huggingface_hub.hf_api import RepoFile

    head = api.repo_info(repo_id, revision="main").sha
    remote_files = {f.path: f for f in api.list_repo_tree(repo_id, recursive=True, revision=head) if isinstance(f, RepoFile)}
    tags = {t.name for t in api.list_repo_refs(repo_id).tags}

    def fetch(path: str) -> bytes:
        limit = MAX_WEIGHTS_BYTES if path.endswith(".safetensors") else MAX_ENTRY_BYTES
        known = remote_files.get(path)
        if known is not None and isinstance(known.size, int) and known.size > limit:  # refused before downloading
            raise HubError(f"refused {repo_id}:{path}: {known.size} bytes is more than the {limit}-byte limit")
        local_path = api.hf_hub_download(repo_id, path, revision=head, cache_dir=hf_cache_dir())
        try:
            return read_limited(Path(local_path), limit, f"{repo_id}:{path}")
        except HubError:
            discard_cached(Path(local_path))
            raise

    if HUB_INDEX not in remote_files and "README.md" in remote_files:
        raise HubError(f"{repo_id} has a README.md but no {HUB_INDEX}: it is not an nsad-lib repository and a push would "
                       "replace its model card; push to a dedicated repository")
    remote_index = parse_hub_index(fetch(HUB_INDEX), f"{repo_id}:{HUB_INDEX}") if HUB_INDEX in remote_files else {}
    _conflicts(repo_id, local, remote_files, remote_index, fetch)
    others = []
    for entry_id in sorted(set(remote_index) - set(local)):
        path = f"entries/{entry_id}.json"
        try:
            others.append(Entry.from_json(fetch(path).decode("utf-8"), source=f"{repo_id}:{path}"))
        except (EntryError, UnicodeDecodeError) as exc:
            raise HubError(f"{repo_id}:{path} on the Hub is not a valid entry ({exc}); fix the repository before pushing") from None
    return _Remote(head, remote_files, remote_index, tags, others)


def _files_to_publish(repo_id: str, local: dict[str, _Local], remote: _Remote) -> dict[str, bytes]:
    """Every file the repository should hold after the push: entries, weights, plots, index, card."""
    from nsad_lib.hub.card import render_card, render_plot

    index = dict(remote.index)
    files: dict[str, bytes] = {}
    for entry_id, item in local.items():
        index[entry_id] = IndexItem(item.entry.sha256, item.weights_sha256)
        files[f"entries/{entry_id}.json"] = item.data
        if item.weights is not None:
            files[f"entries/{entry_id}.safetensors"] = item.weights
        plot = f"plots/{entry_id}.png"
        if plot not in remote.files:  # plots are derived: never re-render a published one
            values = {k: float(v) for k, v in load_weights(item.entry, item.weights, "weights").items()} if item.weights else None
            files[plot] = render_plot(item.entry, values)
    index = dict(sorted(index.items()))
    files[HUB_INDEX] = render_hub_index(index)
    plots = {i for i in index if f"plots/{i}.png" in remote.files or f"plots/{i}.png" in files}
    card_entries = [item.entry for item in local.values()] + remote.others
    files["README.md"] = render_card(repo_id, card_entries, {k: v.weights_sha256 for k, v in index.items()}, plots).encode("utf-8")
    return files


def push(
    refs: Sequence[str],
    repo_id: str,
    *,
    token: str | None,
    private: bool,
    commit_message: str | None,
    weights: Mapping[str, Any],
    registry: "Registry | None",
    endpoint: str | None,
) -> PushResult:
    """See :func:`nsad_lib.hub.api.push_to_hub`: read the remote, build the files, commit what changed, tag."""
    from huggingface_hub import CommitOperationAdd, HfApi

    from nsad_lib import __version__

    check_repo_id(repo_id)
    token = resolve_token(token)
    local = _locals(refs, weights, registry)
    endpoint = endpoint_or_default(endpoint)
    api = HfApi(endpoint=endpoint, token=token, library_name="nsad-lib", library_version=__version__)
    action = f"push to {repo_id}"
    with hub_errors(action, repo_id):
        url = str(api.create_repo(repo_id, private=private, exist_ok=True))
        remote = _read_remote(api, repo_id, local)
    files = _files_to_publish(repo_id, local, remote)
    changed = sorted(p for p, data in files.items() if p not in remote.files or not _same(remote.files[p], data))

    with hub_errors(action, repo_id):
        commit, committed = remote.head, False
        if changed:
            message = commit_message or f"nsad-lib: publish {', '.join(local)}"
            info = api.create_commit(repo_id, [CommitOperationAdd(p, files[p]) for p in changed], commit_message=message,
                                     parent_commit=remote.head)
            commit, committed = info.oid, True
        created = []
        for entry_id in local:
            if entry_id not in remote.tags:
                api.create_tag(repo_id, tag=entry_id, revision=commit, tag_message=f"nsad-lib entry {entry_id} (sha256 {local[entry_id].entry.sha256})")
                created.append(entry_id)
    return PushResult(repo_id, commit, committed, tuple(local), tuple(created), tuple(changed), url)
