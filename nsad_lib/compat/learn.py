"""Fitting and scoring the checker v2 (needs scikit-learn: the ``[check]`` extra). Used by
``scripts/fit_checker.py`` and ``scripts/evaluate_checker.py``; a check itself never imports this.

- :func:`transfer_matrix`: the measured Δ (points, paired by seed against Light ReLU, as the
  leaderboard computes it) per (dataset, activation) of a runner store;
- :func:`feature_table`: the unlabelled features of every (dataset, formula) case, cached in a
  JSON file keyed by the dataset's sha256, the formula and :data:`FEATURE_VERSION`;
- :func:`fit_ensembles` / :func:`export_model`: the three quantile gradient-boosting models and
  their JSON form;
- :func:`scores`: agreement, balanced accuracy, coverage, MAE and interval calibration.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from nsad_lib.compat.features import FEATURE_VERSION, FEATURES, feature_vector, is_monotone, is_near_monotone
from nsad_lib.compat.predictor import MODEL_SCHEMA, TRANSFER_DELTA, verdict_of_interval
from nsad_lib.errors import NsadError
from nsad_lib.util.optional import require

__all__ = ["BUILTIN_FORMULAS", "Case", "transfer_matrix", "feature_table", "formula_of", "fit_ensembles",
           "export_model", "scores", "load_cases", "interval_verdicts", "DATA_FEATURES", "FORMULA_FEATURES", "PARAMS"]

#: torch's builtin activations as formulas (the runner trains the torch modules; the checker
#: profiles the same functions). relu, gelu and silu are also bundled entries.
BUILTIN_FORMULAS = {"relu": "Max(x, 0)", "gelu": "x*(1 + erf(x/sqrt(2)))/2", "silu": "x*sigmoid(x)",
                    "tanh": "tanh(x)"}
DATA_FEATURES = ("log_rows", "log_features", "count_share", "zero_fraction", "onehot_share", "categorical_share",
                 "binary_share", "continuous_share", "heavy_tail_share", "pile_concentration", "mass_width")
#: features of the formula's shape (``rules_score`` mixes both and is in neither list)
FORMULA_FEATURES = tuple(f for f in FEATURES if f not in DATA_FEATURES and f != "rules_score")
#: The gradient-boosting settings (chosen by leave-one-dataset-out; docs/compatibility.md).
PARAMS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8, "min_samples_leaf": 8,
          "random_state": 0}


@dataclass
class Case:
    dataset: str
    activation: str
    family: str
    domain: str
    x: np.ndarray
    delta: float | None
    rules_verdict: str
    monotone: bool
    near_monotone: bool
    formula: str


def transfer_matrix(records: Iterable[dict], seeds: int = 3) -> dict[str, dict[str, float]]:
    """dataset -> activation -> mean paired Δ (points) over ``seeds`` seeds (cases with fewer left out)."""
    from nsad_lib.bench.report import leaderboard

    board = leaderboard(list(records))
    out: dict[str, dict[str, float]] = {}
    for row in board["datasets"]:
        for act, v in row["activations"].items():
            if "delta" in v and len(v["paired_seeds"]) >= seeds:
                out.setdefault(row["dataset"], {})[act] = float(v["delta"])
    return out


def formula_of(activation: str, registry: Any = None):  # -> (Formula, source domain, canonical text)
    from nsad_lib.formula import Formula
    from nsad_lib.registry.store import default_registry

    if activation in BUILTIN_FORMULAS:
        f = Formula.parse(BUILTIN_FORMULAS[activation])
        return f, "any", str(f.expr)
    entry = (registry or default_registry()).resolve(activation)
    f = entry.formula_object()
    return f, str(entry.domains.get("source", "unknown")), str(f.expr)


def _case_key(sha: str, activation: str, canonical: str) -> str:
    return f"{sha}|{activation}|{canonical}"


def feature_table(matrix: Mapping[str, Mapping[str, float]], families: Mapping[str, str], cache_path: Path,
                  registry: Any = None, seed: int = 42, rows: int = 5000,
                  progress: Callable[[str], None] = lambda s: None) -> tuple[list[Case], dict[str, dict]]:
    """Every measured (dataset, activation) as a :class:`Case`, features cached in ``cache_path``.

    Also returns each dataset's data-profile summary (name -> dict with ``domain`` and ``x``).
    """
    from nsad_lib.bench import suite
    from nsad_lib.compat.check import _unlabelled_sample
    from nsad_lib.compat.profile_formula import pre_activations, profile_formula
    from nsad_lib.compat.verdict import score_rules
    from nsad_lib.data.profile import profile_data
    from nsad_lib.util.atomic import atomic_write_text

    cache: dict[str, Any] = {}
    if cache_path.is_file():
        cache = json.loads(cache_path.read_text())
        if cache.get("feature_version") != FEATURE_VERSION or list(cache.get("features", [])) != list(FEATURES):
            cache = {}
    rows_cache: dict[str, dict] = cache.get("rows", {})
    formulas: dict[str, tuple] = {}
    cases: list[Case] = []
    datasets: dict[str, dict] = {}
    changed = False
    for name in sorted(matrix):
        member = suite.member(name)
        sha = member.sha256
        todo = []
        for act in sorted(matrix[name]):
            if act not in formulas:
                formulas[act] = formula_of(act, registry)
            key = _case_key(sha, act, formulas[act][2])
            if key not in rows_cache:
                todo.append((act, key))
        if todo:
            progress(f"{name}: profiling {len(todo)} formula(s)")
            ds = suite.load(name)
            _, sample, scaled = _unlabelled_sample(ds.X, seed, rows)
            dp = profile_data(ds.X[sample], ds.feature_names)
            z = pre_activations(scaled, seed)
            for act, key in todo:
                f, source, canonical = formulas[act]
                fp = profile_formula(f, z, name=act, dataset=name)
                verdict, score, _ = score_rules(dp, fp, source)
                rows_cache[key] = {"x": feature_vector(dp, fp).tolist(), "rules": verdict, "rules_score": score,
                                   "monotone": is_monotone(fp), "near_monotone": is_near_monotone(fp),
                                   "domain": dp.domain}
                changed = True
        for act in sorted(matrix[name]):
            row = rows_cache[_case_key(sha, act, formulas[act][2])]
            x = np.asarray(row["x"], dtype=np.float64)
            cases.append(Case(name, act, families.get(act, "other"), row["domain"], x, matrix[name][act],
                              row["rules"], row["monotone"], row["near_monotone"], formulas[act][2]))
            datasets.setdefault(name, {"domain": row["domain"], "x": x})
    if changed:
        cache = {"feature_version": FEATURE_VERSION, "features": list(FEATURES), "seed": seed, "rows": rows_cache}
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache_path, json.dumps(cache, sort_keys=True) + "\n")
    return cases, datasets


# -- models --------------------------------------------------------------------------------
def fit_ensembles(X: np.ndarray, y: np.ndarray, level: float = 0.8, params: Mapping[str, Any] | None = None):
    """(low, median, high) quantile gradient-boosting regressors of Δ."""
    ensemble = require("sklearn.ensemble", "check", "fitting the checker model")
    p = dict(PARAMS, **(params or {}))
    tail = (1.0 - level) / 2
    out = []
    for alpha in (tail, 0.5, 1.0 - tail):
        out.append(ensemble.GradientBoostingRegressor(loss="quantile", alpha=alpha, **p).fit(X, y))
    return tuple(out)


def _export_gbr(model) -> dict[str, Any]:  # noqa: ANN001 - a fitted GradientBoostingRegressor
    trees = []
    for est in model.estimators_[:, 0]:
        t = est.tree_
        trees.append({"left": t.children_left.tolist(), "right": t.children_right.tolist(),
                      "feature": [int(v) if v >= 0 else 0 for v in t.feature],
                      "threshold": [float(v) for v in t.threshold],
                      "value": [float(v) for v in t.value[:, 0, 0]]})
    init = float(np.ravel(model.init_.constant_)[0])
    return {"init": init, "learning_rate": float(model.learning_rate), "trees": trees}


def export_model(models: Sequence, cases: Sequence[Case], datasets: Mapping[str, dict], *, level: float,
                 version: int, fitted: Mapping[str, Any], decision_level: float = 0.0,
                 decision_models: Sequence = ()) -> dict[str, Any]:
    """The JSON document of a fitted model (checked: the numpy evaluation equals sklearn's)."""
    from nsad_lib.compat.predictor import CheckerModel

    X = np.stack([c.x for c in cases])
    di = [FEATURES.index(f) for f in DATA_FEATURES]
    fi = [FEATURES.index(f) for f in FORMULA_FEATURES]
    dX = np.stack([d["x"][di] for d in datasets.values()])
    dmean, dstd = dX.mean(axis=0), dX.std(axis=0)
    dstd[dstd == 0] = 1.0
    acts = sorted({c.activation for c in cases})
    fprof = {a: np.mean([c.x[fi] for c in cases if c.activation == a], axis=0) for a in acts}
    fX = np.stack(list(fprof.values()))
    fmean, fstd = fX.mean(axis=0), fX.std(axis=0)
    fstd[fstd == 0] = 1.0
    canon = {c.activation: c.formula for c in cases}
    family = {c.activation: c.family for c in cases}
    delta: dict[str, dict[str, float]] = {}
    for c in cases:
        delta.setdefault(c.dataset, {})[c.activation] = round(float(c.delta), 3)
    doc = {
        "schema": MODEL_SCHEMA, "name": "checker-v2", "version": version, "feature_version": FEATURE_VERSION,
        "features": list(FEATURES), "threshold": TRANSFER_DELTA, "unit": "points (accuracy x 100, or R^2 x 100)",
        "level": level, "kind": "quantile gradient boosting (scikit-learn GradientBoostingRegressor, loss=quantile)",
        "params": dict(PARAMS),
        "models": {k: _export_gbr(m) for k, m in zip(("low", "mid", "high"), models)},
        "decision": ({"level": decision_level, "low": _export_gbr(decision_models[0]),
                      "high": _export_gbr(decision_models[1])} if decision_level > 0 else {"level": 0.0}),
        "reference": [float(v) for v in np.median(X, axis=0)],
        "data_features_index": di, "data_scale": {"mean": dmean.tolist(), "std": dstd.tolist()},
        "datasets": [{"name": n, "domain": d["domain"], "profile": ((d["x"][di] - dmean) / dstd).round(4).tolist()}
                     for n, d in datasets.items()],
        "formula_features_index": fi, "formula_scale": {"mean": fmean.tolist(), "std": fstd.tolist()},
        "formulas": [{"id": a, "formula": canon[a], "family": family[a],
                      "profile": ((fprof[a] - fmean) / fstd).round(4).tolist()} for a in acts],
        "delta": delta, "fitted": dict(fitted),
    }
    check = CheckerModel(doc)
    pairs = list(zip(models, (check.low, check.mid, check.high)))
    if check.decision is not None:
        pairs += list(zip(decision_models, check.decision))
    for m, ens in pairs:
        diff = float(np.max(np.abs(m.predict(X) - ens.predict(X))))
        if diff > 1e-6:
            raise NsadError(f"exported model differs from the fitted one by {diff:g} points")
    return doc


# -- scores --------------------------------------------------------------------------------
def scores(delta: np.ndarray, verdicts: Sequence[str], mid: np.ndarray | None = None, low: np.ndarray | None = None,
           high: np.ndarray | None = None, threshold: float = TRANSFER_DELTA) -> dict[str, Any]:
    """Agreement (``uncertain`` is a miss), balanced accuracy, coverage, and for a Δ model MAE and
    the share of measured Δ inside / below / above the interval."""
    delta = np.asarray(delta, dtype=np.float64)
    v = np.asarray(verdicts)
    real = delta >= threshold
    hit = np.where(real, v == "transfers", v == "does-not-transfer")
    rec_t = float(np.mean(hit[real])) if real.any() else math.nan
    rec_f = float(np.mean(hit[~real])) if (~real).any() else math.nan
    out = {"n": int(len(delta)), "transfers": int(real.sum()), "fails": int((~real).sum()),
           "agreement": float(np.mean(hit)), "balanced": float(np.nanmean([rec_t, rec_f])),
           "recall_transfers": rec_t, "recall_fails": rec_f, "coverage": float(np.mean(v != "uncertain"))}
    if mid is not None:
        err = np.abs(np.asarray(mid) - delta)
        out["mae"] = float(np.mean(err))
        out["median_ae"] = float(np.median(err))  # a regression run that diverges (R² of -30) dominates the MAE
    if low is not None and high is not None:
        out["inside"] = float(np.mean((delta >= low) & (delta <= high)))
        out["below"] = float(np.mean(delta < low))
        out["above"] = float(np.mean(delta > high))
    return out


def interval_verdicts(low: np.ndarray, high: np.ndarray, threshold: float = TRANSFER_DELTA) -> list[str]:
    return [verdict_of_interval(lo, hi, threshold) for lo, hi in zip(low, high)]


def load_cases(store_dir: Path, zoo: Path | None, cache_path: Path, seeds: int = 3,
               progress: Callable[[str], None] = lambda s: None) -> tuple[list[Case], dict[str, dict], dict]:
    """The cases of a runner store: (cases, datasets, facts about the store)."""
    from nsad_lib.bench.store import ResultStore
    from nsad_lib.registry.store import Registry

    store = ResultStore(store_dir)
    if not store.exists():
        raise NsadError(f"{store_dir}: no results.jsonl here")
    records = list(store.latest().values())
    matrix = transfer_matrix(records, seeds=seeds)
    families: dict[str, str] = {}
    registry = None
    if zoo is not None:
        fam = zoo / "families.json"
        if fam.is_file():
            families = json.loads(fam.read_text())
        registry = Registry([zoo])
    cases, datasets = feature_table(matrix, families, cache_path, registry=registry, progress=progress)
    facts = {"store": str(store_dir), "records": len(records),
             "light_runs": sum(1 for r in records if r.get("status") == "ok" and r["spec"]["model"] == "light"),
             "datasets": len(datasets), "activations": len({c.activation for c in cases}), "cases": len(cases)}
    return cases, datasets, facts
