"""``nsad-lib list`` and ``nsad-lib show``: browse the registry from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from nsad_lib.cli._markup import plain, visible

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
    for e in entries:  # entry fields are untrusted text: Text objects, never markup
        marks = _domain_marks(e)
        params = str(len(e.parameters)) + (" (trainable)" if e.trainable and e.parameters else "")
        summary = e.summary if len(e.summary) <= 70 else e.summary[:67] + "..."
        table.add_row(
            plain(e.id),
            plain(e.formula),
            params,
            *(plain(marks.get(d, "unknown"), _MARK_STYLE.get(marks.get(d, "unknown"), "dim")) for d in ("continuous", "discrete")),
            plain(summary, one_line=True),
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
    from rich.text import Text

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
    marks = _domain_marks(entry)
    rows: list[tuple[str, object]] = [
        ("formula", entry.formula),
        ("latex", formula.latex()),
        ("f'(x)", formula.derivative()),
    ]
    if entry.parameters:
        rows.append(("params", f"{entry.parameters} (recommended: {'trainable' if entry.trainable else 'frozen'})"))
    rows.append(("domains", f"source={entry.domains.get('source')}, continuous={marks.get('continuous')}, discrete={marks.get('discrete')}"))
    rows.append(("file", located.path))
    rows.append(("sha256", entry.sha256))
    # Every field is untrusted text (a summary may hold "[/]"): assembled as Text, never parsed as markup.
    body = Text.assemble(plain(entry.id, "bold"), "  ", plain(_clip(entry.summary)))
    for label, value in rows:
        body.append("\n")
        body.append_text(Text.assemble(f"{label:<10}", plain(value)))
    console.print(Panel(body, title="nsad-lib entry", expand=False))
    details = json.dumps({"provenance": entry.provenance, "domains": entry.domains, "metrics": entry.metrics}, indent=2, ensure_ascii=False)
    console.print(Syntax(_clip(visible(details), SHOW_DETAILS_CHARS), "json", word_wrap=True))
    if plot is not None:
        console.print(plain(f"plot written to {plot}"))


#: Longest summary ``show`` prints in full (``--json`` prints everything).
SHOW_SUMMARY_CHARS = 2_000
#: Longest provenance/domains/metrics block ``show`` prints in full.
SHOW_DETAILS_CHARS = 20_000


def _clip(text: str, limit: int = SHOW_SUMMARY_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" ... [{len(text) - limit:,} more characters; `show --json` prints all]"


def register(app: typer.Typer) -> None:
    """Add ``list`` and ``show``."""
    app.command("list")(list_command)
    app.command("show")(show_command)
