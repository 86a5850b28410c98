"""Fitting and scoring the checker v2 (needs scikit-learn: the ``[check]`` extra). Used by
``scripts/fit_checker.py`` and ``scripts/evaluate_checker.py``; a check itself never imports this.

- :func:`transfer_matrix`: the measured Δ (points, paired by seed against Light ReLU, as the
  leaderboard computes it) per (dataset, activation) of a runner store;
- :func:`feature_table`: the unlabelled features of every (dataset, formula) case, cached in a
  JSON file keyed by the dataset's sha256, the formula and :data:`FEATURE_VERSION`;
- :func:`select_settings` / :func:`held_out_predictions` / :func:`export_model`: the smoother's
  recipe (bandwidths and decision band chosen by cross-validation on the training cells only), its
  honest held-out predictions, and the shipped JSON form;
- :func:`fit_ensembles`: quantile gradient boosting on the features (a candidate the evaluation
  compares against);
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
from nsad_lib.compat.smoother import CLIP
from nsad_lib.errors import NsadError
from nsad_lib.util.optional import require

__all__ = ["BUILTIN_FORMULAS", "Case", "transfer_matrix", "feature_table", "formula_of", "fit_ensembles",
           "export_model", "scores", "load_cases", "interval_verdicts", "DATA_FEATURES", "FORMULA_FEATURES", "PARAMS",
           "clip_delta", "case_shapes", "case_profiles", "by_dataset", "by_family", "smoother_of", "cross_predict",
           "select_settings", "held_out_predictions", "by_dataset_and_family", "apart_both", "probe_deltas", "probe_setting",
           "fit_probe_combination", "inner_priors", "held_out_probe_combination"]

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


def export_model(cases: Sequence[Case], *, settings: Mapping[str, float], level: float, version: int,
                 fitted: Mapping[str, Any], registry: Any = None,
                 shapes: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """The JSON document of the smoother over ``cases`` (checked: the document predicts what the
    smoother built here predicts)."""
    from nsad_lib.compat.predictor import CheckerModel
    from nsad_lib.compat.smoother import Smoother, intervals

    shapes = {a: np.round(v, 6) for a, v in (shapes if shapes is not None else case_shapes(cases, registry)).items()}
    profiles = case_profiles(cases)
    canon = {c.activation: c.formula for c in cases}
    family = {c.activation: c.family for c in cases}
    domain = {c.dataset: c.domain for c in cases}
    delta: dict[str, dict[str, float]] = {}
    for c in cases:
        delta.setdefault(c.dataset, {})[c.activation] = round(float(clip_delta(c.delta)), 3)
    sm = Smoother([(d, a, v) for d, row in delta.items() for a, v in row.items()], profiles, shapes,
                  **{k: settings[k] for k in ("h_data", "h_formula", "h_data_new", "h_formula_new")})
    doc = {
        "schema": MODEL_SCHEMA, "name": "checker-v2", "version": version, "feature_version": FEATURE_VERSION,
        "features": list(FEATURES), "threshold": TRANSFER_DELTA, "unit": "points (accuracy x 100, or R^2 x 100)",
        "clip": CLIP, "level": level, "decision": {"level": float(settings["decision_level"])},
        "kind": "product-kernel smoother over the suite's transfer matrix (nsad_lib.compat.smoother)",
        "bandwidths": {k: float(settings[k]) for k in ("h_data", "h_formula", "h_data_new", "h_formula_new")},
        "bands": settings["bands"],
        "data_features": list(DATA_FEATURES), "data_features_index": [FEATURES.index(f) for f in DATA_FEATURES],
        "profile_std": sm.profile_std.tolist(),
        "datasets": [{"name": n, "domain": domain[n], "profile": profiles[n].tolist()} for n in sorted(profiles)],
        "formulas": [{"id": a, "formula": canon[a], "family": family[a], "shape": shapes[a].tolist()}
                     for a in sorted(canon)],
        "delta": delta, "fitted": dict(fitted),
    }
    model = CheckerModel(json.loads(json.dumps(doc)))
    X = np.stack([c.x for c in cases])
    S = np.stack([shapes[c.activation] for c in cases])
    got = model.predict_arrays(X, S)
    want = sm.predict(X[:, model._data_index], S)
    want.update(intervals(want, settings["bands"], level, float(settings["decision_level"])))
    diff = max(float(np.max(np.abs(got[k] - want[k]))) for k in ("delta", "low", "high", "dlow", "dhigh"))
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
    if mid is not None:  # Δ beyond ±CLIP points (a diverging regression run) is clipped for the errors
        err = np.abs(np.clip(np.asarray(mid, dtype=np.float64), -CLIP, CLIP) - np.clip(delta, -CLIP, CLIP))
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



# -- the suite matrix as evidence: the smoother's recipe --------------------------------------
#: The bandwidths tried (profile RMS distance in standard deviations; shape RMS distance).
GRID_H_DATA = (0.025, 0.05, 0.1, 0.2, 0.4)
GRID_H_FORMULA = (0.0125, 0.025, 0.05, 0.1, 0.2)
#: Decision-band levels tried (0: the median alone decides, never ``uncertain``).
DECISION_LEVELS = (0.0, 0.2, 0.4, 0.6)
MIN_COVERAGE = 0.8


def clip_delta(y) -> np.ndarray:
    return np.clip(np.asarray(y, dtype=np.float64), -CLIP, CLIP)


def case_shapes(cases: Sequence[Case], registry: Any = None) -> dict[str, np.ndarray]:
    """activation -> its shape vector (:func:`nsad_lib.compat.smoother.formula_shape`)."""
    from nsad_lib.compat.smoother import formula_shape

    out: dict[str, np.ndarray] = {}
    for c in cases:
        if c.activation not in out:
            out[c.activation] = formula_shape(formula_of(c.activation, registry)[0])
    return out


def case_profiles(cases: Sequence[Case]) -> dict[str, np.ndarray]:
    """dataset -> its unlabelled profile vector (the :data:`DATA_FEATURES` of its cases' features)."""
    di = [FEATURES.index(f) for f in DATA_FEATURES]
    out: dict[str, np.ndarray] = {}
    for c in cases:
        out.setdefault(c.dataset, np.asarray(c.x, dtype=np.float64)[di])
    return out


def by_dataset(c: Case) -> str:
    return c.dataset


def by_family(c: Case) -> str:
    return c.family


def smoother_of(cases: Sequence[Case], cells: Iterable[int], profiles: Mapping[str, np.ndarray],
                shapes: Mapping[str, np.ndarray], settings: Mapping[str, Any]):
    """The smoother over the cases ``cells`` only (profile scale from their datasets only)."""
    from nsad_lib.compat.smoother import Smoother

    return Smoother([(cases[j].dataset, cases[j].activation, cases[j].delta) for j in cells], profiles, shapes,
                    h_data=settings["h_data"], h_formula=settings["h_formula"],
                    h_data_new=settings.get("h_data_new"), h_formula_new=settings.get("h_formula_new"))


def _predict(sm, cases: Sequence[Case], queries: Sequence[int], profiles, shapes) -> dict[str, np.ndarray]:
    P = np.stack([profiles[cases[i].dataset] for i in queries])
    S = np.stack([shapes[cases[i].activation] for i in queries])
    return sm.predict(P, S)


def cross_predict(cases: Sequence[Case], idx: Sequence[int], key: Callable[[Case], str], profiles, shapes,
                  settings: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The smoother's raw predictions for the cases ``idx``, each from the smoother over the other cases
    of ``idx`` outside its group (``key``): leave one group out inside ``idx``."""
    idx = list(idx)
    out: dict[str, np.ndarray] = {}
    groups: dict[str, list[int]] = {}
    for k, i in enumerate(idx):
        groups.setdefault(key(cases[i]), []).append(k)
    for g, ks in groups.items():
        sm = smoother_of(cases, [i for i in idx if key(cases[i]) != g], profiles, shapes, settings)
        for name, v in _predict(sm, cases, [idx[k] for k in ks], profiles, shapes).items():
            out.setdefault(name, np.zeros(len(idx)))[ks] = v
    return out


def _median_balanced(y: np.ndarray, delta: np.ndarray) -> float:
    return scores(y, interval_verdicts(delta, delta))["balanced"]


def select_settings(cases: Sequence[Case], idx: Sequence[int], profiles, shapes,
                    levels: Sequence[float] = (0.8,)) -> dict[str, Any]:
    """The smoother's recipe, using only the cases ``idx``:

    1. bandwidths for a *known* formula (its row measured): the best balanced accuracy of the
       median's verdict under leave-one-dataset-out inside ``idx``; for a *new* formula: the best
       under leave-one-family-out inside ``idx``;
    2. the held-out residuals of those predictions, in units of the local spread, give the
       interval quantiles of every level (``bands``; the reported ``levels`` and every
       :data:`DECISION_LEVELS`);
    3. the decision level: the best mean balanced accuracy (both splits) among the levels that
       decide at least 80% of cases in both.
    """
    from nsad_lib.compat.smoother import SPREAD_FLOOR, intervals, level_key

    idx = list(idx)
    y = clip_delta([cases[i].delta for i in idx])
    st: dict[str, Any] = {}
    preds = {}
    for mode, key in (("known", by_dataset), ("new", by_family)):
        best: tuple | None = None
        for hd in GRID_H_DATA:
            for hf in GRID_H_FORMULA:
                p = cross_predict(cases, idx, key, profiles, shapes, {"h_data": hd, "h_formula": hf})
                score = _median_balanced(y, p["delta"])
                if best is None or score > best[0] + 1e-9:
                    best = (score, hd, hf, p)
        assert best is not None
        suffix = "" if mode == "known" else "_new"
        st[f"h_data{suffix}"], st[f"h_formula{suffix}"] = best[1], best[2]
        st[f"inner_balanced_{mode}"] = best[0]
        preds[mode] = best[3]
    bands: dict[str, dict[str, list[float]]] = {}
    for mode, p in preds.items():
        rows = p["known"] > 0.5 if mode == "known" else p["known"] < 0.5
        if not rows.any():
            rows = np.ones(len(y), dtype=bool)
        r = (y[rows] - p["delta"][rows]) / (p["spread"][rows] + SPREAD_FLOOR)
        bands[mode] = {}
        for lv in sorted({*levels, *DECISION_LEVELS}):
            t = (1 - lv) / 2
            q = [float(np.quantile(r, t)), float(np.quantile(r, 1 - t))]
            bands[mode][level_key(lv)] = [round(v, 4) for v in q]
    st["bands"] = bands
    by_level = {}
    for lv in DECISION_LEVELS:
        got = []
        for p in preds.values():
            band = intervals(p, bands, lv, lv)
            got.append(scores(y, interval_verdicts(band["dlow"], band["dhigh"])))
        by_level[lv] = {"balanced": float(np.mean([g["balanced"] for g in got])),
                        "agreement": float(np.mean([g["agreement"] for g in got])),
                        "coverage": float(min(g["coverage"] for g in got))}
    ok = {lv: s for lv, s in by_level.items() if s["coverage"] >= MIN_COVERAGE} or by_level
    st["decision_level"] = float(max(ok, key=lambda lv: (round(ok[lv]["balanced"], 6),
                                                         round(ok[lv]["agreement"], 6), -lv)))
    return st


def by_dataset_and_family(c: Case) -> str:
    return f"{c.dataset} x {c.family}"


def apart_both(a: Case, b: Case) -> bool:
    """``b`` may train the prediction of ``a`` in the new-formula-on-new-data split: another dataset
    and another family."""
    return a.dataset != b.dataset and a.family != b.family


def held_out_predictions(cases: Sequence[Case], key: Callable[[Case], str], profiles, shapes, *,
                         level: float = 0.8, settings: Mapping[str, Any] | None = None,
                         apart: Callable[[Case, Case], bool] | None = None,
                         progress: Callable[[str], None] = lambda s: None) -> tuple[dict[str, np.ndarray], dict]:
    """Honest held-out predictions of every case: for each group of ``key`` (a dataset, a family), the
    recipe (bandwidths, interval quantiles and decision level chosen by :func:`select_settings`, unless
    ``settings`` fixes them) runs on the *other* groups' cases only, and the smoother over those cases
    predicts the group (``apart(held_out_case, case)``: which cases may train it; default: the other
    groups'). Nothing of a held-out group's cells (their Δ, their datasets' profiles in the
    scale) reaches its predictions. Returns (arrays over all cases: ``delta``, ``low``, ``high``,
    ``dlow``, ``dhigh``, ...; group -> settings used)."""
    from nsad_lib.compat.smoother import intervals

    n = len(cases)
    out: dict[str, np.ndarray] = {}
    chosen: dict[str, dict] = {}
    for g in sorted({key(c) for c in cases}):
        test = [i for i in range(n) if key(cases[i]) == g]
        train = [i for i in range(n) if (apart(cases[test[0]], cases[i]) if apart else key(cases[i]) != g)]
        st = dict(settings) if settings is not None else select_settings(cases, train, profiles, shapes, (level,))
        chosen[g] = st
        sm = smoother_of(cases, train, profiles, shapes, st)
        parts = _predict(sm, cases, test, profiles, shapes)
        for lv in DECISION_LEVELS:  # the verdict at every decision level (the evaluation compares them)
            band = intervals(parts, st["bands"], level, lv)
            parts[f"dlow@{lv}"], parts[f"dhigh@{lv}"] = band["dlow"], band["dhigh"]
        parts.update(intervals(parts, st["bands"], level, st["decision_level"]))
        for name, v in parts.items():
            out.setdefault(name, np.zeros(n))[test] = v
        progress(f"held out {g}: bandwidths {st['h_data']}/{st['h_formula']} (known formula), "
                 f"{st['h_data_new']}/{st['h_formula_new']} (new formula), decision level {st['decision_level']}")
    return out, chosen


# -- the probe: its measured Δ per case, and its combination with the smoother's prior ----------
def probe_setting(text: str) -> tuple[int | str, list[int]]:
    """``"EPOCHS:SEED,SEED,..."`` (e.g. ``15:42,43,44``, ``matched:42,43,44``), the scripts' way of
    naming a probe setting, as (epochs, seeds)."""
    from nsad_lib.training.protocol import probe_epochs_setting

    epochs, _, seed_text = text.partition(":")
    try:
        return probe_epochs_setting(int(epochs) if epochs.isdigit() else epochs), [int(v) for v in seed_text.split(",")]
    except (ValueError, NsadError):
        raise NsadError(f"probe setting {text!r}: use EPOCHS:SEEDS, e.g. 15:42,43,44 or matched:42,43,44") from None


def probe_deltas(records: Iterable[dict], cases: Sequence[Case], seeds: Sequence[int],
                 epochs: int | str, split_seed: int = 42) -> np.ndarray:
    """The probe's Δ (points; formula minus ReLU, both probed with the seed, mean over ``seeds``) of
    every case, from the records of a probe grid (``RunSpec(evaluation="probe")``,
    ``scripts/probe_matrix.py``) whose runs use the training split of ``split_seed`` (as
    ``check(seed=split_seed, probe=True)``); NaN where a probe run of the case is missing or failed.
    ``epochs="matched"``: per dataset, the runs of :func:`~nsad_lib.training.protocol.matched_probe_epochs`."""
    from nsad_lib.training.protocol import probe_epochs_for, train_indices

    wanted: dict[int, int] = {}  # dataset rows -> the probe epochs asked for

    def epochs_for(spec: dict) -> int | str:
        if epochs != "matched":
            return epochs
        rows = int(spec["rows"])
        if rows not in wanted:
            wanted[rows] = probe_epochs_for(epochs, len(train_indices(rows, split_seed)))
        return wanted[rows]

    score: dict[tuple[str, str, int], float] = {}
    for r in records:
        s = r.get("spec", {})
        if r.get("status") != "ok" or s.get("evaluation") != "probe" or s.get("epochs") != epochs_for(s):
            continue
        if (s["seed"] if s.get("split_seed") is None else s["split_seed"]) != split_seed:
            continue
        score[(s["dataset"], s["activation"], int(s["seed"]))] = float(r["result"]["score"])
    out = np.full(len(cases), np.nan)
    for i, c in enumerate(cases):
        pairs = [(score.get((c.dataset, c.activation, s)), score.get((c.dataset, "relu", s))) for s in seeds]
        if all(a is not None and b is not None for a, b in pairs):
            out[i] = 100.0 * float(np.mean([a - b for a, b in pairs]))
    return out


def fit_probe_combination(prior: np.ndarray, probe: np.ndarray, delta: np.ndarray) -> dict[str, Any]:
    """Median (least absolute deviation) regression of the measured Δ on the smoother's prior and the
    probe's Δ, all clipped to ±``CLIP`` points: ``{"intercept", "coef": [prior, probe]}``. ``prior``
    must be honest for each row (a prediction made without the row's dataset)."""
    from nsad_lib.compat.predictor import probe_design

    linear = require("sklearn.linear_model", "check", "fitting the checker model")
    X = probe_design(prior, probe)
    m = linear.QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, clip_delta(delta))
    return {"intercept": round(float(m.intercept_), 5), "coef": [round(float(v), 5) for v in m.coef_]}


def inner_priors(cases: Sequence[Case], idx: Sequence[int], key: Callable[[Case], str], profiles, shapes,
                 settings: Mapping[str, Any]) -> np.ndarray:
    """The smoother's honest predictions of the cases ``idx``, each without its own group (``key``)."""
    return cross_predict(cases, idx, key, profiles, shapes, settings)["delta"]


def _combination_delta(fit: Mapping[str, Any], prior: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """The Δ a fitted combination (:func:`fit_probe_combination`) predicts from ``prior`` and ``probe``."""
    from nsad_lib.compat.predictor import probe_design

    return probe_design(prior, probe, intercept=True) @ np.asarray([fit["intercept"], *fit["coef"]])


def _inner_held_out_residuals(groups: np.ndarray, prior: np.ndarray, probe: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Residuals of the combination on each group, fitted without that group (clipped Δ minus prediction)."""
    out = np.empty(len(y))
    for g in set(groups):
        inner, rest = groups == g, groups != g
        if rest.sum() < 10:
            out[inner] = np.nan
            continue
        fit = fit_probe_combination(prior[rest], probe[rest], y[rest])
        out[inner] = clip_delta(y[inner]) - _combination_delta(fit, prior[inner], probe[inner])
    return out[np.isfinite(out)]


def held_out_probe_combination(cases: Sequence[Case], key: Callable[[Case], str], prior: np.ndarray,
                               probe: np.ndarray, chosen: Mapping[str, Mapping[str, Any]], profiles, shapes,
                               level: float = 0.8) -> dict[str, np.ndarray]:
    """Honest held-out predictions of the probe combination: for each group of ``key`` the combination
    is fitted on the other groups' cases (their priors from :func:`inner_priors` with the fold's own
    settings ``chosen[group]``, so the held-out group reaches none of them) and predicts the group
    from its held-out ``prior`` and its ``probe``. The interval is the quantiles of the fold's
    *held-out* residuals (each of its other groups predicted by a combination fitted without it),
    as the shipped model's interval is: in-sample residuals are too small for a group never seen.
    Cases without a probe are NaN."""
    n = len(cases)
    out = {k: np.full(n, np.nan) for k in ("delta", "low", "high")}
    groups = np.asarray([key(c) for c in cases])
    has = np.isfinite(probe)
    tail = (1.0 - level) / 2
    for g in sorted(set(groups)):
        test = np.flatnonzero((groups == g) & has)
        train = np.flatnonzero((groups != g) & has)
        if not len(test) or len(train) < 10:
            continue
        p_in = inner_priors(cases, train, key, profiles, shapes, chosen[g])
        y_in = np.asarray([cases[i].delta for i in train])
        fit = fit_probe_combination(p_in, probe[train], y_in)
        resid = _inner_held_out_residuals(groups[train], p_in, probe[train], y_in)
        mid = _combination_delta(fit, prior[test], probe[test])
        out["delta"][test] = mid
        out["low"][test] = mid + np.quantile(resid, tail)
        out["high"][test] = mid + np.quantile(resid, 1 - tail)
    return out
