"""Record tables of household pages rendered in SQL: each value escaped exactly as Jinja would, in one DuckDB pass."""

from __future__ import annotations

from markupsafe import escape

from hedui.steps.report.display import HIDDEN_COLUMNS, METHOD_ZH, display_select


def _sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"))


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT"}


class _Text(str):
    """Literal text among the pieces of `_sql_concat` (SQL expressions are plain strings)."""


def _sql_concat(*pieces: str) -> str:
    """SQL concatenating the pieces in one concat() call, adjacent literal texts merged."""
    merged: list[str] = []
    for piece in pieces:
        if isinstance(piece, _Text) and merged and isinstance(merged[-1], _Text):
            merged[-1] = _Text(merged[-1] + piece)
        else:
            merged.append(piece)
    return "concat(" + ", ".join(_sql_str(p) if isinstance(p, _Text) else p for p in merged) + ")"


def _sql_escape(expr: str) -> str:
    """SQL for markupsafe.escape of a VARCHAR expression (the five characters Jinja's autoescape
    changes); a value without any of them, nearly every one, is passed on after five quick scans."""
    replaced = expr
    for char, entity in _ESCAPES:
        replaced = f"replace({replaced}, {_sql_str(char)}, {_sql_str(entity)})"
    guard = " or ".join(f"contains({expr}, {_sql_str(char)})" for char, _ in _ESCAPES)
    return f"case when {guard} then {replaced} else {expr} end"


def _sql_case(expr: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"when {_sql_str(k)} then {_sql_str(v)}" for k, v in mapping.items())
    return f"case {expr} {whens} else {default} end"


def _sql_jinja_text(expr: str, duck_type: str) -> str:
    """SQL for `{{ value }}` of a column: its text escaped, `None` for NULL as Jinja prints it."""
    t = duck_type.upper()
    text = f"cast({expr} as varchar)"
    if t not in _INTEGER_TYPES:  # digits need no escaping
        text = _sql_escape(expr if t == "VARCHAR" else text)
    return f"coalesce({text}, 'None')"


def _sql_display(expr: str, duck_type: str, kind: str) -> str:
    """SQL for the escaped text of `display_value(kind, value)` of a column of DuckDB type `duck_type`."""
    t = duck_type.upper()
    if t == "VARCHAR":
        return f"case when {expr} is null or {expr} = '' then '—' else {_sql_escape(expr)} end"
    if t in ("DOUBLE", "FLOAT", "REAL"):
        return f"case when {expr} is null then '—' else format('{{:,.2f}}', {expr}) end"
    if t == "DATE" or t.startswith("TIMESTAMP"):
        fmt = "%Y-%m" if kind == "month" else "%Y-%m-%d"
        # Python's strftime writes a year before 1000 without leading zeros
        return (f"case when {expr} is null then '—' when year({expr}) < 1000 then "
                f"cast(year({expr}) as varchar) || strftime({expr}, {_sql_str(fmt[2:])}) "
                f"else strftime({expr}, {_sql_str(fmt)}) end")
    if t == "BOOLEAN":
        return f"case when {expr} is null then '—' when {expr} then 'True' else 'False' end"
    if t in _INTEGER_TYPES:
        return f"case when {expr} is null then '—' else cast({expr} as varchar) end"
    return f"case when {expr} is null then '—' else {_sql_escape(f'cast({expr} as varchar)')} end"


def _record_sql(con, source: str, smap) -> tuple[str, str]:
    """One source's cited records of the batched households: the SELECT that exports them (typed
    columns, as stored), and the SQL that makes each of them a row of HTML (over alias `d`).

    A row is what household.html printed for one record: `<tr>` of the displayed fields, then
    the citation cell; DuckDB builds it column-wise, in the export of the page data (pages._export_parts).
    """
    kinds = {c.column: c.type for c in smap.columns}
    select = display_select(smap, hide=HIDDEN_COLUMNS)
    lineage = ["file_name", "row_no", "delivery_date"]
    types = con.sql(f"describe select t.file_name, t.row_no, t.delivery_date, {select} "
                    f"from stg_{source} as t").fetchall()
    typed = {name: type_ for name, type_, *_ in types[:len(lineage)]}
    cells = []
    for name, type_, *_ in types[len(lineage):]:
        cells += [_Text("<td>"), _sql_display(f"d.{name}", type_, kinds.get(name, "")), _Text("</td>")]
    method_zh = " ".join(f"when {_sql_str(k)} then {_sql_str(escape(v))}" for k, v in METHOD_ZH.items())
    method_zh = f"case d.method {method_zh} else {_sql_jinja_text('d.method', 'VARCHAR')} end"
    html = _sql_concat(
        _Text("\n<tr>"), *cells, _Text('\n<td class="cite">交付 '),
        _sql_jinja_text("d.delivery_date", typed["delivery_date"]), _Text("，"),
        _sql_jinja_text("d.file_name", typed["file_name"]), _Text(" 第 "),
        _sql_jinja_text("d.row_no", typed["row_no"]), _Text(" 行，"), method_zh,
        "case when d.match_weight is null then '' else concat('（权重 ', printf('%.2f', d.match_weight), '）') end",
        _Text("</td></tr>\n"))
    export = (
        f"select b.batch, b.hh, l.member_id, l.method, l.match_weight, t.file_name, t.row_no, t.delivery_date, "
        f"{select} from links as l join stg_{source} as t on t.record_id = l.record_id "
        f"join _report_batch as b on b.request_id = l.request_id "
        f"where l.run_date = $run_date and l.source = {_sql_str(source)} and t.run_date = $run_date")
    return export, html


def _record_groups(sources: list[str]) -> tuple[list[tuple[str, int, int]], dict[int, tuple[str, str]]]:
    """(source, group, order) per source and, per group, the HTML before and after its `<th>` count.

    A page groups a member's records by the source's Chinese title (sources sharing a title share a
    table, headed by the first source's columns), in the order of `sources()`.
    """
    from connectors import load_map

    plan, heads, first = [], {}, {}
    for order, source in enumerate(sources):
        smap = load_map(source)
        group = first.setdefault(smap.title_zh, order)
        plan.append((source, group, order))
        if group == order:
            headers = [c.header for c in smap.columns if c.column not in HIDDEN_COLUMNS]
            ths = "".join(f"<th>{escape(h)}</th>" for h in headers)
            heads[group] = (f'\n<table>\n<thead><tr><th colspan="{len(headers) + 1}">{escape(smap.title_zh)}（',
                            f" 条）</th></tr>\n<tr>{ths}<th>来源</th></tr></thead>\n")
    return plan, heads
