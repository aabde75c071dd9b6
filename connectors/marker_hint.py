"""Why a file read fewer rows than its ``.ok`` marker counts, where the file itself shows it.

Asked only when the counts differ (the file is incomplete either way), so that the department is told what to
fix rather than only that something is off:

- a CSV whose quoted value never closes (``"25000`` with no closing quote) swallows the lines after it into that
  value (connectors.textfile keeps such a value when it spans at most 20 lines and the field count fits): the
  line where the open quote starts;
- a CSV holding a UTF-8 byte-order mark after its start: another export (UTF-8 with a BOM) pasted after the first
  one, often in another encoding (GB18030 before it: one part reads as mojibake, its header is no header): the line
  and byte where it starts, both encodings;
- an XLSX whose data continues on another sheet (the marker counting every sheet): only the first sheet is read
  (sources.md), so the other sheets holding rows are named;
- an XLSX read with more rows than its marker counts whose sheet hides rows (an AutoFilter left on, rows hidden by
  hand): the hidden rows, by sheet and Excel row number.  Hidden rows are delivered cells and are read like any
  other (nothing is lost, a marker counting them delivers the file); a marker that counts only the rows in view
  leaves open whether the department meant to deliver the others, so the file stays incomplete;
- a marker counting more than the data rows by exactly the lines that are no data (the header, the title rows above
  it, a 合计 row, footer rows, a repeated header): the marker likely counted them.  Likely only: the counts still
  differ, so the file is not staged (a data row may be missing as well); the department is told what it seems to
  have counted and what the marker must say (:func:`counted_extras`).
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from pathlib import Path

from connectors.above_header import PASTED_FIX, pasted_bom, pasted_text
from connectors.limits import open_regular, shown_name
from connectors.manifest import FileManifest

MAX_SHEETS = 20  # sheets after the read one that are looked at


def open_quote_line(path: Path, encoding: str | None, sep: str) -> tuple[int, int] | None:
    """``(line, lines)`` of the first record whose quoted value spans several lines: the physical line (1-based,
    the header's line counted) where its open quote starts and how many lines it took; None when none does."""
    with open_regular(path) as fh:
        text = io.TextIOWrapper(fh, encoding=encoding or "utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter=sep)
        prev = 0
        try:
            for _ in reader:
                if reader.line_num - prev > 1:
                    return prev + 1, reader.line_num - prev
                prev = reader.line_num
        except csv.Error:  # a NUL byte, a field over csv's size limit: no hint
            return None
    return None


def _pasted_reason(said: str, found: tuple[int, int, str]) -> str:
    return f"{said}：{pasted_text(found)}，无法确定完成标记所计的是哪些行；{PASTED_FIX}"


def other_sheets_with_rows(path: Path) -> list[tuple[str, int]]:
    """The sheets after the one read (connectors.sheets.data_sheet) that hold non-empty rows, with their count."""
    import fastexcel
    import polars as pl

    from connectors.sheets import data_sheet

    with zipfile.ZipFile(path) as zf:
        read, _, _ = data_sheet(zf)
    reader = fastexcel.read_excel(str(path))
    names = reader.sheet_names
    index = names.index(read) if read in names else 0
    found = []
    for name in names[index + 1:index + 1 + MAX_SHEETS]:
        try:
            df = pl.from_arrow(reader.load_sheet(name, header_row=None, dtypes="string").to_arrow())
        except fastexcel.FastExcelError:  # a chart sheet: no rows
            continue
        assert isinstance(df, pl.DataFrame)
        rows = df.height and df.filter(pl.any_horizontal(pl.all().str.strip_chars().ne(""))).height
        if rows:
            found.append((name, rows))
    return found


def hidden_rows_reason(path: Path, fm: FileManifest, said: str) -> str | None:
    """The reason for a workbook read with more rows than its marker counts whose sheet hides rows below the header
    (an AutoFilter left on, rows hidden by hand): the rows named as Excel numbers them.  Hidden rows are delivered
    cells and are read (nothing is lost); whether the department meant to deliver them cannot be told."""
    from connectors.sheets import data_sheet
    from connectors.xlsx_cells import hidden_rows

    with zipfile.ZipFile(path) as zf:
        sheet, member, _ = data_sheet(zf)
    rows = [r for r in hidden_rows(path, member or "xl/worksheets/sheet1.xml") if r > (fm.header_row or 0)]
    if not rows:
        return None
    shown = "、".join(str(r) for r in rows[:10]) + ("等" if len(rows) > 10 else "")
    visible = fm.rows_read - len(rows)
    counted = f"，其余未隐藏的数据行恰为{visible}行：完成标记似乎只计了看得见的行" if visible == fm.marker_count else ""
    return (f"{said}：工作表“{shown_name(sheet or '')}”的第{shown}行（共{len(rows)}行）是隐藏的行（被筛选掉或设为隐藏）"
            f"{counted}；隐藏的行也是文件中的数据，照样读取，无法确定部门是否有意交付这些行，文件未采用；请部门取消筛选"
            "并显示全部行，删去不应交付的行，按全部数据行数写完成标记后重新交付该文件及其完成标记")


def counted_extras(fm: FileManifest, headered: bool = True) -> str:
    """What the marker seems to have counted besides the data rows (``表头行``, ``合计行``, ``表头行或合计行``…) where
    the marker exceeds the rows read by exactly such lines (every way they add up to it, at most three); '' when none
    does.
    ``headered``: the rows were read under a header line (a file; a table delivery has none)."""
    diff = (fm.marker_count or 0) - fm.rows_read
    if diff <= 0:
        return ""
    parts: list[tuple[str, int]] = []
    if headered and fm.header_row:
        parts.append(("表头行", 1))
        if fm.header_row > 1:
            parts.append(("表头及其上方的标题行", fm.header_row))
    for label, n in (("合计行", fm.summary_rows), ("表尾行（制表人、审核人等）", fm.footer_rows),
                     ("表头下的单位行、字段名行或重复的表头", fm.header_rows)):
        if n:
            parts.append((label, n))
    found: list[list[str]] = []
    for size in range(1, len(parts) + 1):
        for combo in itertools.combinations(parts, size):
            labels = [label for label, _ in combo]
            if sum(n for _, n in combo) == diff and not {"表头行", "表头及其上方的标题行"} <= set(labels):
                found.append(labels)
    return "或".join("和".join(labels) for labels in found[:3])


def counted_extras_reason(said: str, fm: FileManifest, what: str, redeliver: str) -> str:
    """The reason for a marker that seems to count ``what`` (:func:`counted_extras`) besides the data rows."""
    return (f"{said}：多出的{fm.marker_count - fm.rows_read}行恰为{what}的行数，完成标记似乎把{what}也计入了"
            f"（按约定只计数据行，表头、合计行、表尾等都不计）；行数不符时无法确定是否还缺了数据行，文件未采用；请部门核对："
            f"确有{fm.rows_read}行数据的，把完成标记改写为“{fm.rows_read}”后重新交付；缺了数据行的，{redeliver}")


def mismatch_reason(path: Path, fm: FileManifest, name: str) -> str | None:
    """The problem to report for a file whose marker count differs from the rows read, when the file shows why."""
    if fm.marker_count is None or fm.marker_count == fm.rows_read:
        return None
    said = f"{name}的完成标记写明{fm.marker_count}行，实际读到{fm.rows_read}行"
    try:
        if path.suffix.lower() == ".csv" and (found := pasted_bom(path)):
            return _pasted_reason(said, found)
        if fm.marker_count < fm.rows_read:
            return hidden_rows_reason(path, fm, said) if path.suffix.lower() == ".xlsx" else None
        if path.suffix.lower() == ".csv":
            found = open_quote_line(path, fm.encoding, "\t" if fm.delimiter == "tab" else ",")
            if found:
                line, lines = found
                return (f"{said}：第{line}行有一个以双引号开头、没有结束双引号的值，其后{lines - 1}行被读进了这个值；"
                        "请部门修正该行的引号（删去多余的双引号或补上结束的双引号）后重新交付该文件及其完成标记")
        elif path.suffix.lower() == ".xlsx":
            sheets = other_sheets_with_rows(path)
            if sheets:
                shown = "、".join(f"“{shown_name(s)}”（{n}行）" for s, n in sheets[:3])
                return (f"{said}（只读第一个工作表）：工作簿中另有工作表{shown}，数据似乎接续在其中；"
                        "请部门把全部数据放在第一个工作表后重新交付该文件及其完成标记")
        if fm.complete and (what := counted_extras(fm)):  # a file failed already (no header…): that reason first
            return counted_extras_reason(said, fm, what, "补齐后重新交付该文件及其完成标记")
    except Exception:  # a hint only: the file is incomplete whatever this finds
        return None
    return None
