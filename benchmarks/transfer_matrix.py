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
Training runs are cached (JSON lines, one run per line) so the table can be rebuilt quickly.

    python benchmarks/transfer_matrix.py                       # all entries, 4 datasets
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


def _cache_key(run: dict) -> tuple:
    return (run["dataset"], run["activation"], int(run["seed"]), int(run["epochs"]))


def load_cache(path: Path) -> dict[tuple, dict]:
    runs: dict[tuple, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                run = json.loads(line)
                runs[_cache_key(run)] = run
    return runs


def real_accuracy(ds, label: str, factory, seeds, epochs, cache: dict, cache_path: Path) -> float:
    """Mean test accuracy of Light+``label`` over ``seeds`` (cached per run)."""
    from nsad_lib.training.protocol import train_and_evaluate

    accs = []
    for seed in seeds:
        key = (ds.name, label, int(seed), int(epochs))
        if key not in cache:
            t = time.perf_counter()
            run = train_and_evaluate(ds, "light", factory, seed, epochs=epochs).to_dict()
            run["activation"] = label
            cache[key] = run
            with cache_path.open("a") as fh:
                fh.write(json.dumps(run) + "\n")
            print(f"  trained {ds.name} {label} seed {seed}: {run['accuracy']:.4f} ({time.perf_counter() - t:.0f} s)",
                  flush=True)
        accs.append(cache[key]["accuracy"])
    return float(np.mean(accs))


def outcome(delta: float) -> tuple[str, bool]:
    """(real outcome, clear?) for an accuracy gap against Light ReLU."""
    return ("transfers" if delta >= -TOL else "fails"), abs(delta) > TOL


def agrees(prediction: str, real: str) -> bool:
    return (prediction == "transfers" and real == "transfers") or (prediction == "does-not-transfer" and real == "fails")


def build(entries, datasets_, seeds, epochs, cache_path: Path, extra: list[str]) -> list[dict]:
    import torch

    from nsad_lib.compat.check import check
    from nsad_lib.data import datasets
    from nsad_lib.nn.activation import SymbolicActivation

    torch.set_num_threads(1)
    cache = load_cache(cache_path)
    rows = []
    extra_entries = heldout_entries(extra)
    for name in datasets_:
        ds = datasets.load(name)
        print(f"{name}: {ds.n_rows:,} rows", flush=True)
        relu = real_accuracy(ds, "relu", "relu", seeds, epochs, cache, cache_path)
        for entry in [*entries, *extra_entries]:
            t = time.perf_counter()
            v = check(entry, ds)
            check_s = time.perf_counter() - t
            held_out = entry.name.startswith("heldout-")
            label = entry.formula if held_out else entry.id

            def factory(entry=entry):
                return SymbolicActivation(entry.formula_object(), trainable=entry.trainable, name=entry.id)

            factory.__name__ = label
            acc = real_accuracy(ds, label, factory, seeds, epochs, cache, cache_path)
            delta = acc - relu
            real, clear = outcome(delta)
            rows.append({"entry": label, "formula": entry.formula, "dataset": name, "held_out": held_out,
                         "prediction": v.verdict, "score": v.score, "domain": v.domain,
                         "accuracy": round(acc, 4), "relu": round(relu, 4), "delta": round(delta, 4),
                         "real": real, "clear": clear, "agree": agrees(v.verdict, real),
                         "check_seconds": round(check_s, 2),
                         "against": [r.text for r in v.reasons if not r.accepted and r.weight],
                         "for": [r.text for r in v.reasons if r.accepted and r.weight]})
            print(f"  {label:32s} {v.verdict:18s} {v.score:.2f}  real {delta * 100:+.1f} ({real}{'' if clear else ', tie'})",
                  flush=True)
    return rows


def heldout_entries(formulas: list[str]) -> list:
    from nsad_lib.registry.entry import Entry

    return [Entry.create(f"heldout-{i + 1}", 1, text, summary="held-out formula (not in the registry)")
            for i, text in enumerate(formulas)]


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
    parser.add_argument("--outcomes", default=str(Path(tempfile.gettempdir()) / "nsad-transfer-outcomes.jsonl"),
                        help="cache of training runs (JSON lines)")
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
    cache_path = Path(args.outcomes)
    if args.predict_only:
        recorded = predict(heldout_entries(args.fresh), args.datasets.split(","))
        Path(args.predict_only).write_text(json.dumps(recorded, indent=2) + "\n")
        print(f"wrote {args.predict_only}")
        return 0
    rows = build(entries, args.datasets.split(","), seeds, args.epochs, cache_path, [])
    text = markdown(rows, seeds, args.epochs, "Registry entries × datasets")
    if args.extra:
        held = build([], args.datasets.split(","), seeds, args.epochs, cache_path, args.extra)
        text += "\n" + markdown(held, seeds, args.epochs,
                                 "First held-out formulas (run once with rules 1-6; calibration data since)")
        rows += held
    if args.extra2:
        held2 = build([], args.datasets.split(","), seeds, args.epochs, cache_path, args.extra2)
        text += "\n" + markdown(held2, seeds, args.epochs,
                                 "Second held-out formulas (run once with a saturation rule; calibration data since)")
        rows += held2
    if args.fresh:
        fresh = build([], args.datasets.split(","), seeds, args.epochs, cache_path, args.fresh)
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
