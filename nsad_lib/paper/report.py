"""Write a reproduction's results: ``results.json`` (every run), ``results.md`` (paper beside
ours) and ``results.png`` (accuracy against parameters, one marker per model)."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

from nsad_lib.data.types import Dataset
from nsad_lib.paper.reproduce import Settings, Summary
from nsad_lib.util.optional import require

__all__ = ["environment", "write_json", "write_markdown", "write_figure", "DISPLAY"]

DISPLAY = {"forest": "Forest", "spambase": "Spambase", "higgs": "HIGGS", "sms": "SMS"}


def environment(settings: Settings) -> dict[str, object]:
    import numpy
    import torch

    sklearn = require("sklearn", "paper", "the reproduction report")  # optional: the [paper] extra

    from nsad_lib import __version__

    return {
        "nsad_lib": __version__, "python": sys.version.split()[0], "torch": torch.__version__,
        "numpy": numpy.__version__, "scikit_learn": sklearn.__version__,
        "platform": platform.platform(), "cpu_count": os.cpu_count(),
        "torch_threads_per_run": settings.threads, "jobs": settings.jobs,
    }


def _summary_dict(s: Summary) -> dict[str, object]:
    paper = None if s.paper is None else vars(s.paper)
    return {
        "dataset": s.row.dataset, "model": s.row.label, "model_kind": s.row.model,
        "activation": s.row.activation, "seeds": list(s.seeds), "params": s.params,
        "accuracy": s.accuracy, "accuracy_std": s.accuracy_std, "auc": s.auc, "auc_std": s.auc_std,
        "e_param": s.e_param, "seconds": s.seconds, "cpu_seconds": s.cpu_seconds, "paper": paper, "within_tolerance": s.within(),
    }


def write_json(path: str | Path, *, command: str, settings: Settings, datasets: dict[str, Dataset],
               excluded: dict[str, int], results: Sequence, summaries: Sequence[Summary],
               wall_seconds: float) -> Path:
    path = Path(path)
    payload = {
        "command": command,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_seconds": round(wall_seconds, 1),
        "cpu_seconds": round(sum(r.cpu_seconds for r in results), 1),
        "environment": environment(settings),
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(settings).items()},
        "datasets": {
            name: {**ds.meta.to_dict(), "name": name, "features": ds.n_features,
                   "task": ds.task, **({"positive_rate": round(ds.positive_rate, 6)} if ds.task == "binary" else
                                       {"class_counts": ds.class_counts()} if ds.task == "multiclass" else {}),
                   "test_rows_held_out": excluded.get(name, 0)}
            for name, ds in datasets.items()
        },
        "runs": [r.to_dict() for r in results],
        "summary": [_summary_dict(s) for s in summaries],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def _pm(mean: float, std: float, single: bool = False) -> str:
    """``mean ± std``; one seed has no spread, so just the value."""
    return f"{mean:.3f}" if single else f"{mean:.3f} ± {std:.3f}"

#: Why a one-seed run gets no within-tolerance verdict (one line, printed under the table).
ONE_SEED = ("One seed: no spread and no within-tolerance verdict (the paper's numbers are means over seeds "
            "42-44, and one run's seed noise is as large as the tolerance); pass --seeds 42,43,44 to compare.")


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.3f}"


def markdown_table(summaries: Sequence[Summary]) -> str:
    head = ("| dataset | model | params | accuracy: paper | accuracy: ours | Δ | AUC: paper | "
            "AUC: ours | Δ | E_param: paper | E_param: ours | within 1 pt / 0.01 |")
    lines = [head, "|" + "---|" * 12]
    for s in summaries:
        p = s.paper
        within = {True: "yes", False: "**no**", None: "–"}[s.within()]
        lines.append(" | ".join([
            f"| {DISPLAY.get(s.row.dataset, s.row.dataset)}", s.row.label, f"{s.params:,}",
            _pm(p.accuracy, p.accuracy_std) if p else "–", _pm(s.accuracy, s.accuracy_std, s.single_seed),
            _delta(s.delta_accuracy), _pm(p.auc, p.auc_std) if p else "–", _pm(s.auc, s.auc_std, s.single_seed),
            _delta(s.delta_auc), f"{p.e_param:.3f}" if p else "–", f"{s.e_param:.3f}", within + " |",
        ]))
    return "\n".join(lines)


def tolerance_line(summaries: Sequence[Summary]) -> str:
    parts = []
    compared = [s for s in summaries if s.paper is not None]
    if compared and all(s.single_seed for s in compared):
        return ONE_SEED
    for name in dict.fromkeys(s.row.dataset for s in summaries):
        rows = [s for s in summaries if s.row.dataset == name and s.paper is not None and not s.single_seed]
        if rows:
            ok = sum(bool(s.within()) for s in rows)
            parts.append(f"{DISPLAY.get(name, name)} {ok}/{len(rows)}")
    if not parts:
        return "No row of this table has a published number in the paper to compare with."
    return "Rows within 1.0 accuracy point and 0.01 AUC of the paper: " + ", ".join(parts) + "."


def write_markdown(path: str | Path, summaries: Sequence[Summary], *, command: str, settings: Settings,
                   datasets: dict[str, Dataset], excluded: dict[str, int], wall_seconds: float) -> Path:
    path = Path(path)
    seeds = ", ".join(str(s) for s in settings.seeds)
    data_lines = [f"- {DISPLAY.get(n, n)}: {ds.n_rows:,} rows x {ds.n_features} features, "
                  f"{ds.meta.source}; {excluded.get(n, 0):,} rows held out of every test split"
                  for n, ds in datasets.items()]
    text = "\n".join([
        "# Reproduction of the paper's results table", "",
        f"Command: `{command}`", "",
        f"Seeds {seeds}; {settings.epochs} epochs; batch {settings.batch_size}; Adam lr {settings.lr:g}; "
        f"80/20 split per seed; StandardScaler fit on the training part. "
        + ("Ours: one run per row (one seed), so no spread. " if len(settings.seeds) < 2 else
           "Ours: mean ± std over the seeds (population std, as the paper). ")
        + f"Wall time {wall_seconds / 60:.1f} min "
        f"({settings.jobs} worker(s), {settings.threads} torch thread(s) each); the runs' own CPU "
        f"time {sum(s.cpu_seconds for s in summaries) / 60:.1f} min.", "",
        *data_lines, "",
        markdown_table(summaries), "",
        tolerance_line(summaries), "",
    ])
    path.write_text(text, encoding="utf-8")
    return path


_MARKERS = {"Heavy ReLU": "s", "Light ReLU": "o", "Light GELU": "^", "Light SiLU": "v"}
_EXTRA_MARKERS = ("D", "*", "P", "X", "h", "p", "<", ">", "d", "H", "8")


def write_figure(path: str | Path, summaries: Sequence[Summary]) -> Path:
    """Accuracy against parameters (log x), one panel per dataset, one marker per model:
    filled = ours (bars: std over seeds), hollow = the paper. Models with the same parameter
    count are nudged sideways (a few percent) so their markers do not hide each other."""
    matplotlib = require("matplotlib", "plot", "the reproduction figure")  # optional: the [plot] extra
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    names = list(dict.fromkeys(s.row.dataset for s in summaries))
    # One marker and colour per model (kind + activation), the same in every panel.
    keys = list(dict.fromkeys((s.row.model, s.row.activation) for s in summaries))
    legend: dict[tuple[str, str], list[str]] = {k: [] for k in keys}
    for s in summaries:
        key = (s.row.model, s.row.activation)
        if s.row.label not in legend[key]:
            legend[key].append(s.row.label)
    extra = iter(_EXTRA_MARKERS * 4)
    marker = {k: _MARKERS.get(legend[k][0]) or next(extra) for k in keys}
    color = {k: f"C{i % 10}" for i, k in enumerate(keys)}
    fig, axes = plt.subplots(1, len(names), figsize=(4.6 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        panel = [s for s in summaries if s.row.dataset == name]
        for s in panel:
            key = (s.row.model, s.row.activation)
            # Models with equal parameter counts are spread slightly sideways to stay readable.
            same = [t for t in panel if t.params == s.params]
            x = s.params * (1 + 0.03 * (same.index(s) - (len(same) - 1) / 2))
            ax.errorbar(x, s.accuracy, yerr=None if s.single_seed else s.accuracy_std, fmt=marker[key], color=color[key],
                        markersize=8, capsize=3)
            if s.paper is not None:
                ax.plot(x, s.paper.accuracy, marker[key], markersize=9,
                        markerfacecolor="none", markeredgecolor=color[key], alpha=0.8)
        ax.set_xscale("log")
        ax.set_title(DISPLAY.get(name, name))
        ax.set_xlabel("parameters (log scale)")
        ax.set_ylabel("test accuracy")
        ax.grid(True, which="both", alpha=0.3)
    handles = [plt.Line2D([], [], linestyle="none", marker=marker[k], color=color[k],
                          label=" / ".join(legend[k])) for k in keys]
    handles.append(plt.Line2D([], [], linestyle="none", marker="o", markerfacecolor="none",
                              markeredgecolor="gray", label="hollow: the paper"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.045 * (len(handles) // 4), 1, 1))
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path
