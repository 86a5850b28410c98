"""Short-training validation: every candidate trains a Light network, frozen and trainable.

Why both variants: a formula's constants come from the backend's fit, not from the network.
Frozen, the formula is what was discovered; trainable, its constants adapt per activation
instance (2 parameters more per named constant, counted in ``params``). The entry records the
variant that scored better. Scores are the mean validation AUC over ``seeds`` trainings on the
fit rows; ties (within ``TIE``) go to the simpler formula, then to the frozen variant.

The validation score depends on the dataset's task: ROC-AUC (binary), macro one-vs-rest
ROC-AUC (multiclass) or R² (regression); it is kept in ``Validated.auc`` whatever the task
(the field's name predates the other tasks), and :func:`metric` names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from nsad_lib.discovery.candidates import Candidate
from nsad_lib.discovery.source import SourceData

#: Two validation AUCs closer than this are a tie (the seed-to-seed noise is larger).
TIE = 0.002
#: Per task: (label for messages, key in records, score given to a training with non-finite outputs).
METRICS = {"binary": ("AUC", "val_auc", 0.5), "multiclass": ("macro-AUC", "val_macro_auc", 0.5),
           "regression": ("R²", "val_r2", 0.0)}


def metric(task: str) -> tuple[str, str]:
    """(label, record key) of the validation score for ``task``: ("AUC", "val_auc") for binary."""
    label, key, _ = METRICS[task]
    return label, key


def _finite_or_none(value: float) -> float | None:
    """A rounded value, or None for NaN (entries are strict JSON: no NaN)."""
    return round(value, 5) if np.isfinite(value) else None


def warn_if_small(data: SourceData) -> bool:
    """Warn (``SmallDataWarning``) when discovery's validation scores come from few rows."""
    from nsad_lib.data.tabular import warn_small_validation

    return warn_small_validation(len(data.y_val), "discovery validation", stacklevel=3)


@dataclass(frozen=True)
class Validated:
    """A candidate in one variant with its mean validation scores."""

    candidate: Candidate
    trainable: bool
    auc: float
    accuracy: float
    params: int
    aucs: tuple[float, ...] = field(default_factory=tuple)
    task: str = "binary"

    @property
    def n_constants(self) -> int:
        return len(self.candidate.formula.parameters)

    def record(self) -> dict[str, object]:
        """The JSON-ready line provenance keeps for this candidate."""
        f = self.candidate.formula
        _, key = metric(self.task)
        return {
            "formula": f.canonical, "parameters": dict(f.parameters), "trainable": self.trainable,
            "origin": self.candidate.origin, key: round(self.auc, 5), "val_accuracy": _finite_or_none(self.accuracy),
            "params": self.params, "complexity": f.complexity,
        }


def factory(candidate: Candidate, trainable: bool) -> Callable[[], object]:
    """A zero-argument callable making a fresh activation (one parameter set per position)."""
    from nsad_lib.nn.activation import SymbolicActivation

    formula = candidate.formula

    def make() -> SymbolicActivation:
        return SymbolicActivation(formula, trainable=trainable)

    return make


def score(make: Callable[[], object], data: SourceData, *, seeds: Sequence[int], epochs: int,
          max_fit_rows: int | None = None) -> tuple[float, float, int, tuple[float, ...]]:
    """Mean (score, accuracy) over ``seeds`` trainings of a Light network on the fit rows.

    The score is the task's (see :data:`METRICS`): AUC, macro-AUC or R²; accuracy is NaN for regression.
    """
    import torch

    from nsad_lib.training.protocol import fit_light

    X_fit, y_fit = data.X_fit, data.y_fit
    if max_fit_rows is not None and len(y_fit) > max_fit_rows:
        X_fit, y_fit = X_fit[:max_fit_rows], y_fit[:max_fit_rows]
    aucs, accs, params = [], [], 0
    for s in seeds:
        with torch.random.fork_rng(devices=[]):
            r = fit_light(X_fit, y_fit, data.X_val, data.y_val, make, epochs=epochs, seed=int(s), scale=False,
                          task=data.dataset.task, n_classes=data.dataset.n_classes)
        value = r.r2 if data.dataset.task == "regression" else r.auc
        fallback = METRICS[data.dataset.task][2]
        auc = value if value is not None and np.isfinite(value) and r.non_finite_outputs == 0 else fallback
        aucs.append(auc)
        accs.append(r.accuracy)
        params = r.params
    return float(np.mean(aucs)), float(np.mean(accs)), params, tuple(round(a, 5) for a in aucs)


def validate(candidates: Sequence[Candidate], data: SourceData, *, seeds: Sequence[int], epochs: int = 15,
             clock: object | None = None, on_result: Callable[[Validated], None] | None = None) -> list[Validated]:
    """Validate every candidate frozen and (if it has constants) trainable.

    ``clock`` (a :class:`~nsad_lib.discovery.budget.Clock`) may stop the run with an error; it
    never shortens the list (that would change the result).
    """
    out: list[Validated] = []
    for cand in candidates:
        variants = (False, True) if cand.formula.parameters else (False,)
        for trainable in variants:
            if clock is not None:
                clock.check("validation")  # type: ignore[attr-defined]
            auc, acc, params, aucs = score(factory(cand, trainable), data, seeds=seeds, epochs=epochs)
            v = Validated(cand, trainable, auc, acc, params, aucs, data.dataset.task)
            out.append(v)
            if on_result:
                on_result(v)
    return out


def best(results: Sequence[Validated]) -> Validated:
    """Highest mean AUC; within :data:`TIE` of it, the simplest formula, then the frozen variant."""
    if not results:
        raise ValueError("no validated candidates")
    top = max(r.auc for r in results)
    tied = [r for r in results if r.auc >= top - TIE]
    return min(tied, key=lambda r: (r.candidate.complexity, r.trainable, -r.auc, r.candidate.key))
