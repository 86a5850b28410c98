"""The checker v2's features: the unlabelled data profile and the formula's shape on the target's
own pre-activations, as one fixed-order numeric vector (no labels, no training).

Both profiles are what :func:`nsad_lib.check` already measures (``profile_data`` on a sample of
the training split, ``profile_formula`` on ``BatchNorm(Linear(d, 64))`` of it), so the v2 model
adds no cost to a check. :data:`FEATURES` fixes the order; :data:`DESCRIPTIONS` says in words
what each one is (the reasons quote them).
"""

from __future__ import annotations

import math

import numpy as np

from nsad_lib.compat.profile_formula import FormulaProfile
from nsad_lib.compat.verdict import score_rules
from nsad_lib.data.profile import DataProfile

__all__ = ["FEATURES", "DESCRIPTIONS", "FEATURE_VERSION", "feature_vector", "is_monotone", "is_near_monotone"]

#: Bumped whenever a feature's definition changes (cached feature tables of another version are rebuilt).
FEATURE_VERSION = 2

#: name -> what it measures (in the words the reasons use).
DESCRIPTIONS: dict[str, str] = {
    # the formula on the target's pre-activations
    "rank_agreement": "rank agreement of f(z) with z",
    "fold_mass": "share of the mass where different inputs give the same output",
    "fold_cost": "share of f's variance no monotone function reproduces",
    "nonlinearity": "share of f's variance a straight line does not explain",
    "pile_gain": "slope of f where rows pile up (relative)",
    "flat_mass": "share of the mass where f is flat",
    "tail_gain_left": "slope of f below the central 68% of the mass (relative)",
    "tail_gain_right": "slope of f above the central 68% of the mass (relative)",
    "folds": "turning points of f inside the mass",
    "bounded": "f is bounded",
    "even": "f is even",
    "odd": "f is odd",
    "df0": "slope of f at 0",
    "f0": "f(0)",
    "mass_width": "width of the 95% mass interval of the pre-activations",
    "pile_concentration": "share of rows piled up at their unit's median",
    # the data, unlabelled
    "log_rows": "log10 of the rows profiled",
    "log_features": "log10 of the number of columns",
    "count_share": "share of count / sparse columns",
    "zero_fraction": "share of zeros in the count columns",
    "onehot_share": "share of columns in one-hot blocks",
    "categorical_share": "share of categorical-code columns",
    "binary_share": "share of binary columns",
    "continuous_share": "share of continuous columns",
    "heavy_tail_share": "share of heavy-tailed columns (excess kurtosis > 10)",
    # both: today's rules (v1) as one number, without the entry's source domain
    "rules_score": "today's rules' score (v1 checker, 0 to 1)",
}
FEATURES: tuple[str, ...] = tuple(DESCRIPTIONS)


def _clip(value: float, lo: float, hi: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        return hi if v > 0 else lo
    return min(hi, max(lo, v))


def feature_vector(data: DataProfile, fp: FormulaProfile) -> np.ndarray:
    """The features of one (data, formula) case, in :data:`FEATURES` order (float64)."""
    d = max(data.n_features, 1)
    kinds = data.kinds
    in_blocks = sum(length for _, length in data.one_hot_blocks)
    heavy = sum(1 for f in data.features if f.kurtosis > 10) if data.features else 0
    lo, hi = fp.mass_interval
    values = {
        "rank_agreement": fp.rank_agreement, "fold_mass": fp.fold_mass, "fold_cost": fp.fold_cost,
        "nonlinearity": fp.nonlinearity, "pile_gain": _clip(fp.pile_gain, 0, 10), "flat_mass": fp.flat_mass,
        "tail_gain_left": _clip(fp.tail_gain_left, 0, 10), "tail_gain_right": _clip(fp.tail_gain_right, 0, 10),
        "folds": _clip(fp.folds, 0, 20), "bounded": float(fp.bounded), "even": float(fp.parity == "even"),
        "odd": float(fp.parity == "odd"), "df0": _clip(fp.df0, -10, 10), "f0": _clip(fp.f0, -10, 10),
        "mass_width": _clip(hi - lo, 0, 100), "pile_concentration": fp.pile_concentration,
        "log_rows": math.log10(max(data.n_rows, 1)), "log_features": math.log10(d),
        "count_share": data.count_share, "zero_fraction": data.zero_fraction, "onehot_share": in_blocks / d,
        "categorical_share": kinds.get("categorical", 0) / d, "binary_share": kinds.get("binary", 0) / d,
        "continuous_share": kinds.get("continuous", 0) / d, "heavy_tail_share": heavy / d,
        "rules_score": score_rules(data, fp)[1],
    }
    return np.array([float(values[name]) for name in FEATURES], dtype=np.float64)


def is_monotone(fp: FormulaProfile) -> bool:
    """Strictly monotone on the target's 95% mass interval (no turning point of f there)."""
    return bool(fp.monotone)


def is_near_monotone(fp: FormulaProfile, max_fold_cost: float = 0.02) -> bool:
    """Monotone up to small dips: a monotone function reproduces all but 2% of f's variance."""
    return fp.fold_cost <= max_fold_cost
