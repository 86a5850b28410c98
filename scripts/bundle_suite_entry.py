"""Bundle an entry found by a suite search, with its measured evidence (issue 18.5).

Reads the entry a ``nsad-lib discover --suite ...`` wrote (``--from``) and the leaderboard of its
evaluation grid (``--board``: ``nsad-lib bench report`` of the Light network with the entry and
ReLU over 5 seeds on the suite's *target* half and the four named datasets), and writes the same
formula, parameters and provenance into the bundled registry with ``domains.transfers`` filled
from that grid (one record per dataset: Δ in points paired by seed against Light ReLU;
``transfers`` when Δ ≥ −1 point) and ``metrics.target_half`` summarising it.

    NSAD_ALLOW_BUNDLED_WRITE=1 python scripts/bundle_suite_entry.py --from /work/grid/tabular-reg/tabular-v1.json \\
        --board /work/grid/tabular-v1-eval/leaderboard.json --summary "..."

Entries are immutable: the script refuses to change an entry already in the registry.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def records(board: dict, activation: str) -> list[dict]:
    """One record per dataset of the board where ``activation`` was measured against the baseline."""
    from build_evidence import leaderboard_record  # scripts/build_evidence.py, beside this script

    return [leaderboard_record(row, row["activations"][activation], board,
                               source="suite-search evaluation (Light, 5 seeds, paired by seed)",
                               seeds=len(board["seeds"]), epochs=board["epochs"])
            for row in board["datasets"] if "delta" in row["activations"].get(activation, {})]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True, help="the entry the suite search wrote")
    parser.add_argument("--board", type=Path, required=True, help="leaderboard.json of the evaluation grid")
    parser.add_argument("--summary", required=True, help="the bundled entry's one-paragraph summary")
    parser.add_argument("--registry", type=Path, default=REPO / "registry")
    args = parser.parse_args()

    from build_evidence import TRANSFER_DELTA

    from nsad_lib.registry.entry import Entry
    from nsad_lib.registry.store import Registry

    found = json.loads(args.source.read_text(encoding="utf-8"))
    board = json.loads(args.board.read_text(encoding="utf-8"))
    split = found["provenance"]["suite_split"]
    target = set(split["target"])
    recs = records(board, found["id"])
    on_target = [r["evidence"]["delta_points"] for r in recs if r["dataset"] in target]
    metrics = dict(found["metrics"])
    metrics["target_half"] = {
        "datasets": len(on_target), "mean_delta_points": round(float(np.mean(on_target)), 2),
        "positive": int(sum(d > 0 for d in on_target)), "min_delta_points": round(float(min(on_target)), 2),
        "lost_by_more_than_1_point": int(sum(d < TRANSFER_DELTA for d in on_target)),
        "seeds": board["seeds"], "epochs": board["epochs"], "network": "light",
    }
    entry = Entry.create(found["name"], found["version"], found["formula"], parameters=found["parameters"],
                         trainable=found["trainable"], summary=args.summary,
                         domains={"source": found["domains"]["source"], "transfers": recs},
                         provenance=found["provenance"], metrics=metrics)
    registry = Registry(args.registry, include_env=False, include_bundled=False)
    if entry.id in registry.ids():
        raise SystemExit(f"{entry.id} is already in {args.registry}; entries are immutable")
    path = registry.add(entry)
    print(f"{entry.id}: {path} ({len(recs)} evidence records; target half {metrics['target_half']})")


if __name__ == "__main__":
    main()
