"""``search``: evolve univariate formulas whose fitness is what we actually want.

Fitness is the validation AUC of a Light network trained briefly (``SEARCH_EPOCHS`` epochs on at
most ``SEARCH_ROWS`` fit rows) with the formula as its activation, constants trainable. The
population starts from a generic scaffold, ``x``, ``u(c*x)`` and ``x + c*u(d*x)`` for every
unary ``u``, plus random trees, and evolves by tournament selection, subtree crossover and
mutation (subtree, point, constant). Formulas are trees of our own operators emitted as text
and read back by the safe parser; structurally equal formulas are scored once.

``--family`` narrows the search with a prior: ``periodic`` (sin/cos/tanh shapes with a
trainable constant, for formulas meant to transfer) and ``gated`` (``x`` times a learned gate,
``x*u(c*x)`` and ``x*u(c*x) + d*x``, the shape of SiLU/GELU/Swish generalised to every unary
``u``, with trainable gains and leaks). A family fixes the operators, the starting population
and which evolved formulas may become candidates; the default ``any`` is unchanged.

The number of evaluations is ``--evaluations``, or comes from ``--budget`` through the fixed
cost model of :mod:`nsad_lib.discovery.budget` (:func:`evaluations_for_budget`); no clock stops
the search early, so the same seed and data give the same formula.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from nsad_lib.discovery.budget import Clock, training_cost
from nsad_lib.discovery.candidates import Candidate, is_linear, is_relu_family, is_safe
from nsad_lib.discovery.constants import tidy
from nsad_lib.discovery.source import SourceData
from nsad_lib.discovery.strategies import Progress, StrategyResult
from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula

Tree = Union[str, float, tuple]

UNARY = ("sin", "cos", "tanh", "abs", "relu", "sigmoid")
#: Search families: the operators each may use. ``periodic`` is a prior for formulas meant to
#: transfer (the paper's and our Forest results favour periodic shapes with trainable constants);
#: its candidates must contain sin or cos and at least one trainable constant.
#: ``gated`` keeps every operator but starts from ``x*u(c*x)`` (+ ``d*x``) shapes and keeps only
#: candidates with a gate (a product of ``x`` and a non-polynomial function of ``x``).
FAMILIES = {"any": UNARY, "periodic": ("sin", "cos", "tanh"), "gated": UNARY}
#: Families in which a formula's initial constants are part of its identity. Elsewhere formulas
#: that differ only in their constants are one formula, scored once (the network trains the
#: constants). In ``gated`` the gain and the leak *are* the shape searched for, and 15 epochs of
#: Adam (about 200 steps at lr 1e-3) move a constant by about 0.2 at most, so ``x*sigmoid(a*x)`` with
#: a=1 and with a=2 are different candidates and constant mutations are scored.
VALUED_FAMILIES = ("gated",)
BINARY = ("add", "sub", "mul")
SEARCH_EPOCHS = 10
SEARCH_ROWS = 12000
POPULATION = 16
MAX_NODES = 13
SEARCH_SHARE = 0.55


def emit(t: Tree) -> str:
    """Formula text for a tree (our syntax; parsed by the safe parser afterwards)."""
    if t == "x":
        return "x"
    if isinstance(t, float):
        return repr(round(t, 3))
    op, *args = t
    a = [emit(x) for x in args]
    if op == "add":
        return f"({a[0]} + {a[1]})"
    if op == "sub":
        return f"({a[0]} - {a[1]})"
    if op == "mul":
        return f"({a[0]} * {a[1]})"
    if op == "relu":
        return f"max({a[0]}, 0)"
    return f"{op}({a[0]})"


def size(t: Tree) -> int:
    return 1 if not isinstance(t, tuple) else 1 + sum(size(c) for c in t[1:])


def _paths(t: Tree, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    out = [path]
    if isinstance(t, tuple):
        for i, c in enumerate(t[1:], start=1):
            out += _paths(c, path + (i,))
    return out


def _get(t: Tree, path: tuple[int, ...]) -> Tree:
    for i in path:
        t = t[i]  # type: ignore[index]
    return t


def _put(t: Tree, path: tuple[int, ...], new: Tree) -> Tree:
    if not path:
        return new
    assert isinstance(t, tuple)
    i = path[0]
    return t[:i] + (_put(t[i], path[1:], new),) + t[i + 1:]


def _const(rng: np.random.Generator) -> float:
    return float(rng.choice([0.5, 1.0, 2.0, 3.0, -0.5, -1.0]) if rng.random() < 0.6 else round(float(rng.uniform(-3, 3)), 2))


def random_tree(rng: np.random.Generator, depth: int, unary: tuple[str, ...] = UNARY) -> Tree:
    if depth <= 0 or rng.random() < 0.25:
        return "x" if rng.random() < 0.7 else _const(rng)
    if rng.random() < 0.5:
        return (str(rng.choice(unary)), random_tree(rng, depth - 1, unary))
    return (str(rng.choice(BINARY)), random_tree(rng, depth - 1, unary), random_tree(rng, depth - 1, unary))


def scaffold(unary: tuple[str, ...] = UNARY) -> list[Tree]:
    """The starting shapes: x, u(c*x) and x + c*u(d*x) for every unary u."""
    trees: list[Tree] = []
    for u in unary:
        trees.append((u, ("mul", 1.0, "x")) if u != "relu" else (u, "x"))
        trees.append(("add", "x", ("mul", 0.5, (u, ("mul", 2.0, "x")))))
    return trees


def gated_scaffold(unary: tuple[str, ...] = UNARY) -> list[Tree]:
    """The ``gated`` family's starting shapes: x*u(x), x*u(2x), x*u(x) + x/2 and x*u(x) - x/2.

    The gain inside ``u`` and the linear leak are lifted into trainable constants, so the
    network tunes them; evolution mutates their initial values and the rest of the tree.
    """
    trees: list[Tree] = []
    for u in unary:
        gate1 = ("mul", "x", (u, ("mul", 1.0, "x")) if u != "relu" else (u, "x"))
        trees.append(gate1)
        if u != "relu":  # relu(c*x) = c*relu(x): its gain is not a shape
            trees.append(("mul", "x", (u, ("mul", 2.0, "x"))))
        trees.append(("add", gate1, ("mul", 0.5, "x")))
        trees.append(("add", gate1, ("mul", -0.5, "x")))
    return trees


def is_gated(f: Formula) -> bool:
    """True when ``f`` contains ``x * g(x)`` with ``g`` a non-polynomial function of ``x`` (a gate)."""
    import sympy as sp

    from nsad_lib.formula.language import X

    for node in sp.preorder_traversal(f.expr):
        if isinstance(node, sp.Mul) and X in node.args and any(
                a != X and X in a.free_symbols and not a.is_polynomial(X) for a in node.args):
            return True
    return False


def mutate(t: Tree, rng: np.random.Generator, unary: tuple[str, ...] = UNARY) -> Tree:
    paths = _paths(t)
    path = paths[int(rng.integers(len(paths)))]
    node = _get(t, path)
    r = rng.random()
    if isinstance(node, float) and r < 0.6:
        return _put(t, path, round(node * float(rng.choice([0.5, 0.8, 1.25, 2.0, -1.0])), 3))
    if isinstance(node, tuple) and node[0] in unary and r < 0.5:
        return _put(t, path, (str(rng.choice(unary)), node[1]))
    if isinstance(node, tuple) and node[0] in BINARY and r < 0.5:
        return _put(t, path, (str(rng.choice(BINARY)), node[1], node[2]))
    if r < 0.8:
        return _put(t, path, random_tree(rng, 2, unary))
    # wrap: x + c*node or u(node)
    if rng.random() < 0.5:
        return _put(t, path, ("add", node, ("mul", _const(rng), (str(rng.choice(unary)), "x"))))
    return _put(t, path, (str(rng.choice(unary)), node))


def crossover(a: Tree, b: Tree, rng: np.random.Generator) -> Tree:
    pa, pb = _paths(a), _paths(b)
    return _put(a, pa[int(rng.integers(len(pa)))], _get(b, pb[int(rng.integers(len(pb)))]))


def to_formula(t: Tree) -> Formula | None:
    """The tree as a tidy formula with lifted constants, or None if unusable."""
    try:
        f = tidy(Formula.parse(emit(t)))
    except NsadError:
        return None
    if is_linear(f) or f.complexity > 3 * MAX_NODES:
        return None
    return f


def offspring(ranked: list[Tree], n: int, rng: np.random.Generator, unary: tuple[str, ...] = UNARY) -> list[Tree]:
    """``n`` children of a population ranked best first: tournament of 3 (the best-ranked of three
    drawn wins), crossover with probability 0.4, then one mutation each."""
    children = []
    for _ in range(n):
        pick = lambda: min(rng.choice(len(ranked), size=min(3, len(ranked)), replace=False))  # noqa: E731
        parent = ranked[pick()]
        child = crossover(parent, ranked[pick()], rng) if rng.random() < 0.4 else parent
        children.append(mutate(child, rng, unary))
    return children


def _key(f: Formula, family: str) -> str:
    """What makes two formulas the same search point: the canonical text (and, in
    :data:`VALUED_FAMILIES`, the initial values of its constants)."""
    if family not in VALUED_FAMILIES or not f.parameters:
        return f.canonical
    return f.canonical + " | " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(f.parameters.items()))


def _in_family(f: Formula, family: str) -> bool:
    if family == "any":
        return True
    if family == "gated":
        return is_gated(f)
    text = f.canonical
    return bool(f.parameters) and ("sin(" in text or "cos(" in text)


def cost_per_evaluation(fit_rows: int) -> float:
    """Nominal seconds of one search evaluation on ``fit_rows`` fit rows (the fixed cost model)."""
    return training_cost(min(SEARCH_ROWS, fit_rows), SEARCH_EPOCHS)


def evaluations_for_budget(budget_s: float, fit_rows: int) -> int:
    """The search's evaluation count bought by ``budget_s`` (its :data:`SEARCH_SHARE`), at least :data:`POPULATION`."""
    return max(POPULATION, int(SEARCH_SHARE * budget_s / cost_per_evaluation(fit_rows)))


def run(data: SourceData, backend: object, *, seed: int, budget_s: float, progress: Progress,
        family: str = "any", evaluations: int | None = None, clock: Clock | None = None) -> StrategyResult:
    from nsad_lib.discovery.validate import score
    from nsad_lib.nn.activation import SymbolicActivation

    if family not in FAMILIES:
        raise NsadError(f"unknown search family {family!r} (choose from {', '.join(FAMILIES)})")
    unary = FAMILIES[family]
    rng = np.random.default_rng(seed)
    rows = min(SEARCH_ROWS, len(data.y_fit))
    allowance = evaluations if evaluations is not None else evaluations_for_budget(budget_s, len(data.y_fit))
    clock = clock or Clock()
    progress(f"search: up to {allowance} evaluations ({SEARCH_EPOCHS} epochs on {rows:,} rows each)")

    scores: dict[str, float] = {}
    formulas: dict[str, Formula] = {}
    trees: dict[str, Tree] = {}

    def evaluate(t: Tree) -> str | None:
        if size(t) > MAX_NODES:
            return None
        f = to_formula(t)
        if f is None:
            return None
        key = _key(f, family)
        if key in scores:
            return key
        if len(scores) >= allowance or not is_safe(f):
            return None
        clock.check("the search")
        make = lambda f=f: SymbolicActivation(f, trainable=True)  # noqa: E731
        auc, _acc, _params, _ = score(make, data, seeds=(seed,), epochs=SEARCH_EPOCHS, max_fit_rows=rows)
        scores[key] = auc - 1e-4 * f.complexity
        formulas[key], trees[key] = f, t
        if len(scores) % 10 == 0:
            best = max(scores, key=scores.__getitem__)
            progress(f"search: {len(scores)}/{allowance} evaluated; best {best} (val AUC {scores[best]:.4f})")
        return key

    population: list[str] = []
    if family == "gated":  # gated starting shapes, and random trees as gates of x
        start = [*gated_scaffold(unary), *(("mul", "x", random_tree(rng, 2, unary)) for _ in range(POPULATION))]
    else:
        start = [*scaffold(unary), *(random_tree(rng, 3, unary) for _ in range(POPULATION))]
    for t in start:
        k = evaluate(t)
        if k is not None and k not in population:
            population.append(k)
    generation = 0
    stale = 0
    while len(scores) < allowance and population and stale < 50:
        generation += 1
        population.sort(key=lambda k: (-scores[k], formulas[k].complexity, k))
        population = population[:POPULATION]
        children = offspring([trees[k] for k in population], POPULATION, rng, unary)
        before = len(scores)
        for c in children:
            k = evaluate(c)
            if k is not None and k not in population:
                population.append(k)
        stale = stale + 1 if len(scores) == before else 0
    ranked = sorted(scores, key=lambda k: (-scores[k], formulas[k].complexity, k))
    # The ReLU family evolves as a stepping stone but is never a candidate: it is the reference.
    cands = [Candidate(formulas[k], "search", emit(trees[k]), round(scores[k], 5)) for k in ranked
             if not is_relu_family(formulas[k]) and _in_family(formulas[k], family)]
    settings = {"search_epochs": SEARCH_EPOCHS, "search_rows": rows, "population": POPULATION, "max_nodes": MAX_NODES,
                "family": family, "unary": list(unary), "binary": list(BINARY), "evaluations_allowed": allowance,
                "fitness": "val AUC of a Light net (constants trainable) - 1e-4 * complexity",
                **({"constants": "initial values distinguish formulas"} if family in VALUED_FAMILIES else {})}
    facts = {"evaluated": len(scores), "generations": generation,
             "top": [{"formula": formulas[k].canonical,
                      **({"parameters": dict(formulas[k].parameters)} if family in VALUED_FAMILIES else {}),
                      "score": round(scores[k], 5)} for k in ranked[:10]]}
    return StrategyResult(cands, settings, facts)
