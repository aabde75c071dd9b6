"""Household pages in batches: the run's page data exported once to Parquet parts, rendered by worker processes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from markupsafe import Markup

from hedui.ops.killpoint import kill_point
from hedui.steps.cycles import cycles_uncollected
from hedui.steps.report import sqlhtml
from hedui.steps.report.batchrows import (  # noqa: F401  (pages._objects, _row_class: their old place)
    HOUSEHOLDS_HASHED,
    PARTS,
    ROWS_HASHED,
    BatchRows,
    _grouped,
    _namespaces,
    _objects,
    _part,
    _row_class,
)
from hedui.steps.report.display import (
    _DECISION_ZH,
    CHANGE_KIND_ZH,
    FINDING_ZH,
    GAP_CODES,
    METHOD_ZH,
    OUTCOME_ZH,
    UNWEIGHED_CODES,
    _env,
    _escape,
    _finding_diff,
    chinese_date,
    lineage_groups,
    page_renderer,
    safe_name,
)
from hedui.steps.report.sqlhtml import _member_records, _record_groups, _record_sql, _sql_case, _sql_str

log = logging.getLogger(__name__)


POOL_MIN_HOUSEHOLDS = 2000  # fewer households render in this process (HEDUI_REPORT_POOL_MIN)


BATCH_MAX = 2500  # households per batch at most (HEDUI_REPORT_BATCH sets the size); a worker holds one


WORKER_MEMORY_LIMIT = "1GB"  # each worker's in-memory DuckDB (spills to the parts folder beyond)


def _copy(con, select_sql: str, folder: Path, params: dict) -> None:
    con.execute(f"copy ({select_sql}) to {_sql_str(str(folder))} "
                "(format parquet, partition_by (batch), overwrite_or_ignore)", params)


def _export_parts(con, run_date: str, parts: Path, batch_size: int,
                  only: set[str] | None) -> tuple[int, list[tuple[int, int, str]]]:
    """Write the batched households' page data under `parts`; return the number of batches and, per
    source of records, (order, group, the SQL of a record's row of HTML)."""
    from connectors import load_map
    from hedui.settings import REQUESTS, sources
    from hedui.steps.report.display import REQUEST_ROWS_SQL, register_text_mask

    register_text_mask(con)  # hd_audit_mask: a reason or detail quoting a delivered ID or account number
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
    # the records the batched households' figure-based findings cite: the lineage export's joins read only
    # these of the run's records and links (at tenth 50 k of 740 k lineage rows), not all of them
    con.execute(
        "create or replace temp table _cited as "
        "select distinct x.record_id from figure_lineage x join _report_batch b using (request_id) "
        "join (select distinct request_id, code from findings where run_date = $run_date "
        "      and record_id is null and code in ('INCOME_OVER_STANDARD', 'FINANCIAL_ASSETS_OVER_LIMIT')) f "
        "  on f.request_id = x.request_id and f.code = x.figure_code "
        "where x.run_date = $run_date and x.record_id is not null", params)
    _copy(con, "select b.batch, b.hh as _hh, h.*, f.* exclude (run_date, request_id, n_members, standard_monthly_yuan, "
          "financial_assets_limit_yuan, max_residential_units), o.outcome, o.findings, "
          "coalesce(v.n, 1) as _version, coalesce(v.earlier, []) as _earlier "
          "from households h join figures f using (run_date, request_id) "
          "join outcomes o using (run_date, request_id) join _report_batch b using (request_id) "
          "left join (select request_id, count(distinct run_date) as n, "
          "           list(distinct run_date order by run_date) filter (where run_date < $run_date) as earlier "
          "           from outcomes where run_date <= $run_date group by request_id) v using (request_id) "
          "where h.run_date = $run_date", parts / "households", params)
    _copy(con, "select b.batch, m.request_id, m.id_norm, m.id_masked, m.name, m.relation, "
          "nullif(trim(m.authorization_no), '') is not null as is_authorized, "
          "m.authorization_no, m.authorization_date, "
          "row_number() over (order by m.request_id, m.relation <> '本人', m.row_no, m.rowid) as _ord "
          "from stg_requests m join _report_batch b using (request_id) where m.run_date = $run_date",
          parts / "members", params)
    _copy(con, "select b.batch, f.* replace (hd_audit_mask(f.detail_zh) as detail_zh), r.file_name, r.row_no, "
          "r.delivery_date, "
          "m.name || '（' || m.id_masked || '，' || m.relation || '）' as member_label, "
          f"{_sql_case('f.code', FINDING_ZH, 'f.code')} as code_zh, "
          f"coalesce(f.code in ({', '.join(map(_sql_str, sorted(GAP_CODES)))}), false) as is_gap, "
          f"{_sql_case('f.method', METHOD_ZH, chr(39) * 2)} as method_zh, "
          "row_number() over (order by f.request_id, f.code, r.file_name, r.row_no, f.member_id, f.record_id, "
          "f.detail_zh, f.rowid) as _ord "  # a total order: the page is the same on every run
          "from findings f join _report_batch b using (request_id) "
          "left join (select record_id, file_name, row_no, delivery_date from source_records "
          "           where run_date = $run_date union all "
          "           select record_id, file_name, row_no, delivery_date from stg_requests "
          "           where run_date = $run_date) r using (record_id) "
          "left join (select request_id, id_norm, name, id_masked, relation from stg_requests "
          "           where run_date = $run_date qualify row_number() over (partition by request_id, id_norm "
          "                                      order by row_no, rowid) = 1) m "
          "  on m.request_id = f.request_id and m.id_norm = f.member_id "
          "where f.run_date = $run_date", parts / "findings", params)
    # 待核实的信息: each record not weighed, naming the member it may be about (name, masked ID)
    _copy(con, "select b.batch, g.request_id, g.code, g.source, g.file_name, g.row_no, g.match_weight, "
          f"g.related_code, coalesce({_sql_case('g.related_code', FINDING_ZH, 'g.related_code')}, "
          f"{REQUEST_ROWS_SQL}) as related_zh, "  # a request row's gap: the rows it disagrees with
          "hd_audit_mask(g.reason_zh) as reason_zh, m.name as member_name, "
          "m.id_masked as member_id_masked, m.relation as member_relation, q.id_masked as record_id_masked, "
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
          "x.is_in_window, x.is_excluded, x.exclusion_zh, x.is_counted, r.file_name, r.row_no, r.delivery_date, "
          f"{_sql_case('k.method', METHOD_ZH, chr(39) * 2)} as method_zh, k.match_weight, "
          "coalesce(k.is_confirmed, true) as is_confirmed, "
          "m.name as member_name, m.relation as member_relation, "
          "row_number() over (order by x.request_id, x.figure_code, m.relation <> '本人', x.member_id, x.item, "
          "x.period_month, r.file_name, r.row_no) as _ord "
          "from figure_lineage x join _report_batch b using (request_id) "
          "join (select distinct request_id, code from findings where run_date = $run_date "
          "      and record_id is null and code in ('INCOME_OVER_STANDARD', 'FINANCIAL_ASSETS_OVER_LIMIT')) f "
          "  on f.request_id = x.request_id and f.code = x.figure_code "
          "left join (select record_id, file_name, row_no, delivery_date from source_records "
          "           where run_date = $run_date and record_id in (select record_id from _cited)) r "
          "  on r.record_id = x.record_id "
          "left join (select request_id, member_id, record_id, any_value(method) as method, "
          "           max(match_weight) as match_weight, bool_and(is_confirmed) as is_confirmed from links "
          "           where run_date = $run_date and record_id in (select record_id from _cited) group by all) k "
          "  on k.request_id = x.request_id and k.member_id = x.member_id and k.record_id = x.record_id "
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
    _copy(con, sqlhtml.PREVIOUS_SQL, parts / "previous", params)
    # a change names its member as the page's other tables do: name (masked ID) of the member with that ID
    _copy(con, "select b.batch, c.* replace (hd_audit_mask(c.detail_zh) as detail_zh), case when m.request_id is "
          "null then '' else m.name || coalesce('（' || m.id_masked || '）', '') end as member_label, "
          "row_number() over (order by c.request_id, c.change, c.kind, c.fact_key, c.rowid) as _ord from changes c join _report_batch b using (request_id) "
          "left join (select request_id, id_norm, name, id_masked from stg_requests where run_date = $run_date "
          "           qualify row_number() over (partition by request_id, id_norm "
          "                                      order by relation <> '本人' desc, row_no desc, rowid desc) = 1) m "
          "  on m.request_id = c.request_id and m.id_norm is not distinct from c.member_id "
          "where c.run_date = $run_date", parts / "changes", params)
    plan, _ = _record_groups([s for s in sources() if s != REQUESTS])
    con.execute(sqlhtml.MEMBER_RANKS_SQL, params)
    html = []
    for source, group, order in plan:  # one source at a time: one join's memory at a time
        export, row_html, cite = _record_sql(con, source, load_map(source))
        # each record's row of HTML made here, once per run, not in every batch's worker: a worker's query
        # then reads it as it is (the SQL of a row is long: parsing and binding it cost more than running it)
        _copy(con, sqlhtml.ranked_records(source, export, row_html, cite), parts / f"records_{order}", params)
        html.append((order, group, "d.html"))
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
        tpl = env.get_template("household.html")
        # the template's `{{ value }}` calls `escape` from its module's names: this one gives the same text
        tpl.root_render_func.__globals__["escape"] = _escape
        from hedui.steps.report.fastpage import renderer

        # household.html written out as one Python function (fastpage), Jinja's render if the templates changed
        _WORKER.update(parts=parts, tpl=tpl, render=renderer(tpl, page_renderer(tpl)), con=duckdb.connect(config={
            "threads": 1, "memory_limit": WORKER_MEMORY_LIMIT, "temp_directory": str(parts / "tmp")}))
    return _WORKER


def _drop_worker_state() -> None:
    if "con" in _WORKER:
        _WORKER["con"].close()
    _WORKER.clear()


def _earlier_versions(report_dir: Path, request_id: str, earlier: list[str] | None, kept_in: dict) -> int:
    """The versions of `request_id`'s report issued in earlier runs beyond one per run (a staff decision or a
    re-run there issued more): the next run's report is numbered after all of them. `kept_in` caches, per
    run date, whether that run kept any version at all (most did not: no folder to read)."""
    extra = 0
    for date in earlier or ():
        folder = report_dir.parent / date
        if date not in kept_in:
            kept_in[date] = (folder / "households" / "versions").is_dir()
        if kept_in[date]:
            from hedui.steps.report import versions

            extra += max(0, len(versions.list_versions(folder, request_id)) - 1)
    return extra


_PAGE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def _write_page(path: str, data: bytes) -> None:
    """`open(path, "wb").write(data)` in three system calls (open, write, close): no file object, no
    fstat, ioctl and lseek per page."""
    fd = os.open(path, _PAGE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


_NO_RECORDS = (b"", 0)


@cycles_uncollected()  # the batch's rows and pages are freed by reference counting
def _render_batch(job: dict) -> tuple[int, int]:
    """Render and write the pages of one batch; return (pages, records cited)."""
    parts, batch, folder = Path(job["parts"]), job["batch"], Path(job["folder"])
    started = time.perf_counter()
    state = _worker_state(parts)
    con, render = state["con"], state["render"]
    # each member's record tables, one per source group, in one string
    rows = []
    for order, group, html in job["records"]:
        files = sorted(str(f) for f in parts.glob(f"records_{order}/batch={batch}/*.parquet"))
        if files:
            rows.append(f"select hh, member_id, {group} as grp, {order} as src_ord, _m, _f, row_no, {html} as html "
                        f"from read_parquet([{', '.join(map(_sql_str, files))}], hive_partitioning = false) as d")
    member_html = _member_records(con, rows, {int(g): tuple(h) for g, h in job["heads"].items()}) if rows else {}
    data = BatchRows.read(con, parts, batch)
    previous = {p.request_id: p for p in _namespaces(_part(con, parts, "previous", batch, "select * from p"))}
    issued_on = chinese_date(time.strftime("%Y-%m-%d"))
    from hedui.steps.report import digests, versions
    from hedui.steps.workdays import windows as objection_windows

    windows = objection_windows()
    read = time.perf_counter()
    statuses_html, run_date = Markup(job["statuses_html"]), job["run_date"]
    source_names = job["source_names"]
    report_dir, template = folder.parent, job["template"]
    common = digests.common_part(job["statuses_html"], source_names, run_date, windows)
    windows_read = SimpleNamespace(**windows)  # `windows.objection` read as an attribute, not a failed one
    explicit, reissue = job.get("explicit", False), job.get("reissue") or {}
    # a re-run (digests on record): the digests read each row's `_h` and keys alone, and the rows of the pages
    # due are made objects of every column after them (most of a re-run's pages are unchanged)
    lean = job.get("previous") is not None and not explicit
    households, grouped = data.rows(lean)
    members, findings, changes, unweighed, lineage, decisions = (grouped[part] for part in PARTS)
    recorded = digests.previous(con, job.get("previous"), [h.request_id for h in households])
    index_rows: list = []
    due = []  # (place in index_rows, household, action, digest, before, its pages.parquet row, base, records, page)
    folder_text = str(folder)
    any_kept = (folder / "versions").is_dir()  # else no household of the run has a kept version
    kept_in: dict[str, bool] = {}  # earlier run date → whether it kept any version
    for h in households:
        request_id = h.request_id
        member_list = members.get(request_id, [])
        tables = [member_html.get((h._hh, m.id_norm), _NO_RECORDS) for m in member_list]
        records = [t[0] for t in tables]  # each member's record tables in UTF-8
        mine = findings.get(request_id, [])
        prev = previous.get(request_id)
        mine_decided = decisions.get(request_id, [])
        mine_changes, mine_unweighed = changes.get(request_id, []), unweighed.get(request_id, [])
        mine_lineage = lineage.get(request_id, [])
        digest = digests.page_digest(common, h, member_list, records, mine, prev, mine_changes,
                                     mine_unweighed, mine_lineage, mine_decided)
        name = f"{safe_name(request_id)}.html"
        page = f"{folder_text}/{name}"  # text, not a Path: 400,000 pages
        before = recorded.get(request_id)
        # whether the page is on disk matters only when a digest is on record (never on a first run)
        action = digests.decide(digest, template, before, before is not None and os.path.exists(page),
                                None if explicit or before is None or before[0] == digest
                                else digests.latest_kept(report_dir, request_id), explicit)
        row = {"request_id": request_id, "digest": digest, "file": f"households/{name}",
               "outcome": h.outcome, "findings": h.findings, "template": template, "rendered": False,
               "reissued": False}
        base = h._version + _earlier_versions(report_dir, request_id, h._earlier, kept_in) if h._earlier \
            else h._version
        if action in ("skip", "issued"):
            index_rows.append({**row, "version": before[1] if action == "skip" else
                               base + len(versions.list_versions(report_dir, request_id)) - 1})
            continue
        due.append((len(index_rows), h, action, digest, before, row, base, records, page))
        index_rows.append(None)
    n_pages = len(households)
    if lean and due:
        households, grouped = data.only({d[1].request_id for d in due}).rows(lean=False)
        members, findings, changes, unweighed, lineage, decisions = (grouped[part] for part in PARTS)
        whole = {h.request_id: h for h in households}
        due = [(at, whole[h.request_id], *rest) for at, h, *rest in due]
    rendered = 0
    for at, h, action, digest, before, row, base, records, page in due:
        request_id = h.request_id
        member_list, mine, prev = members.get(request_id, []), findings.get(request_id, []), previous.get(request_id)
        mine_decided, mine_lineage = decisions.get(request_id, []), lineage.get(request_id, [])
        mine_changes, mine_unweighed = changes.get(request_id, []), unweighed.get(request_id, [])
        if action == "reissue":  # the page on disk becomes a kept version (unless a killed step kept it)
            versions.keep_first(report_dir, request_id, before[3], before[4], digest=before[0])
        kept = len(versions.list_versions(report_dir, request_id)) if any_kept or action == "reissue" else 0
        version = base + kept
        html = render(
            decisions=mine_decided, issued_on=issued_on, decision_zh=_DECISION_ZH, windows=windows_read,
            reviewers=sorted({d.reviewer for d in mine_decided if d.decision == "confirmed"}),
            h=h, outcome_zh=OUTCOME_ZH[h.outcome], members=member_list, records=records,
            findings=[f for f in mine if not f.is_gap], gaps=[f for f in mine if f.is_gap],
            statuses_html=statuses_html, run_date=run_date, source_names=source_names,
            previous=prev, changes=mine_changes,
            unweighed=mine_unweighed, lineage=lineage_groups(mine_lineage),
            version=version, outcome_names=OUTCOME_ZH, kind_zh=CHANGE_KIND_ZH, finding_zh=FINDING_ZH,
            finding_diff=_finding_diff(prev and vars(prev), h.findings),
        )
        # written in place (a rename per page cost more than the digests): a page half-written by a kill has
        # no digest on record, or its earlier version is kept already, so the re-run renders it again
        _write_page(page, html)
        rendered += 1
        if action == "reissue":
            versions.keep_new(report_dir, request_id, digest=digest, outcome=h.outcome, findings=h.findings,
                              actor=reissue.get("actor", "批次重跑"), kind=reissue.get("kind", "rerun"),
                              what=reissue.get("what", "重新核对后报告内容有变化"), reason=reissue.get("reason", ""))
        index_rows[at] = {**row, "version": version, "rendered": True, "reissued": action == "reissue"}
    digests.write_batch(parts, batch, index_rows)
    kill_point("report:batch")
    log.debug("report batch %d: %d pages, %d rendered, read %.2f s, render and write %.2f s", batch,
              n_pages, rendered, read - started, time.perf_counter() - read)
    return rendered, sum(t[1] for t in member_html.values())


def _pool_size() -> int:
    from hedui.settings import settings

    return settings().threads


WORKER_ENTRY = "from hedui.steps.report.pages import _worker_main; _worker_main()"


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
                    from hedui.privacy.masking import mask_text  # not at import: the workers never mask

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
