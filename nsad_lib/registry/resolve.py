"""References with a scheme (``hf://owner/repo/ID``), resolved by the layer that owns the scheme.

The registry knows local ids and names only. A layer above it registers a resolver for its
scheme with :func:`register_scheme`; :func:`nsad_lib.get` looks the scheme up here, so the
registry never imports the Hub. Built-in schemes name the module whose import registers them
(imported on first use of the scheme, so ``import nsad_lib`` and local ids load nothing extra).
"""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Callable

from nsad_lib.errors import UnknownEntryError

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.nn.activation import SymbolicActivation

__all__ = ["pin_scheme", "register_scheme", "resolve_scheme", "scheme_of", "split_variant"]

#: A resolver builds a fresh module: ``resolver(ref, trainable=..., compile=...)``.
Resolver = Callable[..., "SymbolicActivation"]

_RESOLVERS: dict[str, Resolver] = {}
#: scheme -> ``pin(ref) -> ref``: the same reference fixed to what was just verified (a commit).
_PINNERS: dict[str, Callable[[str], str]] = {}
#: scheme -> module that registers it when imported.
_PROVIDERS: dict[str, str] = {"hf": "nsad_lib.hub.api"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.-]*)://")


def scheme_of(ref: object) -> str | None:
    """``"hf"`` for ``"hf://alice/acts/x-v1"``; ``None`` for a plain id or name."""
    if not isinstance(ref, str):
        return None
    m = _SCHEME_RE.match(ref)
    return m.group(1) if m else None


def register_scheme(scheme: str, resolver: Resolver, *, pin: Callable[[str], str] | None = None) -> None:
    """Make ``get("<scheme>://...")`` call ``resolver`` (a later registration replaces an earlier one).

    ``pin`` (optional) turns a moving reference into a fixed one after verifying it, so a factory
    that builds many modules loads the same copy every time (see :func:`pin_scheme`).
    """
    if not _SCHEME_RE.match(f"{scheme}://"):
        raise ValueError(f"invalid scheme {scheme!r}: lower-case letters, digits, '+', '-', '.'")
    _RESOLVERS[scheme] = resolver
    if pin is not None:
        _PINNERS[scheme] = pin


def _load(scheme: str) -> None:
    if scheme not in _RESOLVERS and scheme in _PROVIDERS:
        importlib.import_module(_PROVIDERS[scheme])


def pin_scheme(ref: str) -> str:
    """``ref`` fixed to what its scheme's resolver verified now (unchanged where it has no pinner)."""
    scheme = scheme_of(ref)
    if scheme is None:
        return ref
    _load(scheme)
    pinner = _PINNERS.get(scheme)
    return pinner(ref) if pinner is not None else ref


def resolve_scheme(ref: str, *, trainable: bool | None = None, compile: bool = False) -> "SymbolicActivation":
    """Build the module for a reference with a scheme; an unknown scheme names the known ones."""
    scheme = scheme_of(ref)
    if scheme is None:
        raise UnknownEntryError(f"{ref!r} has no scheme (expected e.g. hf://OWNER/REPO/ID)")
    _load(scheme)
    resolver = _RESOLVERS.get(scheme)
    if resolver is None:
        known = ", ".join(f"{s}://" for s in sorted({*_RESOLVERS, *_PROVIDERS}))
        raise UnknownEntryError(f"unknown reference scheme {scheme}:// in {ref!r}; known: {known}")
    return resolver(ref, trainable=trainable, compile=compile)


def split_variant(spec: str) -> tuple[str, str]:
    """``"REF[:VARIANT]"`` -> ``(REF, VARIANT)``; the ``:`` of a scheme (``hf://``) is not a separator.

    >>> split_variant("hf://alice/acts/higgs-v1@main:trainable")
    ('hf://alice/acts/higgs-v1@main', 'trainable')
    >>> split_variant("higgs-v1")
    ('higgs-v1', '')
    """
    text = spec.strip()
    scheme = scheme_of(text)
    if scheme is not None:
        prefix = f"{scheme}://"
        rest, _, variant = text[len(prefix):].partition(":")
        return prefix + rest, variant
    name, _, variant = text.partition(":")
    return name, variant
