"""``nsad-lib discover`` (and ``nsad-lib demo``): find an activation on data, register it.

``--data DATA`` searches one dataset; ``--suite NAME --split source`` searches the source half of
a benchmark suite (:mod:`nsad_lib.discovery.suite`), evaluations run by the benchmark runner.

Exit codes: 0 an entry was found (and written unless ``--dry-run``); 2 bad input (before any data
is loaded) or ``--time-limit`` passed; 3 the best formula does not beat Light ReLU on validation,
so nothing was written (``--keep-if-worse`` writes it anyway and exits 0).
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import Annotated, Optional

import typer

from nsad_lib.cli._options import (
    BackendOpt,
    DataOpt,
    FamilyOpt,
    JsonOpt,
    PositiveOpt,
    RegistryOutOpt,
    SeedOpt,
    StrategyOpt,
    TargetOpt,
    TaskOpt,
)

#: Exit code when the best formula does not beat Light ReLU and nothing was written.
EXIT_NOT_BETTER = 3

_SUITE = "Suite search (--suite)"
#: ``--data`` as every command spells it, but optional here (``--suite`` is the other source).
OptionalDataOpt = Annotated[Optional[str], typer.Option("--data", "-d", help=DataOpt.__metadata__[0].help)]


def discover_command(
    name: Annotated[str, typer.Option("--name", help="Entry name; the new entry is NAME-v(N+1).")],
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    task: TaskOpt = None,
    strategy: StrategyOpt = "search",
    backend: BackendOpt = "operon",
    budget: Annotated[Optional[float], typer.Option(
        "--budget",
        help="Nominal seconds on an idle 2-core machine (default: search 300, distill 120, collapse 40); converted "
             "once into a fixed amount of work, so a slower machine takes longer but gives the same result.")] = None,
    evaluations: Annotated[Optional[int], typer.Option(
        "--evaluations", help="search only: train exactly N formulas (instead of --budget).")] = None,
    time_limit: Annotated[Optional[float], typer.Option(
        "--time-limit",
        help="Stop with an error (exit 2, nothing written) if the run takes longer than this many seconds.")] = None,
    keep_if_worse: Annotated[bool, typer.Option(
        "--keep-if-worse",
        help="Write the entry even if it does not beat Light ReLU on validation "
             "(otherwise exit 3, nothing written).")] = False,
    as_json: JsonOpt = False,
    seed: SeedOpt = 42,
    registry: RegistryOutOpt = None,
    from_pysr_csv: Annotated[Optional[str], typer.Option(
        "--from-pysr-csv", help="Validate the equations of a PySR hall_of_fame CSV instead of searching.")] = None,
    max_rows: Annotated[Optional[int], typer.Option(
        "--max-rows", help="Use at most this many training rows (quick runs).")] = None,
    family: FamilyOpt = "any",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run everything but write nothing.")] = False,
    data: OptionalDataOpt = None,
    suite: Annotated[Optional[str], typer.Option(
        "--suite", rich_help_panel=_SUITE,
        help="Search the source half of this benchmark suite (tabular-25, quick, paper) instead of --data.")] = None,
    split: Annotated[Optional[str], typer.Option(
        "--split", rich_help_panel=_SUITE,
        help="The half searched: source (the default; the target half is never read by a search).")] = None,
    datasets: Annotated[Optional[str], typer.Option(
        "--datasets", rich_help_panel=_SUITE,
        help="Comma-separated subset of the source half (default: all of it).")] = None,
    split_seed: Annotated[Optional[int], typer.Option(
        "--split-seed", rich_help_panel=_SUITE, help="Seed of the suite split (default: the fixed one).")] = None,
    population: Annotated[int, typer.Option("--population", rich_help_panel=_SUITE,
                                            help="Formulas kept per generation.")] = 16,
    generations: Annotated[Optional[int], typer.Option(
        "--generations", rich_help_panel=_SUITE,
        help="At most this many generations after the first (default: until --evaluations).")] = None,
    epochs: Annotated[int, typer.Option("--epochs", rich_help_panel=_SUITE,
                                        help="Epochs of each training run.")] = 10,
    eval_seeds: Annotated[int, typer.Option("--eval-seeds", rich_help_panel=_SUITE,
                                            help="Seeds per (formula, dataset): SEED, SEED+1, ...")] = 1,
    executor: Annotated[str, typer.Option("--executor", rich_help_panel=_SUITE,
                                          help="local (a process pool) or ray.")] = "local",
    workers: Annotated[int, typer.Option("--workers", "-j", rich_help_panel=_SUITE,
                                         help="Parallel training runs.")] = 1,
    address: Annotated[Optional[str], typer.Option(
        "--address", rich_help_panel=_SUITE, help="Ray cluster HOST:PORT (--executor ray).")] = None,
    out: Annotated[Optional[str], typer.Option(
        "--out", "-o", rich_help_panel=_SUITE,
        help="Folder of the search's stored evaluations; the same arguments and folder resume a search.")] = None,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", rich_help_panel=_SUITE,
        help="The activation every Δ is measured against (default relu): a builtin, a registry id, or "
             "'formula:TEXT;a=V' (e.g. 'formula:x + a*Abs(b*x);a=0.5;b=2', learned-slope ReLU).")] = None,
    fitness: Annotated[Optional[str], typer.Option(
        "--fitness", rich_help_panel=_SUITE,
        help="The search's fitness: mean (the default; mean Δ) or wins (share of source datasets with Δ > 0, "
             "plus 0.1 x the mean Δ clipped to ±3 points).")] = None,
) -> None:
    """Discover an activation formula on the training split of DATA (or on the source half of a
    benchmark suite, --suite) and add it to a registry."""
    suite_options = {"--split": split, "--datasets": datasets, "--split-seed": split_seed, "--out": out,
                     "--generations": generations, "--address": address,
                     "--population": None if population == 16 else population,
                     "--epochs": None if epochs == 10 else epochs, "--eval-seeds": None if eval_seeds == 1 else eval_seeds,
                     "--executor": None if executor == "local" else executor, "--workers": None if workers == 1 else workers,
                     "--baseline": baseline, "--fitness": fitness}
    if suite is not None or any(v is not None for v in suite_options.values()):
        _suite_search(suite, data, [k for k, v in suite_options.items() if v is not None], name=name, split=split, datasets=datasets, split_seed=split_seed,
                      population=population, generations=generations, epochs=epochs, eval_seeds=eval_seeds,
                      executor=executor, workers=workers, address=address, out=out, family=_value(family),
                      seed=seed, evaluations=evaluations, budget=budget, registry=registry, dry_run=dry_run,
                      keep_if_worse=keep_if_worse, as_json=as_json, baseline="relu" if baseline is None else baseline,
                      fitness="mean" if fitness is None else fitness,
                      single_only={"--target": target, "--positive": positive, "--task": task,
                                   "--from-pysr-csv": from_pysr_csv, "--max-rows": max_rows,
                                   "--time-limit": time_limit,
                                   "--strategy": None if _value(strategy) == "search" else strategy,
                                   "--backend": None if _value(backend) == "operon" else backend})
        return
    if data is None:
        from nsad_lib.errors import NsadError

        raise NsadError("give --data DATA (one dataset) or --suite NAME (a suite search)")
    result = _run(data, name=name, target=target, positive=positive, task=_value(task), strategy=_value(strategy),
                  backend=_value(backend), budget_s=budget, evaluations=evaluations, seed=seed, registry=registry,
                  from_pysr_csv=from_pysr_csv, max_rows=max_rows, family=_value(family), command=_command_line(),
                  dry_run=dry_run, keep_if_worse=keep_if_worse, time_limit_s=time_limit)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        _print_result(result, keep_if_worse)
    if not result.beats_baseline:
        _explain_not_better(result, keep_if_worse)
        if not keep_if_worse:
            raise typer.Exit(EXIT_NOT_BETTER)


def _suite_search(suite: Optional[str], data: Optional[str], given: list[str], *, name: str, datasets: Optional[str], single_only: dict,
                  as_json: bool, seed: int, evaluations: Optional[int], budget: Optional[float], eval_seeds: int,
                  **options) -> None:
    """``discover --suite``: check, search the source half, print two lines (or --json); exit 3 if it
    does not beat ReLU (unless --keep-if-worse)."""
    from nsad_lib.errors import NsadError

    if suite is None:
        raise NsadError(f"{', '.join(given)} need{'s' if len(given) == 1 else ''} --suite NAME (a suite search)")
    if data is not None:
        raise NsadError("give --data (one dataset) or --suite (a suite search), not both")
    bad = [flag for flag, value in single_only.items() if value is not None]
    if bad:
        raise NsadError(f"{', '.join(bad)} apply to a single-dataset discover (--data), not to --suite")
    names = [d for d in (datasets or "").split(",") if d.strip()]
    if datasets is not None and not names:
        raise NsadError("--datasets needs at least one dataset name")
    import torch
    from rich.console import Console

    from nsad_lib.discovery.suite import discover_suite

    torch.set_num_threads(1)
    console = Console(stderr=True, log_path=False)
    with console.status("[bold]searching...", spinner="dots") as status:
        def progress(msg: str) -> None:
            status.update(f"[bold]{msg}")
            console.log(msg)

        result = discover_suite(suite=suite, name=name, datasets=names, seed=seed, evaluations=evaluations,
                                budget_s=budget, repeats=eval_seeds, command=_command_line(), progress=progress,
                                **options)
    keep_if_worse = options.get("keep_if_worse", False)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        e = result.entry
        m = e.metrics["suite_search"]
        where = _where(result, keep_if_worse)
        params = ", ".join(f"{k}={v:.4g}" for k, v in e.parameters.items())
        typer.echo(f"{e.id}: {e.formula}" + (f"  [{params}; trainable]" if params else "") + where)
        per = ", ".join(f"{n} {d:+.2f}" for n, d in m["delta_points"].items())
        against = "Light ReLU" if result.search.baseline == "relu" else f"Light {result.search.baseline}"
        typer.echo(f"fitness {m['fitness']:+.3f}; mean Δ {m['mean_delta_points']:+.3f} points vs {against} ({per}); "
                   f"{result.search.facts['evaluated']} evaluations, {result.counts['ran']} runs trained, "
                   f"{result.counts['skipped']} from the store; {result.wall_time_s:.0f} s")
    if not result.beats_baseline:
        typer.echo("The best formula does not beat "
                   + ("Light ReLU" if result.search.baseline == "relu" else f"the baseline {result.search.baseline}")
                   + " on the source half"
                   + ("" if keep_if_worse else "; nothing written (--keep-if-worse writes it; exit code 3)."), err=True)
        if not keep_if_worse:
            raise typer.Exit(EXIT_NOT_BETTER)


def _value(choice: object) -> str:
    """An Enum choice's value (a default given as the plain string passes through)."""
    return getattr(choice, "value", choice)  # type: ignore[return-value]


def _command_line() -> str:
    """The exact command as typed (argv re-quoted), for the entry's provenance."""
    args = sys.argv[1:]
    return "nsad-lib " + shlex.join(args) if args else "nsad-lib discover"


def _run(data: str, **kwargs):  # -> DiscoveryResult
    """``nsad_lib.discovery.discover`` with a spinner and a log line per step on stderr."""
    import torch
    from rich.console import Console

    from nsad_lib.discovery import discover

    torch.set_num_threads(1)  # deterministic results (summation order) and fair to shared cores
    console = Console(stderr=True, log_path=False)
    with console.status("[bold]discovering...", spinner="dots") as status:
        def progress(msg: str) -> None:
            status.update(f"[bold]{msg}")
            console.log(msg)

        return discover(data, progress=progress, **kwargs)


def _where(result, keep_if_worse: bool) -> str:
    """Where the entry went: its path, or why it was not written."""
    if result.path:
        return f" -> {result.path}"
    if not result.beats_baseline and not keep_if_worse:
        return " (not written: it does not beat ReLU)"
    return " (dry run, nothing written)"


def _print_result(result, keep_if_worse: bool) -> None:
    """Two lines: the entry (and where it went), then its validation against Light ReLU."""
    e = result.entry
    m = e.metrics["validation"]
    relu = m["baseline_relu"]
    where = _where(result, keep_if_worse)
    params = ", ".join(f"{k}={v:.4g}" for k, v in e.parameters.items())
    shown = f"  [{params}; {'trainable' if e.trainable else 'frozen'}]" if params else ""
    typer.echo(f"{e.id}: {e.formula}{shown}{where}")
    label, key = _metric(m)
    acc = f" / acc {m['val_accuracy']:.4f}" if m.get("val_accuracy") is not None else ""
    relu_acc = f" / {relu['val_accuracy']:.4f}" if relu.get("val_accuracy") is not None else ""
    typer.echo(f"val {label} {m[key]:.4f}{acc} ({m['params']:,} params); "
               f"Light ReLU {relu[key]:.4f}{relu_acc}; {result.wall_time_s:.0f} s")
    known = e.provenance.get("prior_art")
    if isinstance(known, dict) and known.get("name"):
        typer.echo(f"rediscovered {known['name']} ({known.get('citation', '?')}): a published activation, not a new one")


def _metric(validation: dict) -> tuple[str, str]:
    """(label, key) of the validation score an entry records: AUC, macro-AUC or R²."""
    for label, key in (("AUC", "val_auc"), ("macro-AUC", "val_macro_auc"), ("R²", "val_r2")):
        if key in validation:
            return label, key
    return "AUC", "val_auc"


def _explain_not_better(result, keep_if_worse: bool) -> None:
    """On stderr: the best formula loses to Light ReLU, and what to do about it."""
    m = result.entry.metrics["validation"]
    relu = m["baseline_relu"]
    kept = " (written anyway: --keep-if-worse)" if result.path else ""
    advice = "" if keep_if_worse else (
        "; nothing written. Use relu, try another --strategy/--family or a larger --budget, "
        "or pass --keep-if-worse to save it anyway (exit code 3).")
    label, key = _metric(m)
    typer.echo(f"The best formula does not beat Light ReLU on validation ({label} {m[key]:.4f} vs "
               f"{relu[key]:.4f}){kept}" + advice, err=True)


def demo_command(
    evaluations: Annotated[Optional[int], typer.Option(
        "--evaluations", min=1,
        help="Formulas the search trains on the HIGGS sample (default: the demo's fixed size).")] = None,
    plot: Annotated[str, typer.Option("--plot", help="Where to save the plot of the formula.")] = "demo_activation.png",
) -> None:
    """Discover on the shipped HIGGS sample, plot it, and compare it with ReLU on the Forest sample."""
    from nsad_lib.discovery.demo import DEMO_EVALUATIONS
    from nsad_lib.discovery.demo import main as demo_main

    demo_main(evaluations=evaluations or DEMO_EVALUATIONS, plot_path=plot)


def register(app: typer.Typer) -> None:
    """Add ``discover`` and ``demo`` to the app."""
    app.command("discover")(discover_command)
    app.command("demo")(demo_command)
