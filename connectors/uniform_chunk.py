"""A CSV chunk whose every line has the header's width, parsed without the line view.

:func:`connectors.textfile._parse_fast` splits a chunk twice: into lines (a polars parse with no separator)
to count each line's fields, and into values.  The counts say which lines are ragged (a field-count read
error).  A chunk without a quote needs no line view to know that none is: every separator then separates
fields; polars' strict parse fails on a line with more fields than the width; and when the chunk holds
exactly ``n_lines × (width - 1)`` separators, no line can have fewer either (an empty line or a short one
would have to be made up by a longer one).  The rows are the general path's; any doubt sends the chunk there.

A chunk with quotes (:func:`quoted_values`) is vouched for the same way once its quoting is plain: every
quoted field ``"…"`` opens where a field starts and closes where one ends, with no quote inside.  Then both
the line view and polars take each quoted field as one, a separator inside it as text; the separators
between fields are the bytes that are neither in a value nor a quote nor a line end, and when they number
``n_lines × (width - 1)`` every line has the width.  Doubled quotes, a stray quote, a value over several
lines, a lone CR: the general path.
"""

from __future__ import annotations

import codecs

import numpy as np
import polars as pl

_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D


def uniform_values(data: bytes, n_lines: int, names: list[str], sep: str) -> pl.DataFrame | None:
    """``data``'s values as ``names`` when it holds no quote and each of its ``n_lines`` lines has
    ``len(names)`` fields; None otherwise (the general path decides, and raises, as before)."""
    if len(names) < 2 or b'"' in data or b"\x00" in data:  # a quote or a NUL: the line view decides
        return None
    if data.count(sep.encode("utf-8")) != n_lines * (len(names) - 1):
        return None
    try:
        values = pl.read_csv(data, has_header=False, separator=sep, quote_char='"',
                             schema=dict.fromkeys(names, pl.String))
    except pl.exceptions.PolarsError:  # a longer line, bytes not UTF-8 …: the general path says which
        return None
    return values if values.height == n_lines else None


def _plain_quoting(raw: np.ndarray, sep: int) -> tuple[int, int] | None:
    """(quotes, CR bytes) of ``raw`` when its quotes pair up, in order, as fields' opening and closing
    ones and every CR is followed by LF; None when a quote stands elsewhere or an odd one is left."""
    n_cr = int(np.count_nonzero(raw == _CR))
    if n_cr and n_cr != int(np.count_nonzero((raw[:-1] == _CR) & (raw[1:] == _LF))):
        return None  # a lone CR: polars and the line view may cut lines differently there
    quotes = np.flatnonzero(raw == _QUOTE)
    if quotes.size % 2:
        return None
    opens, closes = quotes[0::2], quotes[1::2]
    before = raw[opens[opens > 0] - 1]  # an opening quote follows a separator or a line end (or starts the chunk)
    if not np.all((before == sep) | (before == _LF)):
        return None
    after = raw[closes[closes < raw.size - 1] + 1]  # a closing quote: a separator or a line end (CR LF) follows
    if not np.all((after == sep) | (after == _LF) | (after == _CR)):
        return None
    return int(quotes.size), n_cr


def quoted_values(data: bytes, n_lines: int, names: list[str], sep: str) -> pl.DataFrame | None:
    """``data``'s values as ``names`` when its quoting is plain and each of its ``n_lines`` lines has
    ``len(names)`` fields; None otherwise (the general path decides, and raises, as before).

    Plain quoting (:func:`_plain_quoting`) leaves no quote inside a value; a value spanning lines is
    refused by the row count.  What is then neither a value's byte, nor a quote, nor a line end (LF,
    or the CR of CR LF) is a separator between fields: exactly ``width - 1`` per line only when every
    line has the width (polars' strict parse fails on a longer one, a shorter one has fewer).
    """
    if len(names) < 2 or b"\x00" in data or data.startswith(codecs.BOM_UTF8):  # polars drops a leading BOM
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    counts = _plain_quoting(raw, ord(sep))
    if counts is None:
        return None
    n_quotes, n_cr = counts
    try:
        values = pl.read_csv(data, has_header=False, separator=sep, quote_char='"',
                             schema=dict.fromkeys(names, pl.String))
    except pl.exceptions.PolarsError:  # a longer line, bytes not UTF-8 …: the general path says which
        return None
    if values.height != n_lines:
        return None
    n_lf = n_lines - (0 if data.endswith(b"\n") else 1)
    value_bytes = values.select(pl.sum_horizontal(pl.col(n).str.len_bytes().sum() for n in names)).item()
    between = len(data) - value_bytes - n_quotes - n_lf - n_cr
    return values if between == n_lines * (len(names) - 1) else None
