"""What every hub module shares: limits, the ``hf://`` reference grammar, the index format,
cache paths, tokens and the translation of ``huggingface_hub`` failures into :class:`HubError`.

The public operations live in :mod:`nsad_lib.hub.api`; this module imports none of them, so
the push, pull, weights and lock-file modules can import it without a cycle.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

from nsad_lib.errors import EntryError, HubError, NsadError  # noqa: F401  (HubError: re-exported)
from nsad_lib.registry.entry import MAX_ENTRY_BYTES, MAX_INDEX_BYTES, json_error_detail, split_id  # noqa: F401  (limits: re-exported)
from nsad_lib.util.paths import UnsafeFileError, read_bounded, user_cache_dir

HUB_INDEX = "nsad-index.json"
REF_PREFIX = "hf://"
MAX_WEIGHTS_BYTES = 64 << 20
"""Largest trained-parameters file (``entries/<id>.safetensors``) downloaded or read, in bytes."""
MAX_RECORD_BYTES = 4096
"""Largest ``<id>.safetensors.sha256`` record read, in bytes."""
CACHE_ENV = "NSAD_HUB_CACHE"
_REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class IndexItem(NamedTuple):
    """One line of ``nsad-index.json``: the entry's hash and its weights' sha256 (or None)."""

    sha256: str
    weights_sha256: str | None


@dataclass(frozen=True)
class HubRef:
    """A parsed ``hf://owner/repo/ID[@REVISION]`` reference."""

    repo_id: str
    entry: str
    revision: str | None = None


@dataclass(frozen=True)
class PushResult:
    """What a push did: the commit now holding the entries, whether it is new, tags made."""

    repo_id: str
    commit: str
    committed: bool
    ids: tuple[str, ...]
    tags_created: tuple[str, ...]
    files_changed: tuple[str, ...]
    url: str


@dataclass(frozen=True)
class PullResult:
    """What a pull wrote: the registry directory and, per id, the verified hashes."""

    repo_id: str
    commit: str
    directory: Path
    ids: tuple[str, ...]
    sha256: Mapping[str, str]
    weights_sha256: Mapping[str, str | None]


# -- references and configuration ----------------------------------------------------------
def check_repo_id(repo_id: str) -> str:
    """``owner/name`` or a :class:`HubError` (repo ids also become cache paths)."""
    if not isinstance(repo_id, str) or not _REPO_RE.match(repo_id) or ".." in repo_id:
        raise HubError(f"invalid Hub repository {repo_id!r}: expected OWNER/NAME (letters, digits, '.', '_', '-')")
    return repo_id


def parse_repo_spec(spec: str) -> tuple[str, str | None]:
    """``owner/name[@revision]`` -> ``(repo_id, revision)``."""
    repo, sep, revision = spec.partition("@")
    if sep and not revision:
        raise HubError(f"empty revision in {spec!r}: use OWNER/NAME@REVISION (a tag, branch or commit)")
    return check_repo_id(repo), (revision or None)


def parse_ref(ref: str) -> HubRef:
    """``hf://owner/repo/ID[@REVISION]`` -> :class:`HubRef` (ID may be a name: latest version)."""
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        raise HubError(f"not a Hub reference: {ref!r} (expected hf://OWNER/REPO/ID[@REVISION])")
    path, sep, revision = ref[len(REF_PREFIX):].partition("@")
    parts = path.split("/")
    if len(parts) != 3 or not all(parts) or (sep and not revision):
        raise HubError(f"malformed Hub reference {ref!r}: expected hf://OWNER/REPO/ID[@REVISION]")
    return HubRef(check_repo_id(f"{parts[0]}/{parts[1]}"), parts[2], revision or None)


def endpoint_or_default(endpoint: str | None) -> str | None:
    """``endpoint``, else ``HF_ENDPOINT`` read now (not at import), else None (the real Hub)."""
    value = endpoint or os.environ.get("HF_ENDPOINT") or None
    return value.rstrip("/") if value else None


def hf_cache_dir() -> str | None:
    """The Hugging Face cache read from the environment at call time (None: library default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]).expanduser() / "hub")
    return None


def cache_root() -> Path:
    """Where pulled registries live: ``NSAD_HUB_CACHE``, else ``$XDG_CACHE_HOME/nsad-lib/hub``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return user_cache_dir("hub")


def pulled_dir(repo_id: str, commit: str) -> Path:
    """The default registry directory for one pulled commit."""
    if not COMMIT_RE.match(commit):
        raise HubError(f"not a full commit hash: {commit!r}")
    owner, name = check_repo_id(repo_id).split("/")
    return cache_root() / owner / name / commit


def resolve_token(token: str | None) -> str:
    """A write token: ``token``, else ``HF_TOKEN``, else the stored login; fails clearly."""
    if token:
        return token
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise HubError(
            "no Hugging Face token: set HF_TOKEN or log in with `hf auth login` "
            "(`huggingface-cli login` in older releases); pushing needs a token with write access"
        )
    return found


# -- hashing, files, errors ---------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob_oid(data: bytes) -> str:
    """The git object id the Hub reports for a regular (non-LFS) file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def read_limited(path: Path, limit: int, where: str) -> bytes:
    """Read a downloaded or pulled file: a regular file of at most ``limit`` bytes, else :class:`HubError`."""
    try:
        return read_bounded(path, limit)
    except UnsafeFileError as exc:
        raise HubError(f"refused {where}: {exc}") from None
    except FileNotFoundError:
        raise HubError(f"refused {where}: the file is missing from the download") from None
    except OSError as exc:
        raise HubError(f"{where}: cannot read {path}: {exc}") from None


def discard_cached(path: Path) -> None:
    """Remove a refused download from the Hugging Face cache: the snapshot link and its blob.

    Snapshot folders hold symlinks into ``blobs/``; where symlinks are unavailable the file
    itself is the copy. Only a link target inside a ``blobs`` folder is removed.
    """
    with contextlib.suppress(OSError):
        if path.is_symlink():
            target = Path(os.path.realpath(path))
            if target.parent.name == "blobs":
                target.unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def transport_errors() -> tuple[type[BaseException], ...]:
    """The exception types of "the Hub cannot be reached" (offline mode, network failures)."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    found: tuple[type[BaseException], ...] = (OfflineModeIsEnabled,)
    try:
        import httpx2

        found += (httpx2.TransportError,)
    except ImportError:  # pragma: no cover - older huggingface_hub uses requests/httpx
        pass
    return found


@contextlib.contextmanager
def hub_errors(action: str, repo_id: str) -> Iterator[None]:
    """Turn ``huggingface_hub``/network failures into one-line :class:`HubError` messages."""
    from huggingface_hub import errors as hf_errors
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    # huggingface_hub >= 1.0 splits remote and local "entry not found"; older releases do not.
    remote_missing = getattr(hf_errors, "RemoteEntryNotFoundError", hf_errors.EntryNotFoundError)
    try:
        import httpx2

        transport: tuple[type[BaseException], ...] = (httpx2.TransportError,)
    except ImportError:  # pragma: no cover - older huggingface_hub uses requests/httpx
        transport = ()
    try:
        yield
    except HubError:
        raise
    except (OfflineModeIsEnabled, LocalEntryNotFoundError):
        raise HubError(
            f"{action}: {repo_id} is not in the local cache and the Hub cannot be used (offline, HF_HUB_OFFLINE=1 or unreachable); "
            "pull it once while online"
        ) from None
    except RevisionNotFoundError:
        raise HubError(f"{action}: that revision does not exist in {repo_id} (use a tag such as an entry id, a branch or a commit)") from None
    except remote_missing as exc:
        response = getattr(exc, "response", None)
        raise HubError(f"{action}: file not found in {repo_id} ({getattr(response, 'url', exc)})") from None
    except RepositoryNotFoundError:
        raise HubError(f"{action}: repository {repo_id} not found (or it is private and your token cannot read it)") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code
        detail = (exc.server_message or "").strip().splitlines()[0] if exc.server_message else ""
        if status == 401:
            raise HubError(f"{action}: the Hub refused the token (401{': ' + detail if detail else ''}); check HF_TOKEN or `hf auth login`") from None
        if status == 403:
            raise HubError(
                f"{action}: not allowed on {repo_id} (403{': ' + detail if detail else ''}); the token needs write access to that namespace"
            ) from None
        if status in (409, 412):
            raise HubError(f"{action}: {repo_id} changed while we worked ({status}{': ' + detail if detail else ''}); run the command again") from None
        raise HubError(f"{action}: the Hub answered {status}{': ' + detail if detail else ''}") from None
    except transport as exc:
        raise HubError(f"{action}: cannot reach the Hub ({type(exc).__name__}: {exc})") from None


# -- the Hub index ------------------------------------------------------------------------
def parse_hub_index(data: bytes, where: str) -> dict[str, IndexItem]:
    """Parse ``nsad-index.json`` strictly: ids are checked before they name any path."""
    try:
        raw = json.loads(data.decode("utf-8"))
    except RecursionError:
        raise HubError(f"refused {where}: not valid JSON: nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(f"refused {where}: not valid JSON: {exc}") from None
    except ValueError as exc:  # Python's int-string limit: a number literal with thousands of digits
        raise HubError(f"refused {where}: not a valid nsad-lib index: {json_error_detail(exc)}") from None
    entries = raw.get("entries") if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or raw.get("schema") != 1:
        raise HubError(f"refused {where}: not an nsad-lib index (schema 1 with an 'entries' object)")
    out: dict[str, IndexItem] = {}
    for entry_id, item in entries.items():
        try:
            split_id(entry_id)
        except EntryError as exc:
            raise HubError(f"refused {where}: {exc}") from None
        sha = item.get("sha256") if isinstance(item, dict) else None
        wsha = item.get("weights_sha256") if isinstance(item, dict) else None
        if not isinstance(sha, str) or not SHA256_RE.match(sha) or not (wsha is None or (isinstance(wsha, str) and SHA256_RE.match(wsha))):
            raise HubError(f"refused {where}: entry {entry_id!r} needs a sha256 and a weights_sha256 (hex or null)")
        out[entry_id] = IndexItem(sha, wsha)
    return out


def render_hub_index(items: Mapping[str, IndexItem]) -> bytes:
    data = {"schema": 1, "library": "nsad-lib", "entries": {k: {"sha256": v.sha256, "weights_sha256": v.weights_sha256} for k, v in items.items()}}
    return (json.dumps(data, sort_keys=True, indent=2) + "\n").encode("utf-8")
