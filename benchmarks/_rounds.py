"""The measurement order the scaling benchmarks share: after a warm-up, each configuration twice,
in both orders (1 then N workers, N then 1), so that neither pays first-use costs the other
inherits (forked workers share their parent's warm state) and slow drift cancels."""

from __future__ import annotations


def alternating(many: int) -> list[tuple[str, int]]:
    """(label, workers) in measurement order: a label for each run's scratch folder."""
    return [(f"r{round_}-w{workers}", workers)
            for round_, order in enumerate(((1, many), (many, 1))) for workers in order]


def mean_seconds(samples: dict[int, list[float]]) -> dict[int, float]:
    """Mean seconds per configuration."""
    return {workers: float(sum(values) / len(values)) for workers, values in samples.items()}
