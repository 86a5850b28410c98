"""Issue 14.6: every command that takes an entry takes the same forms (id, name, hf://...), and
push/lock/verify take --registry. Hub references run against the local fake Hub (tests/hub_server.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hub import HIGGS, REPO, TOKEN, hub, trained  # noqa: E402,F401  (the fake Hub fixtures)

from nsad_lib.cli import main  # noqa: E402
from nsad_lib.hub.api import push_to_hub  # noqa: E402
from nsad_lib.hub.lockfile import read_lock  # noqa: E402
from nsad_lib.hub.refs import pin, resolve_ref, split_variant  # noqa: E402
from nsad_lib.registry.entry import Entry  # noqa: E402
from nsad_lib.registry.store import Registry  # noqa: E402


def run(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


@pytest.mark.parametrize("spec, expected", [
    ("hf://alice/acts/higgs-v1", ("hf://alice/acts/higgs-v1", "")),
    ("hf://alice/acts/higgs-v1@main:trainable", ("hf://alice/acts/higgs-v1@main", "trainable")),
    ("hf://alice/acts/higgs:fixed", ("hf://alice/acts/higgs", "fixed")),
    ("higgs-v1:trainable", ("higgs-v1", "trainable")),
    (" relu ", ("relu", "")),
])
def test_split_variant_does_not_split_the_hub_scheme(spec, expected):
    assert split_variant(spec) == expected


def test_activation_spec_with_hf_ref_is_not_an_unknown_variant(hub):
    from nsad_lib.training.protocol import activation_factory

    pushed = push_to_hub([HIGGS], REPO, token=TOKEN)
    make = activation_factory(f"hf://{REPO}/{HIGGS}")  # was: unknown variant '//alice/acts/...'
    assert make().formula.canonical == Registry().resolve(HIGGS).formula_object().canonical
    assert pin(f"hf://{REPO}/hajbi2026-higgs-fig:trainable") == f"hf://{REPO}/{HIGGS}@{pushed.commit}:trainable"


def test_reproduce_plan_accepts_and_pins_hub_refs(hub):
    from nsad_lib.paper.reproduce import plan

    pushed = push_to_hub([HIGGS], REPO, token=TOKEN)
    rows = plan(["spambase"], [f"hf://{REPO}/{HIGGS}:fixed", "relu"], heavy=False)
    assert rows[0].activation == f"hf://{REPO}/{HIGGS}@{pushed.commit}:fixed"
    assert rows[0].label == f"Light {HIGGS}:fixed ({REPO}@{pushed.commit[:7]})"
    before = hub.request_count()
    from nsad_lib.training.protocol import activation_factory

    activation_factory(rows[0].activation)()  # pinned: served from the verified copy, no Hub request
    assert hub.request_count() == before


def test_reproduce_cli_runs_an_hf_activation(hub, tmp_path, capsys):
    push_to_hub([HIGGS], REPO, token=TOKEN)
    main(["reproduce", "--sample", "--datasets", "spambase", "--activations", f"hf://{REPO}/{HIGGS}", "--no-heavy",
          "--seeds", "42", "--epochs", "1", "--jobs", "1", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert f"Light {HIGGS} ({REPO}@" in out
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results  # the run finished and wrote its files


def test_show_accepts_hf_refs_by_id_and_by_name(hub, capsys):
    pushed = push_to_hub([HIGGS], REPO, token=TOKEN)
    main(["show", f"hf://{REPO}/{HIGGS}"])
    out = capsys.readouterr().out
    assert "cos(x) - cos(cos(x))" in out and f"Hub: {REPO}@{pushed.commit}" in out
    main(["show", f"hf://{REPO}/hajbi2026-higgs-fig@{HIGGS}", "--json"])
    assert Entry.from_json(capsys.readouterr().out).id == HIGGS


def test_check_accepts_hf_refs(hub, tmp_path, capsys):
    push_to_hub([HIGGS], REPO, token=TOKEN)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    data = tmp_path / "small.csv"
    np.savetxt(data, np.column_stack([X, (X[:, 0] > 0).astype(int)]), delimiter=",", header="a,b,c,d,label",
               comments="", fmt="%.4f")
    main(["check", f"hf://{REPO}/{HIGGS}", "--data", str(data), "--json"])
    assert json.loads(capsys.readouterr().out)["entry"] == HIGGS


def test_check_write_evidence_of_an_hf_entry_goes_to_the_user_registry(hub, tmp_path, capsys):
    import nsad_lib

    push_to_hub([HIGGS], REPO, token=TOKEN)
    data = tmp_path / "small.csv"
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    np.savetxt(data, np.column_stack([X, (X[:, 0] > 0).astype(int)]), delimiter=",", header="a,b,c,label",
               comments="", fmt="%.4f")
    registry = tmp_path / "reg"
    registry.mkdir()
    main(["check", f"hf://{REPO}/{HIGGS}", "--data", str(data), "--registry", str(registry), "--write-evidence", "--json"])
    assert json.loads(capsys.readouterr().out)["written"] == "hajbi2026-higgs-fig-v2"
    assert (registry / "hajbi2026-higgs-fig-v2.json").is_file()
    assert nsad_lib.Registry(registry).resolve("hajbi2026-higgs-fig").id == HIGGS  # the bundled name is not shadowed


def test_push_takes_registry_and_hf_refs(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    entry = Entry.create("mine", 1, "x*tanh(x)", domains={"source": "continuous"})
    Registry(tmp_path, include_env=False).add(entry)
    main(["push", "mine", "--repo", REPO, "--registry", str(tmp_path)])
    assert json.loads(hub.file(REPO, "nsad-index.json"))["entries"]["mine-v1"]["sha256"] == entry.sha256
    main(["push", f"hf://{REPO}/mine-v1", "--repo", "alice/copy"])  # re-publish a Hub entry elsewhere
    assert hub.file("alice/copy", "entries/mine-v1.json") == entry.to_json().encode()


def test_push_unknown_id_names_registry_option_before_any_network(hub, monkeypatch, capsys):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    before = hub.request_count()
    code, _, err = run(["push", "mine", "--repo", REPO], capsys)
    assert code == 2 and "--registry" in err and "NSAD_REGISTRY_PATH" in err
    assert hub.request_count() == before


def test_lock_and_verify_take_registry(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)
    reg = tmp_path / "reg"
    entry = Entry.create("mine", 1, "x*tanh(x)", domains={"source": "continuous"})
    Registry(reg, include_env=False).add(entry)
    lock_file = tmp_path / "nsad.lock"
    code, _, err = run(["lock", "mine", "--file", str(lock_file)], capsys)
    assert code == 2 and "--registry" in err and "NSAD_REGISTRY_PATH" in err
    main(["lock", "mine", "--file", str(lock_file), "--registry", str(reg)])
    assert read_lock(lock_file)["mine-v1"].sha256 == entry.sha256
    capsys.readouterr()
    main(["verify", "--file", str(lock_file), "--registry", str(reg)])
    assert "1 locked entries verified" in capsys.readouterr().out


def test_resolve_ref_uses_the_commit_cache_offline(hub):
    pushed = push_to_hub([HIGGS], REPO, token=TOKEN)
    first = resolve_ref(f"hf://{REPO}/{HIGGS}@{pushed.commit}")
    before = hub.request_count()
    again = resolve_ref(f"hf://{REPO}/{HIGGS}@{pushed.commit}")
    assert again.entry == first.entry and again.commit == pushed.commit and hub.request_count() == before


def test_show_of_a_hub_entry_with_trained_parameters_says_so(hub, trained, capsys):
    registry, entry, module = trained
    push_to_hub([entry.id], REPO, token=TOKEN, registry=registry, weights={entry.id: module})
    main(["show", f"hf://{REPO}/{entry.id}"])
    out = capsys.readouterr().out
    assert "trained parameters published" in out and "a = 0.5, b = 1.0" in out
