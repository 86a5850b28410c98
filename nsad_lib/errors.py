"""The exception hierarchy: every user-facing failure is an ``NsadError`` with a clear message."""

from __future__ import annotations


class NsadError(Exception):
    """Base of every error nsad-lib raises for bad input (the CLI maps it to exit code 2)."""


class FormulaError(NsadError, ValueError):
    """A formula string is not in the safe formula language.

    ``token`` and ``position`` (0-based character offset) name the offending part.
    """

    def __init__(self, message: str, token: str | None = None, position: int | None = None):
        self.token = token
        self.position = position
        where = ""
        if token is not None and position is not None:
            shown = token if len(token) <= 40 else token[:37] + "..."
            where = f" (token {shown!r} at position {position})"
        elif position is not None:
            where = f" (at position {position})"
        super().__init__(message + where)


class EntryError(NsadError, ValueError):
    """A registry entry is invalid: bad schema, bad formula, non-finite values, or hash mismatch."""


class UnknownEntryError(NsadError, KeyError):
    """No entry with that id or name; the message lists close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EntryConflictError(NsadError):
    """A different entry already exists under the same id (published ids are immutable)."""


class HubError(NsadError):
    """A Hub push, pull or verification was refused or failed (the message says what to do)."""


class DataError(NsadError, ValueError):
    """A dataset file is missing, unreadable, tampered or unsuitable (names file, column, row)."""


class SmallDataWarning(UserWarning):
    """Scores (discovery validation, the checker's probe) computed on too few rows to trust."""


class MissingDependencyError(NsadError, ImportError):
    """An optional dependency is not installed; the message names the extra that installs it.

    ``module`` is the module that could not be imported, ``extra`` the ``nsad-lib[extra]`` to install.
    """

    def __init__(self, message: str, *, module: str, extra: str):
        super().__init__(message, name=module)
        self.module = module
        self.extra = extra
