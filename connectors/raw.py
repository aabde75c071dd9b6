"""Raw rows: positional batches from any reader → the raw Parquet of docs/internals.md.

Every reader (CSV, XLSX, Parquet, SQL) produces polars batches with the
file's columns as ``f0 … f{n-1}`` (String), ``_row_no`` (Int32: line, sheet
row or index) and ``_err`` (String: a decoding or field-count problem, else
null).  :class:`RawWriter` drops blank and 合计 rows, maps the positions to
the map's canonical columns, adds the scales and lineage, and appends to one
Parquet file per source delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from connectors.above_header import reordered_headers
from connectors.amount_columns import read_second_columns
from connectors.limits import human_bytes, shown_name
from connectors.manifest import FileManifest
from connectors.maps import (
    CURRENCY_NOISE,
    YUAN_CURRENCY,
    HeaderMatch,
    SourceMap,
    read_in_another_unit,
    stated_units,
)

#: a blank cell: whitespace, and DOS's end-of-file mark Ctrl-Z (0x1A), which old tools (``copy /a``) write after
#: the last line — a line of it alone was a row of no one, the file's rows one more than its marker's count
_BLANK_RE = r"^[\s\u00a0\u3000\ufeff\x1a]*$"
#: a cell of a ``text`` column holding whitespace only (a tab, a line break, U+3000 …: DuckDB's trim
#: keeps the control characters) is empty, as an empty cell is: an authorization number of a lone tab
#: is none on file.  A column is looked at only when some cell is this short (a few ms per million).
_BLANK_CELL_BYTES = 8
#: a summary row's first cell: 合计 (sources.md), and its synonyms 总计 (a grand total), 小计 (a subtotal between
#: groups), 共计 and 总合计, and 汇总 (the label Chinese Excel gives a table's total row) — a total is no record whatever
#: its word: read as one it was a row of no one, or a file whose marker (which counts no total) disagreed with the
#: rows read, the source not delivered
_SUMMARY_RE = r'^[\s\u00a0\u3000\ufeff"]*(?:总[\s\u00a0\u3000]*)?(?:[合总小共][\s\u00a0\u3000]*计|汇[\s\u00a0\u3000]*总)'
#: a footer row's first non-blank cell: the sign-off and notes a department's export ends with (制表人：王五, 审核人,
#: 制表单位：…, 单位负责人（签字）：, 备注：…, 注1：…, 打印时间：…, （以下空白）) — no record of anyone: read as one, the file's rows
#: disagreed with its marker (which counts data rows only) and the whole source counted as not delivered.  A label,
#: at most a few more characters (人, 单位, 签字, 日期…) and ：/:, or one of the labels standing alone in its cell; a row
#: holding anything like an ID number (15 or more digits) is never taken for a footer
_FOOTER_WORDS = "制表|填表|填报|审核|复核|审批|负责人|单位负责人|经办|联系人|联系电话|备注|说明|打印|导出|数据来源|数据截[止至]|单位盖章|盖章"
_FOOTER_ALONE = "制表人|填表人|填报人|审核人|复核人|审批人|负责人|经办人|联系人|备注|说明|盖章|以下空白|以下无数据|以下为空"
_FOOTER_RE = (rf'^[\s\u00a0\u3000\ufeff"]*(?:(?:{_FOOTER_WORDS})[^:：,，\t]{{0,6}}[:：]|注[0-9一二三四五六七八九十]?[:：]'
              rf'|[（(]?(?:{_FOOTER_ALONE})[)）]?[\s\u3000"]*$)')
#: a first cell that may be blank, a summary's or a footer's: one regex pass where three were
_ANY_KIND_RE = f"(?:{_BLANK_RE})|(?:{_SUMMARY_RE})|(?:{_FOOTER_RE})"
_ID_LIKE_RE = r"[0-9０-９]{15}"
HEADER_SEARCH_ROWS = 30
#: rows gathered before a Parquet row group is written (batches are smaller: many small files, 8 MiB chunks)
ROW_GROUP_ROWS = 1 << 18


def raw_schema(smap: SourceMap) -> pa.Schema:
    """The raw Parquet schema of ``smap``: canonical VARCHARs, ``<amount>__scale``, lineage."""
    fields = [pa.field(c, pa.string()) for c in smap.canonical_columns]
    fields += [pa.field(f"{c}__scale", pa.float64()) for c in smap.amount_columns]
    fields += [
        pa.field("source", pa.string()),
        pa.field("delivery_date", pa.string()),
        pa.field("file_name", pa.string()),
        pa.field("row_no", pa.int32()),
        pa.field("read_error", pa.string()),
    ]
    return pa.schema(fields)


def positional_names(n: int) -> list[str]:
    return [f"f{i}" for i in range(n)]


def find_header(rows: list[list[object]], smap: SourceMap) -> tuple[int | None, int]:
    """``(index, score)`` of the header among the first non-empty ``rows`` (:data:`HEADER_SEARCH_ROWS` of
    them, empty rows not counted): the row naming most map columns.

    Rows above it are title rows.  Falls back to the first non-empty row (score
    0) when no row names any column — the header problems are then reported —
    and gives ``(None, 0)`` when every row is empty.
    """
    best, best_score, first, seen = None, 0, None, 0
    for i, row in enumerate(rows):
        if not any(v is not None and str(v).strip() for v in row):
            continue  # empty rows above the header (however many) are no part of the search
        seen += 1
        if seen > HEADER_SEARCH_ROWS:
            break
        if first is None:
            first = i
        score = smap.match_headers(list(row)).score
        if score > best_score:
            best, best_score = i, score
    return (best, best_score) if best is not None else (first, 0)


def record_header_problems(fm: FileManifest, smap: SourceMap, header: list[str]) -> HeaderMatch:
    """Match ``header`` to ``smap``; record missing and unknown columns in ``fm`` (in Chinese).

    A missing essential column (the ID column, or one marked ``required``)
    makes the file unusable: without it every row would look like a person
    with no record, which must never make a household look eligible.
    """
    match = smap.match_headers(list(header))
    fm.missing_headers = [c.header for c in match.missing]
    fm.extra_headers = [shown_name(h) for h in match.extra[:100]]
    fm.scales = {c: s for c, s in match.scales.items() if s != 1.0}
    name = fm.file_name.rsplit("/", 1)[-1]
    essential = [c.header for c in match.missing if c.essential]
    optional = [c.header for c in match.missing if not c.essential]
    if essential:
        fm.fail(f"{name}缺少必需列：{'、'.join(essential)}，文件无法使用；请部门按约定表头重新导出")
    if match.foreign:
        alone = [h for _, c, h in match.foreign_at if c not in match.scales]
        beside = [h for _, c, h in match.foreign_at if c in match.scales]
        if alone:
            fm.problems.append(f"{name}的列{'、'.join(shown_name(h) for h in alone[:10])}以外币计，无法换算为人民币元，"
                               "该列未采用（按空值即未知处理）；请部门以人民币元或万元重新导出")
        if beside:
            fm.problems.append(f"{name}的列{'、'.join(shown_name(h) for h in beside[:10])}以外币计，无法换算为人民币元："
                               "该列有值（非零）的行隔离待查（人民币列不能代表其全部）；请部门以人民币元或万元重新导出")
        foreign = {c for _, c, _ in match.foreign_at}
        optional = [c.header for c in match.missing if not c.essential and c.column not in foreign]
    if match.periods:
        given = {c for _, c, _, _ in match.periods}
        optional = [h for h in optional if smap.lookup(h)[0].column not in given]
    if match.parts:
        summed = {c for _, c, _, _ in match.parts}
        optional = [h for h in optional if smap.lookup(h)[0].column not in summed]
        for column in sorted(summed):
            shown = "、".join(shown_name(h) for _, c, _, h in match.parts if c == column)
            if column not in match.scales and shown.count("、") == 0:  # 存款余额 alone: the balance itself
                fm.problems.append(f"{name}没有“{smap.spec(column).header}”列，按“{shown}”列读作"
                                   f"“{smap.spec(column).header}”（为空的行未知）")
                continue
            fm.problems.append(f"{name}的“{smap.spec(column).header}”分列为{shown}：“{smap.spec(column).header}”为空的行"
                               "取各分列之和（任一分列为空则未知），小于各分列之和的行隔离待查")
    if optional:
        fm.problems.append(f"{name}缺少列：{'、'.join(optional)}，这些值按空值（未知）处理")
    if match.currency and smap.amount_columns:
        fm.problems.append(f"{name}有币种列：币种不是人民币的行，其金额不能按人民币元计，隔离待查（隔离原因中金额后附其币种）")
    if match.twins:
        shown = "、".join(dict.fromkeys(f"“{smap.spec(c).header}”" for _, c, _ in match.twins))
        fm.problems.append(f"{name}的表头中{shown}出现不止一次：读第一列，它为空时读后一列；"
                           "两列都有值而不同的行隔离待查；请部门删去重复的列")
    alike = [(h, found) for h in match.extra[:100] if (found := smap.lookalike(h)) is not None]
    for h, (spec, why) in alike:  # 可用余额 is no 余额: say so, never invite an alias
        fm.problems.append(f"{name}的列“{shown_name(h)}”不是“{spec.header}”：{why}，不能当作“{spec.header}”读取，已忽略"
                           + ("" if spec.column in match.scales else f"；请部门按约定交付“{spec.header}”列后重新交付"))
    extra = [h for h in match.extra if smap.lookalike(h) is None]
    if extra:
        shown = "、".join(shown_name(h) for h in extra[:10])
        if len(extra) > 10:
            shown += f"等{len(extra)}列"
        fm.extra_headers = [shown_name(h) for h in match.extra[:100]]
        fm.problems.append(
            f"{name}有映射中没有的列：{shown}，已忽略；"
            f"如是改了名的列，请在connectors/maps/{smap.source}.yaml中登记别名（aliases）"
        )
    return match


def note_footers(fm: FileManifest, smap: SourceMap, match: HeaderMatch, units: set[str]) -> None:
    """Say in ``fm`` that the file's footer rows were passed over; keep the file out where they state an amount unit
    other than the one its amounts were read in (注：金额单位：万元 under amounts read as yuan): the rows above
    were read already, and a unit guessed after the fact is no reading."""
    name = fm.file_name.rsplit("/", 1)[-1]
    if fm.footer_rows:
        fm.problems.append(f"{name}有{fm.footer_rows}行表尾（制表人、审核人、备注等），不是数据行，未读入，也不计入完成标记的行数")
    if units and (read := read_in_another_unit(smap, match, units)):
        fm.fail(f"{name}的表尾注明金额单位为{'、'.join(sorted(units))}，而{read}；表尾的单位无法用于已读入的行，"
                "文件未采用；请部门把单位写在表头（如“余额（万元）”）或表头上方的标题行后重新交付")


def _lead_cell(fcols: list[str]) -> pl.Expr:
    """A row's first non-blank cell (a sheet whose first column is a 序号 left empty on a summary or footer row)."""
    return pl.coalesce([pl.when(pl.col(c).str.contains(_BLANK_RE)).then(None).otherwise(pl.col(c)) for c in fcols])


def _id_like(fcols: list[str]) -> pl.Expr:
    """A row holds something like an ID number in some cell."""
    return pl.any_horizontal([pl.col(c).str.contains(_ID_LIKE_RE).fill_null(False) for c in fcols])


def _drop_blank_and_summary(batch: pl.DataFrame, fcols: list[str]) -> tuple[pl.DataFrame, int, int, frozenset[str]]:
    """``batch`` without blank rows, 合计 rows and footer rows (decided on the first non-blank cell), the 合计 count,
    the footer count and the amount units the footer rows state.  Only the first cell is looked at on every row
    (one regex each); the others only on rows
    whose first cell is blank, or that look like a footer (the ID-like test)."""
    first = pl.col(fcols[0])
    kinds = {"first_blank": (first.is_null() | first.str.contains(_BLANK_RE)).fill_null(True),
             "summary": first.str.contains(_SUMMARY_RE).fill_null(False),
             "footer": first.str.contains(_FOOTER_RE).fill_null(False)}
    # the three patterns as one pass: only the rows it matches (or null) are told apart (the usual batch: none)
    maybe = batch.select(first.str.contains(_ANY_KIND_RE).fill_null(True)).to_series()
    flags = batch.select(**kinds) if maybe.all() else pl.DataFrame(
        {k: pl.repeat(False, batch.height, dtype=pl.Boolean, eager=True) for k in kinds})
    if maybe.any() and not maybe.all():
        at = maybe.arg_true()
        found = batch[at].select(**kinds)
        flags = flags.with_columns(flags[k].scatter(at, found[k]) for k in kinds)
    flags = flags.with_columns(err=batch["_err"].is_not_null())
    flags = flags.with_columns(maybe_blank=flags["first_blank"] & ~flags["err"])
    if len(fcols) > 1 and flags["first_blank"].any():
        at = flags["first_blank"].arg_true()
        lead = batch[at].select(summary=_lead_cell(fcols[1:]).str.contains(_SUMMARY_RE).fill_null(False),
                                footer=_lead_cell(fcols[1:]).str.contains(_FOOTER_RE).fill_null(False))
        for kind in ("summary", "footer"):
            if lead[kind].any():
                flags = flags.with_columns(flags[kind].scatter(at.filter(lead[kind]), True))
    footer = flags["footer"] & ~flags["summary"]
    if footer.any():  # a note naming an ID number is about someone: never a footer
        at = footer.arg_true()
        named = batch[at].select(_id_like(fcols)).to_series()
        if named.any():
            footer = footer.scatter(at.filter(named), False)
    drop = flags["summary"] | footer
    n_summary, n_footer = int(flags["summary"].sum()), int(footer.sum())
    units = frozenset(stated_units(batch.filter(footer).select(fcols).rows())) if n_footer else frozenset()
    if flags["maybe_blank"].any():
        rest = [pl.col(c).is_null() | pl.col(c).str.contains(_BLANK_RE) for c in fcols[1:]] or [pl.lit(True)]
        blank = batch.select(pl.all_horizontal(rest)).to_series() & flags["maybe_blank"]
        drop = drop | blank
    if drop.any():
        batch = batch.filter(~drop)
    return batch, n_summary, n_footer, units


def _cell(name: str) -> pl.Expr:
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _read_twins(batch: pl.DataFrame, match: HeaderMatch, smap: SourceMap) -> tuple[pl.DataFrame, dict[str, str]]:
    """A column named twice in the header (``match.twins``): ``(batch with a read error on the rows whose two
    cells both hold a value and differ, or whose later cell alone holds one in another unit; {canonical
    column: the positional column its value is read from, the first cell's or else the later one's})``.
    Which of two different values is the department's is not known: such a row is quarantined, never read
    from the first column as if the other were not there."""
    by_column = {c: i for i, c in enumerate(match.columns) if c is not None}
    sources, conflict, reasons = {}, [], []
    for j, column, scale in match.twins:
        i = by_column.get(column)
        if i is None or f"f{i}" not in batch.columns or f"f{j}" not in batch.columns:
            continue
        first, later = _cell(f"f{i}"), _cell(f"f{j}")
        same_unit = scale == match.scales.get(column)
        clash = (first.is_not_null() & later.is_not_null() & ((first != later) | (not same_unit))) | (
            first.is_null() & later.is_not_null() & (not same_unit))
        conflict.append(clash.fill_null(False))
        reasons.append(pl.when(clash).then(pl.lit(
            f"“{smap.spec(column).header}”有两列（第{i + 1}列、第{j + 1}列）且值不同，无法确定哪一列是该项的值")))
        if same_unit:
            name = f"_twin_{column}"
            batch = batch.with_columns(pl.coalesce(first, later).alias(name))
            sources[column] = name
    if not conflict:
        return batch, sources
    message = pl.format("第{}行" + "{}，该行隔离待查；请部门删去重复的列后重新交付", pl.col("_row_no"),
                        pl.concat_str(reasons, separator="；", ignore_nulls=True))
    err = pl.when(pl.any_horizontal(conflict)).then(message).otherwise(None)
    return batch.with_columns(_err=pl.coalesce(pl.col("_err"), err)), sources


def _limit_fields(batch: pl.DataFrame, fcols: list[str], match: HeaderMatch, smap: SourceMap,
                  limit: int) -> pl.DataFrame:
    """A field longer than ``limit`` bytes is emptied and its row gets a read error (quarantine)."""
    too_long = [pl.col(c).str.len_bytes() > limit for c in fcols]
    if not batch.select(pl.any_horizontal(too_long).fill_null(False).any()).item():
        return batch
    labels = []
    for i, _ in enumerate(fcols):
        column = match.columns[i] if i < len(match.columns) else None
        header = smap.spec(column).header if column else None
        labels.append(f"第{i + 1}列" + (f"（{header}）" if header else ""))
    message = pl.coalesce([
        pl.when(pl.col(c).str.len_bytes() > limit).then(pl.format(
            "第{}行" + label + "长{}字节，超过单个字段上限" + human_bytes(limit)
            + "，该字段未读入，该行隔离待查；请部门核对该字段内容后重新交付",
            pl.col("_row_no"), pl.col(c).str.len_bytes()))
        for c, label in zip(fcols, labels, strict=True)
    ])
    return batch.with_columns(
        pl.coalesce(pl.col("_err"), message).alias("_err"),
        *[pl.when(pl.col(c).str.len_bytes() > limit).then(None).otherwise(pl.col(c)).alias(c) for c in fcols],
    )


def _blank_text_cells(batch: pl.DataFrame, fcols: list[str]) -> pl.DataFrame:
    """``batch`` with the whitespace-only cells of ``fcols`` made empty (:data:`_BLANK_CELL_BYTES`)."""
    out = {}
    for c in fcols:
        if c not in batch.columns:
            continue
        lens = batch[c].str.len_bytes()
        if not (lens <= _BLANK_CELL_BYTES).any():  # the usual column: no cell short enough to be blank
            continue
        blank = ((lens > 0) & (batch[c].str.strip_chars_start().str.len_bytes() == 0)).fill_null(False)
        if blank.any():
            out[c] = pl.select(pl.when(blank).then(None).otherwise(batch[c])).to_series().alias(c)
    return batch.with_columns(**out) if out else batch


def _drop_repeated_headers(batch: pl.DataFrame, fcols: list[str], match: HeaderMatch,
                           smap: SourceMap) -> tuple[pl.DataFrame, int, list[tuple[int, int, str]]]:
    """``batch`` without the rows that repeat the header (two exports of a department pasted into one file:
    the second one's header line is a header, not a data row, and the marker does not count it), and how
    many.  A row repeats the header when each cell under a matched column names that same column, in the same
    unit (a header line naming another unit or order stays a row: the file then disagrees with its marker).  The
    third item: ``(row, column index, cell)`` of each header line naming the columns in another order (the rows below
    it are not what the first header says: :func:`connectors.above_header.reordered_headers`)."""
    matched = [(f"f{i}", c) for i, c in enumerate(match.columns) if c is not None and f"f{i}" in fcols]
    if len(matched) < 2:
        return batch, 0, []
    ids = [f for f, c in matched if smap.spec(c).type == "id"] or [matched[0][0]]
    # a cheap first look: a header's ID cell holds no digit (a person's ID number does)
    maybe = batch.select(pl.all_horizontal(
        pl.col("_err").is_null(), pl.col(ids[0]).is_not_null(),
        ~pl.col(ids[0]).str.contains_any(list("0123456789０１２３４５６７８９")))).to_series()
    if not maybe.any():
        return batch, 0, []
    at = maybe.arg_true()
    rows = batch[at].select([f for f, _ in matched]).rows()
    header = [all(v is not None and (found := smap.lookup(v))[0] is not None and found[0].column == c
                  and found[1] == match.scales.get(c) for v, (_, c) in zip(row, matched, strict=True)) for row in rows]
    reordered = reordered_headers(batch, at, rows, header, matched, smap, match.scales)
    drop = at.filter(pl.Series(header, dtype=pl.Boolean))
    if drop.len() == 0:
        return batch, 0, reordered
    drop = pl.Series(sorted({*drop.to_list(), *_titles_above(batch, fcols, drop.to_list())}), dtype=pl.UInt32)
    keep = pl.Series([True] * batch.height).scatter(drop, False)
    return batch.filter(keep), drop.len(), reordered


#: a title line of one field in a CSV (the reader's count error for it, textfile.parse_chunk)
_ONE_FIELD_RE = r"^第[0-9]+行有1个字段，表头有[0-9]+个字段$"


def _titles_above(batch: pl.DataFrame, fcols: list[str], headers: list[int]) -> list[int]:
    """The title lines right above repeated headers (two exports pasted into one file, each with its title above
    its header, as the first one's is skipped above the first header): a row holding one text in its first cell
    (alone, or in every cell of a title merged across the row), with no ID number in it and no unit (单位：万元
    would change how the amounts below are read: such a row stays a row, and the file then disagrees with its
    marker).  At most 3 above each header."""
    found, taken = [], set(headers)
    for h in headers:
        for i in range(h - 1, max(h - 4, -1), -1):
            if i in taken:
                break
            row = batch.row(i, named=True)
            texts = {v.strip() for c in fcols if (v := row[c]) is not None and not re.match(_BLANK_RE, v)}
            err, text = row["_err"], "".join(texts)
            if len(texts) != 1 or (row[fcols[0]] or "").strip() != text \
                    or (err is not None and not re.match(_ONE_FIELD_RE, err)) \
                    or re.search(_ID_LIKE_RE, text) or "元" in text or "单位" in text \
                    or re.search(_SUMMARY_RE, text) or re.search(_FOOTER_RE, text):
                break
            found.append(i)
            taken.add(i)
    return found


@dataclass
class BatchCounts:
    rows: int = 0
    read_errors: int = 0
    summary_rows: int = 0
    footer_rows: int = 0  # 制表人/审核人/备注 rows (not data: not counted)
    header_rows: int = 0  # lines repeating the header, and the titles above them (not data: not counted)
    reordered: list = field(default_factory=list)  # header lines in another column order (_drop_repeated_headers)


def _in_currency(exprs: list[pl.Expr], batch: pl.DataFrame, match: HeaderMatch, amounts: list[str]) -> list[pl.Expr]:
    """``exprs`` with each amount of a row whose currency (its first non-blank currency cell) is not yuan written
    with that currency after it (``3000`` → ``3000美元``): no amount staging reads, so the row is quarantined naming
    it, never taken as yuan."""
    cells = [pl.col(f"f{i}").cast(pl.String) for i in match.currency if f"f{i}" in batch.columns]
    if not cells:
        return exprs
    shown = pl.coalesce([pl.when(c.str.contains(_BLANK_RE)).then(None).otherwise(c.str.strip_chars()) for c in cells])
    key = shown.str.normalize("NFKC").str.to_uppercase().str.replace_all(CURRENCY_NOISE, "")
    foreign = shown.is_not_null() & ~key.str.contains(YUAN_CURRENCY)
    out = []
    for e in exprs:
        name = e.meta.output_name()
        marked = pl.when(foreign & e.is_not_null()).then(e + shown).otherwise(e).alias(name)
        out.append(marked if name in amounts else e)
    return out


class RawWriter:
    """Appends the rows of one source delivery to ``out_parquet`` (written to a temp file, then renamed)."""

    def __init__(self, smap: SourceMap, out_parquet: Path, delivery_date: str,
                 field_bytes: int | None = None) -> None:
        self.smap = smap
        self.field_bytes = field_bytes
        self.out = Path(out_parquet)
        self.delivery_date = delivery_date
        self.schema = raw_schema(smap)
        self._types = {spec.column: spec.type for spec in smap.columns}
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.out.with_name(self.out.name + ".tmp")
        # polars hands strings over as string views without a copy; Parquet stores them as any string, and
        # without the Arrow schema in the file's metadata they read back as raw_schema's plain strings
        self._view_schema = pa.schema([pa.field(f.name, pa.string_view()) if f.type == pa.string() else f
                                       for f in self.schema])
        # row_no (one value per row) without a dictionary: the writer would build one per column chunk only
        # to drop it (~30 % of the write's CPU at 2 M rows; the file is smaller without, the same values)
        self._writer = pq.ParquetWriter(str(self._tmp), self._view_schema, compression="zstd", compression_level=1,
                                        write_statistics=False, store_schema=False,
                                        use_dictionary=[n for n in self.schema.names if n != "row_no"])
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.footer_units: dict[str, set[str]] = {}  # per file: the amount units its footer rows state (单位：万元)

    def write(self, batch: pl.DataFrame, match: HeaderMatch, file_name: str) -> BatchCounts:
        """Map one positional batch (see the module docstring) and append it; return its counts."""
        counts = BatchCounts()
        if batch.height == 0:
            return counts
        fcols = [c for c in batch.columns if c.startswith("f") and c[1:].isdigit()]
        if fcols:
            batch, counts.summary_rows, counts.footer_rows, units = _drop_blank_and_summary(batch, fcols)
            self.footer_units.setdefault(file_name, set()).update(units)
            batch, counts.header_rows, counts.reordered = _drop_repeated_headers(batch, fcols, match, self.smap)
        if fcols and self.field_bytes:
            batch = _limit_fields(batch, fcols, match, self.smap, self.field_bytes)
        twins: dict[str, str] = {}
        if match.twins and batch.height:
            batch, twins = _read_twins(batch, match, self.smap)
        if match.parts or match.foreign_at or match.periods:  # 活期余额/定期余额, 余额（美元）, 所属期起/止
            batch, twins = read_second_columns(batch, match, self.smap, twins)
        counts.rows = batch.height
        counts.read_errors = int(batch["_err"].is_not_null().sum())
        if batch.height == 0:
            return counts
        by_column = {c: i for i, c in enumerate(match.columns) if c is not None}
        batch = _blank_text_cells(batch, [f"f{i}" for c, i in by_column.items() if self._types[c] == "text"])
        exprs: list[pl.Expr] = []
        for c in self.smap.canonical_columns:
            i = by_column.get(c)
            src = twins.get(c) or (f"f{i}" if i is not None else None)
            if src is not None and src in batch.columns:
                col = pl.col(src).cast(pl.String)
                exprs.append(pl.when(col == "").then(None).otherwise(col).alias(c))
            else:
                exprs.append(pl.lit(None, dtype=pl.String).alias(c))
        if match.currency and self.smap.amount_columns:
            exprs = _in_currency(exprs, batch, match, self.smap.amount_columns)
        for c in self.smap.amount_columns:
            exprs.append(pl.lit(match.scales.get(c, 1.0), dtype=pl.Float64).alias(f"{c}__scale"))
        exprs += [
            pl.lit(self.smap.source, dtype=pl.String).alias("source"),
            pl.lit(self.delivery_date, dtype=pl.String).alias("delivery_date"),
            pl.lit(file_name, dtype=pl.String).alias("file_name"),
            pl.col("_row_no").cast(pl.Int32).alias("row_no"),
            pl.col("_err").cast(pl.String).alias("read_error"),
        ]
        table = batch.select(exprs).to_arrow(compat_level=pl.CompatLevel.newest()).cast(self._view_schema)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            self._flush()
        return counts

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
        self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        """Finish the file (an empty one with the schema when nothing was written) and move it in place."""
        self._flush()
        self._writer.close()
        self._tmp.replace(self.out)

    def abort(self) -> None:
        self._pending = []
        try:
            self._writer.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

