"""Hub push/pull/lock end to end, with the real ``huggingface_hub`` client against a local fake Hub.

Nothing here reaches the network: the fake server (tests/hub_server.py) listens on 127.0.0.1,
the client is pointed at it with ``HF_ENDPOINT`` (read by nsad-lib at call time), and every
cache lives under ``tmp_path``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch  # noqa: E402
import yaml  # noqa: E402
from safetensors.torch import load as st_load  # noqa: E402
from safetensors.torch import save as st_save  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hostile_entries import HOSTILE_ENTRIES, HOSTILE_FILES, run_bounded  # noqa: E402
from hub_server import FakeHub  # noqa: E402

import nsad_lib  # noqa: E402
from nsad_lib.cli import main  # noqa: E402
from nsad_lib.errors import EntryError  # noqa: E402
from nsad_lib.hub.api import HUB_INDEX, HubError, get_from_hub, parse_ref, pull, push_to_hub  # noqa: E402
from nsad_lib.hub.lockfile import lock, read_lock, verify_lock  # noqa: E402
from nsad_lib.nn.activation import SymbolicActivation  # noqa: E402
from nsad_lib.registry.entry import Entry  # noqa: E402
from nsad_lib.registry.store import LOCK_FILE, Registry  # noqa: E402

TOKEN = "hf_test_alice"
REPO = "alice/acts"
HIGGS = "hajbi2026-higgs-fig-v1"
SILU = "silu-v1"
X = torch.linspace(-6.0, 6.0, 1001)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fresh fake Hub and an isolated environment (caches, endpoint, no token)."""
    server = FakeHub({TOKEN: "alice", "hf_test_bob": "bob"}).start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("NSAD_HUB_CACHE", str(tmp_path / "nsad-hub"))
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))  # no stored login
    yield server
    server.stop()


@pytest.fixture
def trained(tmp_path):
    """A trainable entry in a temporary registry and a module whose constants were trained."""
    registry_dir = tmp_path / "registry"
    entry = Entry.create(
        "tanhmix", 1, "a*x + tanh(b*x)", parameters={"a": 0.5, "b": 1.0}, trainable=True,
        summary="test entry with trainable constants",
        domains={"source": "continuous", "transfers": [{"dataset": "forest", "domain": "continuous", "verdict": "transfers",
                                                         "evidence": {"accuracy": 0.83, "seeds": 3}}]},
        provenance={"license": "MIT", "dataset": {"name": "synthetic", "rows": 64}, "method": {"strategy": "test"}},
    )
    registry = Registry(registry_dir, include_env=False)
    registry.add(entry)
    module = SymbolicActivation(entry.formula_object(), trainable=True, name=entry.id)
    opt = torch.optim.SGD(module.parameters(), lr=0.1)
    x = torch.linspace(-3, 3, 64)
    for _ in range(5):
        opt.zero_grad()
        loss = ((module(x) - torch.sin(x)) ** 2).mean()
        loss.backward()
        opt.step()
    assert module.parameter_values() != entry.parameters  # training really changed the constants
    return registry, entry, module


def hub_json(server, path, revision="main"):
    return json.loads(server.file(REPO, path, revision))


def tags(server):
    return dict(server.repos[REPO].tags)


# -- push ---------------------------------------------------------------------------------
def test_push_writes_entries_index_plots_card_and_tags(hub):
    result = push_to_hub([HIGGS, SILU], REPO, token=TOKEN)
    assert result.committed and result.commit == hub.head(REPO)
    assert set(result.tags_created) == {HIGGS, SILU} and tags(hub) == {HIGGS: result.commit, SILU: result.commit}
    bundled = Registry(include_env=False)
    for entry_id in (HIGGS, SILU):
        assert hub.file(REPO, f"entries/{entry_id}.json") == bundled.resolve(entry_id).to_json().encode()
        assert hub.file(REPO, f"plots/{entry_id}.png")[:8] == b"\x89PNG\r\n\x1a\n"
    index = hub_json(hub, HUB_INDEX)
    assert index["entries"] == {i: {"sha256": bundled.resolve(i).sha256, "weights_sha256": None} for i in (HIGGS, SILU)}
    assert ("POST", "/api/validate-yaml") in hub.requests  # the client validated the card's metadata


def test_model_card_is_yaml_front_matter_plus_markdown(hub):
    push_to_hub([HIGGS], REPO, token=TOKEN)
    card = hub.file(REPO, "README.md").decode()
    assert card.startswith("---\n")
    front, body = card[4:].split("\n---\n", 1)
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "nsad-lib"
    assert {"nsad-lib", "activation-function", "symbolic-regression"} <= set(meta["tags"])
    assert meta["license"] == "cc-by-4.0"  # the entry's CC-BY-4.0, as a Hub license id
    latex = Registry(include_env=False).resolve(HIGGS).formula_object().latex()
    assert f"f(x) = {latex}" in body
    assert f"](plots/{HIGGS}.png)" in body and "### Provenance" in body and "Source domain: **continuous**" in body
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(hub.file(REPO, f"plots/{HIGGS}.png")), format="png")
    assert image.shape[0] > 100 and image.shape[1] > 100
    push_to_hub([SILU], REPO, token=TOKEN)  # CC-BY-4.0 + CC0-1.0 -> mixed
    meta = yaml.safe_load(hub.file(REPO, "README.md").decode()[4:].split("\n---\n", 1)[0])
    assert meta["license"] == "other"


def test_repush_of_unchanged_content_makes_no_commit(hub):
    first = push_to_hub([HIGGS, SILU], REPO, token=TOKEN)
    count, seen = hub.commit_count(REPO), hub.request_count()
    again = push_to_hub([HIGGS, SILU], REPO, token=TOKEN)
    assert not again.committed and again.commit == first.commit and again.files_changed == () and again.tags_created == ()
    assert hub.commit_count(REPO) == count and hub.head(REPO) == first.commit
    methods = [(m, p.rsplit("/", 2)[-2]) for m, p in hub.requests[seen:] if p.startswith("/api/models/")]
    assert ("POST", "commit") not in methods and ("POST", "tag") not in methods and ("POST", "preupload") not in methods


def test_adding_an_entry_keeps_the_others_and_their_tags(hub):
    first = push_to_hub([HIGGS], REPO, token=TOKEN)
    second = push_to_hub([SILU], REPO, token=TOKEN)
    assert second.committed and second.commit != first.commit
    assert tags(hub) == {HIGGS: first.commit, SILU: second.commit}
    assert set(hub_json(hub, HUB_INDEX)["entries"]) == {HIGGS, SILU}
    assert second.files_changed == ("README.md", f"entries/{SILU}.json", HUB_INDEX, f"plots/{SILU}.png")


# -- the acceptance path: push -> pull -> get() -> forward ---------------------------------
def test_trained_parameters_round_trip_exactly(hub, trained, tmp_path):
    registry, entry, module = trained
    result = push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    blob = hub.file(REPO, f"entries/{entry.id}.safetensors")
    assert hub_json(hub, HUB_INDEX)["entries"][entry.id]["weights_sha256"] == hashlib.sha256(blob).hexdigest()
    stored = st_load(blob)
    assert set(stored) == {"a", "b"} and all(torch.equal(stored[k], v) for k, v in module.state_dict().items())
    pulled = pull(REPO, revision=entry.id, into=tmp_path / "project-registry")
    assert pulled.commit == result.commit and pulled.ids == (entry.id,)
    assert pulled.weights_sha256[entry.id] == hashlib.sha256(blob).hexdigest()
    assert (tmp_path / "project-registry" / f"{entry.id}.safetensors").read_bytes() == blob

    act = nsad_lib.get(f"hf://{REPO}/{entry.id}@{entry.id}")
    assert isinstance(act, SymbolicActivation) and act is not nsad_lib.get(f"hf://{REPO}/{entry.id}@{entry.id}")
    with torch.no_grad():
        assert torch.equal(act(X), module(X))
    assert act.parameter_values() == module.parameter_values() and act.trainable
    y = act(X.clone().requires_grad_(True)).sum()
    y.backward()  # still a trainable module
    assert all(p.grad is not None for p in act.parameters())


def test_get_by_name_and_untrained_entry_matches_bundled_module(hub):
    push_to_hub([HIGGS], REPO, token=TOKEN)
    act = get_from_hub(f"hf://{REPO}/hajbi2026-higgs-fig")  # a name: latest version on main
    with torch.no_grad():
        assert torch.equal(act(X), nsad_lib.get(HIGGS)(X))


# -- pinning ------------------------------------------------------------------------------
def test_pull_by_tag_and_by_commit_pin_the_exact_commit(hub, tmp_path):
    first = push_to_hub([HIGGS], REPO, token=TOKEN)
    second = push_to_hub([SILU], REPO, token=TOKEN)
    by_tag = pull(REPO, revision=HIGGS)
    assert by_tag.commit == first.commit and by_tag.ids == (HIGGS,)  # that commit's index has only HIGGS
    assert by_tag.directory == tmp_path / "nsad-hub" / "alice" / "acts" / first.commit
    by_commit = pull(REPO, revision=second.commit, into=tmp_path / "pinned")
    assert by_commit.commit == second.commit and by_commit.ids == (HIGGS, SILU)
    assert sorted(p.name for p in (tmp_path / "pinned").iterdir() if p.name != LOCK_FILE) == [f"{HIGGS}.json", "index.json", f"{SILU}.json"]
    latest = pull(REPO)
    assert latest.commit == second.commit
    before = hub.request_count()
    act = get_from_hub(f"hf://{REPO}/{SILU}@{second.commit}")  # commit already pulled: no network
    assert hub.request_count() == before
    with torch.no_grad():
        assert torch.equal(act(X), nsad_lib.get(SILU)(X))
        assert torch.allclose(act(X), torch.nn.functional.silu(X), rtol=1e-6, atol=1e-6)
    with pytest.raises(HubError, match="revision does not exist"):
        pull(REPO, revision="no-such-tag")


def test_offline_reload_in_a_subprocess(hub, trained, tmp_path):
    registry, entry, module = trained
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    nsad_lib.get(f"hf://{REPO}/{entry.id}@{entry.id}")  # online once: fills the caches
    expected = tmp_path / "expected.safetensors"
    from safetensors.torch import save_file

    with torch.no_grad():
        save_file({"x": X, "y": module(X)}, str(expected))
    script = textwrap.dedent(f"""
        import torch, nsad_lib
        from nsad_lib.hub.api import HubError
        from safetensors.torch import load_file
        data = load_file({str(expected)!r})
        act = nsad_lib.get("hf://{REPO}/{entry.id}@{entry.id}")
        with torch.no_grad():
            assert torch.equal(act(data["x"]), data["y"]), "offline module differs"
        print("OK", act.parameter_values())
        try:
            nsad_lib.get("hf://{REPO}/{entry.id}@main")  # a revision never pulled
        except HubError as exc:
            print("REFUSED", exc)
    """)
    before = hub.request_count()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("OK") and lines[1].startswith("REFUSED") and "pull it once while online" in lines[1]
    assert hub.request_count() == before  # nothing reached the server


# -- trust --------------------------------------------------------------------------------
def test_tampered_entry_file_is_refused_and_nothing_written(hub, tmp_path):
    push_to_hub([HIGGS, SILU], REPO, token=TOKEN)
    text = hub.file(REPO, f"entries/{SILU}.json").decode().replace("x*sigmoid(x)", "x*sigmoid(2*x)")
    hub.tamper(REPO, f"entries/{SILU}.json", text.encode())
    target = tmp_path / "target"
    with pytest.raises(HubError, match=rf"refused .*entries/{SILU}\.json.*content hash mismatch"):
        pull(REPO, into=target)
    assert not target.exists()  # HIGGS verified fine but was not written either


def test_tampered_entry_with_recomputed_hash_is_refused_by_the_index(hub, tmp_path):
    push_to_hub([SILU], REPO, token=TOKEN)
    forged = Entry.from_json(hub.file(REPO, f"entries/{SILU}.json").decode())
    from dataclasses import replace

    forged = replace(forged, formula="x*sigmoid(2*x)").with_hash()  # self-consistent, but not what was published
    hub.tamper(REPO, f"entries/{SILU}.json", forged.to_json().encode())
    with pytest.raises(HubError, match=rf"refused .*entries/{SILU}\.json: hash .* differs from {HUB_INDEX}"):
        pull(REPO, into=tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_tampered_weights_are_refused(hub, trained, tmp_path):
    registry, entry, module = trained
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["a"] += 1.0
    hub.tamper(REPO, f"entries/{entry.id}.safetensors", st_save(state))
    with pytest.raises(HubError, match=rf"refused .*entries/{entry.id}\.safetensors: sha256 .* does not match"):
        pull(REPO, into=tmp_path / "target")
    with pytest.raises(HubError, match=r"\.safetensors"):
        nsad_lib.get(f"hf://{REPO}/{entry.id}")
    assert not (tmp_path / "target").exists()
    assert not (tmp_path / "nsad-hub").exists()


def test_conflicting_id_is_refused(hub, tmp_path, trained):
    registry, entry, module = trained
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry)
    count, blob = hub.commit_count(REPO), hub.file(REPO, f"entries/{entry.id}.json")
    other_dir = tmp_path / "other"
    impostor = Entry.create("tanhmix", 1, "a*x + sin(b*x)", parameters={"a": 0.5, "b": 1.0}, trainable=True)
    Registry(other_dir, include_env=False).add(impostor)
    with pytest.raises(HubError, match=r"'tanhmix-v1' already exists in alice/acts with different content.*tanhmix-v2"):
        push_to_hub([impostor.id], REPO, token=TOKEN, registry=Registry(other_dir, include_env=False))
    # Same entry, but now with trained parameters: that changes what the id means, so also refused.
    with pytest.raises(HubError, match=r"different trained parameters"):
        push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    assert hub.commit_count(REPO) == count and hub.file(REPO, f"entries/{entry.id}.json") == blob


def test_foreign_repository_card_is_not_overwritten(hub):
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=hub.url, token=TOKEN)
    api.create_repo(REPO)
    api.create_commit(REPO, [CommitOperationAdd("README.md", b"# someone's model\n")], commit_message="theirs")
    with pytest.raises(HubError, match="not an nsad-lib repository"):
        push_to_hub([SILU], REPO, token=TOKEN)
    assert hub.file(REPO, "README.md") == b"# someone's model\n"


def test_missing_token_is_refused_before_any_request(hub, capsys):
    with pytest.raises(HubError, match=r"HF_TOKEN.*hf auth login.*huggingface-cli login"):
        push_to_hub([HIGGS], REPO)
    assert hub.request_count() == 0
    with pytest.raises(SystemExit) as info:
        main(["push", HIGGS, "--repo", REPO])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "HF_TOKEN" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_token_and_foreign_namespace_are_refused(hub):
    with pytest.raises(HubError, match="refused the token"):
        push_to_hub([HIGGS], REPO, token="hf_wrong")
    with pytest.raises(HubError, match="403"):
        push_to_hub([HIGGS], REPO, token="hf_test_bob")  # bob cannot write under alice/
    assert REPO not in hub.repos


def test_fake_hub_checks_authorization_header(hub):
    request = urllib.request.Request(f"{hub.url}/api/repos/create", data=b'{"name": "x"}', method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 401 and info.value.headers["X-Error-Code"] == "Unauthorized"


def test_private_repo_cannot_be_pulled_without_its_token(hub, monkeypatch):
    push_to_hub([SILU], REPO, token=TOKEN, private=True)
    with pytest.raises(HubError, match="not found .*private"):
        pull(REPO)
    assert pull(REPO, token=TOKEN).ids == (SILU,)


# -- lock file ----------------------------------------------------------------------------
def test_lock_and_offline_verify(hub, trained, tmp_path, capsys):
    registry, entry, module = trained
    pushed = push_to_hub([entry.id, SILU], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    lock_file = tmp_path / "nsad.lock"
    lock([f"hf://{REPO}/{entry.id}@{entry.id}", HIGGS], lock_file)
    lock([f"hf://{REPO}/{SILU}"], lock_file)
    text = lock_file.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n" and data["version"] == 1
    weights_sha = hashlib.sha256(hub.file(REPO, f"entries/{entry.id}.safetensors")).hexdigest()
    assert data["entries"][entry.id] == {"repo": REPO, "commit": pushed.commit, "sha256": entry.sha256, "weights_sha256": weights_sha}
    assert data["entries"][HIGGS] == {"repo": None, "commit": None, "sha256": nsad_lib.info(HIGGS)["sha256"], "weights_sha256": None}
    assert set(read_lock(lock_file)) == {entry.id, SILU, HIGGS}

    before = hub.request_count()
    assert verify_lock(lock_file) == []
    main(["verify", "--file", str(lock_file)])
    assert "3 locked entries verified" in capsys.readouterr().out
    assert hub.request_count() == before  # verification is offline

    weights = tmp_path / "nsad-hub" / "alice" / "acts" / pushed.commit / f"{entry.id}.safetensors"
    weights.write_bytes(st_save({k: v + 1 for k, v in module.state_dict().items()}))
    problems = verify_lock(lock_file)
    assert [(p.id, p.file) for p in problems] == [(entry.id, str(weights))]
    with pytest.raises(SystemExit) as info:
        main(["verify", "--file", str(lock_file)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and entry.id in err and str(weights) in err
    with pytest.raises(HubError, match=r"\.safetensors"):  # and the module refuses to load too
        get_from_hub(f"hf://{REPO}/{entry.id}@{pushed.commit}")


# -- CLI ----------------------------------------------------------------------------------
def test_cli_push_pull_with_token_from_environment(hub, trained, tmp_path, monkeypatch, capsys):
    registry, entry, module = trained
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("NSAD_REGISTRY_PATH", str(registry.explicit[0]))
    weights = tmp_path / "trained.safetensors"
    from safetensors.torch import save_file

    save_file(module.state_dict(), str(weights))
    main(["push", entry.id, HIGGS, "--repo", REPO, "--weights", f"{entry.id}={weights}"])
    out = capsys.readouterr().out
    assert f"{REPO}@{hub.head(REPO)} (new commit)" in out and "tags created" in out
    target = tmp_path / "pulled"
    main(["pull", f"{REPO}@{entry.id}", "--into", str(target), "--id", "tanhmix"])
    out = capsys.readouterr().out
    assert "1 entry verified" in out and entry.id in out and "trained parameters" in out
    act = nsad_lib.hub.api.load_pulled(target, entry.id)
    with torch.no_grad():
        assert torch.equal(act(X), module(X))
    with pytest.raises(SystemExit) as info:
        main(["pull", "not a repo"])
    assert info.value.code == 2 and "invalid Hub repository" in capsys.readouterr().err


def test_hub_references_are_parsed_strictly():
    ref = parse_ref("hf://owner/repo.name/higgs-v1@v1.0")
    assert (ref.repo_id, ref.entry, ref.revision) == ("owner/repo.name", "higgs-v1", "v1.0")
    assert parse_ref("hf://o/r/higgs").revision is None
    for bad in ("hf://owner/higgs-v1", "hf://o/r/x/y", "hf://o/r/x@", "hf://../r/x", "owner/repo/x"):
        with pytest.raises(HubError):
            parse_ref(bad)


# -- hostile Hub content: every bad input is a HubError (exit code 2), never a traceback ----
def _json_bytes(data) -> bytes:
    """JSON text for ``data``, even with integers longer than Python's int-string limit."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(data, sort_keys=True).encode()  # no indent: 800 levels of it would exceed the size limit
    finally:
        sys.set_int_max_str_digits(limit)


def _hashed(data: dict) -> dict:
    from nsad_lib.registry.entry import content_hash

    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return {**data, "sha256": content_hash(data)}
    finally:
        sys.set_int_max_str_digits(limit)


def _republish_index(server, entry_id: str, **item) -> None:
    """Storage that lies consistently: the index is rewritten to vouch for tampered files."""
    index = hub_json(server, HUB_INDEX)
    index["entries"][entry_id].update(item)
    server.tamper(REPO, HUB_INDEX, _json_bytes(index))


def test_hub_index_with_a_huge_number_is_refused(hub, tmp_path, capsys):
    push_to_hub([SILU], REPO, token=TOKEN)
    index = hub_json(hub, HUB_INDEX)
    index["padding"] = 10**5000
    hub.tamper(REPO, HUB_INDEX, _json_bytes(index))
    with pytest.raises(HubError, match=rf"refused {REPO}@[0-9a-f]{{12}}:{HUB_INDEX}: not a valid nsad-lib index: a number has too many digits"):
        pull(REPO, into=tmp_path / "target")
    with pytest.raises(SystemExit) as info:
        main(["pull", REPO, "--into", str(tmp_path / "target")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "too many digits" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "target").exists()




@pytest.mark.parametrize("case", sorted(HOSTILE_ENTRIES))
def test_hostile_entry_files_are_refused_by_pull_and_by_verify(case, hub, tmp_path, monkeypatch, capsys):
    mutate, message = HOSTILE_ENTRIES[case]
    pushed = push_to_hub([SILU], REPO, token=TOKEN)
    data = json.loads(hub.file(REPO, f"entries/{SILU}.json"))
    data.pop("sha256")
    mutate(data)
    hostile = _hashed(data)
    text = _json_bytes(hostile)

    # verify: a locked, pulled copy replaced by the hostile file is a LockProblem, not a crash
    lock_file = tmp_path / "nsad.lock"
    lock([f"hf://{REPO}/{SILU}@{SILU}"], lock_file)
    local = tmp_path / "nsad-hub" / "alice" / "acts" / pushed.commit / f"{SILU}.json"
    local.write_bytes(text)
    problems = verify_lock(lock_file)
    assert [(p.id, p.file) for p in problems] == [(SILU, str(local))] and message in problems[0].message
    with pytest.raises(SystemExit) as info:
        main(["verify", "--file", str(lock_file)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err

    # pull: the same file on the Hub, vouched for by the index, is refused before anything is written
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-fresh"))  # nothing cached from the good pull
    hub.tamper(REPO, f"entries/{SILU}.json", text)
    _republish_index(hub, SILU, sha256=hostile["sha256"])
    target = tmp_path / "target"
    with pytest.raises(HubError, match=rf"^refused {REPO}@[0-9a-f]{{12}}:entries/{SILU}\.json: .*{message}"):
        pull(REPO, into=target)
    assert not target.exists()
    with pytest.raises(SystemExit) as info:
        main(["pull", REPO, "--into", str(target)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


BAD_WEIGHTS = {
    "float8": (lambda: {"a": torch.tensor(0.5).to(torch.float8_e4m3fn), "b": torch.tensor(1.0).to(torch.float8_e4m3fn)},
               r"parameter '[ab]' has type float8_e4m3fn; expected a tensor of float16, bfloat16, float32, float64"),
    "int32": (lambda: {"a": torch.tensor(1, dtype=torch.int32), "b": torch.tensor(1, dtype=torch.int32)},
              r"parameter '[ab]' has type int32"),
    "float64-overflows-float32": (lambda: {"a": torch.tensor(1e300, dtype=torch.float64), "b": torch.tensor(1.0, dtype=torch.float64)},
                                  r"parameter 'a' must be finite as float32"),
}


# (messages are regexes: safetensors does not keep the key order, so either parameter may be named)
@pytest.mark.parametrize("case", sorted(BAD_WEIGHTS))
def test_bad_weights_dtypes_and_overflow_are_refused(case, hub, trained, tmp_path):
    registry, entry, module = trained
    make_state, message = BAD_WEIGHTS[case]
    with pytest.raises(HubError, match=message):  # refused on push
        push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: make_state()})
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    blob = st_save(make_state())
    hub.tamper(REPO, f"entries/{entry.id}.safetensors", blob)
    _republish_index(hub, entry.id, weights_sha256=hashlib.sha256(blob).hexdigest())
    target = tmp_path / "target"
    with pytest.raises(HubError, match=rf"^refused {REPO}@[0-9a-f]{{12}}:entries/{entry.id}\.safetensors: {message}"):
        pull(REPO, into=target)
    assert not target.exists()


def test_float64_weights_that_fit_float32_still_load(hub, trained, tmp_path):
    registry, entry, module = trained
    state = {k: v.to(torch.float64) for k, v in module.state_dict().items()}
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: state})
    act = get_from_hub(f"hf://{REPO}/{entry.id}")
    assert act.parameter_values() == module.parameter_values()


# -- lock pins are not silently re-pointed -------------------------------------------------
def test_lock_refuses_to_repin_an_id_to_another_source(hub, tmp_path, capsys):
    pushed = push_to_hub([HIGGS], REPO, token=TOKEN)
    lock_file = tmp_path / "nsad.lock"
    main(["lock", f"hf://{REPO}/{HIGGS}@{HIGGS}", "--file", str(lock_file)])
    capsys.readouterr()
    before = lock_file.read_bytes()
    with pytest.raises(SystemExit) as info:
        main(["lock", HIGGS, "--file", str(lock_file)])  # same sha256, but the local registry
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{HIGGS} is already locked to {REPO}@{pushed.commit}, but {HIGGS} is the local registry" in err
    assert f"delete the '{HIGGS}' record from {lock_file}" in err
    assert lock_file.read_bytes() == before
    assert read_lock(lock_file)[HIGGS].commit == pushed.commit
    main(["lock", f"hf://{REPO}/{HIGGS}@{pushed.commit}", "--file", str(lock_file)])  # same pin again: fine
    assert lock_file.read_bytes() == before

    local_file = tmp_path / "local.lock"
    lock([HIGGS], local_file)
    with pytest.raises(HubError, match=rf"{HIGGS} is already locked to the local registry, but hf://{REPO}/{HIGGS} is {REPO}@{pushed.commit}"):
        lock([f"hf://{REPO}/{HIGGS}"], local_file)
    assert read_lock(local_file)[HIGGS].repo is None


def test_lock_moves_a_pin_to_a_newer_commit_of_the_same_repo_with_the_same_files(hub, tmp_path):
    first = push_to_hub([HIGGS], REPO, token=TOKEN)
    lock_file = tmp_path / "nsad.lock"
    lock([f"hf://{REPO}/{HIGGS}"], lock_file)
    second = push_to_hub([HIGGS, SILU], REPO, token=TOKEN)  # a new commit; HIGGS's file is unchanged
    assert second.commit != first.commit
    lock([f"hf://{REPO}/{HIGGS}"], lock_file)
    record = read_lock(lock_file)[HIGGS]
    assert (record.repo, record.commit) == (REPO, second.commit)


def test_card_does_not_render_links_images_or_html_from_an_entry():
    from nsad_lib.hub.card import render_card

    evil = "Nice! ![t](https://evil.example/x.png) [log in](https://evil.example) <script>x</script> # h"
    entry = Entry.create("evil", 1, "x*sin(x)", summary=evil, provenance={"command": "nsad-lib `rm` [a](b)"})
    body = render_card("alice/acts", [entry], {entry.id: None}, set()).split("\n---\n", 1)[1]
    assert "](https://evil" not in body and "<script>" not in body
    assert r"\!\[t\]\(https://evil.example/x.png\)" in body and "&lt;script&gt;" in body
    assert "- command: `nsad-lib rm [a](b)`" in body  # code span: shown as typed, minus backticks
    assert "`x*sin(x)`" in body  # formulas in code spans are not escaped


# -- hostile Hub repositories (issue 13): sizes checked before downloading, nothing left behind --
def _oversized_entry(server, entry_id):
    data = hub_json(server, f"entries/{entry_id}.json")
    data.pop("sha256")
    data["summary"] = "x" * (1 << 20)
    hostile = _hashed(data)
    server.tamper(REPO, f"entries/{entry_id}.json", _json_bytes(hostile))
    _republish_index(server, entry_id, sha256=hostile["sha256"])
    return f"entries/{entry_id}.json"


def _oversized_weights(server, entry_id):
    data = b"\0" * ((64 << 20) + 1)
    server.tamper(REPO, f"entries/{entry_id}.safetensors", data)
    _republish_index(server, entry_id, weights_sha256=hashlib.sha256(data).hexdigest())
    return f"entries/{entry_id}.safetensors"


def _oversized_index(server, entry_id):
    index = hub_json(server, HUB_INDEX)
    index["padding"] = "x" * (1 << 20)
    server.tamper(REPO, HUB_INDEX, _json_bytes(index))
    return HUB_INDEX


def _lying_entry_size(server, entry_id):
    path = _oversized_entry(server, entry_id)
    server.reported_sizes[path] = 100  # the metadata says 100 bytes; the download is over 1 MiB
    return path


HOSTILE_HUB = {
    # case: (make it hostile, fragment of the error, whether the file is downloaded before it is refused)
    "entry-over-cap": (_oversized_entry, "more than the 1048576-byte limit (nothing was downloaded)", False),
    "weights-over-cap": (_oversized_weights, "more than the 67108864-byte limit (nothing was downloaded)", False),
    "index-over-cap": (_oversized_index, "more than the 1048576-byte limit (nothing was downloaded)", False),
    "entry-size-lies": (_lying_entry_size, "bytes is more than the 1048576-byte limit", True),
}


def _cached_files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink()} if root.exists() else {}


@pytest.mark.parametrize("case", sorted(HOSTILE_HUB))
def test_hostile_hub_sizes_are_refused_before_download_and_leave_nothing_cached(case, hub, trained, tmp_path, monkeypatch, capsys):
    registry, entry, module = trained
    make_hostile, message, downloaded = HOSTILE_HUB[case]
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    path = make_hostile(hub, entry.id)
    cache = tmp_path / "hf-fresh"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    seen = hub.request_count()
    target = tmp_path / "target"
    with pytest.raises(HubError, match=rf"^refused {REPO}@[0-9a-f]{{12}}:{re.escape(path)}: .*{re.escape(message)}"):
        pull(REPO, into=target)
    fetched = [p for m, p in hub.requests[seen:] if "/resolve/" in p and p.endswith("/" + path)]
    assert bool(fetched) == downloaded, hub.requests[seen:]
    assert not target.exists()
    big = {p: n for p, n in _cached_files(cache).items() if n > 4096}
    assert big == {}, big  # the refused file is not left in the Hugging Face cache
    with pytest.raises(SystemExit) as info:
        main(["pull", REPO, "--into", str(target)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with pytest.raises(HubError, match=re.escape(message)):
        get_from_hub(f"hf://{REPO}/{entry.id}")


def test_push_refuses_an_oversized_remote_entry_before_downloading_it(hub, trained, tmp_path, monkeypatch):
    registry, entry, module = trained
    push_to_hub([entry.id, SILU], REPO, token=TOKEN, registry=registry)
    path = _oversized_entry(hub, SILU)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-fresh"))
    seen = hub.request_count()
    with pytest.raises(HubError, match=rf"refused {REPO}:{re.escape(path)}: \d+ bytes is more than the 1048576-byte limit"):
        push_to_hub([HIGGS], REPO, token=TOKEN)
    assert not [p for m, p in hub.requests[seen:] if p.endswith("/" + path)]


def test_markup_in_a_pulled_entry_does_not_break_listing_the_search_path(hub, tmp_path, monkeypatch, capsys):
    registry_dir = tmp_path / "mine"
    entry = Entry.create("markup", 1, "a*x + sin(x)", parameters={"a": 0.5}, summary="[/] [bold", provenance={"license": "MIT"})
    Registry(registry_dir, include_env=False).add(entry)
    push_to_hub([entry.id], REPO, token=TOKEN, registry=Registry(registry_dir, include_env=False))
    result = pull(REPO)
    monkeypatch.setenv("NSAD_REGISTRY_PATH", str(result.directory))
    monkeypatch.setenv("COLUMNS", "400")
    main(["list"])
    out = capsys.readouterr().out
    assert "markup-v1" in out and "[/] [bold" in out and SILU in out
    main(["show", "markup-v1"])
    assert "[/] [bold" in capsys.readouterr().out


def test_rehashed_non_finite_pulled_copy_is_refused_on_load(hub, tmp_path):
    pushed = push_to_hub([SILU], REPO, token=TOKEN)
    result = pull(REPO, revision=pushed.commit)
    path = result.directory / f"{SILU}.json"
    data = json.loads(path.read_text())
    data.pop("sha256")
    data.update(formula="log(x)")
    hostile = _hashed(data)
    path.write_text(json.dumps(hostile))
    index = json.loads((result.directory / "index.json").read_text())
    index["entries"][SILU] = hostile["sha256"]
    (result.directory / "index.json").write_text(json.dumps(index))
    with pytest.raises(EntryError, match=rf"^{re.escape(str(path))}: .*non-finite"):
        get_from_hub(f"hf://{REPO}/{SILU}@{pushed.commit}")


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_lock_file_is_refused_without_blocking(case, tmp_path):
    make_file, message = HOSTILE_FILES[case]
    lock_file = tmp_path / "nsad.lock"
    make_file(lock_file)
    code = "import sys; from nsad_lib.hub.lockfile import read_lock; read_lock(sys.argv[1]); print('READ')"
    proc = run_bounded(["-c", code, str(lock_file)])
    assert proc.returncode == 1 and "READ" not in proc.stdout and "RecursionError" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(f"nsad_lib.errors.HubError: {lock_file}: ") and message in proc.stderr
    proc = run_bounded(["-m", "nsad_lib.cli", "verify", "--file", str(lock_file)])  # (click itself refuses a directory)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and str(lock_file) in proc.stderr, proc.stderr[-2000:]


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_pulled_copy_is_a_lock_problem_without_blocking(case, hub, tmp_path):
    make_file, message = HOSTILE_FILES[case]
    pushed = push_to_hub([SILU], REPO, token=TOKEN)
    lock_file = tmp_path / "nsad.lock"
    lock([f"hf://{REPO}/{SILU}@{SILU}"], lock_file)
    local = tmp_path / "nsad-hub" / "alice" / "acts" / pushed.commit / f"{SILU}.json"
    local.unlink()
    make_file(local)
    proc = run_bounded(["-m", "nsad_lib.cli", "verify", "--file", str(lock_file)])
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"error: {SILU}: {local}: ") and message in proc.stderr, proc.stderr
