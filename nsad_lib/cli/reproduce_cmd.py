"""``nsad-lib reproduce``: re-run the paper's table on the benchmark runner (resumable: runs are
stored in ``OUT/runs/``) and write results.json/.md/.png."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from nsad_lib.cli._options import comma_list, seed_list
from nsad_lib.errors import NsadError


def reproduce_command(
    data_dir: Annotated[Optional[Path], typer.Option(
        "--data-dir", exists=True, file_okay=False,
        help="Folder holding the data files (default: NSAD_DATA_DIR, the user cache, ../shared/data).")] = None,
    datasets: Annotated[str, typer.Option("--datasets", help="Comma-separated datasets.")] = "forest,spambase,higgs",
    activations: Annotated[Optional[str], typer.Option(
        "--activations", help="Light activations to run instead of the paper's set: builtin names "
        "(relu, gelu, silu), registry ids or names, or hf://OWNER/REPO/ID\\[@REVISION]; "
        "add :trainable or :fixed to choose whether the constants train.")] = None,
    extra: Annotated[Optional[str], typer.Option(
        "--extra", help="Activations added to the set, e.g. higgs-v1.")] = None,
    no_heavy: Annotated[bool, typer.Option("--no-heavy", help="Skip the Heavy ReLU baseline.")] = False,
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds (the paper: 42,43,44).")] = "42,43,44",
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs (the paper: 15).")] = 15,
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="Output folder.")] = Path("results/reproduce"),
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", min=1, help="Worker processes (default: cores, max 4).")] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Torch threads per run (results depend on it).")] = 1,
    sample: Annotated[bool, typer.Option("--sample", help="Use the small samples shipped in the package.")] = False,
    download: Annotated[bool, typer.Option("--download", help="Download missing UCI originals.")] = False,
    paper_split: Annotated[bool, typer.Option(
        "--paper-split", help="Score discovery rows too, as the paper did.")] = False,
    executor: Annotated[str, typer.Option(
        "--executor", help="local (process pool) or ray (the benchmark runner's executors).")] = "local",
    address: Annotated[Optional[str], typer.Option(
        "--address", help="An existing Ray cluster (HOST:PORT, ray://HOST:PORT or auto).")] = None,
) -> None:
    """Re-run the paper's results table (datasets x models x activations x seeds)."""
    from rich.console import Console

    from nsad_lib.bench.runner import EXECUTORS, check_ray_address
    from nsad_lib.paper.reproduce import Settings, default_jobs, plan

    if executor not in EXECUTORS:
        raise NsadError(f"--executor {executor!r}: use local or ray")
    if address and executor != "ray":
        raise NsadError("--address is for --executor ray")
    if address:
        check_ray_address(address)
    names = comma_list(datasets)
    if not names:
        raise NsadError("--datasets: name at least one dataset")
    settings = Settings(seeds=seed_list(seeds), epochs=epochs, hold_out_discovery_rows=not paper_split,
                        threads=threads, jobs=jobs or default_jobs())
    rows = plan(names, comma_list(activations) if activations is not None else None, comma_list(extra),
                heavy=not no_heavy)
    if not rows:
        raise NsadError("nothing to run: no activations and --no-heavy")
    console = Console(stderr=True)
    loaded = _load(names, console, data_dir=data_dir, download=download, sample=sample)
    command = _command_line(data_dir=data_dir, datasets=",".join(names), activations=activations,
                            extra=extra, no_heavy=no_heavy, settings=settings, out=out, sample=sample,
                            download=download, jobs=jobs, executor=executor, address=address)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = _run_with_progress(console, rows, loaded, settings, store_dir=out / "runs",
                                 executor=executor, address=address)
    _report(rows, results, loaded, settings, out=out, command=command, wall=time.perf_counter() - start)


def _load(names: list[str], console, **options) -> dict:  # -> {name: Dataset}
    """Every dataset, loaded before any training (a missing file fails at once), one line each."""
    from nsad_lib.data import datasets as data

    loaded = {}
    for name in names:
        ds = data.load(name, **options)
        loaded[name] = ds
        console.print(f"{name}: {ds.n_rows:,} rows x {ds.n_features} features ({ds.meta.source})")
    return loaded


def _report(rows, results, loaded, settings, *, out: Path, command: str, wall: float) -> None:
    """Write results.json/.md/.png into ``out`` and print the table, the tolerance line and the timing."""
    from nsad_lib.paper.report import markdown_table, tolerance_line, write_figure, write_json, write_markdown
    from nsad_lib.paper.reproduce import summarize
    from nsad_lib.training.protocol import held_out_rows

    summaries = summarize(rows, results)
    excluded = {n: (len(held_out_rows(ds)) if settings.hold_out_discovery_rows else 0)
                for n, ds in loaded.items()}
    common = dict(command=command, settings=settings, datasets=loaded, excluded=excluded, wall_seconds=wall)
    files = [
        write_json(out / "results.json", results=results, summaries=summaries, **common),
        write_markdown(out / "results.md", summaries, **common),
        write_figure(out / "results.png", summaries),
    ]
    typer.echo(markdown_table(summaries))
    typer.echo("")
    typer.echo(tolerance_line(summaries))
    cpu = sum(r.cpu_seconds for r in results)
    typer.echo(f"{len(results)} runs in {wall / 60:.1f} min (CPU {cpu / 60:.1f} min); wrote "
               + ", ".join(str(f) for f in files))


def _command_line(*, data_dir, datasets, activations, extra, no_heavy, settings, out, sample,
                  download, jobs, executor="local", address=None) -> str:
    """The command that reproduces these results, every choice spelled out."""
    parts = ["nsad-lib", "reproduce"]
    if data_dir is not None:
        parts += ["--data-dir", str(data_dir)]
    parts += ["--datasets", datasets]
    if activations is not None:
        parts += ["--activations", activations]
    if extra:
        parts += ["--extra", extra]
    parts += ["--seeds", ",".join(str(s) for s in settings.seeds), "--epochs", str(settings.epochs)]
    if settings.threads != 1:
        parts += ["--threads", str(settings.threads)]
    if jobs:
        parts += ["--jobs", str(jobs)]
    if executor != "local":
        parts += ["--executor", executor]
    if address:
        parts += ["--address", address]
    for flag, on in (("--no-heavy", no_heavy), ("--sample", sample), ("--download", download),
                     ("--paper-split", not settings.hold_out_discovery_rows)):
        if on:
            parts.append(flag)
    parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def _run_with_progress(console, rows, loaded, settings, **runner):  # -> list[RunResult]
    """Train every (row, seed) on the benchmark runner with a progress bar on stderr; runs stored
    in ``OUT/runs/`` are not trained again."""
    from nsad_lib.cli._progress import training_progress
    from nsad_lib.paper.reproduce import run_table

    with training_progress(console) as progress:
        task = progress.add_task("training", total=len(rows) * len(settings.seeds))

        def on_result(result, done: int, total: int) -> None:
            progress.update(task, completed=done, description=(
                f"{result.dataset} {result.model} {result.activation} seed {result.seed}: "
                f"acc {result.accuracy:.3f}"))

        return run_table(rows, loaded, settings, on_result=on_result, **runner)


def register(app: typer.Typer) -> None:
    """Add ``reproduce`` to the app."""
    app.command("reproduce")(reproduce_command)
