"""Domain marks: what the recorded evidence says about an entry per domain, and on how many datasets.

Evidence comes from two places, both read without loading any data:

- the entry's own ``domains.transfers`` records (``check --write-evidence`` writes them into a
  new version of the entry);
- the bundled evidence file ``evidence.json`` beside the bundled registry, which holds measured
  transfer records for bundled entries. Entries are immutable (their hash covers every field),
  so evidence measured after an entry was published ships separately, keyed by the entry's id
  *and* sha256: a record applies only to exactly the content it was measured with.

Rules, per domain (``continuous``, ``discrete``):

- each dataset counts once. Its outcome is that of its strongest measured record (a full
  protocol run beats a probe; then more seeds, then more epochs; then the later record);
  predictions (``evidence.kind == "prediction"``) are not measurements;
- one dataset is evidence about that dataset, not the domain: ``1 dataset: transfers`` or
  ``1 dataset: fails``;
- two or more: ``verified (T of N datasets)`` when more transfer than fail, ``fails (F of N
  datasets)`` when more fail, ``mixed (T of N datasets transfer)`` on a tie;
- no measurement: ``predicted`` (the entry's source domain, ``any``, or a stored prediction of
  a transfer), else ``unknown``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from nsad_lib.errors import EntryError
from nsad_lib.registry.store import bundled_path

if TYPE_CHECKING:  # pragma: no cover
    from nsad_lib.registry.entry import Entry

__all__ = ["DOMAINS", "EVIDENCE_FILE", "DomainMark", "bundled_evidence", "domain_evidence", "domain_marks",
           "transfer_records"]

DOMAINS = ("continuous", "discrete")
EVIDENCE_FILE = "evidence.json"

_CACHE: dict[tuple[str, int, int], dict[tuple[str, str], list[dict[str, Any]]]] = {}


@dataclass(frozen=True)
class DomainMark:
    """One domain's mark: ``status`` (verified/fails/mixed/predicted/unknown), the per-dataset
    outcomes behind it, and ``text`` as shown to users."""

    domain: str
    status: str
    text: str
    datasets: Mapping[str, str] = field(default_factory=dict)  # dataset -> "transfers" | "fails"
    records: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # dataset -> the record that decided it

    @property
    def transfers(self) -> int:
        return sum(1 for v in self.datasets.values() if v == "transfers")

    @property
    def fails(self) -> int:
        return sum(1 for v in self.datasets.values() if v != "transfers")

    @property
    def short(self) -> str:
        """The mark for a narrow table column: ``verified 2/3`` (datasets agreeing / measured), ``1 dataset: fails``."""
        n = len(self.datasets)
        if n <= 1:
            return self.text
        agreeing = self.fails if self.status == "fails" else self.transfers
        return f"{self.status} {agreeing}/{n}"

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "text": self.text, "datasets": dict(self.datasets)}


def _evidence_path() -> Path:

    return bundled_path() / EVIDENCE_FILE


def bundled_evidence(path: Path | None = None) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """``{(id, sha256): [transfer records]}`` from the bundled evidence file (empty if absent).

    The file is data shipped with the package; a malformed one is an error naming it.
    """
    path = path or _evidence_path()
    try:
        stat = path.stat()
    except OSError:
        return {}
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["entries"]
            out: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for entry_id, item in entries.items():
                records = item["transfers"]
                if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                    raise TypeError(f"{entry_id}: transfers is not a list of objects")
                out[(str(entry_id), str(item["sha256"]))] = records
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EntryError(f"{path}: unreadable evidence file: {exc}") from None
        _CACHE.clear()
        _CACHE[key] = out
    return _CACHE[key]


def transfer_records(entry: "Entry", *, include_bundled: bool = True) -> list[dict[str, Any]]:
    """The entry's own ``domains.transfers`` records, then the bundled evidence for its exact content."""
    domains: Mapping[str, Any] = entry.domains if isinstance(entry.domains, Mapping) else {}
    own = [r for r in (domains.get("transfers") or []) if isinstance(r, Mapping)]
    extra = bundled_evidence().get((entry.id, entry.sha256), []) if include_bundled else []
    seen = {json.dumps(r, sort_keys=True, default=str) for r in own}
    return [dict(r) for r in own] + [dict(r) for r in extra if json.dumps(r, sort_keys=True, default=str) not in seen]


def _strength(record: Mapping[str, Any], order: int) -> tuple[int, int, int, int]:
    evidence = record.get("evidence") if isinstance(record.get("evidence"), Mapping) else {}
    def number(key: str) -> int:
        value = evidence.get(key)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
    return (0 if evidence.get("kind") == "probe" else 1, number("seeds"), number("epochs"), order)


def _plural(n: int) -> str:
    return f"{n} dataset" + ("" if n == 1 else "s")


def domain_evidence(entry: "Entry") -> dict[str, DomainMark]:
    """Per domain, the :class:`DomainMark` the rules in this module's docstring give."""
    domains: Mapping[str, Any] = entry.domains if isinstance(entry.domains, Mapping) else {}
    source = domains.get("source", "unknown")
    predicted = {d: (source == d or source == "any") for d in DOMAINS}
    best: dict[str, dict[str, tuple[tuple[int, int, int, int], str, dict[str, Any]]]] = {d: {} for d in DOMAINS}
    for order, record in enumerate(transfer_records(entry)):
        dom = record.get("domain")
        if dom not in best:
            continue
        evidence = record.get("evidence") if isinstance(record.get("evidence"), Mapping) else {}
        outcome = "transfers" if record.get("verdict") == "transfers" else "fails"
        if evidence.get("kind") == "prediction":
            predicted[dom] = predicted[dom] or outcome == "transfers"
            continue
        dataset = str(record.get("dataset", "?")).lower()
        strength = _strength(record, order)
        if dataset not in best[dom] or strength > best[dom][dataset][0]:
            best[dom][dataset] = (strength, outcome, record)
    marks: dict[str, DomainMark] = {}
    for dom in DOMAINS:
        datasets = {name: outcome for name, (_, outcome, _r) in sorted(best[dom].items())}
        n = len(datasets)
        t = sum(1 for v in datasets.values() if v == "transfers")
        f = n - t
        if n == 0:
            status = "predicted" if predicted[dom] else "unknown"
            text = status
        elif n == 1:
            status = "verified" if t else "fails"
            text = f"1 dataset: {'transfers' if t else 'fails'}"
        elif t > f:
            status, text = "verified", f"verified ({t} of {_plural(n)})"
        elif f > t:
            status, text = "fails", f"fails ({f} of {_plural(n)})"
        else:
            status, text = "mixed", f"mixed ({t} of {_plural(n)} transfer)"
        marks[dom] = DomainMark(dom, status, text, datasets, {name: rec for name, (_, _o, rec) in sorted(best[dom].items())})
    return marks


def domain_marks(entry: "Entry") -> dict[str, str]:
    """``{"continuous": text, "discrete": text}``, e.g. ``"verified (2 of 3 datasets)"``."""
    return {dom: mark.text for dom, mark in domain_evidence(entry).items()}
