"""A small in-memory server that speaks the Hugging Face Hub's HTTP protocol on 127.0.0.1.

Only the endpoints that ``huggingface_hub``'s ``HfApi`` / ``hf_hub_download`` /
``snapshot_download`` call for models are implemented, with the Hub's semantics where the
client depends on them:

- ``POST /api/repos/create`` (409 when the repo exists; new repos get an initial commit)
- ``POST /api/validate-yaml`` (README front matter must be a YAML mapping)
- ``POST /api/models/{repo}/preupload/{rev}`` (always ``regular`` with the current blob oid,
  so files travel inline, never through LFS or Xet)
- ``POST /api/models/{repo}/commit/{rev}`` (NDJSON; ``parentCommit`` checked, 412 when stale)
- ``POST /api/models/{repo}/tag/{rev}`` (409 when the tag exists), ``GET .../refs``
- ``GET /api/models/{repo}[/revision/{rev}]`` (with ``?blobs=true``: each sibling's ``size``
  and ``blobId``, as ``model_info(files_metadata=True)`` asks) and ``GET .../tree/{rev}[/{path}]``
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit`` and ``ETag``

Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``,
``Unauthorized``) like the real Hub. Writes need ``Authorization: Bearer <token>`` of the
namespace's owner; private repos need it for reads too. Every request is logged in
:attr:`FakeHub.requests`, so a test can prove that something made no network call.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

_REPO = r"(?P<repo>[^/]+/[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/api/repos/create$"), "create_repo"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("GET", re.compile(r"^/api/whoami-v2$"), "whoami"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("POST", re.compile(rf"^/api/models/{_REPO}/tag/(?P<rev>[^/]+)$"), "tag"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/refs$"), "refs"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.+))?$"), "tree"),
    ("GET", re.compile(rf"^/api/models/{_REPO}/revision/(?P<rev>[^/]+)$"), "info"),
    ("GET", re.compile(rf"^/api/models/{_REPO}$"), "info"),
    ("HEAD", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
    ("GET", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$"), "resolve"),
]


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob (what the Hub reports as a regular file's ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    oid: str
    parent: str | None
    files: dict[str, bytes]
    title: str
    date: str


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class HubHTTPError(Exception):
    """Raised inside a handler: becomes an HTTP error response with the Hub's headers."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None,
                 body: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.body = dict(body or {})


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


class FakeHub:
    """The in-memory Hub. ``tokens`` maps each valid token to its user name."""

    def __init__(self, tokens: Mapping[str, str]):
        self.tokens = dict(tokens)
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        #: ``path -> size`` the metadata endpoints report instead of the truth: a Hub that lies.
        self.reported_sizes: dict[str, int] = {}
        self.lock = threading.RLock()
        self._counter = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FakeHub":
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- helpers for tests ---------------------------------------------------------------
    def head(self, repo_id: str, branch: str = "main") -> str:
        with self.lock:
            return self.repos[repo_id].branches[branch]

    def commit_count(self, repo_id: str) -> int:
        with self.lock:
            return len(self.repos[repo_id].commits)

    def file(self, repo_id: str, path: str, revision: str = "main") -> bytes:
        with self.lock:
            return self._commit(self.repos[repo_id], revision).files[path]

    def paths(self, repo_id: str, revision: str = "main") -> list[str]:
        with self.lock:
            return sorted(self._commit(self.repos[repo_id], revision).files)

    def tamper(self, repo_id: str, path: str, data: bytes, revision: str = "main") -> None:
        """Replace a stored file *in place* (no new commit): storage that lies."""
        with self.lock:
            self._commit(self.repos[repo_id], revision).files[path] = data

    def request_count(self) -> int:
        with self.lock:
            return len(self.requests)

    # -- protocol ------------------------------------------------------------------------
    def _user(self, headers: Mapping[str, str], required: bool) -> str | None:
        auth = headers.get("Authorization") or headers.get("authorization")
        if not auth:
            if required:
                raise HubHTTPError(401, "Authorization header is required", "Unauthorized",
                                   {"X-Error-Message": "Invalid credentials in Authorization header"})
            return None
        scheme, _, token = auth.partition(" ")
        user = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise HubHTTPError(401, "Invalid credentials in Authorization header", "Unauthorized",
                               {"X-Error-Message": "Invalid credentials in Authorization header"})
        return user

    def _repo(self, repo_id: str, headers: Mapping[str, str], write: bool) -> Repo:
        user = self._user(headers, required=write)
        repo = self.repos.get(repo_id)
        owner = repo_id.split("/", 1)[0]
        if repo is None or (repo.private and user != owner):
            raise HubHTTPError(404, "Repository not found", "RepoNotFound")
        if write and user != owner:
            raise HubHTTPError(403, f"You don't have the rights to write to {repo_id}", None,
                               {"X-Error-Message": f"You don't have the rights to write to {repo_id}"})
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        oid = repo.branches.get(revision) or repo.tags.get(revision)
        if oid is None and re.fullmatch(r"[0-9a-f]{40}", revision) and revision in repo.commits:
            oid = revision
        if oid is None:
            raise HubHTTPError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[oid]

    def _new_commit(self, repo: Repo, parent: str | None, files: dict[str, bytes], title: str) -> Commit:
        self._counter += 1
        digest = hashlib.sha1(f"{repo.repo_id}\0{parent}\0{title}\0{self._counter}".encode())
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + git_blob_oid(files[path]).encode())
        commit = Commit(digest.hexdigest(), parent, files, title, _now())
        repo.commits[commit.oid] = commit
        return commit

    # handlers: each returns (status, headers, body bytes)
    def create_repo(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        user = self._user(req.headers, required=True)
        body = req.json()
        name, org = body.get("name"), body.get("organization") or user
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}", name):
            raise HubHTTPError(400, f"invalid repo name {name!r}")
        if body.get("type", "model") != "model":
            raise HubHTTPError(400, "only model repos are implemented here")
        if org != user:
            raise HubHTTPError(403, f"You don't have the rights to create a model under the namespace {org!r}", None,
                               {"X-Error-Message": "You don't have the rights to create a model under this namespace"})
        repo_id = f"{org}/{name}"
        url = f"{req.base}/{repo_id}"
        if repo_id in self.repos:
            raise HubHTTPError(409, "You already created this model repo", None, None, {"url": url})
        repo = Repo(repo_id, private=body.get("visibility") == "private" or bool(body.get("private")))
        first = self._new_commit(repo, None, {".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n"}, "initial commit")
        repo.branches["main"] = first.oid
        self.repos[repo_id] = repo
        return _json(200, {"url": url, "name": repo_id, "id": repo_id})

    def validate_yaml(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        self._user(req.headers, required=False)
        content = req.json().get("content", "")
        errors: list[dict[str, str]] = []
        if content.startswith("---\n"):
            end = content.find("\n---\n", 4)
            if end < 0:
                errors.append({"message": "unterminated YAML front matter"})
            else:
                try:
                    meta = yaml.safe_load(content[4:end])
                except yaml.YAMLError as exc:
                    errors.append({"message": f"invalid YAML: {exc}"})
                else:
                    if not isinstance(meta, dict):
                        errors.append({"message": "YAML front matter must be a mapping"})
        if errors:
            return _json(400, {"errors": errors, "warnings": []}, {"X-Error-Message": errors[0]["message"]})
        return _json(200, {"errors": [], "warnings": []})

    def whoami(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        user = self._user(req.headers, required=True)
        return _json(200, {"type": "user", "name": user, "orgs": []})

    def preupload(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=True)
        current = self._commit(repo, req.params["rev"]).files
        files = []
        for item in req.json().get("files", []):
            data = current.get(item["path"])
            files.append({"path": item["path"], "uploadMode": "regular", "shouldIgnore": False,
                          "oid": git_blob_oid(data) if data is not None else None})
        return _json(200, {"files": files, "commitOid": self._commit(repo, req.params["rev"]).oid})

    def commit(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=True)
        branch = req.params["rev"]
        if branch not in repo.branches:
            raise HubHTTPError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
        lines = [json.loads(line) for line in req.body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubHTTPError(400, "the first NDJSON line must be the commit header")
        header = lines[0]["value"]
        head = repo.branches[branch]
        parent = header.get("parentCommit")
        if parent is not None and not head.startswith(parent):
            raise HubHTTPError(412, f"A commit has happened since {parent}; {branch} is at {head}")
        files = dict(repo.commits[head].files)
        for line in lines[1:]:
            key, value = line.get("key"), line.get("value", {})
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubHTTPError(400, "only base64 file content is implemented")
                files[value["path"]] = base64.b64decode(value["content"], validate=True)
            elif key == "deletedFile":
                if value["path"] not in files:
                    raise HubHTTPError(404, "A file with this name doesn't exist", "EntryNotFound")
                del files[value["path"]]
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                files = {p: d for p, d in files.items() if not p.startswith(prefix)}
            else:
                raise HubHTTPError(400, f"commit operation {key!r} is not implemented by this server (LFS/Xet)")
        commit = self._new_commit(repo, head, files, header.get("summary", ""))
        repo.branches[branch] = commit.oid
        return _json(200, {"success": True, "commitOid": commit.oid, "commitUrl": f"{req.base}/{repo.repo_id}/commit/{commit.oid}",
                           "pullRequestUrl": None})

    def tag(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=True)
        commit = self._commit(repo, req.params["rev"])
        name = req.json().get("tag")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}", name):
            raise HubHTTPError(400, f"invalid tag name {name!r}")
        if name in repo.tags:
            raise HubHTTPError(409, f"Tag {name} already exists")
        repo.tags[name] = commit.oid
        return _json(200, {})

    def refs(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=False)
        ref = lambda kind, name, oid: {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": oid}  # noqa: E731
        return _json(200, {"branches": [ref("heads", n, o) for n, o in sorted(repo.branches.items())],
                           "converts": [], "tags": [ref("tags", n, o) for n, o in sorted(repo.tags.items())],
                           "pullRequests": []})

    def tree(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=False)
        files = self._commit(repo, req.params["rev"]).files
        base = (req.params.get("path") or "").strip("/")
        prefix = base + "/" if base else ""
        recursive = req.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        under = {p: d for p, d in files.items() if p.startswith(prefix)}
        if base and not under:
            raise HubHTTPError(404, f"{base} does not exist", "EntryNotFound")
        out: dict[str, dict[str, Any]] = {}
        for path, data in sorted(under.items()):
            rest = path[len(prefix):].split("/")
            for depth in range(1, len(rest)):
                folder = prefix + "/".join(rest[:depth])
                if depth == 1 or recursive:
                    out.setdefault(folder, {"type": "directory", "path": folder, "size": 0,
                                            "oid": hashlib.sha1(folder.encode()).hexdigest()})
            if len(rest) == 1 or recursive:
                out[path] = {"type": "file", "path": path, "size": self.reported_sizes.get(path, len(data)), "oid": git_blob_oid(data)}
        return _json(200, list(out.values()))

    def info(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=False)
        commit = self._commit(repo, req.params.get("rev") or "main")
        blobs = req.query.get("blobs", ["false"])[0].lower() in ("1", "true")
        siblings = [{"rfilename": p, **({"size": self.reported_sizes.get(p, len(d)), "blobId": git_blob_oid(d)} if blobs else {})}
                    for p, d in sorted(commit.files.items())]
        return _json(200, {"id": repo.repo_id, "modelId": repo.repo_id, "sha": commit.oid, "private": repo.private,
                           "lastModified": commit.date, "tags": [], "siblings": siblings})

    def resolve(self, req: "_Request") -> tuple[int, dict[str, str], bytes]:
        repo = self._repo(req.params["repo"], req.headers, write=False)
        commit = self._commit(repo, req.params["rev"])
        data = commit.files.get(req.params["path"])
        if data is None:
            raise HubHTTPError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{git_blob_oid(data)}"', "Content-Type": "application/octet-stream"}
        return 200, headers, data


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode()


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str]
    base: str

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except json.JSONDecodeError as exc:
            raise HubHTTPError(400, f"invalid JSON body: {exc}") from None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_hub: FakeHub

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        hub = self.server_hub
        split = urlsplit(self.path)
        body = self._read_body()
        with hub.lock:
            hub.requests.append((self.command, split.path))
        status, headers, payload = 404, {"X-Error-Code": "RepoNotFound"}, b'{"error": "not found"}'
        for method, pattern, name in _ROUTES:
            match = pattern.match(split.path)
            if match and method == self.command:
                params = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
                host, port = self.server.server_address[:2]
                req = _Request(self.command, split.path, parse_qs(split.query), self.headers, body, params, f"http://{host}:{port}")
                try:
                    with hub.lock:
                        status, headers, payload = getattr(hub, name)(req)
                except HubHTTPError as err:
                    headers = {"Content-Type": "application/json", **err.headers}
                    if err.code:
                        headers["X-Error-Code"] = err.code
                    headers.setdefault("X-Error-Message", err.message)
                    status, payload = err.status, json.dumps({"error": err.message, **err.body}).encode()
                break
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _dispatch
