"""The compact panel ``nsad-lib show`` prints: one screen, the full record behind ``--full``/``--json``.

Every piece of entry text (summary, names, provenance strings) is untrusted: it is escaped
before rich renders it, so ``[red]`` in a summary prints as text, not markup.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from rich.markup import escape as _escape_markup

from nsad_lib.cli._markup import visible

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.hub.refs import Resolved

MARK_STYLE = {"verified": "green", "predicted": "cyan", "fails": "red", "mixed": "yellow", "unknown": "dim"}
_MAX_LINE = 150
#: Longest summary ``show`` prints in full (``--json`` prints everything).
SHOW_SUMMARY_CHARS = 2_000
#: Longest provenance/domains/metrics block ``show --full`` prints in full.
SHOW_DETAILS_CHARS = 20_000


def escape(value: object) -> str:
    """Untrusted text for rich markup: control characters made visible, then markup escaped."""
    return _escape_markup(visible(value))


def _clip_long(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" ... [{len(text) - limit:,} more characters; `show --json` prints all]"


def mark_style(status: str) -> str:
    """The colour of a domain mark's status."""
    return MARK_STYLE.get(status, "dim")


def fmt_value(value: Any) -> str:
    """A stored value as written: floats at their stored precision (shortest round-trip repr)."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {fmt_value(v)}" for k, v in value.items())
    return str(value)


def _clip(text: str, limit: int = _MAX_LINE) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_parameters(parameters: Mapping[str, float], trainable: bool) -> str:
    """``a = 0.6728, b = 0.71 (trainable)``: the stored values, not float32 approximations."""
    if not parameters:
        return "none"
    values = ", ".join(f"{name} = {fmt_value(v)}" for name, v in parameters.items())
    return f"{values} ({'trainable' if trainable else 'frozen'} by default)"


def source_lines(entry: Any, resolved: "Resolved") -> list[str]:
    """Where the formula comes from: method, dataset, license, parent, Hub repository."""
    prov: Mapping[str, Any] = entry.provenance if isinstance(entry.provenance, Mapping) else {}
    method = prov.get("method") if isinstance(prov.get("method"), Mapping) else {}
    dataset = prov.get("dataset") if isinstance(prov.get("dataset"), Mapping) else {}
    strategy = method.get("strategy")
    lines = []
    if strategy == "literature":
        lines.append(f"literature: {method.get('source', '?')}")
    elif strategy:
        seed = f"seed {method['seed']}" if "seed" in method else None
        how = ", ".join(str(x) for x in (strategy, method.get("backend"), seed) if x)
        where = f" on {dataset.get('name')}" if dataset.get("name") else ""
        lines.append(f"discovered{where} ({how})")
    if dataset.get("name") and strategy == "literature":
        lines.append(f"dataset: {dataset.get('name')}")
    rows = dataset.get("rows_used") or dataset.get("rows")
    if strategy and strategy != "literature" and isinstance(rows, int):
        lines[-1] += f", {rows:,} rows"
    extra = [f"license {prov['license']}" if prov.get("license") else None,
             f"created {prov['created']}" if prov.get("created") else None]
    if any(extra):
        lines.append(", ".join(x for x in extra if x))
    if prov.get("parent"):
        lines.append(f"new version of {prov['parent']} (evidence added)")
    if resolved.repo:
        lines.append(f"Hub: {resolved.repo}@{resolved.commit}")
    if (resolved.directory / f"{entry.id}.safetensors").is_file():
        lines.append("trained parameters published beside it (the parameters above are the initial values)")
    return [_clip(line) for line in lines] or ["(no provenance recorded)"]


def metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """One line per top-level metric; the discovery validation in words."""
    lines = []
    for key, value in metrics.items():
        if key == "validation" and isinstance(value, Mapping):
            base = value.get("baseline_relu") if isinstance(value.get("baseline_relu"), Mapping) else {}
            text = f"validation AUC {fmt_value(value.get('val_auc'))} (accuracy {fmt_value(value.get('val_accuracy'))})"
            if base:
                text += f" vs Light ReLU {fmt_value(base.get('val_auc'))} ({fmt_value(base.get('val_accuracy'))})"
            if value.get("seeds"):
                text += f", seeds {fmt_value(value.get('seeds'))}"
            lines.append(text)
        else:
            lines.append(f"{key}: {fmt_value(value)}")
    return [_clip(line) for line in lines]


def also_known_as(entry: Any) -> str | None:
    """Other names the entry records for its formula (none are invented)."""
    prov: Mapping[str, Any] = entry.provenance if isinstance(entry.provenance, Mapping) else {}
    metrics: Mapping[str, Any] = entry.metrics if isinstance(entry.metrics, Mapping) else {}
    for value in (prov.get("known_as"), prov.get("aliases"), metrics.get("reference")):
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, (list, tuple)) and value:
            return ", ".join(str(v) for v in value)
    return None


def prior_art(entry: Any):  # -> nsad_lib.formula.known.KnownMatch | None
    """The published activation the entry's formula is (:func:`nsad_lib.formula.known.identify`), if any."""
    from nsad_lib.errors import FormulaError
    from nsad_lib.formula.known import identify

    try:
        return identify(entry.formula_object())
    except (FormulaError, ArithmeticError, ValueError, TypeError, RecursionError, MemoryError):
        return None


def also_known_as_lines(entry: Any) -> list[str]:
    """The names the entry records, then the known activation its formula is, with how it matched."""
    lines = []
    recorded = also_known_as(entry)
    if recorded:
        lines.append(recorded)
    match = prior_art(entry)
    if match is not None:
        lines.append(f"{match.text}: {match.describe()}")
    return [_clip(line) for line in lines]


def _delta(record: Any) -> str:
    """`` -8.9 pts, probe`` from a transfer record's evidence (empty when it has none)."""
    evidence = record.get("evidence") if isinstance(record, Mapping) else None
    evidence = evidence if isinstance(evidence, Mapping) else {}
    delta, points = evidence.get("delta"), evidence.get("delta_points")  # a fraction, or already points
    kind = " probe" if evidence.get("kind") == "probe" else ""
    if isinstance(points, (int, float)) and not isinstance(points, bool):
        return f" {points:+.1f} pts{kind}"
    if isinstance(delta, (int, float)) and not isinstance(delta, bool):
        return f" {100 * delta:+.1f} pts{kind}"
    return kind


def domain_lines(entry: Any) -> list[str]:
    """``continuous  verified (2 of 2 datasets): forest transfers, higgs transfers`` (markup)."""
    from nsad_lib.compat.marks import domain_evidence

    lines = [f"source domain: {escape(str(entry.domains.get('source', 'unknown')))}"]
    for dom, mark in domain_evidence(entry).items():
        detail = ", ".join(f"{name} {outcome}{_delta(mark.records.get(name))}"
                           for name, outcome in mark.datasets.items())
        style = mark_style(mark.status)
        where = f" ({escape(_clip(detail, 100))})" if detail else ""
        lines.append(f"{dom}: [{style}]{escape(mark.text)}[/{style}]{where}")
    return lines


def render(resolved: "Resolved", *, full: bool = False) -> None:
    """Print the panel (and with ``full`` the derivative and the whole provenance as JSON)."""
    from rich.console import Console
    from rich.panel import Panel

    entry = resolved.entry
    console = Console()
    hint = "full record: --full (or --json)" if not full else None
    title = f"[bold]{escape(entry.id)}[/bold]"
    console.print(Panel(_panel_table(resolved, full), title=title, subtitle=hint, expand=False))
    if full:
        _print_record(console, entry)


def _panel_table(resolved: "Resolved", full: bool):  # -> rich.table.Table
    """Label/value rows: summary, formula, LaTeX, parameters, source, metrics, domains, file."""
    from rich.table import Table

    entry = resolved.entry
    formula = entry.formula_object()
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")

    def row(label: str, text: str, markup: bool = False) -> None:
        table.add_row(label, text if markup else escape(text))

    def rows(label: str, lines: list[str], markup: bool = False) -> None:
        for i, line in enumerate(lines):
            row(label if i == 0 else "", line, markup)

    if entry.summary:
        row("summary", _clip_long(entry.summary, SHOW_SUMMARY_CHARS))
    row("formula", entry.formula)
    row("latex", formula.latex())
    if full:
        row("f'(x)", str(formula.derivative()))
    row("parameters", format_parameters(entry.parameters, entry.trainable))
    rows("also known as", also_known_as_lines(entry))
    rows("source", source_lines(entry, resolved))
    rows("metrics", metric_lines(entry.metrics if isinstance(entry.metrics, Mapping) else {}))
    rows("domains", domain_lines(entry), markup=True)
    row("file", str(resolved.path))
    row("sha256", entry.sha256)
    return table


def _print_record(console, entry: Any) -> None:
    """Provenance, domains, metrics (and the bundled evidence about the entry) as clipped JSON."""
    from rich.syntax import Syntax

    from nsad_lib.compat.marks import transfer_records

    record = {"provenance": entry.provenance, "domains": entry.domains, "metrics": entry.metrics}
    bundled = [r for r in transfer_records(entry) if r not in list(entry.domains.get("transfers") or [])]
    if bundled:
        record["bundled_evidence"] = bundled
    details = _clip_long(visible(json.dumps(record, indent=2, ensure_ascii=False)), SHOW_DETAILS_CHARS)
    console.print(Syntax(details, "json", word_wrap=True))
