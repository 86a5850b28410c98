"""Plots of a formula and its derivative (matplotlib, imported only when plotting)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from nsad_lib.errors import NsadError
from nsad_lib.formula import Formula


def plot_formula(
    formula: Formula,
    path: str | Path,
    *,
    title: str | None = None,
    values: Mapping[str, float] | None = None,
    lo: float = -5.0,
    hi: float = 5.0,
) -> Path:
    """Draw f and f' over [lo, hi] to a PNG file and return its path."""
    from nsad_lib.util.optional import require

    matplotlib = require("matplotlib", "plot", "plotting")  # optional: the [plot] extra
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(path)
    x = np.linspace(lo, hi, 801)
    y = formula.numpy(x, values)
    dy = formula.derivative_numpy(x, values)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ax.plot(x, y, label="f(x)", lw=2)
    ax.plot(x, dy, label="f'(x)", lw=1.5, ls="--")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    ax.set_xlabel("x")
    ax.set_title(f"{title + ': ' if title else ''}${formula.latex(substitute=values is not None)}$", fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png")
    except OSError as exc:
        from nsad_lib.util.os_errors import describe_os_error

        raise NsadError(f"cannot write plot {out}: {describe_os_error(exc)}") from None
    finally:
        plt.close(fig)
    return out
