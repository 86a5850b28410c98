"""The source data a discovery may look at: the training split of one seed, and nothing else.

The paper's 80/20 split for ``seed`` (:func:`nsad_lib.training.protocol.split_indices`) is applied
first and its test rows are never read again. Inside the training rows a further 80/20 carve
gives *fit* rows (networks train on them) and *val* rows (candidates are scored on them), so
every choice a strategy makes is blind to the test split that ``nsad-lib reproduce`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nsad_lib.data.types import Dataset
from nsad_lib.errors import DataError
from nsad_lib.util.optional import require


@dataclass(frozen=True)
class SourceData:
    """Standardised fit/val arrays carved from one seed's training split."""

    dataset: Dataset
    seed: int
    train_rows: np.ndarray
    X_fit: np.ndarray
    y_fit: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray

    @property
    def n_features(self) -> int:
        return int(self.X_fit.shape[1])

    @property
    def task(self) -> str:
        """The dataset's task: binary, multiclass or regression."""
        return self.dataset.task

    def describe(self) -> dict[str, object]:
        """What provenance records about the rows used."""
        return {
            "split": "paper 80/20 train_test_split(random_state=seed); test rows never read",
            "seed": self.seed,
            "rows_total": self.dataset.n_rows,
            "rows_train_split": int(len(self.train_rows)),
            "rows_fit": int(len(self.y_fit)),
            "rows_val": int(len(self.y_val)),
            "carve": "training split carved 80/20 (random_state=seed) into fit and validation rows",
            "task": self.dataset.task,
            **({"classes": [c if isinstance(c, (int, str)) else str(c) for c in self.dataset.classes]}
               if self.dataset.task == "multiclass" else {}),
        }


def check_data_arg(data: str, target: str | None = None, positive: str | None = None,
                   task: str | None = None) -> None:
    """The cheap checks of ``--data``/``--target``/``--positive``/``--task``, made before anything is loaded."""
    from nsad_lib.data import datasets
    from nsad_lib.data.types import TASKS

    if task is not None and task not in TASKS:
        raise DataError(f"unknown task {task!r}; use one of {', '.join(TASKS)} (or leave it out to infer it)")
    if task == "regression" and positive is not None:
        raise DataError(f"--positive {positive} makes a binary task; it does not apply to --task regression")
    named = datasets.named(data)
    if named:
        if target is not None or positive is not None:
            raise DataError(f"--data {data}: a named dataset has a fixed target; --target and --positive apply to a data file")
        own = datasets.info(named[0]).task
        if task is not None and task != own:
            raise DataError(f"--data {data}: a named dataset has a fixed task ({own}); --task {task} applies to a data file")
        return
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"--data {data!r} is neither a known dataset ({', '.join(datasets.names())}) nor an existing file")
    if target is None:
        raise DataError(f"{path}: pass --target COLUMN (a column name, or an index such as -1 for files without a header)")


def load_dataset(data: str, target: str | None = None, positive: str | None = None,
                 task: str | None = None) -> Dataset:
    """A named dataset (``higgs``, ``forest``, ...) or a file path with its ``target`` column.

    ``task`` (binary, multiclass, regression) is inferred from a file's target when left out.
    """
    from nsad_lib.data import datasets
    from nsad_lib.data.tabular import load_file

    named = datasets.named(data)
    if named:
        return datasets.load(named[0], sample=named[1])
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"--data {data!r} is neither a known dataset ({', '.join(datasets.names())}) nor an existing file")
    if target is None:
        raise DataError(f"{path}: pass --target COLUMN (a column name, or an index such as -1 for files without a header)")
    tgt: str | int = target
    if target.lstrip("-").isdigit():
        tgt = int(target)
    return load_file(path, tgt, positive=positive, task=task)


def prepare(dataset: Dataset, seed: int, *, max_rows: int | None = None) -> SourceData:
    """Split, carve and standardise (scaler fit on the fit rows only).

    ``max_rows`` caps the training rows used (a deterministic subsample, for quick runs).
    """
    train_test_split = require("sklearn.model_selection", "discover", "discovery").train_test_split
    StandardScaler = require("sklearn.preprocessing", "discover", "discovery").StandardScaler

    from nsad_lib.training.protocol import split_indices

    if dataset.n_rows < 50:
        raise DataError(f"dataset {dataset.name!r} has {dataset.n_rows} rows; discovery needs at least 50")
    train, _test = split_indices(dataset.n_rows, seed)
    if max_rows is not None and len(train) > max_rows:
        train = np.sort(np.random.RandomState(seed).choice(train, max_rows, replace=False))
    fit_rows, val_rows = train_test_split(train, test_size=0.2, random_state=seed)
    y = dataset.y
    if len(np.unique(y[fit_rows])) < 2 or len(np.unique(y[val_rows])) < 2:
        if dataset.task == "regression":
            raise DataError(f"dataset {dataset.name!r}: the target is constant on the training split; "
                            "discovery needs a varying target")
        raise DataError(f"dataset {dataset.name!r}: the training split has a single class; discovery needs both")
    scaler = StandardScaler().fit(dataset.X[fit_rows].astype(np.float64))
    X_fit = scaler.transform(dataset.X[fit_rows].astype(np.float64)).astype(np.float32)
    X_val = scaler.transform(dataset.X[val_rows].astype(np.float64)).astype(np.float32)
    return SourceData(dataset, seed, np.asarray(train), X_fit, y[fit_rows], X_val, y[val_rows])
