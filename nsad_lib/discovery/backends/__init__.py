"""Search backends: one small module per library, all behind :class:`~.base.Backend`.

``operon`` is the default (C++, offline, multi-objective fit vs. length); ``gplearn`` and
``pysr`` are optional extras imported only when chosen.
"""

from __future__ import annotations

from nsad_lib.discovery.backends.base import Backend, Expression, get_backend, BACKENDS

__all__ = ["Backend", "Expression", "get_backend", "BACKENDS"]
