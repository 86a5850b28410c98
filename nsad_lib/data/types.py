"""The one object every data path returns: a ``Dataset`` with its provenance (``DatasetMeta``).

Kept apart from the loaders so the generic file reader, the named datasets and the experiments
can share it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

FeatureKind = Literal["continuous", "binary", "count"]
Task = Literal["binary", "multiclass", "regression"]
#: The supported tasks: a 0/1 target, class codes 0..K-1, or a real-valued target.
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")

__all__ = ["Dataset", "DatasetMeta", "FeatureKind", "Task", "TASKS", "infer_feature_kinds"]


@dataclass(frozen=True)
class DatasetMeta:
    """Where the rows came from, so a result can name the exact bytes it was computed on.

    ``sha256`` maps each file read (its path as given) to its sha256; ``rows`` is the number of
    rows kept after any documented subsetting; ``notes`` says every such subsetting or rule
    (first N rows, binary target rule, vocabulary rule) in plain words. ``original_prefix``
    counts the leading rows that are the original file's rows 1..k in order (0: unknown), so
    row numbers another work used on the original can be mapped onto these rows.
    """

    source: str
    license: str
    target: str
    rows: int
    sha256: dict[str, str] = field(default_factory=dict)
    paths: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    original_prefix: int = 0

    @property
    def path(self) -> str:
        """The first file read (most datasets have one)."""
        return self.paths[0] if self.paths else ""

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "license": self.license,
            "target": self.target,
            "rows": self.rows,
            "sha256": dict(self.sha256),
            "paths": list(self.paths),
            "notes": list(self.notes),
            "original_prefix": self.original_prefix,
        }


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (float32, rows x features) and a target ``y`` whose form depends on ``task``.

    - ``"binary"`` (the default, the paper's tasks): ``y`` is int64 0/1.
    - ``"multiclass"``: ``y`` is int64 class codes 0..K-1; ``classes`` holds the original label of
      each code (``classes[k]`` is the label encoded as ``k``), so ``n_classes == len(classes)``.
    - ``"regression"``: ``y`` is float64 in the file's own units (standardised only inside
      training, on the training split).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    feature_kinds: tuple[FeatureKind, ...]
    meta: DatasetMeta
    task: str = "binary"
    classes: tuple[object, ...] = ()

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.y.ndim != 1 or len(self.X) != len(self.y):
            raise ValueError(f"dataset {self.name!r}: X must be 2-D and y 1-D with the same rows")
        if not (len(self.feature_names) == len(self.feature_kinds) == self.X.shape[1]):
            raise ValueError(f"dataset {self.name!r}: one name and one kind per feature column")
        if self.task not in TASKS:
            raise ValueError(f"dataset {self.name!r}: unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if self.task == "multiclass":
            if len(self.classes) < 3:
                raise ValueError(f"dataset {self.name!r}: a multiclass task needs its class labels (at least 3)")
            if len(self.y) and (self.y.dtype.kind not in "iu" or self.y.min() < 0 or self.y.max() >= len(self.classes)):
                raise ValueError(f"dataset {self.name!r}: multiclass y must be integer codes 0..{len(self.classes) - 1}")
        elif self.task == "regression" and self.y.dtype.kind != "f":
            raise ValueError(f"dataset {self.name!r}: a regression target must be floating point")

    @property
    def n_classes(self) -> int | None:
        """2 for binary, K for multiclass, None for regression."""
        if self.task == "regression":
            return None
        return 2 if self.task == "binary" else len(self.classes)

    @property
    def output_width(self) -> int:
        """Width of the network's last layer: K for multiclass, else 1."""
        return len(self.classes) if self.task == "multiclass" else 1

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def positive_rate(self) -> float:
        """Share of 1 labels for a binary task; NaN for multiclass and regression."""
        return float(self.y.mean()) if self.task == "binary" else float("nan")

    def class_counts(self) -> dict[str, int]:
        """Rows per class label (classification tasks; empty for regression)."""
        if self.task == "regression":
            return {}
        labels = self.classes if self.task == "multiclass" else (0, 1)
        counts = np.bincount(self.y, minlength=len(labels))
        return {str(label): int(c) for label, c in zip(labels, counts)}

    def subset(self, rows: np.ndarray, name: str | None = None, note: str | None = None) -> "Dataset":
        """The same dataset restricted to ``rows`` (indices), its meta noting the subsetting."""
        rows = np.asarray(rows)
        notes = self.meta.notes + ((note,) if note else ())
        meta = DatasetMeta(
            source=self.meta.source, license=self.meta.license, target=self.meta.target,
            rows=int(len(rows)), sha256=dict(self.meta.sha256), paths=self.meta.paths, notes=notes,
        )  # original_prefix is not carried: a subset's row order is no longer the file's
        return Dataset(name or self.name, self.X[rows], self.y[rows], self.feature_names,
                       self.feature_kinds, meta, self.task, self.classes)


def infer_feature_kinds(X: np.ndarray) -> tuple[FeatureKind, ...]:
    """A deliberately simple per-column guess: 0/1 -> binary, non-negative integers -> count.

    The compatibility checker builds a fuller profile; this is only what a listing needs.
    """
    kinds: list[FeatureKind] = []
    for j in range(X.shape[1]):
        col = X[:, j]
        if np.all((col == 0) | (col == 1)):
            kinds.append("binary")
        elif np.all(col >= 0) and np.all(col == np.round(col)):
            kinds.append("count")
        else:
            kinds.append("continuous")
    return tuple(kinds)
