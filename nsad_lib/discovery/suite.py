"""``discover_suite()``: a discovery scored on the ``source`` half of a benchmark suite.

Phases: check every argument (before any data is loaded: the suite, the split, the datasets, the
counts, the executor, the registry); fix the work (``evaluations``, or ``budget_s`` converted
once by the fixed cost model from the members' published row counts, recorded); load the source
datasets only (the target half is never read); run the suite search
(:mod:`nsad_lib.discovery.strategies.suite_search`) on the benchmark runner with its store in
``out``; build the entry from the best formula and write it when its mean Δ against the baseline
(Light ReLU, or ``baseline``: any activation spec the runner accepts) is above 0 (or ``keep_if_worse``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from nsad_lib.errors import NsadError

__all__ = ["discover_suite", "SuiteDiscoveryResult", "check_suite_arguments", "MANIFEST"]

MANIFEST = "search.json"


@dataclass
class SuiteDiscoveryResult:
    """The entry (written to ``path`` unless None), the search, the work and the wall time."""

    entry: Any
    path: Path | None
    search: Any
    work: dict[str, Any]
    split: dict[str, Any]
    wall_time_s: float = 0.0
    beats_baseline: bool = True
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        base = self.search.baseline
        points = {"relu_points": self.search.relu} if base == "relu" else {"baseline_points": self.search.relu}
        return {"entry": self.entry.to_dict(), "written": None if self.path is None else str(self.path),
                "beats_baseline": self.beats_baseline, "split": self.split, "work": self.work,
                "baseline": base, "fitness": self.search.settings.get("fitness_mode", "mean"), **points, "top": self.search.scored[:10], "runs": self.counts,
                "wall_time_s": round(self.wall_time_s, 2)}


@dataclass(frozen=True)
class _Args:
    names: list[str]
    split: dict[str, Any]
    work: dict[str, Any]
    registry: Any
    version: int
    registry_dir: Path | None
    baseline: str = "relu"
    fitness: str = "mean"


def _positive_int(value: Any, flag: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NsadError(f"{flag} must be a whole number >= {minimum}, got {value!r}")


def check_suite_arguments(*, suite: str | None, split: str | None, datasets: Sequence[str] = (), name: str,
                          family: str = "any", evaluations: int | None = None, budget_s: float | None = None,
                          population: int = 16, generations: int | None = None, epochs: int = 10,
                          repeats: int = 1, executor: str = "local", workers: int = 1, address: str | None = None,
                          out: str | Path | None = None, split_seed: int | None = None,
                          registry: str | Path | None = None, dry_run: bool = False,
                          baseline: str = "relu", fitness: str = "mean") -> _Args:
    """Every check of a suite search, before any data is loaded; raises NsadError (one line)."""
    import math

    from nsad_lib.bench import runner
    from nsad_lib.bench import split as split_module
    from nsad_lib.bench.suite import MEMBERS, SUITES
    from nsad_lib.discovery.run import _check_registry_name
    from nsad_lib.discovery.strategies import search, suite_search

    if suite is None:
        raise NsadError("--split and a suite search need --suite NAME" if split else "--suite is required")
    if suite not in SUITES:
        raise NsadError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    split = split or "source"
    if split == "target":
        raise NsadError("--split target: the target half is never searched (it judges what the source half finds); "
                        "use --split source")
    if split != "source":
        raise NsadError(f"--split {split!r}: a search reads the source half; use --split source")
    if family not in search.FAMILIES:
        raise NsadError(f"unknown search family {family!r} (choose from {', '.join(search.FAMILIES)})")
    if evaluations is not None:
        _positive_int(evaluations, "--evaluations")
        if budget_s is not None:
            raise NsadError("pass --budget or --evaluations, not both (--budget is converted into evaluations)")
    if budget_s is not None and not (isinstance(budget_s, (int, float)) and math.isfinite(budget_s) and budget_s > 0):
        raise NsadError(f"--budget must be a positive number of seconds, got {budget_s!r}")
    _positive_int(population, "--population", 2)
    if generations is not None:
        _positive_int(generations, "--generations", 0)
    _positive_int(epochs, "--epochs")
    _positive_int(repeats, "--eval-seeds")
    _positive_int(workers, "--workers")
    baseline = suite_search.check_baseline(baseline)
    fitness = suite_search.check_fitness(fitness)
    if executor not in runner.EXECUTORS:
        raise NsadError(f"--executor {executor!r}: use local or ray")
    if address and executor != "ray":
        raise NsadError("--address is for --executor ray")
    if out is None:
        raise NsadError("a suite search needs --out DIR (its store of evaluations; re-run with the same DIR to resume)")
    out_path = Path(out).expanduser()
    if out_path.exists() and not out_path.is_dir():
        raise NsadError(f"--out {out_path} exists and is not a directory")
    seed_of_split = split_module.DEFAULT_SEED if split_seed is None else int(split_seed)
    halves = split_module.split_suite(suite, seed_of_split)
    source = halves["source"]
    names = list(source)
    if datasets:
        picked = []
        for d in datasets:
            n = d.strip().lower()
            if n not in MEMBERS:
                raise NsadError(f"--datasets: unknown dataset {d!r}; the source half of {suite} is: {', '.join(source)}")
            if n in halves["target"]:
                raise NsadError(f"--datasets: {n} is in the target half of {suite} (split seed {seed_of_split}), "
                                f"which a search never reads; the source half is: {', '.join(source)}")
            if n not in source:
                raise NsadError(f"--datasets: {n} is not in suite {suite}; its source half is: {', '.join(source)}")
            if n not in picked:
                picked.append(n)
        names = picked
    rows = {n: MEMBERS[n].rows for n in names}
    per_eval = suite_search.cost_per_evaluation(rows, epochs, repeats)
    if evaluations is None:
        from nsad_lib.discovery.run import DEFAULT_BUDGET

        budget = float(DEFAULT_BUDGET["search"] if budget_s is None else budget_s)
        evaluations = suite_search.evaluations_for_budget(budget, rows, epochs, repeats, population)
        origin = "--budget"
    else:
        budget, origin = evaluations * per_eval, "--evaluations"
    work = {"evaluations": evaluations, "from": origin, "budget_s": round(budget, 3),
            "seconds_per_evaluation": round(per_eval, 4), "population": population, "generations": generations,
            "epochs": epochs, "seeds_per_evaluation": repeats,
            "rule": "evaluations = max(population, floor(budget_s / cost)); cost = seeds x sum over the datasets "
                    "of training_cost(0.8 x published rows, epochs) (nsad_lib.discovery.budget; fixed constants, "
                    "converted once at the start, never re-checked)"}
    split_info = {"suite": suite, "split": split, "split_seed": seed_of_split, "source": source,
                  "target": halves["target"], "datasets": names,
                  "rule": "nsad_lib.bench.split.split_suite: stratified by domain, seeded"}
    reg, version, reg_dir = _check_registry_name(name, registry, dry_run)
    return _Args(names, split_info, work, reg, version, reg_dir, baseline, fitness)


def discover_suite(*, suite: str | None, name: str, split: str | None = "source", datasets: Sequence[str] = (),
                   family: str = "any", seed: int = 42, evaluations: int | None = None,
                   budget_s: float | None = None, population: int = 16, generations: int | None = None,
                   epochs: int = 10, repeats: int = 1, executor: str = "local", workers: int = 1,
                   address: str | None = None, out: str | Path | None = None, split_seed: int | None = None,
                   registry: str | Path | None = None, dry_run: bool = False, keep_if_worse: bool = False,
                   baseline: str = "relu", fitness: str = "mean",
                   command: str | None = None, progress: Callable[[str], None] | None = None,
                   load: Callable[[str], Any] | None = None) -> SuiteDiscoveryResult:
    """Search formulas on the source half of ``suite`` and register the best as ``name-v(N+1)``.

    ``load`` (default :func:`nsad_lib.bench.suite.load`) is called once per searched dataset and
    for nothing else. ``baseline`` (default ``relu``) is the activation spec every Δ is measured
    against (e.g. ``formula:x + a*Abs(b*x);a=0.5;b=2``, trainable learned-slope ReLU); ``fitness``
    (``mean``, the default, or ``wins``) is the search's fitness mode
    (:func:`nsad_lib.discovery.strategies.suite_search.fitness_of`). Bad input raises :class:`NsadError` before anything is loaded or written.
    """
    from nsad_lib.bench import runner
    from nsad_lib.bench import suite as suite_module
    from nsad_lib.bench.store import ResultStore
    from nsad_lib.discovery.strategies import suite_search

    say = progress or (lambda _m: None)
    args = check_suite_arguments(suite=suite, split=split, datasets=datasets, name=name, family=family,
                                 evaluations=evaluations, budget_s=budget_s, population=population,
                                 generations=generations, epochs=epochs, repeats=repeats, executor=executor,
                                 workers=workers, address=address, out=out, split_seed=split_seed,
                                 registry=registry, dry_run=dry_run, baseline=baseline, fitness=fitness)
    started = time.monotonic()
    from contextlib import ExitStack

    with ExitStack() as stack:
        ray_session = stack.enter_context(runner.session(executor, workers, address))  # Ray fails here, unwritten
        pool = stack.enter_context(runner.local_pool(workers)) if executor == "local" else ray_session
        loader = load or suite_module.load
        data = {n: loader(n) for n in args.names}
        say(f"{suite} {args.split['split']} half (split seed {args.split['split_seed']}): "
            + ", ".join(f"{n} ({ds.n_rows:,} rows)" for n, ds in data.items()))
        out_path = Path(out).expanduser()  # type: ignore[arg-type]
        out_path.mkdir(parents=True, exist_ok=True)
        manifest = {"schema": "nsad-suite-search/1", "split": args.split, "work": args.work, "seed": seed,
                    "family": family, "baseline": args.baseline, "fitness": args.fitness, "executor": executor, "workers": workers, "command": command or ""}
        (out_path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        store = ResultStore(out_path)
        found = suite_search.run(data, store, seed=seed, evaluations=args.work["evaluations"],
                                 population=population, generations=generations, epochs=epochs, repeats=repeats,
                                 family=family, executor=executor, workers=workers,
                                 ray_session=pool, baseline=args.baseline, fitness=args.fitness, progress=say)
    wall = time.monotonic() - started
    if not found.candidates:
        raise NsadError("the suite search found no usable formula (every one failed or is ReLU); raise --evaluations")
    best = found.candidates[0]
    top = next(s for s in found.scored if s["formula"] == best.formula.canonical
               and s["parameters"] == dict(best.formula.parameters))
    beats = top["mean_delta"] is not None and top["mean_delta"] > 0
    entry = _suite_entry(name, args, found, best, top, seed=seed, family=family, executor=executor,
                         workers=workers, command=command, wall=wall, beats=beats)
    write = not dry_run and args.registry is not None and (beats or keep_if_worse)
    path = args.registry.add(entry, args.registry_dir) if write else None
    against = _against(args.baseline)
    say(f"best: {best.formula.canonical} {dict(best.formula.parameters)}; mean Δ {top['mean_delta']:+.3f} points "
        f"against {against} over {len(args.names)} source dataset(s)" + ("" if beats else f" (does not beat {against})"))
    return SuiteDiscoveryResult(entry, path, found, args.work, args.split, wall, beats, found.facts["runs"])


def _suite_entry(name: str, args: _Args, found: Any, best: Any, top: dict, *, seed: int, family: str,
                 executor: str, workers: int, command: str | None, wall: float, beats: bool):  # -> Entry
    from nsad_lib.discovery import provenance
    from nsad_lib.registry.entry import Entry

    f = best.formula
    split = args.split
    prov = {
        "suite_split": split,
        "method": {"strategy": "suite-search", "backend": "nsad-lib-gp", "backend_version": "nsad-lib",
                   "settings": {**found.settings, "work": args.work}, "seed": seed},
        "executor": {"name": executor, "workers": workers},
        "evaluations": found.facts["evaluated"],
        "command": command or "",
        "wall_time_s": round(wall, 1),
        "environment": provenance.environment(),
        "strategy_facts": found.facts,
        "baseline": args.baseline,
        "fitness": args.fitness,
        **({"baseline_relu_points": found.relu} if args.baseline == "relu" else {"baseline_points": found.relu}),
        "license": "CC-BY-4.0",
    }
    metrics = {"suite_search": {"fitness": top["fitness"], "mean_delta_points": top["mean_delta"],
                                "datasets_lost_by_more_than_1_point": top["losses"],
                                "delta_points": top["deltas"], "baseline": f"light {args.baseline}", "seeds": found.settings["seeds"],
                                "epochs": found.settings["epochs"], "beats_baseline": beats},
               "complexity": f.complexity}
    against = _against(args.baseline)
    summary = (f"Found by a suite search on the {split['split']} half of {split['suite']} "
               f"({len(split['datasets'])} datasets, family {family}, seed {seed}); mean Δ "
               f"{top['mean_delta']:+.2f} points against {against} there"
               + ("" if beats else f" (it does not beat {'ReLU' if args.baseline == 'relu' else 'it'} there)"))
    return Entry.create(name, args.version, f.canonical, parameters=f.parameters, trainable=True, summary=summary,
                        domains={"source": _feature_domain(split["datasets"]), "transfers": []},
                        provenance=prov, metrics=metrics)


def _against(baseline: str) -> str:
    """How messages name the baseline: ``Light ReLU`` (the default) or ``Light <spec>``."""
    return "Light ReLU" if baseline == "relu" else f"Light {baseline}"


def _feature_domain(names: Sequence[str]) -> str:
    """The registry's source domain of several suite members: continuous, discrete or mixed."""
    from nsad_lib.bench.suite import feature_domain

    kinds = {feature_domain(n) for n in names}
    return kinds.pop() if len(kinds) == 1 else "mixed"
