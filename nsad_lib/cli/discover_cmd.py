"""``nsad-lib discover`` (and ``nsad-lib demo``): find an activation on data, register it.

Exit codes: 0 an entry was found (and written unless ``--dry-run``); 2 bad input (before any data
is loaded) or ``--time-limit`` passed; 3 the best formula does not beat Light ReLU on validation,
so nothing was written (``--keep-if-worse`` writes it anyway and exits 0).
"""

from __future__ import annotations

import json
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
        budget: Optional[float] = typer.Option(None, "--budget", help="Nominal seconds on an idle 2-core machine (default: search 300, distill 120, collapse 40); converted once into a fixed amount of work, so a slower machine takes longer but gives the same result."),
        evaluations: Optional[int] = typer.Option(None, "--evaluations", help="search only: train exactly N formulas (instead of --budget)."),
        time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Stop with an error (exit 2, nothing written) if the run takes longer than this many seconds."),
        keep_if_worse: bool = typer.Option(False, "--keep-if-worse", help="Write the entry even if it does not beat Light ReLU on validation (otherwise exit 3, nothing written)."),
        as_json: bool = typer.Option(False, "--json", help="Print the entry, the validation table and the timings as JSON on stdout."),
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
        console = Console(stderr=True, log_path=False)
        with console.status("[bold]discovering...", spinner="dots") as status:
            def progress(msg: str) -> None:
                status.update(f"[bold]{msg}")
                console.log(msg)

            result = run(data, name=name, target=target, positive=positive, strategy=strategy, backend=backend,
                         budget_s=budget, evaluations=evaluations, seed=seed, registry=registry,
                         from_pysr_csv=from_pysr_csv, max_rows=max_rows, family=family, command=_command_line(),
                         dry_run=dry_run, keep_if_worse=keep_if_worse, time_limit_s=time_limit, progress=progress)
        e = result.entry
        m = e.metrics["validation"]
        relu = m["baseline_relu"]
        lost = not result.beats_baseline
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=1))
        else:
            if result.path:
                where = f" -> {result.path}"
            elif lost and not keep_if_worse:
                where = " (not written: it does not beat ReLU)"
            else:
                where = " (dry run, nothing written)"
            params = ", ".join(f"{k}={v:.4g}" for k, v in e.parameters.items())
            typer.echo(f"{e.id}: {e.formula}" + (f"  [{params}; {'trainable' if e.trainable else 'frozen'}]" if params else "") + where)
            typer.echo(f"val AUC {m['val_auc']:.4f} / acc {m['val_accuracy']:.4f} ({m['params']:,} params); "
                       f"Light ReLU {relu['val_auc']:.4f} / {relu['val_accuracy']:.4f}; "
                       f"{result.wall_time_s:.0f} s")
        if lost:
            kept = " (written anyway: --keep-if-worse)" if result.path else ""
            typer.echo(f"The best formula does not beat Light ReLU on validation (AUC {m['val_auc']:.4f} vs "
                       f"{relu['val_auc']:.4f}){kept}" + ("" if keep_if_worse else
                       "; nothing written. Use relu, try another --strategy/--family or a larger --budget, "
                       "or pass --keep-if-worse to save it anyway (exit code 3)."), err=True)
            if not keep_if_worse:
                raise typer.Exit(3)

    @app.command()
    def demo(
        evaluations: Optional[int] = typer.Option(None, "--evaluations", min=1, help="Formulas the search trains on the HIGGS sample (default: the demo's fixed size)."),
        plot: str = typer.Option("demo_activation.png", "--plot", help="Where to save the plot of the formula."),
    ) -> None:
        """Discover on the shipped HIGGS sample, plot it, and compare it with ReLU on the Forest sample."""
        from nsad_lib.discovery.demo import DEMO_EVALUATIONS, main as demo_main

        demo_main(evaluations=evaluations or DEMO_EVALUATIONS, plot_path=plot)
