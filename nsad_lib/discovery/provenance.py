"""What a discovered entry records about how it was made, so anyone can re-create it."""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nsad_lib.data.types import Dataset


def dataset_record(dataset: Dataset, rows_used: int) -> dict[str, Any]:
    """Name, target, file hashes (by file name) and the rows discovery actually read."""
    files = {Path(p).name: h for p, h in sorted(dataset.meta.sha256.items())}
    if len(files) == 1:
        combined = next(iter(files.values()))
    else:
        combined = hashlib.sha256("".join(f"{k}:{v}\n" for k, v in files.items()).encode()).hexdigest()
    return {
        "name": dataset.name, "target": dataset.meta.target, "rows": dataset.n_rows, "rows_used": int(rows_used),
        "features": dataset.n_features, "sha256": combined, "files": files, "notes": list(dataset.meta.notes),
    }


def environment() -> dict[str, str]:
    """Library versions that can change a result."""
    import numpy
    import sympy
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__,
            "sympy": sympy.__version__}


def source_domain(dataset: Dataset, rows: Sequence[int] | None = None) -> str:
    """The source data's domain as the compatibility checker's profile sees it (no labels read)."""
    from nsad_lib.data.profile import profile_data

    X = dataset.X if rows is None else dataset.X[np.asarray(rows)]
    return profile_data(X[:5000], dataset.feature_names).domain
