"""``nsad-lib check``: will a registry formula transfer to this data? Answered before training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

_STYLE = {"transfers": "bold green", "uncertain": "bold yellow", "does-not-transfer": "bold red"}


def check_command(
    entry_id: str = typer.Argument(..., metavar="ID", help="Entry: ID (higgs-v1), NAME (latest version) or hf://OWNER/REPO/ID\\[@REVISION]."),
    data: str = typer.Option(..., "--data", "-d", help="Dataset name (higgs, forest, spambase, sms) or a data file."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="Label column of a data file (name or index; default: the last column)."),
    positive: Optional[str] = typer.Option(None, "--positive", help="Label value counted as the positive class, when a data file's label column has more than two values."),
    probe: bool = typer.Option(False, "--probe", help="Also run a short real training (Light+formula vs Light+ReLU) on the training split."),
    probe_epochs: int = typer.Option(5, "--probe-epochs", min=1, help="Epochs of the probe."),
    probe_rows: int = typer.Option(20_000, "--probe-rows", min=100, help="Training-split rows the probe uses at most."),
    registry: Optional[list[Path]] = typer.Option(None, "--registry", "-r", exists=True, file_okay=False, help="Registry directory searched first (repeatable); the first one receives --write-evidence."),
    write_evidence: bool = typer.Option(False, "--write-evidence", help="Record the outcome as a new entry version in the first --registry directory."),
    sample_rows: int = typer.Option(5000, "--sample", min=100, help="Training-split rows profiled."),
    seed: int = typer.Option(42, "--seed", help="Split, sample and initialisation seed."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Predict whether an activation transfers to a dataset, with the reasons; optionally probe it."""
    import shlex
    import sys

    from nsad_lib.cli._ids import registry_with, resolve
    from nsad_lib.compat.check import check, write_evidence as write
    from nsad_lib.errors import NsadError

    if write_evidence and not registry:
        raise NsadError("--write-evidence needs --registry DIR (a user registry; the bundled one is read-only)")
    resolved = resolve(entry_id, registry)
    reg = registry_with([resolved], registry)
    verdict = check(resolved.entry, data, target=target, probe=probe, registry=reg, sample_rows=sample_rows, seed=seed,
                    probe_epochs=probe_epochs, probe_rows=probe_rows, positive=positive)
    written = None
    if write_evidence and registry:
        command = "nsad-lib " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
        written = write(verdict, registry[0], registry=reg, command=command)
        shadow = _bundled_holder(written.name)
    if as_json:
        out = verdict.to_dict()
        if written is not None:
            out["written"] = written.id
        typer.echo(json.dumps(out, indent=2))
        return
    _print_human(verdict, written.id if written is not None else None)
    if written is not None and shadow:
        typer.echo(f"note: the name {written.name!r} still resolves to the bundled {shadow}; use the id {written.id} for this copy")


def _bundled_holder(name: str) -> Optional[str]:
    """The latest bundled id under ``name`` (None when the bundled registry does not hold it)."""
    from nsad_lib.registry.store import Registry

    versions = [e for e in Registry(include_env=False).entries() if e.name == name]
    return max(versions, key=lambda e: e.version).id if versions else None


def _print_human(verdict, written: Optional[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    dp = verdict.data_profile
    console.print(f"[bold]{escape(verdict.entry_id)}[/bold]  f(x) = {escape(verdict.formula)}")
    console.print(f"data: {escape(verdict.dataset)} ({dp.n_rows:,} training-split rows profiled, {dp.n_features} features): "
                  f"[bold]{dp.domain}[/bold] (confidence {dp.confidence:.2f}); formula source: {verdict.source_domain}")
    style = _STYLE.get(verdict.verdict, "bold")
    console.print(f"verdict: [{style}]{verdict.verdict}[/{style}]  score {verdict.score:.2f}  "
                  f"({verdict.seconds:.1f} s, no training)" if verdict.probe is None else
                  f"verdict: [{style}]{verdict.verdict}[/{style}]  score {verdict.score:.2f}  ({verdict.seconds:.1f} s)")
    console.print("why:")
    for r in verdict.reasons:
        mark = "[green]+[/green]" if r.accepted else "[red]-[/red]"
        weight = f" ({r.weight:+.2f})" if r.weight else ""
        console.print(f"  {mark} [bold]{r.rule}[/bold]{weight}: {escape(r.text)}")
    console.print("data profile:")
    for text in dp.reasons:
        console.print(f"  . {escape(text)}")
    if verdict.probe is not None:
        p = verdict.probe
        console.print(f"probe: Light+formula {p.accuracy:.3f} vs Light ReLU {p.baseline_relu:.3f} "
                      f"({100 * p.delta:+.1f} points, {p.epochs} epochs, seeds {list(p.seeds)}): [bold]{p.verdict}[/bold]")
    if written:
        console.print(f"evidence written as new entry [bold]{escape(written)}[/bold]")


def register(app: typer.Typer) -> None:
    """Add ``check`` to the app."""
    app.command("check")(check_command)
