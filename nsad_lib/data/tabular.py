"""Generic loading of a user's table (CSV/TSV/TXT, optionally gzipped, Parquet, NPZ).

Everything becomes a :class:`~nsad_lib.data.types.Dataset` (a binary, multiclass or regression
target, see :func:`infer_task`), or a
:class:`~nsad_lib.errors.DataError` that names the file, the column and the row, because a
training run that silently drops or coerces bad cells gives numbers nobody can trust.

Absurd shapes are refused before pandas sees the file: the first line is read by hand (at most
``MAX_FIRST_LINE_BYTES``) and a table with more than ``MAX_COLUMNS`` columns is refused with one
line. :func:`load_file_rows` reads only chosen data rows of a text file (two streamed passes,
bounded memory), for commands that use a sample of a large file.
"""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nsad_lib.data.types import Dataset, DatasetMeta, infer_feature_kinds
from nsad_lib.errors import DataError, SmallDataWarning
from nsad_lib.util.optional import require

__all__ = [
    "MIN_ROWS",
    "MAX_COLUMNS",
    "MAX_FIRST_LINE_BYTES",
    "REGRESSION_DISTINCT",
    "MIN_VALIDATION_ROWS",
    "load_file",
    "load_file_rows",
    "count_data_rows",
    "binary_target",
    "encode_target",
    "infer_task",
    "check_finite",
    "check_rows",
    "check_data_file",
    "sha256_of",
    "warn_small_validation",
]

MIN_ROWS = 50
#: More columns than this is refused before parsing (a 10**6-column header kept pandas busy > 300 s).
MAX_COLUMNS = 10_000
#: The first line (header, or the first data row) is read by hand up to this many bytes.
MAX_FIRST_LINE_BYTES = 4 << 20
#: A numeric target with more distinct values than this (or any non-integer value beyond two
#: classes) is inferred to be a regression target (see :func:`infer_task`).
REGRESSION_DISTINCT = 50
#: Scores computed on fewer validation rows than this get a :class:`SmallDataWarning`.
MIN_VALIDATION_ROWS = 200
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


def check_data_file(path: str | Path) -> Path:
    """``path`` as a Path when it is a regular file; else a DataError saying what it is.

    Checked before anything opens it: a FIFO would block and ``/dev/zero`` never ends.
    """
    from nsad_lib.util.os_errors import not_regular_file

    path = Path(path)
    problem = not_regular_file(path)
    if problem is not None:
        raise DataError(f"{path}: {problem}")
    return path


def _open_bytes(path: Path):  # -> a binary file object
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _first_line(path: Path) -> str:
    """The first line, read by hand with a size cap (pandas would read any length)."""
    try:
        with _open_bytes(path) as fh:
            raw = fh.readline(MAX_FIRST_LINE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if len(raw) > MAX_FIRST_LINE_BYTES:
        raise DataError(f"{path}: the first line is longer than {MAX_FIRST_LINE_BYTES >> 20} MiB; "
                        f"a table may have at most {MAX_COLUMNS:,} columns")
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _layout(path: Path) -> tuple[str, int | None, int]:
    """(separator, pandas header (0 or None), number of fields) from the first line alone."""
    first = _first_line(path)
    if not first.strip():
        raise DataError(f"{path}: the file is empty or starts with a blank line")
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".tsv") or ("\t" in first and not name.endswith(".csv")):
        sep: str = "\t"
    elif "," in first or name.endswith(".csv"):
        sep = ","
    else:
        sep = r"\s+"
    fields = [f.strip().strip('"') for f in (first.split(sep) if sep in (",", "\t") else first.split())]
    if len(fields) > MAX_COLUMNS:
        raise DataError(f"{path}: {len(fields):,} columns in the first line; at most {MAX_COLUMNS:,} are supported")
    header = None if all(_is_number(f) for f in fields if f) else 0
    return sep, header, len(fields)


def _parse_text(source: Any, sep: str, header: int | None, path: Path) -> Any:
    """pandas' parse of ``source`` (a path or a buffer): the one place text tables are parsed."""
    pd = require("pandas", "data", "reading data files")

    try:
        df = pd.read_csv(source, sep=sep, header=header, engine="python" if sep == r"\s+" else "c",
                         skipinitialspace=True)
    except Exception as exc:  # pandas raises many parser error types
        raise DataError(f"{path}: cannot parse as a table ({exc})") from exc
    if header is None:
        df.columns = [str(i) for i in range(df.shape[1])]
    else:
        df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_text(path: Path) -> tuple[Any, int]:
    """A DataFrame of the file and the number of header lines (0 or 1) for line numbers."""
    sep, header, _ = _layout(path)
    return _parse_text(path, sep, header, path), 1 if header == 0 else 0


def _read_npz(path: Path) -> Any:
    """NPZ: either a 2-D ``X`` (+ optional ``feature_names``) plus 1-D arrays, or 1-D columns."""
    import zipfile

    pd = require("pandas", "data", "reading data files")

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
    pd = require("pandas", "data", "reading data files")

    try:
        df = pd.read_parquet(path)
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install 'nsad-lib[parquet]')") from exc
    except Exception as exc:
        raise DataError(f"{path}: cannot read as Parquet ({exc})") from exc
    df.columns = [str(c) for c in df.columns]
    return df


def _where(row: int, header_lines: int | None, row_map: np.ndarray | None = None) -> str:
    """'row N' (1-based data row) plus the text line when the file is text.

    ``row_map`` maps a sampled frame's positions back to the file's data rows.
    """
    if row_map is not None:
        row = int(row_map[row])
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


def _numeric_column(series: Any, column: str, path: Path, header_lines: int | None,
                    row_map: np.ndarray | None = None) -> np.ndarray:
    pd = require("pandas", "data", "reading data files")

    if series.dtype == bool:
        return series.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & series.notna().to_numpy())
        if len(bad):
            row = int(bad[0])
            raise DataError(f"{path}: column {column!r}, {_where(row, header_lines, row_map)}: value "
                            f"{series.iloc[row]!r} is not a number (features must be numeric)")
        series = coerced
    return series.to_numpy(dtype=np.float64)


def check_finite(X: np.ndarray, names: Sequence[str], path: str | Path,
                 header_lines: int | None = None, row_map: np.ndarray | None = None) -> None:
    """Raise naming the first missing (NaN) or infinite cell: column and row."""
    finite = np.isfinite(X)
    if finite.all():
        return
    rows, cols = np.nonzero(~finite)
    first = int(np.argmin(rows * X.shape[1] + cols))
    row, col = int(rows[first]), int(cols[first])
    what = "missing (NaN)" if np.isnan(X[row, col]) else f"infinite ({X[row, col]})"
    raise DataError(f"{path}: column {names[col]!r}, {_where(row, header_lines, row_map)}: value is {what}")


def _too_few_rows(n: int, path: str | Path) -> DataError:
    if n == 0:
        return DataError(f"{path}: no data rows, only a header; at least {MIN_ROWS} are needed to train and test")
    return DataError(f"{path}: only {n} row{'s' if n != 1 else ''}; at least {MIN_ROWS} are needed to train and test")


def check_rows(y: np.ndarray, path: str | Path, column: str, task: str = "binary") -> None:
    """At least ``MIN_ROWS`` rows; two classes at least (classification) or a non-constant target."""
    if len(y) < MIN_ROWS:
        raise _too_few_rows(len(y), path)
    classes = np.unique(y)
    if len(classes) < 2:
        if task == "regression":
            raise DataError(f"{path}: target column {column!r} is constant ({classes[0]!r} in all {len(y)} rows); "
                            "a regression target must vary")
        raise DataError(f"{path}: target column {column!r} has one class only ({classes[0]!r} "
                        f"in all {len(y)} rows); a binary task needs both")


def _plain(value: Any) -> Any:
    """A numpy scalar as a plain Python value; an integer-valued float as an int (1.0 -> 1)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_numeric(values: Any) -> bool:
    """Numbers (not booleans): a pandas Series' dtype or a numpy array's."""
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        values = np.asarray(values)
        dtype = values.dtype
    return getattr(dtype, "kind", "O") in "iuf"


def infer_task(y: Any) -> str:
    """The task a target's values imply: ``"binary"``, ``"multiclass"`` or ``"regression"``.

    The rule: two distinct values (or one) -> binary; numbers with a non-integer value, or with
    more than ``REGRESSION_DISTINCT`` (50) distinct values -> regression; integers with 3..50
    distinct values -> multiclass; text (or other non-numeric) labels with three or more values
    -> multiclass. Pass ``task=`` to the loaders to override it.
    """
    pd = require("pandas", "data", "reading data files")

    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    distinct = pd.unique(series.dropna())
    if len(distinct) <= 2:
        return "binary"
    if _is_numeric(series):
        values = np.asarray(distinct, dtype=np.float64)
        if np.any(values != np.round(values)) or len(values) > REGRESSION_DISTINCT:
            return "regression"
    return "multiclass"


def _shown(classes: Sequence[Any]) -> str:
    return ", ".join(repr(c) for c in classes[:10]) + (" ..." if len(classes) > 10 else "")


def encode_target(series: Any, column: str, path: str | Path, positive: Any = None, task: str | None = None,
                  header_lines: int | None = None,
                  row_map: np.ndarray | None = None) -> tuple[np.ndarray, str, tuple[Any, ...]]:
    """``(y, task, classes)`` for a target column: see :func:`infer_task` for the rule.

    - ``positive`` makes any classification target binary ("VALUE against the rest"); it is a
      classification-only option, refused with ``task="regression"`` and for a target whose
      values are not all integers.
    - binary: two values in sorted order -> 0/1 (``classes`` is empty);
    - multiclass: labels in sorted order -> codes 0..K-1 (``classes`` holds the labels);
    - regression: the values as float64, in the file's units.
    """
    pd = require("pandas", "data", "reading data files")

    from nsad_lib.data.types import TASKS

    if task is not None and task not in TASKS:
        raise DataError(f"unknown task {task!r}; use one of {', '.join(TASKS)} (or leave it out to infer it)")
    if len(series) == 0:
        raise DataError(f"{path}: target column {column!r} has no values (no data rows)")
    missing = np.flatnonzero(series.isna().to_numpy())
    if len(missing):
        raise DataError(f"{path}: target column {column!r}, {_where(int(missing[0]), header_lines, row_map)}: "
                        f"value is missing")
    values = series.to_numpy()
    numeric = _is_numeric(series)
    classes = [_plain(c) for c in sorted(pd.unique(series))]
    inferred = infer_task(series)
    if positive is not None:
        if task in ("regression", "multiclass"):
            raise DataError(f"{path}: target column {column!r}: positive={positive!r} (--positive) makes a binary "
                            f"task, but task={task!r} was asked for; drop one of them")
        if numeric:
            floats = np.asarray(classes, dtype=np.float64)
            if np.any(floats != np.round(floats)):
                raise DataError(f"{path}: target column {column!r} is a regression target ({len(classes):,} distinct "
                                f"values, not all integers): positive={positive!r} (--positive) applies to class "
                                "labels only; leave it out to train a regression")
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
        return y.astype(np.int64), "binary", ()
    if len(classes) == 1:
        if task == "regression":
            raise DataError(f"{path}: target column {column!r} is constant ({classes[0]!r} in all {len(values)} "
                            "rows); a regression target must vary")
        raise DataError(f"{path}: target column {column!r} has one class only ({classes[0]!r} "
                        f"in all {len(values)} rows); a binary task needs both")
    chosen = task or inferred
    if chosen == "regression":
        if not numeric:
            raise DataError(f"{path}: target column {column!r} is not numeric ({_shown(classes)}); "
                            "a regression target must hold numbers")
        return values.astype(np.float64), "regression", ()
    if chosen == "binary":
        if len(classes) > 2:
            raise DataError(f"{path}: target column {column!r} has {len(classes)} classes ({_shown(classes)}); "
                            f"pass positive=VALUE (--positive) to make 'VALUE against the rest' binary, or "
                            f"task='multiclass' (--task multiclass)")
        second = sorted(pd.unique(series))[1]
        return (values == second).astype(np.int64), "binary", ()
    # multiclass
    if len(classes) == 2:
        raise DataError(f"{path}: target column {column!r} has 2 classes ({_shown(classes)}): that is a binary "
                        "task; use task='binary' (--task binary) or leave the task out")
    if numeric:
        floats = np.asarray(classes, dtype=np.float64)
        if np.any(floats != np.round(floats)):
            raise DataError(f"{path}: target column {column!r} has non-integer values ({_shown(classes)}); "
                            "multiclass labels must be integers or text (use task='regression' for real values)")
    elif task is None and len(classes) > REGRESSION_DISTINCT:
        raise DataError(f"{path}: target column {column!r} has {len(classes):,} distinct text labels ({_shown(classes)}), "
                        f"more than {REGRESSION_DISTINCT}: pass task='multiclass' (--task multiclass) if these "
                        "really are classes, or choose another column (--target)")
    codes, _uniques = pd.factorize(series, sort=True)
    return codes.astype(np.int64), "multiclass", tuple(classes)


def binary_target(series: Any, column: str, path: str | Path, positive: Any = None,
                  header_lines: int | None = None, row_map: np.ndarray | None = None) -> np.ndarray:
    """Map a target column to 0/1: two values -> sorted order; more -> ``positive`` is required."""
    y, _task, _classes = encode_target(series, column, path, positive, "binary", header_lines, row_map)
    return y


def _read_any(path: Path) -> tuple[Any, int | None]:
    kind = _kind(path)
    if kind == "text":
        return _read_text(path)
    if kind == "npz":
        return _read_npz(path), None
    return _read_parquet(path), None


def _to_dataset(df: Any, path: Path, target: str | int, positive: Any, name: str | None, license: str,
                header_lines: int | None, row_map: np.ndarray | None = None,
                extra_notes: tuple[str, ...] = (), task: str | None = None) -> Dataset:
    """Validate a parsed frame (shape, target, numbers, finiteness, rows) and build the Dataset.

    With ``row_map`` (a sample of the file's rows) the row count and both-classes checks are left
    to the caller, who knows the whole file; messages still name the file's own rows.
    """
    columns = list(df.columns)
    if len(columns) > MAX_COLUMNS:
        raise DataError(f"{path}: {len(columns):,} columns; at most {MAX_COLUMNS:,} are supported")
    column = _resolve_target(columns, target, path)
    features = [c for c in columns if c != column]
    if not features:
        raise DataError(f"{path}: no feature columns besides the target {column!r}")
    if len(df) == 0 or (row_map is None and len(df) < MIN_ROWS):
        raise _too_few_rows(len(df), path)  # before the target: one row is "too few", not "one class"
    y, task, classes = encode_target(df[column], column, path, positive, task, header_lines, row_map)
    X = np.column_stack([_numeric_column(df[c], c, path, header_lines, row_map) for c in features])
    check_finite(X, features, path, header_lines, row_map)
    if row_map is None:
        check_rows(y, path, column, task)
    if positive is not None:
        rule = f" == {positive!r}"
    elif task == "binary":
        rule = ", classes mapped in sorted order to 0/1"
    elif task == "multiclass":
        rule = f", {len(classes)} classes mapped in sorted order to 0..{len(classes) - 1}"
    else:
        rule = ", regression (values in the file's units)"
    notes = [f"target: {column!r}{rule}", *extra_notes]
    meta = DatasetMeta(source=f"file {path}", license=license, target=column, rows=len(y),
                       sha256={str(path): sha256_of(path)}, paths=(str(path),), notes=tuple(notes))
    X32 = X.astype(np.float32)
    return Dataset(name or path.name.split(".")[0], X32, y, tuple(features),
                   infer_feature_kinds(X32), meta, task, classes)


def load_file(path: str | Path, target: str | int, positive: Any = None, name: str | None = None,
              license: str = "unknown (user data)", task: str | None = None) -> Dataset:
    """Load any CSV/TSV/TXT(.gz)/Parquet/NPZ file with its target column.

    ``target`` is a column name, or an integer index (negative counts from the end) for files
    without a header, whose columns are named "0", "1", ... ``task`` (``"binary"``,
    ``"multiclass"``, ``"regression"``) is inferred from the target's values when left out
    (:func:`infer_task`); ``positive`` makes a classification target binary (VALUE against the rest).
    """
    path = check_data_file(path)
    df, header_lines = _read_any(path)
    return _to_dataset(df, path, target, positive, name, license, header_lines, task=task)


def _data_lines(path: Path, header: int | None):  # -> iterator of (data row index or -1, line bytes)
    """Every non-blank line: the header (index -1) then the data rows numbered from 0."""
    index = -1 if header == 0 else 0
    try:
        with _open_bytes(path) as fh:
            for line in fh:
                if not line.strip():
                    continue
                yield index, line
                index += 1
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc


def count_data_rows(path: str | Path) -> int:
    """Data rows of a text table (non-blank lines after any header), counted by streaming.

    Parquet and NPZ files are read whole (they are compact); the count is their row count.
    """
    path = check_data_file(path)
    if _kind(path) != "text":
        return len(_read_any(path)[0])
    _, header, _ = _layout(path)
    n = 0
    for index, _line in _data_lines(path, header):
        n = index + 1
    return n


def load_file_rows(path: str | Path, target: str | int, rows: Sequence[int] | np.ndarray, positive: Any = None,
                   name: str | None = None, license: str = "unknown (user data)", task: str | None = None) -> Dataset:
    """Only the data rows ``rows`` (0-based, one record per line) of a file, in file order.

    A text file is streamed twice at most (once by :func:`count_data_rows` if the caller needs
    the count, once here) and only the chosen lines reach pandas, so memory and parsing are
    bounded by ``len(rows)``. Each chosen row gets the same checks as in :func:`load_file`
    (numbers, finiteness, the target's values); rows outside the sample are not checked.
    Parquet and NPZ are read whole, then subset.
    """
    path = check_data_file(path)
    wanted = np.unique(np.asarray(rows, dtype=np.int64))
    if len(wanted) == 0:
        raise DataError(f"{path}: no rows requested")
    if wanted[0] < 0:
        raise DataError(f"{path}: row indices must be >= 0")
    if _kind(path) != "text":
        df, header_lines = _read_any(path)
        if wanted[-1] >= len(df):
            raise DataError(f"{path}: row {wanted[-1] + 1} requested but the file has {len(df)} rows")
        df = df.iloc[wanted].reset_index(drop=True)
    else:
        sep, header, _ = _layout(path)
        head = b""
        kept: list[bytes] = []
        position = 0
        for index, line in _data_lines(path, header):
            if index < 0:
                head = line if line.endswith(b"\n") else line + b"\n"
                continue
            if index == wanted[position]:
                kept.append(line if line.endswith(b"\n") else line + b"\n")
                position += 1
                if position == len(wanted):
                    break
        if position < len(wanted):
            raise DataError(f"{path}: row {wanted[position] + 1} requested but the file has fewer data rows")
        df = _parse_text(io.BytesIO(head + b"".join(kept)), sep, header, path)
        header_lines = 1 if header == 0 else 0
        if len(df) != len(wanted):
            raise DataError(f"{path}: the sampled lines parse as {len(df)} rows, not {len(wanted)} "
                            "(quoted line breaks?); sampled reads need one record per line")
    note = f"{len(wanted):,} chosen data rows read (a sample of the file; unsampled rows not checked)"
    return _to_dataset(df, path, target, positive, name, license, header_lines, row_map=wanted,
                       extra_notes=(note,), task=task)


def warn_small_validation(rows: int, what: str = "validation", *, minimum: int = MIN_VALIDATION_ROWS,
                          stacklevel: int = 2) -> bool:
    """Warn (:class:`~nsad_lib.errors.SmallDataWarning`) when scores come from fewer than ``minimum`` rows.

    Returns whether it warned. Discovery's validation and the checker's probe call it with the
    number of rows their accuracy/AUC are computed on.
    """
    if rows >= minimum:
        return False
    spread = 50.0 / max(rows, 1) ** 0.5  # binomial standard error of an accuracy near 0.5, in points
    warnings.warn(f"{what} scores come from only {rows} rows (fewer than {minimum}): their standard "
                  f"error is up to {spread:.1f} accuracy points, so small differences (e.g. against ReLU) "
                  f"are noise; use more data", SmallDataWarning, stacklevel=stacklevel + 1)
    return True
