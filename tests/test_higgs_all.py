"""higgs-all: every real HIGGS row in ../shared/data, each UCI event once (issue 18.6).

The expected counts were computed independently of the loader: by reading the four files with
pandas and matching rows on (label, features rounded to the LightGBM copy's 3 decimals) and with
a k-d tree at tolerances 6e-4 to 5e-3, which all give the same 2,771 repeated rows.
"""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pandas as pd
import pytest

from nsad_lib.bench import suite
from nsad_lib.data import datasets
from nsad_lib.errors import DataError

SMALL = "higgs_small/higgs_small_valtest.csv.gz"
HIGGS_FILES = ("higgs_lightgbm/binary.train", "higgs_lightgbm/binary.test", "higgs_sas/higgs.csv")


@pytest.fixture(scope="module")
def higgs_all(shared_data):
    if not (shared_data / SMALL).is_file():
        pytest.skip(f"{SMALL} not in ../shared/data")
    return datasets.load("higgs-all", data_dir=shared_data)


def test_rows_labels_and_duplicates(higgs_all, shared_data):
    ds = higgs_all
    assert ds.name == "higgs-all" and ds.task == "binary"
    assert ds.X.shape == (51_011, 28) and ds.meta.rows == 51_011
    assert int(ds.y.sum()) == 26_970 and int((ds.y == 0).sum()) == 24_041
    notes = " ".join(ds.meta.notes)
    assert "53,782 rows read" in notes
    assert "2,771 rows dropped" in notes and "3 of them exactly equal" in notes
    # every file checked by its sha256, as the other loaders do
    assert set(ds.meta.sha256) == {str(shared_data / f) for f in (*HIGGS_FILES, SMALL)}
    assert ds.meta.sha256[str(shared_data / SMALL)] == \
        "8c275735c8d5cf68cd5fc6e35cf506f67951d2a3414462f7a44dad997d51c1f9"
    # the higgs rows come first, unchanged: UCI rows 1-7,500 stay the original prefix
    higgs = datasets.load("higgs", data_dir=shared_data)
    np.testing.assert_array_equal(ds.X[:7_500], higgs.X[:7_500])
    assert ds.meta.original_prefix == 7_500
    # the last row kept is the file's last higgs-small row (it repeats nothing)
    small = pd.read_csv(shared_data / SMALL)
    np.testing.assert_allclose(ds.X[-1], small.iloc[-1, 1:].to_numpy(np.float32))
    assert ds.y[-1] == small.iloc[-1, 0]
    # no two rows left are the same event
    later, _first = datasets.duplicate_rows(ds.X, ds.y, 1e-3)
    assert len(later) == 0


def test_higgs_small_repeats_of_lightgbm_rows_are_dropped(higgs_all, shared_data):
    """A higgs-small row that is LightGBM's row 1 (UCI row 1), given to 3 decimals there."""
    first = np.array(
        (shared_data / "higgs_lightgbm/binary.train").read_text().split("\n")[0].split("\t"), float)
    small = pd.read_csv(shared_data / SMALL)
    values = small.to_numpy(np.float64)
    match = np.flatnonzero(np.all(np.abs(values[:, 1:] - first[1:]) <= 1e-3, axis=1))
    assert len(match) <= 1
    if len(match):  # UCI row 1 is in higgs-small's val/test parts: kept once, as row 0
        hits = np.flatnonzero(np.all(np.abs(higgs_all.X - first[1:]) <= 1e-3, axis=1))
        assert hits.tolist() == [0]


def test_duplicate_rows_exact_and_tolerant():
    X = np.array([[0.1234567, 1.0], [5.0, 5.0], [0.123, 1.0], [0.1234567, 1.0], [0.1234567, 1.0],
                  [9.0, 9.0], [5.0004, 4.9996]])
    y = np.array([1, 0, 1, 1, 0, 1, 0])
    later, first = datasets.duplicate_rows(X, y)
    assert later.tolist() == [3] and first.tolist() == [0]  # row 4 has another label
    later, first = datasets.duplicate_rows(X, y, 1e-3)
    assert later.tolist() == [2, 3, 6] and first.tolist() == [0, 0, 1]
    later, first = datasets.duplicate_rows(X, y, 1e-4)
    assert later.tolist() == [3]
    assert datasets.duplicate_rows(X[:1], y[:1])[0].tolist() == []


def test_a_changed_small_file_is_refused(tmp_path, shared_data):
    if not (shared_data / SMALL).is_file():
        pytest.skip(f"{SMALL} not in ../shared/data")
    for rel in HIGGS_FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / rel, tmp_path / rel)
    (tmp_path / SMALL).parent.mkdir(parents=True)
    text = gzip.decompress((shared_data / SMALL).read_bytes()).decode()
    lines = text.split("\n")
    (tmp_path / SMALL).write_bytes(gzip.compress("\n".join(lines[:1000]).encode()))
    with pytest.raises(DataError, match="sha256 .* matches no known copy of higgs-small"):
        datasets.load("higgs-all", data_dir=tmp_path)
    with pytest.warns(UserWarning, match="loading it anyway"):
        ds = datasets.load("higgs-all", data_dir=tmp_path, verify=False)
    assert ds.meta.notes[1].startswith("then 999 higgs-small")


def test_not_in_the_bench_suites():
    assert "higgs-all" in datasets.names()
    assert "higgs-all" not in suite.MEMBERS
    assert all("higgs-all" not in members for members in suite.SUITES.values())
