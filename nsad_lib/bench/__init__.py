"""Benchmark grids: a suite of real datasets, a resumable grid runner (local pool or Ray), and a
leaderboard report. Heavy modules (torch, ray, matplotlib) are imported inside functions."""

from __future__ import annotations

__all__ = ["suite", "store", "runner", "report"]
