"""The compatibility checker: will this formula transfer to that data, before any training?

>>> import nsad_lib
>>> v = nsad_lib.check("hajbi2026-higgs-fig-v1", "spambase")
>>> v.verdict, v.score          # ('does-not-transfer', 0.0)
>>> for r in v.reasons: print(r)

This module only wires things together: the data come from :mod:`nsad_lib.data.datasets`, the
unlabelled profile from :mod:`nsad_lib.data.profile`, the formula's shape on the target's own
pre-activations from :mod:`nsad_lib.compat.profile_formula`, the rules from :mod:`nsad_lib.compat.verdict`
and the optional probe training from :mod:`nsad_lib.compat.probe`.

Label hygiene: the no-probe verdict reads feature values of the training split only (the
paper's unstratified 80/20 split, which does not depend on labels) and never reads ``y``.
The probe reads labels of the training split only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Union

import numpy as np

from nsad_lib.compat.features import feature_vector
from nsad_lib.compat.marks import domain_marks, transfer_records  # domain_marks: re-exported (`list`)
from nsad_lib.compat.predictor import DEFAULT_MODEL, CheckerModel, Prediction, describe_driver, load_model
from nsad_lib.compat.probe import run_probe
from nsad_lib.compat.profile_formula import pre_activations, profile_formula
from nsad_lib.compat.smoother import formula_shape
from nsad_lib.compat.verdict import Reason, Verdict, score_rules
from nsad_lib.data import datasets, tabular
from nsad_lib.data.profile import profile_data
from nsad_lib.data.types import Dataset
from nsad_lib.errors import DataError, EntryError, NsadError
from nsad_lib.hub.refs import is_hub_ref, resolve_ref
from nsad_lib.nn.activation import SymbolicActivation
from nsad_lib.registry.entry import Entry
from nsad_lib.registry.store import Registry, bundled_path, default_registry
from nsad_lib.training.protocol import (
    PROBE_DEFAULT_EPOCHS,
    PROBE_MAX_ROWS,
    PROBE_SEEDS,
    probe_epochs_for,
    train_indices,
)
from nsad_lib.util.os_errors import not_regular_file

__all__ = ["check", "domain_marks", "load_target", "write_evidence", "evidence_record", "SAMPLE_ROWS"]

#: Rows of the training split profiled (enough for stable shapes, fast on 2 cores).
SAMPLE_ROWS = 5000
#: A text data file with more data rows than this is not read whole by a check without a probe:
#: only the profiled rows are parsed, and the scaler's mean and std come from them.
FULL_READ_MAX_ROWS = 50_000
DataLike = Union[str, Path, Dataset, np.ndarray]

_SOURCE_CACHE: dict[tuple[str, str, int, int], Any] = {}


def _resolve_entry(entry_or_id: Entry | str, registry: Any = None) -> Entry:
    if isinstance(entry_or_id, Entry):
        return entry_or_id

    if is_hub_ref(entry_or_id):
        return resolve_ref(entry_or_id).entry

    reg = registry if isinstance(registry, Registry) else (Registry(registry) if registry else default_registry())
    return reg.resolve(entry_or_id)


def load_target(data: DataLike, target: str | int | None = None, positive: Any = None,
                task: str | None = None) -> Dataset | np.ndarray:
    """A named dataset, a file (``target`` = label column, default the last), a Dataset, or bare features.

    ``positive`` makes a file's multi-class label binary: that value against the rest. ``task``
    (binary, multiclass, regression) overrides the task inferred from a file's target.

    Bare feature arrays are accepted for the no-probe check, which needs no labels.
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, np.ndarray):
        if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] < 1:
            raise DataError(f"feature array must be 2-D (rows x features), got shape {data.shape}")
        if not np.all(np.isfinite(data)):
            raise DataError("feature array has missing or infinite values")
        return data.astype(np.float32)
    if not isinstance(data, (str, Path)) or not str(data).strip():
        raise DataError(f"data must be a dataset name, a file path or a Dataset, got {type(data).__name__}")

    text = str(data)
    path = Path(text).expanduser()
    named = datasets.named(text.lower())
    if named and not path.exists():
        name, sample = named
        if target is not None or positive is not None:
            shown = text[len(datasets.SAMPLE_PREFIX):] if sample else text  # as the user spelled it
            raise DataError(f"dataset {shown!r} has a fixed target ({datasets.info(name).target}); "
                            "--target and --positive apply to files only")
        return datasets.load(name, sample=sample)

    problem = not_regular_file(path)
    if problem == "no such file":
        known = ", ".join(datasets.names())
        raise DataError(f"{text}: no such file, and not a named dataset (known: {known}; sample:NAME for the "
                        "small sample shipped in the package)")
    if problem is not None:
        raise DataError(f"{text}: {problem}")
    try:
        return datasets.load_file(path, target=-1 if target is None else target, positive=positive, task=task)
    except NsadError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{text}: unreadable data file: {exc}") from None


def _features(data: Dataset | np.ndarray) -> tuple[np.ndarray, tuple[str, ...], str]:
    if isinstance(data, Dataset):
        return data.X, data.feature_names, data.name
    return data, tuple(str(j) for j in range(data.shape[1])), "array"


def _sample_rows(n: int, seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, profiled rows): a seeded draw of ``rows`` from the training split of ``n``."""
    train = train_indices(n, seed)
    rng = np.random.default_rng(seed)
    sample = rng.choice(train, size=min(rows, len(train)), replace=False) if len(train) > rows else train
    return train, sample


def _scaled(X_sample: np.ndarray, X_stats: np.ndarray) -> np.ndarray:
    """``X_sample`` standardised with the mean and std of ``X_stats``."""
    Xt = X_stats.astype(np.float64)
    mean, std = Xt.mean(axis=0), Xt.std(axis=0)
    std[std == 0] = 1.0
    return ((X_sample - mean) / std).astype(np.float32)


def _unlabelled_sample(X: np.ndarray, seed: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(training rows, sample rows, scaled sample): features only, training split only."""
    train, sample = _sample_rows(len(X), seed, rows)
    return train, sample, _scaled(X[sample], X[train])


def _sampled_file(data: DataLike, target: str | int | None, positive: Any, seed: int,
                  rows: int, task: str | None = None) -> tuple[Dataset, np.ndarray] | None:
    """A large text data file's profiled rows only: (their Dataset in file order, sample order).

    ``None`` (load the whole file) unless ``data`` is a text table with more than
    ``FULL_READ_MAX_ROWS`` data rows. The rows are exactly those a whole-file check profiles
    (the same seeded draw from the same training split), so the data profile is unchanged.
    """
    if not isinstance(data, (str, Path)) or not str(data).strip():
        return None

    text = str(data)
    path = Path(text).expanduser()
    if text.lower() in datasets.names() and not path.exists():
        return None
    try:
        if not path.is_file() or tabular._kind(path) != "text":
            return None
    except (DataError, OSError):
        return None  # load_target says what is wrong
    n = tabular.count_data_rows(path)
    if n <= FULL_READ_MAX_ROWS:
        return None
    _, sample = _sample_rows(n, seed, rows)
    ds = tabular.load_file_rows(path, -1 if target is None else target, sample, positive=positive, task=task)
    return ds, np.searchsorted(np.sort(sample), sample)


def _source_profile(entry: Entry, formula: Any, seed: int, rows: int):
    """The formula's profile on its source dataset, when that is a named dataset found locally."""
    source = (entry.provenance.get("dataset") or {}) if isinstance(entry.provenance, dict) else {}
    name = str(source.get("name", "")).lower() if isinstance(source, dict) else ""
    if name not in datasets.names():
        return None
    key = (name, entry.formula + repr(sorted(entry.parameters.items())), seed, rows)
    if key not in _SOURCE_CACHE:
        try:
            ds = _load_named_cached(name)
        except NsadError:
            return None
        _, _, scaled = _unlabelled_sample(ds.X, seed, rows)
        _SOURCE_CACHE[key] = profile_formula(formula, pre_activations(scaled, seed), name=entry.id, dataset=name)
    return _SOURCE_CACHE[key]


_NAMED: dict[str, Dataset] = {}


def _load_named_cached(name: str) -> Dataset:

    if name not in _NAMED:
        _NAMED[name] = datasets.load(name)
    return _NAMED[name]


def check(entry_or_id: Entry | str, data: DataLike, *, target: str | int | None = None, probe: bool = False,
          registry: Any = None, sample_rows: int = SAMPLE_ROWS, seed: int = 42, compare_source: bool = True,
          probe_epochs: int | str = PROBE_DEFAULT_EPOCHS, probe_rows: int = PROBE_MAX_ROWS, probe_seeds: tuple[int, ...] = PROBE_SEEDS,
          positive: Any = None, task: str | None = None, model: Any = DEFAULT_MODEL) -> Verdict:
    """Predict whether the entry's formula transfers to ``data``; optionally probe with real training.

    ``data``: a named dataset (``forest``), a file path (``target`` = label column, default the
    last; ``positive`` = the label value counted as the positive class when it has more than two),
    a :class:`~nsad_lib.data.types.Dataset`, or a bare feature array (no probe then).
    ``registry``: a :class:`~nsad_lib.registry.store.Registry` or directories searched before the bundled one.
    ``task``: binary, multiclass or regression, inferred from a file's target when left out; the
    probe compares accuracy (classification) or R² (regression).
    ``model``: the checker v2 model that predicts Δ with an interval and gives the verdict (the
    shipped ``checker-v2``, a path to a model JSON, or a loaded model); ``None``: today's rules
    alone (``rules_verdict`` always holds their verdict).
    """
    start = time.perf_counter()
    entry = _resolve_entry(entry_or_id, registry)
    sampled = None if probe else _sampled_file(data, target, positive, seed, sample_rows, task)
    if sampled is not None:  # a large file: only the profiled rows were read
        part, order = sampled
        names, dataset_name = part.feature_names, part.name
        X_sample = part.X[order]
        scaled = _scaled(X_sample, X_sample)
        sample = order
    else:
        loaded = load_target(data, target, positive, task)
        X, names, dataset_name = _features(loaded)
        if X.shape[0] < 10:
            raise DataError(f"{dataset_name}: only {X.shape[0]} rows; the checker needs at least 10")
        train, sample, scaled = _unlabelled_sample(X, seed, sample_rows)
        X_sample = X[sample]

    formula = entry.formula_object()
    data_profile = profile_data(X_sample, names)
    fp = profile_formula(formula, pre_activations(scaled, seed), name=entry.id, dataset=dataset_name)
    source_fp = _source_profile(entry, formula, seed, sample_rows) if compare_source else None
    source_domain = str(entry.domains.get("source", "unknown"))
    verdict, score, reasons = score_rules(data_profile, fp, source_domain, source_fp)
    rules_verdict = verdict
    prediction = None
    fitted = model if isinstance(model, CheckerModel) else (load_model(model) if model is not None else None)
    if fitted is not None:
        prediction = fitted.predict(feature_vector(data_profile, fp), entry_id=entry.id, formula=str(formula.expr),
                                    shape=formula_shape(formula))
        verdict = prediction.verdict
        reasons = prediction_reasons(prediction, rules_verdict, entry.id) + reasons
    probe_result = with_probe = None
    if probe:
        if not isinstance(loaded, Dataset):
            raise DataError("--probe needs labels: pass a dataset name or a file with a target column")

        def make_act() -> Any:
            return SymbolicActivation(formula, trainable=entry.trainable, name=entry.id)

        epochs = probe_epochs_for(probe_epochs, len(train), probe_rows)
        probe_result = run_probe(loaded.X, loaded.y, train, make_act, seeds=probe_seeds, epochs=epochs,
                                 max_rows=probe_rows, task=loaded.task, n_classes=loaded.n_classes)
        what = "R²" if probe_result.metric == "r2" else "accuracy"
        agrees = (probe_result.verdict == "transfers") == (verdict == "transfers")
        combination = fitted.probe if fitted is not None else None  # a fitted model always predicted above
        if combination is not None and combination.applies(probe_epochs, len(probe_seeds), probe_rows):
            with_probe = fitted.with_probe(prediction, 100 * probe_result.delta)
            verdict = with_probe.verdict
            reasons = (Reason("with probe", verdict == "transfers", 0.0,
                              f"PREDICTED from the no-training prediction ({prediction.delta:+.1f}) and the probe "
                              f"({100 * probe_result.delta:+.1f}) by {with_probe.model}: Δ {with_probe.delta:+.1f} "
                              f"points, {100 * with_probe.level:.0f}% interval [{with_probe.low:+.1f}, "
                              f"{with_probe.high:+.1f}]: {verdict}"),) + reasons
        elif combination is not None:
            reasons = reasons + (Reason("with probe", True, 0.0,
                                        f"the probe is not combined with the prediction: {fitted.name} reads a probe "
                                        f"of {combination.describe_epochs()}, {combination.seeds} seed(s), "
                                        f"{combination.rows:,} rows (the defaults)"),)
        no_training = prediction.verdict if prediction is not None else rules_verdict
        reasons = reasons + (Reason("probe", probe_result.verdict == "transfers", 0.0,
                                    f"probe training ({probe_result.epochs} epochs x {len(probe_result.seeds)} "
                                    f"seed(s), {probe_result.train_rows:,} training-split rows): Light+formula {what} "
                                    f"{probe_result.accuracy:.3f} vs Light ReLU {probe_result.baseline_relu:.3f} "
                                    f"({100 * probe_result.delta:+.1f} points): {probe_result.verdict}"
                                    + ("" if no_training == "uncertain" else
                                       ("; agrees with the no-training prediction" if agrees
                                        else "; disagrees with the no-training prediction"))),)
    return Verdict(entry_id=entry.id, formula=entry.formula, dataset=dataset_name, domain=data_profile.domain,
                   domain_confidence=data_profile.confidence, verdict=verdict, score=score, reasons=reasons,
                   data_profile=data_profile, formula_profile=fp, source_profile=source_fp,
                   source_domain=source_domain, probe=probe_result, rows_profiled=len(sample),
                   seconds=time.perf_counter() - start, rules_verdict=rules_verdict, prediction=prediction,
                   with_probe=with_probe)


def prediction_reasons(p: Prediction, rules_verdict: str, entry_id: str = "") -> tuple[Reason, ...]:
    """The model's prediction, its drivers and the nearest suite datasets, as reasons (weight 0:
    the rules' score is unchanged; the verdict is the model's). A suite formula of the same shape
    (equal up to shift, scale and sign) but another id is named, not called "this formula"."""
    ok = p.verdict == "transfers"
    out = [Reason("prediction", ok, 0.0,
                  f"PREDICTED (not measured) by {p.model}: Δ {p.delta:+.1f} points against Light ReLU, "
                  f"{100 * p.level:.0f}% interval [{p.low:+.1f}, {p.high:+.1f}]: {p.verdict}"
                  + ("" if p.verdict != "uncertain" else " (the interval straddles -1 point; run --probe)")
                  + f"; today's rules alone say {rules_verdict}")]
    for name, value, typical, effect in p.drivers:
        out.append(Reason("driver", effect >= 0, 0.0, describe_driver(name, value, typical, effect)))
    if p.nearest:
        parts = []
        for row in p.nearest:
            measured = row.get("measured", {})
            if row.get("similar_formulas"):
                what = ", ".join(f"{k} {v:+.1f}" for k, v in measured.items()) or "no measurement"
                parts.append(f"{row['dataset']} (similar formulas: {what})")
            else:
                label, value = next(iter(measured.items()))
                who = "this formula" if not entry_id or label == entry_id else f"same shape as {label}"
                parts.append(f"{row['dataset']} ({who}: {value:+.1f})")
        out.append(Reason("nearest", True, 0.0, "nearest suite datasets by profile (measured Δ, points): "
                          + "; ".join(parts)))
    return tuple(out)


# -- evidence ------------------------------------------------------------------------------
def evidence_record(verdict: Verdict) -> dict[str, Any]:
    """The ``domains.transfers`` record for a verdict: measured when probed, else a prediction."""
    base: dict[str, Any] = {"dataset": verdict.dataset, "domain": verdict.domain}
    prediction = {"verdict": verdict.verdict, "score": verdict.score,
                  "domain_confidence": verdict.domain_confidence}
    if verdict.prediction is not None:
        p = verdict.prediction
        prediction.update(model=p.model, delta=round(p.delta, 3), low=round(p.low, 3), high=round(p.high, 3),
                          rules_verdict=verdict.rules_verdict)
    if verdict.probe is not None:
        p = verdict.probe
        return {**base, "verdict": "transfers" if p.verdict == "transfers" else "fails",
                "evidence": {"kind": "probe", "accuracy": p.accuracy, "baseline_relu": p.baseline_relu,
                             "delta": p.delta, "seeds": len(p.seeds), "epochs": p.epochs,
                             "train_rows": p.train_rows, "val_rows": p.val_rows, "prediction": prediction,
                             **({"metric": p.metric, "task": p.task} if p.task != "binary" else {})}}
    return {**base, "verdict": verdict.verdict, "evidence": {"kind": "prediction", **prediction}}


def write_evidence(verdict: Verdict, registry_dir: str | Path, *, registry: Any = None,
                   command: str | None = None) -> Entry:
    """Record the verdict as a *new version* of its entry in the user registry ``registry_dir``.

    Existing entries are immutable (bundled or not): the new ``name-v(N+1)`` has the same
    formula and parameters, the parent's transfers plus this record, and provenance naming the
    parent id. Returns the new entry (already written atomically).
    """
    target = Path(registry_dir).expanduser()
    if target.resolve() == bundled_path().resolve():
        raise EntryError(f"{target} is the bundled registry, which is read-only; pass a user registry directory")
    reg = Registry([target, *(registry.directories if registry is not None and hasattr(registry, "directories") else [])])
    parent = reg.resolve(verdict.entry_id)

    # the parent's records, those the bundled evidence file holds for it included, plus this one
    transfers = transfer_records(parent) + [evidence_record(verdict)]
    provenance = {k: v for k, v in parent.provenance.items() if k not in ("created", "nsad_lib_version")}
    provenance["parent"] = parent.id
    if command:
        provenance["command"] = command
    new = Entry.create(parent.name, reg.next_version(parent.name), parent.formula, parameters=parent.parameters,
                       trainable=parent.trainable, summary=parent.summary,
                       domains={**parent.domains, "transfers": transfers}, provenance=provenance,
                       metrics=parent.metrics)
    reg.add(new, target)
    return new
