"""Named datasets (shipped samples and ../shared/data), tamper detection, the downloader, and
the generic file loader's errors, each checked against values computed independently."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import shutil
import socket
import threading
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nsad_lib.data import datasets
from nsad_lib.data import parsers as dataset_parsers
from nsad_lib.data.downloads import Download, fetch
from nsad_lib.data.tabular import load_file
from nsad_lib.errors import DataError, NsadError

SAMPLES = Path(datasets.__file__).parent / "samples"
SPAMBASE_SHA = "b1ef93de71f97714d3d7d4f58fc9f718da7bbc8ac8a150eff2778616a8097b12"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spambase_bytes() -> bytes:
    return gzip.decompress((SAMPLES / "spambase_sample.data.gz").read_bytes())


# --- shipped samples -------------------------------------------------------------------------

def test_samples_are_small_and_attributed():
    files = list(SAMPLES.iterdir())
    assert sum(f.stat().st_size for f in files) < 1_500_000
    readme = (SAMPLES / "README.md").read_text()
    for needed in ("CC BY 4.0", "10.24432/C5V312", "10.24432/C50K5N", "10.24432/C53G6X", "10.24432/C5CC84"):
        assert needed in readme


def test_higgs_sample_matches_the_file():
    ds = datasets.load("higgs", sample=True)
    raw = np.loadtxt(gzip.open(SAMPLES / "higgs_sample.tsv.gz", "rt"), delimiter="\t")
    assert ds.X.shape == (3000, 28) and ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    np.testing.assert_allclose(ds.X, raw[:, 1:], rtol=1e-6)
    np.testing.assert_array_equal(ds.y, raw[:, 0].astype(int))
    assert ds.feature_names[0] == "lepton_pT" and ds.feature_names[-1] == "m_wwbb"
    assert ds.meta.original_prefix == 3000
    assert ds.meta.sha256[str(SAMPLES / "higgs_sample.tsv.gz")] == sha(SAMPLES / "higgs_sample.tsv.gz")


def test_forest_sample_is_the_binary_task():
    ds = datasets.load("forest", sample=True)
    raw = np.loadtxt(gzip.open(SAMPLES / "forest_sample.data.gz", "rt"), delimiter=",")
    assert ds.X.shape == (5000, 54)
    np.testing.assert_array_equal(ds.y, (raw[:, -1] == 2).astype(int))
    assert ds.y.sum() == 2427
    kinds = dict(zip(ds.feature_names, ds.feature_kinds))
    assert kinds["Wilderness_Area1"] == "binary" and kinds["Elevation"] == "count"
    assert any("cover_type == 2" in n for n in ds.meta.notes)


def test_spambase_sample_is_the_complete_uci_file():
    assert hashlib.sha256(spambase_bytes()).hexdigest() == SPAMBASE_SHA
    ds = datasets.load("spambase", sample=True)
    assert ds.X.shape == (4601, 57) and ds.y.sum() == 1813
    assert ds.feature_names[-1] == "capital_run_length_total"
    assert ds.X[0, -1] == 278.0  # first row's capital_run_length_total in spambase.data
    assert ds.feature_kinds[-1] == "count" and ds.feature_kinds[0] == "continuous"


def test_sms_sample_bag_of_words():
    ds = datasets.load("sms", sample=True)
    assert ds.X.shape == (1500, 500) and ds.y.sum() == 215
    assert ds.y[2] == 1 and ds.y[0] == 0  # third message is the first spam
    col = {name: j for j, name in enumerate(ds.feature_names)}
    # "Free entry in 2 a wkly comp to win FA Cup final tkts ... Text FA to 87121 to receive entry..."
    assert ds.X[2, col["count_to"]] == 3 and ds.X[2, col["count_entry"]] == 2
    assert ds.X[2, col["count_free"]] == 1
    assert set(ds.feature_kinds) <= {"count", "binary"}
    assert any("document frequency" in n for n in ds.meta.notes)


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(DataError, match="higgs, forest, spambase, sms"):
        datasets.load("mnist")


# --- ../shared/data --------------------------------------------------------------------------

def test_shared_higgs_concatenates_three_files(shared_data):
    ds = datasets.load("higgs", data_dir=shared_data)
    assert ds.n_rows == 18_484 and ds.n_features == 28
    first = (shared_data / "higgs_lightgbm/binary.train").read_text().split("\n")[0].split("\t")
    np.testing.assert_allclose(ds.X[0], np.array(first[1:], dtype=float), rtol=1e-6)
    sas = pd.read_csv(shared_data / "higgs_sas/higgs.csv", nrows=1)
    np.testing.assert_allclose(ds.X[7500], sas.iloc[0, :-1].to_numpy(float), rtol=1e-6)
    assert ds.y[7500] == sas.iloc[0, -1]
    assert ds.meta.original_prefix == 7500
    assert ds.meta.sha256[str(shared_data / "higgs_sas/higgs.csv")] == \
        "21f8b95e4aaed9e631a76d69c724bb0ca94456bc1ac01e18fd81b968dd3c9724"


def test_shared_forest_spambase_sms(shared_data):
    forest = datasets.load("forest", data_dir=shared_data)
    labels = np.loadtxt(gzip.open(shared_data / "covtype_mlpack_small/covertype-small.labels.csv.gz", "rt"))
    assert forest.X.shape == (100_000, 54) and forest.y.sum() == int((labels == 2).sum()) == 49_000
    spam = datasets.load("spambase", data_dir=shared_data)
    assert spam.meta.sha256[str(shared_data / "spambase/spambase.data")] == SPAMBASE_SHA
    assert spam.X.shape == (4601, 57) and spam.y.sum() == 1813
    sms = datasets.load("sms", data_dir=shared_data)
    assert sms.X.shape == (5574, 500) and sms.y.sum() == 747


# --- recognition by sha256, tampering, precedence --------------------------------------------

def test_tampered_file_is_reported(tmp_path):
    target = tmp_path / "spambase" / "spambase.data"
    target.parent.mkdir()
    data = bytearray(spambase_bytes())
    data[5] = ord("9") if data[5] != ord("9") else ord("8")
    target.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        datasets.load("spambase", data_dir=tmp_path)
    message = str(err.value)
    assert str(target) in message and SPAMBASE_SHA in message and sha(target) in message
    with pytest.warns(UserWarning, match="matches no known copy"):
        ds = datasets.load("spambase", data_dir=tmp_path, verify=False)
    assert ds.n_rows == 4601


def test_untampered_flat_copy_is_recognised(tmp_path):
    (tmp_path / "spambase.data").write_bytes(spambase_bytes())
    ds = datasets.load("spambase", data_dir=tmp_path)
    assert ds.meta.sha256 == {str(tmp_path / "spambase.data"): SPAMBASE_SHA}
    assert ds.meta.source.startswith("UCI spambase.data")


def test_missing_dataset_says_what_to_do(tmp_path):
    with pytest.raises(DataError) as err:
        datasets.load("forest", data_dir=tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "covtype.data.gz" in message and "download=True" in message


def test_higgs_original_keeps_the_first_rows(tmp_path, monkeypatch):
    raw = np.loadtxt(gzip.open(SAMPLES / "higgs_sample.tsv.gz", "rt"), delimiter="\t")[:120]
    np.savetxt(tmp_path / "HIGGS.csv", raw, delimiter=",", fmt="%.6e")  # UCI's own layout
    monkeypatch.setattr(dataset_parsers, "HIGGS_MAX_ROWS", 100)
    ds = datasets.load("higgs", data_dir=tmp_path)
    assert ds.n_rows == 100 and ds.meta.source.startswith("UCI HIGGS.csv")
    np.testing.assert_allclose(ds.X, raw[:100, 1:], rtol=1e-5)


def test_forest_original_is_checked_and_sampled(tmp_path, monkeypatch):
    rows = gzip.decompress((SAMPLES / "forest_sample.data.gz").read_bytes()).split(b"\n")[:300]
    (tmp_path / "covtype.data").write_bytes(b"\n".join(rows) + b"\n")
    with pytest.raises(DataError, match="581,012"):
        datasets.load("forest", data_dir=tmp_path)
    monkeypatch.setattr(dataset_parsers, "FOREST_ROWS", 100)
    with pytest.warns(UserWarning, match="581,012"):
        ds = datasets.load("forest", data_dir=tmp_path, verify=False)
    keep = np.sort(np.random.RandomState(42).choice(300, 100, replace=False))
    raw = np.loadtxt(io.BytesIO(b"\n".join(rows)), delimiter=",")
    np.testing.assert_array_equal(ds.X, raw[keep, :-1])
    np.testing.assert_array_equal(ds.y, (raw[keep, -1] == 2).astype(int))


# --- downloader, against a local server only ------------------------------------------------

@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_and_loads(server, tmp_path):
    root, base = server
    (root / "spambase.data").write_bytes(spambase_bytes())
    dest = tmp_path / "cache"
    path = datasets.download_original("spambase", dest, url=f"{base}/spambase.data", progress=False)
    assert path == dest / "spambase.data" and sha(path) == SPAMBASE_SHA
    assert datasets.load("spambase", data_dir=dest).n_rows == 4601


def test_download_checksum_mismatch_keeps_nothing(server, tmp_path):
    root, base = server
    (root / "spambase.data").write_bytes(spambase_bytes().replace(b"0.64", b"0.65", 1))
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match=f"expected {SPAMBASE_SHA}"):
        datasets.download_original("spambase", dest, url=f"{base}/spambase.data", progress=False)
    assert list(dest.iterdir()) == []


def test_download_of_missing_file_and_offline(server, tmp_path):
    _root, base = server
    with pytest.raises(DataError, match="404"):
        datasets.download_original("spambase", tmp_path, url=f"{base}/nothing", progress=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError) as err:
        datasets.download_original("sms", tmp_path / "d", url=f"http://127.0.0.1:{port}/x.zip", progress=False)
    assert "cannot download" in str(err.value) and "NSAD_DATA_DIR" in str(err.value)
    assert "SMSSpamCollection" in str(err.value)


def test_download_extracts_a_verified_zip_member(server, tmp_path):
    root, base = server
    member = gzip.decompress((SAMPLES / "sms_sample.tsv.gz").read_bytes())
    with zipfile.ZipFile(root / "sms.zip", "w") as zf:
        zf.writestr("readme", "hello")
        zf.writestr("SMSSpamCollection", member)
    spec = Download(f"{base}/sms.zip", "SMSSpamCollection",
                    sha256=hashlib.sha256(member).hexdigest(), member="SMSSpamCollection")
    path = fetch(spec, tmp_path / "d", progress=False)
    assert path.read_bytes() == member
    bad = Download(spec.url, "SMSSpamCollection", sha256="0" * 64, member="SMSSpamCollection")
    with pytest.raises(DataError, match="member SMSSpamCollection"):
        fetch(bad, tmp_path / "e", progress=False)
    assert list((tmp_path / "e").iterdir()) == []


def test_shared_copy_served_and_downloaded(server, tmp_path, shared_data):
    root, base = server
    shutil.copy(shared_data / "spambase/spambase.data", root / "spambase.data")
    path = datasets.download_original("spambase", tmp_path, url=f"{base}/spambase.data", progress=False)
    assert sha(path) == SPAMBASE_SHA


# --- generic files ---------------------------------------------------------------------------

def frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n).round(6), "b": rng.integers(0, 5, n),
                         "label": np.where(np.arange(n) % 3 == 0, "yes", "no")})


@pytest.mark.parametrize("name", ["data.csv", "data.tsv", "data.csv.gz", "data.txt", "data.parquet"])
def test_round_trip_formats(tmp_path, name):
    df = frame()
    path = tmp_path / name
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
        df.to_parquet(path)
    else:
        df.to_csv(path, sep="\t" if ".tsv" in name or ".txt" in name else ",", index=False)
    ds = load_file(path, target="label")
    np.testing.assert_allclose(ds.X, df[["a", "b"]].to_numpy(float), rtol=1e-6)
    np.testing.assert_array_equal(ds.y, (df["label"] == "yes").to_numpy(int))  # sorted: no=0, yes=1
    assert ds.feature_names == ("a", "b") and ds.feature_kinds == ("continuous", "count")
    assert ds.meta.sha256 == {str(path): sha(path)} and ds.meta.rows == 60


def test_npz_and_headerless_csv(tmp_path):
    df = frame()
    X = df[["a", "b"]].to_numpy(float)
    np.savez(tmp_path / "d.npz", X=X, y=(df["label"] == "yes").to_numpy(int), feature_names=np.array(["p", "q"]))
    ds = load_file(tmp_path / "d.npz", target="y")
    assert ds.feature_names == ("p", "q")
    np.testing.assert_allclose(ds.X, X, rtol=1e-6)
    (tmp_path / "s.data").write_bytes(spambase_bytes())
    spam = load_file(tmp_path / "s.data", target=-1)
    assert spam.X.shape == (4601, 57) and spam.y.sum() == 1813 and spam.meta.target == "57"


def test_a_text_file_named_npz_is_not_called_pickled(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(DataError, match="not a .npz file") as exc:
        load_file(tmp_path / "junk.npz", target="y")
    assert "pickle" not in str(exc.value)


def write(tmp_path: Path, df: pd.DataFrame) -> Path:
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    return path


def test_missing_target_lists_columns(tmp_path):
    path = write(tmp_path, frame())
    with pytest.raises(DataError, match=r"no target column 'y'; columns are: a, b, label") as err:
        load_file(path, target="y")
    assert str(path) in str(err.value)


def test_non_numeric_feature_names_column_and_row(tmp_path):
    df = frame().astype({"b": object})
    df.loc[6, "b"] = "seven"
    with pytest.raises(DataError, match=r"column 'b', row 7 \(line 8\): value 'seven' is not a number"):
        load_file(write(tmp_path, df), target="label")


@pytest.mark.parametrize("value,what", [(np.nan, "missing"), (np.inf, "infinite")])
def test_nan_and_inf_name_column_and_row(tmp_path, value, what):
    df = frame()
    df.loc[12, "a"] = value
    with pytest.raises(DataError, match=rf"column 'a', row 13 \(line 14\): value is {what}"):
        load_file(write(tmp_path, df), target="label")


def test_one_class_few_rows_and_many_classes(tmp_path):
    df = frame()
    df["label"] = "no"
    with pytest.raises(DataError, match="one class only"):
        load_file(write(tmp_path, df), target="label")
    with pytest.raises(DataError, match="only 49 rows; at least 50"):
        load_file(write(tmp_path, frame(49)), target="label")
    df = frame()
    df["label"] = np.arange(60) % 3 + 1
    with pytest.raises(DataError, match="3 classes"):  # a binary task asked for: needs positive=
        load_file(write(tmp_path, df), target="label", task="binary")
    three = load_file(tmp_path / "bad.csv", target="label")  # issue 16: inferred multiclass
    assert three.task == "multiclass" and three.classes == (1, 2, 3) and three.n_classes == 3
    np.testing.assert_array_equal(three.y, np.arange(60) % 3)
    ds = load_file(tmp_path / "bad.csv", target="label", positive=2)
    np.testing.assert_array_equal(ds.y, (np.arange(60) % 3 + 1 == 2).astype(int))


def test_data_error_is_an_nsad_error():
    assert issubclass(DataError, NsadError) and issubclass(DataError, ValueError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="no such file"):
            load_file("/nonexistent/file.csv", target="y")


def test_subset_keeps_provenance_and_notes_the_rows():
    ds = datasets.load("spambase", sample=True)
    part = ds.subset(np.array([5, 0, 9]), note="three rows")
    np.testing.assert_array_equal(part.X, ds.X[[5, 0, 9]])
    np.testing.assert_array_equal(part.y, ds.y[[5, 0, 9]])
    assert part.meta.rows == 3 and part.meta.notes[-1] == "three rows"
    assert part.meta.sha256 == ds.meta.sha256 and part.meta.original_prefix == 0


def test_load_with_download_fetches_then_loads(server, tmp_path, monkeypatch):
    import dataclasses

    from nsad_lib.data import catalog as dataset_catalog

    root, base = server
    (root / "spambase.data").write_bytes(spambase_bytes())
    info = dataset_catalog.CATALOG["spambase"]
    uci = dataclasses.replace(info.layouts[0], downloads=(
        dataclasses.replace(info.layouts[0].downloads[0], url=f"{base}/spambase.data"),))
    monkeypatch.setitem(dataset_catalog.CATALOG, "spambase",
                        dataclasses.replace(info, layouts=(uci, *info.layouts[1:])))
    monkeypatch.setenv("NSAD_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SHARED_DATA_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match="not found"):
        datasets.load("spambase")
    ds = datasets.load("spambase", download=True)
    assert ds.meta.paths == (str(tmp_path / "env" / "spambase.data"),) and ds.n_rows == 4601


# --- issue 13.8: absurd shapes are refused early; sampled reads ----------------------------------

def test_header_only_csv_is_no_data_rows_not_an_index_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("a,b,label\n")
    with pytest.raises(DataError, match=r"header\.csv: no data rows, only a header; at least 50"):
        load_file(path, target="label")
    from nsad_lib.data.tabular import binary_target

    with pytest.raises(DataError, match="no values"):  # the function itself, given an empty column
        binary_target(pd.Series([], dtype=float), "label", path)


def test_one_row_is_too_few_rows_not_one_class(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("a,b,label\n1,2,0\n")
    with pytest.raises(DataError, match=r"only 1 row; at least 50 are needed") as err:
        load_file(path, target="label")
    assert "class" not in str(err.value)


@pytest.mark.parametrize("field, count", [("a", 1_000_000), ("column_with_a_long_name_0123456789", 200_000)])
def test_a_huge_header_is_refused_before_pandas(tmp_path, monkeypatch, field, count):
    from nsad_lib.data import tabular

    path = tmp_path / "wide.csv"
    path.write_text(",".join([field] * count) + "\n" + ",".join(["1"] * 100) + "\n")

    def no_pandas(*args, **kwargs):
        raise AssertionError("pandas must not see this file")

    monkeypatch.setattr(tabular, "_parse_text", no_pandas)
    with pytest.raises(DataError) as err:
        load_file(path, target=-1)
    text = str(err.value)
    assert text.endswith("1,000,000 columns in the first line; at most 10,000 are supported" if count == 1_000_000
                         else "the first line is longer than 4 MiB; a table may have at most 10,000 columns")
    assert "\n" not in text


def test_the_column_cap_also_applies_to_npz(tmp_path):
    np.savez(tmp_path / "w.npz", X=np.zeros((60, 10_001)), y=np.arange(60) % 2)
    with pytest.raises(DataError, match="10,002 columns; at most 10,000"):
        load_file(tmp_path / "w.npz", target="y")


def test_devices_and_paths_under_a_file_are_named(tmp_path):
    with pytest.raises(DataError, match=r"^/dev/zero: not a regular file \(a character device\)$"):
        load_file("/dev/zero", target=-1)
    plain = tmp_path / "plain"
    plain.write_text("x")
    with pytest.raises(DataError, match=f"not a directory: {plain}"):
        load_file(plain / "d.csv", target=-1)


# --- issue 14.5: regression targets ---------------------------------------------------------------

def test_float_target_is_a_regression_target(tmp_path):
    path = tmp_path / "houses.csv"
    n = 200
    rng = np.random.default_rng(0)
    value = rng.uniform(0.5, 5, n).round(3)
    pd.DataFrame({"rooms": rng.normal(size=n), "value": value}).to_csv(path, index=False)
    ds = load_file(path, target="value")  # issue 16: supported, never "200 classes"
    assert ds.task == "regression" and ds.n_classes is None and ds.y.dtype == np.float64
    np.testing.assert_allclose(ds.y, value)
    with pytest.raises(DataError) as err:  # a classification-only option on a regression target
        load_file(path, target="value", positive=1.5)
    text = str(err.value)
    assert "regression target" in text and "not all integers" in text and "positive=1.5" in text and "\n" not in text


def test_many_integer_values_are_a_regression_target_but_few_are_classes(tmp_path):
    path = tmp_path / "ages.csv"
    n = 300
    pd.DataFrame({"x": np.arange(n) * 0.5, "age": 18 + np.arange(n) % 60}).to_csv(path, index=False)
    assert load_file(path, target="age").task == "regression"  # 60 distinct values (more than 50)
    ds = load_file(path, target="age", positive=30)  # an explicit class: 'VALUE against the rest'
    assert ds.task == "binary" and ds.y.sum() == 5
    forced = load_file(path, target="age", task="multiclass")
    assert forced.n_classes == 60 and forced.classes[0] == 18
    pd.DataFrame({"x": np.arange(n) * 0.5, "grade": 1.0 + np.arange(n) % 7}).to_csv(path, index=False)
    grade = load_file(path, target="grade")  # integer codes stay classes
    assert grade.task == "multiclass" and grade.classes == (1, 2, 3, 4, 5, 6, 7)
    with pytest.raises(DataError, match=r"has 7 classes \(1, 2, 3"):
        load_file(path, target="grade", task="binary")


def test_california_housing_loads_as_regression(shared_data):
    path = shared_data / "california_housing" / "california_housing.csv.gz"
    if not path.is_file():
        pytest.skip("california_housing not in ../shared/data")
    ds = load_file(path, target="MedHouseVal")
    assert ds.task == "regression" and ds.X.shape == (20640, 8)
    assert 0.1 < ds.y.min() < ds.y.max() <= 5.00001


# --- sampled reads -------------------------------------------------------------------------------

def test_load_file_rows_reads_only_the_chosen_rows(tmp_path, monkeypatch):
    from nsad_lib.data import tabular
    from nsad_lib.data.tabular import count_data_rows, load_file_rows

    df = frame(500)
    for name, sep in (("d.csv", ","), ("d.tsv.gz", "\t")):
        path = tmp_path / name
        df.to_csv(path, sep=sep, index=False)
        parsed: list[int] = []
        real_parse = tabular._parse_text
        monkeypatch.setattr(tabular, "_parse_text", lambda *a: parsed.append(len(r := real_parse(*a))) or r)
        rows = np.array([499, 3, 250, 0])
        part = load_file_rows(path, "label", rows)
        assert parsed == [4]
        whole = load_file(path, "label")
        np.testing.assert_array_equal(part.X, whole.X[np.sort(rows)])  # file order
        np.testing.assert_array_equal(part.y, whole.y[np.sort(rows)])
        assert count_data_rows(path) == 500
        monkeypatch.undo()
    bad = df.astype({"b": object})
    bad.loc[250, "b"] = "oops"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"column 'b', row 251 \(line 252\)"):  # the file's row, not the sample's
        load_file_rows(tmp_path / "bad.csv", "label", [3, 250])
    load_file_rows(tmp_path / "bad.csv", "label", [3, 251])  # unsampled rows are not read
    with pytest.raises(DataError, match="row 501 requested"):
        load_file_rows(tmp_path / "d.csv", "label", [500])


# --- issue 14.10: small validation sets warn -------------------------------------------------------

def test_warn_small_validation():
    from nsad_lib.data.tabular import MIN_VALIDATION_ROWS, warn_small_validation
    from nsad_lib.errors import SmallDataWarning

    assert MIN_VALIDATION_ROWS == 200
    with pytest.warns(SmallDataWarning, match=r"validation scores come from only 120 rows \(fewer than 200\)"):
        assert warn_small_validation(120) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_small_validation(200) is False


# --- issue 14.10: docs/data.md's worked example runs and prints what the page says ---------------

def test_docs_data_example_runs_and_prints_the_documented_output(tmp_path):
    import os
    import re
    import subprocess
    import sys

    page = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    section = page.split("## Worked example", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    expected = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "example.py"
    script.write_text(code)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NSAD_DATA_DIR": str(tmp_path / "no-data")}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_named_reads_a_dataset_name_or_its_shipped_sample():
    from nsad_lib.data import datasets

    assert datasets.named("forest") == ("forest", False)
    assert datasets.named("sample:forest") == ("forest", True)
    assert datasets.named("sample:nope") is None and datasets.named("data.csv") is None
    assert datasets.named("Forest") is None  # exact: callers that accept any case lower it first
