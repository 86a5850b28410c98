"""``nsad-lib check``: will a registry formula transfer to this data? Answered before training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from nsad_lib.cli._options import (
    DataOpt,
    EntryArg,
    JsonOpt,
    PositiveOpt,
    RegistryOpt,
    SeedOpt,
    TargetOpt,
    TaskOpt,
    probe_epochs_option,
    seed_list,
)

_STYLE = {"transfers": "bold green", "uncertain": "bold yellow", "does-not-transfer": "bold red"}


def check_command(
    entry_id: EntryArg,
    data: DataOpt,
    target: TargetOpt = None,
    positive: PositiveOpt = None,
    task: TaskOpt = None,
    probe: Annotated[bool, typer.Option(
        "--probe", help="Also train Light+formula vs Light+ReLU on the training split; the measured Δ updates the prediction.")] = False,
    probe_epochs: Annotated[str, typer.Option(
        "--probe-epochs", help="Epochs of the probe: 'matched' (as many Adam steps as the protocol's 15 epochs on "
                               "the whole training split: the setting the checker reads) or a number.")] = "matched",
    probe_rows: Annotated[int, typer.Option(
        "--probe-rows", min=100, help="Training-split rows the probe uses at most.")] = 20_000,
    probe_seeds: Annotated[str, typer.Option(
        "--probe-seeds", help="Comma-separated seeds of the probe (one training pair per seed).")] = "42,43,44",
    registry: RegistryOpt = None,
    write_evidence: Annotated[bool, typer.Option(
        "--write-evidence",
        help="Record the outcome as a new entry version in the first --registry directory.")] = False,
    sample_rows: Annotated[int, typer.Option("--sample", min=100, help="Training-split rows profiled.")] = 5000,
    seed: SeedOpt = 42,
    as_json: JsonOpt = False,
) -> None:
    """Predict whether an activation transfers to a dataset, with the reasons; optionally probe it.

    A data file's label column defaults to its last column.
    """
    from nsad_lib.cli._ids import registry_with, resolve
    from nsad_lib.compat.check import check
    from nsad_lib.errors import NsadError

    seeds = seed_list(probe_seeds, "--probe-seeds", nonnegative=True, distinct=True)
    epochs = probe_epochs_option(probe_epochs)
    if write_evidence and not registry:
        raise NsadError("--write-evidence needs --registry DIR (a user registry; the bundled one is read-only)")
    resolved = resolve(entry_id, registry)
    reg = registry_with([resolved], registry)
    verdict = check(resolved.entry, data, target=target, probe=probe, registry=reg, sample_rows=sample_rows, seed=seed,
                    probe_epochs=epochs, probe_rows=probe_rows, probe_seeds=seeds, positive=positive,
                    task=getattr(task, "value", task))
    written = _write_evidence(verdict, registry[0], reg) if write_evidence and registry else None
    if as_json:
        out = verdict.to_dict()
        if written is not None:
            out["written"] = written.id
        typer.echo(json.dumps(out, indent=2))
        return
    _print_human(verdict, written.id if written is not None else None)
    shadow = _bundled_holder(written.name) if written is not None else None
    if written is not None and shadow:
        typer.echo(f"note: the name {written.name!r} still resolves to the bundled {shadow}; "
                   f"use the id {written.id} for this copy")


def _write_evidence(verdict, directory: Path, reg):  # -> Entry
    """The verdict as a new entry version in ``directory``, recording the command as typed."""
    import shlex
    import sys

    from nsad_lib.compat.check import write_evidence

    command = "nsad-lib " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
    return write_evidence(verdict, directory, registry=reg, command=command)


def _bundled_holder(name: str) -> Optional[str]:
    """The latest bundled id under ``name`` (None when the bundled registry does not hold it)."""
    from nsad_lib.registry.store import Registry

    versions = [e for e in Registry(include_env=False).entries() if e.name == name]
    return max(versions, key=lambda e: e.version).id if versions else None


def _print_human(verdict, written: Optional[str]) -> None:
    from rich.console import Console

    from nsad_lib.cli._show import escape  # data column names and paths are untrusted text

    console = Console()
    dp = verdict.data_profile
    console.print(f"[bold]{escape(verdict.entry_id)}[/bold]  f(x) = {escape(verdict.formula)}")
    console.print(f"data: {escape(verdict.dataset)} "
                  f"({dp.n_rows:,} training-split rows profiled, {dp.n_features} features): "
                  f"[bold]{dp.domain}[/bold] (confidence {dp.confidence:.2f}); formula source: {verdict.source_domain}")
    style = _STYLE.get(verdict.verdict, "bold")
    timing = f"{verdict.seconds:.1f} s, no training" if verdict.probe is None else f"{verdict.seconds:.1f} s"
    console.print(f"verdict: [{style}]{verdict.verdict}[/{style}]  score {verdict.score:.2f}  ({timing})")
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
                      f"({100 * p.delta:+.1f} points, {p.epochs} epochs, seeds {list(p.seeds)}): "
                      f"[bold]{p.verdict}[/bold]")
    if written:
        console.print(f"evidence written as new entry [bold]{escape(written)}[/bold]")


def register(app: typer.Typer) -> None:
    """Add ``check`` to the app."""
    app.command("check")(check_command)
