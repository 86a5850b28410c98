"""``discover()``: one discovery run, in phases: check every argument (before any data is
loaded), plan the fixed amount of work, run the strategy, validate the shortlist against Light
ReLU, and build (and, if it wins or ``keep_if_worse``, write) the entry with its provenance."""


from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Callable

from torch import nn

from nsad_lib.discovery import provenance, validate
from nsad_lib.discovery import source as source_module
from nsad_lib.discovery.backends import get_backend
from nsad_lib.discovery.budget import RULE, Clock, DeadlineError, budget_for_evaluations, training_cost
from nsad_lib.discovery.candidates import from_expressions
from nsad_lib.discovery.pysr_csv import read_hall_of_fame
from nsad_lib.discovery.strategies import STRATEGIES, StrategyResult, search
from nsad_lib.errors import NsadError
from nsad_lib.formula.known import identify
from nsad_lib.registry.entry import Entry, check_name
from nsad_lib.registry.store import Registry, bundled_path, env_paths

__all__ = ["discover", "DiscoveryResult", "STRATEGIES", "DEFAULT_BUDGET", "DeadlineError"]

#: Default ``--budget`` per strategy, seconds (HIGGS on 2 cores: search < 10 min, collapse < 60 s).
DEFAULT_BUDGET = {"search": 300.0, "distill": 120.0, "collapse": 40.0}
#: Validation trains each kept candidate on these many seeds (seed, seed+1, ...).
VALIDATION_SEEDS = 2
VALIDATION_EPOCHS = 15
MAX_VALIDATED = 6
#: Share of the (nominal) budget each strategy gives to validation.
VALIDATION_SHARE = {"search": 0.45, "collapse": 0.7, "distill": 0.75}


@dataclass
class DiscoveryResult:
    """The new entry (not yet written when ``dry_run``), where it went, and the ranked results."""

    entry: object
    path: Path | None
    validated: list = field(default_factory=list)
    baseline_relu: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0
    #: True when the winner's mean validation AUC is above Light ReLU's (rounded to 5 digits).
    beats_baseline: bool = True
    #: Seconds per phase: load, strategy, validation, total.
    timings: dict[str, float] = field(default_factory=dict)
    #: The fixed amount of work and how it was derived (also in provenance ``method.settings.work``).
    work: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """What ``nsad-lib discover --json`` prints: the entry, the validation table, the timings."""
        e = self.entry
        table = [v.record() for v in self.validated]
        from nsad_lib.discovery.validate import _finite_or_none, metric

        key = metric(self.validated[0].task)[1] if self.validated else "val_auc"
        table.append({"formula": "relu (Light ReLU, the baseline)", key: round(self.baseline_relu["val_auc"], 5),
                      "val_accuracy": _finite_or_none(self.baseline_relu["val_accuracy"])})
        return {"entry": e.to_dict(), "written": None if self.path is None else str(self.path),  # type: ignore[attr-defined]
                "beats_baseline": self.beats_baseline, "validation": table, "work": self.work,
                "rediscovered": (e.provenance.get("prior_art") or {}).get("name"),  # type: ignore[attr-defined]
                "timings": {k: round(v, 2) for k, v in self.timings.items()}}


def _check_writable(target: Path) -> None:
    """Raise unless files can be created in ``target`` (or, if absent, it can be created).

    Probes by creating and deleting a temporary file in the directory itself or, when it does
    not exist yet, in its nearest existing ancestor: permission bits are not enough (root, /proc).
    """
    probe_dir = target
    while not probe_dir.exists():
        if probe_dir.parent == probe_dir:
            break
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise NsadError(f"--registry {target}: {probe_dir} is not a directory")
    try:
        fd, name = tempfile.mkstemp(prefix=".nsad-write-probe-", dir=probe_dir)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise NsadError(f"--registry {target} is not writable: cannot create files in {probe_dir} "
                        f"({exc.strerror or exc}); choose a writable directory") from None


def _check_registry_name(name: str, registry: str | Path | None, dry_run: bool = False) -> tuple[object, int, Path | None]:
    """The registry to write to, the new entry's version, and its directory.

    A dry run writes nothing, so it needs no registry: without one, the version is 1. Otherwise
    the directory must be writable now (checked before any data is loaded, not after the search).
    """
    check_name(name)
    target = Path(registry).expanduser() if registry is not None else None
    if target is None:
        paths = env_paths()
        if not paths:
            if dry_run:
                return None, 1, None
            raise NsadError("no registry to write to: pass --registry DIR (or set NSAD_REGISTRY_PATH), or --dry-run")
        target = paths[0]
    if target.exists() and not target.is_dir():
        raise NsadError(f"--registry {target} exists and is not a directory")
    writing_bundled = target.resolve() == bundled_path().resolve()
    if not dry_run:
        if writing_bundled and os.environ.get("NSAD_ALLOW_BUNDLED_WRITE") != "1":
            raise NsadError(f"--registry {target} is the bundled registry, which is read-only; write to a user registry")
        _check_writable(target)
    reg = Registry(target)
    bundled_names = {e.name for e in Registry(None, include_env=False).entries()}
    if name in bundled_names and not writing_bundled:
        raise NsadError(
            f"name {name!r} belongs to an entry of the bundled registry; a user entry under it would change what "
            f"get({name!r}) returns. Choose another --name"
        )
    return reg, reg.next_version(name), target


def _positive_number(value: float | None, flag: str) -> None:
    import math

    if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise NsadError(f"{flag} must be a positive number of seconds, got {value!r}")


def discover(
    data: str,
    *,
    name: str,
    target: str | None = None,
    positive: str | None = None,
    strategy: str = "search",
    backend: str = "operon",
    budget_s: float | None = None,
    evaluations: int | None = None,
    seed: int = 42,
    registry: str | Path | None = None,
    from_pysr_csv: str | Path | None = None,
    max_rows: int | None = None,
    family: str = "any",
    command: str | None = None,
    dry_run: bool = False,
    keep_if_worse: bool = False,
    time_limit_s: float | None = None,
    progress: Callable[[str], None] | None = None,
    task: str | None = None,
) -> DiscoveryResult:
    """Run one discovery and add the best formula to ``registry`` as ``name-v(N+1)``.

    The work is fixed by ``evaluations`` (search) or ``budget_s`` (converted once by the fixed
    cost model of :mod:`.budget`), never by the clock. When the best formula does not beat
    Light ReLU on validation, nothing is written (``result.beats_baseline`` is False, ``path``
    None) unless ``keep_if_worse``. ``time_limit_s`` stops the run with
    :class:`~nsad_lib.discovery.budget.DeadlineError` once passed. ``task`` (binary, multiclass,
    regression) is inferred from a file's target when left out; validation scores are AUC,
    macro-AUC or R² accordingly.

    Raises :class:`~nsad_lib.errors.NsadError` for bad input before any data is loaded.
    """
    say = progress or (lambda _msg: None)
    checked = _check_arguments(data, name=name, target=target, positive=positive, strategy=strategy,
                               backend=backend, budget_s=budget_s, evaluations=evaluations, registry=registry,
                               from_pysr_csv=from_pysr_csv, max_rows=max_rows, family=family, dry_run=dry_run,
                               time_limit_s=time_limit_s, task=task)

    started = time.monotonic()
    clock = Clock(time_limit_s)
    dataset = source_module.load_dataset(data, target, positive, task)
    if dataset.task != "binary" and strategy == "collapse" and checked.exprs is None:
        raise NsadError(f"--strategy collapse fits a binary symbolic classifier; {dataset.name!r} is a "
                        f"{dataset.task} task: use --strategy search or distill")
    source = source_module.prepare(dataset, seed, max_rows=max_rows)
    loaded = time.monotonic()
    say(f"{dataset.name}: {dataset.n_rows:,} rows; training split {len(source.train_rows):,} "
        f"(fit {len(source.y_fit):,} / val {len(source.y_val):,}), seed {seed}")
    validate.warn_if_small(source)
    plan = _plan_work(strategy, source, seed=seed, budget_s=budget_s, evaluations=evaluations,
                      searching=strategy == "search" and from_pysr_csv is None, time_limit_s=time_limit_s)

    found = _run_strategy(strategy, source, checked, plan, family=family, from_pysr_csv=from_pysr_csv, seed=seed,
                          clock=clock, say=say)
    searched = time.monotonic()
    scored = _validate_shortlist(found, plan, source, dataset.task, clock, say)
    done = time.monotonic()
    wall = done - started
    timings = {"load_s": loaded - started, "strategy_s": searched - loaded, "validation_s": done - searched, "total_s": wall}

    entry = _make_entry(name, checked.version, dataset, source, found, plan, scored, seed=seed, command=command, wall=wall)
    write = not dry_run and checked.registry is not None and (scored.beats or keep_if_worse)
    path = checked.registry.add(entry, checked.registry_dir) if write else None  # type: ignore[attr-defined]
    metric_key = validate.metric(dataset.task)[1]
    relu = {"val_auc": scored.relu_score, metric_key: scored.relu_score, "val_accuracy": scored.relu_accuracy}
    return DiscoveryResult(entry, path, scored.validated, relu, wall, beats_baseline=scored.beats, timings=timings,
                           work=plan.work)


@dataclass(frozen=True)
class _Checked:
    """What the argument checks produced: PySR expressions to validate, the registry, the engine."""

    exprs: list | None
    registry: object
    version: int
    registry_dir: Path | None
    engine: object


def _check_arguments(data: str, *, name: str, target: str | None, positive: str | None, strategy: str, backend: str,
                     budget_s: float | None, evaluations: int | None, registry: str | Path | None,
                     from_pysr_csv: str | Path | None, max_rows: int | None, family: str, dry_run: bool,
                     time_limit_s: float | None, task: str | None) -> _Checked:
    """Every argument check, before any data is loaded (an unwritable registry included)."""
    if strategy not in STRATEGIES:
        raise NsadError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    _positive_number(budget_s, "--budget")
    _positive_number(time_limit_s, "--time-limit")
    if evaluations is not None:
        if strategy != "search" or from_pysr_csv is not None:
            raise NsadError("--evaluations applies to --strategy search (collapse and distill are sized by --budget)")
        if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 1:
            raise NsadError(f"--evaluations must be a positive whole number, got {evaluations!r}")
        if budget_s is not None:
            raise NsadError("pass --budget or --evaluations, not both (--budget is converted into evaluations)")
    if family != "any" and strategy != "search":
        raise NsadError("--family applies to --strategy search only")
    if family not in search.FAMILIES:
        raise NsadError(f"unknown search family {family!r} (choose from {', '.join(search.FAMILIES)})")
    if max_rows is not None and max_rows < 50:
        raise NsadError(f"--max-rows must be at least 50, got {max_rows}")
    if strategy == "search" and backend != "operon" and from_pysr_csv is None:
        raise NsadError(f"--backend {backend}: the search strategy runs nsad-lib's own evolution loop and uses no "
                        "backend; backends apply to --strategy distill or collapse")
    source_module.check_data_arg(data, target, positive, task)
    exprs = read_hall_of_fame(from_pysr_csv) if from_pysr_csv is not None else None
    reg, version, reg_dir = _check_registry_name(name, registry, dry_run)
    # search needs no backend library; pysr without Julia fails here, at once
    engine = get_backend(backend) if from_pysr_csv is None and strategy != "search" else None
    return _Checked(exprs, reg, version, reg_dir, engine)


@dataclass(frozen=True)
class _Plan:
    """The fixed amount of work: nominal budget, search evaluations, candidates validated, seeds."""

    budget: float
    search_evaluations: int | None
    n_keep: int
    seeds: tuple[int, ...]
    work: dict[str, Any]


def _plan_work(strategy: str, source: Any, *, seed: int, budget_s: float | None, evaluations: int | None,
               searching: bool, time_limit_s: float | None) -> _Plan:
    """Convert ``--evaluations``/``--budget`` once, by the fixed cost model, into counts of work."""
    seeds = tuple(seed + i for i in range(VALIDATION_SEEDS))
    search_evaluations = None
    per_eval = 0.0
    if searching:
        per_eval = search.cost_per_evaluation(len(source.y_fit))
        if evaluations is not None:
            budget = budget_for_evaluations(evaluations, per_eval, search.SEARCH_SHARE)
            search_evaluations = evaluations
        else:
            budget = float(DEFAULT_BUDGET[strategy] if budget_s is None else budget_s)
            search_evaluations = search.evaluations_for_budget(budget, len(source.y_fit))
    else:
        budget = float(DEFAULT_BUDGET[strategy] if budget_s is None else budget_s)
    per_training = training_cost(len(source.y_fit), VALIDATION_EPOCHS)
    share = VALIDATION_SHARE[strategy] * budget - per_training * len(seeds)  # minus the ReLU reference
    n_keep = max(1, min(MAX_VALIDATED, int(share / (per_training * len(seeds) * 2))))
    nominal = per_training * len(seeds) * (2 * n_keep + 1)  # candidates frozen + trainable, and ReLU
    if search_evaluations is not None:
        nominal += search_evaluations * per_eval
    work = {"budget_s": round(budget, 3), "from": "--evaluations" if evaluations is not None else "--budget",
            "search_evaluations": search_evaluations, "validated_candidates": n_keep,
            "nominal_seconds": round(nominal, 1), "rule": RULE}
    if time_limit_s is not None:
        work["time_limit_s"] = time_limit_s
    return _Plan(budget, search_evaluations, n_keep, seeds, work)


@dataclass(frozen=True)
class _Found:
    """The strategy's candidates and who found them (for the provenance)."""

    result: StrategyResult
    strategy: str
    backend: str
    backend_version: str


def _run_strategy(strategy: str, source: Any, checked: _Checked, plan: _Plan, *, family: str,
                  from_pysr_csv: str | Path | None, seed: int, clock: Clock, say: Callable[[str], None]) -> _Found:
    """The strategy's ranked candidates (or a PySR hall of fame's equations, converted)."""
    if checked.exprs is not None:
        cands, rejected = from_expressions(checked.exprs, "pysr", "pysr-csv")
        facts = {"from_pysr_csv": Path(from_pysr_csv).name, "equations": len(checked.exprs)}  # type: ignore[arg-type]
        found = _Found(StrategyResult(cands, facts, {}, rejected), "pysr-csv", "pysr", "hall_of_fame CSV")
    else:
        module = import_module(f"nsad_lib.discovery.strategies.{strategy}")
        options: dict[str, Any] = {"family": family, "evaluations": plan.search_evaluations, "clock": clock} \
            if strategy == "search" else {}
        result = module.run(source, checked.engine, seed=seed, budget_s=plan.budget, progress=say, **options)
        clock.check(f"the {strategy} strategy")
        engine = checked.engine
        if engine is None:  # search
            found = _Found(result, strategy, "nsad-lib-gp", "nsad-lib")
        else:
            found = _Found(result, strategy, engine.name, engine.version())  # type: ignore[attr-defined]
    if not found.result.candidates:
        raise NsadError(f"{found.strategy} found no usable formula (all {len(found.result.rejected)} expressions were "
                        "rejected); try a larger --budget or another --strategy")
    return found


@dataclass(frozen=True)
class _Scored:
    """The validated shortlist, the winner, and Light ReLU's scores on the same rows and seeds."""

    validated: list
    chosen: Any
    relu_score: float
    relu_accuracy: float
    relu_params: int
    beats: bool


def _validate_shortlist(found: _Found, plan: _Plan, source: Any, task: str, clock: Clock,
                        say: Callable[[str], None]) -> _Scored:
    """Train the fixed number of candidates the plan pays for, frozen and trainable, and Light ReLU."""
    metric_label = validate.metric(task)[0]
    shortlist = found.result.candidates[:plan.n_keep]
    say(f"validating {len(shortlist)} candidate(s), frozen and trainable, {VALIDATION_EPOCHS} epochs x "
        f"{len(plan.seeds)} seeds")

    def report(v: validate.Validated) -> None:
        say(f"  {v.candidate.formula.canonical}  [{'trainable' if v.trainable else 'frozen'}]  "
            f"val {metric_label} {v.auc:.4f}" + ("" if task == "regression" else f"  acc {v.accuracy:.4f}"))

    validated = validate.validate(shortlist, source, seeds=plan.seeds, epochs=VALIDATION_EPOCHS, clock=clock,
                                  on_result=report)
    clock.check("validation")
    relu_score, relu_acc, relu_params, _ = validate.score(nn.ReLU, source, seeds=plan.seeds, epochs=VALIDATION_EPOCHS)
    clock.check("validation")
    chosen = validate.best(validated)
    formula = chosen.candidate.formula
    beats = round(chosen.auc, 5) > round(relu_score, 5)
    say(f"best: {formula.canonical} {dict(formula.parameters)} ({'trainable' if chosen.trainable else 'frozen'}); "
        f"val {metric_label} {chosen.auc:.4f} vs ReLU {relu_score:.4f}" + ("" if beats else " (does not beat ReLU)"))
    return _Scored(validated, chosen, relu_score, relu_acc, relu_params, beats)


def _make_entry(name: str, version: int, dataset: Any, source: Any, found: _Found, plan: _Plan, scored: _Scored, *,
                seed: int, command: str | None, wall: float) -> Entry:
    """The new entry: formula, provenance (data, split, method, work, environment), validation metrics."""
    metric_label, metric_key = validate.metric(dataset.task)
    chosen, formula = scored.chosen, scored.chosen.candidate.formula
    settings = {**found.result.settings, "budget_s": plan.budget, "work": plan.work, "validation": {
        "seeds": list(plan.seeds), "epochs": VALIDATION_EPOCHS, "candidates": min(plan.n_keep, len(found.result.candidates)),
        "selection": f"highest mean val {metric_label}; within {validate.TIE} the simpler formula, then frozen"}}
    prov = {
        "dataset": provenance.dataset_record(dataset, len(source.train_rows)),
        "split": source.describe(),
        "method": {"strategy": found.strategy, "backend": found.backend, "backend_version": found.backend_version,
                   "settings": settings, "seed": seed},
        "command": command or "",
        "wall_time_s": round(wall, 1),
        "environment": provenance.environment(),
        "candidates": [v.record() for v in scored.validated],
        "strategy_facts": found.result.facts,
        "rejected": found.result.rejected[:20],
        "license": "CC-BY-4.0",
    }
    metrics = {
        "validation": {metric_key: round(chosen.auc, 5), "val_accuracy": validate._finite_or_none(chosen.accuracy),
                       "params": chosen.params,
                       "baseline_relu": {metric_key: round(scored.relu_score, 5),
                                         "val_accuracy": validate._finite_or_none(scored.relu_accuracy),
                                         "params": scored.relu_params},
                       "beats_baseline": scored.beats, "seeds": list(plan.seeds), "network": "light"},
        "complexity": formula.complexity,
    }
    summary = (f"Discovered on {dataset.name} ({found.strategy}, {found.backend}, seed {seed}); "
               f"val {metric_label} {chosen.auc:.3f} vs Light ReLU {scored.relu_score:.3f} on the training split"
               + ("" if scored.beats else " (it does not beat ReLU there)"))
    known = identify(formula)  # prior art: a published activation found again is said to be one
    if known is not None:
        prov["prior_art"] = known.record()
        summary += f"; rediscovered {known.text}"
    return Entry.create(name, version, formula.canonical, parameters=formula.parameters, trainable=chosen.trainable,
                        summary=summary, domains={"source": provenance.source_domain(dataset, source.train_rows),
                                                  "transfers": []},
                        provenance=prov, metrics=metrics)
