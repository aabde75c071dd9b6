"""Cells for spreadsheets people open (CSV, XLSX): formula prefixes neutralized.

Excel and WPS run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK("http://…","点击")``), and a leading tab or carriage
return can hide such a prefix, as can leading blanks (spreadsheets trim them on
import) or invisible characters.  Following the OWASP guidance on CSV
injection, such a text cell gets a leading single quote, which the
spreadsheet shows as text and does not display.  Numbers stay numbers: a
Python int/float/Decimal is never touched, and neither is a text that is
only a plain number (``-50``, ``+3.5``, ``-1e3``), which cannot be a formula.

Every writer of a file a person opens uses :func:`writer` (CSV) or
:func:`neutralize` (cell by cell, e.g. for an XLSX export).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

# ASCII prefixes from OWASP, and their full-width forms (a Chinese input method types those)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


# what may stand before a prefix and still let a spreadsheet see a formula: spreadsheets trim leading blanks
# (spaces, the full-width space U+3000, a no-break space…) on import, and invisible characters are not seen: any
# mix of blanks, format characters (zero-width, bidi controls, the soft hyphen, U+2061…: Unicode Cf) and controls
_LEADING = re.compile(r"[\s\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u180b-\u180f\u200b-\u200f"
                      r"\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb]+")


def _formula(text: str) -> bool:
    return text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text)


def neutralize(value: Any) -> Any:
    """``value`` safe as a spreadsheet cell: a text starting with a formula prefix, also after leading blanks
    or invisible characters in any mix (``" =1+1"``, ``"\u3000＝1+1"``, ``"\u200b \u200b=1+1"``, ``"\u00ad=1"``),
    gets a leading ``'``."""
    if isinstance(value, str) and (_formula(value) or _formula(_LEADING.sub("", value, count=1).rstrip())):
        return "'" + value
    return value


def neutralize_row(row: Iterable[Any]) -> list[Any]:
    return [neutralize(v) for v in row]


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralize`."""

    def __init__(self, fh, **kwargs) -> None:
        self._w = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._w.writerow(neutralize_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._w.writerows(neutralize_row(r) for r in rows)


def writer(fh, **kwargs) -> SafeWriter:
    """A CSV writer for a file people open in Excel/WPS (same arguments as ``csv.writer``)."""
    return SafeWriter(fh, **kwargs)
