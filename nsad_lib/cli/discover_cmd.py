"""``nsad-lib discover`` (and ``nsad-lib demo``): find an activation on data, register it."""

from __future__ import annotations

import shlex
import sys
from typing import Optional

import typer


def _command_line() -> str:
    """The exact command as typed (argv re-quoted), for the entry's provenance."""
    args = sys.argv[1:]
    return "nsad-lib " + shlex.join(args) if args else "nsad-lib discover"


def register(app: typer.Typer) -> None:
    """Add ``discover`` and ``demo`` to the app."""

    @app.command()
    def discover(
        data: str = typer.Option(..., "--data", help="A dataset name (higgs, forest, spambase, sms) or a CSV/TSV/Parquet/NPZ file."),
        name: str = typer.Option(..., "--name", help="Entry name; the new entry is NAME-v(N+1)."),
        target: Optional[str] = typer.Option(None, "--target", help="Target column of a file (name, or index like -1)."),
        positive: Optional[str] = typer.Option(None, "--positive", help="Target value that counts as the positive class."),
        strategy: str = typer.Option("search", "--strategy", help="search (default), distill or collapse (the paper's)."),
        backend: str = typer.Option("operon", "--backend", help="distill/collapse only: operon (default), gplearn or pysr (search uses none)."),
        budget: Optional[float] = typer.Option(None, "--budget", help="Seconds (default: search 300, distill 120, collapse 40)."),
        seed: int = typer.Option(42, "--seed", help="Split seed; only this seed's training rows are read."),
        registry: Optional[str] = typer.Option(None, "--registry", help="Registry directory to write to (default: NSAD_REGISTRY_PATH; not needed with --dry-run)."),
        from_pysr_csv: Optional[str] = typer.Option(None, "--from-pysr-csv", help="Validate the equations of a PySR hall_of_fame CSV instead of searching."),
        max_rows: Optional[int] = typer.Option(None, "--max-rows", help="Use at most this many training rows (quick runs)."),
        family: str = typer.Option("any", "--family", help="search only: any; periodic (sin/cos shapes with trainable constants, a prior for transfer); or gated (x times a learned gate, such as x*sigmoid(a*x))."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Run everything but write nothing."),
    ) -> None:
        """Discover an activation formula on the training split of DATA and add it to a registry."""
        import torch
        from rich.console import Console

        from nsad_lib.discovery import discover as run

        torch.set_num_threads(1)  # deterministic results (summation order) and fair to shared cores
        console = Console(stderr=True)
        with console.status("[bold]discovering...", spinner="dots") as status:
            def progress(msg: str) -> None:
                status.update(f"[bold]{msg}")
                console.log(msg)

            result = run(data, name=name, target=target, positive=positive, strategy=strategy, backend=backend,
                         budget_s=budget, seed=seed, registry=registry, from_pysr_csv=from_pysr_csv,
                         max_rows=max_rows, family=family, command=_command_line(), dry_run=dry_run, progress=progress)
        e = result.entry
        where = f" -> {result.path}" if result.path else " (dry run, nothing written)"
        params = ", ".join(f"{k}={v:.4g}" for k, v in e.parameters.items())
        typer.echo(f"{e.id}: {e.formula}" + (f"  [{params}; {'trainable' if e.trainable else 'frozen'}]" if params else "") + where)
        m = e.metrics["validation"]
        typer.echo(f"val AUC {m['val_auc']:.4f} / acc {m['val_accuracy']:.4f} ({m['params']:,} params); "
                   f"Light ReLU {m['baseline_relu']['val_auc']:.4f} / {m['baseline_relu']['val_accuracy']:.4f}; "
                   f"{result.wall_time_s:.0f} s")

    @app.command()
    def demo(
        budget: float = typer.Option(30.0, "--budget", help="Seconds for the discovery on the HIGGS sample."),
        plot: str = typer.Option("demo_activation.png", "--plot", help="Where to save the plot of the formula."),
    ) -> None:
        """Discover on the shipped HIGGS sample, plot it, and compare it with ReLU on the Forest sample."""
        from nsad_lib.demo import main as demo_main

        demo_main(budget_s=budget, plot_path=plot)
