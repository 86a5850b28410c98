"""Search backends: one small module per library, all behind the :class:`~.base.Backend` protocol.

``operon`` is the default (C++, offline, multi-objective fit vs. length); ``gplearn`` and
``pysr`` are optional extras. Each backend module imports its library only when it searches,
so importing this package is cheap; :func:`get_backend` is the one factory.
"""

from __future__ import annotations

from nsad_lib.discovery.backends.base import Backend, Expression
from nsad_lib.discovery.backends.gplearn import GplearnBackend
from nsad_lib.discovery.backends.operon import OperonBackend
from nsad_lib.discovery.backends.pysr import PysrBackend
from nsad_lib.errors import NsadError

__all__ = ["BACKENDS", "Backend", "Expression", "get_backend"]

_CLASSES: dict[str, type] = {"operon": OperonBackend, "gplearn": GplearnBackend, "pysr": PysrBackend}
#: Backend names the CLI accepts.
BACKENDS = tuple(_CLASSES)


def get_backend(name: str) -> Backend:
    """A fresh backend called ``name`` (its library is imported when it first searches)."""
    cls = _CLASSES.get(name)
    if cls is None:
        raise NsadError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    return cls()  # type: ignore[no-any-return]
