"""The paper's protocol: Heavy and Light networks, the 80/20 split, training, and metrics.

Facts from the paper's public code (ana55e/NeuroSymbolic_Activation): an unstratified
``train_test_split(test_size=0.2, random_state=seed)``, a StandardScaler fit on the training
part, sigmoid output with BCE, Adam(lr=1e-3), batch 1024 shuffled each epoch, 15 epochs,
accuracy at 0.5, ROC-AUC, and ``E_param = AUC / log10(params)``. Differences on our side, all
for determinism or honesty: batches are drawn from a generator seeded with the run's seed, each
activation position gets its own module instance, and rows used for discovery can be kept out
of the test split (``exclude_rows``).

Beyond the paper's binary tasks the same harness trains the other two tasks a
:class:`~nsad_lib.data.types.Dataset` can carry (``dataset.task``), with the same Heavy/Light
shapes and only the output layer changed:

- ``multiclass`` (K classes): last layer Linear(., K) giving logits, softmax + cross-entropy;
  metrics: accuracy (argmax) and macro one-vs-rest ROC-AUC (``auc``, also ``macro_auc``).
- ``regression``: last layer Linear(., 1) without sigmoid, MSE on targets standardised with the
  mean and std of the *training* split; metrics: RMSE in the target's own units and R² on the test
  split (``accuracy`` and ``auc`` are NaN).

``RunResult.score`` is the one number to rank by: accuracy for classification, R² for regression.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal, Sequence, Union

import numpy as np
import torch
from torch import nn

from nsad_lib.data.types import Dataset
from nsad_lib.errors import NsadError
from nsad_lib.registry.factory import BUILTIN_ACTIVATIONS, ActivationFactory, get_act_layer
from nsad_lib.util.optional import require

ModelKind = Literal["heavy", "light"]

__all__ = [
    "ActivationFactory", "FitResult", "RunResult", "BUILTIN_ACTIVATIONS", "activation_factory",
    "heavy_model", "light_model", "count_params", "param_counts", "e_param", "split_indices", "macro_auc",
    "discovery_rows", "paper_discovery_rows", "held_out_rows", "train_indices", "fit_model", "fit_light", "train_and_evaluate",
    "probe_split", "probe_and_evaluate", "matched_probe_epochs", "probe_epochs_setting", "probe_epochs_for", "MATCHED", "PROBE_DEFAULT_EPOCHS", "PROBE_EPOCHS", "PROBE_SEEDS", "PROBE_MAX_ROWS", "PROBE_VAL_FRACTION",
]

#: The paper's seeds are 42, 43, 44 (reproduce's default); discovery reads 10% of rows drawn with seed 42.
DISCOVERY_SEED = 42
DISCOVERY_FRACTION = 0.1


def activation_factory(spec: Union[str, ActivationFactory]) -> ActivationFactory:
    """A factory of fresh activation modules for ``spec``: :func:`nsad_lib.get_act_layer`.

    ``spec`` is a torch builtin name (``relu``, ``gelu``, ``silu``, ``tanh``), a registry id or
    name, ``hf://OWNER/REPO/ID[@REVISION]``, optionally suffixed ``:trainable`` or ``:fixed``, or
    already a callable. Unknown ids fail here, before any training.
    """
    factory = get_act_layer(spec)
    if factory is None:
        raise NsadError("an activation spec is required (a name, an id or a callable)")
    return factory


TASKS = ("binary", "multiclass", "regression")


def _head(width: int, task: str, n_classes: int | None) -> list[nn.Module]:
    """The output layer: Linear(width, 1) + Sigmoid (binary), Linear(width, K) logits
    (multiclass, softmax lives in the loss), Linear(width, 1) (regression)."""
    if task == "binary":
        return [nn.Linear(width, 1), nn.Sigmoid()]
    if task == "multiclass":
        if n_classes is None or n_classes < 3:
            raise NsadError(f"a multiclass network needs n_classes >= 3, got {n_classes!r}")
        return [nn.Linear(width, int(n_classes))]
    if task == "regression":
        return [nn.Linear(width, 1)]
    raise NsadError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def heavy_model(d: int, task: str = "binary", n_classes: int | None = None) -> nn.Sequential:
    """The paper's Heavy baseline: d-200-100-1 with BatchNorm, ReLU, Dropout(0.3), sigmoid out
    (``task="multiclass"``: d-200-100-K logits; ``"regression"``: d-200-100-1, no sigmoid)."""
    return nn.Sequential(
        nn.Linear(d, 200), nn.BatchNorm1d(200), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(200, 100), nn.BatchNorm1d(100), nn.ReLU(), nn.Dropout(0.3),
        *_head(100, task, n_classes),
    )


def light_model(d: int, act_factory: ActivationFactory, task: str = "binary",
                n_classes: int | None = None) -> nn.Sequential:
    """The paper's Light network: d-64-32-1, the activation under test at both hidden layers
    (output width K for ``task="multiclass"``, no sigmoid for multiclass and regression)."""
    return nn.Sequential(
        nn.Linear(d, 64), nn.BatchNorm1d(64), act_factory(), nn.Dropout(0.3),
        nn.Linear(64, 32), nn.BatchNorm1d(32), act_factory(), nn.Dropout(0.3),
        *_head(32, task, n_classes),
    )


def count_params(model: nn.Module) -> int:
    """Every parameter, the activation's own trainable constants included."""
    return sum(p.numel() for p in model.parameters())


def param_counts(d: int, task: str = "binary", n_classes: int | None = None) -> tuple[int, int]:
    """(Heavy, Light with ReLU) parameter counts for ``d`` features: 26,601 / 4,161 for d=28
    (binary); a K-class head adds ``(K - 1) * 101`` (Heavy) and ``(K - 1) * 33`` (Light)."""
    return (count_params(heavy_model(d, task, n_classes)),
            count_params(light_model(d, nn.ReLU, task, n_classes)))


def e_param(auc: float, params: int) -> float:
    """The paper's efficiency score: AUC / log10(parameter count)."""
    return auc / math.log10(params)


def split_indices(n: int, seed: int, test_size: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices exactly as the paper's ``train_test_split(random_state=seed)``."""
    train_test_split = require("sklearn.model_selection", "paper", "the training protocol").train_test_split

    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.asarray(train), np.asarray(test)


def train_indices(n: int, seed: int, test_size: float = 0.2) -> np.ndarray:
    """The training part of the split for ``seed`` (what discovery may look at for that seed)."""
    return split_indices(n, seed, test_size)[0]


def discovery_rows(n: int, seed: int = DISCOVERY_SEED, fraction: float = DISCOVERY_FRACTION) -> np.ndarray:
    """The paper's discovery subsample: ``int(fraction * n)`` rows drawn without replacement
    after ``np.random.seed(seed)`` (same draw, without touching numpy's global state)."""
    return np.random.RandomState(seed).choice(n, int(fraction * n), replace=False)


# Rows in the arrays the paper's discovery sampled from, where we know their order: HIGGS was
# the first 100,000 UCI rows; Spambase the full file (OpenML's copy, assumed in UCI order).
# The paper's Forest sample was drawn without a seed, so its discovery rows are unknowable.
PAPER_ARRAY_ROWS = {"higgs": 100_000, "spambase": 4_601}


def paper_discovery_rows(dataset: Dataset) -> np.ndarray:
    """Rows of ``dataset`` that the paper's own discovery drew, where they can be identified.

    Only rows inside ``dataset.meta.original_prefix`` (rows that are the original file's first
    rows, in order) can be matched to the paper's row numbers.
    """
    paper_n = PAPER_ARRAY_ROWS.get(dataset.name, 0)
    known = min(paper_n, dataset.meta.original_prefix)
    if known <= 0:
        return np.empty(0, dtype=np.int64)
    drawn = discovery_rows(paper_n)
    return np.sort(drawn[drawn < known]).astype(np.int64)


def held_out_rows(dataset: Dataset) -> np.ndarray:
    """Rows kept out of every test split: the paper's rule on our rows (what nsad-lib's own
    discovery samples) plus the rows the paper's discovery drew, where identifiable."""
    return np.union1d(discovery_rows(dataset.n_rows), paper_discovery_rows(dataset)).astype(np.int64)


@dataclass(frozen=True)
class FitResult:
    """Test (or validation) metrics of one training; see the module docstring per task."""

    accuracy: float
    auc: float
    params: int
    seconds: float
    epochs: int
    non_finite_outputs: int = 0
    cpu_seconds: float = 0.0
    task: str = "binary"
    rmse: float | None = None
    r2: float | None = None

    @property
    def e_param(self) -> float:
        return e_param(self.auc, self.params)

    @property
    def score(self) -> float:
        """Accuracy for classification, R² for regression."""
        return float(self.r2) if self.task == "regression" and self.r2 is not None else self.accuracy


def _scale(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    StandardScaler = require("sklearn.preprocessing", "paper", "the training protocol").StandardScaler

    scaler = StandardScaler().fit(X_train.astype(np.float64))
    return [scaler.transform(a.astype(np.float64)).astype(np.float32) for a in (X_train, *others)]


def macro_auc(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Macro one-vs-rest ROC-AUC: the mean over classes of AUC(class k against the rest, p_k).

    Equal to sklearn's ``roc_auc_score(y, probs, multi_class="ovr", average="macro")`` when every
    class occurs in ``y_true``; a class absent from ``y_true`` (a small test split) is left out of
    the mean instead of failing. NaN when no class has both positives and negatives.
    """
    roc_auc_score = require("sklearn.metrics", "paper", "the training protocol").roc_auc_score

    y_true = np.asarray(y_true)
    aucs = []
    for k in range(probs.shape[1]):
        hit = y_true == k
        if hit.any() and not hit.all():
            aucs.append(roc_auc_score(hit.astype(np.int64), probs[:, k]))
    return float(np.mean(aucs)) if aucs else float("nan")


def _multiclass_metrics(y_true: np.ndarray, logits: np.ndarray) -> tuple[float, float, int]:
    """(accuracy, macro-AUC, rows with non-finite outputs); such rows score as uniform."""
    bad_rows = ~np.isfinite(logits).all(axis=1)
    z = np.where(bad_rows[:, None], 0.0, logits.astype(np.float64))
    z = z - z.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    accuracy = float(np.mean(probs.argmax(axis=1) == y_true))
    return accuracy, macro_auc(y_true, probs), int(bad_rows.sum())


def _regression_metrics(y_true: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(RMSE, R²) in the target's units (R² is NaN for a constant ``y_true``)."""
    resid = y_true - pred
    rmse = float(np.sqrt(np.mean(resid ** 2)))
    sst = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / sst if sst > 0 else float("nan")
    return rmse, r2


def _metrics(y_true: np.ndarray, probs: np.ndarray) -> tuple[float, float, int]:
    roc_auc_score = require("sklearn.metrics", "paper", "the training protocol").roc_auc_score

    bad = int((~np.isfinite(probs)).sum())
    probs = np.nan_to_num(probs, nan=0.5, posinf=1.0, neginf=0.0)
    accuracy = float(np.mean((probs > 0.5).astype(np.int64) == y_true))
    auc = float(roc_auc_score(y_true, probs)) if len(np.unique(y_true)) == 2 else float("nan")
    return accuracy, auc, bad


def fit_model(model: nn.Module, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
              y_test: np.ndarray, seed: int, epochs: int = 15, batch_size: int = 1024,
              lr: float = 1e-3, task: str = "binary") -> FitResult:
    """Train ``model`` with Adam on already-scaled arrays, then evaluate on the test arrays.

    ``task="binary"`` (the paper's): sigmoid output, BCE. ``"multiclass"``: logits, softmax +
    cross-entropy on codes 0..K-1. ``"regression"``: one linear output, MSE on ``y`` standardised
    with the mean and std of ``y_train``; predictions are mapped back to ``y``'s units.

    Batches come from a generator seeded with ``seed``; a trailing batch of one row is skipped
    because BatchNorm cannot train on it. NaN outputs of an unstable activation are scored as
    0.5 / uniform probabilities / the training mean (counted in ``non_finite_outputs``) instead
    of crashing the loss.
    """
    if task not in TASKS:
        raise NsadError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    start, cpu_start = time.perf_counter(), time.process_time()
    Xt = torch.as_tensor(X_train, dtype=torch.float32)
    y_mean, y_std = 0.0, 1.0
    if task == "binary":
        yt = torch.as_tensor(y_train, dtype=torch.float32).reshape(-1, 1)
        loss_fn: nn.Module = nn.BCELoss()
        fill = 0.5
    elif task == "multiclass":
        yt = torch.as_tensor(np.asarray(y_train, dtype=np.int64))
        loss_fn = nn.CrossEntropyLoss()
        fill = 0.0
    else:
        y64 = np.asarray(y_train, dtype=np.float64)
        y_mean, y_std = float(y64.mean()), float(y64.std())
        if not y_std > 0:
            y_std = 1.0
        yt = torch.as_tensor((y64 - y_mean) / y_std, dtype=torch.float32).reshape(-1, 1)
        loss_fn = nn.MSELoss()
        fill = 0.0
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(Xt)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, batch_size):
            idx = order[begin:begin + batch_size]
            if len(idx) < 2:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(torch.nan_to_num(model(Xt[idx]), nan=fill), yt[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        out = model(torch.as_tensor(X_test, dtype=torch.float32)).numpy()
    y_test = np.asarray(y_test)
    params = count_params(model)
    rmse = r2 = None
    if task == "binary":
        accuracy, auc, bad = _metrics(y_test, out.reshape(-1))
    elif task == "multiclass":
        accuracy, auc, bad = _multiclass_metrics(y_test, out)
    else:
        z = out.reshape(-1).astype(np.float64)
        bad = int((~np.isfinite(z)).sum())
        pred = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0) * y_std + y_mean
        rmse, r2 = _regression_metrics(y_test.astype(np.float64), pred)
        accuracy = auc = float("nan")
    return FitResult(accuracy, auc, params, time.perf_counter() - start, epochs, bad,
                     time.process_time() - cpu_start, task, rmse, r2)


def fit_light(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
              act: Union[str, ActivationFactory], epochs: int = 15, seed: int = DISCOVERY_SEED,
              batch_size: int = 1024, lr: float = 1e-3, scale: bool = True, task: str = "binary",
              n_classes: int | None = None) -> FitResult:
    """Short Light-network training for screening activations (discovery's validation step).

    Scales with a StandardScaler fit on ``X_train`` unless ``scale=False``. ``task`` and
    ``n_classes`` as in :func:`light_model` (regression targets are standardised on ``y_train``).
    """
    factory = activation_factory(act)
    if scale:
        X_train, X_val = _scale(X_train, X_val)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = light_model(X_train.shape[1], factory, task, n_classes)
        return fit_model(model, X_train, y_train, X_val, y_val, seed, epochs, batch_size, lr, task)


@dataclass(frozen=True)
class RunResult:
    """One row of the reproduction: a model, an activation, a seed, and its test metrics.

    Per task (``task``): ``accuracy`` is the test accuracy (classification; NaN for regression);
    ``auc`` is ROC-AUC (binary), macro one-vs-rest ROC-AUC (multiclass, also in ``macro_auc``)
    or NaN (regression); ``rmse`` (target units) and ``r2`` are set for regression only (None
    otherwise); ``score`` is accuracy for classification and R² for regression. ``e_param`` is
    the paper's AUC / log10(params) (NaN for regression). ``n_classes``: 2, K, or None.
    """

    dataset: str
    model: str
    activation: str
    seed: int
    accuracy: float
    auc: float
    params: int
    e_param: float
    seconds: float
    epochs: int
    n_train: int
    n_test: int
    non_finite_outputs: int = 0
    cpu_seconds: float = 0.0  # process CPU time: what the run costs on an otherwise idle core
    task: str = "binary"
    score: float = float("nan")  # accuracy (classification) or R² (regression)
    rmse: float | None = None
    r2: float | None = None
    macro_auc: float | None = None
    n_classes: int | None = 2

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


#: The probe's defaults (``nsad-lib check --probe``): the protocol's own training (15 epochs' worth
#: of Adam steps, seeds 42-44) on a sample of the training split, scored on a validation part
#: carved out of that sample, because the outcome the checker predicts is the protocol's: on the
#: suite a 5-epoch, one-seed probe agreed with it on 79% of the cases, 15 epochs x 3 seeds on 92%,
#: and the same number of optimizer steps as the protocol (``"matched"``) on 94%, with half the
#: error in Δ (docs/compatibility.md).
PROBE_EPOCHS = 15
PROBE_SEEDS = (42, 43, 44)
PROBE_MAX_ROWS = 20_000
PROBE_VAL_FRACTION = 0.25
#: ``probe_epochs`` meaning "as many optimizer steps as the protocol" (:func:`matched_probe_epochs`).
MATCHED = "matched"
#: ``check(probe_epochs=...)``'s default.
PROBE_DEFAULT_EPOCHS: int | str = MATCHED


def matched_probe_epochs(n_train: int, epochs: int = PROBE_EPOCHS, max_rows: int = PROBE_MAX_ROWS,
                         val_fraction: float = PROBE_VAL_FRACTION, batch_size: int = 1024) -> int:
    """Probe epochs that give the probe as many optimizer steps as ``epochs`` of the protocol's
    training on all ``n_train`` rows (batch ``batch_size``), never fewer than ``epochs``.

    The probe fits on at most ``max_rows`` minus its validation part, so at equal epochs it takes
    fewer Adam steps than the run it stands for (forest: 15 batches an epoch against 79), and
    a formula that learns late is judged under-trained. Matched, the probe trains as long as
    the protocol would on a 20,000-row sample (forest: 79 epochs)."""
    used = min(int(n_train), int(max_rows))
    n_fit = max(1, used - max(1, int(used * val_fraction)))
    steps = epochs * math.ceil(n_train / batch_size)
    return max(int(epochs), math.ceil(steps / math.ceil(n_fit / batch_size)))


def probe_epochs_setting(epochs: Any) -> int | str:
    """``epochs`` if it names a probe length (a positive whole number, or ``"matched"``), else NsadError."""
    if epochs == MATCHED:
        return MATCHED
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise NsadError(f"probe epochs {epochs!r}: use a positive whole number or {MATCHED!r}")
    return epochs


def probe_epochs_for(epochs: int | str, n_train: int, max_rows: int = PROBE_MAX_ROWS,
                     val_fraction: float = PROBE_VAL_FRACTION) -> int:
    """The probe's epochs for a training split of ``n_train`` rows: ``epochs`` itself, or for
    ``"matched"`` :func:`matched_probe_epochs` (``PROBE_EPOCHS`` of the protocol)."""
    if probe_epochs_setting(epochs) == MATCHED:
        return matched_probe_epochs(n_train, PROBE_EPOCHS, max_rows, val_fraction)
    return int(epochs)


def probe_split(train_rows: Sequence[int] | np.ndarray, seed: int, max_rows: int = PROBE_MAX_ROWS,
                val_fraction: float = PROBE_VAL_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) of the probe for ``seed``: a seeded permutation of the training
    split, cut to ``max_rows``, its first ``val_fraction`` kept for validation. The test split is
    not among them, so a probe never reads a test label."""
    rows = np.random.default_rng(seed).permutation(np.asarray(train_rows))[:max_rows]
    n_val = max(1, int(len(rows) * val_fraction))
    return rows[n_val:], rows[:n_val]


def probe_and_evaluate(dataset: Dataset, activation: Union[str, ActivationFactory], seed: int,
                       epochs: int = PROBE_EPOCHS, max_rows: int = PROBE_MAX_ROWS,
                       val_fraction: float = PROBE_VAL_FRACTION, split_seed: int | None = None) -> RunResult:
    """One probe run of Light+``activation`` (what ``check --probe`` trains for one seed):
    :func:`probe_split` of the paper's training split for ``seed``, :func:`fit_light`, scored on
    the probe's validation rows (``n_test`` counts them). A stored probe of ReLU with the same
    seed is the probe's baseline, so a grid of probes gives the probe's Δ for every cell.
    ``split_seed``: whose training split (default ``seed``); ``check(seed=S, probe_seeds=...)``
    probes every seed on the training split of ``S``."""
    train = train_indices(dataset.n_rows, seed if split_seed is None else split_seed)
    fit_rows, val_rows = probe_split(train, seed, max_rows, val_fraction)
    task = getattr(dataset, "task", "binary")
    label = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
    fit = fit_light(dataset.X[fit_rows], dataset.y[fit_rows], dataset.X[val_rows], dataset.y[val_rows],
                    activation, epochs=epochs, seed=seed, task=task, n_classes=dataset.n_classes)
    return RunResult(dataset.name, "light", label, seed, fit.accuracy, fit.auc, fit.params, fit.e_param,
                     fit.seconds, epochs, len(fit_rows), len(val_rows), fit.non_finite_outputs, fit.cpu_seconds,
                     task, fit.score, fit.rmse, fit.r2, fit.auc if task == "multiclass" else None,
                     dataset.n_classes)


def train_and_evaluate(dataset: Dataset, model_kind: ModelKind, activation: Union[str, ActivationFactory],
                       seed: int, epochs: int = 15, batch_size: int = 1024, lr: float = 1e-3,
                       exclude_rows: Sequence[int] | np.ndarray | None = None) -> RunResult:
    """One run of the paper's protocol on ``dataset`` for ``seed``.

    ``exclude_rows`` (e.g. :func:`discovery_rows`) are dropped from the *test* split only, so
    the training part stays the paper's and no row a formula was discovered on is scored. The task (binary, multiclass,
    regression) and the output width come from ``dataset.task`` / ``dataset.n_classes``.
    """
    if model_kind not in ("heavy", "light"):
        raise NsadError(f"model kind {model_kind!r}: use 'heavy' or 'light'")
    label = activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
    if model_kind == "heavy" and label.lower() != "relu":
        raise NsadError("the Heavy network is the paper's ReLU baseline; use activation 'relu'")
    factory = activation_factory(activation)
    train, test = split_indices(dataset.n_rows, seed)
    if exclude_rows is not None and len(exclude_rows):
        test = test[~np.isin(test, np.asarray(exclude_rows))]
    X_train, X_test = _scale(dataset.X[train], dataset.X[test])
    d = dataset.n_features
    task = getattr(dataset, "task", "binary")
    n_classes = dataset.n_classes
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = (heavy_model(d, task, n_classes) if model_kind == "heavy"
                 else light_model(d, factory, task, n_classes))
        fit = fit_model(model, X_train, dataset.y[train], X_test, dataset.y[test], seed, epochs,
                        batch_size, lr, task)
    return RunResult(dataset.name, model_kind, label, seed, fit.accuracy, fit.auc, fit.params,
                     fit.e_param, fit.seconds, epochs, len(train), len(test), fit.non_finite_outputs,
                     fit.cpu_seconds, task, fit.score, fit.rmse, fit.r2,
                     fit.auc if task == "multiclass" else None, n_classes)
