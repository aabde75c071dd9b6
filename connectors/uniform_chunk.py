"""A CSV chunk whose every line has the header's width, parsed without the line view.

:func:`connectors.textfile._parse_fast` splits a chunk twice: into lines (a polars parse with no separator)
to count each line's fields, and into values.  The counts say which lines are ragged (a field-count read
error).  A chunk without a quote needs no line view to know that none is: every separator then separates
fields; polars' strict parse fails on a line with more fields than the width; and when the chunk holds
exactly ``n_lines × (width - 1)`` separators, no line can have fewer either (an empty line or a short one
would have to be made up by a longer one).  The rows are the general path's; any doubt sends the chunk there.
"""

from __future__ import annotations

import polars as pl


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
