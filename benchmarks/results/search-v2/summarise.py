"""Summarise the search-v2 evaluation grid (docs/discovery.md, "search-v2"): paired Δ by seed.

    python benchmarks/results/search-v2/summarise.py GRID_DIR FOUND CONTROL [--out DIR]

Reads ``GRID_DIR/results.jsonl`` (an ``nsad-lib bench`` store), pairs every activation's score
with Light ReLU's by (dataset, seed), and writes ``summary.json`` and ``summary.md``: per dataset
the mean ± std (ddof=1) of Δ in points for FOUND and CONTROL against ReLU, and of FOUND against
CONTROL; then, on the target half of tabular-25 (split seed 2024), the three acceptance criteria
of issue 18 (Δ > 0 on ≥ 75% of the datasets, mean Δ ≥ +0.5 points, no dataset below -1 point).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np


def _scores(grid: Path) -> dict[tuple[str, str, int], float]:
    out: dict[tuple[str, str, int], float] = {}
    for line in (grid / "results.jsonl").read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if r.get("status") == "ok":
            s = r["spec"]
            out[(s["activation"], s["dataset"], int(s["seed"]))] = 100.0 * float(r["result"]["score"])
    return out


def _paired(scores: dict, a: str, b: str, dataset: str) -> tuple[float, float, int]:
    seeds = sorted(s for (act, d, s) in scores if act == a and d == dataset and (b, d, s) in scores)
    d = np.array([scores[(a, dataset, s)] - scores[(b, dataset, s)] for s in seeds])
    if not len(d):
        return math.nan, math.nan, 0
    return float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0, len(d)


def main() -> None:
    from nsad_lib.bench.split import split_suite

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("grid", type=Path)
    p.add_argument("found")
    p.add_argument("control")
    p.add_argument("--baseline", default="relu")
    p.add_argument("--out", type=Path, default=Path(__file__).parent)
    a = p.parse_args()
    scores = _scores(a.grid)
    target = split_suite("tabular-25")["target"]
    datasets = sorted({d for (_act, d, _s) in scores}, key=lambda d: (d not in target, target.index(d)
                                                                      if d in target else 0, d))
    rows = []
    for d in datasets:
        base = [v for (act, dd, _s), v in scores.items() if act == a.baseline and dd == d]
        row = {"dataset": d, "half": "target" if d in target else "other",
               "relu_score": round(float(np.mean(base)) / 100.0, 4)}
        for label, x, y in (("found_vs_relu", a.found, a.baseline), ("control_vs_relu", a.control, a.baseline),
                            ("found_vs_control", a.found, a.control)):
            m, s, n = _paired(scores, x, y, d)
            row[label] = {"mean": round(m, 4), "std": round(s, 4), "seeds": n}
        rows.append(row)
    criteria = {}
    for label in ("found_vs_relu", "control_vs_relu", "found_vs_control"):
        means = [r[label]["mean"] for r in rows if r["half"] == "target"]
        positive = sum(m > 0 for m in means)
        criteria[label] = {"datasets": len(means), "positive": positive,
                           "positive_share": round(positive / len(means), 4), "mean": round(float(np.mean(means)), 4),
                           "worst": round(float(min(means)), 4),
                           "met": {"positive_share>=0.75": positive / len(means) >= 0.75,
                                   "mean>=0.5": float(np.mean(means)) >= 0.5, "worst>=-1": min(means) >= -1.0}}
    summary = {"grid": str(a.grid), "found": a.found, "control": a.control, "baseline": a.baseline,
               "unit": "points (accuracy x 100); Δ paired by seed, mean ± std (ddof=1)",
               "target_half": target, "rows": rows, "target_criteria": criteria}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    lines = [f"| dataset | Light ReLU | Δ found (`{a.found}`) | Δ control (`{a.control}`) | found - control |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{r[k]['mean']:+.2f} ± {r[k]['std']:.2f}" for k in ("found_vs_relu", "control_vs_relu",
                                                                     "found_vs_control")]
        lines.append(f"| {r['dataset']}{'' if r['half'] == 'target' else ' (not target)'} | {r['relu_score']:.4f} | "
                     + " | ".join(cells) + " |")
    for k, c in criteria.items():
        lines.append(f"\n{k} on the target half: mean {c['mean']:+.2f}; > 0 on {c['positive']} of {c['datasets']}; "
                     f"worst {c['worst']:+.2f}; met: {c['met']}")
    (a.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
