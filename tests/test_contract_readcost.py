"""BI: the connectors' read closer to the read-once bound (session 28) — the same answers from fewer passes.

BI01–BI03 pin that the one pass of :mod:`connectors.sheet_scan` answers what the three passes over a sheet's
XML it replaces answered (reference copies of those passes below), at block boundaries too.  BI04 pins that
``detect_encoding``'s early stop gives the full count's verdict.  BI05 pins that ``sniff`` asks its header
finder once per distinct preview that could beat the header found (new behaviour: fails on the old code, which
asked it for all eight; the module imports ``connectors.sheet_scan``, so none of it runs on the old code).
"""

from __future__ import annotations

import os
import random
import re
import zipfile

import pytest

from connectors import sheet_scan
from connectors.raw import find_header
from connectors.textfile import GB18030, UTF8, detect_encoding, sniff

# -- the passes as they were before session 28 (reference) -------------------------------------------------

_OLD_LONG = re.compile(
    rb"<(?:\w+:)?v>(-?[0-9](?:\.[0-9]+)?[eE]\+?(?:1[5-9]|[2-9][0-9]|[1-9][0-9]{2})|-?[0-9]{16,}(?:\.[0-9]*)?)</(?:\w+:)?v>"
)
_OLD_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="\$?([A-Z]+)\$?([0-9]+):\$?([A-Z]+)\$?([0-9]+)"')


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _old_long(data: bytes, block: int, overlap: int):
    found, tail = set(), b""
    for k in range(0, len(data), block):
        buf = tail + data[k:k + block]
        for m in _OLD_LONG.finditer(buf):
            start = max(buf.rfind(b"<c ", 0, m.start()), buf.rfind(b"<c>", 0, m.start()))
            tag = buf[start:buf.find(b">", start) + 1] if start >= 0 else b""
            ref = re.search(rb'\br="([A-Z]+)([0-9]+)"', tag)
            kind = re.search(rb'\bt="([a-zA-Z]+)"', tag)
            if ref is None:
                return None
            if kind is None or kind.group(1) == b"n":
                found.add((int(ref.group(2)) - 1, _col(ref.group(1))))
        tail = buf[-overlap:]
    return found


def _old_merged(data: bytes, block: int):
    found, tail = set(), b""
    for k in range(0, len(data), block):
        b = data[k:k + block]
        if b"mergeCell" in b or b"mergeCell" in tail + b[:256]:
            for m in _OLD_MERGE.finditer(tail + b):
                found.add((int(m.group(2)) - 1, _col(m.group(1)), int(m.group(4)) - 1, _col(m.group(3))))
        tail = b[-256:]
    return found


def _old_needles(data: bytes, block: int, needles):
    tail = b""
    for k in range(0, len(data), block):
        b = data[k:k + block]
        if any(n in tail + b for n in needles):
            return True
        tail = b[-8:]
    return False


def _sheet(cells: list[bytes], merges: list[bytes] = ()) -> bytes:
    rows = b"".join(b'<row r="%d">%s</row>' % (i + 1, c) for i, c in enumerate(cells))
    merge = b"<mergeCells>" + b"".join(b'<mergeCell ref="%s"/>' % m for m in merges) + b"</mergeCells>" if merges else b""
    return (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b"<sheetData>" + rows + b"</sheetData>" + merge + b"</worksheet>")


def _book(tmp_path, xml: bytes, name="b.xlsx"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", xml)
    return path


_CELLS = [
    b'<c r="A1" t="inlineStr"><is><t>360102199001011234</t></is></c><c r="B1"><v>360102199001011234</v></c>',
    b'<c r="C2" t="n"><v>1.23E+17</v></c><c r="D2"><v>-12345678901234567.5</v></c><c r="E2"><v>123456789012345</v></c>',
    b'<x:c r="F3"><x:v>9.9e15</x:v></x:c><c r="G3"><x:v>12345678901234567</v></c><c r="H3" t="s"><v>12345678901234567</v></c>',
    b'<c r="I4" t="e"><v>#N/A</v></c><c r="J4"><f>SUM(A1:A2)</f><v>3</v></c><c r="K4"><v:v>1e200</v:v></c>',
]


@pytest.mark.parametrize("block", [7, 64, 301, 1 << 20])
def test_BI01_one_pass_finds_the_long_numbers_merges_and_needles_the_three_passes_found(tmp_path, monkeypatch, block):
    """BI01 (equivalence pin): long numeric cells (plain and prefixed ``<x:v>``, exponent forms, text cells left
    alone), merged ranges and error / formula needles, block boundaries anywhere (blocks of 7 bytes up)."""
    monkeypatch.setattr(sheet_scan, "BLOCK", block)
    rng = random.Random(block)
    for trial in range(6):
        cells = [rng.choice(_CELLS) for _ in range(rng.randint(1, 8))]
        merges = [b"A1:B2", b"$C$3:$D$9", b"AA10:AB12"][: rng.randint(0, 3)]
        xml = _sheet(cells, merges)
        path = _book(tmp_path, xml, f"b{trial}.xlsx")
        got = sheet_scan.scan(path, "xl/worksheets/sheet1.xml")
        old = _old_long(xml, block, sheet_scan.LONG_OVERLAP)
        assert (None if got.long_numbers is None else set(got.long_numbers)) == old
        assert set(got.merged) == _old_merged(xml, block)
        for needles in ((b't="e"',), sheet_scan.NEEDLES, (b"<f>", b"<f "), (b":f>", b":f ")):
            assert any(n in got.needles for n in needles) == _old_needles(xml, block, needles)


def test_BI02_a_cell_without_its_place_still_sends_the_sheet_to_the_parse(tmp_path):
    """BI02 (equivalence pin): a long number in a cell naming no ``r`` makes ``numeric_long_cells`` parse the sheet, as
    the byte scan did; the cells found then are the parse's."""
    from connectors.sheets import numeric_long_cells

    xml = _sheet([b'<c r="A1"><v>1</v></c>', b"<c><v>12345678901234567</v></c>"])
    path = _book(tmp_path, xml)
    assert sheet_scan.scan(path, "xl/worksheets/sheet1.xml").long_numbers is None
    assert _old_long(xml, 1 << 20, 64 << 10) is None
    assert numeric_long_cells(path) == {(1, 0)}  # no workbook.xml: the sheet read is sheet1.xml


def test_BI03_the_scan_is_made_again_when_the_file_changes(tmp_path):
    """BI03: the answer kept is the file's: a workbook replaced under the same name, or rewritten in place with the
    same size and time, is scanned again."""
    path = _book(tmp_path, _sheet([b'<c r="A1"><v>1</v></c>'], [b"A1:A2"]))
    assert set(sheet_scan.scan(path, "xl/worksheets/sheet1.xml").merged) == {(0, 0, 1, 0)}
    replaced = _book(tmp_path, _sheet([b'<c r="A1"><v>12345678901234567</v></c>', b"x" * 50]), "c.xlsx")
    replaced.replace(path)
    again = sheet_scan.scan(path, "xl/worksheets/sheet1.xml")
    assert set(again.merged) == set() and set(again.long_numbers) == {(0, 0)}
    # rewritten in place, the same size and modification time (a clock tick is coarse): the member's CRC tells
    st = path.stat()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", _sheet([b'<c r="A1"><v>22345678901234567</v></c>', b"y" * 50]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_ino == st.st_ino
    assert set(sheet_scan.scan(path, "xl/worksheets/sheet1.xml").long_numbers) == {(0, 0)}
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"22345678901234567" in xml and sheet_scan.scan(path, "xl/worksheets/sheet1.xml") is not again


def _old_detect(lines: list[bytes]) -> str:
    try:
        b"\n".join(lines).decode(UTF8)
        return UTF8
    except UnicodeDecodeError:
        pass
    ok = failed = 0
    for line in lines:
        if line.isascii():
            continue
        try:
            line.decode(UTF8)
            ok += 1
        except UnicodeDecodeError:
            failed += 1
    return UTF8 if ok > failed else GB18030


def test_BI04_detect_encoding_stops_early_with_the_full_counts_verdict():
    """BI04 (equivalence pin): heads of UTF-8 and GB18030 lines in every proportion (ties too) get the verdict the
    full count gave."""
    rng = random.Random(4)
    utf8, gbk, ascii_ = "张三,北京".encode(), "李四,上海".encode("gb18030"), b"1,2"
    for _ in range(400):
        lines = [rng.choice((utf8, gbk, ascii_)) for _ in range(rng.randint(1, 12))]
        head = b"\n".join(lines) + b"\n"
        assert detect_encoding(head) == _old_detect(head.split(b"\n"))


def test_BI05_sniff_asks_the_header_finder_once_per_distinct_preview(tmp_path):
    """BI05 (new behaviour: the old code asked eight times): a GB18030 file with no quoted line breaks gives the same
    rows in both previews; each distinct preview that could beat the best header so far is matched once, and the
    layout is the one found before."""
    from connectors import load_map

    smap = load_map("bank")
    header = [c.header for c in smap.columns]
    text = ",".join(header) + "\n" + ",".join("1" for _ in header) + "\n"
    path = tmp_path / "bank.csv"
    path.write_bytes(text.encode("gb18030"))
    calls = []

    def finder(rows):
        calls.append(rows)
        return find_header(rows, smap)

    layout = sniff(path, finder)
    assert layout.header_line == 1 and layout.encoding == GB18030 and layout.sep == ","
    # the comma rows in GB18030, then in UTF-8 (a header of mojibake, but as many cells): the tab previews hold one
    # cell a row and cannot beat a header matching several columns; the record previews equal the row previews
    assert len(calls) == 2
    assert all(a != b for i, a in enumerate(calls) for b in calls[i + 1:])
