"""The checker v2: a predictor of Δ (the accuracy change against Light ReLU, in points) with an
interval, read from the suite's own transfer matrix, evaluated with numpy only.

The fitted model ships as JSON data (``nsad_lib/compat/models/checker-v2.json``; no pickle): the
suite's measured Δ per (dataset, formula) (clipped to ±25 points), each suite dataset's unlabelled
profile, each suite formula's shape (:func:`nsad_lib.compat.smoother.formula_shape`) and the two
kernel bandwidths. A check weighs every measured cell by how alike its dataset's profile is to
the target's and how alike its formula's shape is to the entry's
(:class:`nsad_lib.compat.smoother.Smoother`): the estimate is the weighted median of their Δ, the
interval the weighted ``level`` quantile interval. It is written by ``scripts/fit_checker.py``
(which also chooses the bandwidths and the decision band by cross-validation on the matrix) and
scored by ``scripts/evaluate_checker.py`` (docs/compatibility.md).

Two bands of Δ: the reported interval ``[low, high]`` (nominal ``level``, 80%; its calibration is
measured) and the *decision band* (``decision.level``; level 0 is the median alone). Verdict
from the decision band: ``transfers`` when it lies at or above -1 point, ``does-not-transfer``
when it lies below, ``uncertain`` when it straddles -1 (run ``--probe``).
Everything here is a *prediction*; measured results live in the evidence records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from nsad_lib.compat.features import DESCRIPTIONS, FEATURE_VERSION, FEATURES
from nsad_lib.errors import NsadError

__all__ = ["MODEL_SCHEMA", "DEFAULT_MODEL", "TRANSFER_DELTA", "Prediction", "CheckerModel", "ProbeCombination",
           "load_model", "model_path", "verdict_of_interval", "probe_design"]

MODEL_SCHEMA = "nsad-checker-model/2"
DEFAULT_MODEL = "checker-v2"
#: Transfers when Δ (points) is at least this.
TRANSFER_DELTA = -1.0
_MODELS = Path(__file__).resolve().parent / "models"


def verdict_of_interval(low: float, high: float, threshold: float = TRANSFER_DELTA) -> str:
    """``transfers`` (interval at or above the threshold), ``does-not-transfer`` (below), else ``uncertain``."""
    if low >= threshold:
        return "transfers"
    if high < threshold:
        return "does-not-transfer"
    return "uncertain"


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one case: Δ (points) with its interval, the verdict, and why."""

    model: str
    delta: float
    low: float
    high: float
    verdict: str
    level: float  # nominal coverage of [low, high]
    decision_level: float = 0.0  # the band whose side of -1 gives the verdict (0: the median's side)
    drivers: tuple[tuple[str, float, float, float], ...] = ()  # (feature, value, typical, effect in points)
    nearest: tuple[dict, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "prediction", "model": self.model, "delta": round(self.delta, 3), "low": round(self.low, 3),
                "high": round(self.high, 3), "level": self.level,
                "decision_level": self.decision_level, "verdict": self.verdict,
                "drivers": [{"feature": f, "value": round(v, 4), "typical": round(t, 4), "effect": round(e, 3)}
                            for f, v, t, e in self.drivers],
                "nearest": list(self.nearest)}


def probe_design(prior: Any, probe: Any, intercept: bool = False) -> np.ndarray:
    """The probe combination's inputs: the smoother's prior Δ and the probe's Δ (points), each clipped
    to ±25 points (a diverging regression run must not swamp them), as columns (a leading column of
    ones with ``intercept``)."""
    from nsad_lib.compat.smoother import CLIP

    cols = [np.clip(np.atleast_1d(np.asarray(v, dtype=np.float64)), -CLIP, CLIP) for v in (prior, probe)]
    if intercept:
        cols.insert(0, np.ones_like(cols[0]))
    return np.column_stack(cols)


@dataclass(frozen=True)
class ProbeCombination:
    """How the checker reads a probe: Δ = intercept + a·prior + b·probe (median regression on the suite's
    cells, the prior honest, both clipped), with the interval of its held-out residuals. Fitted for
    one probe setting (``epochs``: a number, or ``"matched"``, as many optimizer steps as the
    protocol's training; number of ``seeds``; ``rows``); a probe run otherwise is reported beside
    the prediction but not combined."""

    intercept: float
    coef: tuple[float, float]
    low: float  # residual quantiles of the reported interval
    high: float
    epochs: int | str
    seeds: int
    rows: int

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "ProbeCombination":
        from nsad_lib.training.protocol import probe_epochs_setting  # torch: only when a model has a probe

        try:
            coef = _floats(doc["coef"], 2, "probe.coef")
            q = _floats(doc["residual_quantiles"], 2, "probe.residual_quantiles")
            return cls(float(doc["intercept"]), (float(coef[0]), float(coef[1])), float(q[0]), float(q[1]),
                       probe_epochs_setting(doc["epochs"]), int(doc["seeds"]), int(doc["rows"]))
        except (KeyError, TypeError, ValueError, NsadError) as exc:
            raise NsadError(f"checker model: malformed probe combination ({exc})") from None

    def applies(self, epochs: int | str, seeds: int, rows: int) -> bool:
        return (epochs, seeds, rows) == (self.epochs, self.seeds, self.rows)

    def describe_epochs(self) -> str:
        if self.epochs == "matched":
            return "matched epochs (as many Adam steps as the protocol's 15 epochs)"
        return f"{self.epochs} epochs"

    def delta(self, prior: float, probe: float) -> float:
        x = probe_design(prior, probe, intercept=True)[0]
        return float(x @ np.asarray([self.intercept, *self.coef]))


def _floats(value: Any, n: int | None, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NsadError(f"checker model: {what} is not a list of numbers") from None
    if arr.ndim != 1 or (n is not None and len(arr) != n) or not np.all(np.isfinite(arr)):
        raise NsadError(f"checker model: {what} has the wrong length or non-finite values")
    return arr


class CheckerModel:
    """A fitted checker model (the JSON document): the suite matrix and the smoother's settings."""

    def __init__(self, doc: Mapping[str, Any], name: str = DEFAULT_MODEL):
        from nsad_lib.compat.smoother import SHAPE_POINTS, Smoother, level_key

        if not isinstance(doc, Mapping) or doc.get("schema") != MODEL_SCHEMA:
            raise NsadError(f"checker model {name}: not an {MODEL_SCHEMA} document")
        if list(doc.get("features", [])) != list(FEATURES) or doc.get("feature_version") != FEATURE_VERSION:
            raise NsadError(f"checker model {name}: fitted on other features (feature version "
                            f"{doc.get('feature_version')}, this library computes {FEATURE_VERSION}); refit it "
                            "with scripts/fit_checker.py")
        self.doc = doc
        self.name = f"{doc.get('name', name)}/{doc.get('version', '?')}"
        try:
            self.level = float(doc.get("level", 0.8))
            self.decision_level = float(doc.get("decision", {}).get("level", 0.0))
            self.threshold = float(doc.get("threshold", TRANSFER_DELTA))
            bw = {k: float(doc["bandwidths"][k]) for k in ("h_data", "h_formula", "h_data_new", "h_formula_new")}
            self.bands = {mode: {str(lv): [float(q[0]), float(q[1])] for lv, q in doc["bands"][mode].items()}
                          for mode in ("known", "new")}
            for mode in self.bands.values():
                for key in (level_key(self.level), level_key(self.decision_level)):
                    if key not in mode or not all(np.isfinite(mode[key])):
                        raise NsadError(f"checker model {name}: no interval quantiles for level {key}")
            index = [int(i) for i in doc["data_features_index"]]
            if any(i < 0 or i >= len(FEATURES) for i in index):
                raise NsadError("checker model: a data feature index is out of range")
            self._data_index = np.asarray(index, dtype=np.int64)
            std = _floats(doc["profile_std"], len(index), "profile_std")
            self.datasets: list[dict] = [dict(d) for d in doc["datasets"]]
            self.formulas: list[dict] = [dict(f) for f in doc["formulas"]]
            profiles = {str(d["name"]): _floats(d["profile"], len(index), f"dataset {d.get('name')}'s profile")
                        for d in self.datasets}
            shapes = {str(f["id"]): _floats(f["shape"], SHAPE_POINTS, f"formula {f.get('id')}'s shape")
                      for f in self.formulas}
            self.delta: dict[str, dict[str, float]] = {str(d): {str(a): float(v) for a, v in row.items()}
                                                       for d, row in doc["delta"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NsadError(f"checker model {name}: malformed ({exc})") from None
        if min(bw.values()) <= 0 or np.any(std <= 0):
            raise NsadError(f"checker model {name}: bandwidths and profile_std must be positive")
        cells = []
        for d, row in self.delta.items():
            for a, v in row.items():
                if d not in profiles or a not in shapes:
                    raise NsadError(f"checker model {name}: a measured cell ({d}, {a}) has no profile or shape")
                if not np.isfinite(v):
                    raise NsadError(f"checker model {name}: a measured cell ({d}, {a}) is not finite")
                cells.append((d, a, v))
        self._shapes = shapes
        self.smoother = Smoother(cells, profiles, shapes, profile_std=std, **bw)
        self.probe = ProbeCombination.from_doc(doc["probe"]) if doc.get("probe") else None

    # -- predictions ------------------------------------------------------------------------
    def _shape(self, entry_id: str, formula: str, shape: Any) -> np.ndarray:
        from nsad_lib.compat.smoother import SHAPE_POINTS

        if shape is not None:
            return _floats(np.ravel(shape), SHAPE_POINTS, "the formula's shape")
        for f in self.formulas:
            if f["id"] == entry_id or (formula and f.get("formula") == formula):
                return self._shapes[str(f["id"])]
        raise NsadError("checker model: the formula's shape is needed (nsad_lib.compat.smoother.formula_shape)")

    def predict_arrays(self, X: np.ndarray, shapes: np.ndarray) -> dict[str, np.ndarray]:
        """The smoother's outputs (``delta``, ``low``, ``high``, ``dlow``, ``dhigh``, ...) for feature rows ``X``
        and shape rows ``shapes``."""
        from nsad_lib.compat.smoother import intervals

        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        out = self.smoother.predict(X[:, self._data_index], np.atleast_2d(shapes))
        out.update(intervals(out, self.bands, self.level, self.decision_level))
        return out

    def nearest(self, x: np.ndarray, shape: np.ndarray, k: int = 3, per_dataset: int = 2) -> tuple[dict, ...]:
        """The suite cells that weigh most in the estimate, grouped by dataset (at most ``k`` datasets, the
        heaviest first): what this formula (``similar_formulas`` absent) or the formulas of the nearest shapes
        measured there."""
        from nsad_lib.compat.smoother import shape_distances

        x = np.asarray(x, dtype=np.float64)
        cells = self.smoother.heaviest(x[self._data_index], shape, top=24)
        own = {f for f, s in self._shapes.items() if shape_distances(shape, s[None, :])[0] < 1e-6}
        rows: dict[str, dict] = {}
        for dataset, formula, delta, weight in cells:
            if dataset not in rows:
                if len(rows) >= k:
                    continue
                rows[dataset] = {"dataset": dataset, "weight": 0.0, "measured": {}}
            row = rows[dataset]
            if len(row["measured"]) < per_dataset and not (row["measured"] and set(row["measured"]) <= own):
                row["measured"][formula] = round(delta, 3)
                row["weight"] = round(row["weight"] + weight, 3)
        out = []
        for row in rows.values():
            if not set(row["measured"]) <= own:
                row["similar_formulas"] = True
            out.append(row)
        return tuple(out)

    def predict(self, x: np.ndarray, *, entry_id: str = "", formula: str = "", shape: Any = None) -> Prediction:
        """The prediction for one case: ``x`` its feature vector, ``shape`` the formula's shape (looked up by
        ``entry_id`` / ``formula`` among the suite formulas when not given)."""
        s = self._shape(entry_id, formula, shape)
        p = {k: float(v[0]) for k, v in self.predict_arrays(x, s[None, :]).items()}
        return Prediction(model=self.name, delta=p["delta"], low=p["low"], high=p["high"], level=self.level,
                          decision_level=self.decision_level,
                          verdict=verdict_of_interval(p["dlow"], p["dhigh"], self.threshold),
                          nearest=self.nearest(x, s))

    def with_probe(self, prior: Prediction, probe_delta: float) -> Prediction:
        """The prediction updated by a probe's Δ (points), through :attr:`probe` (the caller checks
        :meth:`ProbeCombination.applies`)."""
        if self.probe is None:
            raise NsadError(f"checker model {self.name} has no probe combination")
        mid = self.probe.delta(prior.delta, probe_delta)
        low, high = mid + self.probe.low, mid + self.probe.high
        return Prediction(model=f"{self.name}+probe", delta=mid, low=low, high=high, level=self.level,
                          verdict=verdict_of_interval(mid, mid, self.threshold), nearest=prior.nearest)


def describe_driver(name: str, value: float, typical: float, effect: float) -> str:
    """One driver in words: ``fold cost 0.31 (typical 0.00): -2.1 points``."""
    return f"{DESCRIPTIONS.get(name, name)} = {value:.3g} (typical {typical:.3g}): {effect:+.1f} points"


def model_path(name: str = DEFAULT_MODEL) -> Path:
    return _MODELS / f"{name}.json"


@lru_cache(maxsize=4)
def _load(path: str) -> CheckerModel | None:
    p = Path(path)
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise NsadError(f"checker model {p}: unreadable ({exc})") from None
    return CheckerModel(doc, p.stem)


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> CheckerModel | None:
    """The shipped model (``None`` when the package has none), or a model file by path."""
    text = str(name_or_path)
    path = Path(text) if text.endswith(".json") else model_path(text)
    if text.endswith(".json") and not path.is_file():
        raise NsadError(f"checker model {text}: no such file")
    return _load(str(path.resolve()))

