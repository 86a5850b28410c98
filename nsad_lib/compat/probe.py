"""The optional probe: a short real training of the Light network, formula against ReLU.

Only the target's *training* split is used (the same unstratified 80/20 split as the paper's
protocol for the seed); the probe carves its own validation part out of it, so the test split's
labels are never read. The outcome is reported beside the no-training prediction and can be
recorded as evidence in a user registry.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from nsad_lib.data.tabular import warn_small_validation
from nsad_lib.errors import DataError
from nsad_lib.training.protocol import (
    PROBE_EPOCHS,
    PROBE_MAX_ROWS,
    PROBE_SEEDS,
    PROBE_VAL_FRACTION,
    fit_light,
    probe_split,
)

__all__ = ["ProbeResult", "run_probe", "TOLERANCE"]

#: A formula "transfers" when it is at most this far below Light ReLU (accuracy, absolute).
TOLERANCE = 0.01


@dataclass(frozen=True)
class ProbeResult:
    """Mean validation score of Light+formula and Light+ReLU over the probe's seeds.

    The score is named by ``metric``: ``"accuracy"`` for binary and multiclass targets, ``"r2"``
    (R²) for regression; ``accuracy``, ``baseline_relu`` and ``delta`` hold that score (the
    field names predate regression). ``TOLERANCE`` applies to either (0.01 = one point).
    """

    accuracy: float
    baseline_relu: float
    delta: float
    verdict: str  # "transfers" or "fails"
    seeds: tuple[int, ...]
    epochs: int
    train_rows: int
    val_rows: int
    seconds: float
    task: str = "binary"
    metric: str = "accuracy"

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["seeds"] = list(self.seeds)
        return out


def run_probe(X: np.ndarray, y: np.ndarray, train_rows: np.ndarray, make_act: Callable[[], object], *,
              seeds: Sequence[int] = PROBE_SEEDS, epochs: int = PROBE_EPOCHS, max_rows: int = PROBE_MAX_ROWS,
              val_fraction: float = PROBE_VAL_FRACTION, task: str = "binary", n_classes: int | None = None) -> ProbeResult:
    """Train Light(formula) and Light(ReLU) on a sample of ``train_rows``; compare on a held-out part of it.

    ``make_act`` returns a fresh activation module per call. The ReLU baseline runs on the very
    same rows, seed and epochs, so the difference is the activation's alone. Fewer than
    ``tabular.MIN_VALIDATION_ROWS`` (200) validation rows give a ``SmallDataWarning``.
    ``task``/``n_classes`` as in :func:`nsad_lib.training.protocol.light_model`; regression compares R².
    """
    import torch


    used = min(len(train_rows), max_rows)
    warn_small_validation(max(1, int(used * val_fraction)), "the probe's validation", stacklevel=2)
    start = time.perf_counter()
    accs, bases = [], []
    n_train = n_val = 0
    for seed in seeds:
        fit, val = probe_split(train_rows, seed, max_rows, val_fraction)
        n_train, n_val = len(fit), len(val)
        if len(np.unique(y[fit])) < 2 or len(np.unique(y[val])) < 2:

            if task == "regression":
                raise DataError("the probe's training sample has a constant target; use more rows")
            raise DataError("the probe's training sample has one class only; use more rows")
        with torch.random.fork_rng(devices=[]):
            res = fit_light(X[fit], y[fit], X[val], y[val], make_act, epochs=epochs, seed=seed, task=task,
                            n_classes=n_classes)
            base = fit_light(X[fit], y[fit], X[val], y[val], "relu", epochs=epochs, seed=seed, task=task,
                             n_classes=n_classes)
        accs.append(res.score)
        bases.append(base.score)
    acc, base_acc = float(np.mean(accs)), float(np.mean(bases))
    delta = acc - base_acc
    return ProbeResult(accuracy=round(acc, 4), baseline_relu=round(base_acc, 4), delta=round(delta, 4),
                       verdict="transfers" if delta >= -TOLERANCE else "fails", seeds=tuple(int(s) for s in seeds),
                       epochs=epochs, train_rows=n_train, val_rows=n_val,
                       seconds=round(time.perf_counter() - start, 2), task=task,
                       metric="r2" if task == "regression" else "accuracy")
