"""Issue 14 items 7 and 11: the compact `show` panel, parameters at stored precision, domain marks
that count datasets, the bundled evidence file, and bundled names not shadowed by user copies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nsad_lib.cli import main
from nsad_lib.compat.marks import bundled_evidence, domain_evidence, domain_marks, transfer_records
from nsad_lib.registry.entry import Entry
from nsad_lib.registry.store import Registry, bundled_path

REPO = Path(__file__).resolve().parents[1]
BUNDLED = [e.id for e in Registry(include_env=False).entries()]


@pytest.fixture(autouse=True)
def _no_env_registry(monkeypatch):
    monkeypatch.delenv("NSAD_REGISTRY_PATH", raising=False)


def show(args, capsys) -> str:
    main(["show", *args])
    return capsys.readouterr().out


# -- item 7: show --------------------------------------------------------------------------------
@pytest.mark.parametrize("entry_id", BUNDLED)
def test_show_is_one_screen_with_formula_and_stored_parameters(entry_id, capsys):
    entry = Registry(include_env=False).resolve(entry_id)
    out = show([entry_id], capsys)
    assert len(out.splitlines()) < 40, out  # was 48-354 lines of provenance JSON
    assert entry.formula in out.replace("\n", " ") or entry.formula.split(" ")[0] in out
    for name, value in entry.parameters.items():
        assert f"{name} = {value!r}" in out  # 0.71, as stored
    assert '"candidates"' not in out and '"environment"' not in out  # provenance JSON only with --full
    assert "continuous:" in out and "discrete:" in out and "--full" in out


def test_show_full_and_json_still_give_the_whole_record(capsys):
    out = show(["forest-v1", "--full"], capsys)
    assert '"candidates"' in out and "f'(x)" in out and "bundled_evidence" in out
    assert Entry.from_json(show(["forest-v1", "--json"], capsys)).id == "forest-v1"


def test_show_prints_parameters_without_float32_noise(capsys):
    out = show(["forest-v1"], capsys)
    assert "a = 0.6728, b = 0.71" in out and "0.7099" not in out


def test_activation_latex_has_no_float32_noise():
    import nsad_lib

    act = nsad_lib.get("forest-v1")
    assert "0.71" in act.latex() and "0.709999" not in act.latex()
    assert "0.6728" in act.latex() and "0.67280" not in act.latex()
    assert "0.71" in str(act.sympy())


def test_show_escapes_entry_text(tmp_path, capsys):
    entry = Entry.create("marked", 1, "x*sigmoid(x)", summary="[red]not markup[/red] [bold]x",
                         domains={"source": "continuous"}, provenance={"license": "[link=http://x]MIT[/link]"})
    Registry(tmp_path, include_env=False).add(entry)
    out = show(["marked", "--registry", str(tmp_path)], capsys)
    assert "[red]not markup[/red] [bold]x" in out
    assert "[link=http://x]MIT[/link]" in out


def test_show_shows_also_known_as_only_when_recorded(capsys):
    assert "also known as  torch.nn.functional.relu" in show(["relu-v1"], capsys)
    assert "also known as" not in show(["forest-v1"], capsys)


def test_unknown_id_names_the_registry_option_and_env_var(capsys):
    with pytest.raises(SystemExit) as info:
        main(["show", "nothing-here-v1"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--registry" in err and "NSAD_REGISTRY_PATH" in err


def test_discover_log_lines_have_no_path_column():
    # rich's Console.log adds "file.py:LINE" unless log_path=False; every console that logs must turn it off
    for path in (REPO / "nsad_lib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if ".log(" in text and "Console(" in text:
            assert "log_path=False" in text, path


# -- item 11: marks count datasets ----------------------------------------------------------------
def _entry(records, source="continuous") -> Entry:
    return Entry.create("marks", 1, "x*cos(x)", domains={"source": source, "transfers": records}, check_numerics=False)


def _rec(dataset, domain, verdict, **evidence):
    return {"dataset": dataset, "domain": domain, "verdict": verdict, "evidence": evidence}


def test_one_probe_is_about_one_dataset_not_the_domain():
    e = _entry([_rec("tiny.csv", "continuous", "fails", kind="probe", seeds=1, epochs=5)])
    assert domain_marks(e) == {"continuous": "1 dataset: fails", "discrete": "unknown"}


def test_marks_count_datasets_and_take_the_majority():
    e = _entry([
        _rec("forest", "continuous", "transfers", kind="protocol", seeds=3, epochs=15),
        _rec("higgs", "continuous", "transfers", kind="protocol", seeds=3, epochs=15),
        _rec("tiny.csv", "continuous", "fails", kind="probe", seeds=1, epochs=5),
        _rec("spambase", "discrete", "fails", kind="protocol", seeds=3, epochs=15),
        _rec("sms", "discrete", "transfers", kind="probe", seeds=1, epochs=5),
    ])
    marks = domain_evidence(e)
    assert marks["continuous"].text == "verified (2 of 3 datasets)"
    assert marks["continuous"].datasets == {"forest": "transfers", "higgs": "transfers", "tiny.csv": "fails"}
    assert marks["discrete"].text == "mixed (1 of 2 datasets transfer)" and marks["discrete"].status == "mixed"
    e2 = _entry([_rec("a", "discrete", "fails"), _rec("b", "discrete", "fails"), _rec("c", "discrete", "transfers")])
    assert domain_marks(e2)["discrete"] == "fails (2 of 3 datasets)"


def test_a_dataset_counts_once_and_a_full_run_outweighs_a_probe():
    e = _entry([
        _rec("forest", "continuous", "transfers", kind="protocol", seeds=3, epochs=15),
        _rec("forest", "continuous", "fails", kind="probe", seeds=1, epochs=5),  # later, but weaker
        _rec("forest", "continuous", "fails", kind="probe", seeds=1, epochs=5),
    ])
    assert domain_marks(e)["continuous"] == "1 dataset: transfers"


def test_predictions_are_not_measurements():
    e = _entry([_rec("sms", "discrete", "transfers", kind="prediction")], source="unknown")
    assert domain_marks(e) == {"continuous": "unknown", "discrete": "predicted"}


def test_bundled_evidence_gives_the_paper_figure_marks():
    entry = Registry(include_env=False).resolve("hajbi2026-higgs-fig-v1")
    assert entry.domains["transfers"] == []  # the entry itself is unchanged (immutable)
    marks = domain_evidence(entry)
    discrete = marks["discrete"]
    assert discrete.status == "fails" and discrete.datasets["spambase"] == discrete.datasets["sms"] == "fails"
    assert discrete.text == f"fails ({len(discrete.datasets) - discrete.transfers} of {len(discrete.datasets)} datasets)"
    spambase = discrete.records["spambase"]["evidence"]  # the paper's four: the transfer matrix
    assert spambase["delta"] == pytest.approx(-0.089) and spambase["seeds"] == 3 and spambase["kind"] == "protocol"
    sources = {r["evidence"]["source"] for r in discrete.records.values()}
    assert sources == {"transfer-matrix", "tabular-25"}  # the other datasets: the benchmark suite


def test_bundled_evidence_applies_only_to_the_exact_content():
    entry = Registry(include_env=False).resolve("forest-v1")
    assert transfer_records(entry)
    other = Entry.create("forest", 1, "x", domains={"source": "continuous"}, check_numerics=False)  # same id, other content
    assert transfer_records(other) == [] and domain_marks(other)["continuous"] == "predicted"


def test_bundled_evidence_covers_every_bundled_entry_with_its_hash():
    evidence = bundled_evidence()
    for entry in Registry(include_env=False).entries():
        assert (entry.id, entry.sha256) in evidence, entry.id


def test_evidence_file_matches_the_documented_transfer_matrix():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "build_evidence.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_evidence_file_is_not_an_entry_and_entries_keep_their_hashes():
    assert (bundled_path() / "evidence.json").is_file()
    index = json.loads((bundled_path() / "index.json").read_text())["entries"]
    assert "evidence" not in index and set(index) == set(BUNDLED)
    for entry in Registry(include_env=False).entries():
        assert index[entry.id] == entry.sha256


# -- item 11: a user copy does not shadow a bundled name -------------------------------------------
def _copy(parent_id: str, directory: Path, version: int = 2, formula: str | None = None) -> Entry:
    parent = Registry(include_env=False).resolve(parent_id)
    entry = Entry.create(parent.name, version, formula or parent.formula, parameters=parent.parameters,
                         trainable=parent.trainable, summary="user copy",
                         domains={"source": "continuous", "transfers": [
                             _rec("tiny.csv", "continuous", "fails", kind="probe", seeds=1, epochs=5)]},
                         provenance={"parent": parent.id})
    Registry(directory, include_env=False).add(entry)
    return entry


def test_a_user_copy_does_not_shadow_a_bundled_name(tmp_path, monkeypatch):
    import nsad_lib

    copy = _copy("forest-v1", tmp_path)
    assert Registry(tmp_path).resolve("forest").id == "forest-v1"  # the name stays the bundled entry's
    assert Registry(tmp_path).resolve("forest-v2") == copy  # asked for by id: the copy
    monkeypatch.setenv("NSAD_REGISTRY_PATH", str(tmp_path))
    assert nsad_lib.get("forest").name == "forest-v1"
    assert nsad_lib.get("forest-v2").name == "forest-v2"


def test_user_names_still_resolve_to_their_latest_version(tmp_path):
    for version in (1, 2):
        Registry(tmp_path, include_env=False).add(Entry.create("mine", version, "x*sigmoid(x)" if version == 1 else "x*tanh(x)",
                                                               domains={"source": "continuous"}))
    assert Registry(tmp_path).resolve("mine").id == "mine-v2"


def test_write_evidence_copy_keeps_the_bundled_evidence_and_says_the_name_is_unchanged(tmp_path, capsys):
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] > 0).astype(int)
    data = tmp_path / "tiny.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,label", comments="", fmt="%.4f")
    registry = tmp_path / "reg"
    registry.mkdir()
    main(["check", "forest", "--data", str(data), "--probe", "--probe-epochs", "1", "--registry", str(registry),
          "--write-evidence"])
    out = capsys.readouterr().out
    assert "forest-v2" in out and "still resolves to the bundled forest-v1" in out
    copy = Registry(registry).resolve("forest-v2")
    kinds = [r["evidence"]["kind"] for r in copy.domains["transfers"]]
    bundled = transfer_records(Registry(include_env=False).resolve("forest-v1"))
    assert kinds.count("protocol") == len(bundled) > 4 and kinds[-1] == "probe"  # the bundled records travel with it
    assert Registry(registry).resolve("forest").id == "forest-v1"
    marks = domain_evidence(copy)
    assert marks["continuous"].transfers + marks["continuous"].fails >= 2  # counted per dataset


def test_list_shows_counted_marks_and_json_the_full_text(capsys):
    main(["list"])
    out = capsys.readouterr().out
    entries = Registry(include_env=False).entries()
    for e in entries:  # every entry's counted marks, in their short form (e.g. "fails 9/11")
        for mark in domain_evidence(e).values():
            assert mark.short in out, (e.id, mark.short)
    assert "fails " in out and "verified " in out
    main(["list", "--json"])
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    fig = domain_evidence(Registry(include_env=False).resolve("hajbi2026-higgs-fig-v1"))["discrete"]
    assert rows["hajbi2026-higgs-fig-v1"]["domains"]["discrete"] == fig.text and fig.text.startswith("fails (")


def test_show_gives_the_delta_of_leaderboard_records_too(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    main(["show", "higgs-v1"])
    out = capsys.readouterr().out
    assert "forest transfers +2.9 pts" in out  # transfer matrix (a fraction in the record)
    assert "banana transfers +4.2 pts" in out  # tabular-25 leaderboard (points in the record)
