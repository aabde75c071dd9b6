"""One pass over a sheet's XML bytes for the three things the reader looks up in them.

:func:`connectors.sheets.numeric_long_cells` (numeric cells ≥ 1e15), :func:`connectors.sheets.merged_ranges`
(``<mergeCell>``) and :func:`connectors.xlsx_cells._has_error_cell` (an error cell or a formula) each unpacked the
sheet once: a real-estate workbook of 61 MB of XML was inflated three times, ≈ 0.2 CPU-s each, besides fastexcel's
own read.  :func:`scan` unpacks it once and answers all three, each exactly as its own pass did (the same blocks,
the same overlaps, the same patterns); the answer is kept for the last sheet scanned, keyed by the file's identity and the member's CRC.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: a numeric cell value of magnitude ≥ 1e15 (16+ digits, or an exponent ≥ 15); a ``<v>`` and a prefixed ``<x:v>``
#: (the Open XML SDK's) matched apart: a pattern that starts with a literal is searched for ~5 × faster
_NUMBER = rb"(-?[0-9](?:\.[0-9]+)?[eE]\+?(?:1[5-9]|[2-9][0-9]|[1-9][0-9]{2})|-?[0-9]{16,}(?:\.[0-9]*)?)</(?:\w+:)?v>"
_LONG_PLAIN = re.compile(rb"<v>" + _NUMBER)
_LONG_PREFIXED = re.compile(rb"<\w+:v>" + _NUMBER)
_CELL_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="\$?([A-Z]+)\$?([0-9]+):\$?([A-Z]+)\$?([0-9]+)"')
BLOCK = 16 << 20
LONG_OVERLAP = 64 << 10
MERGE_OVERLAP = 256
NEEDLE_OVERLAP = 8
#: the needles :func:`connectors.xlsx_cells._has_error_cell` is asked for (an error cell; a formula, with or
#: without a prefix)
NEEDLES = (b't="e"', b"<f>", b"<f ", b":f>", b":f ")


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


@dataclass(frozen=True)
class SheetScan:
    long_numbers: frozenset[tuple[int, int]] | None  # None: a long number's cell names no place (parse the sheet)
    merged: frozenset[tuple[int, int, int, int]]
    needles: frozenset[bytes]  # those of NEEDLES the XML holds


def _long_in(buf: bytes, found: set) -> bool:
    """Add the long numeric cells of ``buf`` to ``found``; False when one of them does not name its place."""
    patterns = (_LONG_PLAIN, _LONG_PREFIXED) if b":v>" in buf else (_LONG_PLAIN,)
    for pattern in patterns:
        for m in pattern.finditer(buf):
            start = max(buf.rfind(b"<c ", 0, m.start()), buf.rfind(b"<c>", 0, m.start()))
            tag = buf[start:buf.find(b">", start) + 1] if start >= 0 else b""
            ref = _CELL_REF.search(tag)
            kind = _CELL_TYPE.search(tag)
            if ref is None:
                return False
            if kind is None or kind.group(1) == b"n":
                found.add((int(ref.group(2)) - 1, _column_index(ref.group(1))))
    return True


def _needles_in(buf: bytes) -> set[bytes]:
    # "<f" and ":f" first: sheet text holds "<" escaped, so the two formula pairs are ruled out by one search each
    pairs = ((b"<f", (b"<f>", b"<f ")), (b":f", (b":f>", b":f ")))
    found = {b't="e"'} if b't="e"' in buf else set()
    for lead, needles in pairs:
        if lead in buf:
            found.update(n for n in needles if n in buf)
    return found


def _scan(path: Path, member: str) -> SheetScan:
    longs: set[tuple[int, int]] = set()
    parse = False
    merged: set[tuple[int, int, int, int]] = set()
    needles: set[bytes] = set()
    with zipfile.ZipFile(path) as zf, zf.open(member) as fh:
        long_tail = merge_tail = needle_tail = b""
        while block := fh.read(BLOCK):
            if not parse:
                buf = long_tail + block
                parse = not _long_in(buf, longs)
                long_tail = buf[-LONG_OVERLAP:]
            if b"mergeCell" in block or b"mergeCell" in merge_tail + block[:256]:
                for m in _MERGE.finditer(merge_tail + block):
                    merged.add((int(m.group(2)) - 1, _column_index(m.group(1)),
                                int(m.group(4)) - 1, _column_index(m.group(3))))
            merge_tail = block[-MERGE_OVERLAP:]
            if len(needles) < len(NEEDLES):
                needles |= _needles_in(needle_tail + block)
            needle_tail = block[-NEEDLE_OVERLAP:]
    return SheetScan(None if parse else frozenset(longs), frozenset(merged), frozenset(needles))


_last: tuple[tuple, SheetScan] | None = None


def scan(path: Path, member: str) -> SheetScan:
    """The :class:`SheetScan` of the sheet ``member`` of the workbook ``path`` (kept while the file stays the same)."""
    global _last
    st = os.stat(path)
    with zipfile.ZipFile(path) as zf:  # the member's CRC too: a file rewritten in place within a clock tick
        info = zf.getinfo(member)
    key = (os.path.abspath(path), member, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
           info.CRC, info.file_size, info.compress_size, info.header_offset)
    if _last is None or _last[0] != key:
        _last = None  # a failed scan leaves nothing behind
        _last = (key, _scan(Path(path), member))
    return _last[1]
