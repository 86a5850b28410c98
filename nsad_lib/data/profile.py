"""Dataset profile: what kind of numbers each feature holds, and which domain the data is in.

The checker needs to know, *without labels*, whether a table behaves like continuous
measurements (HIGGS kinematics, Forest terrain) or like sparse counts (Spambase word
frequencies, SMS bag of words). Storage types lie in both directions: Forest is 44 one-hot
columns out of 54, yet behaves as continuous; Spambase's frequencies are floats, yet behave
as discrete. So the profile looks at value *shape*, not dtype:

- one-hot blocks (consecutive 0/1 columns that sum to exactly 1 on every row) encode one
  categorical variable each; they are set aside, neither continuous nor count;
- a column is a *count or frequency* when it is non-negative and zero-inflated (at least half
  of its values are exactly 0), whatever its dtype; a rare 0/1 indicator (>= 90% zeros)
  outside a one-hot block is its sparsest form;
- the domain is decided by the share of count columns among the remaining informative ones.

Only feature values are read; labels are never passed in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

import numpy as np

__all__ = [
    "FeatureProfile", "DataProfile", "profile_features", "profile_data", "one_hot_blocks",
    "ZERO_INFLATED", "SPARSE_INDICATOR", "DISCRETE_SHARE", "CONTINUOUS_SHARE",
]

Kind = Literal["continuous", "count", "binary", "categorical", "constant"]
Domain = Literal["continuous", "discrete", "mixed"]

#: A non-negative column with at least this fraction of exact zeros is a count/frequency.
ZERO_INFLATED = 0.5
#: A 0/1 column outside a one-hot block with at least this many zeros is a sparse indicator.
SPARSE_INDICATOR = 0.9
#: Share of count columns (among informative ones) from which the data is discrete ...
DISCRETE_SHARE = 0.6
#: ... and up to which it is continuous; in between it is mixed.
CONTINUOUS_SHARE = 0.3
#: At most this many distinct values (and not binary) makes a categorical code.
CATEGORICAL_MAX_DISTINCT = 10


@dataclass(frozen=True)
class FeatureProfile:
    """One column's shape. ``sign`` is ``non-negative``, ``non-positive`` or ``mixed``."""

    name: str
    kind: Kind
    zero_fraction: float
    sign: str
    skew: float
    kurtosis: float  # excess kurtosis: 0 for a Gaussian, large for heavy tails
    distinct_ratio: float
    integer: bool
    one_hot_block: int | None = None  # index of the block this column belongs to

    @property
    def sparse(self) -> bool:
        """Counts toward the discrete domain (zero-inflated count, or a rare indicator)."""
        if self.kind == "count":
            return True
        return (self.kind == "binary" and self.one_hot_block is None
                and self.zero_fraction >= SPARSE_INDICATOR)


@dataclass(frozen=True)
class DataProfile:
    """The dataset's domain with a confidence in [0, 1], the reasons, and per-feature detail."""

    domain: Domain
    confidence: float
    reasons: tuple[str, ...]
    n_rows: int
    n_features: int
    count_share: float  # share of count/sparse columns among the informative non-one-hot ones
    zero_fraction: float  # exact zeros among those columns' cells
    kinds: dict[str, int]
    one_hot_blocks: tuple[tuple[int, int], ...]  # (first column, length) of each block
    features: tuple[FeatureProfile, ...] = field(repr=False, default=())

    def to_dict(self, features: bool = False) -> dict[str, object]:
        out = asdict(self)
        out["one_hot_blocks"] = [list(b) for b in self.one_hot_blocks]
        out["reasons"] = list(self.reasons)
        if features:
            out["features"] = [asdict(f) for f in self.features]
        else:
            out.pop("features")
        return out


def _moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (skew, excess kurtosis), all columns at once; 0 for a constant column."""
    c = X.astype(np.float64)
    c = c - c.mean(axis=0)
    var = np.mean(c * c, axis=0)
    ok = var > 0
    safe = np.where(ok, var, 1.0)
    c2 = c * c
    skew = np.mean(c2 * c, axis=0) / safe ** 1.5
    kurt = np.mean(c2 * c2, axis=0) / safe ** 2 - 3.0
    return np.where(ok, skew, 0.0), np.where(ok, kurt, 0.0)


def one_hot_blocks(X: np.ndarray, min_length: int = 2, coverage: float = 0.95) -> list[tuple[int, int]]:
    """Runs of consecutive 0/1 columns whose row sum is never above 1 and is 1 on most rows.

    ``coverage`` (share of rows with exactly one 1) keeps a few mutually exclusive rare
    indicators (rare words that never co-occur) from passing as a categorical encoding.
    All-zero columns may sit inside a block (a category absent from the sample).
    """
    n, d = X.shape
    is01 = np.all((X == 0) | (X == 1), axis=0)
    blocks: list[tuple[int, int]] = []
    j = 0
    while j < d:
        if not is01[j]:
            j += 1
            continue
        total = X[:, j].astype(np.float64).copy()
        k = j + 1
        while k < d and is01[k] and np.all(total + X[:, k] <= 1):
            total += X[:, k]
            k += 1
        if k - j >= min_length and np.mean(total == 1) >= coverage:
            blocks.append((j, k - j))
            j = k
        else:
            j += 1
    return blocks


def _kind(zero_fraction: float, distinct: int, non_negative: bool, integer: bool) -> Kind:
    if distinct <= 1:
        return "constant"
    if distinct == 2:
        return "binary"
    # Few non-integer levels (HIGGS b-tags: 0, 1.09, 2.17) are a code, not a count.
    if non_negative and zero_fraction >= ZERO_INFLATED and (integer or distinct > CATEGORICAL_MAX_DISTINCT):
        return "count"
    if distinct <= CATEGORICAL_MAX_DISTINCT:
        return "categorical"
    return "continuous"


def profile_features(X: np.ndarray, names: Sequence[str] | None = None) -> tuple[list[FeatureProfile], list[tuple[int, int]]]:
    """Per-column profiles of ``X`` (rows x features) and the one-hot blocks found."""
    n, d = X.shape
    names = list(names) if names is not None else [str(j) for j in range(d)]
    blocks = one_hot_blocks(X)
    block_of = {c: b for b, (start, length) in enumerate(blocks) for c in range(start, start + length)}
    skews, kurts = _moments(X)
    zeros = np.mean(X == 0, axis=0)
    los, his = X.min(axis=0), X.max(axis=0)
    integers = np.all(X == np.round(X), axis=0)
    sorted_cols = np.sort(X, axis=0)
    distincts = 1 + np.sum(sorted_cols[1:] != sorted_cols[:-1], axis=0) if n else np.zeros(d, int)
    out: list[FeatureProfile] = []
    for j in range(d):
        zero, lo, hi = float(zeros[j]), float(los[j]), float(his[j])
        sign = "non-negative" if lo >= 0 else ("non-positive" if hi <= 0 else "mixed")
        distinct = int(distincts[j])
        skew, kurt = float(skews[j]), float(kurts[j])
        kind = _kind(zero, distinct, lo >= 0, bool(integers[j]))
        if j in block_of and kind == "constant":
            kind = "binary"  # an absent category of a one-hot block is still one of its columns
        out.append(FeatureProfile(
            name=names[j], kind=kind, zero_fraction=round(zero, 4), sign=sign,
            skew=round(skew, 3), kurtosis=round(kurt, 3), distinct_ratio=round(distinct / max(n, 1), 5),
            integer=bool(integers[j]), one_hot_block=block_of.get(j),
        ))
    return out, blocks


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def profile_data(X: np.ndarray, names: Sequence[str] | None = None) -> DataProfile:
    """Profile an (unlabelled) feature sample and decide its domain, with reasons."""
    X = np.asarray(X)
    n, d = X.shape
    features, blocks = profile_features(X, names)
    kinds: dict[str, int] = {}
    for f in features:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    in_block = sum(length for _, length in blocks)
    # Informative columns that are neither constant nor part of a one-hot block.
    rest = [j for j, f in enumerate(features) if f.kind != "constant" and f.one_hot_block is None]
    sparse = [j for j in rest if features[j].sparse]
    dense = [j for j in rest if features[j].kind in ("continuous", "categorical") or
             (features[j].kind == "binary" and not features[j].sparse)]
    decisive = len(sparse) + len(dense)
    share = len(sparse) / decisive if decisive else 0.0
    zeros = float(np.mean(X[:, sparse] == 0)) if sparse else 0.0
    reasons: list[str] = []
    if blocks:
        sizes = " and ".join(str(length) for _, length in blocks)
        reasons.append(f"{in_block} of {d} columns form one-hot block(s) of {sizes} columns (each one categorical "
                       "variable); they are set aside: indicators, not sparse counts")
    if decisive == 0:
        domain: Domain = "discrete"
        confidence = 0.6
        reasons.append("every column is constant, binary or one-hot: the inputs take few distinct values")
    else:
        if share >= DISCRETE_SHARE:
            domain = "discrete"
            confidence = min(1.0, 0.5 + (share - DISCRETE_SHARE) / (1 - DISCRETE_SHARE) * 0.5)
        elif share <= CONTINUOUS_SHARE:
            domain = "continuous"
            confidence = min(1.0, 0.5 + (CONTINUOUS_SHARE - share) / CONTINUOUS_SHARE * 0.5)
        else:
            domain = "mixed"
            mid = (DISCRETE_SHARE + CONTINUOUS_SHARE) / 2
            confidence = 1.0 - abs(share - mid) / (mid - CONTINUOUS_SHARE)
        reasons.append(
            f"{len(sparse)} of {decisive} informative columns are non-negative and zero-inflated "
            f"(counts or frequencies, >= {_pct(ZERO_INFLATED)} exact zeros)"
            + (f"; their cells are {_pct(zeros)} zeros" if sparse else "")
        )
        if dense:
            heavy = sum(1 for j in dense if features[j].kurtosis > 10)
            reasons.append(f"{len(dense)} columns are dense measurements or codes"
                           + (f" ({heavy} heavy-tailed)" if heavy else ""))
        if sparse:
            skewed = sum(1 for j in sparse if features[j].skew > 2)
            floats = sum(1 for j in sparse if not features[j].integer)
            if floats:
                reasons.append(f"{floats} of the zero-inflated columns are floats (frequencies), "
                               f"{skewed} are right-skewed (skew > 2): counts in disguise")
    kind_text = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]))
    reasons.append(f"column kinds: {kind_text}")
    return DataProfile(domain=domain, confidence=round(float(confidence), 3), reasons=tuple(reasons),
                       n_rows=n, n_features=d, count_share=round(share, 4), zero_fraction=round(zeros, 4),
                       kinds=kinds, one_hot_blocks=tuple(blocks), features=tuple(features))
