"""The checker v2: a learned predictor of Δ (the accuracy change against Light ReLU, in points),
with an interval, evaluated with numpy only.

The fitted model ships as JSON data (``nsad_lib/compat/models/checker-v2.json``; no pickle): three
gradient-boosted regression-tree ensembles (the low quantile, the median and the high quantile
of Δ) over :data:`nsad_lib.compat.features.FEATURES`, as plain arrays, plus what the reasons
quote: each suite dataset's profile and the Δ each training formula measured there. It is
written by ``scripts/fit_checker.py`` from the suite's transfer matrix and scored by
``scripts/evaluate_checker.py`` (docs/compatibility.md).

Two quantile bands of Δ: the reported interval ``[low, high]`` (nominal ``level``, 80%; its
calibration is measured) and the *decision band* (``decision.level``, chosen by
leave-one-dataset-out; level 0 is the median alone). Verdict from the decision band:
``transfers`` when it lies at or above -1 point, ``does-not-transfer`` when it lies below,
``uncertain`` when it straddles -1 (run ``--probe``).
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

__all__ = ["MODEL_SCHEMA", "DEFAULT_MODEL", "TRANSFER_DELTA", "Prediction", "TreeEnsemble", "CheckerModel",
           "load_model", "model_path", "verdict_of_interval"]

MODEL_SCHEMA = "nsad-checker-model/1"
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


class TreeEnsemble:
    """``init + learning_rate * sum(tree(x))`` over regression trees stored as arrays.

    A tree is ``left``, ``right`` (child indices, -1 at a leaf), ``feature``, ``threshold`` and
    ``value`` per node; a row goes left when ``x[feature] <= threshold`` (features compared in
    float32, as scikit-learn's trees compare them).
    """

    def __init__(self, spec: Mapping[str, Any]):
        try:
            self.init = float(spec["init"])
            self.learning_rate = float(spec["learning_rate"])
            self.trees = [tuple(np.asarray(t[k]) for k in ("left", "right", "feature", "threshold", "value"))
                          for t in spec["trees"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise NsadError(f"checker model: a tree ensemble is malformed ({exc})") from None
        for left, right, feat, thr, val in self.trees:
            n = len(left)
            if not (len(right) == len(feat) == len(thr) == len(val) == n) or n == 0:
                raise NsadError("checker model: a tree's arrays differ in length")
            inner = left >= 0
            if (np.any(left[inner] >= n) or np.any(right[inner] >= n) or np.any(right[inner] < 0)
                    or np.any(left[inner] <= np.flatnonzero(inner)) or np.any(feat[inner] < 0)
                    or np.any(feat[inner] >= len(FEATURES))):
                raise NsadError("checker model: a tree's node indices are out of range")

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        if X.ndim == 1:
            X = X[None, :]
        out = np.full(len(X), self.init)
        rows = np.arange(len(X))
        for left, right, feat, thr, val in self.trees:
            node = np.zeros(len(X), dtype=np.int64)
            while True:
                inner = left[node] >= 0
                if not inner.any():
                    break
                i = rows[inner]
                n = node[inner]
                go_left = X[i, feat[n]] <= thr[n]
                node[inner] = np.where(go_left, left[n], right[n])
            out += self.learning_rate * val[node]
        return out


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


class CheckerModel:
    """A fitted checker model (the JSON document), evaluated with numpy."""

    def __init__(self, doc: Mapping[str, Any], name: str = DEFAULT_MODEL):
        if not isinstance(doc, Mapping) or doc.get("schema") != MODEL_SCHEMA:
            raise NsadError(f"checker model {name}: not an {MODEL_SCHEMA} document")
        if list(doc.get("features", [])) != list(FEATURES) or doc.get("feature_version") != FEATURE_VERSION:
            raise NsadError(f"checker model {name}: fitted on other features (feature version "
                            f"{doc.get('feature_version')}, this library computes {FEATURE_VERSION}); refit it "
                            "with scripts/fit_checker.py")
        self.doc = doc
        self.name = f"{doc.get('name', name)}/{doc.get('version', '?')}"
        self.low = TreeEnsemble(doc["models"]["low"])
        self.mid = TreeEnsemble(doc["models"]["mid"])
        self.high = TreeEnsemble(doc["models"]["high"])
        self.level = float(doc.get("level", 0.8))
        decision = doc.get("decision", {"level": 0.0})
        self.decision_level = float(decision.get("level", 0.0))
        self.decision = ((TreeEnsemble(decision["low"]), TreeEnsemble(decision["high"]))
                         if self.decision_level > 0 else None)
        self.threshold = float(doc.get("threshold", TRANSFER_DELTA))
        self.reference = np.asarray(doc["reference"], dtype=np.float64)
        self.datasets: list[dict] = list(doc.get("datasets", []))
        self.formulas: list[dict] = list(doc.get("formulas", []))
        self.delta: dict[str, dict[str, float]] = dict(doc.get("delta", {}))
        nf = np.asarray(doc.get("data_features_index", []), dtype=int)
        self._data_index = nf
        scale = doc.get("data_scale", {})
        self._data_mean = np.asarray(scale.get("mean", []), dtype=np.float64)
        self._data_std = np.asarray(scale.get("std", []), dtype=np.float64)
        fscale = doc.get("formula_scale", {})
        self._formula_index = np.asarray(doc.get("formula_features_index", []), dtype=int)
        self._formula_mean = np.asarray(fscale.get("mean", []), dtype=np.float64)
        self._formula_std = np.asarray(fscale.get("std", []), dtype=np.float64)

    # -- predictions ------------------------------------------------------------------------
    def predict_arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(median, low, high) of Δ for feature rows ``X``; low <= median <= high is enforced."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        mid, lo, hi = self.mid.predict(X), self.low.predict(X), self.high.predict(X)
        return mid, np.minimum(lo, mid), np.maximum(hi, mid)

    def decision_band(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band the verdict reads: the decision quantiles, or the median alone (level 0)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        mid = self.mid.predict(X)
        if self.decision is None:
            return mid, mid
        return np.minimum(self.decision[0].predict(X), mid), np.maximum(self.decision[1].predict(X), mid)

    def drivers(self, x: np.ndarray, top: int = 3) -> tuple[tuple[str, float, float, float], ...]:
        """The features that move the median prediction most: each set to its typical (median
        training) value in turn; effect = prediction - prediction with the typical value."""
        x = np.asarray(x, dtype=np.float64)
        base = float(self.mid.predict(x[None, :])[0])
        alt = np.repeat(x[None, :], len(FEATURES), axis=0)
        alt[np.arange(len(FEATURES)), np.arange(len(FEATURES))] = self.reference
        effects = base - self.mid.predict(alt)
        order = np.argsort(-np.abs(effects))
        return tuple((FEATURES[j], float(x[j]), float(self.reference[j]), float(effects[j]))
                     for j in order[:top] if abs(effects[j]) >= 0.05)

    def nearest(self, x: np.ndarray, entry_id: str = "", formula: str = "", k: int = 3) -> tuple[dict, ...]:
        """The ``k`` suite datasets nearest by data profile, with what this formula (when it was in
        the training matrix) or the nearest training formulas measured there."""
        if not self.datasets or not len(self._data_index):
            return ()
        x = np.asarray(x, dtype=np.float64)
        q = (x[self._data_index] - self._data_mean) / self._data_std
        profiles = np.asarray([d["profile"] for d in self.datasets], dtype=np.float64)
        dist = np.sqrt(np.sum((profiles - q) ** 2, axis=1))
        known = next((f["id"] for f in self.formulas if f["id"] == entry_id or (formula and f.get("formula") == formula)),
                     None)
        if known is None and len(self._formula_index):
            fq = (x[self._formula_index] - self._formula_mean) / self._formula_std
            fprof = np.asarray([f["profile"] for f in self.formulas], dtype=np.float64)
            fdist = np.sqrt(np.sum((fprof - fq) ** 2, axis=1))
            similar = [self.formulas[i]["id"] for i in np.argsort(fdist)[:2]]
        else:
            similar = []
        out = []
        for i in np.argsort(dist)[:k]:
            d = self.datasets[int(i)]
            measured = self.delta.get(d["name"], {})
            row = {"dataset": d["name"], "distance": round(float(dist[i]), 3)}
            if known is not None and known in measured:
                row["measured"] = {known: measured[known]}
            else:
                row["measured"] = {f: measured[f] for f in similar if f in measured}
                row["similar_formulas"] = True
            out.append(row)
        return tuple(out)

    def predict(self, x: np.ndarray, *, entry_id: str = "", formula: str = "") -> Prediction:
        mid, lo, hi = (float(a[0]) for a in self.predict_arrays(x))
        dlo, dhi = (float(a[0]) for a in self.decision_band(x))
        return Prediction(model=self.name, delta=mid, low=lo, high=hi, level=self.level,
                          decision_level=self.decision_level,
                          verdict=verdict_of_interval(dlo, dhi, self.threshold), drivers=self.drivers(x),
                          nearest=self.nearest(x, entry_id, formula))


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

