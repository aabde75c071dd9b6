"""Values staging reads but cannot take with certainty: checks added to parsed.sql's value checks.

- A month written ``2026.1`` in a file whose months are numbers with a point: Excel turns the text ``2026.10`` into
  the number 2026.1, so where the same file's column shows ``2026.11`` / ``2026.12`` or zero-padded months
  (``2026.01``) but no ``….10``, a ``….1`` may be January or October (an October row then looked like a copy of
  January's and was dropped as a duplicate: a wage month lost).  Such rows are quarantined naming the value; a file
  that writes ``2026.1 … 2026.9`` (no ``.11``, ``.12``, ``.0x``) or also writes ``….10`` is read as it says
  (:func:`ambiguous_month_keys`, bound as ``$ambiguous_months``).
- A 5-digit number that starts like a year (``19xxx``, ``20xxx``: ``20261`` is 2026-1… cut short) in a date or month
  column: read as an Excel serial day it is a day in 1952–1957 (an account's newer answer then looked 70 years old
  and was dropped for an older one).  In a CSV (or a Parquet file, an exchange table) such a value is no date for
  certain and the row is quarantined naming it; in a workbook too, naming the cell's row and column: a cell with a
  date format comes here as the date it shows, so the number is one the sheet shows as a number (20261), no date.  Serials of the dates a CSV exported from a sheet holds (``46298`` is 2026-10-04) stay read, as
  test_contract_traps11 pins.
- A month cell holding a period over several months (``202601-202603``): no month (``hd_month``), and the reason says
  it spans months — how its amount spreads over them is not known (:func:`value_reason`).
- An ID cell holding an ID among other words (``代理人360102…``) or two IDs (a joint account): whose record it is is
  not known, the row is quarantined naming it masked (:func:`id_checks`); quarantine_links.sql names each member
  whose ID stands in it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from connectors.maps import ColumnSpec, SourceMap
from hedui.steps.stage_db import arrow_of, load_macros

#: a month written with a point, as Excel writes a number (cells are matched trimmed: cheap on every row, and a
#: number Excel wrote has no full-width digit or space inside)
_DOTTED = r"[1-9][0-9]{3}\.[0-9]{1,2}"
#: a serial day number that is a year and a digit as well (1952–1957 as a serial)
_SERIAL_YEARLIKE = r"(19|20)[0-9]{3}(\.[0-9]+)?"
#: a foreign currency's sign, code or name in an amount cell (upper-cased): its amount is no yuan
#: an amount written in Chinese numerals (贰万伍仟元整 as a cheque's 大写, 二万五千元): no digits to read
HANZI_AMOUNT = r"^[^0-9]*[零壹贰貳叁參肆伍陆陸柒捌玖拾佰仟一二三四五六七八九十百千两]+[万萬亿億]?[元圆圓万萬]"
#: an approximate amount (约25000, 25000左右, 2万多, 25000余元, 25000以上): a bound or a guess, no amount to weigh
ROUGH_AMOUNT = r"^(约|大约|大概|约计|近|将近|估计|预计|估)|左右|上下$|[0-9万千百](余|多)([万千百元]|$)|以上|以下|不到|不足|开外"
FOREIGN_AMOUNT = r"\$|US\$|USD|HKD|EUR|JPY|GBP|美元|美金|港元|港币|港幣|澳门元|澳元|欧元|日元|英镑|€|£"


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ambiguous_month_keys(con: duckdb.DuckDBPyConnection, raw_parquet: Path, smap: SourceMap) -> list[str]:
    """``'<column>|<file_name>'`` for each month column and file of the raw rows where a month ``YYYY.1`` may be
    ``YYYY.10`` shortened by Excel: the column holds no ``YYYY.10``, and it holds ``YYYY.11``/``YYYY.12`` or
    ``YYYY.0M``, or two rows alike but for nothing at all under a ``YYYY.1`` (a file of January to October: its
    October row, shortened, would be dropped as a copy of January's)."""
    keys: list[str] = []
    others = ", ".join(_q(c) for c in smap.canonical_columns)
    for spec in smap.columns:
        if spec.type != "month":
            continue
        col = _q(spec.column)
        rows = con.execute(
            f"""with dotted as (
                    select file_name, trim({col}) as v, {others} from read_parquet($raw)
                    where contains({col}, '.') and regexp_full_match(trim({col}), '{_DOTTED}')),
                repeated as (
                    select file_name from dotted where regexp_full_match(v, '[0-9]{{4}}\\.1')
                    group by file_name, v, {others} having count(*) > 1)
                select file_name from dotted
                group by file_name
                having bool_or(regexp_full_match(v, '[0-9]{{4}}\\.1'))
                   and not bool_or(regexp_full_match(v, '[0-9]{{4}}\\.10'))
                   and (bool_or(regexp_full_match(v, '[0-9]{{4}}\\.(0[1-9]|1[12])'))
                        or file_name in (select file_name from repeated))""",
            {"raw": str(raw_parquet)},
        ).fetchall()
        keys += [f"{spec.column}|{file_name}" for (file_name,) in rows]
    return keys


def uncertain_checks(spec: ColumnSpec, col: str, value: str, conditions: list[str], checks: list[str]) -> None:
    """Add to ``conditions`` and ``checks`` (parsed.sql's ``any_problem`` and ``value_checks`` slots) the SQL that
    finds a date or month column's values that parse (``value`` not null) but are no date for certain (see the
    module docstring)."""
    if spec.type not in ("date", "month"):
        return
    header = spec.header.replace("'", "''")
    text = f"trim({col})"
    # a serial day of 19000–20999 is in 1952–1957: the date compared first, the text matched only on such rows
    serial = (f"({value} is not null and {value} < date '1958-01-01' "
              f"and regexp_full_match({text}, '{_SERIAL_YEARLIKE}'))")
    # a workbook's cell with a date format is read as the date it shows (connectors.sheets): what comes here as the
    # number is a cell the sheet shows as the number
    xlsx = "regexp_matches(lower(file_name), '\\.xlsx$')"
    serial_reason = (f"'\"{header}\"值\"' || {col} || '\"' || case when {xlsx} then '（工作簿第' || row_no || "
                     f"'行“{header}”列的单元格，没有日期格式）' else '' end || '是5位数字：像是写了一半的年月（如2026年1月…），"
                     f"当作Excel日期序号则是1952—1957年间的某天，' || case when {xlsx} then '无法确定是哪一天；"
                     f"请部门将该单元格设为日期格式或按年月日（如2026-11-28）填写后重新交付' else '在CSV等文本文件中无法确定是哪一天；"
                     f"请部门按年月日（如2026-11-28）填写后重新交付' end")
    conditions.append(serial)
    checks.append(f"case when {serial} then {{'column_name': {_lit(spec.column)}, 'value_masked': {col}, "
                  f"'rule': 'bad_{spec.type}', 'reason': {serial_reason}}} end")
    if spec.type == "month":
        dotted = (f"({value} is not null and month({value}) = 1 and regexp_full_match({text}, '[0-9]{{4}}\\.1') "
                  f"and list_contains("
                  f"cast($ambiguous_months as varchar[]), {_lit(spec.column + '|')} || file_name))")
        dotted_reason = (f"'\"{header}\"值\"' || {col} || '\"无法确定是1月还是10月：同一文件中的月份是带小数点的数字"
                         f"且没有一个写作.10，Excel会把“2026.10”存成“2026.1”（同一文件有.11、.12或.01，或有两行仅此月份相同）；"
                         f"请部门将月份列设为文本，按2026-01、2026-10这样填写后重新交付'")
        conditions.append(dotted)
        checks.append(f"case when {dotted} then {{'column_name': {_lit(spec.column)}, 'value_masked': {col}, "
                      f"'rule': 'bad_month', 'reason': {dotted_reason}}} end")


def value_reason(spec: ColumnSpec, col: str, kind: str) -> str:
    """The SQL of the reason a date, month, amount or number value is quarantined for: it cannot be read as ``kind``
    (日期, 月份 …); for a month column's period over several months, that it is one (test_contract_traps24 TF01)."""
    header = spec.header.replace("'", "''")
    reason = f"'\"{header}\"值\"' || {col} || '\"无法识别为{kind}'"
    if spec.type == "amount":  # $1,234, USD 1234, 1234美元: no yuan (test_contract_traps25 TT03)
        return (f"case when regexp_matches(upper(hd_fold({col})), '{FOREIGN_AMOUNT}') then '\"{header}\"值\"' || {col} || "
                f"'\"是外币金额，不能当作人民币元计入，该行未计入；请部门折算为人民币元后重新交付' "
                # 约25000, 2万多 (test_contract_traps27 BC07)
                f"when regexp_matches(hd_remove_ws({col}), '{ROUGH_AMOUNT}') then '\"{header}\"值\"' || {col} || "
                f"'\"是约数，不是确切的金额，该行未计入；请部门填写确切金额（如25000.00）后重新交付' "
                # 贰万伍仟元整 (test_contract_traps26 AY08)
                f"when regexp_matches(hd_remove_ws({col}), '{HANZI_AMOUNT}') then '\"{header}\"值\"' || {col} || "
                f"'\"是用汉字写的金额，没有可读的数字，该行未计入；请部门改用阿拉伯数字（如25000.00）填写后重新交付' "
                f"else {reason} end")
    if spec.type not in ("date", "month"):
        return reason
    # 03/04/2026: March 4 or April 3 (test_contract_traps25 TT05)
    # … or a weekday that is not the date's (test_contract_traps26 AY04), a remark in brackets not known to be harmless
    # or a period 1-4 of a year, a quarter or a month (test_contract_traps27 BC01, BC02)
    reason = (f"coalesce('\"{header}\"值\"' || {col} || '\"' || list_transform([hd_date_text({col})], lambda dtx: "
              f"coalesce(hd_day_month_doubt(dtx), hd_weekday_doubt(dtx), hd_remark_doubt(dtx), hd_issue_doubt(dtx)))[1], "
              f"{reason})")
    if spec.type != "month":
        return reason
    return (f"case when hd_month_span({col}) then '\"{header}\"值\"' || {col} || '\"是跨越多个月的期间，不是一个月份"
            f"（每行应为一个月的数额）：无法确定各月的数额，该行未计入；请部门按月拆分后重新交付' else {reason} end")


def id_checks(spec: ColumnSpec, col: str, conditions: list[str], checks: list[str]) -> None:
    """Add the check of an ID column holding an ID among other words or two IDs (rule ``bad_id``, the value masked;
    test_contract_traps24 TF08).  Only a cell longer than an ID with the spaces around it taken off is looked into
    (cheap on every row: 1.5 % of the generated world's IDs have spaces around them)."""
    if spec.type != "id":
        return
    embedded = (f"(length({col}) > 18 and length(trim({col})) > 18 and regexp_matches({col}, '[0-9]{{17}}[0-9Xx]') "
                f"and hd_id_embedded(hd_id_clean({col})))")
    header = spec.header.replace("'", "''")
    why = (f"'\"{header}\"值\"' || hd_mask_id({col}) || '\"中除身份证号外还有其他内容（或不止一个号码），无法确定"
           f"该行是谁的记录，未计入；请部门在该列只填写一个身份证号后重新交付'")
    conditions.append(embedded)
    checks.append(f"case when {embedded} then {{'column_name': {_lit(spec.column)}, 'value_masked': "
                  f"hd_mask_id({col}), 'rule': 'bad_id', 'reason': {why}}} end")


#: DuckDB's common-subexpression optimizer computes an expression that occurs twice in a projection once, ahead of
#: it, for every row: a check's condition (in the guard ``any_problem`` and again in the check) then lost the laziness
#: of its CASE and AND — the bad_id check cleaned every ID with a space around it, the month checks ran their regexes
#: on every month although the guard's cheap terms were false.  Off while a source stages: split.sql 20–30 % less
#: CPU on the largest sources (BENCHMARKS.md, session 24); the results are the same (an optimizer, not a rule).
EAGER_OPTIMIZER = "common_subexpressions"



def lazy_checks(con: duckdb.DuckDBPyConnection):
    """Disable :data:`EAGER_OPTIMIZER` on ``con``'s database (the setting is global to it); return the function that
    puts the prior setting back."""
    prior = con.sql("select current_setting('disabled_optimizers')").fetchall()[0][0] or ""
    names = [n.strip() for n in prior.split(",") if n.strip()]
    if EAGER_OPTIMIZER not in names:
        con.execute("set disabled_optimizers = " + _lit(",".join([*names, EAGER_OPTIMIZER])))
    return lambda: con.execute("set disabled_optimizers = " + _lit(prior))


#: a month column with at most this many distinct values in the raw file is parsed once per distinct value
#: (:func:`month_lookups`); one with more (no delivery of months should have them) by ``hd_month`` on every row
MONTH_LOOKUP_MAX = 2000
#: the ENUM types of :func:`month_lookups`, ``<prefix><i>`` for the i-th month column
MONTH_TYPE = "_hd_month_"
#: a date column with at most this many distinct values in the raw file is parsed once per distinct value too
#: (:func:`month_lookups`: bank's query date, 5 cells ``2026/11/26`` off ``hd_date``'s fast path on 260,000 rows);
#: one with more (birth dates) by ``hd_date`` on every row
DATE_LOOKUP_MAX = 2000
#: the ENUM types of the date lookups, ``<prefix><i>`` for the i-th date column
DATE_TYPE = "_hd_date_"
#: the days since 1970-01-01 of 0001-01-01 and 9999-12-31: a looked-up date is written as a Python date literal
_PY_DAYS = (-719162, 2932896)


def enum_lookup(con: duckdb.DuckDBPyConnection, type_name: str, cells: pa.Table, value_sql: str,
                accept: Callable[[pa.Table], bool], literal: Callable[[object], str], element_type: str) -> str | None:
    """The SQL (of ``{col}``, a raw cell) of a value per distinct cell by a lookup, as :func:`month_lookups` and
    :func:`hedui.steps.dupkeys.id_lookups` make it: ``value_sql`` (a SELECT of ``v`` and its ``value`` from
    ``_hd_lookup_cells``, the distinct cells ``cells.v`` registered under that name) is run once; the cells become the
    values of a temp ENUM ``type_name`` (the caller drops it with the source's other types) and a row's value is the
    list element at its cell's ENUM code (a hash look-up per row).  None, and no type made, when ``accept`` (given
    ``value_sql``'s result) says no.  ``literal`` writes a value (not None) into the list of ``element_type``."""
    con.execute(f"drop type if exists {type_name}")
    con.register("_hd_lookup_cells", cells)
    try:
        parsed = arrow_of(con, value_sql)  # bound once (hd_date, hd_month)
        if not accept(parsed):
            return None
        con.execute(f"create temp type {type_name} as enum (select v from _hd_lookup_cells)")
    finally:
        con.unregister("_hd_lookup_cells")
    value_of = dict(zip(parsed.column("v").to_pylist(), parsed.column("value").to_pylist(), strict=True))
    (order,), = con.sql(f"select enum_range(null::{type_name})").fetchall()
    listed = ", ".join("null" if value_of[v] is None else literal(value_of[v]) for v in order)
    return (f"list_extract([{listed}]::{element_type}[], "
            f"cast(enum_code(cast({{col}} as {type_name})) as integer) + 1)")


def month_lookups(con: duckdb.DuckDBPyConnection, raw_parquet: Path, smap: SourceMap) -> dict[str, str]:
    """Month (and date) column → the SQL (a ``{col}``-free expression of the raw cell) that gives ``hd_month`` of its cell
    from a lookup (:func:`enum_lookup`): ``hd_month`` is run once per distinct cell of the raw file (a monthly source
    has a few dozen in millions of rows: ``2025-11`` on 100,000 rows), the cells are made the values of a temp ENUM
    ``_hd_month_<i>`` (dropped with the source's other types) and each row's month is the list element at its
    cell's ENUM code.  The same value as ``hd_month`` on the row, for ≈ a fifth of its CPU (a cast to an
    ENUM is one hash look-up; ``hd_month``'s fast path is two regular expressions and a date cast).  Made
    for the month columns with 1 to :data:`MONTH_LOOKUP_MAX` distinct cells (the others: absent, so
    ``hd_month`` per row).  Every cell of the raw file is a value of its ENUM: the staging SQL reads only
    that file's rows.  When every cell is on ``hd_month``'s fast paths (``hd_month_is_fast``: 2025-11, 202511),
    ``hd_month_fast`` gives their values, the same (test_contract_stagesplit BZ01), and ``hd_month`` is not
    bound (its slow path costs ≈ 0.25 CPU-s to bind, for 30 cells).  A date column with 1 to
    :data:`DATE_LOOKUP_MAX` distinct cells is looked up the same way by ``hd_date`` (ENUM ``_hd_date_<i>``), when
    every value is a date of years 1–9999 (:func:`_python_dates`); by ``hd_date_fast`` when every cell is on
    ``hd_date``'s fast paths (:func:`_date_macro`), as the months' by ``hd_month_fast``."""
    out: dict[str, str] = {}
    for i, spec in enumerate(s for s in smap.columns if s.type == "month"):
        col, type_name = _q(spec.column), f"{MONTH_TYPE}{i}"
        con.execute(f"drop type if exists {type_name}")
        cells = _distinct_cells(con, raw_parquet, col, MONTH_LOOKUP_MAX)
        if cells is None:
            continue
        load_macros(con, "hd_month_is_fast() hd_month_fast()")  # small: binding them is cheap
        con.register("_hd_lookup_cells", cells)
        try:  # every cell on hd_month's fast paths (one statement, no bind of its slow path: BZ01, BZ02)
            (fast,), = con.sql("select bool_and(hd_month_is_fast(v)) from _hd_lookup_cells").fetchall()
        finally:
            con.unregister("_hd_lookup_cells")
        month = "hd_month_fast" if fast else "hd_month"
        lookup = enum_lookup(  # not hd_month's type: per row, as before
            con, type_name, cells, f"select v, {month}(v) as value from _hd_lookup_cells",
            lambda parsed: pa.types.is_date32(parsed.schema.field("value").type),
            lambda day: f"date '{day.isoformat()}'", "date")
        if lookup is not None:
            out[spec.column] = lookup
    for i, spec in enumerate(s for s in smap.columns if s.type == "date"):  # CE01, CE02, CG06, CG07
        col, type_name = _q(spec.column), f"{DATE_TYPE}{i}"
        con.execute(f"drop type if exists {type_name}")
        cells = _distinct_cells(con, raw_parquet, col, DATE_LOOKUP_MAX)
        if cells is None:
            continue
        value_sql = f"select v, {_date_macro(con, cells)}(v) as value from _hd_lookup_cells"
        lookup = enum_lookup(con, type_name, cells, value_sql, _python_dates, lambda day: f"date '{day.isoformat()}'",
                             "date")
        if lookup is not None:
            out[spec.column] = lookup
    return out


def _date_macro(con: duckdb.DuckDBPyConnection, cells: pa.Table) -> str:
    """``hd_date_fast`` when every one of ``cells.v`` is on ``hd_date``'s fast paths (``hd_date_is_fast``: the
    same value, test_contract_stagephase CG06; ``hd_date`` not bound: ≈ 0.1 CPU-s a column), else ``hd_date``."""
    load_macros(con, "hd_date_is_fast() hd_date_fast()")  # small: binding them is cheap
    con.register("_hd_lookup_cells", cells)
    try:
        (fast,), = con.sql("select bool_and(hd_date_is_fast(v)) from _hd_lookup_cells").fetchall()
    finally:
        con.unregister("_hd_lookup_cells")
    return "hd_date_fast" if fast else "hd_date"


def _distinct_cells(con: duckdb.DuckDBPyConnection, raw_parquet: Path, col: str, most: int) -> pa.Table | None:
    """The distinct non-empty cells (column ``v``) of the raw file's quoted column ``col``, or None when there are
    none or more than ``most`` (no lookup: the macro per row)."""
    cells = con.sql(f"select distinct {col} as v from read_parquet($raw) where {col} is not null limit {most + 1}",
                    params={"raw": str(raw_parquet)}).to_arrow_table()
    return cells if 0 < cells.num_rows <= most else None


def lookup_types(smap: SourceMap) -> list[str]:
    """The ENUM types :func:`month_lookups` may make for ``smap`` (dropped when the source is staged)."""
    return ([f"{MONTH_TYPE}{i}" for i in range(sum(s.type == "month" for s in smap.columns))]
            + [f"{DATE_TYPE}{i}" for i in range(sum(s.type == "date" for s in smap.columns))])


def _python_dates(parsed: pa.Table) -> bool:
    """The lookup's values are dates Python can hold (years 1–9999), else no lookup (``hd_date`` per row)."""
    if not pa.types.is_date32(parsed.schema.field("value").type):
        return False
    days = parsed.column("value").cast(pa.int32()).drop_null()
    return len(days) == 0 or (_PY_DAYS[0] <= pc.min(days).as_py() and pc.max(days).as_py() <= _PY_DAYS[1])
