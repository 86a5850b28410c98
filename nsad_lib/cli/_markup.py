"""Printing untrusted text (entry fields, file paths, messages) with rich: never as markup.

An entry's summary, provenance or file path is data, not console markup: ``"[/] [bold"``
in a summary must print as those characters, not crash ``list``/``show`` with a
``MarkupError`` or restyle the output. Control characters (an ANSI escape sequence in a
summary could rewrite the terminal) are shown as visible escapes such as ``\\x1b``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.text import Text

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that reorder text.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(value: object, *, one_line: bool = False) -> str:
    """``str(value)`` with control characters shown as ``\\xNN``/``\\uNNNN`` (and newlines too with ``one_line``)."""
    text = str(value)
    if one_line:
        text = text.replace("\n", "\\n").replace("\t", " ")

    def show(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(show, text)


def plain(value: object, style: str = "", *, one_line: bool = False) -> "Text":
    """A rich :class:`~rich.text.Text` holding ``value`` literally (no markup, controls made visible)."""
    from rich.text import Text

    return Text(visible(value, one_line=one_line), style=style)
