"""Record tables of household pages rendered in SQL: each value escaped exactly as Jinja would, in one DuckDB pass."""

from __future__ import annotations

import datetime as dt

from markupsafe import escape

from hedui.steps.report.display import (
    BIDI_CONTROLS,
    CHANGE_KIND_ZH,
    HIDDEN_COLUMNS,
    METHOD_ZH,
    display_select,
)


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
    changes), a bidirectional control shown as its code point (display._escape); a value without any of
    them, nearly every one, is passed on after one scan (a character class: one regex instead of a regex
    for the controls and five `contains`)."""
    replaced = expr
    for char, entity in _ESCAPES:
        replaced = f"replace({replaced}, {_sql_str(char)}, {_sql_str(entity)})"
    # a bidirectional control would turn the text after it around; its label ("[U+202E]") has nothing to escape
    for char in BIDI_CONTROLS:
        replaced = f"replace({replaced}, {_sql_str(char)}, {_sql_str(f'[U+{ord(char):04X}]')})"
    return f"case when regexp_matches({expr}, {_sql_str(_NEEDS_ESCAPE)}) then {replaced} else {expr} end"


#: a character class of what `_sql_escape` changes: the five characters and the bidirectional controls
_NEEDS_ESCAPE = "[&<>\"'" + BIDI_CONTROLS + "]"


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


def _record_sql(con, source: str, smap) -> tuple[str, str, str]:
    """One source's cited records of the batched households: the SELECT that exports them (typed
    columns, as stored), the SQL that makes each of them a row of HTML (over alias `d`, and `f._cite` of
    `ranked_records`), and the SQL of a citation's head (`交付 date，file 第 `) over alias `c`.

    A row is what household.html printed for one record: `<tr>` of the displayed fields, then
    the citation cell; DuckDB builds it column-wise, in the export of the page data (pages._export_parts).
    The citation's head is made once per file and delivery date (`ranked_records`' `f._cite`), not per
    record: a record with no file name (no `f` row) makes its own.
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
        _Text("\n<tr>"), *cells, f"coalesce(f._cite, {_cite_head('d', typed)})",
        _sql_jinja_text("d.row_no", typed["row_no"]), _Text(" 行，"), method_zh,
        "case when d.match_weight is null then '' else concat('（权重 ', printf('%.2f', d.match_weight), '）') end",
        _Text("</td></tr>\n"))
    export = (
        f"select b.batch, b.hh, l.member_id, l.method, l.match_weight, t.file_name, t.row_no, t.delivery_date, "
        f"{select} from links as l join stg_{source} as t on t.record_id = l.record_id "
        f"join _report_batch as b on b.request_id = l.request_id "
        f"where l.run_date = $run_date and l.source = {_sql_str(source)} and t.run_date = $run_date")
    return export, html, _cite_head("c", typed)


def _cite_head(alias: str, typed: dict[str, str]) -> str:
    """SQL of the head of a record's citation cell over `alias`'s delivery_date and file_name (DuckDB types
    `typed`): `<td class="cite">交付 {{ delivery_date }}，{{ file_name }} 第 `, escaped as Jinja would."""
    return _sql_concat(
        _Text('\n<td class="cite">交付 '), _sql_jinja_text(f"{alias}.delivery_date", typed["delivery_date"]),
        _Text("，"), _sql_jinja_text(f"{alias}.file_name", typed["file_name"]), _Text(" 第 "))


RANK_LAST = 2**62  # `_m` or `_f` of a NULL member ID or file name: after every rank, as DuckDB orders a NULL

#: the batched households' linked member IDs, each with its rank among them (`_m`, dense, in the IDs' order)
MEMBER_RANKS_SQL = (
    "create or replace temp table _report_member as "
    "select member_id, dense_rank() over (order by member_id) as _m from (select distinct l.member_id "
    "from links l join _report_batch b using (request_id) where l.run_date = $run_date and l.member_id is not null)")


def ranked_records(source: str, export: str, row_html: str, cite: str) -> str:
    """The export of one source's records' rows of HTML (`_record_sql`'s three parts), with `_m` and `_f`: the
    member's ID and the file's name as their ranks (dense, in their text's order, NULL last as DuckDB orders
    it), so that a page worker sorts a batch's rows by integers (`_member_records`), not by their texts.

    `f` holds one row per file name and delivery date of the source's records in the run, with the file's
    rank and the citation's head (`_cite`, escaped once there rather than once per record)."""
    return (f"select d.batch, d.hh, d.member_id, coalesce(m._m, {RANK_LAST}) as _m, "
            f"coalesce(f._f, {RANK_LAST}) as _f, d.row_no, {row_html} as html "
            f"from ({export}) as d left join _report_member m on m.member_id = d.member_id "
            f"left join (select c.file_name, c.delivery_date, dense_rank() over (order by c.file_name) as _f, "
            f"{cite} as _cite from (select distinct file_name, delivery_date "
            f"from stg_{source} where run_date = $run_date and file_name is not null) as c) f "
            "on f.file_name = d.file_name and f.delivery_date is not distinct from d.delivery_date")


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
            heads[group] = (f'\n<table class="records">\n<thead><tr><th colspan="{len(headers) + 1}">{escape(smap.title_zh)}（',
                            f" 条）</th></tr>\n<tr>{ths}<th>来源</th></tr></thead>\n")
    return plan, heads


def _member_records(con, selects: list[str], heads: dict[int, tuple[str, str]]) -> dict[tuple, tuple[bytes, int]]:
    """{(hh, member_id): (the member's record tables in UTF-8, records cited)}.

    DuckDB sorts the records' rows of HTML (made in the export) by household, member, group, source, file,
    row and then the row's HTML (a record linked twice to one member): the member and the file by their ranks
    (`_m`, `_f`, made in the export), integers, and the HTML only where the keys before it tie (`_ties_by_html`),
    which costs less than sorting by the texts;
    a table is then one slice of the sorted rows' UTF-8 buffer between its `heads` (the Arrow offsets
    say where each row starts), with no Python string per record and no ordered aggregate. Where a member
    and a table start is found column-wise (Arrow compares each row's keys with the row before), so that
    Python steps once per table, not once per record. The tables are joined as bytes, never decoded: the
    bytes go to the page digest and into the page (fastpage) as they are.
    """
    import numpy as np

    table = con.sql(f"select hh, member_id, grp, html, _m, src_ord, _f, row_no from ({' union all '.join(selects)}) "
                    "order by hh, _m, grp, src_ord, _f, row_no").to_arrow_table()
    n = table.num_rows
    if not n:
        return {}
    html = table.column("html").combine_chunks()
    _, offsets_buf, data_buf = html.buffers()
    wide = html.type == "large_string"
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if wide else np.int32, count=n + 1,
                            offset=html.offset * (8 if wide else 4))
    data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
    hh, member, grp = (table.column(c).combine_chunks() for c in ("hh", "member_id", "grp"))
    tie = _differs(hh)  # per row but the first: whether all its keys equal the row before's
    for c in ("_m", "src_ord", "_f", "row_no"):
        tie |= _differs(table.column(c).combine_chunks())
    np.logical_not(tie, out=tie)
    if tie.any():
        data = _ties_by_html(data, offsets, tie)
    new_member = np.ones(n, dtype=bool)
    new_member[1:] = _differs(hh) | _differs(member)
    new_table = new_member.copy()
    new_table[1:] |= _differs(grp)
    starts = np.flatnonzero(new_table)  # each table's first row
    ends = np.append(starts[1:], n)
    member_rows = np.flatnonzero(new_member)
    # the keys read at the rows where a member or a table starts only, not a Python object per record
    keys = zip(_values_at(hh, member_rows), _values_at(member, member_rows), strict=True)
    utf8 = {g: (pre.encode("utf-8"), post.encode("utf-8")) for g, (pre, post) in heads.items()}
    out: dict[tuple, tuple[bytes, int]] = {}
    pieces: list = []
    first, key = 0, None
    for is_new, a, b, o, p, g in zip(new_member[starts].tolist(), starts.tolist(), ends.tolist(),
                                     offsets[starts].tolist(), offsets[ends].tolist(), _values_at(grp, starts),
                                     strict=True):
        if is_new:
            if pieces:
                out[key] = (b"".join(pieces), a - first)
            key, pieces, first = next(keys), [], a
        pre, post = utf8[g]
        pieces += (pre, b"%d" % (b - a), post, data[o:p], b"\n</table>\n")
    out[key] = (b"".join(pieces), n - first)
    return out


def _ties_by_html(data: memoryview, offsets, tie) -> memoryview:
    """`data` (the sorted rows' HTML, row i at offsets[i]:offsets[i + 1]) with each run of rows whose keys tie
    (`tie[i]`: row i + 1's keys equal row i's) in the order of their HTML's bytes, as DuckDB orders a VARCHAR
    (a run keeps its place and length: a table's bounds never fall inside it, its rows are of one member,
    group and source)."""
    import numpy as np

    edges = np.diff(np.concatenate(([False], tie, [False])).astype(np.int8))
    fixed = bytearray(data)
    for first, last in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True):
        rows = sorted(bytes(data[offsets[i]:offsets[i + 1]]) for i in range(first, last + 1))
        fixed[offsets[first]:offsets[last + 1]] = b"".join(rows)
    return memoryview(fixed)


_INTS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}


_EPOCH = dt.date(1970, 1, 1)


def day_values(column) -> list:
    """`column.to_pylist()` of a date32 column: each distinct day made a `datetime.date` once (Arrow makes one
    per row: most of a members' part's conversion, which holds few distinct authorization dates), NULL as None."""
    import numpy as np

    column = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n, delta = len(column), dt.timedelta
    days = np.frombuffer(column.buffers()[1], dtype=np.int32, count=n, offset=column.offset * 4).tolist()
    made: dict[int, dt.date] = {}
    if not column.null_count:
        return [made.get(d) or made.setdefault(d, _EPOCH + delta(days=d)) for d in days]
    valid = np.unpackbits(np.frombuffer(column.buffers()[0], dtype=np.uint8), bitorder="little")
    return [(made.get(d) or made.setdefault(d, _EPOCH + delta(days=d))) if ok else None  # a NULL's slot: any bits
            for d, ok in zip(days, valid[column.offset:column.offset + n].tolist(), strict=True)]


def _values_at(column, rows) -> list:
    """`column.to_pylist()[i] for i in rows` (`rows`: ascending numpy indices), read from the Arrow buffers
    where it can (integers, texts, no NULLs), without a Python object for every other row."""
    import numpy as np

    n, kind = len(column), str(column.type)
    if not column.null_count and kind in _INTS:
        values = np.frombuffer(column.buffers()[1], dtype=kind, count=n, offset=column.offset * np.dtype(kind).itemsize)
        return values[rows].tolist()
    if not column.null_count and kind in ("string", "large_string"):
        wide = kind == "large_string"
        _, offsets, data = column.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32, count=n + 1,
                                offset=column.offset * (8 if wide else 4))
        view = memoryview(data) if data is not None else memoryview(b"")
        return [str(view[a:b], "utf-8") for a, b in zip(offsets[rows].tolist(), offsets[rows + 1].tolist(),
                                                          strict=True)]
    return [column[i].as_py() for i in rows.tolist()]


def _differs(column):
    """Per row but the first, whether its value differs from the row before's, as a numpy array read from
    the Arrow buffers (pyarrow's compute and to_numpy import pandas, a second of CPU in each page worker):
    integers, and texts all of one length (IDs), compared column-wise; anything else (NULLs) one by one."""
    import numpy as np

    n, kind = len(column), str(column.type)
    if not column.null_count and kind in _INTS:
        values = np.frombuffer(column.buffers()[1], dtype=kind, count=n, offset=column.offset * np.dtype(kind).itemsize)
        return values[1:] != values[:-1]
    if not column.null_count and kind in ("string", "large_string"):
        wide = kind == "large_string"
        _, offsets, data = column.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int64 if wide else np.int32, count=n + 1,
                                offset=column.offset * (8 if wide else 4))
        lengths = np.diff(offsets)
        width = int(lengths[0])
        if width and (lengths == width).all():
            rows = np.frombuffer(data, dtype=np.uint8, count=n * width, offset=int(offsets[0])).reshape(n, width)
            return (rows[1:] != rows[:-1]).any(axis=1)
    values = column.to_pylist()
    return np.fromiter((a != b for a, b in zip(values[1:], values[:-1], strict=True)), dtype=bool, count=n - 1)


#: each household's previous verification, with what could not be compared with it named (the page must not
#: say "no change" of a kind whose source was missing or failed either time, nor of a member not looked up, nor of
#: a member's kind one of whose records was quarantined either time),
#: and the policy version its outcome was weighed by (a new year's standard alone can change an outcome)
PREVIOUS_SQL = (
    "select b.batch, p.* exclude (kinds_not_compared, members_not_compared, kinds_held), "
    "ph.policy_id as previous_policy_id, ph.policy_source_zh as previous_policy_source_zh, "
    "array_to_string(list_transform(p.kinds_not_compared, lambda k: "
    f"{_sql_case('k', CHANGE_KIND_ZH, 'k')}), '、') as kinds_not_compared_zh, "
    "(select string_agg(m.name || '（' || coalesce(m.id_masked, '无可用身份证号') || '）', '、' order by m.row_no) "
    " from stg_requests m where m.run_date = $run_date and m.request_id = p.request_id "
    " and list_contains(p.members_not_compared, m.row_no)) as members_not_compared_zh, "
    # each member's kinds whose records were quarantined this time or last time (changes.sql compares them not)
    "(select string_agg(m.name || '的' || "
    f"{_sql_case('h.held.kind', CHANGE_KIND_ZH, 'h.held.kind')}, '、' order by m.row_no, h.held.kind) "
    " from unnest(p.kinds_held) as h(held) join stg_requests m on m.run_date = $run_date "
    " and m.request_id = p.request_id and m.row_no = h.held.row_no) as kinds_held_zh "
    "from previous_verification p join _report_batch b using (request_id) "
    "left join households ph on ph.run_date = p.previous_run_date and ph.request_id = p.previous_request_id "
    "where p.run_date = $run_date")
