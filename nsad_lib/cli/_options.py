"""Options and arguments shared by the commands: one name, one short flag, one help text each.

A command takes a shared option by annotating a parameter with its alias (the style of
``huggingface_hub``'s CLI)::

    def my_command(entry: EntryArg, registry: RegistryOpt = None, as_json: JsonOpt = False) -> None: ...

The choices of ``--strategy``, ``--backend`` and ``--family`` are Enums built from the lists the
discovery package defines (:data:`~nsad_lib.discovery.strategies.STRATEGIES`,
:data:`~nsad_lib.discovery.backends.BACKENDS`, :data:`~nsad_lib.discovery.strategies.search.FAMILIES`),
so ``--help`` lists them and a new strategy, backend or family appears here by itself. An
unknown value exits 2 with the library's own words: ``unknown strategy 'x' (choose from ...)``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, Iterable, List, Optional

import typer

from nsad_lib.data.catalog import CATALOG
from nsad_lib.discovery.backends import BACKENDS
from nsad_lib.discovery.strategies import STRATEGIES
from nsad_lib.discovery.strategies.search import FAMILIES
from nsad_lib.hub.refs import FORMS

__all__ = [
    "EntryArg", "EntriesArg", "RegistryOpt", "RegistryOutOpt", "DataOpt", "TargetOpt", "PositiveOpt", "SeedOpt",
    "JsonOpt", "TokenOpt", "EndpointOpt", "Strategy", "Backend", "Family", "StrategyOpt", "BackendOpt", "FamilyOpt",
    "comma_list", "seed_list", "probe_epochs_option",
]

def comma_list(text: Optional[str]) -> list[str]:
    """The non-empty items of a comma-separated option, stripped."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def seed_list(text: str, flag: str = "--seeds", *, nonnegative: bool = False,
              distinct: bool = False) -> tuple[int, ...]:
    """A comma-separated seeds option as integers; bad input raises NsadError naming ``flag``."""
    from nsad_lib.errors import NsadError

    kind = "non-negative integers" if nonnegative else "integers"
    try:
        seeds = tuple(int(s) for s in comma_list(text))
    except ValueError:
        raise NsadError(f"{flag} {text!r}: give {kind} separated by commas, e.g. 42,43,44") from None
    if not seeds:
        raise NsadError(f"{flag}: give at least one seed")
    if nonnegative and min(seeds) < 0:
        raise NsadError(f"{flag} {text!r}: give {kind} separated by commas, e.g. 42,43,44")
    if distinct and len(set(seeds)) != len(seeds):
        raise NsadError(f"{flag} {text!r}: a seed is repeated")
    return seeds


def probe_epochs_option(text: str, flag: str = "--probe-epochs") -> int | str:
    """``--probe-epochs``: a positive whole number or ``matched``; bad input raises NsadError."""
    from nsad_lib.errors import NsadError
    from nsad_lib.training.protocol import probe_epochs_setting

    value = text.strip().lower()
    try:
        return probe_epochs_setting(int(value) if value.isdigit() else value)
    except NsadError:
        raise NsadError(f"{flag} {text!r}: give a positive whole number of epochs or 'matched'") from None


_FORMS = FORMS.replace("[", "\\[")  # rich markup: "[@REVISION]" is text, not a style

# -- entries and registries --------------------------------------------------------------------
EntryArg = Annotated[str, typer.Argument(metavar="ID", help=f"Entry: {_FORMS}.")]
EntriesArg = Annotated[List[str], typer.Argument(metavar="ID...", help=f"Entries: {_FORMS}.")]
RegistryOpt = Annotated[Optional[List[Path]], typer.Option(
    "--registry", "-r", exists=True, file_okay=False,
    help="Registry directory searched first (repeatable); also NSAD_REGISTRY_PATH.")]
#: ``discover`` writes one registry, which it creates when missing (the library checks it).
RegistryOutOpt = Annotated[Optional[str], typer.Option(
    "--registry", "-r",
    help="Registry directory to write to, created when missing (default: NSAD_REGISTRY_PATH; "
         "not needed with --dry-run).")]

# -- data --------------------------------------------------------------------------------------
DataOpt = Annotated[str, typer.Option(
    "--data", "-d",
    help=f"A dataset name ({', '.join(CATALOG)}; sample:NAME for the shipped sample) or a "
         "CSV/TSV/Parquet/NPZ file.")]
TargetOpt = Annotated[Optional[str], typer.Option(
    "--target", "-t", help="Label column of a data file: a column name, or an index such as -1.")]
PositiveOpt = Annotated[Optional[str], typer.Option(
    "--positive", help="Label value counted as the positive class, when a data file's label column has more "
                       "than two values.")]
Task = Enum("Task", {t: t for t in ("binary", "multiclass", "regression")}, type=str)  # type: ignore[misc]
TaskOpt = Annotated[Optional[Task], typer.Option(  # type: ignore[valid-type]
    "--task", help="The learning task of a data file's target (default: inferred: two values -> binary, "
                   "3-50 integer codes or labels -> multiclass, other numbers -> regression).")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", help="Seed of the train/validation/test split and of everything random after it.")]

# -- output ------------------------------------------------------------------------------------
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (machine-readable).")]

# -- the Hub -----------------------------------------------------------------------------------
TokenOpt = Annotated[Optional[str], typer.Option(
    "--token",
    help="Hugging Face token (default: HF_TOKEN, else the stored `hf auth login` token).")]
EndpointOpt = Annotated[Optional[str], typer.Option(
    "--endpoint", help="Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co).")]


# -- choices -----------------------------------------------------------------------------------
def _choices(name: str, values: Iterable[str]) -> type[Enum]:
    """A ``str`` Enum whose members are ``values`` (``Strategy.search.value == "search"``)."""
    return Enum(name, {value: value for value in values}, type=str)  # type: ignore[return-value]


def _parser(enum: type[Enum], noun: str) -> Callable[[object], Enum]:
    """Converts a command-line value to ``enum``; an unknown value fails with the library's wording."""
    def parse(value: object) -> Enum:
        if isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            raise typer.BadParameter(
                f"unknown {noun} {value!r} (choose from {', '.join(m.value for m in enum)})") from None
    return parse


Strategy = _choices("Strategy", STRATEGIES)
Backend = _choices("Backend", BACKENDS)
Family = _choices("Family", FAMILIES)

StrategyOpt = Annotated[Strategy, typer.Option(  # type: ignore[valid-type]
    "--strategy", parser=_parser(Strategy, "strategy"),
    help="search (the default: evolve formulas scored by short training), distill (fit a formula to a "
         "learned activation) or collapse (the paper's).")]
BackendOpt = Annotated[Backend, typer.Option(  # type: ignore[valid-type]
    "--backend", parser=_parser(Backend, "backend"),
    help="Symbolic-regression library of distill/collapse (search uses none).")]
FamilyOpt = Annotated[Family, typer.Option(  # type: ignore[valid-type]
    "--family", parser=_parser(Family, "search family"),
    help="search only: any; periodic (sin/cos shapes with trainable constants, a prior for transfer); or "
         "gated (x times a learned gate, such as x*sigmoid(a*x)).")]
