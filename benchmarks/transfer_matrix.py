"""Transfer matrix: the checker's no-training verdict against the real outcome of the protocol.

For every registry entry x {higgs, forest, spambase, sms}:

- prediction: ``nsad_lib.check(entry, dataset)`` (no training, no labels);
- real outcome: the paper's full protocol (Light network, 80/20 split, StandardScaler, Adam,
  batch 1024, ``--epochs`` epochs, ``--seeds``), Light+formula against Light+ReLU, mean
  test accuracy over the seeds. ``transfers`` = within 1 point of Light ReLU or better,
  ``fails`` = more than 1 point below; a case is *clear* when the gap is more than 1 point
  either way (a tie within +-1 point is shown but not scored).

Agreement is scored strictly on the clear cases: ``transfers`` agrees with a clear gain,
``does-not-transfer`` with a clear loss, and ``uncertain`` counts as a miss.
The verdict is the checker's (the v2 model's when one ships; the rules' own verdict is kept in
the JSON rows as ``rules_prediction``).

Training goes through the benchmark runner (``nsad_lib.bench.runner``: ``plan`` / ``run_grid``
into a resumable ``ResultStore`` in ``--outcomes DIR``; ``--workers N`` processes), the same code
as ``nsad-lib bench``: runs already in the store are not trained again. Held-out formulas are
written as entries ``heldout-<hash of the formula>`` into ``DIR/heldout-registry`` so the runner
can resolve them by id. The checker v2 itself is fitted and scored on the *suite's* transfer
matrix (``scripts/fit_checker.py``, ``scripts/evaluate_checker.py``); this script stays the front
end for the paper's four datasets and for held-out formula sets.

    python benchmarks/transfer_matrix.py --workers 2           # all entries, 4 datasets
    python benchmarks/transfer_matrix.py --registry /my/reg    # include a user registry
    python benchmarks/transfer_matrix.py --extra "sin(x)" --extra "abs(x)"   # held-out formulas
    python benchmarks/transfer_matrix.py --fresh "erf(x)" --predict-only preds.json  # record first
    python benchmarks/transfer_matrix.py --fresh "erf(x)" --predictions preds.json   # then train

Held-out formulas come in three sets: ``--extra`` (the first set, run once with rules 1-6),
``--extra2`` (the second, recorded before training with a ``saturation`` rule; its failures led
to the ``gate`` rule that replaced it), both calibration data now, and ``--fresh`` (formulas no
rule was designed with). ``--predict-only FILE`` writes the checker's verdicts without training, to be
committed before the outcomes exist; ``--predictions FILE`` then checks that the verdicts have
not changed since.

Writes the generated part of docs/compatibility.md (between the ``transfer-matrix`` markers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "compatibility.md"
BEGIN, END = "<!-- transfer-matrix:begin -->", "<!-- transfer-matrix:end -->"
TOL = 0.01
DATASETS = ("higgs", "forest", "spambase", "sms")


def heldout_name(formula: str) -> str:
    """A registry name for a held-out formula, the same in every set and run (from its text)."""
    return "heldout-" + hashlib.sha256(formula.encode()).hexdigest()[:10]


def heldout_entries(formulas: list[str]) -> list:
    from nsad_lib.registry.entry import Entry

    return [Entry.create(heldout_name(text), 1, text, summary="held-out formula (not in the registry)")
            for text in formulas]


def train_through_runner(datasets_: dict, activations: list[str], seeds, epochs: int, store_dir: Path,
                         workers: int) -> dict[tuple[str, str], float]:
    """Mean test accuracy per (dataset, activation) over ``seeds``: every run goes through the
    benchmark runner (``nsad_lib.bench.runner``: plan, run_grid, a resumable ResultStore in
    ``store_dir``), so runs already stored are not trained again."""
    from nsad_lib.bench.runner import plan, run_grid, validate
    from nsad_lib.bench.store import ResultStore

    validate(activations)
    store = ResultStore(store_dir)
    specs = plan(datasets_, activations, seeds, epochs)

    def on_record(record: dict, done: int, total: int, failed: int) -> None:
        spec = record["spec"]
        score = record.get("result", {}).get("accuracy")
        print(f"  [{done}/{total}] {spec['dataset']} {spec['activation']} seed {spec['seed']}: "
              f"{record['status']}{'' if score is None else f' {score:.4f}'}", flush=True)

    counts = run_grid(specs, datasets_, store, workers=workers, on_record=on_record)
    if counts["failed"]:
        raise SystemExit(f"{counts['failed']} run(s) failed; see {store.path}")
    latest = store.latest()
    accs: dict[tuple[str, str], list[float]] = {}
    for spec in specs:
        accs.setdefault((spec.dataset, spec.activation), []).append(float(latest[spec.key]["result"]["accuracy"]))
    return {k: float(np.mean(v)) for k, v in accs.items()}


def outcome(delta: float) -> tuple[str, bool]:
    """(real outcome, clear?) for an accuracy gap against Light ReLU."""
    return ("transfers" if delta >= -TOL else "fails"), abs(delta) > TOL


def agrees(prediction: str, real: str) -> bool:
    return (prediction == "transfers" and real == "transfers") or (prediction == "does-not-transfer" and real == "fails")


def build(entries, datasets_, seeds, epochs, store_dir: Path, extra: list[str], workers: int = 1) -> list[dict]:
    from nsad_lib.compat.check import check
    from nsad_lib.data import datasets

    extra_entries = heldout_entries(extra)
    if extra_entries:  # the runner resolves activations by id: held-out formulas get a registry folder
        from nsad_lib.registry.store import Registry

        heldout_dir = store_dir / "heldout-registry"
        heldout_dir.mkdir(parents=True, exist_ok=True)
        reg = Registry([heldout_dir])
        for e in extra_entries:
            if not (heldout_dir / f"{e.id}.json").exists():
                reg.add(e, heldout_dir)
        os.environ["NSAD_REGISTRY_PATH"] = os.pathsep.join(
            [str(heldout_dir), *filter(None, [os.environ.get("NSAD_REGISTRY_PATH", "")])])
    loaded = {name: datasets.load(name) for name in datasets_}
    all_entries = [*entries, *extra_entries]
    accuracy = train_through_runner(loaded, ["relu", *[e.id for e in all_entries]], seeds, epochs, store_dir,
                                    workers)
    rows = []
    for name, ds in loaded.items():
        relu = accuracy[(name, "relu")]
        for entry in all_entries:
            t = time.perf_counter()
            v = check(entry, ds)
            check_s = time.perf_counter() - t
            held_out = entry.name.startswith("heldout-")
            label = entry.formula if held_out else entry.id
            acc = accuracy[(name, entry.id)]
            delta = acc - relu
            real, clear = outcome(delta)
            rows.append({"entry": label, "formula": entry.formula, "dataset": name, "held_out": held_out,
                         "prediction": v.verdict, "score": v.score, "domain": v.domain,
                         "rules_prediction": v.rules_verdict,
                         "accuracy": round(acc, 4), "relu": round(relu, 4), "delta": round(delta, 4),
                         "real": real, "clear": clear, "agree": agrees(v.verdict, real),
                         "check_seconds": round(check_s, 2),
                         "against": [r.text for r in v.reasons if not r.accepted and r.weight],
                         "for": [r.text for r in v.reasons if r.accepted and r.weight]})
            print(f"  {label:32s} {v.verdict:18s} {v.score:.2f}  real {delta * 100:+.1f} ({real}{'' if clear else ', tie'})",
                  flush=True)
    return rows


def predict(entries, datasets_) -> list[dict]:
    """The checker's verdicts only (no training): what ``--predict-only`` records."""
    from nsad_lib.compat.check import check
    from nsad_lib.data import datasets

    out = []
    for name in datasets_:
        ds = datasets.load(name)
        for entry in entries:
            v = check(entry, ds)
            label = entry.formula if entry.name.startswith("heldout-") else entry.id
            out.append({"entry": label, "dataset": name, "prediction": v.verdict, "score": v.score})
            print(f"  {name:9s} {label:32s} {v.verdict:18s} {v.score:.2f}", flush=True)
    return out


def summarise(rows: list[dict]) -> dict:
    clear = [r for r in rows if r["clear"]]
    decided = [r for r in clear if r["prediction"] != "uncertain"]
    confusion = Counter((r["prediction"], r["real"] if r["clear"] else "tie") for r in rows)
    return {
        "cases": len(rows), "clear": len(clear),
        "agreement": sum(r["agree"] for r in clear) / len(clear) if clear else float("nan"),
        "decided": len(decided),
        "agreement_decided": sum(r["agree"] for r in decided) / len(decided) if decided else float("nan"),
        "confusion": {f"{p}|{q}": n for (p, q), n in sorted(confusion.items())},
    }


def markdown(rows: list[dict], seeds, epochs, title: str, note: str = "") -> str:
    s = summarise(rows)
    out = [f"### {title}", ""]
    if note:
        out += [note, ""]
    out.append(f"Protocol: Light network, {epochs} epochs, seeds {', '.join(map(str, seeds))}, mean test accuracy; "
               "Δ = Light+formula − Light ReLU in accuracy points. Real outcome: *transfers* when Δ ≥ −1, *fails* "
               "below; *clear* when |Δ| > 1.")
    out.append("")
    out.append(f"**Agreement on the clear cases: {s['agreement']:.0%}** ({sum(r['agree'] for r in rows if r['clear'])}"
               f" of {s['clear']}; `uncertain` counts as a miss). On the clear cases where the checker committed "
               f"(not `uncertain`): {s['agreement_decided']:.0%} of {s['decided']}.")
    out.append("")
    out.append("| entry | dataset | domain | checker | score | Light+formula | Light ReLU | Δ (points) | real | agrees |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        real = r["real"] if r["clear"] else f"{r['real']} (tie)"
        mark = ("yes" if r["agree"] else "**no**") if r["clear"] else ("(yes)" if r["agree"] else "(no)")
        out.append(f"| `{r['entry']}` | {r['dataset']} | {r['domain']} | {r['prediction']} | {r['score']:.2f} | "
                   f"{r['accuracy']:.3f} | {r['relu']:.3f} | {100 * r['delta']:+.1f} | {real} | {mark} |")
    out.append("")
    out.append("Confusion (rows: checker, columns: real outcome; *tie* = within ±1 point, not scored):")
    out.append("")
    out.append("| checker \\ real | transfers (clear gain) | tie (±1) | fails (clear loss) |")
    out.append("|---|---|---|---|")
    conf = Counter()
    for r in rows:
        col = "tie" if not r["clear"] else ("gain" if r["real"] == "transfers" else "fails")
        conf[(r["prediction"], col)] += 1
    for p in ("transfers", "uncertain", "does-not-transfer"):
        out.append(f"| {p} | {conf[(p, 'gain')]} | {conf[(p, 'tie')]} | {conf[(p, 'fails')]} |")
    out.append("")
    misses = [r for r in rows if r["clear"] and not r["agree"]]
    soft = [r for r in rows if not r["clear"] and not r["agree"]]
    out.append(f"Disagreements on clear cases ({len(misses)}):" if misses else "Disagreements on clear cases: none.")
    out.append("")
    for r in misses:
        why = "; ".join(r["against"] or r["for"]) or "no weighted rule fired"
        out.append(f"- `{r['entry']}` on {r['dataset']}: checker **{r['prediction']}** (score {r['score']:.2f}), real "
                   f"{100 * r['delta']:+.1f} points ({r['real']}). The checker's reasons: {why}")
    if soft:
        out.append("")
        out.append(f"Ties (|Δ| ≤ 1 point, not scored) where the checker did not say `transfers` ({len(soft)}):")
        out.append("")
        for r in soft:
            out.append(f"- `{r['entry']}` on {r['dataset']}: checker {r['prediction']} ({r['score']:.2f}), "
                       f"real {100 * r['delta']:+.1f} points")
    out.append("")
    return "\n".join(out)


def write_doc(text: str, path: Path) -> None:
    block = f"{BEGIN}\n{text}\n{END}"
    if path.is_file():
        doc = path.read_text()
        if BEGIN in doc and END in doc:
            head, rest = doc.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            doc = head + block + tail
        else:
            doc = doc.rstrip() + "\n\n" + block + "\n"
    else:
        doc = "# Compatibility checker\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(doc)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--registry", action="append", default=[], help="extra registry directory (repeatable)")
    parser.add_argument("--entries", default="", help="comma-separated ids (default: every entry)")
    parser.add_argument("--extra", action="append", default=[], help="first held-out set: formula text (repeatable)")
    parser.add_argument("--extra2", action="append", default=[], help="second held-out set: formula text (repeatable)")
    parser.add_argument("--fresh", action="append", default=[], help="fresh held-out set: formula text (repeatable)")
    parser.add_argument("--predict-only", default="", help="write the checker's verdicts for --fresh here; no training")
    parser.add_argument("--predictions", default="", help="verdicts recorded with --predict-only; must still match")
    parser.add_argument("--outcomes", default=str(Path(tempfile.gettempdir()) / "nsad-transfer-outcomes"),
                        help="the runner's store folder (results.jsonl; runs already there are not trained again)")
    parser.add_argument("--workers", type=int, default=1, help="training processes (the runner's local executor)")
    parser.add_argument("--doc", default=str(DOC), help="markdown file to update ('-' to only print)")
    parser.add_argument("--json", default="", help="also write the rows as JSON here")
    args = parser.parse_args(argv)

    from nsad_lib.registry.store import Registry

    seeds = tuple(int(s) for s in args.seeds.split(","))
    reg = Registry(args.registry or None)
    entries = reg.entries()
    if args.entries:
        wanted = args.entries.split(",")
        entries = [reg.resolve(e) for e in wanted]
    store_dir = Path(args.outcomes)
    if args.predict_only:
        recorded = predict(heldout_entries(args.fresh), args.datasets.split(","))
        Path(args.predict_only).write_text(json.dumps(recorded, indent=2) + "\n")
        print(f"wrote {args.predict_only}")
        return 0
    rows = build(entries, args.datasets.split(","), seeds, args.epochs, store_dir, [], args.workers)
    text = markdown(rows, seeds, args.epochs, "Registry entries × datasets")
    if args.extra:
        held = build([], args.datasets.split(","), seeds, args.epochs, store_dir, args.extra, args.workers)
        text += "\n" + markdown(held, seeds, args.epochs,
                                 "First held-out formulas (run once with rules 1-6; calibration data since)")
        rows += held
    if args.extra2:
        held2 = build([], args.datasets.split(","), seeds, args.epochs, store_dir, args.extra2, args.workers)
        text += "\n" + markdown(held2, seeds, args.epochs,
                                 "Second held-out formulas (run once with a saturation rule; calibration data since)")
        rows += held2
    if args.fresh:
        fresh = build([], args.datasets.split(","), seeds, args.epochs, store_dir, args.fresh, args.workers)
        note = ""
        if args.predictions:
            recorded = {(r["entry"], r["dataset"]): r["prediction"] for r in json.loads(Path(args.predictions).read_text())}
            changed = [r for r in fresh if recorded.get((r["entry"], r["dataset"])) != r["prediction"]]
            if changed:
                raise SystemExit(f"verdicts changed since {args.predictions} was recorded: "
                                 + ", ".join(f"{r['entry']} on {r['dataset']}" for r in changed))
            note = (f"Every verdict in this section was recorded before any of these formulas was trained "
                    f"(`benchmarks/results/{Path(args.predictions).name}`, committed first) and is unchanged.")
        text += "\n" + markdown(fresh, seeds, args.epochs, "Fresh held-out formulas (no rule was designed with them)",
                                 note)
        rows += fresh
    s = summarise([r for r in rows if not r["held_out"]])
    print(json.dumps(s, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    if args.doc != "-":
        write_doc(text, Path(args.doc))
        print(f"wrote {args.doc}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
