"""``nsad-lib bench``: run a grid over a dataset suite (local pool or Ray) into a resumable store;
``nsad-lib bench report DIR``: its leaderboard (markdown, JSON, PNG)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Optional

import typer

from nsad_lib.cli._options import comma_list, seed_list
from nsad_lib.errors import NsadError

bench_app = typer.Typer(invoke_without_command=True, no_args_is_help=False, add_completion=False,
                        help="Benchmark grids over a suite of real datasets, and their leaderboard.")


@bench_app.callback()
def bench(
    ctx: typer.Context,
    suite: Optional[str] = typer.Option(None, "--suite", help="A named suite: paper, tabular-25, quick."),
    datasets: Optional[str] = typer.Option(None, "--datasets", help="Suite members to run (comma-separated), "
                                           "instead of or beside --suite."),
    activations: str = typer.Option("relu,gelu,silu,tanh", "--activations", help="Light activations "
                                    "(builtin names, registry ids or names); relu is the leaderboard's baseline."),
    seeds: str = typer.Option("42,43,44", "--seeds", help="Comma-separated seeds."),
    epochs: int = typer.Option(15, "--epochs", min=1, help="Training epochs per run (the paper: 15)."),
    models: str = typer.Option("light", "--models", help="light, heavy or light,heavy (Heavy runs ReLU only)."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or ray."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel runs (processes, or Ray CPUs when "
                                "Ray starts locally); one torch thread each."),
    address: Optional[str] = typer.Option(None, "--address", help="An existing Ray cluster (HOST:PORT, "
                                          "ray://HOST:PORT or auto); default: start Ray locally."),
    out: Path = typer.Option(Path("results/bench"), "--out", file_okay=False, help="The grid's folder "
                             "(results.jsonl is appended to; runs already stored are skipped)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", exists=True, file_okay=False,
                                            help="Folder holding the shared data files."),
    list_suites: bool = typer.Option(False, "--list", help="List the suites and datasets, then exit."),
) -> None:
    """Run a grid: every dataset x model x activation x seed, resumable (see docs/benchmark.md)."""
    if ctx.invoked_subcommand is not None:
        return
    from nsad_lib.bench import suite as bench_suite

    if list_suites:
        _print_suites(bench_suite)
        return
    if suite is None and not datasets:
        typer.echo(ctx.get_help())
        raise typer.Exit(2)
    members = bench_suite.resolve(suite, comma_list(datasets))
    acts, seeds_, model_list = comma_list(activations), list(seed_list(seeds)), comma_list(models)
    if not acts:
        raise NsadError("--activations: name at least one activation")
    from nsad_lib.bench import runner
    from nsad_lib.bench.store import ResultStore

    runner.validate(acts, model_list)
    runner.session(executor, workers, address)  # bad --executor/--address combinations fail now
    if executor == "ray" and address:
        runner.check_ray_address(address)  # before loading any data
    store = ResultStore(out)
    done_before = store.done_keys()  # a damaged store fails here, before any training
    from rich.console import Console

    console = Console(stderr=True)
    loaded = {}
    for m in members:
        loaded[m.name] = ds = bench_suite.load(m.name, data_dir=data_dir)
        console.print(f"{m.name}: {ds.n_rows:,} rows x {ds.n_features} features, {m.task}")
    specs = runner.plan(loaded, acts, seeds_, epochs, model_list)
    command = " ".join(shlex.quote(a) for a in ["nsad-lib", *sys.argv[1:]]) if sys.argv else "nsad-lib bench"
    with runner.session(executor, workers, address) as session:  # Ray starts (or fails) before any write
        skipped = sum(s.key in done_before for s in specs)
        console.print(f"{len(specs)} runs ({skipped} already in {store.path}); executor {executor}, "
                      f"{workers} worker(s)")
        out.mkdir(parents=True, exist_ok=True)
        from nsad_lib.util.atomic import atomic_write_text

        atomic_write_text(out / "grid.json", json.dumps({
            "command": command, "suite": suite, "datasets": [m.name for m in members],
            "activations": acts, "seeds": seeds_, "epochs": epochs, "models": model_list,
            "executor": executor, "workers": workers}, indent=1) + "\n")
        start = time.perf_counter()
        counts = _run_with_progress(console, runner, specs, loaded, store, executor, workers,
                                    session if executor == "ray" else None)
        wall = time.perf_counter() - start
    typer.echo(f"{counts['ran']} runs in {wall:.1f} s ({counts['skipped']} already stored, "
               f"{counts['failed']} failed); results in {store.path}")
    if counts["failed"]:
        typer.echo(f"re-run the same command to retry the failed runs; `nsad-lib bench report {out}` "
                   f"lists them", err=True)


def _run_with_progress(console, runner, specs, loaded, store, executor, workers, session):  # -> counts
    from nsad_lib.cli._progress import training_progress

    with training_progress(console, failures=True) as progress:
        task = progress.add_task("bench", total=len(specs), failures=0)
        done_keys = store.done_keys()
        progress.update(task, completed=sum(s.key in done_keys for s in specs))

        def on_record(record: dict, done: int, total: int, failures: int) -> None:
            spec = record["spec"]
            what = (f"score {record['result']['score']:.3f}" if record.get("status") == "ok"
                    else "failed")
            progress.update(task, completed=done, failures=failures, description=(
                f"{spec['dataset']} {spec['activation']} seed {spec['seed']}: {what}"))

        return runner.run_grid(specs, loaded, store, executor=executor, workers=workers,
                               ray_session=session, on_record=on_record)


def _print_suites(bench_suite) -> None:
    for name, members in bench_suite.SUITES.items():
        typer.echo(f"{name}: {', '.join(members)}")
    typer.echo("")
    for m in bench_suite.MEMBERS.values():
        typer.echo(f"{m.name:14} {m.task:10} {m.domain:10} {m.rows:>8,} rows  {m.features}")


@bench_app.command("report")
def report(
    directory: Path = typer.Argument(..., file_okay=False, help="A grid's folder (holding results.jsonl)."),
    baseline: str = typer.Option("relu", "--baseline", help="The activation every other is compared with."),
) -> None:
    """Write the grid's leaderboard: leaderboard.md, leaderboard.json and leaderboard.png."""
    from nsad_lib.bench.report import write_report

    files = write_report(directory, baseline=baseline)
    typer.echo(files[0].read_text(encoding="utf-8"))
    typer.echo("wrote " + ", ".join(str(f) for f in files))


def register(app: typer.Typer) -> None:
    """Add ``bench`` (and ``bench report``) to the app."""
    app.add_typer(bench_app, name="bench")
