"""Registry: schema validation, hashes, tamper detection, immutability, resolution, atomic add."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hostile_entries import HOSTILE_ENTRIES, HOSTILE_FILES, nested_list, run_bounded

import nsad_lib
from nsad_lib.errors import EntryConflictError, EntryError, UnknownEntryError
from nsad_lib.registry.entry import Entry, content_hash, split_id
from nsad_lib.registry.store import LOCK_FILE, Registry, bundled_path

PROV = {"dataset": None, "method": {"strategy": "manual"}, "license": "CC0-1.0"}


def make(name="demo", version=1, formula="a*x + sin(x)", **kw) -> Entry:
    kw.setdefault("parameters", {"a": 0.5} if re.search(r"\ba\b", formula) else {})
    kw.setdefault("provenance", PROV)
    return Entry.create(name, version, formula, summary="test entry", **kw)


def test_bundled_registry_loads_and_verifies():
    reg = Registry(include_env=False)
    ids = reg.ids()
    assert {"relu-v1", "gelu-v1", "silu-v1", "hajbi2026-higgs-fig-v1", "hajbi2026-spambase-fig-v1", "hajbi2026-higgs-readme-v1"} <= set(ids)
    for entry in reg.entries():
        assert content_hash(entry.to_dict()) == entry.sha256
    index = json.loads((bundled_path() / "index.json").read_text())
    assert set(index["entries"]) == set(ids)


def test_seed_provenance_says_how_each_was_obtained():
    reg = Registry(include_env=False)
    for ref in ["hajbi2026-higgs-fig-v1", "hajbi2026-higgs-readme-v1", "hajbi2026-spambase-fig-v1"]:
        method = reg.resolve(ref).provenance["method"]
        assert method["strategy"] == "literature"
        assert "not re-discovered" in method["how"]
    assert reg.resolve("hajbi2026-higgs-fig-v1").formula == "cos(x) - cos(cos(x))"
    assert reg.resolve("hajbi2026-higgs-readme-v1").formula == "x*cos(x)"
    assert reg.resolve("hajbi2026-spambase-fig-v1").formula == "3*x + sin(x)"


def test_create_hashes_and_stores_canonical_formula():
    e = make(formula="a*x+sin(x)")
    assert e.id == "demo-v1" and e.formula == "a*x + sin(x)"
    assert e.sha256 == content_hash(e.to_dict())
    assert Entry.from_json(e.to_json()) == e


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "Bad Name"}, "invalid entry name"),
        ({"name": "foo-v2"}, "no trailing"),
        ({"formula": "x + y"}, "unknown name 'y'"),
        ({"formula": "log(x)"}, "non-finite"),
        ({"formula": "exp(x)"}, "non-finite"),
        ({"formula": "psqrt(x)"}, "non-finite derivative"),
        ({"formula": "1/x"}, "non-finite"),
        ({"domains": {"source": "ocean"}}, "domains.source"),
        ({"domains": {"source": "continuous", "transfers": [{"dataset": "forest", "verdict": "maybe"}]}}, "verdict"),
        ({"metrics": {"acc": float("nan")}}, "finite"),
    ],
)
def test_invalid_entries_are_rejected(kwargs, message):
    with pytest.raises(EntryError, match=message):
        make(**kwargs)


def test_finite_check_covers_low_precision():
    # 1000*x is finite in float32 on |x| <= 1000 but overflows float16 (max 65504) at |x| = 100
    with pytest.raises(EntryError, match="float16"):
        make(formula="1000*x + sin(x)")
    assert make(formula="3*x + sin(x)").formula == "3*x + sin(x)"


def test_tampered_file_is_refused_with_its_path(tmp_path):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    path = reg.add(make())
    text = path.read_text()
    path.write_text(text.replace('"a*x + sin(x)"', '"a*x + sin(y)"'.replace("y", "x").replace("sin", "cos")))
    with pytest.raises(EntryError) as info:
        Registry(tmp_path, include_env=False, include_bundled=False).entries()
    assert str(path) in str(info.value) and "hash" in str(info.value)


def test_one_character_change_in_bundled_copy_is_detected(tmp_path):
    copy = tmp_path / "reg"
    shutil.copytree(bundled_path(), copy)
    target = copy / "hajbi2026-higgs-fig-v1.json"
    target.write_text(target.read_text().replace("cos(x) - cos(cos(x))", "cos(x) - cos(sin(x))"))
    with pytest.raises(EntryError, match="hajbi2026-higgs-fig-v1.json"):
        Registry(copy, include_env=False, include_bundled=False).resolve("hajbi2026-higgs-fig-v1")


def test_rehashed_file_still_caught_by_index(tmp_path):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    path = reg.add(make())
    data = json.loads(path.read_text())
    data["formula"] = "a*x + cos(x)"
    data["sha256"] = content_hash(data)
    path.write_text(json.dumps(data))
    with pytest.raises(EntryError, match="registry index"):
        Registry(tmp_path, include_env=False, include_bundled=False).entries()


def test_ids_are_immutable_and_add_is_idempotent(tmp_path):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    first = make()
    path = reg.add(first)
    before = path.read_bytes()
    assert reg.add(first) == path and path.read_bytes() == before  # same content: no-op
    with pytest.raises(EntryConflictError, match="demo-v2"):
        reg.add(make(formula="a*x + cos(x)"))
    assert path.read_bytes() == before
    assert reg.next_version("demo") == 2
    reg.add(make(version=2, formula="a*x + cos(x)"))
    assert reg.resolve("demo").id == "demo-v2"
    assert reg.resolve("demo-v1").formula == "a*x + sin(x)"


def test_bundled_ids_cannot_be_shadowed(tmp_path):
    reg = Registry(tmp_path, include_env=False)
    clash = Entry.create("relu", 1, "Max(0, 2*x)", provenance=PROV)
    with pytest.raises(EntryConflictError):
        reg.add(clash)
    assert not (tmp_path / "relu-v1.json").exists()


def test_bundled_registry_is_read_only():
    with pytest.raises(EntryError, match="read-only"):
        Registry(bundled_path(), include_env=False).add(make())


def test_atomic_add_leaves_nothing_half_written(tmp_path, monkeypatch):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    reg.add(make())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        reg.add(make(version=2, formula="a*x + cos(x)"))
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != LOCK_FILE) == ["demo-v1.json", "index.json"]  # no temp file
    assert Registry(tmp_path, include_env=False, include_bundled=False).ids() == ["demo-v1"]


def test_unknown_reference_lists_close_matches():
    with pytest.raises(UnknownEntryError) as info:
        nsad_lib.get("higgs-v1x")
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownEntryError, match="close matches: .*hajbi2026-higgs-fig"):
        nsad_lib.get("hajbi2026-higs-fig")


def test_env_registry_path(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    Registry(a, include_env=False, include_bundled=False).add(make("alpha", formula="x*cos(x)"))
    Registry(b, include_env=False, include_bundled=False).add(make("beta", formula="tanh(x)"))
    monkeypatch.setenv("NSAD_REGISTRY_PATH", os.pathsep.join([str(a), str(b)]))
    assert {"alpha-v1", "beta-v1", "relu-v1"} <= {e.id for e in nsad_lib.list_entries()}
    assert nsad_lib.info("beta")["formula"] == "tanh(x)"
    act = nsad_lib.get("alpha-v1")
    assert act.name == "alpha-v1"


def test_get_trainable_override(tmp_path):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    reg.add(make(trainable=True))
    assert [n for n, _ in reg.get("demo").named_parameters()] == ["a"]
    assert list(reg.get("demo", trainable=False).parameters()) == []


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("provenance"), "missing field"),
        (lambda d: d.update(schema=2), "unsupported schema"),
        (lambda d: d.update(extra=1), "unknown field"),
        (lambda d: d.update(id="other-v1"), "does not match"),
        (lambda d: d.update(version=True), "version"),
        (lambda d: d.update(formula="__import__('os')"), "unexpected character"),
    ],
)
def test_schema_violations_are_named(mutate, message):
    data = make().to_dict()
    mutate(data)
    with pytest.raises(EntryError, match=message):
        Entry.from_dict(data, verify_hash=False)


def test_invalid_json_names_the_source():
    with pytest.raises(EntryError, match="some.json: not valid JSON"):
        Entry.from_json("{", source="some.json")


def test_split_id():
    assert split_id("hajbi2026-higgs-fig-v12") == ("hajbi2026-higgs-fig", 12)
    for bad in ["higgs", "higgs-v0", "Higgs-v1", "-v1", "a b-v1"]:
        with pytest.raises(EntryError):
            split_id(bad)


def test_get_is_cached_and_cheap_after_first():
    import time

    nsad_lib.get("hajbi2026-higgs-fig-v1")
    start = time.perf_counter()
    for _ in range(20):
        nsad_lib.get("hajbi2026-higgs-fig-v1")
    # not a timing assertion on the machine's speed: only that nothing is re-parsed per call
    # (a cold parse+compile is ~100x slower than this bound)
    assert (time.perf_counter() - start) / 20 < 0.05


def test_bundled_files_are_in_canonical_json(tmp_path):
    for path in Path(bundled_path()).glob("*-v*.json"):
        entry = Entry.from_json(path.read_text(), source=str(path))
        assert path.read_text() == entry.to_json(), path


# -- untrusted entry files: every bad input is an EntryError naming the file, never a traceback --
def write_entry_file(directory: Path, data: dict, *, file_id: str | None = None, index: bool = True) -> Path:
    """Write ``data`` as a registry entry file with a correct content hash (and index line)."""
    import sys

    directory.mkdir(parents=True, exist_ok=True)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # so a hostile 5001-digit integer can be written at all
    try:
        data = {**data, "sha256": content_hash(data)}
        text = json.dumps(data, sort_keys=True)  # no indent: 800 levels of it would exceed the size limit
    finally:
        sys.set_int_max_str_digits(limit)
    path = directory / f"{file_id or data['id']}.json"
    path.write_text(text)
    if index:
        (directory / "index.json").write_text(json.dumps({"schema": 1, "entries": {path.stem: data["sha256"]}}))
    return path


BAD_ENTRY_FILES = {
    **HOSTILE_ENTRIES,
    "big-int-parameter": (lambda d: d["parameters"].update(a=2**70), "parameters.a is an integer too large"),
    "deep-provenance": (lambda d: d["provenance"].update(n=nested_list(40)), "nested more than 32 levels deep"),
    "bad-id": (lambda d: d.update(id="../x"), "invalid entry id '../x'"),
}


@pytest.mark.parametrize("case", sorted(BAD_ENTRY_FILES))
def test_hostile_entry_files_are_entry_errors_naming_the_file(case, tmp_path):
    mutate, message = BAD_ENTRY_FILES[case]
    data = make().to_dict()
    mutate(data)
    path = write_entry_file(tmp_path, data, file_id="demo-v1")
    with pytest.raises(EntryError) as info:
        Registry(tmp_path, include_env=False, include_bundled=False).entries()
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and len(text) < 400 and "\n" not in text


def test_entry_nesting_up_to_the_limit_round_trips(tmp_path):
    entry = make(metrics={"n": nested_list(31), "seed": 2**63 - 1})
    path = Registry(tmp_path, include_env=False, include_bundled=False).add(entry)
    assert Registry(tmp_path, include_env=False, include_bundled=False).resolve(entry.id) == entry
    assert Entry.from_json(path.read_text()) == entry
    with pytest.raises(EntryError, match="nested more than 32 levels"):
        make(metrics={"n": nested_list(32)})


def test_create_refuses_parameters_that_are_not_finite_floats():
    with pytest.raises(EntryError, match="entry demo-v1: parameter 'a' must be a finite number"):
        make(parameters={"a": 10**400})
    with pytest.raises(EntryError, match="parameter 'a' must be a finite number"):
        make(parameters={"a": "0.5"})


def test_tampered_entry_is_refused_before_its_formula_is_parsed(tmp_path, monkeypatch):
    from nsad_lib.formula import Formula

    path = Registry(tmp_path, include_env=False, include_bundled=False).add(make())
    data = json.loads(path.read_text())
    data["formula"] = "a*x + cos(x)"  # edited, hash not recomputed
    calls = []
    real_parse = Formula.parse.__func__

    def counting_parse(cls, *args, **kwargs):
        calls.append(args[0])
        return real_parse(cls, *args, **kwargs)

    monkeypatch.setattr(Formula, "parse", classmethod(counting_parse))
    with pytest.raises(EntryError, match="content hash mismatch"):
        Entry.from_json(json.dumps(data), source="tampered.json")
    assert calls == []  # refused on the hash alone
    Entry.from_json(path.read_text(), source=str(path))
    assert calls == ["a*x + sin(x)"]  # an intact entry is parsed after its hash matched


def test_index_id_without_its_file_is_reported(tmp_path):
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    reg.add(make())
    reg.add(make(version=2, formula="a*x + cos(x)"))
    (tmp_path / "demo-v2.json").unlink()
    with pytest.raises(EntryError) as info:
        Registry(tmp_path, include_env=False, include_bundled=False).entries()
    assert str(info.value) == (
        f"{tmp_path / 'index.json'}: lists entry 'demo-v2', but {tmp_path / 'demo-v2.json'} does not exist "
        "(restore the file, or remove the id from the index if the entry was deleted on purpose)"
    )
    index = json.loads((tmp_path / "index.json").read_text())
    index["entries"] = {"../x": "0" * 64, "demo-v1": index["entries"]["demo-v1"]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(EntryError, match=r"index\.json: lists an invalid entry id '\.\./x'"):
        Registry(tmp_path, include_env=False, include_bundled=False).entries()


def _add_in_child(directory, entry, start, results):
    start.wait()
    try:
        Registry(directory, include_env=False, include_bundled=False).add(entry, check_numerics=False)
        results.put((entry.formula, "added"))
    except EntryConflictError:
        results.put((entry.formula, "conflict"))


def _race(tmp_path, entries):
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("needs fork")
    ctx = mp.get_context("fork")
    start, results = ctx.Barrier(len(entries)), ctx.Queue()
    procs = [ctx.Process(target=_add_in_child, args=(tmp_path, e, start, results)) for e in entries]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    return [results.get(timeout=5) for _ in entries]


def test_concurrent_adds_keep_every_index_line(tmp_path):
    entries = [make(f"n{i}", formula=f"x + {i + 1}*sin(x)") for i in range(6)]
    outcomes = _race(tmp_path, entries)
    assert sorted(o for _, o in outcomes) == ["added"] * 6
    index = json.loads((tmp_path / "index.json").read_text())["entries"]
    assert sorted(index) == sorted(e.id for e in entries)  # no add lost another's index line
    assert Registry(tmp_path, include_env=False, include_bundled=False).ids() == sorted(e.id for e in entries)


def test_concurrent_adds_of_one_id_let_exactly_one_win(tmp_path):
    entries = [make("same", formula=f"x + {i + 1}*sin(x)") for i in range(4)]
    outcomes = _race(tmp_path, entries)
    winners = [f for f, o in outcomes if o == "added"]
    assert len(winners) == 1 and sum(o == "conflict" for _, o in outcomes) == 3
    stored = Registry(tmp_path, include_env=False, include_bundled=False).resolve("same-v1")
    assert stored.formula == winners[0]  # the winner's entry was not overwritten by a loser


# -- hostile registry files (issue 13): not a small regular file, or numerics that fail on load --
_LOAD = "import sys; from nsad_lib.registry.store import Registry; Registry(sys.argv[1], include_env=False, include_bundled=False).entries(); print('LOADED')"


@pytest.mark.parametrize("where", ["entry", "index"])
@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_hostile_registry_files_are_refused_without_blocking(case, where, tmp_path):
    make_file, message = HOSTILE_FILES[case]
    directory = tmp_path / "reg"
    Registry(directory, include_env=False, include_bundled=False).add(make())
    target = directory / ("demo-v1.json" if where == "entry" else "index.json")
    target.unlink()
    if where == "index":  # the entry stays; its index is what is hostile
        pass
    make_file(target)
    # in a child with a time and memory limit: a regression blocks on the FIFO or reads /dev/zero forever
    proc = run_bounded(["-c", _LOAD, str(directory)])
    assert proc.returncode == 1 and "LOADED" not in proc.stdout, proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"nsad_lib.errors.EntryError: {target}: ") and message in last, proc.stderr[-2000:]
    assert "RecursionError" not in proc.stderr


def test_index_json_replaced_by_a_directory_is_an_error_in_process(tmp_path):
    Registry(tmp_path, include_env=False, include_bundled=False).add(make())
    (tmp_path / "index.json").unlink()
    (tmp_path / "index.json").mkdir()
    with pytest.raises(EntryError, match=r"index\.json: refused registry index: a directory, not a regular file"):
        Registry(tmp_path, include_env=False, include_bundled=False).entries()


def test_index_hashes_must_be_hex(tmp_path):
    Registry(tmp_path, include_env=False, include_bundled=False).add(make())
    (tmp_path / "index.json").write_text(json.dumps({"schema": 1, "entries": {"demo-v1": [[1]]}}))
    with pytest.raises(EntryError, match=r"index\.json: unreadable registry index: the hash of 'demo-v1' is not 64 hex"):
        Registry(tmp_path, include_env=False, include_bundled=False).entries()


def test_rehashed_non_finite_entry_is_refused_on_load_naming_the_file(tmp_path):
    data = make().to_dict()
    data.update(formula="log(x)", parameters={})
    path = write_entry_file(tmp_path, data, file_id="demo-v1")
    reg = Registry(tmp_path, include_env=False, include_bundled=False)
    with pytest.raises(EntryError) as info:
        reg.entries()
    assert str(info.value).startswith(f"{path}: ") and "non-finite" in str(info.value)
    with pytest.raises(EntryError, match="non-finite"):
        reg.resolve("demo-v1")
    with pytest.raises(EntryError, match="non-finite"):
        nsad_lib.registry.store.load_entry_file(path)
    assert nsad_lib.registry.store.load_entry_file(path, check_numerics=False).formula == "log(x)"  # the file itself is well-formed


def test_numerics_are_checked_once_per_formula_and_not_for_bundled_entries(tmp_path, monkeypatch):
    import nsad_lib.nn.finite as finite
    import nsad_lib.registry.entry as entry_mod

    calls = []
    real = finite.check_finite
    monkeypatch.setattr(finite, "check_finite", lambda formula, values=None, **kw: (calls.append(formula.canonical), real(formula, values, **kw))[1])
    monkeypatch.setattr(entry_mod, "_NUMERICS_CACHE", {})
    reg = Registry(tmp_path, include_env=False)  # user directory + bundled
    reg.add(make(formula="a*x + tanh(x)"), check_numerics=False)
    for _ in range(3):
        reg.entries()
    assert calls == ["a*x + tanh(x)"]  # one check for the user entry, none for the bundled ones
