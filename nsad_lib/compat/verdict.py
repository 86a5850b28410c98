"""Verdicts that explain themselves, and the few readable rules that produce them.

Modelled on Hugging Face ``kernels``' ``VariantAccepted`` / ``VariantRejected(reason)``: every
rule returns a :class:`Reason` that says whether it speaks *for* (accepted) or *against*
(rejected) the transfer, by how much (``weight``), and why, in a sentence a scientist can check.
The score is ``0.5 + sum(weights)`` clipped to [0, 1]; ``transfers`` from 0.6, ``does-not-transfer``
below 0.4, ``uncertain`` in between (run ``--probe`` then).

The rules (calibrated on the paper's formulas and datasets; see docs/compatibility.md for the
agreement with real training and every disagreement):

1. ``order``       f keeps the order of the pre-activations or folds them: a monotone function
                   reproduces all but ``FOLD_COST_MAX`` of its variance over the mass, or not.
2. ``linearity``   f is near-linear over the 95% mass interval (1 - R^2 < 0.03): the Light
                   network degenerates towards a linear model, which at best ties ReLU.
3. ``pile``        (discrete targets) zero-inflated rows pile up around each unit's median; if f
                   is flat or even there, rows that differ by a few counts collapse together.
4. ``count-order`` (discrete targets) a folding f scrambles "more of this word" with "less".
5. ``structure``   (continuous targets, folding f) a bounded fold can carve bands out of
                   categorical structure (one-hot blocks, codes: the paper's Forest transfer);
                   on smooth measurements, or with an unbounded oscillation, it destroys the
                   sign of monotone signals.
6. ``domain``      the target's domain against the entry's source domain (a small nudge).
7. ``gate``        (added after two held-out runs, checked on a third) an order-keeping f is a
                   one-sided gate like the reference activations, or it is not: outside the
                   central 68% of the mass its slope is under ``GATE_CLOSED`` of its slope in
                   the middle on one side and at least ``GATE_OPEN`` of it on the other (ReLU:
                   0 and 2; GELU 0.18 and 2.2). Monotone shapes without such a gate (tanh, erf,
                   sigmoid, softsign: flat on both sides; softplus: half-open; x + x|x|/4:
                   steeper on both sides; 3x + sin(x): near-linear) lost to ReLU on almost every
                   clear held-out case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from nsad_lib.compat.profile_formula import FormulaProfile
from nsad_lib.data.profile import DataProfile

__all__ = ["Reason", "Verdict", "score_rules", "TRANSFERS_AT", "FAILS_BELOW",
           "FOLD_COST_MAX", "LINEAR_MAX", "PILE_GAIN_MIN", "STRUCTURE_MIN", "GATE_CLOSED", "GATE_OPEN"]

VerdictName = Literal["transfers", "uncertain", "does-not-transfer"]

TRANSFERS_AT = 0.6
FAILS_BELOW = 0.4
#: Share of f's variance over the mass, not reproducible by a monotone function, from which f
#: counts as folding (ReLU-like shapes with a slight backward slope: ~0.002; SiLU: 0.0001;
#: even shapes: ~0.6).
FOLD_COST_MAX = 0.02
#: Tail gains (mean |f'| outside the central 68% of the mass over mean |f'| inside it) of a
#: one-sided gate: the closed side under GATE_CLOSED, the open side at least GATE_OPEN.
GATE_CLOSED = 0.25
GATE_OPEN = 1.0
#: 1 - R^2 below which f counts as near-linear on the mass.
LINEAR_MAX = 0.03
#: Pile gain below which f counts as flat where zero-inflated rows pile up.
PILE_GAIN_MIN = 0.5
#: Share of columns in one-hot blocks or categorical codes from which a continuous target
#: has "categorical structure".
STRUCTURE_MIN = 0.5


@dataclass(frozen=True)
class Reason:
    """One rule's finding: accepted (speaks for the transfer) or rejected (against), and why."""

    rule: str
    accepted: bool
    weight: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "accepted": self.accepted, "weight": self.weight, "text": self.text}

    def __str__(self) -> str:
        return f"[{'accepted' if self.accepted else 'rejected'}] {self.rule}: {self.text}"


@dataclass(frozen=True)
class Verdict:
    """The checker's answer for one entry on one dataset; ``to_dict()`` is the ``--json`` form."""

    entry_id: str
    formula: str
    dataset: str
    domain: str
    domain_confidence: float
    verdict: VerdictName
    score: float
    reasons: tuple[Reason, ...]
    data_profile: DataProfile = field(repr=False)
    formula_profile: FormulaProfile = field(repr=False)
    source_profile: FormulaProfile | None = field(default=None, repr=False)
    source_domain: str = "unknown"
    probe: Any = None  # ProbeResult when --probe ran
    rows_profiled: int = 0
    seconds: float = 0.0
    rules_verdict: VerdictName | None = None  # today's rules alone (v1), beside the model's verdict
    prediction: Any = None  # predictor.Prediction of the checker v2 model, when one was used
    #: the model's prediction updated by the probe (predictor.Prediction), when --probe ran with the
    #: probe setting the model's combination was fitted for; the verdict is then its verdict
    with_probe: Any = None

    @property
    def accepted(self) -> bool:
        """True when the checker predicts a transfer (``VariantAccepted``-style)."""
        return self.verdict == "transfers"

    @property
    def rejected(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.accepted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry_id,
            "formula": self.formula,
            "dataset": self.dataset,
            "domain": self.domain,
            "domain_confidence": self.domain_confidence,
            "source_domain": self.source_domain,
            "verdict": self.verdict,
            "score": self.score,
            "reasons": [r.to_dict() for r in self.reasons],
            "data_profile": self.data_profile.to_dict(),
            "formula_profile": self.formula_profile.to_dict(),
            "source_profile": self.source_profile.to_dict() if self.source_profile else None,
            "probe": self.probe.to_dict() if self.probe is not None else None,
            "rules_verdict": self.rules_verdict,
            "prediction": self.prediction.to_dict() if self.prediction is not None else None,
            "with_probe": self.with_probe.to_dict() if self.with_probe is not None else None,
            "rows_profiled": self.rows_profiled,
            "seconds": round(self.seconds, 3),
        }


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _structure_share(data: DataProfile) -> float:
    in_blocks = sum(length for _, length in data.one_hot_blocks)
    codes = data.kinds.get("categorical", 0)
    return (in_blocks + codes) / max(data.n_features, 1)


#: Each rule's weight: how far one finding moves the score from 0.5 (signs: for / against).
WEIGHTS: dict[str, float] = {
    "order": 0.25,           # keeps order: +; folds: -
    "linearity": 0.4,        # near-linear: -
    "gate": 0.4,             # order-keeping without a one-sided gate: -
    "pile": 0.35,            # flat or even where zero-inflated rows pile up: - (x domain factor)
    "count-order": 0.2,      # folding counts: - (x domain factor)
    "structure-for": 0.35,   # bounded fold on categorical structure: + (x domain factor)
    "structure-against": 0.15,  # fold on smooth data, or unbounded on categorical: - (x domain factor)
    "domain": 0.1,           # same / different domain as the entry's source
}
#: How strongly the data-specific rules count for a "mixed" target (1.0 for a pure domain).
MIXED_FACTOR = 0.5


def _where(fp: FormulaProfile) -> str:
    lo, hi = fp.mass_interval
    return f"[{lo:.2f}, {hi:.2f}]"


def _is_folding(fp: FormulaProfile) -> bool:
    return fp.fold_cost >= FOLD_COST_MAX


def rule_order(fp: FormulaProfile) -> Reason:
    """1. Does f keep the order of the pre-activations over the mass, or fold them?"""
    w, where = WEIGHTS["order"], _where(fp)
    if not _is_folding(fp):
        return Reason("order", True, w,
                      f"f keeps the order of the pre-activations over the 95% mass interval {where} (a "
                      f"monotone function reproduces {100 * (1 - fp.fold_cost):.1f}% of its variance; "
                      f"rank agreement {fp.rank_agreement:.2f})")
    shape = {"even": "f is even, so z and -z give the same output",
             "odd": "f is odd but turns back inside the mass",
             "neither": "f turns back inside the mass"}[fp.parity]
    return Reason("order", False, -w,
                  f"f folds the pre-activations: {shape}; {_pct(fp.fold_mass)} of the mass in {where} "
                  f"sits where different inputs collapse to the same output, and no monotone "
                  f"function reproduces {_pct(fp.fold_cost)} of its variance "
                  f"({fp.folds} turning point(s), rank agreement {fp.rank_agreement:.2f})")


def rule_linearity(fp: FormulaProfile) -> Reason:
    """2. A near-linear f makes the Light network (nearly) a linear model."""
    where = _where(fp)
    if fp.nonlinearity < LINEAR_MAX:
        return Reason("linearity", False, -WEIGHTS["linearity"],
                      f"f is near-linear over {where} (a straight line explains "
                      f"{_pct(1 - fp.nonlinearity)} of its variance): the Light network degenerates "
                      "towards a linear model, which at best ties ReLU")
    return Reason("linearity", True, 0.0,
                  f"f is non-linear over {where} ({_pct(fp.nonlinearity)} of its variance is "
                  "not explained by a straight line)")


def rule_gate(fp: FormulaProfile) -> Reason | None:
    """7. An order-keeping f should be a one-sided gate like the reference activations."""
    if _is_folding(fp):
        return None
    closed, opened = sorted((fp.tail_gain_left, fp.tail_gain_right))
    tails = (f"outside the central 68% of the mass its slope is {fp.tail_gain_left:.2f}x (below) and "
             f"{fp.tail_gain_right:.2f}x (above) its slope in the middle")
    if closed < GATE_CLOSED and opened >= GATE_OPEN:
        return Reason("gate", True, 0.0, f"f is a one-sided gate like ReLU: {tails}")
    if opened < 0.5:
        shape = "it flattens on both sides, so units whose inputs land there barely learn"
    elif closed >= GATE_CLOSED and opened >= GATE_OPEN:
        shape = "neither side is closed, so it does not switch units off as ReLU does"
    elif closed >= GATE_CLOSED:
        shape = "neither side is closed, and neither is steeper than the middle"
    else:
        shape = "one side closes, but the other does not open (its slope stays under the middle's)"
    return Reason("gate", False, -WEIGHTS["gate"],
                  f"f keeps the order but is not a one-sided gate: {tails}; {shape}. Order-keeping "
                  "shapes without a gate lost to ReLU on nearly every clear held-out case")


def rule_pile(data: DataProfile, fp: FormulaProfile) -> Reason | None:
    """3. (discrete/mixed) Where zero-inflated rows pile up, is f flat or even?"""
    if data.domain not in ("discrete", "mixed"):
        return None
    factor = 1.0 if data.domain == "discrete" else MIXED_FACTOR
    flat, even = fp.pile_gain < PILE_GAIN_MIN, fp.parity == "even"
    if not (flat or even):
        return Reason("pile", True, 0.0,
                      f"where the zero-inflated rows pile up, f still separates them (slope "
                      f"{fp.pile_gain:.2f}x typical, f'(0) = {fp.df0:.2f})")
    why = []
    if flat:
        why.append(f"its slope there is {fp.pile_gain:.2f}x its typical slope (f'(0) = {fp.df0:.2f})")
    if even:
        why.append(f"it is even (f(0) = {fp.f0:.2f} is a turning point)")
    return Reason("pile", False, round(-WEIGHTS["pile"] * factor, 3),
                  f"{_pct(data.zero_fraction)} of the count cells are exactly zero, so rows pile up around each "
                  f"unit's median ({_pct(fp.pile_concentration)} within +-0.1); f is flat or "
                  f"symmetric there ({'; '.join(why)}): rows that differ by a few counts "
                  "collapse to the same output")


def rule_count_order(data: DataProfile, fp: FormulaProfile) -> Reason | None:
    """4. (discrete/mixed) A folding f maps more and less of a count to the same output."""
    if data.domain not in ("discrete", "mixed") or not _is_folding(fp):
        return None
    factor = 1.0 if data.domain == "discrete" else MIXED_FACTOR
    return Reason("count-order", False, round(-WEIGHTS["count-order"] * factor, 3),
                  "counts and frequencies carry their signal in their order (more of a word, "
                  "more spam-like); a folding f maps more and less to the same output")


def rule_structure(data: DataProfile, fp: FormulaProfile) -> Reason | None:
    """5. (continuous/mixed, folding f) Categorical structure a bounded fold can carve bands from."""
    if data.domain not in ("continuous", "mixed") or not _is_folding(fp):
        return None
    share = _structure_share(data)
    factor = 1.0 if data.domain == "continuous" else MIXED_FACTOR
    against = round(-WEIGHTS["structure-against"] * factor, 3)
    if share >= STRUCTURE_MIN and fp.bounded:
        return Reason("structure", True, round(WEIGHTS["structure-for"] * factor, 3),
                      f"{_pct(share)} of the columns are one-hot blocks or categorical codes and f is "
                      "bounded: a bounded fold can carve bands out of categorical structure (as the "
                      "paper's HIGGS formula does on Forest)")
    if share >= STRUCTURE_MIN:
        return Reason("structure", False, against,
                      f"{_pct(share)} of the columns are one-hot blocks or codes, but f is unbounded: "
                      "its growing oscillation amplifies the far-out rows that rare categories "
                      "produce after scaling")
    return Reason("structure", False, against,
                  f"the target is smooth measurements ({_pct(share)} one-hot or coded columns): "
                  "folding throws away the sign of monotone signals")


def rule_domain(data: DataProfile, source_domain: str) -> Reason:
    """6. The target's domain against the entry's source domain (a small nudge)."""
    w, domain = WEIGHTS["domain"], data.domain
    if source_domain == "any":
        return Reason("domain", True, w, "the entry is marked for any domain (a reference activation)")
    if source_domain in ("continuous", "discrete"):
        same = source_domain == domain
        return Reason("domain", same, w if same else -w,
                      f"target is {domain} (confidence {data.confidence:.2f}); the formula's source is "
                      f"{source_domain}" + (": same domain" if same else ": a different domain"))
    return Reason("domain", True, 0.0, f"target is {domain}; the entry's source domain is {source_domain}")


def note_source(fp: FormulaProfile, source_fp: FormulaProfile) -> Reason:
    """Not a rule (weight 0): the formula's shape on its source data beside its shape here."""
    if abs(source_fp.rank_agreement - fp.rank_agreement) < 0.1:
        text = (f"on its source data ({source_fp.dataset}) f shows rank agreement "
                f"{source_fp.rank_agreement:.2f}, fold mass {_pct(source_fp.fold_mass)}, pile slope "
                f"{source_fp.pile_gain:.2f}; here {fp.rank_agreement:.2f}, {_pct(fp.fold_mass)}, "
                f"{fp.pile_gain:.2f}: the formula's shape is the same, the data decide")
    else:
        text = (f"on its source data ({source_fp.dataset}) f shows rank agreement "
                f"{source_fp.rank_agreement:.2f} against {fp.rank_agreement:.2f} here")
    return Reason("source", True, 0.0, text)


def verdict_of(score: float) -> VerdictName:
    """``transfers`` from :data:`TRANSFERS_AT`, ``does-not-transfer`` below :data:`FAILS_BELOW`."""
    if score >= TRANSFERS_AT:
        return "transfers"
    if score < FAILS_BELOW:
        return "does-not-transfer"
    return "uncertain"


def score_rules(data: DataProfile, fp: FormulaProfile, source_domain: str = "unknown",
                source_fp: FormulaProfile | None = None) -> tuple[VerdictName, float, tuple[Reason, ...]]:
    """Apply the rules (in the order they read best: the formula's shape, then the data); returns
    (verdict, score, reasons). The score is ``0.5 + sum(weights)`` clipped to [0, 1]."""
    found = [rule_order(fp), rule_linearity(fp), rule_gate(fp), rule_pile(data, fp), rule_count_order(data, fp),
             rule_structure(data, fp), rule_domain(data, source_domain),
             note_source(fp, source_fp) if source_fp is not None else None]
    reasons = tuple(r for r in found if r is not None)
    score = round(min(1.0, max(0.0, 0.5 + sum(r.weight for r in reasons))), 3)
    return verdict_of(score), score, reasons
