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


def _check_json_value(value: Any, path: str, where: str) -> None:
    if isinstance(value, float):
        _require(math.isfinite(value), where, f"{path} is not a finite number")
    elif isinstance(value, dict):
        for k, v in value.items():
            _require(isinstance(k, str), where, f"{path} has a non-string key {k!r}")
            _check_json_value(v, f"{path}.{k}", where)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json_value(v, f"{path}[{i}]", where)
    else:
        _require(value is None or isinstance(value, (str, int, bool)), where, f"{path} has unsupported type {type(value).__name__}")


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
        params = {k: float(v) for k, v in (parameters or {}).items()}
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
        entry = cls(**{k: data[k] for k in (*_FIELDS, "sha256")})
        entry.validate(source=where, check_numerics=check_numerics)
        if verify_hash:
            actual = content_hash(entry.to_dict())
            _require(
                actual == entry.sha256,
                where,
                f"content hash mismatch: file says {str(entry.sha256)[:12]}..., content hashes to {actual[:12]}... "
                "(the entry was modified after it was written; entries are immutable)",
            )
        return entry

    @classmethod
    def from_json(cls, text: str, *, source: str = "entry", verify_hash: bool = True) -> "Entry":
        """Parse JSON text (never evaluated) into a verified entry."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise EntryError(f"{source}: not valid JSON: {exc}") from None
        return cls.from_dict(data, source=source, verify_hash=verify_hash)

    # -- validation ----------------------------------------------------------------------
    def validate(self, *, source: str | None = None, check_numerics: bool = False) -> None:
        """Check every field's type and meaning; optionally the numerical safety check."""
        from nsad_lib.formula import Formula

        where = source or f"entry {self.id!r}"
        _require(isinstance(self.id, str), where, "id must be a string")
        name, version = split_id(self.id)
        _require(self.name == name, where, f"name {self.name!r} does not match id {self.id!r}")
        _require(isinstance(self.version, int) and not isinstance(self.version, bool) and self.version == version, where, f"version {self.version!r} does not match id {self.id!r}")
        _require(isinstance(self.formula, str) and self.formula.strip() != "", where, "formula must be a non-empty string")
        _require(isinstance(self.parameters, dict), where, "parameters must be an object of name -> number")
        for k, v in self.parameters.items():
            _require(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), where, f"parameter {k!r} must be a finite number")
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
        for fname in ("domains", "provenance", "metrics"):
            _check_json_value(getattr(self, fname), fname, where)
        try:
            formula = Formula.parse(self.formula, self.parameters)
        except FormulaError as exc:
            raise EntryError(f"{where}: {exc}") from None
        if check_numerics:
            from nsad_lib.finite import check_finite

            try:
                check_finite(formula)
            except EntryError as exc:
                raise EntryError(f"{where}: {exc}") from None

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
