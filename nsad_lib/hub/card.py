"""The model card of a Hub repository: YAML front matter plus one section per entry.

Everything in the card is generated from the entries themselves, so the same entries give
the same bytes (a re-push of unchanged content makes no commit). Entry text is untrusted
and is escaped before it enters markdown; the YAML is written by ``huggingface_hub``.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any, Mapping, Sequence

from nsad_lib.registry.entry import Entry
from nsad_lib.util.optional import require

__all__ = ["TAGS", "card_license", "render_card", "render_plot"]

TAGS = ["nsad-lib", "activation-function", "symbolic-regression", "pytorch"]
# License ids the Hub's metadata schema knows (lowercase); anything else becomes "other".
_HUB_LICENSES = {
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0", "cc-by-nd-4.0", "cc-by-3.0", "cc-by-sa-3.0", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "mpl-2.0",
    "unlicense", "odc-by", "openrail", "unknown",
}


def card_license(entries: Sequence[Entry]) -> str:
    """One Hub license id: the entries' common license, ``other`` when mixed or unknown to the Hub."""
    found = {str(e.provenance.get("license")).strip().lower() for e in entries if e.provenance.get("license")}
    if not found:
        return "unknown"
    if len(found) > 1:
        return "other"
    (only,) = found
    return only if only in _HUB_LICENSES else "other"


_MARKDOWN = re.compile(r"([\\`*_\[\]()!#~|])")


def _text(value: Any) -> str:
    """Untrusted text for markdown: one line, HTML escaped, markdown punctuation escaped.

    An entry pulled from someone else's repository is re-published by ``push``; its summary must
    not become a link, an image or a heading on our card.
    """
    return _MARKDOWN.sub(r"\\\1", html.escape(" ".join(str(value).split()), quote=False))


def _code(value: Any) -> str:
    """Untrusted text inside a code span (markdown and HTML are not rendered there): one line, no backticks."""
    return " ".join(str(value).split()).replace("`", "")


def _pairs(data: Mapping[str, Any]) -> str:
    return ", ".join(f"{_text(k)}={_text(v)}" for k, v in sorted(data.items())) if data else "-"


def render_plot(entry: Entry, values: Mapping[str, float] | None = None) -> bytes:
    """PNG of f and f' on [-5, 5] (Agg canvas, no pyplot state, no timestamp in the file)."""
    import numpy as np
    # optional: the [plot] extra
    FigureCanvasAgg = require("matplotlib.backends.backend_agg", "plot", "the Hub card's plot").FigureCanvasAgg
    Figure = require("matplotlib.figure", "plot", "the Hub card's plot").Figure

    formula = entry.formula_object()
    x = np.linspace(-5.0, 5.0, 401)
    with np.errstate(all="ignore"):
        f = np.broadcast_to(formula.numpy(x, values), x.shape)
        df = np.broadcast_to(formula.derivative_numpy(x, values), x.shape)
    fig = Figure(figsize=(5.0, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.axvline(0.0, color="0.8", linewidth=0.8)
    ax.plot(x, f, label="f(x)", linewidth=1.8)
    ax.plot(x, df, "--", label="f'(x)", linewidth=1.4)
    ax.set_xlabel("x")
    ax.set_title(entry.id, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _provenance(entry: Entry) -> list[str]:
    prov = entry.provenance
    lines = []
    dataset = prov.get("dataset")
    if isinstance(dataset, Mapping):
        lines.append(f"- dataset: {_pairs(dataset)}")
    method = prov.get("method")
    if isinstance(method, Mapping):
        lines.append(f"- method: {_pairs({k: v for k, v in method.items() if not isinstance(v, Mapping)})}")
        for key, value in sorted(method.items()):
            if isinstance(value, Mapping):
                lines.append(f"  - {_text(key)}: {_pairs(value)}")
    for key in ("command", "created", "license", "nsad_lib_version"):
        if prov.get(key) is not None:
            lines.append(f"- {key}: `{_code(prov[key])}`" if key == "command" else f"- {key}: {_text(prov[key])}")
    return lines or ["- not recorded"]


def _domains(entry: Entry) -> list[str]:
    lines = [f"Source domain: **{_text(entry.domains.get('source', 'unknown'))}**", ""]
    transfers = entry.domains.get("transfers", [])
    if not transfers:
        return [*lines, "No transfer evidence recorded yet."]
    lines += ["| dataset | domain | verdict | evidence |", "|---|---|---|---|"]
    for t in transfers:
        evidence = t.get("evidence") if isinstance(t.get("evidence"), Mapping) else {}
        lines.append(f"| {_text(t.get('dataset'))} | {_text(t.get('domain', '-'))} | {_text(t.get('verdict'))} | {_pairs(evidence)} |")
    return lines


def _section(repo_id: str, entry: Entry, weights_sha256: str | None, has_plot: bool) -> list[str]:
    out = [f"## {entry.id}", ""]
    if entry.summary:
        out += [_text(entry.summary), ""]
    out += ["$$", f"f(x) = {entry.formula_object().latex()}", "$$", ""]
    out += [f"Formula (nsad-lib syntax): `{_code(entry.formula)}`", ""]
    if entry.parameters:
        kind = "trainable" if entry.trainable else "fixed"
        out += [f"Parameters ({kind}, initial values): {_pairs(entry.parameters)}", ""]
    if weights_sha256:
        out += [f"Trained parameters: `entries/{entry.id}.safetensors` (sha256 `{weights_sha256}`)", ""]
    if has_plot:
        out += [f"![f and f' of {entry.id}](plots/{entry.id}.png)", ""]
    out += ["### Provenance", "", *_provenance(entry), "", "### Domains and transfer evidence", "", *_domains(entry), ""]
    if entry.metrics:
        out += ["### Metrics", "", "```json", _metrics_json(entry.metrics), "```", ""]
    out += ["### Use", "", "```python", "import nsad_lib", f'act = nsad_lib.get("hf://{repo_id}/{entry.id}@{entry.id}")  # pinned by tag', "```", "",
            f"Entry sha256: `{entry.sha256}`", ""]
    return out


def _metrics_json(metrics: Mapping[str, Any]) -> str:
    import json

    return json.dumps(metrics, sort_keys=True, indent=2).replace("```", "'''")


def render_card(repo_id: str, entries: Sequence[Entry], weights_sha256: Mapping[str, str | None], plots: set[str]) -> str:
    """README.md for the repository: front matter (library_name, tags, license) and the entries."""
    from huggingface_hub import ModelCardData

    ordered = sorted(entries, key=lambda e: (e.name, e.version))
    data = ModelCardData(library_name="nsad-lib", license=card_license(ordered), tags=list(TAGS))
    licenses = sorted({str(e.provenance.get("license")) for e in ordered if e.provenance.get("license")})
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# {repo_id.split('/')[-1]}: discovered activation functions", "",
        "Symbolic activation functions published with [nsad-lib](https://pypi.org/project/nsad-lib/). Each entry is a",
        "formula with its provenance and evidence, content-hashed; each entry id is also a git tag of this repository,",
        "so a pull can pin the exact commit. Formulas are parsed by a safe parser and weights load through safetensors only.",
        "",
        "```bash",
        f"nsad-lib pull {repo_id}@<entry-id>",
        "```",
        "",
        f"Entries' licenses: {', '.join(_text(x) for x in licenses) or 'not stated'}.",
        "",
        "| id | formula | source domain | trained parameters |",
        "|---|---|---|---|",
    ]
    for e in ordered:
        trained = "yes" if weights_sha256.get(e.id) else "no"
        lines.append(f"| [{e.id}](#{e.id}) | `{_code(e.formula)}` | {_text(e.domains.get('source', 'unknown'))} | {trained} |")
    lines.append("")
    for e in ordered:
        lines += _section(repo_id, e, weights_sha256.get(e.id), e.id in plots)
    return "\n".join(lines).rstrip() + "\n"
