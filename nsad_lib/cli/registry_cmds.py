"""``nsad-lib list`` and ``nsad-lib show``: browse the registry from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from nsad_lib.cli._markup import plain

_MARK_STYLE = {"verified": "green", "predicted": "cyan", "fails": "red", "mixed": "yellow", "unknown": "dim"}


def _domain_marks(entry) -> dict[str, str]:  # -> {"continuous": mark, "discrete": mark}
    try:
        from nsad_lib.compat.check import domain_marks
    except ImportError:  # the checker is optional for listing
        source = entry.domains.get("source", "unknown")
        marks = {"continuous": "unknown", "discrete": "unknown"}
        if source in marks:
            marks[source] = "predicted"
        elif source == "any":
            marks = {"continuous": "predicted", "discrete": "predicted"}
        return marks
    return domain_marks(entry)


def list_command(
    registry: Optional[list[Path]] = typer.Option(None, "--registry", "-r", exists=True, file_okay=False, help="Extra registry directory (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """List every registry entry with its formula and domain marks."""
    from rich.console import Console
    from rich.table import Table

    from nsad_lib.registry.store import Registry

    entries = Registry(registry or None).entries()
    if as_json:
        typer.echo(json.dumps([{"id": e.id, "formula": e.formula, "parameters": e.parameters, "trainable": e.trainable, "domains": _domain_marks(e), "summary": e.summary} for e in entries], indent=2))
        return
    table = Table(title=f"nsad-lib registry ({len(entries)} entries)")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("formula")
    table.add_column("params", justify="right")
    table.add_column("continuous", no_wrap=True)
    table.add_column("discrete", no_wrap=True)
    table.add_column("summary", overflow="fold")
    from nsad_lib.compat.marks import domain_evidence

    table.caption = "marks: verified/fails/mixed N/M = N of the M measured datasets agree; predicted = not measured"
    for e in entries:  # entry fields are untrusted text: Text objects, never markup
        marks = {d: m.short for d, m in domain_evidence(e).items()}
        params = str(len(e.parameters)) + (" (trainable)" if e.trainable and e.parameters else "")
        summary = e.summary if len(e.summary) <= 70 else e.summary[:67] + "..."
        table.add_row(
            plain(e.id),
            plain(e.formula),
            params,
            *(plain(marks.get(d, "unknown"), _MARK_STYLE.get(marks.get(d, "unknown").split(" ")[0], "dim")) for d in ("continuous", "discrete")),
            plain(summary, one_line=True),
        )
    Console().print(table)


def show_command(
    ref: str = typer.Argument(..., metavar="ID", help="Entry: ID (higgs-v1), NAME (latest version) or hf://OWNER/REPO/ID\\[@REVISION]."),
    plot: Optional[Path] = typer.Option(None, "--plot", dir_okay=False, help="Write a PNG of f and f' over [-5, 5]."),
    registry: Optional[list[Path]] = typer.Option(None, "--registry", "-r", exists=True, file_okay=False, help="Extra registry directory (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full entry as JSON."),
    full: bool = typer.Option(False, "--full", help="Also print f'(x) and the full provenance."),
) -> None:
    """Show one entry: formula, LaTeX, parameters, source, metrics and domain marks; optionally plot it."""
    from nsad_lib.cli._ids import resolve
    from nsad_lib.cli._show import render

    resolved = resolve(ref, registry)
    entry = resolved.entry
    if plot is not None:
        from nsad_lib.formula.plot import plot_formula

        plot_formula(entry.formula_object(), plot, title=entry.id)
    if as_json:
        typer.echo(entry.to_json())
        return
    render(resolved, full=full)
    if plot is not None:
        typer.echo(f"plot written to {plot}")


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``show``."""
    app.command("list")(list_command)
    app.command("show")(show_command)
