"""Write registry/evidence.json: measured transfer records for the bundled entries.

Bundled entries are immutable (their sha256 covers every field), so transfer evidence measured
after they were published cannot go into them. It ships beside them instead, keyed by entry id
*and* sha256, and ``nsad_lib.compat.marks`` reads it for the domain marks of ``list`` and ``show``.

Two sources, both full-protocol runs (Light network, 15 epochs, seeds 42, 43, 44, the paper's
80/20 split; Light+formula against Light+ReLU):

- ``transfer-matrix``: the "Registry entries × datasets" table of docs/compatibility.md
  (``benchmarks/transfer_matrix.py``) on the paper's four datasets;
- ``tabular-25``: the leaderboard of the benchmark suite (``nsad-lib bench --suite tabular-25``,
  committed as ``benchmarks/results/tabular25/leaderboard.json``) on the 22 other datasets. A
  dataset's domain follows its feature kind: continuous features -> ``continuous``; counts or
  categorical codes -> ``discrete``; mixed tables are recorded with domain ``mixed``, which no
  domain mark counts. An entry transfers when its mean paired Δ is at least -1 point (accuracy
  points, or R² x 100 for regression).

Re-run after either is regenerated:

    python scripts/build_evidence.py          # rewrites registry/evidence.json
    python scripts/build_evidence.py --check  # exit 1 if the file is not what the table says
    python scripts/build_evidence.py --leaderboard GRID/leaderboard.json   # the checker v2 grid's leaderboard
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "compatibility.md"
OUT = REPO / "registry" / "evidence.json"
SOURCE = "transfer-matrix"
LEADERBOARD = REPO / "benchmarks" / "results" / "tabular25" / "leaderboard.json"
SUITE_SOURCE = "tabular-25"
#: The suite's feature kinds -> the checker's data domains.
#: Transfers when the mean paired delta is at least this (points).
TRANSFER_DELTA = -1.0
_ROW = re.compile(r"^\| `(?P<id>[a-z0-9-]+-v[0-9]+)` \| (?P<dataset>\w+) \| (?P<domain>\w+) \| [^|]+ \| [^|]+ \| "
                  r"(?P<acc>[0-9.]+) \| (?P<relu>[0-9.]+) \| (?P<delta>[-+0-9.]+) \| (?P<real>[^|]+) \|")


def table_rows(text: str) -> list[dict]:
    """The rows of the "Registry entries × datasets" table (the first table after its heading)."""
    start = text.index("### Registry entries × datasets")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("### "):
            break
        m = _ROW.match(line)
        if m:
            rows.append(m.groupdict())
    if not rows:
        raise SystemExit(f"{DOC}: no rows found in the 'Registry entries × datasets' table")
    return rows


def build(leaderboard: Path = LEADERBOARD) -> dict:
    sys.path.insert(0, str(REPO))
    from nsad_lib.registry.store import Registry

    registry = Registry(REPO / "registry", include_env=False, include_bundled=False)
    entries: dict[str, dict] = {}
    for row in table_rows(DOC.read_text(encoding="utf-8")):
        entry = registry.resolve(row["id"])
        real = row["real"].strip()
        record = {
            "dataset": row["dataset"],
            "domain": row["domain"],
            "verdict": "transfers" if real.startswith("transfers") else "fails",
            "evidence": {
                "kind": "protocol", "source": SOURCE, "accuracy": float(row["acc"]),
                "baseline_relu": float(row["relu"]), "delta": round(float(row["delta"]) / 100, 4),
                "seeds": 3, "epochs": 15,
            },
        }
        entries.setdefault(entry.id, {"sha256": entry.sha256, "transfers": []})["transfers"].append(record)
    covered = {row["dataset"] for row in table_rows(DOC.read_text(encoding="utf-8"))}
    for entry, record in suite_records(registry, covered, leaderboard):
        entries.setdefault(entry.id, {"sha256": entry.sha256, "transfers": []})["transfers"].append(record)
    for entry in registry.entries():  # entries measured at publication carry their records themselves
        entries.setdefault(entry.id, {"sha256": entry.sha256, "transfers": []})
    return {
        "schema": 1,
        "about": "Measured transfer records for bundled entries, keyed by id and sha256 (entries are immutable, so "
                 "evidence measured after publication ships here). Read by nsad_lib.compat.marks for the domain marks.",
        "sources": {SOURCE: {
            "where": "docs/compatibility.md, table 'Registry entries × datasets'",
            "made_by": "benchmarks/transfer_matrix.py, then scripts/build_evidence.py",
            "protocol": "Light network, 15 epochs, seeds 42, 43, 44, the paper's 80/20 split, mean test accuracy; "
                        "Light+formula against Light+ReLU; transfers when within 1 accuracy point of ReLU or better",
        }, SUITE_SOURCE: {
            "where": "benchmarks/results/tabular25/leaderboard.json (docs/benchmark.md)",
            "made_by": "nsad-lib bench --suite tabular-25 ..., nsad-lib bench report, then scripts/build_evidence.py",
            "protocol": "Light network, 15 epochs, seeds 42, 43, 44, the paper's 80/20 split; score = accuracy "
                        "(classification) or R^2 (regression); mean paired delta against Light+ReLU in points; "
                        "transfers when the delta is at least -1 point; domain from the dataset's feature kind",
        }},
        "entries": dict(sorted(entries.items())),
    }


def suite_records(registry, covered: set[str], leaderboard: Path = LEADERBOARD):  # -> [(Entry, record)]
    """Records of the tabular-25 leaderboard for bundled entries, on datasets not in ``covered``.

    Cells measured on fewer seeds than the leaderboard's (a grid still running) are left out."""
    board = json.loads(leaderboard.read_text(encoding="utf-8"))
    seeds, epochs = len(board["seeds"]), board["epochs"][0] if len(board["epochs"]) == 1 else board["epochs"]
    for row in board["datasets"]:
        name = row["dataset"]
        if name in covered:
            continue
        for activation, cell in sorted(row["activations"].items()):
            if activation == board["baseline"] or activation not in registry:
                continue  # builtin torch activations and zoo formulas are not bundled entries
            if "delta" not in cell or len(cell.get("paired_seeds", board["seeds"])) < seeds:
                continue
            entry = registry.resolve(activation)
            if entry.id != activation:
                continue
            yield entry, leaderboard_record(row, cell, board, source=SUITE_SOURCE, seeds=seeds, epochs=epochs)


def leaderboard_record(row: dict, cell: dict, board: dict, *, source: str, seeds, epochs) -> dict:
    """The ``domains.transfers`` record of one leaderboard cell (an activation on a dataset): Δ in
    points paired by seed against the board's baseline; ``transfers`` when Δ >= -1 point."""
    from nsad_lib.bench.suite import feature_domain

    delta = float(cell["delta"])
    return {
        "dataset": row["dataset"],
        "domain": feature_domain(row["dataset"]),
        "verdict": "transfers" if delta >= TRANSFER_DELTA else "fails",
        "evidence": {
            "kind": "protocol", "source": source, "task": row["task"], "metric": row["metric"],
            "score": round(float(cell["mean"]), 4),
            "baseline_relu": round(float(row["activations"][board["baseline"]]["mean"]), 4),
            "delta_points": round(delta, 2), "delta_std": round(float(cell.get("delta_std", 0.0)), 2),
            "outcome": cell.get("outcome"), "seeds": seeds, "epochs": epochs,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--leaderboard", type=Path, default=LEADERBOARD,
                        help="the suite grid's leaderboard.json (default: the committed tabular-25 one; the checker "
                             "v2 grid's, e.g. GRID/leaderboard.json after `nsad-lib bench report GRID`)")
    args = parser.parse_args()
    text = json.dumps(build(args.leaderboard), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        same = OUT.is_file() and OUT.read_text(encoding="utf-8") == text
        print(f"{OUT}: {'up to date' if same else 'differs from its sources; re-run without --check'}")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({sum(len(e['transfers']) for e in json.loads(text)['entries'].values())} records)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
