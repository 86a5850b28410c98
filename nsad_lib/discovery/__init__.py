"""Discover an activation formula on real data and register it with full provenance.

>>> from nsad_lib.discovery import discover
>>> result = discover("higgs", name="my-higgs", strategy="collapse", budget_s=60, registry="my_registry")

Every strategy reads only the training split of ``seed`` (see :mod:`.source`); candidates are
validated by short training, frozen and with trainable constants (:mod:`.validate`), and the
best (ties to the simpler) becomes ``NAME-v(N+1)``. Nothing is written unless a formula was
found and the entry passed every check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nsad_lib.discovery.budget import Clock, training_cost
from nsad_lib.discovery.strategies import STRATEGIES, StrategyResult
from nsad_lib.errors import NsadError

__all__ = ["discover", "DiscoveryResult", "STRATEGIES", "DEFAULT_BUDGET"]

#: Default ``--budget`` per strategy, seconds (HIGGS on 2 cores: search < 10 min, collapse < 60 s).
DEFAULT_BUDGET = {"search": 300.0, "distill": 120.0, "collapse": 40.0}
#: Validation trains each kept candidate on these many seeds (seed, seed+1, ...).
VALIDATION_SEEDS = 2
VALIDATION_EPOCHS = 15
MAX_VALIDATED = 6


@dataclass
class DiscoveryResult:
    """The new entry (not yet written when ``dry_run``), where it went, and the ranked results."""

    entry: object
    path: Path | None
    validated: list = field(default_factory=list)
    baseline_relu: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0


def _check_registry_name(name: str, registry: str | Path | None, dry_run: bool = False) -> tuple[object, int, Path | None]:
    """The registry to write to, the new entry's version, and its directory.

    A dry run writes nothing, so it needs no registry: without one, the version is 1.
    """
    from nsad_lib.entry import check_name
    from nsad_lib.registry import Registry, bundled_path

    check_name(name)
    target = Path(registry).expanduser() if registry is not None else None
    if target is None:
        from nsad_lib.registry import env_paths

        paths = env_paths()
        if not paths:
            if dry_run:
                return None, 1, None
            raise NsadError("no registry to write to: pass --registry DIR (or set NSAD_REGISTRY_PATH), or --dry-run")
        target = paths[0]
    if target.exists() and not target.is_dir():
        raise NsadError(f"--registry {target} exists and is not a directory")
    reg = Registry(target)
    writing_bundled = target.resolve() == bundled_path().resolve()
    bundled_names = {e.name for e in Registry(None, include_env=False).entries()}
    if name in bundled_names and not writing_bundled:
        raise NsadError(
            f"name {name!r} belongs to an entry of the bundled registry; a user entry under it would change what "
            f"get({name!r}) returns. Choose another --name"
        )
    return reg, reg.next_version(name), target


def discover(
    data: str,
    *,
    name: str,
    target: str | None = None,
    positive: str | None = None,
    strategy: str = "search",
    backend: str = "operon",
    budget_s: float | None = None,
    seed: int = 42,
    registry: str | Path | None = None,
    from_pysr_csv: str | Path | None = None,
    max_rows: int | None = None,
    family: str = "any",
    command: str | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] | None = None,
) -> DiscoveryResult:
    """Run one discovery and add the best formula to ``registry`` as ``name-v(N+1)``.

    Raises :class:`~nsad_lib.errors.NsadError` for bad input before any work is done.
    """
    from nsad_lib.discovery import provenance, validate
    from nsad_lib.discovery.backends import get_backend
    from nsad_lib.discovery.source import load_dataset, prepare

    say = progress or (lambda _msg: None)
    if strategy not in STRATEGIES:
        raise NsadError(f"unknown strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    budget = float(DEFAULT_BUDGET[strategy] if budget_s is None else budget_s)
    if not budget > 0:
        raise NsadError(f"--budget must be a positive number of seconds, got {budget_s!r}")
    if family != "any" and strategy != "search":
        raise NsadError("--family applies to --strategy search only")
    from nsad_lib.discovery.strategies.search import FAMILIES

    if family not in FAMILIES:
        raise NsadError(f"unknown search family {family!r} (choose from {', '.join(FAMILIES)})")
    if max_rows is not None and max_rows < 50:
        raise NsadError(f"--max-rows must be at least 50, got {max_rows}")
    if strategy == "search" and backend != "operon" and from_pysr_csv is None:
        raise NsadError(f"--backend {backend}: the search strategy runs nsad-lib's own evolution loop and uses no "
                        "backend; backends apply to --strategy distill or collapse")
    reg, version, reg_dir = _check_registry_name(name, registry, dry_run)
    # search needs no backend library; pysr without Julia fails here, at once
    engine = get_backend(backend) if from_pysr_csv is None and strategy != "search" else None
    dataset = load_dataset(data, target, positive)
    started = time.monotonic()
    clock = Clock(budget)
    source = prepare(dataset, seed, max_rows=max_rows)
    say(f"{dataset.name}: {dataset.n_rows:,} rows; training split {len(source.train_rows):,} "
        f"(fit {len(source.y_fit):,} / val {len(source.y_val):,}), seed {seed}")

    if from_pysr_csv is not None:
        from nsad_lib.discovery.candidates import from_expressions
        from nsad_lib.discovery.pysr_csv import read_hall_of_fame

        exprs = read_hall_of_fame(from_pysr_csv)
        cands, rejected = from_expressions(exprs, "pysr", "pysr-csv")
        result = StrategyResult(cands, {"from_pysr_csv": Path(from_pysr_csv).name, "equations": len(exprs)}, {}, rejected)
        strategy_name, backend_name, backend_version = "pysr-csv", "pysr", "hall_of_fame CSV"
    else:
        from importlib import import_module

        module = import_module(f"nsad_lib.discovery.strategies.{strategy}")
        options = {"family": family} if strategy == "search" else {}
        result = module.run(source, engine, seed=seed, budget_s=budget, progress=say, **options)
        if engine is None:  # search
            strategy_name, backend_name, backend_version = strategy, "nsad-lib-gp", "nsad-lib"
        else:
            strategy_name, backend_name, backend_version = strategy, engine.name, engine.version()
    if not result.candidates:
        raise NsadError(f"{strategy_name} found no usable formula (all {len(result.rejected)} expressions were rejected); "
                        "try a larger --budget or another --strategy")

    # Validation: as many candidates as the budget's validation share pays for (deterministic).
    seeds = tuple(seed + i for i in range(VALIDATION_SEEDS))
    per_training = training_cost(len(source.y_fit), VALIDATION_EPOCHS)
    share = 0.45 * budget if strategy == "search" else (0.7 if strategy == "collapse" else 0.75) * budget
    share -= per_training * len(seeds)  # the ReLU reference
    n_keep = max(1, min(MAX_VALIDATED, int(share / (per_training * len(seeds) * 2))))
    shortlist = result.candidates[:n_keep]
    say(f"validating {len(shortlist)} candidate(s), frozen and trainable, {VALIDATION_EPOCHS} epochs x {len(seeds)} seeds")

    def report(v: validate.Validated) -> None:
        say(f"  {v.candidate.formula.canonical}  [{'trainable' if v.trainable else 'frozen'}]  "
            f"val AUC {v.auc:.4f}  acc {v.accuracy:.4f}")

    validated = validate.validate(shortlist, source, seeds=seeds, epochs=VALIDATION_EPOCHS,
                                  deadline=clock.hard_deadline, on_result=report)
    import torch.nn as nn

    relu_auc, relu_acc, relu_params, _ = validate.score(nn.ReLU, source, seeds=seeds, epochs=VALIDATION_EPOCHS)
    chosen = validate.best(validated)
    wall = time.monotonic() - started
    formula = chosen.candidate.formula
    say(f"best: {formula.canonical} {dict(formula.parameters)} ({'trainable' if chosen.trainable else 'frozen'}); "
        f"val AUC {chosen.auc:.4f} vs ReLU {relu_auc:.4f}")

    from nsad_lib.entry import Entry

    settings = {**result.settings, "budget_s": budget, "validation": {
        "seeds": list(seeds), "epochs": VALIDATION_EPOCHS, "candidates": len(shortlist),
        "selection": f"highest mean val AUC; within {validate.TIE} the simpler formula, then frozen"}}
    prov = {
        "dataset": provenance.dataset_record(dataset, len(source.train_rows)),
        "split": source.describe(),
        "method": {"strategy": strategy_name, "backend": backend_name, "backend_version": backend_version,
                   "settings": settings, "seed": seed},
        "command": command or "",
        "wall_time_s": round(wall, 1),
        "deadline_hit": clock.deadline_hit,
        "environment": provenance.environment(),
        "candidates": [v.record() for v in validated],
        "strategy_facts": result.facts,
        "rejected": result.rejected[:20],
        "license": "CC-BY-4.0",
    }
    metrics = {
        "validation": {"val_auc": round(chosen.auc, 5), "val_accuracy": round(chosen.accuracy, 5), "params": chosen.params,
                       "baseline_relu": {"val_auc": round(relu_auc, 5), "val_accuracy": round(relu_acc, 5), "params": relu_params},
                       "seeds": list(seeds), "network": "light"},
        "complexity": formula.complexity,
    }
    summary = (f"Discovered on {dataset.name} ({strategy_name}, {backend_name}, seed {seed}); "
               f"val AUC {chosen.auc:.3f} vs Light ReLU {relu_auc:.3f} on the training split")
    entry = Entry.create(name, version, formula.canonical, parameters=formula.parameters, trainable=chosen.trainable,
                         summary=summary, domains={"source": provenance.source_domain(dataset, source.train_rows), "transfers": []},
                         provenance=prov, metrics=metrics)
    path = None if dry_run or reg is None else reg.add(entry, reg_dir)  # type: ignore[attr-defined]
    return DiscoveryResult(entry, path, validated, {"val_auc": relu_auc, "val_accuracy": relu_acc}, wall)
