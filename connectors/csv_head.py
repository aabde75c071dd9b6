"""The first lines of a CSV file as rows, for finding its header (:func:`connectors.textfile.sniff`)."""

from __future__ import annotations

import codecs
import csv
import io

UTF8 = "utf-8"
UTF8_BOM = "utf-8-sig"
#: the physical lines one record of the head may span (a header cell written on two or three lines in its sheet)
RECORD_LINES = 5


def _head_lines(head: bytes, encoding: str, max_lines: int) -> list[str]:
    codec = UTF8 if encoding == UTF8_BOM else encoding
    head = head[len(codecs.BOM_UTF8):] if head.startswith(codecs.BOM_UTF8) else head  # as iter_chunks does
    cut = -1
    for _ in range(max_lines):  # only the first lines are looked at: decode no further
        cut = head.find(b"\n", cut + 1)
        if cut < 0:
            break
    # a few bytes past the last line's newline: its bytes decode as they would with the whole head
    text = (head if cut < 0 else head[:cut + 4]).decode(codec, "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    return [line.rstrip("\r") for line in text.split("\n")[:max_lines]]


def _row(line: str, sep: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


def preview_rows(head: bytes, encoding: str, sep: str, max_lines: int = 300) -> list[list[str]]:
    """The first lines of the file as rows (lenient decoding), for header detection (blank lines above
    the header included: :func:`connectors.raw.find_header` does not count them)."""
    return [_row(line, sep) for line in _head_lines(head, encoding, max_lines)]


def preview_records(head: bytes, encoding: str, sep: str, max_lines: int = 300) -> list[list[str]]:
    """As :func:`preview_rows`, one entry per line, but a record whose quoted field holds a line break (a header
    cell written on two lines in its sheet — 余额 / （元） — saved as CSV) is one row, standing at its last line, and
    the lines before it are empty rows: the header's index is then the line the data follows."""
    lines = _head_lines(head, encoding, max_lines)
    out: list[list[str]] = []
    i = 0
    while i < len(lines):
        end = i
        while lines[i:end + 1] and "\n".join(lines[i:end + 1]).count('"') % 2 and end - i < RECORD_LINES - 1:
            end += 1  # an open quote: the record goes on on the next line
        text = "\n".join(lines[i:end + 1])
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep)) if end > i else []
        if end > i and len(records) == 1 and text.count('"') % 2 == 0:
            out += [[] for _ in range(end - i)] + records
            i = end + 1
        else:
            out.append(_row(lines[i], sep))
            i += 1
    return out
