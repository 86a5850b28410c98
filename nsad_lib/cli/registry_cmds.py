"""``nsad-lib list`` and ``nsad-lib show``: browse the registry from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from nsad_lib.cli._options import EntryArg, JsonOpt, RegistryOpt

_DOMAINS = ("continuous", "discrete")


def list_command(registry: RegistryOpt = None, as_json: JsonOpt = False) -> None:
    """List every registry entry with its formula and domain marks."""
    from nsad_lib.registry.store import Registry

    entries = Registry(registry or None).entries()
    if as_json:
        typer.echo(_entries_json(entries))
    else:
        _print_table(entries)


def _entries_json(entries) -> str:  # entries: list[Entry]
    from nsad_lib.compat.marks import domain_marks

    return json.dumps([{"id": e.id, "formula": e.formula, "parameters": e.parameters, "trainable": e.trainable,
                        "domains": domain_marks(e), "summary": e.summary} for e in entries], indent=2)


#: Terminal columns from which ``list`` shows the summary column.
SUMMARY_MIN_WIDTH = 140


def _print_table(entries) -> None:  # entries: list[Entry]
    from rich.console import Console
    from rich.table import Table

    from nsad_lib.cli._markup import plain
    from nsad_lib.cli._show import mark_style
    from nsad_lib.compat.marks import domain_evidence

    console = Console()
    # The summary needs room: on a narrow terminal it is left out (``show ID`` prints it).
    with_summary = console.width >= SUMMARY_MIN_WIDTH
    table = Table(title=f"nsad-lib registry ({len(entries)} entries)")
    table.add_column("id", style="bold", overflow="fold", min_width=12)
    table.add_column("formula", min_width=12)
    table.add_column("params", justify="right")
    for domain in _DOMAINS:
        table.add_column(domain, no_wrap=True)
    if with_summary:
        table.add_column("summary", overflow="fold")
    table.caption = ("params: t = trainable by default. marks: verified/fails/mixed N/M = N of the M measured "
                     "datasets agree; predicted = not measured")
    for e in entries:  # entry fields are untrusted text: Text objects, never markup
        marks = {d: m.short for d, m in domain_evidence(e).items()}
        params = str(len(e.parameters)) + (" t" if e.trainable and e.parameters else "")
        summary = e.summary if len(e.summary) <= 70 else e.summary[:67] + "..."
        cells = [marks.get(d, "unknown") for d in _DOMAINS]
        row = [plain(e.id), plain(e.formula), params, *(plain(mark, mark_style(mark.split(" ")[0])) for mark in cells)]
        if with_summary:
            row.append(plain(summary, one_line=True))
        table.add_row(*row)
    console.print(table)


def show_command(
    ref: EntryArg,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", dir_okay=False, help="Write a PNG of f and f' over [-5, 5].")] = None,
    registry: RegistryOpt = None,
    as_json: JsonOpt = False,
    full: Annotated[bool, typer.Option("--full", help="Also print f'(x) and the full provenance.")] = False,
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
    """Add ``list`` and ``show`` to the app."""
    app.command("list")(list_command)
    app.command("show")(show_command)
