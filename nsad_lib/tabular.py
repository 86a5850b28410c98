"""Generic loading of a user's table (CSV/TSV/TXT, optionally gzipped, Parquet, NPZ).

Everything becomes a :class:`~nsad_lib.dataset_types.Dataset` with a 0/1 target, or a
:class:`~nsad_lib.errors.DataError` that names the file, the column and the row, because a
training run that silently drops or coerces bad cells gives numbers nobody can trust.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nsad_lib.dataset_types import Dataset, DatasetMeta, infer_feature_kinds
from nsad_lib.errors import DataError

__all__ = [
    "MIN_ROWS",
    "load_file",
    "binary_target",
    "check_finite",
    "check_rows",
    "sha256_of",
]

MIN_ROWS = 50
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".data")


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks so large originals do not fill memory."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last == ".npz":
        return "npz"
    if last in TEXT_SUFFIXES or last == "":
        return "text"
    raise DataError(f"{path}: unsupported file type {last!r}; use .csv, .tsv, .txt, .parquet or .npz (+ .gz)")


def _first_line(path: Path) -> str:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:  # type: ignore[operator]
            return fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_text(path: Path) -> tuple[Any, int]:
    """A DataFrame of the file and the number of header lines (0 or 1) for line numbers."""
    import pandas as pd

    first = _first_line(path)
    if not first.strip():
        raise DataError(f"{path}: the file is empty or starts with a blank line")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".tsv") or ("\t" in first and not name.endswith(".csv")):
        sep: str | None = "\t"
    elif "," in first or name.endswith(".csv"):
        sep = ","
    else:
        sep = r"\s+"
    fields = [f.strip().strip('"') for f in (first.split(sep) if sep in (",", "\t") else first.split())]
    header = None if all(_is_number(f) for f in fields if f) else 0
    try:
        df = pd.read_csv(path, sep=sep, header=header, engine="python" if sep == r"\s+" else "c",
                         skipinitialspace=True)
    except Exception as exc:  # pandas raises many parser error types
        raise DataError(f"{path}: cannot parse as a table ({exc})") from exc
    if header is None:
        df.columns = [str(i) for i in range(df.shape[1])]
    else:
        df.columns = [str(c).strip() for c in df.columns]
    return df, 1 if header == 0 else 0


def _read_npz(path: Path) -> Any:
    """NPZ: either a 2-D ``X`` (+ optional ``feature_names``) plus 1-D arrays, or 1-D columns."""
    import zipfile

    import pandas as pd

    if not zipfile.is_zipfile(path):  # else np.load guesses "pickled data", which misleads
        raise DataError(f"{path}: not a .npz file (an .npz is a zip archive of .npy arrays)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:
        raise DataError(f"{path}: cannot read as .npz ({exc})") from exc
    columns: dict[str, np.ndarray] = {}
    if "X" in arrays and arrays["X"].ndim == 2:
        X = arrays.pop("X")
        names = arrays.pop("feature_names", None)
        names = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(X.shape[1])]
        if len(names) != X.shape[1]:
            raise DataError(f"{path}: feature_names has {len(names)} names for {X.shape[1]} columns of X")
        columns.update({n: X[:, i] for i, n in enumerate(names)})
    for key, arr in arrays.items():
        if arr.ndim != 1:
            raise DataError(f"{path}: array {key!r} is {arr.ndim}-D; use a 2-D 'X' and 1-D columns")
        columns[key] = arr
    lengths = {len(a) for a in columns.values()}
    if len(lengths) > 1:
        raise DataError(f"{path}: arrays have different lengths {sorted(lengths)}")
    return pd.DataFrame(columns)


def _read_parquet(path: Path) -> Any:
    import pandas as pd

    try:
        df = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install 'nsad-lib[parquet]')") from exc
    except Exception as exc:
        raise DataError(f"{path}: cannot read as Parquet ({exc})") from exc
    df.columns = [str(c) for c in df.columns]
    return df


def _where(row: int, header_lines: int | None) -> str:
    """'row N' (1-based data row) plus the text line when the file is text."""
    return f"row {row + 1}" + (f" (line {row + 1 + header_lines})" if header_lines is not None else "")


def _resolve_target(columns: Sequence[str], target: str | int, path: Path) -> str:
    if str(target) in columns:
        return str(target)
    try:
        index = int(str(target))
    except ValueError:
        index = None
    if index is not None and -len(columns) <= index < len(columns):
        return columns[index]
    shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    raise DataError(f"{path}: no target column {str(target)!r}; columns are: {shown}")


def _numeric_column(series: Any, column: str, path: Path, header_lines: int | None) -> np.ndarray:
    import pandas as pd

    if series.dtype == bool:
        return series.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & series.notna().to_numpy())
        if len(bad):
            row = int(bad[0])
            raise DataError(f"{path}: column {column!r}, {_where(row, header_lines)}: value "
                            f"{series.iloc[row]!r} is not a number (features must be numeric)")
        series = coerced
    return series.to_numpy(dtype=np.float64)


def check_finite(X: np.ndarray, names: Sequence[str], path: str | Path,
                 header_lines: int | None = None) -> None:
    """Raise naming the first missing (NaN) or infinite cell: column and row."""
    finite = np.isfinite(X)
    if finite.all():
        return
    rows, cols = np.nonzero(~finite)
    first = int(np.argmin(rows * X.shape[1] + cols))
    row, col = int(rows[first]), int(cols[first])
    what = "missing (NaN)" if np.isnan(X[row, col]) else f"infinite ({X[row, col]})"
    raise DataError(f"{path}: column {names[col]!r}, {_where(row, header_lines)}: value is {what}")


def check_rows(y: np.ndarray, path: str | Path, column: str) -> None:
    """At least ``MIN_ROWS`` rows and both classes present."""
    if len(y) < MIN_ROWS:
        raise DataError(f"{path}: only {len(y)} rows; at least {MIN_ROWS} are needed to train and test")
    classes = np.unique(y)
    if len(classes) < 2:
        raise DataError(f"{path}: target column {column!r} has one class only ({classes[0]!r} "
                        f"in all {len(y)} rows); a binary task needs both")


def binary_target(series: Any, column: str, path: str | Path, positive: Any = None,
                  header_lines: int | None = None) -> np.ndarray:
    """Map a target column to 0/1: two values -> sorted order; more -> ``positive`` is required."""
    import pandas as pd

    missing = np.flatnonzero(series.isna().to_numpy())
    if len(missing):
        raise DataError(f"{path}: target column {column!r}, {_where(int(missing[0]), header_lines)}: "
                        f"value is missing")
    values = series.to_numpy()
    if positive is not None:
        if pd.api.types.is_numeric_dtype(series.dtype):
            try:
                wanted: Any = float(positive)
            except ValueError as exc:
                raise DataError(f"{path}: positive={positive!r} is not a number but target "
                                f"column {column!r} is numeric") from exc
            y = values.astype(np.float64) == wanted
        else:
            y = values.astype(str) == str(positive)
        if not y.any():
            raise DataError(f"{path}: target column {column!r} has one class only for "
                            f"positive={positive!r} (the value never occurs)")
        return y.astype(np.int64)
    classes = [c.item() if isinstance(c, np.generic) else c for c in sorted(pd.unique(series))]  # 0.5, not np.float64(0.5)
    if len(classes) == 1:
        raise DataError(f"{path}: target column {column!r} has one class only ({classes[0]!r} "
                        f"in all {len(values)} rows); a binary task needs both")
    if len(classes) > 2:
        shown = ", ".join(repr(c) for c in classes[:10]) + (" ..." if len(classes) > 10 else "")
        raise DataError(f"{path}: target column {column!r} has {len(classes)} classes ({shown}); "
                        f"pass positive=VALUE (--positive) to make 'VALUE against the rest' binary")
    return (values == classes[1]).astype(np.int64)


def load_file(path: str | Path, target: str | int, positive: Any = None, name: str | None = None,
              license: str = "unknown (user data)") -> Dataset:
    """Load any CSV/TSV/TXT(.gz)/Parquet/NPZ file with a binary (or ``positive``-mapped) target.

    ``target`` is a column name, or an integer index (negative counts from the end) for files
    without a header, whose columns are named "0", "1", ...
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    kind = _kind(path)
    header_lines: int | None
    if kind == "text":
        df, header_lines = _read_text(path)
    elif kind == "npz":
        df, header_lines = _read_npz(path), None
    else:
        df, header_lines = _read_parquet(path), None
    columns = list(df.columns)
    column = _resolve_target(columns, target, path)
    features = [c for c in columns if c != column]
    if not features:
        raise DataError(f"{path}: no feature columns besides the target {column!r}")
    y = binary_target(df[column], column, path, positive, header_lines)
    X = np.column_stack([_numeric_column(df[c], c, path, header_lines) for c in features])
    check_finite(X, features, path, header_lines)
    check_rows(y, path, column)
    notes = [f"target: {column!r}" + (f" == {positive!r}" if positive is not None else
                                      ", classes mapped in sorted order to 0/1")]
    meta = DatasetMeta(source=f"file {path}", license=license, target=column, rows=len(y),
                       sha256={str(path): sha256_of(path)}, paths=(str(path),), notes=tuple(notes))
    X32 = X.astype(np.float32)
    return Dataset(name or path.name.split(".")[0], X32, y, tuple(features),
                   infer_feature_kinds(X32), meta)
