"""Reports: outcomes.csv, reconciliation.csv, one HTML report per household, a batch summary.

Everything here is what staff read: Chinese, ID numbers masked (first 6 + last 4),
account numbers masked (last 4), every fact citing source, delivery date, file,
row and how it was linked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from hedui import safe_csv
from hedui.ops.killpoint import kill_point
from hedui.steps.cycles import cycles_uncollected
from hedui.steps.report import digests, versions
from hedui.steps.report.display import (
    ALERT_KINDS,
    FINDING_ZH,
    OUTCOME_ZH,
    _env,
    _escape,
    _rows,
    register_text_mask,
    safe_name,
)
from hedui.steps.report.pages import (
    BATCH_MAX,
    _drop_worker_state,
    _export_parts,
    _memory_limit,
    _pages_rendered,
    _pool_size,
    _row_class,
)
from hedui.steps.report.sqlhtml import _record_groups, _sql_case, _sql_str
from hedui.workdir import replaced_whole

log = logging.getLogger(__name__)


PDF_AUTO_LIMIT = 500


def pdf_wanted(n_households: int) -> bool:
    """HEDUI_REPORT_PDF: `all`, `none`, or `auto` (default: PDFs when the batch has ≤ 500 households;
    bigger batches get them on demand with `hedui pdf`, ~0.4 s a page)."""
    from hedui.settings import settings

    mode = settings().report_pdf
    return mode == "all" or (mode == "auto" and n_households <= PDF_AUTO_LIMIT)


def write_pdfs(report_dir: Path, request_ids: list[str]) -> int:
    """Print the household reports of `request_ids` to PDF beside their HTML."""
    return write_pdf_files(report_dir, [safe_name(r) for r in request_ids])


def write_pdf_files(report_dir: Path, stems: list[str]) -> int:
    """Print `households/<stem>.html` to `households/<stem>.pdf` for each stem."""
    from hedui.steps.report.pdf import to_pdf

    folder = report_dir / "households"
    return to_pdf((folder / f"{s}.html", folder / f"{s}.pdf") for s in stems)


def _masked_statuses(con, run_date: str) -> list[dict]:
    from hedui.audit.log import mask_free_text

    rows = _rows(con.sql("select * from source_status where run_date = $run_date order by source",
                         params={"run_date": run_date}))
    for r in rows:
        r["reasons_zh"] = mask_free_text(r.get("reasons_zh"))
    return rows


def _write_csv(path: Path, header: list[str], rel) -> None:
    """Write a query's rows to CSV (the csv module's dialect, formula prefixes neutralized), a batch at a time."""
    with replaced_whole(path, newline="", encoding="utf-8") as fh:
        w = safe_csv.writer(fh)
        w.writerow(header)
        for batch in rel.fetch_record_batch(100_000):
            w.writerows(zip(*(column.to_pylist() for column in batch.columns), strict=True))


def _alerts_sql() -> str:
    """alerts.csv: every fact that appeared since a household's previous verification."""
    kinds = ", ".join(map(_sql_str, ALERT_KINDS))
    return (
        "select c.request_id, coalesce(h.program, ''), p.previous_run_date, p.previous_request_id, "
        # policy.md's events name a death however it is known: the registration's 死亡 as the cremation record
        f"case when c.kind = 'registration' and c.fact_key = '死亡' then {_sql_str(ALERT_KINDS['death'])} "
        f"else {_sql_case('c.kind', ALERT_KINDS, 'null')} end, coalesce(m.name, ''), coalesce(m.id_masked, ''), "
        "hd_audit_mask(c.detail_zh) "
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


@cycles_uncollected()  # cycles.py: the step's rows are freed by reference counting
def write_reports(con, ctx, only: set[str] | None = None, *, workers: int | None = None,
                  pool_min: int | None = None, batch_size: int | None = None, reissue: dict | None = None) -> dict:
    """Write every output of a run's report step; return counts.

    With `only`, re-render just those households' pages (after a review
    decision; the caller keeps the versions); the batch files (outcomes, reconciliation, alerts, summary) are
    always rewritten whole.  Without `only`, a page is rendered only when its content changed since the
    step last ran for the date (`hedui.steps.report.digests`, reports/<date>/pages.parquet); a page that
    changed is issued as a new version, the earlier kept, with `reissue`'s actor, kind, what and reason
    (default: a re-run of the batch).

    Household pages are rendered by `workers` processes (HEDUI_THREADS, default 2) in batches of
    `batch_size` households, or in this process when fewer than `pool_min` (HEDUI_REPORT_POOL_MIN,
    default 2000) pages are due.
    """
    run_date = ctx.run_date
    out = ctx.report_dir
    params = {"run_date": run_date}
    n_households, demonstration = con.sql(
        "select count(distinct h.request_id), coalesce(bool_or(h.policy_demonstration), false) "
        "from households h join figures f using (run_date, request_id) "
        "join outcomes o using (run_date, request_id) where h.run_date = $run_date", params=params).fetchall()[0]
    statuses = _masked_statuses(con, run_date)
    pdf = pdf_wanted(n_households)
    env = _env()
    ctx.run_dir.mkdir(parents=True, exist_ok=True)
    n_pages, records_cited, rows = render_households(
        con, ctx, ctx.run_dir, only=only, n_due=n_households if only is None else len(only), statuses=statuses,
        workers=workers, pool_min=pool_min, batch_size=batch_size, reissue=reissue,
        meanwhile=lambda: _write_batch_files(con, env, run_date, out, statuses, pdf, bool(demonstration)))
    kill_point("report:index")  # every page written, pages.parquet not yet
    digests.write_index(con, out, rows, replace_all=only is None)
    if pdf and n_households:
        due = [r["request_id"] for r in rows if r["rendered"] or not (
            out / r["file"]).with_suffix(".pdf").exists()]
        write_pdfs(out, sorted(due))
        for r in rows:  # a re-issued version gets its print too
            if r["reissued"]:
                versions.keep_pdf(out, r["request_id"])
    return {"households": n_households, "records_cited": records_cited, "pdf": pdf, "pages_rendered": n_pages,
            "pages_unchanged": sum(not r["rendered"] for r in rows),
            "versions_issued": sorted(r["request_id"] for r in rows if r["reissued"])}


@cycles_uncollected()
def render_households(con, ctx, scratch: Path, *, only: set[str] | None = None, n_due: int | None = None,
                      statuses: list[dict] | None = None, workers: int | None = None, pool_min: int | None = None,
                      batch_size: int | None = None, reissue: dict | None = None,
                      meanwhile: Callable[[], object] | None = None) -> tuple[int, int, list[dict]]:
    """Render the household pages of the database `con` holds (or just `only`'s) into the run's report folder.

    The one page-rendering path of the report step and of a shard's work (hedui.steps.shard): the page data
    are exported to Parquet parts in a folder under `scratch` (removed after), then rendered by `workers`
    processes (HEDUI_THREADS) in batches of `batch_size` households (HEDUI_REPORT_BATCH, else sized from
    `n_due`), or in this process when fewer than `pool_min` (HEDUI_REPORT_POOL_MIN) pages are due;
    `meanwhile` is called while the workers render.  Writes no pages.parquet: returns (pages rendered,
    records cited, the rows of pages.parquet for these households), for the caller to write or pass on.
    """
    import shutil
    import tempfile

    from hedui.settings import REQUESTS, settings, sources

    run_date = ctx.run_date
    out = ctx.report_dir
    (out / "households").mkdir(parents=True, exist_ok=True)
    params = {"run_date": run_date}
    if n_due is None:
        n_due = len(only) if only is not None else con.sql(
            "select count(distinct h.request_id) from households h join figures f using (run_date, request_id) "
            "join outcomes o using (run_date, request_id) where h.run_date = $run_date",
            params=params).fetchall()[0][0]
    if statuses is None:
        statuses = _masked_statuses(con, run_date)
    workers = workers or _pool_size()
    pool_min = pool_min if pool_min is not None else settings().report_pool_min
    if batch_size is None:
        batch_size = settings().report_batch or min(BATCH_MAX, max(250, -(-n_due // (4 * workers))))
    in_process = n_due < pool_min
    env = _env()
    scratch.mkdir(parents=True, exist_ok=True)
    parts = Path(tempfile.mkdtemp(prefix="report_parts_", dir=scratch))
    try:
        started = time.perf_counter()
        n_batches, records = _export_parts(con, run_date, parts, batch_size, only)
        kill_point("report")
        exported = time.perf_counter()
        _, heads = _record_groups([s for s in sources() if s != REQUESTS])
        common = {"parts": str(parts), "folder": str(out / "households"), "run_date": run_date, "heads": heads,
                  "records": records,
                  "statuses_html": env.get_template("_household_sources.html").render(statuses=statuses),
                  "source_names": {s["source"]: s["source_zh"] for s in statuses},
                  "template": digests.template_fingerprint(), "explicit": only is not None, "reissue": reissue,
                  "previous": str(out / digests.INDEX) if (out / digests.INDEX).exists() else None}
        with _memory_limit(con, "1GB"), _pages_rendered(common, n_batches, workers, in_process) as pages:
            if meanwhile is not None:
                meanwhile()
            n_pages, records_cited = pages()
        rows = digests.batch_rows(parts)
        log.info("report pages: %d of %d rendered (%d new versions) in %d batches (%s), export %.1f s, "
                 "render %.1f s", n_pages, len(rows), sum(r["reissued"] for r in rows), n_batches,
                 "in process" if in_process else f"{workers} workers", exported - started,
                 time.perf_counter() - exported)
    finally:
        _drop_worker_state()  # when the pages were rendered here
        shutil.rmtree(parts, ignore_errors=True)
    return n_pages, records_cited, rows


def _write_batch_files(con, env, run_date: str, out: Path, statuses: list[dict], pdf: bool,
                       demonstration: bool) -> None:
    """outcomes.csv, reconciliation.csv, alerts.csv and the batch summary index.html."""
    params = {"run_date": run_date}
    register_text_mask(con)
    _write_csv(out / "outcomes.csv", ["request_id", "outcome", "findings"], con.sql(
        "select request_id, outcome, findings from outcomes where run_date = $run_date order by request_id",
        params=params))
    recon = _rows(con.sql("select source, file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
                          "where run_date = $run_date order by source, file", params=params))
    with replaced_whole(out / "reconciliation.csv", newline="", encoding="utf-8") as fh:
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
    outcomes = _summary_rows(con.sql(  # a household every request row of which was quarantined has no page
        "select o.request_id, o.outcome, o.findings, h.request_id is not null from outcomes as o "
        "left join households as h on h.run_date = o.run_date and h.request_id = o.request_id "
        "where o.run_date = $run_date order by o.request_id", params=params).fetchall())
    template = env.get_template("summary.html")
    # its `{{ value }}` calls `escape` from its module's names: this one gives the same text, with less work
    template.root_render_func.__globals__["escape"] = _escape
    summary = template.stream(
        pdf=pdf, n_alerts=n_alerts, demonstration=demonstration,
        by_county=_rows(con.sql(
            "select h.region_code, h.program, count(*) n, count(*) filter (where o.outcome = 'CLEAR') n_clear, "
            "count(*) filter (where o.outcome = 'FINDINGS') n_findings, "
            "count(*) filter (where o.outcome = 'INCOMPLETE') n_incomplete "
            "from households h join outcomes o using (run_date, request_id) where h.run_date = $run_date "
            "group by all order by all", params=params)),
        policies=_rows(con.sql(
            "select distinct policy_id, policy_source_zh, policy_demonstration from households "
            "where run_date = $run_date and policy_id is not null order by all", params=params)),
        run_date=run_date, outcomes=outcomes, statuses=statuses, recon=recon,
        outcome_zh=OUTCOME_ZH, finding_zh=FINDING_ZH, safe_name=safe_name,
        by_outcome=_rows(con.sql("select outcome, count(*) n from outcomes where run_date = $run_date "
                                 "group by all order by n desc, outcome", params=params)),
        by_finding=_rows(con.sql("select code, count(distinct request_id) n from findings "
                                 "where run_date = $run_date group by all order by n desc, code", params=params)),
        quarantine_top=_rows(con.sql(
            "with c as (select source, hd_audit_mask(reason_zh) as reason_zh, count(*) n from quarantine "
            "where run_date = $run_date "
            "group by all) select source, reason_zh, n from c "
            "qualify row_number() over (partition by source order by n desc, reason_zh) <= 3 "
            "order by source, n desc, reason_zh",
            params=params)),
    )
    with replaced_whole(out / "index.html", encoding="utf-8") as fh:
        summary.dump(fh)


def _summary_rows(rows: list[tuple]) -> list:
    """The summary's line per household (request_id, outcome, findings, has_page) with what the line shows
    worked out once in Python: `stem`, its page's file name, and `findings_zh`, the findings' Chinese names joined with
    "；" (the same text as escaping each name and joining: "；" has nothing to escape). A row is read by
    attribute at once (a dict row costs Jinja a failed attribute lookup, an exception, per value)."""
    cls = _row_class(("request_id", "outcome", "findings", "has_page", "stem", "findings_zh"))
    zh = FINDING_ZH.get
    return [cls((rid, outcome, findings, has_page, safe_name(rid),
                 "；".join(zh(c, c) for c in (findings or "").split(";") if c)))
            for rid, outcome, findings, has_page in rows]
