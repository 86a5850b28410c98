"""Named real datasets and generic file loading.

The paper's binary tasks ``higgs``, ``forest``, ``spambase``, ``sms``; the 7-class Covertype task
``covertype7`` (same files as ``forest``), the ``california`` housing regression, and
``higgs-all`` (every real HIGGS row in ``../shared/data``, each UCI event once; see
:func:`duplicate_rows`).

``load("forest")`` searches, in order: ``NSAD_DATA_DIR``; the user cache
(``$XDG_CACHE_HOME/nsad-lib/data`` or ``~/.cache/nsad-lib/data``); and, for this project's
checkouts, ``../shared/data`` beside the repository. In each folder it looks for the UCI
original first, then the copies described in ``shared/data/README.md``, and recognises every
file by its sha256 (a file whose hash matches no known copy is reported, never used silently).
``load(name, sample=True)`` reads the small samples shipped inside the package.
``load(name, download=True)`` (or ``download_original``) fetches the UCI original when nothing is found.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nsad_lib.data.catalog import CATALOG, HIGGS_ALL_TOLERANCE, HIGGS_FEATURES, DatasetInfo, KnownFile, Layout
from nsad_lib.data.downloads import fetch
from nsad_lib.data.parsers import PARSERS, Parsed, higgs_shared
from nsad_lib.data.tabular import check_finite, check_rows, load_file, sha256_of
from nsad_lib.data.types import Dataset, DatasetMeta, infer_feature_kinds
from nsad_lib.errors import DataError
from nsad_lib.util.paths import user_cache_dir

__all__ = [
    "Dataset", "DatasetMeta", "Located", "names", "named", "info", "load", "load_file", "locate",
    "search_dirs", "cache_dir", "download_original", "duplicate_rows", "SAMPLES_DIR", "ENV_DATA_DIR",
]

ENV_DATA_DIR = "NSAD_DATA_DIR"
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
# Only meaningful in a checkout of this project: the shared data folder beside the repo.
SHARED_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


@dataclass(frozen=True)
class Located:
    """A layout whose files all exist under ``root``, with their paths in layout order."""

    name: str
    layout: Layout
    root: Path
    paths: tuple[Path, ...]


def names() -> list[str]:
    """The named datasets: the paper's order plus ``sms``, then ``covertype7``, ``california``, ``higgs-all``."""
    return list(CATALOG)


SAMPLE_PREFIX = "sample:"


def named(text: str) -> tuple[str, bool] | None:
    """``(name, sample)`` when ``text`` names a dataset (``forest``) or the small sample of it shipped
    in the package (``sample:forest``); ``None`` otherwise (a file path, say). Exact match."""
    name = text[len(SAMPLE_PREFIX):] if text.startswith(SAMPLE_PREFIX) else text
    return (name, name != text) if name in CATALOG else None


def info(name: str) -> DatasetInfo:
    try:
        return CATALOG[name.lower()]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(CATALOG)} "
                        f"(use load_file(path, target=...) for your own data)") from None


def cache_dir() -> Path:
    """The user cache directory for downloaded datasets."""
    return user_cache_dir("data")


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Folders searched, in order. An explicit ``data_dir`` is the only folder searched."""
    if data_dir is not None:
        return [Path(data_dir)]
    dirs = []
    if os.environ.get(ENV_DATA_DIR):
        dirs.append(Path(os.environ[ENV_DATA_DIR]))
    dirs.append(cache_dir())
    if SHARED_DATA_DIR.is_dir():
        dirs.append(SHARED_DATA_DIR)
    return dirs


def _find(root: Path, known: KnownFile) -> Path | None:
    for rel in known.names:
        candidate = root / rel
        if candidate.is_file():
            return candidate
    return None


def locate(name: str, data_dir: str | Path | None = None, sample: bool = False) -> Located | None:
    """The first layout (UCI original, then known copies) found in the first folder holding one."""
    dataset = info(name)
    roots = [SAMPLES_DIR] if sample else search_dirs(data_dir)
    layouts = [lay for lay in dataset.layouts if (lay.key == "sample") == sample]
    for root in roots:
        for layout in layouts:
            found = [_find(root, known) for known in layout.files]
            if all(p is not None for p in found):
                return Located(dataset.name, layout, root, tuple(p for p in found if p is not None))
    return None


def _check_file(path: Path, known: KnownFile, verify: bool) -> str:
    """sha256 of ``path``; a known file whose hash (or size) matches no known copy is reported."""
    digest = sha256_of(path)
    problem = None
    if known.sha256 and digest not in known.sha256:
        problem = (f"{path}: sha256 {digest} matches no known copy of {known.description} "
                   f"(expected {' or '.join(known.sha256)}); the file is modified or truncated")
    elif known.size is not None and path.stat().st_size != known.size:
        problem = (f"{path}: {path.stat().st_size:,} bytes, but {known.description} has "
                   f"{known.size:,} bytes; the file is modified or truncated")
    if problem is not None:
        if verify:
            raise DataError(problem + "; replace it, or load it anyway with verify=False")
        warnings.warn(problem + "; loading it anyway (verify=False)", stacklevel=3)
    return digest


def _not_found(dataset: DatasetInfo, data_dir: str | Path | None) -> DataError:
    dirs = ", ".join(str(d) for d in search_dirs(data_dir))
    wanted = "; ".join(" + ".join(k.names[0] for k in lay.files)
                       for lay in dataset.layouts if lay.key != "sample")
    original = next((d for lay in dataset.layouts for d in lay.downloads), None)
    how = (f"place {original.filename} (from {original.url}) in one of them" if original
           else "place one of those files in one of them")
    return DataError(f"dataset {dataset.name!r} not found in {dirs} (looked for: {wanted}); {how}, "
                     f"set {ENV_DATA_DIR}, or pass download=True (CLI: --download)")


def download_original(name: str, dest_dir: str | Path | None = None, url: str | None = None,
                      progress: bool = True) -> Path:
    """Fetch the UCI original of ``name`` into ``dest_dir`` (default: NSAD_DATA_DIR or the cache).

    ``url`` replaces the catalog's URL (a mirror; a local server in tests). Mirrors listed in
    the catalog are tried in order; the error names every URL tried and why it failed.
    """
    dataset = info(name)
    specs = [d for lay in dataset.layouts for d in lay.downloads]
    if not specs:
        raise DataError(f"no download is known for dataset {name!r}")
    if dest_dir is None:
        dest_dir = os.environ.get(ENV_DATA_DIR) or cache_dir()
    reasons = []
    for spec in specs[:1] if url else specs:
        try:
            return fetch(spec, dest_dir, url=url, progress=progress)
        except DataError as exc:
            reasons.append(str(exc))
    raise DataError(" | ".join(reasons))


def load(name: str, *, data_dir: str | Path | None = None, download: bool = False,
         verify: bool = True, sample: bool = False) -> Dataset:
    """Load a named dataset as the paper used it (see each layout's notes in ``meta.notes``)."""
    dataset = info(name)
    located = locate(dataset.name, data_dir, sample)
    if located is None and download and not sample:
        saved = download_original(dataset.name, data_dir)
        located = locate(dataset.name, saved.parent)
    if located is None:
        if sample:
            raise DataError(f"the shipped sample of {name!r} is missing from {SAMPLES_DIR}")
        raise _not_found(dataset, data_dir)
    return _parse(located, dataset, verify)


def _parse(located: Located, dataset: DatasetInfo, verify: bool) -> Dataset:
    layout = located.layout
    digests = {str(p): _check_file(p, k, verify) for p, k in zip(located.paths, layout.files)}
    parsed = _PARSERS[layout.parser](located.paths)
    expected_rows = layout.files[0].rows
    if expected_rows is not None and parsed.rows_read != expected_rows:
        problem = (f"{located.paths[0]}: {parsed.rows_read:,} rows, but {layout.files[0].description} "
                   f"has {expected_rows:,}")
        if verify:
            raise DataError(problem + "; replace it, or load it anyway with verify=False")
        warnings.warn(problem + "; loading it anyway (verify=False)", stacklevel=3)
    where = str(located.paths[-1])
    check_finite(parsed.X, parsed.feature_names, where)
    check_rows(parsed.y, where, dataset.target, parsed.task)
    X = parsed.X.astype("float32")
    rows = len(parsed.y)
    prefix = rows if layout.original_prefix is None else min(layout.original_prefix, rows)
    meta = DatasetMeta(source=layout.source, license=layout.license, target=dataset.target,
                       rows=len(parsed.y), sha256=digests, paths=tuple(str(p) for p in located.paths),
                       notes=parsed.notes, original_prefix=prefix)
    return Dataset(dataset.name, X, parsed.y, parsed.feature_names, infer_feature_kinds(X), meta,
                   parsed.task, parsed.classes)


def duplicate_rows(X: np.ndarray, y: np.ndarray, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rows that repeat an earlier row: ``(later, first)`` index arrays, ``later`` ascending.

    Two rows are the same when their labels are equal and every feature differs by at most
    ``tolerance`` (0: exactly equal). Rows are compared after sorting by label and feature sum,
    so only rows whose sums lie within ``tolerance * features`` are compared: exact for every
    tolerance, and fast while few rows share a sum. A row equal to several earlier rows points
    at the earliest of them.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n = len(y)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    total = X.sum(axis=1)
    order = np.lexsort((total, y))
    Xs, ys, ts = X[order], y[order], total[order]
    width = tolerance * X.shape[1] + 1e-9 * (1.0 + np.abs(ts).max())  # summation rounding
    first = np.arange(n)
    for k in range(1, n):
        near = np.flatnonzero((ys[k:] == ys[:-k]) & (ts[k:] - ts[:-k] <= width))
        if not len(near):
            break
        same = near[np.all(np.abs(Xs[near + k] - Xs[near]) <= tolerance, axis=1)]
        a, b = order[same], order[same + k]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        np.minimum.at(first, hi, lo)
    for i in range(n):  # chains (c repeats b repeats a) point at a
        first[i] = first[first[i]]
    later = np.flatnonzero(first != np.arange(n))
    return later.astype(np.int64), first[later].astype(np.int64)


def _higgs_all(paths: tuple[Path, ...]) -> Parsed:
    """The ``higgs`` shared files, then higgs-small's val + test CSV (header ``label,f0..f27``);
    every row that repeats an earlier one (same label, features within HIGGS_ALL_TOLERANCE) dropped."""
    import pandas as pd  # the [data] extra; higgs_shared has already required it

    shared = higgs_shared(paths[:3])
    path = paths[3]
    try:
        df = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot parse ({exc})") from exc
    expected = ["label", *(f"f{i}" for i in range(len(HIGGS_FEATURES)))]
    if [str(c) for c in df.columns] != expected:
        raise DataError(f"{path}: header differs from 'label,f0..f{len(HIGGS_FEATURES) - 1}'")
    if any(dtype.kind not in "iuf" for dtype in df.dtypes):
        raise DataError(f"{path}: a column is not numeric")
    values = df.to_numpy(dtype=np.float64)
    labels = values[:, 0]
    bad = np.flatnonzero(~np.isin(labels, [0, 1]))
    if len(bad):
        raise DataError(f"{path}: column 'label', row {bad[0] + 1}: label {labels[bad[0]]!r} not in [0, 1]")
    X = np.concatenate([shared.X, values[:, 1:]])
    y = np.concatenate([shared.y, labels.astype(np.int64)])
    read = len(y)
    later, first = duplicate_rows(X, y, HIGGS_ALL_TOLERANCE)
    exact = int(np.all(X[later] == X[first], axis=1).sum())
    keep = np.setdiff1d(np.arange(read), later)
    notes = (*shared.notes,
             f"then {len(values):,} higgs-small val + test rows (float32, 7 significant digits): "
             f"{read:,} rows read",
             f"{len(later):,} rows dropped as repeats of an earlier row (same label, every feature "
             f"within {HIGGS_ALL_TOLERANCE:g}; {exact:,} of them exactly equal, the others the same "
             f"UCI event in copies of different precision); {len(keep):,} rows kept, first copies "
             f"in file order")
    return Parsed(X[keep], y[keep], HIGGS_FEATURES, notes, read)


_PARSERS = {**PARSERS, "higgs_all": _higgs_all}
