"""``nsad-lib list`` and ``nsad-lib show``: browse the registry from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

_MARK_STYLE = {"verified": "green", "predicted": "cyan", "fails": "red", "unknown": "dim"}


def _domain_marks(entry) -> dict[str, str]:  # -> {"continuous": mark, "discrete": mark}
    try:
        from nsad_lib.compat import domain_marks
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

    from nsad_lib.registry import Registry

    entries = Registry(registry or None).entries()
    if as_json:
        typer.echo(json.dumps([{"id": e.id, "formula": e.formula, "parameters": e.parameters, "trainable": e.trainable, "domains": _domain_marks(e), "summary": e.summary} for e in entries], indent=2))
        return
    table = Table(title=f"nsad-lib registry ({len(entries)} entries)")
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("formula")
    table.add_column("params", justify="right")
    table.add_column("continuous")
    table.add_column("discrete")
    table.add_column("summary", overflow="fold")
    for e in entries:
        marks = _domain_marks(e)
        params = str(len(e.parameters)) + (" (trainable)" if e.trainable and e.parameters else "")
        table.add_row(
            e.id,
            e.formula,
            params,
            *(f"[{_MARK_STYLE.get(marks.get(d, 'unknown'), 'dim')}]{marks.get(d, 'unknown')}[/]" for d in ("continuous", "discrete")),
            e.summary if len(e.summary) <= 70 else e.summary[:67] + "...",
        )
    Console().print(table)


def show_command(
    ref: str = typer.Argument(..., help="Entry id (higgs-v1) or name (latest version)."),
    plot: Optional[Path] = typer.Option(None, "--plot", dir_okay=False, help="Write a PNG of f and f' over [-5, 5]."),
    registry: Optional[list[Path]] = typer.Option(None, "--registry", "-r", exists=True, file_okay=False, help="Extra registry directory (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full entry as JSON."),
) -> None:
    """Show one entry: formula, LaTeX, provenance and domains; optionally plot it."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.syntax import Syntax

    from nsad_lib.registry import Registry

    located = Registry(registry or None).locate(ref)
    entry = located.entry
    if plot is not None:
        from nsad_lib.plotting import plot_formula

        plot_formula(entry.formula_object(), plot, title=entry.id)
    if as_json:
        typer.echo(entry.to_json())
        return
    formula = entry.formula_object()
    console = Console()
    lines = [
        f"[bold]{entry.id}[/]  {entry.summary}",
        f"formula   {entry.formula}",
        f"latex     {formula.latex()}",
        f"f'(x)     {formula.derivative()}",
    ]
    if entry.parameters:
        lines.append(f"params    {entry.parameters} (recommended: {'trainable' if entry.trainable else 'frozen'})")
    marks = _domain_marks(entry)
    lines.append(f"domains   source={entry.domains.get('source')}, continuous={marks.get('continuous')}, discrete={marks.get('discrete')}")
    lines.append(f"file      {located.path}")
    lines.append(f"sha256    {entry.sha256}")
    console.print(Panel("\n".join(lines), title="nsad-lib entry", expand=False))
    console.print(Syntax(json.dumps({"provenance": entry.provenance, "domains": entry.domains, "metrics": entry.metrics}, indent=2, ensure_ascii=False), "json", word_wrap=True))
    if plot is not None:
        console.print(f"plot written to {plot}")


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``show``."""
    app.command("list")(list_command)
    app.command("show")(show_command)
