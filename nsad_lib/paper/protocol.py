"""The paper's protocol: Heavy and Light networks, the 80/20 split, training, and metrics.

Facts from the paper's public code (ana55e/NeuroSymbolic_Activation): an unstratified
``train_test_split(test_size=0.2, random_state=seed)``, a StandardScaler fit on the training
part, sigmoid output with BCE, Adam(lr=1e-3), batch 1024 shuffled each epoch, 15 epochs,
accuracy at 0.5, ROC-AUC, and ``E_param = AUC / log10(params)``. Differences on our side, all
for determinism or honesty: batches are drawn from a generator seeded with the run's seed, each
activation position gets its own module instance, and rows used for discovery can be kept out
of the test split (``exclude_rows``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Literal, Sequence, Union

import numpy as np
import torch
from torch import nn

from nsad_lib.data.types import Dataset
from nsad_lib.errors import NsadError

__all__ = [
    "ActivationFactory", "FitResult", "RunResult", "BUILTIN_ACTIVATIONS", "activation_factory",
    "heavy_model", "light_model", "count_params", "param_counts", "e_param", "split_indices",
    "discovery_rows", "paper_discovery_rows", "held_out_rows", "train_indices", "fit_model", "fit_light", "train_and_evaluate",
]

ActivationFactory = Callable[[], nn.Module]
ModelKind = Literal["heavy", "light"]

BUILTIN_ACTIVATIONS: dict[str, ActivationFactory] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}
VARIANTS = {"": None, "trainable": True, "fixed": False}

PAPER_SEEDS = (42, 43, 44)
DISCOVERY_SEED = 42
DISCOVERY_FRACTION = 0.1


def activation_factory(spec: Union[str, ActivationFactory]) -> ActivationFactory:
    """A zero-argument callable returning a *fresh* activation module for each position.

    ``spec`` is a torch builtin name (``relu``, ``gelu``, ``silu``, ``tanh``), a registry id or
    name (``hajbi2026-higgs-fig-v1``) or ``hf://OWNER/REPO/ID[@REVISION]``, optionally suffixed ``:trainable`` or ``:fixed`` to choose
    whether the formula's constants train, or already a callable. Unknown ids fail here, before
    any training.
    """
    if callable(spec):
        return spec
    from nsad_lib.hub.refs import is_hub_ref, pin, split_variant

    name, variant = split_variant(spec)
    if name.lower() in BUILTIN_ACTIVATIONS and not variant:
        return BUILTIN_ACTIVATIONS[name.lower()]
    if variant not in VARIANTS:
        raise NsadError(f"activation {spec!r}: unknown variant {variant!r}; use :trainable or :fixed")
    trainable = VARIANTS[variant]
    import nsad_lib

    get = getattr(nsad_lib, "get", None)
    if get is None:
        raise NsadError(f"activation {spec!r}: the registry is not available in this build; "
                        f"use one of {', '.join(BUILTIN_ACTIVATIONS)}")
    if is_hub_ref(name):  # pull and verify once; every module built later comes from that commit's copy
        name = pin(name)
    get(name, trainable=trainable)  # fail now on unknown ids (UnknownEntryError)

    def make() -> nn.Module:
        return get(name, trainable=trainable)

    make.__name__ = f"activation_{name}"
    return make


def heavy_model(d: int) -> nn.Sequential:
    """The paper's Heavy baseline: d-200-100-1 with BatchNorm, ReLU, Dropout(0.3), sigmoid out."""
    return nn.Sequential(
        nn.Linear(d, 200), nn.BatchNorm1d(200), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(200, 100), nn.BatchNorm1d(100), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(100, 1), nn.Sigmoid(),
    )


def light_model(d: int, act_factory: ActivationFactory) -> nn.Sequential:
    """The paper's Light network: d-64-32-1, the activation under test at both hidden layers."""
    return nn.Sequential(
        nn.Linear(d, 64), nn.BatchNorm1d(64), act_factory(), nn.Dropout(0.3),
        nn.Linear(64, 32), nn.BatchNorm1d(32), act_factory(), nn.Dropout(0.3),
        nn.Linear(32, 1), nn.Sigmoid(),
    )


def count_params(model: nn.Module) -> int:
    """Every parameter, the activation's own trainable constants included."""
    return sum(p.numel() for p in model.parameters())


def param_counts(d: int) -> tuple[int, int]:
    """(Heavy, Light with ReLU) parameter counts for ``d`` features: 26,601 / 4,161 for d=28."""
    return count_params(heavy_model(d)), count_params(light_model(d, nn.ReLU))


def e_param(auc: float, params: int) -> float:
    """The paper's efficiency score: AUC / log10(parameter count)."""
    return auc / math.log10(params)


def split_indices(n: int, seed: int, test_size: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices exactly as the paper's ``train_test_split(random_state=seed)``."""
    from sklearn.model_selection import train_test_split

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
    accuracy: float
    auc: float
    params: int
    seconds: float
    epochs: int
    non_finite_outputs: int = 0
    cpu_seconds: float = 0.0

    @property
    def e_param(self) -> float:
        return e_param(self.auc, self.params)


def _scale(X_train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X_train.astype(np.float64))
    return [scaler.transform(a.astype(np.float64)).astype(np.float32) for a in (X_train, *others)]


def _metrics(y_true: np.ndarray, probs: np.ndarray) -> tuple[float, float, int]:
    from sklearn.metrics import roc_auc_score

    bad = int((~np.isfinite(probs)).sum())
    probs = np.nan_to_num(probs, nan=0.5, posinf=1.0, neginf=0.0)
    accuracy = float(np.mean((probs > 0.5).astype(np.int64) == y_true))
    auc = float(roc_auc_score(y_true, probs)) if len(np.unique(y_true)) == 2 else float("nan")
    return accuracy, auc, bad


def fit_model(model: nn.Module, X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
              y_test: np.ndarray, seed: int, epochs: int = 15, batch_size: int = 1024,
              lr: float = 1e-3) -> FitResult:
    """Train ``model`` (sigmoid output) with BCE + Adam on already-scaled arrays, then evaluate.

    Batches come from a generator seeded with ``seed``; a trailing batch of one row is skipped
    because BatchNorm cannot train on it. NaN outputs of an unstable activation are scored as
    0.5 (counted in ``non_finite_outputs``) instead of crashing the loss.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    Xt = torch.as_tensor(X_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32).reshape(-1, 1)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCELoss()
    n = len(Xt)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, batch_size):
            idx = order[begin:begin + batch_size]
            if len(idx) < 2:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(torch.nan_to_num(model(Xt[idx]), nan=0.5), yt[idx])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        probs = model(torch.as_tensor(X_test, dtype=torch.float32)).reshape(-1).numpy()
    accuracy, auc, bad = _metrics(np.asarray(y_test), probs)
    return FitResult(accuracy, auc, count_params(model), time.perf_counter() - start, epochs, bad,
                     time.process_time() - cpu_start)


def fit_light(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
              act: Union[str, ActivationFactory], epochs: int = 15, seed: int = DISCOVERY_SEED,
              batch_size: int = 1024, lr: float = 1e-3, scale: bool = True) -> FitResult:
    """Short Light-network training for screening activations (discovery's validation step).

    Scales with a StandardScaler fit on ``X_train`` unless ``scale=False``.
    """
    factory = activation_factory(act)
    if scale:
        X_train, X_val = _scale(X_train, X_val)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = light_model(X_train.shape[1], factory)
        return fit_model(model, X_train, y_train, X_val, y_val, seed, epochs, batch_size, lr)


@dataclass(frozen=True)
class RunResult:
    """One row of the reproduction: a model, an activation, a seed, and its test metrics."""

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

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def train_and_evaluate(dataset: Dataset, model_kind: ModelKind, activation: Union[str, ActivationFactory],
                       seed: int, epochs: int = 15, batch_size: int = 1024, lr: float = 1e-3,
                       exclude_rows: Sequence[int] | np.ndarray | None = None) -> RunResult:
    """One run of the paper's protocol on ``dataset`` for ``seed``.

    ``exclude_rows`` (e.g. :func:`discovery_rows`) are dropped from the *test* split only, so
    the training part stays the paper's and no row a formula was discovered on is scored.
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
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = heavy_model(d) if model_kind == "heavy" else light_model(d, factory)
        fit = fit_model(model, X_train, dataset.y[train], X_test, dataset.y[test], seed, epochs,
                        batch_size, lr)
    return RunResult(dataset.name, model_kind, label, seed, fit.accuracy, fit.auc, fit.params,
                     fit.e_param, fit.seconds, epochs, len(train), len(test), fit.non_finite_outputs,
                     fit.cpu_seconds)
