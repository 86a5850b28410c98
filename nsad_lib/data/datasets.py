"""Named real datasets and generic file loading.

The paper's binary tasks ``higgs``, ``forest``, ``spambase``, ``sms``; the 7-class Covertype task
``covertype7`` (same files as ``forest``) and the ``california`` housing regression.

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

from nsad_lib.data.catalog import CATALOG, DatasetInfo, KnownFile, Layout
from nsad_lib.data.downloads import fetch
from nsad_lib.data.parsers import PARSERS
from nsad_lib.data.tabular import check_finite, check_rows, load_file, sha256_of
from nsad_lib.data.types import Dataset, DatasetMeta, infer_feature_kinds
from nsad_lib.errors import DataError
from nsad_lib.util.paths import user_cache_dir

__all__ = [
    "Dataset", "DatasetMeta", "Located", "names", "info", "load", "load_file", "locate",
    "search_dirs", "cache_dir", "download_original", "SAMPLES_DIR", "ENV_DATA_DIR",
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
    """The named datasets: the paper's order plus ``sms``, then ``covertype7`` and ``california``."""
    return list(CATALOG)


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
    parsed = PARSERS[layout.parser](located.paths)
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
