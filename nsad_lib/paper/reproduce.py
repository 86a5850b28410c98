"""The paper's results table, re-run: which rows to run, running them, and summarising them.

A *row* is (dataset, model, activation); each row runs once per seed. Runs are independent and
each uses ``threads`` torch threads, so they can be spread over worker processes (``jobs``)
without changing a single number. Writing the files lives in :mod:`nsad_lib.paper.report`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from nsad_lib.data.types import Dataset
from nsad_lib.errors import NsadError

__all__ = [
    "RowSpec", "PaperRow", "Settings", "Summary", "PAPER", "DEFAULT_DATASETS",
    "DEFAULT_ACTIVATIONS", "HIGGS_FORMULA_ID", "SPAMBASE_FORMULA_ID", "plan", "row_label",
    "run_table", "specs", "summarize",
]

HIGGS_FORMULA_ID = "hajbi2026-higgs-fig-v1"  # cos(x) - cos(cos(x)), read off the paper's figure
SPAMBASE_FORMULA_ID = "hajbi2026-spambase-fig-v1"  # 3*x + sin(x)
DEFAULT_DATASETS = ("forest", "spambase", "higgs")
DEFAULT_ACTIVATIONS = ("relu", "gelu", "silu", HIGGS_FORMULA_ID, SPAMBASE_FORMULA_ID)
DEFAULT_SEEDS = (42, 43, 44)


@dataclass(frozen=True)
class PaperRow:
    """One published row: mean (std) over seeds 42-44, from the paper's results CSV."""

    accuracy: float
    accuracy_std: float
    auc: float
    auc_std: float
    params: int
    e_param: float


# The paper's final_efficiency_results.csv (DESIGN.md section 5 quotes the rows it compares).
PAPER: dict[tuple[str, str], PaperRow] = {
    ("forest", "Heavy ReLU"): PaperRow(0.834, 0.003, 0.915, 0.001, 31_801, 0.203),
    ("forest", "Hybrid Transfer (HIGGS formula)"): PaperRow(0.824, 0.003, 0.904, 0.001, 5_825, 0.240),
    ("forest", "Light ReLU"): PaperRow(0.811, 0.004, 0.894, 0.002, 5_825, 0.237),
    ("forest", "Light GELU"): PaperRow(0.810, 0.005, 0.893, 0.002, 5_825, 0.237),
    ("forest", "Light SiLU"): PaperRow(0.801, 0.003, 0.883, 0.002, 5_825, 0.235),
    ("spambase", "Heavy ReLU"): PaperRow(0.931, 0.008, 0.978, 0.002, 32_401, 0.217),
    ("spambase", "Hybrid Specialist (3x + sin(x))"): PaperRow(0.920, 0.003, 0.967, 0.004, 6_017, 0.256),
    ("spambase", "Light ReLU"): PaperRow(0.919, 0.007, 0.961, 0.007, 6_017, 0.254),
    ("spambase", "Light GELU"): PaperRow(0.920, 0.009, 0.961, 0.008, 6_017, 0.254),
    ("spambase", "Light SiLU"): PaperRow(0.918, 0.006, 0.959, 0.008, 6_017, 0.254),
    ("spambase", "Hybrid Transfer (HIGGS formula)"): PaperRow(0.832, 0.008, 0.898, 0.006, 6_017, 0.238),
    ("higgs", "Heavy ReLU"): PaperRow(0.718, 0.000, 0.791, 0.000, 26_601, 0.179),
    ("higgs", "Light ReLU"): PaperRow(0.710, 0.002, 0.784, 0.002, 4_161, 0.217),
    ("higgs", "Light GELU"): PaperRow(0.709, 0.001, 0.781, 0.002, 4_161, 0.216),
    ("higgs", "Hybrid Specialist (HIGGS formula)"): PaperRow(0.707, 0.002, 0.777, 0.002, 4_161, 0.215),
    ("higgs", "Light SiLU"): PaperRow(0.701, 0.001, 0.770, 0.002, 4_161, 0.213),
}


@dataclass(frozen=True)
class RowSpec:
    dataset: str
    label: str
    model: str  # "heavy" | "light"
    activation: str


@dataclass(frozen=True)
class Settings:
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    epochs: int = 15
    batch_size: int = 1024
    lr: float = 1e-3
    hold_out_discovery_rows: bool = True
    threads: int = 1
    jobs: int = 1


def row_label(dataset: str, model: str, activation: str) -> str:
    """The paper's name for a row ("Hybrid Transfer (HIGGS formula)"), or ``Light <id>``."""
    if model == "heavy":
        return "Heavy ReLU"
    builtin = {"relu": "ReLU", "gelu": "GELU", "silu": "SiLU", "tanh": "Tanh"}
    if activation in builtin:
        return f"Light {builtin[activation]}"
    if activation == HIGGS_FORMULA_ID:
        return f"Hybrid {'Specialist' if dataset == 'higgs' else 'Transfer'} (HIGGS formula)"
    if activation == SPAMBASE_FORMULA_ID:
        return "Hybrid Specialist (3x + sin(x))" if dataset == "spambase" else \
            "Hybrid Transfer (Spambase formula)"
    if activation.startswith("hf://"):  # hf://owner/repo/id@commit[:variant] -> "Light id[:variant] (owner/repo@abc1234)"
        from nsad_lib.hub.refs import split_variant

        ref, variant = split_variant(activation)
        path, _, revision = ref[len("hf://"):].partition("@")
        owner, repo, entry_id = (path.split("/") + ["", "", ""])[:3]
        where = f"{owner}/{repo}" + (f"@{revision[:7]}" if revision else "")
        return f"Light {entry_id}{':' + variant if variant else ''} ({where})"
    return f"Light {activation}"


def plan(datasets: Sequence[str] = DEFAULT_DATASETS, activations: Sequence[str] | None = None,
         extra: Sequence[str] = (), heavy: bool = True) -> list[RowSpec]:
    """The rows to run. Default: the paper's table (the Spambase formula only on Spambase);
    ``activations`` replaces the Light activations; ``extra`` adds to whichever set is used.

    An unknown activation id or variant raises here, before any data is loaded.
    """
    from nsad_lib.hub.refs import pin
    from nsad_lib.training.protocol import activation_factory

    # hf:// specs are pulled and verified here, then pinned to that commit: every run (in every
    # worker) loads the same verified copy, offline, and results.json names the exact commit
    activations = None if activations is None else [pin(a) for a in activations]
    extra = [pin(a) for a in extra]
    for spec in dict.fromkeys([*(activations or ()), *extra]):
        activation_factory(spec)
    rows: list[RowSpec] = []
    for ds in datasets:
        chosen = list(activations) if activations is not None else [
            a for a in DEFAULT_ACTIVATIONS if a != SPAMBASE_FORMULA_ID or ds == "spambase"]
        chosen += [a for a in extra if a not in chosen]
        if heavy:
            rows.append(RowSpec(ds, "Heavy ReLU", "heavy", "relu"))
        rows += [RowSpec(ds, row_label(ds, "light", a), "light", a) for a in chosen]
    return rows


def specs(rows: Sequence[RowSpec], datasets: dict[str, Dataset], settings: Settings) -> list:
    """The runner's tasks (:class:`nsad_lib.bench.runner.RunSpec`) for every row and seed, in
    (row, seed) order; the discovery rows are held out of the test split unless the settings
    say otherwise."""
    from nsad_lib.bench.runner import RunSpec
    from nsad_lib.bench.suite import data_sha256

    shas = {name: data_sha256(ds) for name, ds in datasets.items()}
    return [RunSpec(row.dataset, shas[row.dataset], datasets[row.dataset].n_rows, row.model, row.activation,
                    int(seed), int(settings.epochs), batch_size=int(settings.batch_size), lr=float(settings.lr),
                    torch_threads=int(settings.threads), hold_out=bool(settings.hold_out_discovery_rows))
            for row in rows for seed in settings.seeds]


def run_table(rows: Sequence[RowSpec], datasets: dict[str, Dataset], settings: Settings,
              on_result: Callable[[object, int, int], None] | None = None, *, store_dir: str | None = None,
              executor: str = "local", address: str | None = None) -> list:
    """Run every row for every seed on the benchmark runner; results come back in (row, seed) order.

    ``settings.jobs`` workers (processes, or Ray CPUs with ``executor="ray"``), one task per
    (row, seed). With ``store_dir`` the runs are appended to that folder's ``results.jsonl`` as
    they finish, and a table run again with the same settings skips every run already stored
    (an interrupted ``reproduce`` resumes). ``on_result(result, done, total)`` follows progress.
    A run that fails raises :class:`NsadError` naming it, after the others have finished.
    """
    import tempfile

    from nsad_lib.bench.runner import run_grid, session
    from nsad_lib.bench.store import ResultStore
    from nsad_lib.training.protocol import RunResult, activation_factory

    for row in rows:  # unknown activation ids fail before any training
        if row.dataset not in datasets:
            raise NsadError(f"row {row.label!r} needs dataset {row.dataset!r}, which is not loaded")
        activation_factory(row.activation)
    tasks = specs(rows, datasets, settings)
    total = len(tasks)
    names = set(RunResult.__dataclass_fields__)

    def result_of(record: dict) -> RunResult:
        return RunResult(**{k: v for k, v in record["result"].items() if k in names})

    def progress(record: dict, done: int, total_: int, failures: int) -> None:
        if on_result and record.get("status") == "ok":
            on_result(result_of(record), done, total)

    with tempfile.TemporaryDirectory(prefix="nsad-reproduce-") as scratch, \
            session(executor, settings.jobs, address) as ray_session:
        store = ResultStore(store_dir or scratch)
        run_grid(tasks, datasets, store, executor=executor, workers=settings.jobs,
                 ray_session=ray_session if executor == "ray" else None, on_record=progress)
        latest = store.latest()
    failed = [latest[t.key] for t in tasks if latest.get(t.key, {}).get("status") != "ok"]
    if failed:
        first = failed[0]
        what = first.get("spec", {})
        raise NsadError(f"{len(failed)} of {total} runs failed; first: {what.get('dataset')} {what.get('model')} "
                        f"{what.get('activation')} seed {what.get('seed')}: {first.get('error', 'not run')}")
    return [result_of(latest[t.key]) for t in tasks]


@dataclass(frozen=True)
class Summary:
    """One table row: mean and population std (as the paper's ``np.std``) over the seeds."""

    row: RowSpec
    seeds: tuple[int, ...]
    params: int
    accuracy: float
    accuracy_std: float
    auc: float
    auc_std: float
    e_param: float
    seconds: float
    cpu_seconds: float = 0.0
    paper: PaperRow | None = field(default=None)

    @property
    def delta_accuracy(self) -> float | None:
        return None if self.paper is None else self.accuracy - self.paper.accuracy

    @property
    def delta_auc(self) -> float | None:
        return None if self.paper is None else self.auc - self.paper.auc

    @property
    def single_seed(self) -> bool:
        """One run: no spread, and no verdict against the paper's 3-seed means (see :meth:`within`)."""
        return len(self.seeds) < 2

    def within(self, accuracy_tol: float = 0.010, auc_tol: float = 0.010) -> bool | None:
        """Whether this row lands within the tolerances of the paper.

        None when there is no paper row, or only one seed: the paper's numbers are means over
        3 seeds, and one run's seed-to-seed noise (std 0.003-0.013) is as large as the tolerance.
        """
        if self.paper is None or self.single_seed:
            return None
        return abs(self.accuracy - self.paper.accuracy) <= accuracy_tol + 1e-9 and \
            abs(self.auc - self.paper.auc) <= auc_tol + 1e-9


def summarize(rows: Iterable[RowSpec], results: Sequence) -> list[Summary]:
    out = []
    for row in rows:
        runs = [r for r in results if (r.dataset, r.model, r.activation) ==
                (row.dataset, row.model, row.activation)]
        if not runs:
            continue
        acc = np.array([r.accuracy for r in runs])
        auc = np.array([r.auc for r in runs])
        out.append(Summary(
            row=row, seeds=tuple(r.seed for r in runs), params=runs[0].params,
            accuracy=float(acc.mean()), accuracy_std=float(acc.std()),
            auc=float(auc.mean()), auc_std=float(auc.std()),
            e_param=float(np.mean([r.e_param for r in runs])),
            seconds=float(sum(r.seconds for r in runs)),
            cpu_seconds=float(sum(r.cpu_seconds for r in runs)),
            paper=PAPER.get((row.dataset, row.label)),
        ))
    return out


def default_jobs() -> int:
    """One worker per core, at most 4 (the runs are small; more workers only add start-up)."""
    return max(1, min(4, os.cpu_count() or 1))
