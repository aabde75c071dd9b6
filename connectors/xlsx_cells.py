"""Cells of a workbook whose text is not what a person sees: Excel errors, 万 number formats and
formulas stored without their result.

fastexcel gives a formula's cached error (``#DIV/0!``, ``#N/A`` …) as an empty
cell, and a number shown through a custom format such as ``0.00"万元"`` as the
bare number: ``1.5`` where the sheet shows ``1.50万元`` (15,000 yuan).  An
empty cell is unknown (sources.md), an error is not: its row is quarantined
with the error named.  A 万 format's number is read as the sheet shows it: the
number with the format's unit (``1.5万元``), unless the format shifts the
decimal point (``0!.0000"万"`` shows 15000 as ``1.5000万``: the number is yuan
already); a 万 format that also scales by thousands (``0.0,"万"``) cannot be
read for sure and quarantines its row.  A formula stored without its result (a workbook
written by a program, not saved by Excel: openpyxl stores none, xlsxwriter 0) is no value a
person saw: its row is quarantined too, not staged as empty or as 0.  The first sheet's XML
is parsed only when the workbook has an error cell, a formula or a 万 format at all.

A workbook saved with the 1904 date system (:func:`date1904`) stores serial numbers counted from
1904-01-01.  fastexcel (calamine) dates *formatted* date cells in the workbook's own system; a plain
number in a date column (formatted General) is turned into a date by :func:`connectors.sheets.read_xlsx`,
since staging counts serials from 1899-12-30 (the 1900 system) and would date it 4 years and 1 day early.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from connectors.sheet_scan import NEEDLES, scan

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
#: the namespaces of a workbook saved as "Strict Open XML" (Excel's Save As, the same .xlsx) → the usual (transitional)
_STRICT = {b"http://purl.oclc.org/ooxml/spreadsheetml/main": b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
           b"http://purl.oclc.org/ooxml/officeDocument/relationships":
               b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
_STRICT_MAIN = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"


def part(zf: zipfile.ZipFile, name: str) -> bytes:
    """The XML of the workbook part ``name``, in the usual namespaces (a Strict Open XML workbook's renamed: calamine
    reads both, and so must every look at the XML)."""
    data = zf.read(name)
    for strict, usual in _STRICT.items():
        data = data.replace(strict, usual)
    return data
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")
_BLOCK = 16 << 20
#: a thousands-scaling comma: after a digit placeholder, before a literal, the end or the next section
_SCALING_COMMA = re.compile(r'[0#?],+(?=["\\;]|$|[^0-9#?.,])')

SCALE = "scale"  # the number is in 万 (append the unit)
SHIFTED = "shifted"  # the format shows yuan as 万 by moving the point: the number is yuan
AMBIGUOUS = "ambiguous"


def date1904(zf: zipfile.ZipFile) -> bool:
    """True when the workbook counts its dates from 1904-01-01 (Excel's "use 1904 date system", the
    default of old Mac Excel): ``<workbookPr date1904="1"/>`` in ``xl/workbook.xml``."""
    try:
        root = ElementTree.fromstring(part(zf, "xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return False
    pr = root.find(f"{_MAIN}workbookPr")
    return pr is not None and (pr.get("date1904") or "").strip().lower() in ("1", "true")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _rows(zf: zipfile.ZipFile, member: str) -> Iterator[tuple[int, ElementTree.Element]]:
    """``(row, <row> element)`` (row 0-based) of the sheet ``member`` with its cells, in the order of the XML; the XML is
    parsed as a stream (a row is cleared once the caller is done with it).  A row without its number (``r`` is optional
    in the format: programs built on the Open XML SDK often leave it out) follows the row before it."""
    at = -1
    with zf.open(member) as fh:
        for _, el in ElementTree.iterparse(fh):
            if el.tag.startswith(_STRICT_MAIN):  # a Strict Open XML sheet: its elements under the usual names
                el.tag = _MAIN + el.tag[len(_STRICT_MAIN):]
            if el.tag == f"{_MAIN}row":
                r = (el.get("r") or "").strip()
                at = int(r) - 1 if r.isdigit() else at + 1
                yield at, el
                el.clear()


def _cells(zf: zipfile.ZipFile, member: str) -> Iterator[tuple[int, int, ElementTree.Element]]:
    """``(row, column, <c> element)`` (0-based, absolute) of each cell of the sheet ``member``, in the order of the
    XML; a cell without its reference (``r="B7"``, optional as a row's number is) follows the cell before it in its
    row (the first is in column A)."""
    for at, row in _rows(zf, member):
        col = -1
        for el in row.iter(f"{_MAIN}c"):
            m = _CELL_REF.fullmatch(el.get("r") or "")
            col = _column_index(m.group(1)) if m else col + 1
            yield (int(m.group(2)) - 1 if m else at), col, el


def long_number_cells(path: Path, member: str) -> set[tuple[int, int]]:
    """``(row, column)`` (0-based) of the numeric cells of magnitude 1e15 or more, by a parse of the sheet (for a sheet
    whose cells do not all name their place: connectors.sheets.numeric_long_cells scans the bytes otherwise)."""
    found = set()
    with zipfile.ZipFile(path) as zf:
        for row, col, el in _cells(zf, member):
            v = el.find(f"{_MAIN}v")
            if el.get("t") in (None, "n") and v is not None:  # a formula's result too, as the byte scan takes it
                try:
                    if 1e15 <= abs(float(v.text or "")) < float("inf"):
                        found.add((row, col))
                except ValueError:
                    continue
    return found


def hidden_rows(path: Path, sheet_member: str) -> list[int]:
    """Sheet row numbers (1-based, as Excel shows them) of the rows of ``sheet_member`` that are hidden (filtered out
    by an AutoFilter, hidden by hand, or folded in an outline: ``<row hidden="1">``) and hold a value."""
    found: list[int] = []
    with zipfile.ZipFile(path) as zf:
        if not _has_error_cell(zf, sheet_member, (b'hidden="1"', b'hidden="true"')):
            return found
        for at, row in _rows(zf, sheet_member):
            if (row.get("hidden") or "").strip().lower() in ("1", "true") \
                    and any((v.text or "").strip() for v in row.iter() if v.tag in (f"{_MAIN}v", f"{_MAIN}t")):
                found.append(at + 1)
    return found


def wan_styles(zf: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Cell style index (the ``s`` attribute) → (kind, format code) of the styles showing a 万 unit."""
    try:
        root = ElementTree.fromstring(part(zf, "xl/styles.xml"))
    except (KeyError, ElementTree.ParseError):
        return {}
    codes = {f.get("numFmtId"): f.get("formatCode") or "" for f in root.iter(f"{_MAIN}numFmt")}
    wan = {}
    for k, code in codes.items():
        if "万" not in code:
            continue
        if _SCALING_COMMA.search(code):
            wan[k] = (AMBIGUOUS, code)
        elif "!." in code or "\\." in code:
            wan[k] = (SHIFTED, code)
        else:
            wan[k] = (SCALE, code)
    xfs = root.find(f"{_MAIN}cellXfs")
    if not wan or xfs is None:
        return {}
    return {str(i): wan[xf.get("numFmtId")] for i, xf in enumerate(xfs.findall(f"{_MAIN}xf"))
            if xf.get("numFmtId") in wan}


def _has_error_cell(zf: zipfile.ZipFile, member: str, needles: tuple[bytes, ...] = (b't="e"',)) -> bool:
    """True when the sheet's XML holds one of ``needles`` (an error cell; or a formula: ``<f>``)."""
    if isinstance(zf.filename, str) and set(needles) <= set(NEEDLES):  # the pass the reader makes anyway
        return any(n in scan(Path(zf.filename), member).needles for n in needles)
    with zf.open(member) as fh:
        tail = b""
        while block := fh.read(_BLOCK):
            if any(n in tail + block for n in needles):
                return True
            tail = block[-8:]
    return False


def _recalculated_on_load(zf: zipfile.ZipFile) -> bool:
    """True when the workbook asks to be recalculated when opened (``<calcPr fullCalcOnLoad="1"/>``): what
    programs write that store formulas without computing them (xlsxwriter stores 0 as every result)."""
    try:
        root = ElementTree.fromstring(part(zf, "xl/workbook.xml"))
    except (KeyError, ElementTree.ParseError):
        return False
    pr = root.find(f"{_MAIN}calcPr")
    return pr is not None and (pr.get("fullCalcOnLoad") or "").strip().lower() in ("1", "true")


def _uncomputed(el: ElementTree.Element, recalculated: bool) -> str | None:
    """The formula of a cell whose stored result is no result — none (openpyxl writes ``<v/>``), or a
    numeric 0 in a workbook to be recalculated on load (xlsxwriter's placeholder) — else None.  A text
    formula's empty result (``t="str"``, ``=IF(A1="","",A1)``) is a result."""
    f = el.find(f"{_MAIN}f")
    if f is None or el.get("t") not in (None, "n"):
        return None
    v = el.find(f"{_MAIN}v")
    text = (v.text or "").strip() if v is not None else ""
    return (f.text or "") if not text or (recalculated and text == "0") else None


def special_cells(path: Path, sheet_member: str) -> tuple[dict, dict, dict]:
    """``(errors, wan, uncomputed)`` of the sheet ``sheet_member``: ``(row, column)`` (0-based, absolute) → the
    error text; → ``(kind, format code)`` of the numeric cells with a 万 format; → the formula of the cells
    whose result the file does not hold (:func:`_uncomputed`)."""
    errors: dict[tuple[int, int], str] = {}
    wan: dict[tuple[int, int], tuple] = {}
    uncomputed: dict[tuple[int, int], str] = {}
    with zipfile.ZipFile(path) as zf:
        styles = wan_styles(zf)
        recalculated = _recalculated_on_load(zf)
        # formulas are looked for only in a workbook to be recalculated: Excel and WPS store every result
        formulas = (b"<f>", b"<f ", b":f>", b":f ") if recalculated else ()  # <f>, or <x:f> (a prefix)
        if not styles and not _has_error_cell(zf, sheet_member, (b't="e"', *formulas)):
            return errors, wan, uncomputed
        for row, col, el in _cells(zf, sheet_member):
            kind, style = el.get("t"), el.get("s")
            if kind == "e":
                v = el.find(f"{_MAIN}v")
                errors[(row, col)] = (v.text or "") if v is not None else ""
            elif (formula := _uncomputed(el, recalculated)) is not None:
                uncomputed[(row, col)] = formula
            elif style in styles and kind in (None, "n"):
                wan[(row, col)] = styles[style]
    return errors, wan, uncomputed


#: built-in number formats (ECMA-376 18.8.30) showing a fixed number of decimals: 0.00, #,##0.00 and its two
#: negative forms
_BUILTIN_DECIMALS = {"2": 2, "4": 2, "39": 2, "40": 2}
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def format_decimals(code: str) -> int | None:
    """The decimals a number format shows for a positive number (``0.00`` → 2, ``#,##0.0`` → 1, ``0`` → 0), or
    None for a format that shows no plain number (a date, a percentage, a scientific or text format, General)."""
    section = _FORMAT_NOISE.sub("", code).split(";")[0]
    if not section or section.lower() == "general" or re.search(r"[%eEyYmMdDhHsS@]", section):
        return None
    found = re.search(r"\.([0#?]+)", section)
    return len(found.group(1)) if found else (0 if re.search(r"[0#?]", section) else None)


def decimal_styles(zf: zipfile.ZipFile) -> dict[str, int]:
    """Cell style index → the decimals its number format shows, for the styles whose format shows two or more."""
    try:
        root = ElementTree.fromstring(part(zf, "xl/styles.xml"))
    except (KeyError, ElementTree.ParseError):
        return {}
    shown = dict(_BUILTIN_DECIMALS)
    for f in root.iter(f"{_MAIN}numFmt"):
        n = format_decimals(f.get("formatCode") or "")
        shown[f.get("numFmtId") or ""] = n if n is not None else 0
    xfs = root.find(f"{_MAIN}cellXfs")
    if xfs is None:
        return {}
    return {str(i): shown[xf.get("numFmtId") or "0"] for i, xf in enumerate(xfs.findall(f"{_MAIN}xf"))
            if shown.get(xf.get("numFmtId") or "0", 0) >= 2}


def shown_decimals(path: Path, sheet_member: str, columns: set[int]) -> dict[tuple[int, int], int]:
    """``(row, column)`` (0-based, absolute) → decimals shown, of the numeric cells in ``columns`` whose number
    format shows two decimals or more (``2026.1`` in ``0.00`` is ``2026.10`` on the sheet).  The sheet's XML is
    parsed only when the workbook has such a format at all (asked only for a month column holding ``YYYY.M``)."""
    found: dict[tuple[int, int], int] = {}
    with zipfile.ZipFile(path) as zf:
        styles = decimal_styles(zf)
        if not styles:
            return found
        for row, col, el in _cells(zf, sheet_member):
            if col in columns and (style := el.get("s")) in styles and el.get("t") in (None, "n"):
                found[(row, col)] = styles[style]
    return found
