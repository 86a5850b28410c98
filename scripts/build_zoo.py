"""Write the formula zoo: the activations the checker learns from, beside the bundled entries.

The checker v2 (docs/compatibility.md) is fitted on a transfer matrix: every ``tabular-25``
dataset x a formula set x 3 seeds, the Light protocol. The bundled entries and torch's
builtins are 12 of those formulas; this script writes the other ones as a registry folder
(``benchmarks/zoo/``), each entry with its *family* (the shape class that leave-one-family-out
holds out together) in ``metrics.zoo.family``. Hand-picked shapes cover the families the issue
names (periodic, gated, saturating, folding, bump, piecewise-linear); six more are drawn with a
fixed seed from the discovery search space (``nsad_lib.discovery.strategies.search.random_tree``)
and kept when safe, non-linear and not in the ReLU family.

    python scripts/build_zoo.py            # writes benchmarks/zoo/ (refuses to change an entry)
    python scripts/build_zoo.py --list     # prints id, family and formula

The grid that measures them (resumable; the bundled ones are stored beside them):

    NSAD_REGISTRY_PATH=benchmarks/zoo nsad-lib bench --suite tabular-25 --seeds 42,43,44 \\
        --workers 2 --out results/tabular-25 --activations "$(python scripts/build_zoo.py --activations)"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ZOO = REPO / "benchmarks" / "zoo"
CREATED = "2026-11-30T00:00:00Z"
RANDOM_SEED = 2026
RANDOM_COUNT = 6

#: (name, formula, family) of the hand-picked shapes.
HAND: tuple[tuple[str, str, str], ...] = (
    ("zoo-sin", "sin(x)", "periodic"),
    ("zoo-cos-shift", "cos(x + 1)", "periodic"),
    ("zoo-snake", "x + sin(x)**2", "periodic"),
    ("zoo-xsin", "x*sin(x)", "periodic"),
    ("zoo-sin-lin", "x + sin(2*x)/2", "periodic"),
    ("zoo-tanh-cos", "tanh(x)*cos(x)", "periodic"),
    ("zoo-sin-tanh", "sin(2*tanh(x))", "periodic"),
    ("zoo-gcu2", "x*cos(2*x)", "periodic"),
    ("zoo-swish-half", "x*sigmoid(x/2)", "gated"),
    ("zoo-swish4", "x*sigmoid(4*x)", "gated"),
    ("zoo-mish", "x*tanh(softplus(x))", "gated"),
    ("zoo-tanh-gate", "x*(1 + tanh(x))/2", "gated"),
    ("zoo-swish-leak", "x*sigmoid(x) + x/4", "gated"),
    ("zoo-swish-negleak", "x*sigmoid(x) - x/4", "gated"),
    ("zoo-erf-gate", "x*(1 + erf(x))/2", "gated"),
    ("zoo-tanh2", "tanh(2*x)", "saturating"),
    ("zoo-sigmoid", "sigmoid(x)", "saturating"),
    ("zoo-softsign", "x/(1 + Abs(x))", "saturating"),
    ("zoo-erf", "erf(x)", "saturating"),
    ("zoo-hardtanh", "Max(-1, Min(1, x))", "saturating"),
    ("zoo-abs", "Abs(x)", "folding"),
    ("zoo-square", "x**2", "folding"),
    ("zoo-xerf", "x*erf(x)", "folding"),
    ("zoo-abs-leak", "Abs(x) - x/2", "folding"),
    ("zoo-gauss", "exp(-x**2)", "bump"),
    ("zoo-xexpabs", "x*exp(-Abs(x))", "bump"),
    ("zoo-xgauss", "x*exp(-x**2/2)", "bump"),
    ("zoo-leaky", "Max(x/10, x)", "piecewise"),
    ("zoo-relu6", "Min(Max(0, x), 6)", "piecewise"),
    ("zoo-sqrelu", "Max(0, x)**2", "piecewise"),
    ("zoo-softplus", "softplus(x)", "piecewise"),
    ("zoo-tanh-elu", "Max(0, x) + tanh(Min(0, x))", "piecewise"),
)

#: Families of the formulas measured beside the zoo (torch builtins and bundled entries).
BESIDE: dict[str, str] = {
    "relu": "piecewise", "gelu": "gated", "silu": "gated", "tanh": "saturating",
    "higgs-v1": "periodic", "forest-v1": "periodic", "spambase-v1": "periodic",
    "hajbi2026-higgs-fig-v1": "periodic", "hajbi2026-higgs-readme-v1": "periodic",
    "hajbi2026-spambase-fig-v1": "periodic", "higgs-specialist-v1": "piecewise",
    "higgs-specialist-v2": "gated",
}


def random_formulas() -> list[tuple[str, str, str]]:
    """``RANDOM_COUNT`` safe, non-linear, non-ReLU-family trees of depth <= 3, seeded."""
    from nsad_lib.discovery.candidates import is_linear, is_relu_family, is_safe
    from nsad_lib.discovery.strategies.search import emit, random_tree, size
    from nsad_lib.errors import NsadError
    from nsad_lib.formula import Formula

    rng = np.random.default_rng(RANDOM_SEED)
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    while len(out) < RANDOM_COUNT:
        tree = random_tree(rng, 3)
        if size(tree) < 3 or size(tree) > 9:
            continue
        try:
            formula = Formula.parse(emit(tree))
        except NsadError:
            continue
        if formula.canonical in seen or "x" not in formula.canonical or is_linear(formula) \
                or is_relu_family(formula) or not is_safe(formula):
            continue
        seen.add(formula.canonical)
        out.append((f"zoo-random{len(out) + 1}", formula.canonical, "random"))
    return out


def zoo() -> list[tuple[str, str, str]]:
    return list(HAND) + random_formulas()


def families() -> dict[str, str]:
    """Family of every formula of the transfer matrix, by activation label (``zoo-x-v1``, ``relu``)."""
    return {**BESIDE, **{f"{name}-v1": family for name, _, family in zoo()}}


def entries():  # -> list[Entry]
    from nsad_lib.registry.entry import Entry

    out = []
    for name, text, family in zoo():
        out.append(Entry.create(
            name, 1, text,
            summary=f"Checker training formula ({family} family); not a recommended activation.",
            domains={"source": "any", "transfers": []},
            provenance={"dataset": None, "method": {"strategy": "zoo", "how": "hand-picked shape" if family != "random"
                                                    else f"random_tree(seed={RANDOM_SEED}) of the discovery search space"},
                        "command": "python scripts/build_zoo.py", "created": CREATED, "license": "CC0-1.0"},
            metrics={"zoo": {"family": family}},
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print id, family, formula")
    parser.add_argument("--activations", action="store_true", help="print the grid's --activations value")
    args = parser.parse_args()
    if args.list:
        for label, family in families().items():
            print(f"{label:28s} {family}")
        return
    if args.activations:
        print(",".join(families()))
        return
    from nsad_lib.registry.store import Registry

    ZOO.mkdir(parents=True, exist_ok=True)
    registry = Registry(ZOO, include_env=False, include_bundled=False)
    existing = set(registry.ids())
    for entry in entries():
        if entry.id in existing:
            if registry.resolve(entry.id).sha256 != entry.sha256:
                raise SystemExit(f"{entry.id}: the zoo on disk differs from this script; entries are immutable")
            continue
        registry.add(entry)
        print(f"{entry.id}: {entry.formula}")
    (ZOO / "families.json").write_text(json.dumps(families(), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
