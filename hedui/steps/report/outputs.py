"""Reports: outcomes.csv, reconciliation.csv, one HTML report per household, a batch summary.

Everything here is what staff read: Chinese, ID numbers masked (first 6 + last 4),
account numbers masked (last 4), every fact citing source, delivery date, file,
row and how it was linked.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from hedui import safe_csv
from hedui.ops.killpoint import kill_point
from hedui.paths import report_file_stem
from hedui.privacy.masking import mask_text
from hedui.resources import package_path

TEMPLATES = package_path("templates")
log = logging.getLogger(__name__)

OUTCOME_ZH = {
    "CLEAR": "未发现超出政策规定情形",
    "FINDINGS": "发现超出政策规定情形",
    "INCOMPLETE": "核对信息不完整，需人工复核",
}
FINDING_ZH = {
    "INCOME_OVER_STANDARD": "家庭月人均收入高于保障标准",
    "FINANCIAL_ASSETS_OVER_LIMIT": "家庭人均金融资产超过限额",
    "RESIDENTIAL_UNITS_OVER_LIMIT": "住宅套数超过规定",
    "NON_RESIDENTIAL_PROPERTY": "拥有非住宅类房产",
    "VEHICLE": "拥有非豁免机动车",
    "BUSINESS_ROLE": "在存续经营主体中任职或出资",
    "MEMBER_REGISTRATION_ENDED": "成员户籍已死亡、注销或迁出",
    "MEMBER_REGISTRATION_MISMATCH": "申报成员与户籍登记不符",
    "NO_AUTHORIZATION": "成员未签署授权书",
    "SOURCE_MISSING": "部门数据未交付",
    "SOURCE_FAILED": "部门数据未通过校验",
    "UNCONFIRMED_LINK": "所依据的记录为未确认的概率匹配",
    "RECORD_QUARANTINED": "涉及成员的记录被隔离，内容未能核对",
    "VALUE_UNKNOWN": "记录缺少核对所需的数值",
}
GAP_CODES = {"NO_AUTHORIZATION", "SOURCE_MISSING", "SOURCE_FAILED", "UNCONFIRMED_LINK", "RECORD_QUARANTINED",
             "VALUE_UNKNOWN"}
#: the gaps the section 待核实的信息 lists record by record (evidence_gaps.sql)
UNWEIGHED_CODES = ("UNCONFIRMED_LINK", "RECORD_QUARANTINED", "VALUE_UNKNOWN")
_DECISION_ZH = {"confirmed": "确认", "rejected": "否决", "deferred": "暂缓"}
METHOD_ZH = {"exact_id": "身份证号精确匹配", "probabilistic": "概率匹配"}
HIDDEN_COLUMNS = {"name", "id_number"}


CHANGE_KIND_ZH = {
    "vehicle": "车辆", "property": "房产", "business": "企业任职或出资", "employer": "工作单位",
    "registration": "户籍状态", "death": "死亡（殡葬记录）",
}
ALERT_KINDS = {"vehicle": "新增车辆", "property": "新增房产", "business": "新增企业任职",
               "employer": "新增工作单位", "registration": "户籍状态变更", "death": "死亡或火化"}


def _finding_diff(previous: dict | None, findings: str) -> dict:
    """Finding codes added and gone since the previous verification."""
    if not previous:
        return {"added": [], "removed": []}
    before = set(filter(None, (previous.get("previous_findings") or "").split(";")))
    after = set(filter(None, (findings or "").split(";")))
    return {"added": sorted(after - before), "removed": sorted(before - after)}


PDF_AUTO_LIMIT = 500


def pdf_wanted(n_households: int) -> bool:
    """HEDUI_REPORT_PDF: `all`, `none`, or `auto` (default: PDFs when the batch has ≤ 500 households;
    bigger batches get them on demand with `hedui pdf`, ~0.4 s a page)."""
    mode = os.environ.get("HEDUI_REPORT_PDF", "auto")
    return mode == "all" or (mode == "auto" and n_households <= PDF_AUTO_LIMIT)


def write_pdfs(report_dir: Path, request_ids: list[str]) -> int:
    """Print the household reports of `request_ids` to PDF beside their HTML."""
    return write_pdf_files(report_dir, [safe_name(r) for r in request_ids])


def write_pdf_files(report_dir: Path, stems: list[str]) -> int:
    """Print `households/<stem>.html` to `households/<stem>.pdf` for each stem."""
    from hedui.steps.report.pdf import to_pdf

    folder = report_dir / "households"
    return to_pdf((folder / f"{s}.html", folder / f"{s}.pdf") for s in stems)


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["yuan"] = lambda v: "—" if v is None else f"{v:,.2f}"
    from hedui.regions import region_label

    env.filters["region"] = region_label
    env.filters["cdate"] = chinese_date
    return env


def chinese_date(value) -> str:
    """2026年11月28日 from a date, datetime, ISO text or YYYYMMDD; '—' when empty."""
    if value is None or value == "":
        return "—"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    digits = text.replace("-", "")[:8]
    if len(digits) == 8 and digits.isdigit():
        return f"{int(digits[:4])}年{int(digits[4:6])}月{int(digits[6:8])}日"
    return text


def safe_name(request_id: str) -> str:
    """The report file name (without extension) of a request id; distinct ids never share one
    (hedui.paths.report_file_stem: the id itself when it is safe, else safe characters + a hash)."""
    return report_file_stem(request_id)


def _rows(rel) -> list[dict]:
    cols = rel.columns
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def display_select(smap, alias: str = "t", hide: set[str] | frozenset[str] = frozenset()) -> str:
    """SELECT expressions for a staged table's displayable columns: an ID column shows the stored
    mask (`id_masked`), an account column its `<column>_masked`; never the encrypted value."""
    out = []
    for c in smap.columns:
        if c.column in hide:
            continue
        if c.type == "id":
            out.append(f"{alias}.id_masked as {c.column}")
        elif c.type == "account":
            out.append(f"{alias}.{c.column}_masked as {c.column}")
        else:
            out.append(f"{alias}.{c.column}")
    return ", ".join(out)


def display_fields(smap, row: dict, hide: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(header, text) of a row selected with `display_select` (IDs and accounts already masked)."""
    return [(c.header, display_value(c.type, row[c.column])) for c in smap.columns if c.column not in hide]


def display_value(kind: str, value) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m") if kind == "month" else value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)




# --- Household pages at scale -------------------------------------------------------------------
#
# The parent exports what the pages need once, set-based, to Parquet partitioned by batch (a range
# of request ids) under the run folder; each batch is then rendered by a worker process (or in this
# process for a small run) that reads only its own partition. The cited records, the bulk of a page,
# arrive as finished HTML: DuckDB formats, escapes and concatenates them (`_record_rows_sql`), so
# Jinja renders only the head of the page. Nothing of the whole run is held in Python.

POOL_MIN_HOUSEHOLDS = 2000  # fewer households render in this process (HEDUI_REPORT_POOL_MIN)
BATCH_MAX = 2500  # households per batch at most (HEDUI_REPORT_BATCH sets the size); a worker holds one
WORKER_MEMORY_LIMIT = "1GB"  # each worker's in-memory DuckDB (spills to the parts folder beyond)
STATUS_ZH = {"passed": "已交付并通过校验", "missing": "未交付", "incomplete": "交付不完整", "failed": "未通过校验"}


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
    the citation cell; DuckDB builds it column-wise, in the worker that renders the batch.
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


def _copy(con, select_sql: str, folder: Path, params: dict) -> None:
    con.execute(f"copy ({select_sql}) to {_sql_str(str(folder))} "
                "(format parquet, partition_by (batch), overwrite_or_ignore)", params)


def _export_parts(con, run_date: str, parts: Path, batch_size: int,
                  only: set[str] | None) -> tuple[int, list[tuple[int, int, str]]]:
    """Write the batched households' page data under `parts`; return the number of batches and, per
    source of records, (order, group, the SQL of a record's row of HTML)."""
    from connectors import load_map
    from hedui.settings import REQUESTS, sources

    params = {"run_date": run_date}
    only_sql = ""
    if only is not None:
        only_sql = "and request_id in (select unnest($only::varchar[]))"
        params = {**params, "only": sorted(only)}
    con.execute(
        "create or replace temp table _report_batch as "
        "select request_id, row_number() over (order by request_id) as hh, "
        f"(row_number() over (order by request_id) - 1) // {int(batch_size)} as batch "
        "from (select distinct h.request_id from households h join figures f using (run_date, request_id) "
        "join outcomes o using (run_date, request_id) where h.run_date = $run_date) "
        f"where true {only_sql}", params)
    params = {"run_date": run_date}
    n_batches = con.sql("select count(distinct batch) from _report_batch").fetchall()[0][0]
    _copy(con, "select b.batch, b.hh as _hh, h.*, f.* exclude (run_date, request_id, n_members, standard_monthly_yuan, "
          "financial_assets_limit_yuan, max_residential_units), o.outcome, o.findings, "
          "coalesce(v.n, 1) as _version "
          "from households h join figures f using (run_date, request_id) "
          "join outcomes o using (run_date, request_id) join _report_batch b using (request_id) "
          "left join (select request_id, count(distinct run_date) as n from outcomes "
          "           where run_date <= $run_date group by request_id) v using (request_id) "
          "where h.run_date = $run_date", parts / "households", params)
    _copy(con, "select b.batch, m.request_id, m.id_norm, m.id_masked, m.name, m.relation, "
          "nullif(trim(m.authorization_no), '') is not null as is_authorized, "
          "m.authorization_no, m.authorization_date, "
          "row_number() over (order by m.request_id, m.relation <> '本人', m.row_no, m.rowid) as _ord "
          "from stg_requests m join _report_batch b using (request_id) where m.run_date = $run_date",
          parts / "members", params)
    _copy(con, "select b.batch, f.*, r.file_name, r.row_no, r.delivery_date, "
          f"{_sql_case('f.code', FINDING_ZH, 'f.code')} as code_zh, "
          f"coalesce(f.code in ({', '.join(map(_sql_str, sorted(GAP_CODES)))}), false) as is_gap, "
          f"{_sql_case('f.method', METHOD_ZH, chr(39) * 2)} as method_zh, "
          "row_number() over (order by f.request_id, f.code, f.rowid) as _ord "
          "from findings f join _report_batch b using (request_id) "
          "left join (select record_id, file_name, row_no, delivery_date from source_records "
          "           where run_date = $run_date union all "
          "           select record_id, file_name, row_no, delivery_date from stg_requests "
          "           where run_date = $run_date) r using (record_id) "
          "where f.run_date = $run_date", parts / "findings", params)
    # 待核实的信息: each record not weighed, naming the member it may be about (masked)
    _copy(con, "select b.batch, g.request_id, g.code, g.source, g.file_name, g.row_no, g.match_weight, "
          f"g.related_code, {_sql_case('g.related_code', FINDING_ZH, 'g.related_code')} as related_zh, "
          "g.reason_zh, hd_mask_name(m.name) as member_name_masked, m.id_masked as member_id_masked, "
          "m.relation as member_relation, q.id_masked as record_id_masked, "
          "row_number() over (order by g.request_id, g.code, g.source, g.file_name, g.row_no, g.rowid) as _ord "
          "from evidence_gaps g join _report_batch b using (request_id) "
          "left join (select request_id, id_norm, name, id_masked, relation from stg_requests "
          "           where run_date = $run_date qualify row_number() over (partition by request_id, id_norm "
          "                                      order by row_no, rowid) = 1) m "
          "  on m.request_id = g.request_id and m.id_norm = g.member_id "
          "left join (select source, file_name, row_no, any_value(id_masked) as id_masked from quarantine_subjects "
          "           where run_date = $run_date group by all) q "
          "  on g.code = 'RECORD_QUARANTINED' and q.source = g.source and q.file_name = g.file_name "
          "     and q.row_no = g.row_no "
          f"where g.run_date = $run_date and g.code in ({', '.join(map(_sql_str, UNWEIGHED_CODES))})",
          parts / "unweighed", params)
    # the rows a figure-based finding stands on (figure_lineage.sql), for its citation
    _copy(con, "select b.batch, x.request_id, x.figure_code, x.source, x.item, x.period_month, x.amount_yuan, "
          "x.is_in_window, x.is_excluded, x.is_counted, r.file_name, r.row_no, "
          "hd_mask_name(m.name) as member_name_masked, m.relation as member_relation, "
          "row_number() over (order by x.request_id, x.figure_code, m.relation <> '本人', x.member_id, x.item, "
          "x.period_month, r.file_name, r.row_no) as _ord "
          "from figure_lineage x join _report_batch b using (request_id) "
          "join (select distinct request_id, code from findings where run_date = $run_date "
          "      and record_id is null and code in ('INCOME_OVER_STANDARD', 'FINANCIAL_ASSETS_OVER_LIMIT')) f "
          "  on f.request_id = x.request_id and f.code = x.figure_code "
          "left join (select record_id, file_name, row_no from source_records where run_date = $run_date) r "
          "  on r.record_id = x.record_id "
          "left join (select request_id, id_norm, name, relation from stg_requests "
          "           where run_date = $run_date qualify row_number() over (partition by request_id, id_norm "
          "                                      order by row_no, rowid) = 1) m "
          "  on m.request_id = x.request_id and m.id_norm = x.member_id "
          "where x.run_date = $run_date", parts / "lineage", params)
    # the staff decisions on this run's pairs: the page states who confirmed what, when and why
    _copy(con, "select b.batch, q.request_id, d.decision, d.reviewer, d.decided_at, d.reason, q.source, "
          "q.match_weight, r.file_name, r.row_no, r.delivery_date, "
          "row_number() over (order by q.request_id, d.decided_at, q.decision_key) as _ord "
          "from review_queue q join review_decisions d using (decision_key) "
          "join _report_batch b on b.request_id = q.request_id "
          "left join source_records r on r.record_id = q.record_id and r.run_date = $run_date "
          "where q.run_date = $run_date", parts / "decisions", params)
    _copy(con, "select b.batch, p.* from previous_verification p join _report_batch b using (request_id) "
          "where p.run_date = $run_date", parts / "previous", params)
    # a change names its member by the mask of the household's member with that ID (the last listed)
    _copy(con, "select b.batch, c.*, "
          "case when m.request_id is null then '' else m.id_masked end as member_masked, "
          "row_number() over (order by c.request_id, c.change, c.kind, c.fact_key, c.rowid) "
          "as _ord from changes c join _report_batch b using (request_id) "
          "left join (select request_id, id_norm, id_masked from stg_requests where run_date = $run_date "
          "           qualify row_number() over (partition by request_id, id_norm "
          "                                      order by relation <> '本人' desc, row_no desc, rowid desc) = 1) m "
          "  on m.request_id = c.request_id and m.id_norm is not distinct from c.member_id "
          "where c.run_date = $run_date", parts / "changes", params)
    plan, _ = _record_groups([s for s in sources() if s != REQUESTS])
    html = []
    for source, group, order in plan:  # one source at a time: one join's memory at a time
        export, row_html = _record_sql(con, source, load_map(source))
        _copy(con, export, parts / f"records_{order}", params)
        html.append((order, group, row_html))
    return n_batches, html


_WORKER: dict = {}


def _worker_state(parts: Path) -> dict:
    """This process's template and in-memory DuckDB (made once per process)."""
    if _WORKER.get("parts") != parts:
        import duckdb

        _drop_worker_state()
        (parts / "tmp").mkdir(exist_ok=True)
        env = _env()
        env.auto_reload = False  # else every page checks the templates' files (household.html, _style.html)
        _WORKER.update(parts=parts, tpl=env.get_template("household.html"), con=duckdb.connect(config={
            "threads": 1, "memory_limit": WORKER_MEMORY_LIMIT, "temp_directory": str(parts / "tmp")}))
    return _WORKER


def _drop_worker_state() -> None:
    if "con" in _WORKER:
        _WORKER["con"].close()
    _WORKER.clear()


def _part(con, parts: Path, name: str, batch: int, sql: str = "select * exclude (_ord) from p order by _ord"):
    """A query over table `name`'s rows of one batch (`p`), or None when the batch has none."""
    files = sorted(str(f) for f in parts.glob(f"{name}/batch={batch}/*.parquet"))
    if not files:
        return None
    return con.sql(f"with p as (select * from read_parquet([{', '.join(map(_sql_str, files))}], "
                   f"hive_partitioning = false)) {sql}")


def _objects(rel) -> list[SimpleNamespace]:
    """A query's rows as objects: Jinja reads `row.column` from an object's attribute at once, while on
    a dict it first fails an attribute lookup (a dict has no such attribute) and then takes the item."""
    if rel is None:
        return []
    return [SimpleNamespace(**row) for row in rel.to_arrow_table().to_pylist()]


def _grouped(rows: list[SimpleNamespace]) -> dict[str, list[SimpleNamespace]]:
    out: dict[str, list[SimpleNamespace]] = defaultdict(list)
    for r in rows:
        out[r.request_id].append(r)
    return out


def _render_batch(job: dict) -> tuple[int, int]:
    """Render and write the pages of one batch; return (pages, records cited)."""
    parts, batch, folder = Path(job["parts"]), job["batch"], Path(job["folder"])
    started = time.perf_counter()
    state = _worker_state(parts)
    con, tpl = state["con"], state["tpl"]
    con.execute("create or replace temp table _heads (grp integer, pre varchar, post varchar)")
    con.executemany("insert into _heads values (?, ?, ?)", [(int(g), a, b) for g, (a, b) in job["heads"].items()])
    # each member's record tables, one per source group, in one string
    rows = []
    for order, group, html in job["records"]:
        files = sorted(str(f) for f in parts.glob(f"records_{order}/batch={batch}/*.parquet"))
        if files:
            rows.append(f"select hh, member_id, {group} as grp, {order} as src_ord, file_name, row_no, {html} as html "
                        f"from read_parquet([{', '.join(map(_sql_str, files))}], hive_partitioning = false) as d")
    member_html = {}
    if rows:
        member_html = {(hh, m): (html, n) for hh, m, html, n in con.sql(
            "select hh, member_id, string_agg(h.pre || g.n || h.post || g.body || '\n</table>\n', '' order by g.grp), "
            "sum(g.n)::bigint from (select hh, member_id, grp, count(*) as n, "
            "string_agg(html, '' order by src_ord, file_name, row_no, html) as body "
            f"from ({' union all '.join(rows)}) group by all) as g join _heads as h using (grp) group by all").fetchall()}
    households = _objects(_part(con, parts, "households", batch, "select * from p"))
    members = _grouped(_objects(_part(con, parts, "members", batch)))
    findings = _grouped(_objects(_part(con, parts, "findings", batch)))
    previous = {p.request_id: p for p in _objects(_part(con, parts, "previous", batch, "select * from p"))}
    changes = _grouped(_objects(_part(con, parts, "changes", batch)))
    unweighed = _grouped(_objects(_part(con, parts, "unweighed", batch)))
    lineage = _grouped(_objects(_part(con, parts, "lineage", batch)))
    decisions = _grouped(_objects(_part(con, parts, "decisions", batch)))
    kept_dir = folder / "versions"
    issued_on = chinese_date(time.strftime("%Y-%m-%d"))
    from hedui.steps.workdays import windows as objection_windows

    windows = objection_windows()
    read = time.perf_counter()
    statuses_html, run_date = Markup(job["statuses_html"]), job["run_date"]
    source_names = job["source_names"]
    for h in households:
        request_id = h.request_id
        member_list = members.get(request_id, [])
        per_member = [SimpleNamespace(member=m, records=Markup(member_html.get((h._hh, m.id_norm), ("", 0))[0]))
                      for m in member_list]
        mine = findings.get(request_id, [])
        prev = previous.get(request_id)
        kept = len(list((kept_dir / safe_name(request_id)).glob("v*.json"))) if kept_dir.is_dir() else 0
        mine_decided = decisions.get(request_id, [])
        html = tpl.render(
            decisions=mine_decided, issued_on=issued_on, decision_zh=_DECISION_ZH, windows=windows,
            reviewers=sorted({d.reviewer for d in mine_decided if d.decision == "confirmed"}),
            h=h, outcome_zh=OUTCOME_ZH[h.outcome], members=member_list, per_member=per_member,
            findings=[f for f in mine if not f.is_gap], gaps=[f for f in mine if f.is_gap],
            statuses_html=statuses_html, run_date=run_date, source_names=source_names,
            previous=prev, changes=changes.get(request_id, []),
            unweighed=unweighed.get(request_id, []), lineage=lineage_groups(lineage.get(request_id, [])),
            version=h._version + kept, outcome_names=OUTCOME_ZH, kind_zh=CHANGE_KIND_ZH,
            finding_diff=_finding_diff(prev and vars(prev), h.findings),
        )
        (folder / f"{safe_name(request_id)}.html").write_bytes(html.encode("utf-8"))
    log.debug("report batch %d: %d pages, read %.2f s, render and write %.2f s", batch, len(households),
              read - started, time.perf_counter() - read)
    return len(households), sum(n for _, n in member_html.values())


def lineage_groups(rows: list) -> dict[str, list[SimpleNamespace]]:
    """A figure's cited rows summarized per member, item and status (计入 / 不计入（窗口外）/
    按政策不计入 / 金额未知), each group keeping its rows for the page's collapsible list."""
    out: dict[str, dict[tuple, SimpleNamespace]] = defaultdict(dict)
    for r in rows:
        status = ("计入" if r.is_counted else "按政策不计入" if r.is_excluded
                  else "不计入（窗口外）" if not r.is_in_window else "金额未知，未计入")
        key = (r.member_name_masked, r.member_relation, r.source, r.item, status)
        g = out[r.figure_code].get(key)
        if g is None:
            g = out[r.figure_code][key] = SimpleNamespace(
                member=r.member_name_masked or "—", relation=r.member_relation or "", source=r.source, item=r.item,
                status=status, n=0, total=0.0, first=None, last=None, rows=[])
        g.n += 1
        g.total += r.amount_yuan or 0.0
        if r.period_month is not None:
            g.first = min(g.first or r.period_month, r.period_month)
            g.last = max(g.last or r.period_month, r.period_month)
        g.rows.append(r)
    return {code: list(groups.values()) for code, groups in out.items()}


def _pool_size() -> int:
    return int(os.environ.get("HEDUI_THREADS") or 0) or 2


WORKER_ENTRY = "from hedui.steps.report.outputs import _worker_main; _worker_main()"


def _worker_main() -> None:
    """A page worker process: `python -c WORKER_ENTRY JOB_JSON BATCH...` renders the batches and prints
    [pages, records cited]."""
    job_path, *batches = sys.argv[1:]
    job = json.loads(Path(job_path).read_text(encoding="utf-8"))
    pages = cited = 0
    for batch in batches:
        n_pages, n_cited = _render_batch({**job, "batch": int(batch)})
        pages, cited = pages + n_pages, cited + n_cited
    sys.stdout.write(json.dumps([pages, cited]) + "\n")


@contextmanager
def _pages_rendered(common: dict, n_batches: int, workers: int, in_process: bool):
    """Render every batch, in `workers` processes (started on entry, so that the caller works meanwhile)
    unless `in_process`; yields a function that waits and returns (pages, records cited).

    A worker is a fresh interpreter (`python -c`), neither a fork of this process, which holds DuckDB's
    threads, nor a multiprocessing child, which would import this process's main module again (under
    Airflow, all of Airflow). Worker i renders batches i, i + workers, …; batches are of one size.
    """
    if in_process or workers < 2 or n_batches < 2:
        results = [_render_batch({**common, "batch": b}) for b in range(n_batches)]
        yield lambda: (sum(r[0] for r in results), sum(r[1] for r in results))
        return
    parts = Path(common["parts"])
    job = parts / "job.json"
    job.write_text(json.dumps(common, ensure_ascii=False), encoding="utf-8")
    procs = []
    try:
        for i in range(min(workers, n_batches)):
            with open(parts / f"worker_{i}.log", "w", encoding="utf-8") as err:
                procs.append(subprocess.Popen(
                    [sys.executable, "-c", WORKER_ENTRY, str(job), *map(str, range(i, n_batches, workers))],
                    stdout=subprocess.PIPE, stderr=err, text=True))

        def wait() -> tuple[int, int]:
            pages = cited = 0
            for i, proc in enumerate(procs):
                out, _ = proc.communicate()
                if proc.returncode:
                    tail = (parts / f"worker_{i}.log").read_text(encoding="utf-8", errors="replace")[-3000:]
                    raise RuntimeError(f"report worker {i} failed (exit {proc.returncode}):\n{mask_text(tail)}")
                n_pages, n_cited = json.loads(out.strip().splitlines()[-1])
                pages, cited = pages + n_pages, cited + n_cited
            return pages, cited

        yield wait
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@contextmanager
def _memory_limit(con, limit: str):
    """DuckDB's memory limit lowered to `limit` for a while (never raised): lowering it hands the
    buffer pool's cached blocks back to the system, for the page workers."""
    def current() -> str:
        return con.sql("select current_setting('memory_limit')").fetchall()[0][0]

    before = current()
    con.execute(f"set memory_limit = {_sql_str(limit)}")
    try:
        if _memory_bytes(current()) > _memory_bytes(before):
            con.execute(f"set memory_limit = {_sql_str(before)}")
        yield
    finally:
        con.execute(f"set memory_limit = {_sql_str(before)}")


def _memory_bytes(text: str) -> float:
    number, _, unit = text.partition(" ")
    return float(number) * {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}.get(unit, 1)


def _write_csv(path: Path, header: list[str], rel) -> None:
    """Write a query's rows to CSV (the csv module's dialect, formula prefixes neutralized), a batch at a time."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = safe_csv.writer(fh)
        w.writerow(header)
        for batch in rel.fetch_record_batch(100_000):
            w.writerows(zip(*(column.to_pylist() for column in batch.columns), strict=True))


def _alerts_sql() -> str:
    """alerts.csv: every fact that appeared since a household's previous verification."""
    kinds = ", ".join(map(_sql_str, ALERT_KINDS))
    return (
        "select c.request_id, coalesce(h.program, ''), p.previous_run_date, p.previous_request_id, "
        f"{_sql_case('c.kind', ALERT_KINDS, 'null')}, coalesce(m.name, ''), coalesce(m.id_masked, ''), c.detail_zh "
        "from changes c join previous_verification p using (run_date, request_id) "
        "left join (select h.request_id, h.program from households h join figures f using (run_date, request_id) "
        "           join outcomes o using (run_date, request_id) where h.run_date = $run_date) h "
        "  on h.request_id = c.request_id "
        "left join (select request_id, id_norm, name, id_masked from stg_requests where run_date = $run_date "
        "           qualify row_number() over (partition by request_id, id_norm "
        "                                      order by relation <> '本人' desc, row_no desc, rowid desc) = 1) m "
        "  on m.request_id = c.request_id and m.id_norm is not distinct from c.member_id "
        f"where c.run_date = $run_date and c.change = 'added' and c.kind in ({kinds}) "
        "order by c.request_id, c.change, c.kind, c.fact_key, c.rowid"
    )


def write_reports(con, ctx, only: set[str] | None = None, *, workers: int | None = None,
                  pool_min: int | None = None, batch_size: int | None = None) -> dict:
    """Write every output of a run's report step; return counts.

    With `only`, re-render just those households' pages (after a review
    decision); the batch files (outcomes, reconciliation, alerts, summary) are
    always rewritten whole.

    Household pages are rendered by `workers` processes (HEDUI_THREADS, default 2) in batches of
    `batch_size` households, or in this process when fewer than `pool_min` (HEDUI_REPORT_POOL_MIN,
    default 2000) pages are due.
    """
    import shutil
    import tempfile

    from hedui.settings import REQUESTS, sources

    run_date = ctx.run_date
    out = ctx.report_dir
    (out / "households").mkdir(parents=True, exist_ok=True)
    params = {"run_date": run_date}
    workers = workers or _pool_size()
    pool_min = pool_min if pool_min is not None else int(os.environ.get("HEDUI_REPORT_POOL_MIN", POOL_MIN_HOUSEHOLDS))

    n_households, demonstration = con.sql(
        "select count(distinct h.request_id), coalesce(bool_or(h.policy_demonstration), false) "
        "from households h join figures f using (run_date, request_id) "
        "join outcomes o using (run_date, request_id) where h.run_date = $run_date", params=params).fetchall()[0]
    n_due = n_households if only is None else len(only)
    if batch_size is None:
        batch_size = int(os.environ.get("HEDUI_REPORT_BATCH", 0)) or min(
            BATCH_MAX, max(250, -(-n_due // (4 * workers))))
    in_process = n_due < pool_min
    env = _env()
    statuses = _rows(con.sql("select * from source_status where run_date = $run_date order by source",
                             params=params))
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    parts = Path(tempfile.mkdtemp(prefix="report_parts_", dir=ctx.run_dir))
    pdf = pdf_wanted(n_households)
    try:
        started = time.perf_counter()
        n_batches, records = _export_parts(con, run_date, parts, batch_size, only)
        kill_point("report")
        exported = time.perf_counter()
        _, heads = _record_groups([s for s in sources() if s != REQUESTS])
        common = {"parts": str(parts), "folder": str(out / "households"), "run_date": run_date, "heads": heads,
                  "records": records,
                  "statuses_html": env.get_template("_household_sources.html").render(statuses=statuses),
                  "source_names": {s["source"]: s["source_zh"] for s in statuses}}
        with _memory_limit(con, "1GB"), _pages_rendered(common, n_batches, workers, in_process) as pages:
            _write_batch_files(con, env, run_date, out, statuses, pdf, bool(demonstration))
            n_pages, records_cited = pages()
        log.info("report pages: %d in %d batches (%s), export %.1f s, render %.1f s", n_pages, n_batches,
                 "in process" if in_process else f"{workers} workers", exported - started,
                 time.perf_counter() - exported)
    finally:
        _drop_worker_state()  # when the pages were rendered here
        shutil.rmtree(parts, ignore_errors=True)
    if pdf and n_households:
        ids = [r for (r,) in con.sql("select request_id from outcomes where run_date = $run_date "
                                     "order by request_id", params=params).fetchall()]
        write_pdfs(out, [r for r in ids if only is None or r in only])
    return {"households": n_households, "records_cited": records_cited, "pdf": pdf}


def _write_batch_files(con, env, run_date: str, out: Path, statuses: list[dict], pdf: bool,
                       demonstration: bool) -> None:
    """outcomes.csv, reconciliation.csv, alerts.csv and the batch summary index.html."""
    params = {"run_date": run_date}
    _write_csv(out / "outcomes.csv", ["request_id", "outcome", "findings"], con.sql(
        "select request_id, outcome, findings from outcomes where run_date = $run_date order by request_id",
        params=params))
    recon = _rows(con.sql("select source, file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
                          "where run_date = $run_date order by source, file", params=params))
    with open(out / "reconciliation.csv", "w", newline="", encoding="utf-8") as fh:
        w = safe_csv.writer(fh)
        w.writerow(["source", "file", "rows_delivered", "rows_staged", "rows_quarantined"])
        w.writerows(tuple(r.values()) for r in recon)
    _write_csv(out / "alerts.csv", ["request_id", "program", "previous_run_date", "previous_request_id", "alert",
                                    "member_name", "member_id_masked", "detail_zh"],
               con.sql(_alerts_sql(), params=params))

    per_source = {r["source"]: r for r in _rows(con.sql(
        "select source, sum(rows_delivered) rows_delivered, sum(rows_staged) rows_staged, "
        "sum(rows_quarantined) rows_quarantined from reconciliation where run_date = $run_date group by all",
        params=params))}
    for s in statuses:
        s.update({k: v for k, v in per_source.get(s["source"], {}).items() if k != "source"})
    with open(out / "alerts.csv", encoding="utf-8") as fh:
        n_alerts = sum(1 for _ in fh) - 1
    outcomes = _rows(con.sql("select request_id, outcome, findings from outcomes where run_date = $run_date "
                             "order by request_id", params=params))
    summary = env.get_template("summary.html").stream(
        pdf=pdf, n_alerts=n_alerts, demonstration=demonstration,
        by_county=_rows(con.sql(
            "select h.region_code, h.program, count(*) n, count(*) filter (where o.outcome = 'CLEAR') n_clear, "
            "count(*) filter (where o.outcome = 'FINDINGS') n_findings, "
            "count(*) filter (where o.outcome = 'INCOMPLETE') n_incomplete "
            "from households h join outcomes o using (run_date, request_id) where h.run_date = $run_date "
            "group by all order by all", params=params)),
        run_date=run_date, outcomes=outcomes, statuses=statuses, recon=recon,
        outcome_zh=OUTCOME_ZH, finding_zh=FINDING_ZH, safe_name=safe_name,
        by_outcome=_rows(con.sql("select outcome, count(*) n from outcomes where run_date = $run_date "
                                 "group by all order by n desc, outcome", params=params)),
        by_finding=_rows(con.sql("select code, count(distinct request_id) n from findings "
                                 "where run_date = $run_date group by all order by n desc, code", params=params)),
        quarantine_top=_rows(con.sql(
            "with c as (select source, reason_zh, count(*) n from quarantine where run_date = $run_date "
            "group by all) select source, reason_zh, n from c "
            "qualify row_number() over (partition by source order by n desc, reason_zh) <= 3 "
            "order by source, n desc, reason_zh",
            params=params)),
    )
    with open(out / "index.html", "w", encoding="utf-8") as fh:
        summary.dump(fh)
