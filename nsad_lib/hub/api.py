"""Share registry entries through the Hugging Face Hub: push, pull pinned by revision, ``get``.

A Hub repository written by nsad-lib holds::

    nsad-index.json            {"schema": 1, "library": "nsad-lib",
                                "entries": {id: {"sha256": ..., "weights_sha256": ... | null}}}
    entries/<id>.json          the entry, byte for byte ``Entry.to_json()``
    entries/<id>.safetensors   trained parameters (optional; a safetensors state dict)
    plots/<id>.png             f and f' (shown in the model card)
    README.md                  the generated model card
    tag <id>                   the commit that published the entry, so a pull can pin it

Nothing pulled is executed: entry files go through ``Entry.from_json`` (safe formula parser,
content hash), weights through safetensors only, and every hash is checked against the Hub
index *before* anything is written locally. A pulled repository becomes an ordinary registry
directory (``~/.cache/nsad-lib/hub/<owner>/<repo>/<commit>`` by default); trained
parameters sit beside their entry as ``<id>.safetensors`` with a ``<id>.safetensors.sha256``
record (``sha256sum`` format) that every load checks.

``huggingface_hub`` is imported inside functions only, so ``import nsad_lib`` stays light.
The endpoint is ``endpoint=`` when given, else ``HF_ENDPOINT`` read at call time, else the
real Hub; tokens are ``token=``, else ``HF_TOKEN``, else the stored ``hf auth login`` token.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from nsad_lib.hub._common import (  # noqa: F401  (re-exported: the hub's public names)
    COMMIT_RE,
    HUB_INDEX,
    MAX_WEIGHTS_BYTES,
    REF_PREFIX,
    HubError,
    HubRef,
    IndexItem,
    PullResult,
    PushResult,
    cache_root,
    parse_ref,
    parse_repo_spec,
    pulled_dir,
)
from nsad_lib.hub.pull import load_pulled
from nsad_lib.hub.pull import pull as _pull
from nsad_lib.hub.push import push as _push
from nsad_lib.hub.refs import pin
from nsad_lib.registry.resolve import register_scheme

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.nn.activation import SymbolicActivation
    from nsad_lib.registry.store import Registry

__all__ = [
    "HUB_INDEX",
    "HubError",
    "HubRef",
    "PullResult",
    "PushResult",
    "cache_root",
    "get_from_hub",
    "load_pulled",
    "parse_ref",
    "parse_repo_spec",
    "pull",
    "push_to_hub",
]


# -- public operations (implemented in hub/push.py and hub/pull.py) ---------------------------
def push_to_hub(
    ids: str | Sequence[str],
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
    weights: Mapping[str, Any] | None = None,
    registry: "Registry | None" = None,
    endpoint: str | None = None,
) -> PushResult:
    """Publish entries to ``repo_id``: files, index, model card, and a tag per entry id.

    ``weights`` maps an id to trained parameters (a module, a state dict or a .safetensors
    path). Unchanged content makes no commit; an id that exists remotely with different
    content is refused (publish a new version instead).
    """
    return _push(
        [ids] if isinstance(ids, str) else list(ids), repo_id, token=token, private=private,
        commit_message=commit_message, weights=weights or {}, registry=registry, endpoint=endpoint,
    )


def pull(
    repo_id: str,
    *,
    revision: str | None = None,
    into: str | os.PathLike[str] | None = None,
    ids: Sequence[str] | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> PullResult:
    """Download entries (all, or ``ids``) at ``revision``, verify every hash, then write them.

    ``revision`` is a tag (an entry id), a branch or a commit; the default target is the
    cache directory of the resolved commit. With ``HF_HUB_OFFLINE=1`` a revision pulled
    before is served from the Hugging Face cache.
    """
    return _pull(repo_id, revision=revision, into=Path(into).expanduser() if into is not None else None, ids=ids, token=token, endpoint=endpoint)


def get_from_hub(ref: str, *, trainable: bool | None = None, compile: bool = False, endpoint: str | None = None) -> "SymbolicActivation":
    """``get("hf://owner/repo/ID[@REV]")``: pull (or reuse the cache), verify, build the module."""
    hub_ref = parse_ref(ref)
    if hub_ref.revision and COMMIT_RE.match(hub_ref.revision):
        # A commit is immutable: a verified copy already pulled needs no network at all.
        directory = pulled_dir(hub_ref.repo_id, hub_ref.revision)
        if (directory / f"{hub_ref.entry}.json").is_file():
            return load_pulled(directory, hub_ref.entry, trainable=trainable, compile=compile)
    result = pull(hub_ref.repo_id, revision=hub_ref.revision, ids=[hub_ref.entry], endpoint=endpoint)
    return load_pulled(result.directory, result.ids[0], trainable=trainable, compile=compile)


register_scheme("hf", get_from_hub, pin=pin)
