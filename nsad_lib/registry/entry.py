"""The registry ``Entry``: one formula with its provenance and evidence, content-hashed.

Schema 1 (see docs/registry-format.md). The hash is the sha256 of the canonical JSON of every
field but ``sha256`` itself (keys sorted, no whitespace, UTF-8), so any edit to a stored entry,
down to one character of the formula, is detected on load.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from nsad_lib.errors import EntryError, FormulaError

SCHEMA_VERSION = 1
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
ID_RE = re.compile(r"^(?P<name>[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)-v(?P<version>[1-9][0-9]{0,5})$")
DOMAINS = ("continuous", "discrete", "mixed", "any", "unknown")
VERDICTS = ("transfers", "uncertain", "does-not-transfer", "fails")
_FIELDS = ("schema", "id", "name", "version", "formula", "parameters", "trainable", "summary", "domains", "provenance", "metrics")


def json_error_detail(exc: BaseException) -> str:
    """What went wrong reading JSON, in words: Python refuses number literals of thousands of
    digits with a ValueError whose text speaks of "integer string conversion"."""
    if isinstance(exc, ValueError) and "integer string conversion" in str(exc):
        return "a number has too many digits"
    return str(exc)


def canonical_json(data: Mapping[str, Any]) -> str:
    """Deterministic JSON text used for hashing."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_hash(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``data`` without its ``sha256`` key."""
    body = {k: v for k, v in data.items() if k != "sha256"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def split_id(entry_id: str) -> tuple[str, int]:
    """``"higgs-v2"`` -> ``("higgs", 2)``; raises :class:`EntryError` for a malformed id."""
    m = ID_RE.match(entry_id) if isinstance(entry_id, str) else None
    if not m:
        raise EntryError(f"invalid entry id {entry_id!r}: expected NAME-vN with NAME in lowercase letters, digits and '-'")
    return m["name"], int(m["version"])


def check_name(name: str) -> str:
    """Validate an entry name (lowercase letters, digits, inner hyphens; no trailing -vN)."""
    if not isinstance(name, str) or not NAME_RE.match(name) or re.search(r"-v[0-9]+$", name):
        raise EntryError(
            f"invalid entry name {name!r}: use lowercase letters, digits and inner '-', at most 64 characters, "
            "and no trailing '-vN' (the version is added for you)"
        )
    return name


def utc_now() -> str:
    """Current UTC time as ISO 8601 with a Z suffix, second precision."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _require(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise EntryError(f"{where}: {message}")


MAX_ENTRY_BYTES = 1 << 20
"""Largest entry file read, in bytes, from a registry directory, the Hub or a pulled copy (1 MiB)."""
MAX_INDEX_BYTES = 1 << 20
"""Largest ``index.json`` / ``nsad-index.json`` read, in bytes (about 10,000 ids)."""
MAX_DEPTH = 32
"""Deepest nesting of objects/lists an entry may hold (real entries use fewer than 6 levels)."""
MAX_INT_BITS = 64
"""Largest integer magnitude an entry may hold, in bits (larger ones are refused, not truncated)."""


def _check_json_value(value: Any, path: str, where: str, depth: int = 0) -> None:
    """Plain JSON only: finite floats, 64-bit ints, string keys, at most MAX_DEPTH levels deep."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        _require(value.bit_length() <= MAX_INT_BITS, where, f"{path} is an integer too large (more than {MAX_INT_BITS} bits)")
    elif isinstance(value, float):
        _require(math.isfinite(value), where, f"{path} is not a finite number")
    elif isinstance(value, (dict, list)):
        shown = path if len(path) <= 60 else path[:57] + "..."
        _require(depth < MAX_DEPTH, where, f"{shown} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            for k, v in value.items():
                _require(isinstance(k, str), where, f"{path} has a non-string key {k!r}")
                _check_json_value(v, f"{path}.{k}", where, depth + 1)
        else:
            for i, v in enumerate(value):
                _check_json_value(v, f"{path}[{i}]", where, depth + 1)
    else:
        _require(False, where, f"{path} has unsupported type {type(value).__name__}")


def _check_parameter(name: Any, value: Any, where: str) -> float:
    """A named constant as a finite float (ints too large for a float are refused)."""
    _require(isinstance(name, str), where, f"parameter name {name!r} must be a string")
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        number = float(value) if ok else math.nan
    except OverflowError:
        number = math.inf
    _require(math.isfinite(number), where, f"parameter {name!r} must be a finite number")
    return number


@dataclass(frozen=True)
class Entry:
    """One registry entry (schema 1). Build with :meth:`create` or :meth:`from_dict`."""

    id: str
    name: str
    version: int
    formula: str
    parameters: dict[str, float] = field(default_factory=dict)
    trainable: bool = False
    summary: str = ""
    domains: dict[str, Any] = field(default_factory=lambda: {"source": "unknown", "transfers": []})
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION
    sha256: str = ""

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        name: str,
        version: int,
        formula: str,
        *,
        parameters: Mapping[str, float] | None = None,
        trainable: bool = False,
        summary: str = "",
        domains: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
        check_numerics: bool = True,
    ) -> "Entry":
        """A new, validated entry; the formula is stored in canonical form and hashed."""
        from nsad_lib import __version__
        from nsad_lib.formula import Formula

        check_name(name)
        where = f"entry {name}-v{version}"
        params = {k: _check_parameter(k, v, where) for k, v in (parameters or {}).items()}
        try:
            parsed = Formula.parse(formula, params)
        except FormulaError as exc:
            raise EntryError(f"entry {name}-v{version}: {exc}") from None
        prov = {"created": utc_now(), "nsad_lib_version": __version__, **dict(provenance or {})}
        dom = {"source": "unknown", "transfers": [], **dict(domains or {})}
        entry = cls(
            id=f"{name}-v{version}",
            name=name,
            version=int(version),
            formula=parsed.canonical,
            parameters=params,
            trainable=bool(trainable),
            summary=summary,
            domains=dom,
            provenance=prov,
            metrics=dict(metrics or {}),
        )
        entry.validate(check_numerics=check_numerics)
        return entry.with_hash()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "entry", verify_hash: bool = True, check_numerics: bool = False) -> "Entry":
        """Load from parsed JSON, checking schema, formula and (by default) the content hash."""
        where = source
        _require(isinstance(data, Mapping), where, "entry must be a JSON object")
        _require(data.get("schema") == SCHEMA_VERSION, where, f"unsupported schema {data.get('schema')!r} (expected {SCHEMA_VERSION})")
        missing = [k for k in (*_FIELDS, "sha256") if k not in data]
        _require(not missing, where, f"missing field(s): {', '.join(missing)}")
        extra = sorted(set(data) - set(_FIELDS) - {"sha256"})
        _require(not extra, where, f"unknown field(s): {', '.join(extra)}")
        # Cheap structural checks (plain JSON, bounded numbers and depth) come first, then the
        # content hash, and only then the semantic checks and the formula parse: a tampered
        # file is refused before any parsing work is spent on it.
        entry = cls(**{k: data[k] for k in (*_FIELDS, "sha256")})
        entry._check_plain_json(where)
        if verify_hash:
            actual = content_hash(data)
            stored = data["sha256"]
            _require(
                actual == stored,
                where,
                f"content hash mismatch: file says {str(stored)[:12]}..., content hashes to {actual[:12]}... "
                "(the entry was modified after it was written; entries are immutable)",
            )
        entry._check_meaning(where, check_numerics)
        return entry

    @classmethod
    def from_json(cls, text: str, *, source: str = "entry", verify_hash: bool = True) -> "Entry":
        """Parse JSON text (never evaluated) into a verified entry."""
        try:
            data = json.loads(text)
        except RecursionError:
            raise EntryError(f"{source}: not valid JSON: nested too deeply") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EntryError(f"{source}: not valid JSON: {exc}") from None
        except ValueError as exc:  # Python's int-string limit: a number literal with thousands of digits
            raise EntryError(f"{source}: not valid entry JSON: {json_error_detail(exc)} "
                             "(entries hold 64-bit integers and finite floats)") from None
        return cls.from_dict(data, source=source, verify_hash=verify_hash)

    # -- validation ----------------------------------------------------------------------
    def validate(self, *, source: str | None = None, check_numerics: bool = False) -> None:
        """Check every field's type and meaning; optionally the numerical safety check."""
        where = source or f"entry {self.id!r}"
        self._check_plain_json(where)
        self._check_meaning(where, check_numerics)

    def _check_plain_json(self, where: str) -> None:
        """Every field is plain, bounded JSON (what hashing and the other checks may assume)."""
        for key in (*_FIELDS, "sha256"):
            _check_json_value(getattr(self, key), key, where)

    def _check_meaning(self, where: str, check_numerics: bool) -> None:
        """Types and meaning of every field, then the formula (parsed last: the costly part)."""
        from nsad_lib.formula import Formula

        _require(isinstance(self.id, str), where, "id must be a string")
        try:
            name, version = split_id(self.id)
        except EntryError as exc:
            raise EntryError(f"{where}: {exc}") from None
        _require(self.name == name, where, f"name {self.name!r} does not match id {self.id!r}")
        _require(isinstance(self.version, int) and not isinstance(self.version, bool) and self.version == version, where, f"version {self.version!r} does not match id {self.id!r}")
        _require(isinstance(self.formula, str) and self.formula.strip() != "", where, "formula must be a non-empty string")
        _require(isinstance(self.parameters, dict), where, "parameters must be an object of name -> number")
        for k, v in self.parameters.items():
            _check_parameter(k, v, where)
        _require(isinstance(self.trainable, bool), where, "trainable must be true or false")
        _require(isinstance(self.summary, str), where, "summary must be a string")
        _require(isinstance(self.domains, dict), where, "domains must be an object")
        _require(self.domains.get("source", "unknown") in DOMAINS, where, f"domains.source must be one of {', '.join(DOMAINS)}")
        transfers = self.domains.get("transfers", [])
        _require(isinstance(transfers, list), where, "domains.transfers must be a list")
        for i, t in enumerate(transfers):
            _require(isinstance(t, dict) and isinstance(t.get("dataset"), str), where, f"domains.transfers[{i}] needs a dataset name")
            _require(t.get("verdict") in VERDICTS, where, f"domains.transfers[{i}].verdict must be one of {', '.join(VERDICTS)}")
        _require(isinstance(self.provenance, dict), where, "provenance must be an object")
        _require(isinstance(self.metrics, dict), where, "metrics must be an object")
        try:
            formula = Formula.parse(self.formula, self.parameters)
        except FormulaError as exc:
            raise EntryError(f"{where}: {exc}") from None
        if check_numerics:
            message = _numerics_outcome(self.formula, self.parameters, formula)
            if message is not None:
                raise EntryError(f"{where}: {message}")

    def check_numerics(self, *, source: str | None = None) -> None:
        """The numerical safety check (:func:`nsad_lib.nn.finite.check_finite`) of a loaded entry.

        Entries read from a user registry, a pulled Hub copy or the Hub are re-checked on load
        (a file can be rewritten and rehashed by hand). The outcome is cached for the life of
        the process, keyed by what it depends on (formula text and parameter values), so
        listing a registry checks each distinct formula once, and an entry just created or
        added is not checked again when it is read back.
        """
        where = source or f"entry {self.id!r}"
        message = _numerics_outcome(self.formula, self.parameters)
        if message is not None:
            raise EntryError(f"{where}: {message}")

    # -- views -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict, ``sha256`` included."""
        return asdict(self)

    def to_json(self) -> str:
        """Pretty, stable JSON text for files (keys sorted, 2-space indent, trailing newline)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    def with_hash(self) -> "Entry":
        """A copy whose ``sha256`` matches its content."""
        return replace(self, sha256=content_hash(self.to_dict()))

    def formula_object(self):  # -> Formula (import kept lazy)
        """The parsed :class:`~nsad_lib.formula.Formula` (cached per formula text)."""
        return _parse_cached(self.formula, tuple(self.parameters.items()))

    @property
    def n_parameters(self) -> int:
        """Number of named constants (trainable ones add this many weights per instance)."""
        return len(self.parameters)


def _numerics_outcome(text: str, parameters: Mapping[str, float], formula: Any = None) -> str | None:
    """:func:`~nsad_lib.nn.finite.check_finite` of a formula: None when it passes, else the message (cached)."""
    key = (text, tuple(sorted(parameters.items())))
    if key not in _NUMERICS_CACHE:
        from nsad_lib.nn.finite import check_finite

        try:
            check_finite(formula if formula is not None else _parse_cached(text, tuple(parameters.items())), dict(parameters))
            outcome: str | None = None
        except (EntryError, FormulaError) as exc:
            outcome = str(exc)
        if len(_NUMERICS_CACHE) > 4096:
            _NUMERICS_CACHE.clear()
        _NUMERICS_CACHE[key] = outcome
    return _NUMERICS_CACHE[key]


def _parse_cached(text: str, params: tuple[tuple[str, float], ...]):
    from nsad_lib.formula import Formula

    key = (text, params)
    cached = _FORMULA_CACHE.get(key)
    if cached is None:
        cached = Formula.parse(text, dict(params))
        if len(_FORMULA_CACHE) > 1024:
            _FORMULA_CACHE.clear()
        _FORMULA_CACHE[key] = cached
    return cached


_FORMULA_CACHE: dict[tuple[str, tuple[tuple[str, float], ...]], Any] = {}
# Outcome of the numerical check per (formula, parameters): None = passed, else the message.
_NUMERICS_CACHE: dict[tuple[str, tuple[tuple[str, float], ...]], str | None] = {}
