"""The leaderboard of a grid: per dataset, the Light network with each activation against Light
ReLU (Δ in points: accuracy percentage points, or R² x 100 for regression; mean ± std over seeds,
paired by seed), wins/ties/losses per activation, mean rank, and a per-domain breakdown.

A tie is ``|mean Δ| <= 1 point`` or ``|mean Δ| <= 2 std`` of the paired differences. Written as
``leaderboard.md``, ``leaderboard.json`` and ``leaderboard.png`` in the grid's folder.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from nsad_lib.bench.store import ResultStore
from nsad_lib.errors import NsadError

__all__ = ["TIE_POINTS", "leaderboard", "markdown", "write_report"]

TIE_POINTS = 1.0
BASELINE = "relu"


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


def _outcome(mean: float, std: float) -> str:
    if abs(mean) <= TIE_POINTS or abs(mean) <= 2 * std:
        return "tie"
    return "win" if mean > 0 else "loss"


def _ranks(scores: dict[str, float]) -> dict[str, float]:
    """1 = best; equal scores share the average of their places."""
    ordered = sorted(scores, key=lambda a: -scores[a])
    ranks: dict[str, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and scores[ordered[j + 1]] == scores[ordered[i]]:
            j += 1
        for a in ordered[i:j + 1]:
            ranks[a] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def leaderboard(records: Sequence[dict], baseline: str = BASELINE, model: str = "light") -> dict:
    """The leaderboard as plain data (what ``leaderboard.json`` holds)."""
    ok = [r for r in records if r.get("status") == "ok" and r["spec"]["model"] == model]
    failed = [r for r in records if r.get("status") != "ok"]
    scores: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    infos: dict[str, dict] = {}
    activations: list[str] = []
    for r in ok:
        spec = r["spec"]
        scores[spec["dataset"]][spec["activation"]][spec["seed"]] = float(r["result"]["score"])
        infos.setdefault(spec["dataset"], r.get("dataset", {}))
        if spec["activation"] not in activations:
            activations.append(spec["activation"])
    others = [a for a in activations if a != baseline]
    datasets = []
    per_act: dict[str, dict] = {a: {"win": 0, "tie": 0, "loss": 0, "ranks": [], "deltas": []}
                                for a in activations}
    per_domain: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {a: {"win": 0, "tie": 0, "loss": 0} for a in others})
    for name in sorted(scores, key=lambda n: (infos[n].get("domain", "other"), n)):
        info = infos[name]
        task = info.get("task", "binary")
        row: dict = {"dataset": name, "task": task, "domain": info.get("domain", "other"),
                     "metric": "r2" if task == "regression" else "accuracy", "activations": {}}
        means = {}
        for act, by_seed in scores[name].items():
            m, s = _mean_std(list(by_seed.values()))
            means[act] = m
            row["activations"][act] = {"mean": m, "std": s, "seeds": sorted(by_seed)}
        for act, rank in _ranks(means).items():
            row["activations"][act]["rank"] = rank
            per_act[act]["ranks"].append(rank)
        base = scores[name].get(baseline, {})
        for act in others:
            mine = scores[name].get(act, {})
            paired = sorted(set(base) & set(mine))
            if not paired:
                continue
            diffs = [100.0 * (mine[s] - base[s]) for s in paired]
            m, s = _mean_std(diffs)
            outcome = _outcome(m, s)
            row["activations"][act].update(delta=m, delta_std=s, paired_seeds=paired, outcome=outcome)
            per_act[act][outcome] += 1
            per_act[act]["deltas"].append(m)
            per_domain[row["domain"]][act][outcome] += 1
        datasets.append(row)
    summary = {}
    for act, v in per_act.items():
        summary[act] = {"mean_rank": sum(v["ranks"]) / len(v["ranks"]) if v["ranks"] else None,
                        "datasets": len(v["ranks"])}
        if act != baseline:
            summary[act].update(win=v["win"], tie=v["tie"], loss=v["loss"],
                                mean_delta=sum(v["deltas"]) / len(v["deltas"]) if v["deltas"] else None)
    seeds = sorted({r["spec"]["seed"] for r in ok})
    epochs = sorted({r["spec"]["epochs"] for r in ok})
    return {"baseline": baseline, "model": model, "unit": "points (accuracy x 100, or R^2 x 100)",
            "tie_rule": f"|mean delta| <= {TIE_POINTS:g} point or <= 2 std of the paired deltas",
            "runs_ok": len(ok), "runs_failed": len(failed), "seeds": seeds, "epochs": epochs,
            "activations": activations, "summary": summary, "datasets": datasets,
            "domains": {d: dict(v) for d, v in sorted(per_domain.items())},
            "failures": [{"run": f"{r['spec']['dataset']} {r['spec']['model']} {r['spec']['activation']} "
                                 f"seed {r['spec']['seed']}", "error": r.get("error", "")} for r in failed]}


_MARK = {"win": "W", "tie": "T", "loss": "L"}


def markdown(board: dict, title: str = "Leaderboard") -> str:
    base = board["baseline"]
    others = [a for a in board["activations"] if a != base]
    lines = [f"# {title}", "",
             f"Light network, each activation against Light {base}; Δ in {board['unit']}, mean ± std "
             f"over seeds {', '.join(map(str, board['seeds']))} paired by seed; epochs "
             f"{', '.join(map(str, board['epochs']))}. Tie: {board['tie_rule']}. "
             f"{board['runs_ok']} runs, {board['runs_failed']} failed.", "",
             "| activation | wins | ties | losses | mean Δ | mean rank |", "|---|---:|---:|---:|---:|---:|"]
    for act in board["activations"]:
        s = board["summary"][act]
        rank = "" if s["mean_rank"] is None else f"{s['mean_rank']:.2f}"
        if act == base:
            lines.append(f"| {act} (baseline) | | | | | {rank} |")
        else:
            md = "" if s["mean_delta"] is None else f"{s['mean_delta']:+.2f}"
            lines.append(f"| {act} | {s['win']} | {s['tie']} | {s['loss']} | {md} | {rank} |")
    lines += ["", "## Per dataset", "",
              "| dataset | task | domain | " + f"{base} score | " + " | ".join(f"Δ {a}" for a in others) + " |",
              "|---|---|---|---:|" + "---:|" * len(others)]
    for row in board["datasets"]:
        acts = row["activations"]
        b = acts.get(base)
        cells = [f"{b['mean']:.4f} ± {b['std']:.4f}" if b else "—"]
        for a in others:
            v = acts.get(a, {})
            cells.append(f"{v['delta']:+.2f} ± {v['delta_std']:.2f} {_MARK[v['outcome']]}" if "delta" in v else "—")
        lines.append(f"| {row['dataset']} | {row['task']} | {row['domain']} | " + " | ".join(cells) + " |")
    lines += ["", "## Per domain (wins/ties/losses)", "",
              "| domain | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
    for domain, by_act in board["domains"].items():
        lines.append(f"| {domain} | " + " | ".join(
            f"{v['win']}/{v['tie']}/{v['loss']}" for v in (by_act[a] for a in others)) + " |")
    if board["failures"]:
        lines += ["", "## Failed runs", ""] + [f"- {f['run']}: {f['error']}" for f in board["failures"]]
    return "\n".join(lines) + "\n"


def write_figure(board: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    base = board["baseline"]
    others = [a for a in board["activations"] if a != base] or [base]
    names = [row["dataset"] for row in board["datasets"]]
    fig, axes = plt.subplots(1, len(others), figsize=(3.2 * len(others) + 1.5, 0.32 * len(names) + 1.4),
                             sharey=True, squeeze=False)
    colors = {"win": "tab:green", "tie": "tab:gray", "loss": "tab:red"}
    for ax, act in zip(axes[0], others):
        ax.axvspan(-TIE_POINTS, TIE_POINTS, color="0.92")
        ax.axvline(0, color="0.4", lw=0.8)
        for i, row in enumerate(board["datasets"]):
            v = row["activations"].get(act, {})
            if "delta" in v:
                ax.errorbar(v["delta"], i, xerr=v["delta_std"], fmt="o", ms=4,
                            color=colors[v["outcome"]], ecolor=colors[v["outcome"]])
        ax.set_title(f"{act} − {base}", fontsize=9)
        ax.set_xlabel("Δ points", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_yticks(range(len(names)))
    axes[0][0].set_yticklabels(names)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(directory: str | Path, baseline: str = BASELINE) -> list[Path]:
    """Write ``leaderboard.{md,json,png}`` for the grid in ``directory``."""
    from nsad_lib.util.atomic import atomic_write_text

    directory = Path(directory)
    store = ResultStore(directory)
    if not store.exists():
        raise NsadError(f"{directory}: no {store.path.name} here; run `nsad-lib bench ... --out {directory}` first")
    board = leaderboard(list(store.latest().values()), baseline=baseline)
    if not board["datasets"]:
        raise NsadError(f"{store.path}: no successful Light runs to report")
    if baseline not in board["activations"]:
        raise NsadError(f"{store.path}: no Light {baseline} runs, the baseline of the leaderboard")
    md, js, png = directory / "leaderboard.md", directory / "leaderboard.json", directory / "leaderboard.png"
    atomic_write_text(md, markdown(board, title=f"Leaderboard: {directory.name}"))
    atomic_write_text(js, json.dumps(board, indent=1, sort_keys=True) + "\n")
    write_figure(board, png)
    return [md, js, png]
