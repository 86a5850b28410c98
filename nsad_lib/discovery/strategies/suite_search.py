"""The suite search: the ``search`` strategy's evolution with a fitness measured on several
datasets at once, every evaluation a task on the benchmark runner.

Fitness of a formula (all in points: accuracy x 100, R² x 100 for regression), with the paired
difference Δ_d = mean over the seeds of (score of Light+formula - score of Light ReLU) on dataset
d, both trained by :func:`nsad_lib.bench.runner.execute` (the paper's protocol, the same seeds and
epochs)::

    fitness = mean_d Δ_d - LOSS_PENALTY * #{d : Δ_d < -LOSS_MARGIN} - COMPLEXITY_WEIGHT * complexity

or, with ``fitness="wins"`` (``--fitness wins``: closer to an acceptance that counts datasets won)::

    fitness = #{d : Δ_d > 0} / #datasets + WINS_TIEBREAK * mean_d clip(Δ_d, ±WINS_CLIP)
              - LOSS_PENALTY * #{d : Δ_d < -LOSS_MARGIN} - COMPLEXITY_WEIGHT * complexity

(the clipped mean only breaks ties: no single dataset can move it by more than
WINS_TIEBREAK * WINS_CLIP / #datasets).

The evolution reuses :mod:`.search` (its scaffolds, random trees, mutation, crossover, families
and formula identity). Each generation's new formulas are one batch of runner tasks (formula x
dataset x seed, activation spec ``formula:TEXT;a=V``), run by ``local`` or ``ray``; the ReLU
baseline runs are tasks too, so they are computed once and then read from the store. Every record
goes to the store of ``--out`` as it finishes, so an interrupted search re-run with the same
arguments re-runs nothing that is stored. The order of evaluation, the population and the
random draws depend only on the seed and the stored scores, never on completion order, workers
or the clock: the same arguments give the same formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nsad_lib.discovery.candidates import Candidate, is_relu_family, is_safe
from nsad_lib.discovery.strategies import search
from nsad_lib.errors import NsadError

__all__ = ["LOSS_MARGIN", "LOSS_PENALTY", "COMPLEXITY_WEIGHT", "SEARCH_EPOCHS", "FITNESS", "FITNESS_WINS",
           "FITNESSES", "WINS_CLIP", "WINS_TIEBREAK", "DEFAULT_BASELINE",
           "SuiteSearch", "fitness_of", "fitness_rule", "check_baseline", "check_fitness", "cost_per_evaluation", "evaluations_for_budget", "run"]

LOSS_MARGIN = 1.0  # points
LOSS_PENALTY = 1.0  # points per dataset lost by more than LOSS_MARGIN
COMPLEXITY_WEIGHT = 0.01  # points per node of the formula
SEARCH_EPOCHS = 10
#: The activation every Δ is measured against unless ``baseline`` says otherwise.
DEFAULT_BASELINE = "relu"
#: The fitness rule in words (recorded in provenance).
FITNESS = (f"mean over the source datasets of the paired Δ (points: accuracy x 100, R² x 100 for regression) "
           f"against Light ReLU (same seeds, epochs), minus {LOSS_PENALTY:g} per dataset with Δ < -{LOSS_MARGIN:g}, "
           f"minus {COMPLEXITY_WEIGHT:g} x complexity")
WINS_CLIP = 3.0  # points: each Δ is clipped to ±WINS_CLIP in the wins fitness's tie-breaker
WINS_TIEBREAK = 0.1  # weight of the clipped mean Δ in the wins fitness
#: The wins fitness rule in words (recorded in provenance).
FITNESS_WINS = (f"share of the source datasets with paired Δ > 0 (points: accuracy x 100, R² x 100 for regression) "
                f"against Light ReLU (same seeds, epochs), plus {WINS_TIEBREAK:g} x the mean of Δ clipped to "
                f"±{WINS_CLIP:g} points, minus {LOSS_PENALTY:g} per dataset with Δ < -{LOSS_MARGIN:g}, "
                f"minus {COMPLEXITY_WEIGHT:g} x complexity")
#: The fitness modes (``--fitness``): ``mean`` (the default) and ``wins``.
FITNESSES = ("mean", "wins")


def fitness_rule(baseline: str = DEFAULT_BASELINE, fitness: str = "mean") -> str:
    """The fitness rule in words with its baseline named (the default's text is :data:`FITNESS`;
    ``fitness="wins"``: :data:`FITNESS_WINS`)."""
    text = FITNESS_WINS if fitness == "wins" else FITNESS
    return text if baseline == DEFAULT_BASELINE else text.replace("Light ReLU", f"Light {baseline}")


def check_fitness(fitness: Any) -> str:
    """The fitness mode, checked (``mean`` or ``wins``); raises NsadError (one line) otherwise."""
    if fitness not in FITNESSES:
        raise NsadError(f"--fitness {fitness!r}: choose from {', '.join(FITNESSES)}")
    return fitness


def check_baseline(spec: str) -> str:
    """The baseline activation spec, checked before any training (any spec the runner accepts: a
    torch builtin, a registry id, ``formula:TEXT;a=V``); ``formula:`` specs come back in the runner's
    canonical spelling (:func:`nsad_lib.bench.runner.formula_spec`), so equal formulas share stored
    runs. Raises NsadError (one line) for a bad spec."""
    from nsad_lib.bench import runner

    if not isinstance(spec, str) or not spec.strip():
        raise NsadError("--baseline needs an activation spec (relu, a registry id, or formula:TEXT;a=V)")
    spec = spec.strip()
    try:
        runner.validate([spec])
        if spec.startswith(runner.FORMULA_PREFIX):
            spec = runner.formula_spec(runner._parse_formula_spec(spec))
    except NsadError as e:
        raise NsadError(f"--baseline {spec!r}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    except Exception as e:  # noqa: BLE001 - any failure to build it is a bad spec, said in one line
        raise NsadError(f"--baseline {spec!r}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    return spec


def fitness_of(deltas: dict[str, float], complexity: int, fitness: str = "mean") -> float:
    """The fitness of a formula whose per-dataset Δ (points) are ``deltas``: ``fitness="mean"``
    (the default) their mean, ``"wins"`` the share of datasets with Δ > 0 plus
    :data:`WINS_TIEBREAK` x their mean clipped to ±:data:`WINS_CLIP`; both minus the loss penalty
    and the complexity term."""
    values = list(deltas.values())
    losses = sum(d < -LOSS_MARGIN for d in values)
    penalty = LOSS_PENALTY * losses + COMPLEXITY_WEIGHT * complexity
    if fitness == "wins":
        share = sum(d > 0 for d in values) / len(values)
        return float(share + WINS_TIEBREAK * np.mean(np.clip(values, -WINS_CLIP, WINS_CLIP))) - penalty
    check_fitness(fitness)
    return float(np.mean(values)) - penalty


def cost_per_evaluation(rows: dict[str, int], epochs: int, repeats: int) -> float:
    """Nominal seconds of one evaluation (every dataset, every seed) by the fixed cost model of
    :mod:`nsad_lib.discovery.budget` (the runner trains on the paper's 80% training split)."""
    from nsad_lib.discovery.budget import training_cost

    return repeats * sum(training_cost(int(0.8 * n), epochs) for n in rows.values())


def evaluations_for_budget(budget_s: float, rows: dict[str, int], epochs: int, repeats: int,
                           population: int) -> int:
    """The evaluations ``budget_s`` nominal seconds buy (at least one population)."""
    return max(population, int(budget_s / cost_per_evaluation(rows, epochs, repeats)))


@dataclass
class SuiteSearch:
    """What a suite search found: candidates (best first), every scored formula, the counts."""

    candidates: list[Candidate]
    scored: list[dict[str, Any]]
    settings: dict[str, Any]
    facts: dict[str, Any]
    relu: dict[str, float] = field(default_factory=dict)  # the baseline's points per dataset
    baseline: str = DEFAULT_BASELINE


def _points(record: dict) -> float:
    value = record.get("result", {}).get("score")
    return 100.0 * float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def run(datasets: dict, store: Any, *, seed: int, evaluations: int, population: int = search.POPULATION,
        generations: int | None = None, epochs: int = SEARCH_EPOCHS, repeats: int = 1, family: str = "any",
        executor: str = "local", workers: int = 1, ray_session: Any = None, baseline: str = DEFAULT_BASELINE,
        fitness: str = "mean", progress: Callable[[str], None] = lambda _m: None) -> SuiteSearch:
    """Evolve formulas scored on every dataset of ``datasets`` (name -> loaded Dataset).

    ``store`` is the :class:`~nsad_lib.bench.store.ResultStore` of the search; ``evaluations``
    formulas are scored at most, over at most ``generations`` generations after the first.
    ``baseline`` is the activation spec every Δ is measured against (default Light ReLU; check it
    first with :func:`check_baseline`). ``fitness`` is the fitness mode (``mean``, the default,
    or ``wins``; see :func:`fitness_of`).
    """
    from nsad_lib.bench import runner
    from nsad_lib.bench.suite import data_sha256

    if family not in search.FAMILIES:
        raise NsadError(f"unknown search family {family!r} (choose from {', '.join(search.FAMILIES)})")
    check_fitness(fitness)
    unary = search.FAMILIES[family]
    names = list(datasets)
    seeds = [seed + i for i in range(repeats)]
    shas = {n: data_sha256(ds) for n, ds in datasets.items()}

    def spec(name: str, activation: str, s: int) -> runner.RunSpec:
        return runner.RunSpec(name, shas[name], datasets[name].n_rows, "light", activation, s, epochs)

    relu_specs = {(n, s): spec(n, baseline, s) for n in names for s in seeds}  # the baseline's runs
    rng = np.random.default_rng(seed)
    scores: dict[str, float] = {}
    formulas: dict[str, Any] = {}
    trees: dict[str, Any] = {}
    details: dict[str, dict[str, Any]] = {}
    relu_points: dict[str, float] = {}
    counts = {"ran": 0, "skipped": 0, "failed": 0}

    def run_batch(batch: list[tuple[str, Any, Any]]) -> None:
        specs = {(k, n, s): spec(n, runner.formula_spec(f), s) for k, f, _t in batch for n in names for s in seeds}
        todo = ([] if relu_points else list(relu_specs.values())) + list(specs.values())  # baseline: once
        todo = list({s.key: s for s in todo}.values())  # a candidate equal to the baseline runs once
        got = runner.run_grid(todo, datasets, store, executor=executor, workers=workers, ray_session=ray_session)
        for c in counts:
            counts[c] += got[c]
        latest = store.latest()

        def pts(rs: runner.RunSpec) -> float:
            r = latest.get(rs.key)
            return _points(r) if r is not None and r.get("status") == "ok" else math.nan

        if not relu_points:
            for n in names:
                relu_points[n] = float(np.mean([pts(relu_specs[(n, s)]) for s in seeds]))
                if not math.isfinite(relu_points[n]):
                    what = "Light ReLU baseline" if baseline == DEFAULT_BASELINE else f"baseline {baseline!r}"
                    raise NsadError(f"the {what} failed on {n}; see {store.path}")
        for k, f, t in batch:
            deltas = {n: float(np.mean([pts(specs[(k, n, s)]) for s in seeds])) - relu_points[n] for n in names}
            ok = all(math.isfinite(d) for d in deltas.values())
            scores[k] = fitness_of(deltas, f.complexity, fitness) if ok else -math.inf
            formulas[k], trees[k] = f, t
            details[k] = {"deltas": {n: round(d, 4) if math.isfinite(d) else None for n, d in deltas.items()},
                          "mean_delta": round(float(np.mean(list(deltas.values()))), 4) if ok else None,
                          "losses": sum(d < -LOSS_MARGIN for d in deltas.values()) if ok else None}
            if fitness == "wins":
                details[k]["wins"] = sum(d > 0 for d in deltas.values()) if ok else None

    def admit(trees_in: list[Any]) -> list[str]:
        """Score the new formulas among ``trees_in`` as one batch; return the usable keys in order."""
        batch: list[tuple[str, Any, Any]] = []
        keys: list[str] = []
        pending: set[str] = set()
        for t in trees_in:
            if search.size(t) > search.MAX_NODES:
                continue
            f = search.to_formula(t)
            if f is None:
                continue
            k = search._key(f, family)
            if k not in scores and k not in pending:
                if len(scores) + len(batch) >= evaluations or not is_safe(f):
                    continue
                batch.append((k, f, t))
                pending.add(k)
            if k not in keys:
                keys.append(k)
        if batch:
            run_batch(batch)
            best = max(scores, key=scores.__getitem__)
            progress(f"suite search: {len(scores)}/{evaluations} evaluated; best {formulas[best].canonical} "
                     f"(fitness {scores[best]:+.3f})")
        return keys

    progress(f"suite search: up to {evaluations} evaluations on {len(names)} dataset(s) "
             f"({', '.join(names)}), {epochs} epochs x {len(seeds)} seed(s) each, executor {executor}")
    if family == "gated":
        start = [*search.gated_scaffold(unary),
                 *(("mul", "x", search.random_tree(rng, 2, unary)) for _ in range(population))]
    else:
        start = [*search.scaffold(unary), *(search.random_tree(rng, 3, unary) for _ in range(population))]
    pop = admit(start)
    generation, stale = 0, 0
    while (len(scores) < evaluations and pop and stale < 50
           and (generations is None or generation < generations)):
        generation += 1
        pop.sort(key=lambda k: (-scores[k], formulas[k].complexity, k))
        pop = pop[:population]
        children = search.offspring([trees[k] for k in pop], population, rng, unary)
        before = len(scores)
        for k in admit(children):
            if k not in pop:
                pop.append(k)
        stale = stale + 1 if len(scores) == before else 0
    ranked = sorted((k for k in scores if math.isfinite(scores[k])),
                    key=lambda k: (-scores[k], formulas[k].complexity, k))
    cands = [Candidate(formulas[k], "suite-search", search.emit(trees[k]), round(scores[k], 4)) for k in ranked
             if not is_relu_family(formulas[k]) and search._in_family(formulas[k], family)]
    scored = [{"formula": formulas[k].canonical, "parameters": dict(formulas[k].parameters),
               "fitness": round(scores[k], 4), **details[k]} for k in ranked]
    settings = {"datasets": names, "epochs": epochs, "seeds": seeds, "population": population,
                "generations_allowed": generations, "evaluations_allowed": evaluations, "family": family,
                "unary": list(unary), "binary": list(search.BINARY), "max_nodes": search.MAX_NODES,
                "fitness": fitness_rule(baseline, fitness), "fitness_mode": fitness, "baseline": baseline, "network": "light", "protocol": runner.PROTOCOL,
                "constants": "trainable from their initial values"}
    facts = {"evaluated": len(scores), "generations": generation, "failed_formulas": len(scores) - len(ranked),
             "runs": dict(counts), "top": scored[:10]}
    return SuiteSearch(cands, scored, settings, facts, {n: round(v, 4) for n, v in relu_points.items()}, baseline)
