"""Readers for the known file formats of the named datasets (one function per layout).

Each parser turns the files of one catalog layout into features, 0/1 labels and notes on
every rule it applied (first N rows, a fixed-seed sample, the binary target rule), and checks
the format it expects so a wrong file fails loudly here rather than training on garbage.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from nsad_lib.data.catalog import (
    CALIFORNIA_FEATURES,
    CALIFORNIA_TARGET,
    FOREST_FEATURES,
    FOREST_ROWS,
    FOREST_SAMPLE_SEED,
    HIGGS_FEATURES,
    HIGGS_MAX_ROWS,
    SMS_VOCABULARY_SIZE,
    SPAMBASE_FEATURES,
)
from nsad_lib.errors import DataError
from nsad_lib.util.optional import require

__all__ = ["Parsed", "PARSERS"]


@dataclass(frozen=True)
class Parsed:
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    notes: tuple[str, ...]
    rows_read: int
    task: str = "binary"
    classes: tuple[object, ...] = ()


def _read_numeric(path: Path, sep: str, columns: int, header: int | None = None,
                  nrows: int | None = None):  # -> pandas.DataFrame
    pd = require("pandas", "data", "reading the datasets")  # optional: the [data] extra

    try:
        df = pd.read_csv(path, sep=sep, header=header, nrows=nrows)
    except Exception as exc:
        raise DataError(f"{path}: cannot parse ({exc})") from exc
    if df.shape[1] != columns:
        raise DataError(f"{path}: expected {columns} columns, found {df.shape[1]}")
    for j, dtype in enumerate(df.dtypes):
        if dtype.kind not in "iuf":
            raise DataError(f"{path}: column {df.columns[j]!r} is not numeric (dtype {dtype})")
    return df


def _labels(values: np.ndarray, allowed: set[int], path: Path, what: str) -> np.ndarray:
    bad = np.flatnonzero(~np.isin(values, sorted(allowed)))
    if len(bad):
        raise DataError(f"{path}: {what}, row {bad[0] + 1}: label {values[bad[0]]!r} not in {sorted(allowed)}")
    return values.astype(np.int64)


def _higgs_label_first(path: Path, sep: str, nrows: int | None) -> tuple[np.ndarray, np.ndarray]:
    df = _read_numeric(path, sep, 1 + len(HIGGS_FEATURES), nrows=nrows)
    values = df.to_numpy(dtype=np.float64)
    return values[:, 1:], _labels(values[:, 0], {0, 1}, path, "column 0 (label)")


def higgs_uci(paths: tuple[Path, ...]) -> Parsed:
    """UCI HIGGS.csv(.gz): comma-separated, label first, no header; the paper's first 100,000 rows."""
    X, y = _higgs_label_first(paths[0], ",", HIGGS_MAX_ROWS)
    return Parsed(X, y, HIGGS_FEATURES, (f"first {len(y):,} rows of the file (the paper's rule)",), len(y))


def higgs_label_first_tsv(paths: tuple[Path, ...]) -> Parsed:
    """LightGBM's format: tab-separated, label first, no header (used by the shipped sample)."""
    X, y = _higgs_label_first(paths[0], "\t", None)
    return Parsed(X, y, HIGGS_FEATURES, (), len(y))


def higgs_shared(paths: tuple[Path, ...]) -> Parsed:
    """binary.train + binary.test (LightGBM) then higgs.csv (SAS, header, label last), in that order."""
    train_X, train_y = _higgs_label_first(paths[0], "\t", None)
    test_X, test_y = _higgs_label_first(paths[1], "\t", None)
    sas = _read_numeric(paths[2], ",", 1 + len(HIGGS_FEATURES), header=0)
    expected = list(HIGGS_FEATURES) + ["label"]
    if list(sas.columns) != expected:
        raise DataError(f"{paths[2]}: header differs from the HIGGS feature names + 'label'")
    values = sas.to_numpy(dtype=np.float64)
    sas_y = _labels(values[:, -1], {0, 1}, paths[2], "column 'label'")
    X = np.concatenate([train_X, test_X, values[:, :-1]])
    y = np.concatenate([train_y, test_y, sas_y])
    note = (f"{len(train_y):,} + {len(test_y):,} rows (UCI rows 1-{len(train_y) + len(test_y):,}, "
            f"3 decimals) then {len(sas_y):,} random UCI rows (full precision): {len(y):,} rows, "
            f"not the paper's 100,000")
    return Parsed(X, y, HIGGS_FEATURES, (note,), len(y))


COVER_TYPES = tuple(range(1, 8))


def _forest_sample(X: np.ndarray, cover: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The paper's 100,000-row seeded sample of a larger file (rows kept in file order)."""
    cover = _labels(cover, set(COVER_TYPES), path, "cover_type")
    notes: list[str] = []
    if len(cover) > FOREST_ROWS:
        rng = np.random.RandomState(FOREST_SAMPLE_SEED)
        keep = np.sort(rng.choice(len(cover), FOREST_ROWS, replace=False))
        X, cover = X[keep], cover[keep]
        notes.append(f"random {FOREST_ROWS:,} of the file's rows (numpy RandomState({FOREST_SAMPLE_SEED}),"
                     f" kept in file order)")
    return X, cover, notes


def _forest_binary(X: np.ndarray, cover: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    X, cover, notes = _forest_sample(X, cover, path)
    notes.insert(0, "binary target: cover_type == 2 (Lodgepole Pine) against the rest, as in the paper")
    return X, (cover == 2).astype(np.int64), notes


def forest_uci(paths: tuple[Path, ...]) -> Parsed:
    """UCI covtype.data(.gz): 54 features then cover_type 1-7, no header."""
    df = _read_numeric(paths[0], ",", 1 + len(FOREST_FEATURES))
    values = df.to_numpy(dtype=np.float64)
    X, y, notes = _forest_binary(values[:, :-1], values[:, -1], paths[0])
    return Parsed(X, y, FOREST_FEATURES, tuple(notes), len(values))


def forest_mlpack(paths: tuple[Path, ...]) -> Parsed:
    """mlpack covertype-small: a features file and a labels file (1-7), same row order."""
    X = _read_numeric(paths[0], ",", len(FOREST_FEATURES)).to_numpy(dtype=np.float64)
    cover = _read_numeric(paths[1], ",", 1).to_numpy(dtype=np.float64)[:, 0]
    if len(cover) != len(X):
        raise DataError(f"{paths[1]}: {len(cover)} labels for {len(X)} rows in {paths[0]}")
    X, y, notes = _forest_binary(X, cover, paths[1])
    return Parsed(X, y, FOREST_FEATURES, tuple(notes), len(cover))


def _forest7(X: np.ndarray, cover: np.ndarray, path: Path, rows_read: int) -> Parsed:
    X, cover, notes = _forest_sample(X, cover, path)
    notes.insert(0, "7-class target: cover_type 1-7 encoded as 0-6 (classes[k] is the cover type)")
    return Parsed(X, cover - 1, FOREST_FEATURES, tuple(notes), rows_read, "multiclass", COVER_TYPES)


def covertype7_uci(paths: tuple[Path, ...]) -> Parsed:
    """UCI covtype.data(.gz) as the standard 7-class Covertype task."""
    values = _read_numeric(paths[0], ",", 1 + len(FOREST_FEATURES)).to_numpy(dtype=np.float64)
    return _forest7(values[:, :-1], values[:, -1], paths[0], len(values))


def covertype7_mlpack(paths: tuple[Path, ...]) -> Parsed:
    """mlpack covertype-small (features file + labels file) as the 7-class task."""
    X = _read_numeric(paths[0], ",", len(FOREST_FEATURES)).to_numpy(dtype=np.float64)
    cover = _read_numeric(paths[1], ",", 1).to_numpy(dtype=np.float64)[:, 0]
    if len(cover) != len(X):
        raise DataError(f"{paths[1]}: {len(cover)} labels for {len(X)} rows in {paths[0]}")
    return _forest7(X, cover, paths[1], len(cover))


def california(paths: tuple[Path, ...]) -> Parsed:
    """California Housing CSV (header: 8 features, then MedHouseVal in 100,000 USD): regression."""
    df = _read_numeric(paths[0], ",", 1 + len(CALIFORNIA_FEATURES), header=0)
    expected = [*CALIFORNIA_FEATURES, CALIFORNIA_TARGET]
    if [str(c) for c in df.columns] != expected:
        raise DataError(f"{paths[0]}: header {list(df.columns)} differs from {expected}")
    values = df.to_numpy(dtype=np.float64)
    note = f"regression target {CALIFORNIA_TARGET} (median house value, units of 100,000 USD)"
    return Parsed(values[:, :-1], values[:, -1], CALIFORNIA_FEATURES, (note,), len(values), "regression")


def spambase(paths: tuple[Path, ...]) -> Parsed:
    """UCI spambase.data: 57 features then the 0/1 spam label, no header, CRLF line ends."""
    values = _read_numeric(paths[0], ",", 1 + len(SPAMBASE_FEATURES)).to_numpy(dtype=np.float64)
    y = _labels(values[:, -1], {0, 1}, paths[0], "column 57 (spam)")
    return Parsed(values[:, :-1], y, SPAMBASE_FEATURES, (), len(y))


def sms(paths: tuple[Path, ...]) -> Parsed:
    """SMSSpamCollection: ``ham|spam<TAB>text`` per line -> word counts (see text_features)."""
    import gzip

    from nsad_lib.data.text_features import VOCABULARY_RULE, build_vocabulary, count_matrix

    path = paths[0]
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as fh:  # type: ignore[operator]
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    labels, texts = [], []
    for number, line in enumerate(lines, start=1):
        label, tab, text = line.partition("\t")
        if not tab or label not in ("ham", "spam"):
            raise DataError(f"{path}: line {number}: expected 'ham' or 'spam', a tab, then the text")
        labels.append(label == "spam")
        texts.append(text)
    vocabulary = build_vocabulary(texts, SMS_VOCABULARY_SIZE)
    X = count_matrix(texts, vocabulary).astype(np.float64)
    names = tuple(f"count_{token}" for token in vocabulary)
    note = "bag of words: " + VOCABULARY_RULE.format(size=SMS_VOCABULARY_SIZE)
    return Parsed(X, np.asarray(labels, dtype=np.int64), names, (note,), len(texts))


PARSERS: dict[str, Callable[[tuple[Path, ...]], Parsed]] = {
    "higgs_uci": higgs_uci,
    "higgs_label_first_tsv": higgs_label_first_tsv,
    "higgs_shared": higgs_shared,
    "forest_uci": forest_uci,
    "forest_mlpack": forest_mlpack,
    "spambase": spambase,
    "covertype7_uci": covertype7_uci,
    "covertype7_mlpack": covertype7_mlpack,
    "california": california,
    "sms": sms,
}
