"""Pages: the nightly-runs dashboard, household search, the household page with its versions, reports
(HTML/PDF, any version), run summaries and Data Docs (full-scope users), and XLSX exports."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from hedui.audit.log import mask_free_text
from hedui.paths import report_file_stem, shown
from hedui.privacy.typed import typed_text
from hedui.regions import region_label
from hedui.steps.report import versions
from hedui.steps.report.display import OUTCOME_ZH, safe_name
from hedui.web import exports, queue_links
from hedui.web.accounts import User
from hedui.web.scope import scoped

# matched whole (fullmatch): `$` lets a final line break through, `\d` full-width digits
_DATE = re.compile(r"[0-9]{8}")
_REQUEST = re.compile(r"[0-9A-Za-z_\-]{1,80}")  # report_file_stem's own names
_STEM = re.compile(r"[0-9A-Za-z_\-]{1,60}\.[0-9a-f]{12}")
SEARCH_PAGE = 100  # households on one page of search results (as the review queue's pages)
#: the one answer for a household that does not exist and one outside the user's regions (same status, same page):
#: a 403 told a county's clerk which request ids another county has
NOT_FOUND_HOUSEHOLD = "未找到该户：该批次中没有这个委托编号，或该户不在您的辖区范围内。请从工作台首页或检索进入。"


def rows(rel) -> list[dict]:
    """A relation's or an executed connection's rows as dicts."""
    cols = rel.columns if hasattr(rel, "columns") else [d[0] for d in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def check_date(run_date: str | None) -> str | None:
    if run_date in (None, ""):
        return None
    if not _DATE.fullmatch(run_date):
        raise HTTPException(400, f"批次日期“{shown(run_date)}”无效：应为 8 位数字，如 20261128")
    return run_date


def check_request(request_id: str) -> str:
    if not _REQUEST.fullmatch(request_id) and not _STEM.fullmatch(request_id):
        raise HTTPException(400, "委托编号无效：请从工作台页面上的链接进入")
    return request_id


def resolve_request(con, run_date: str, part: str) -> str:
    """The request id a household path names: the id itself when it is plain letters, digits, - and _;
    else the name of its report file (`report_file_stem`: safe characters, '.', 12 hex digits), which
    links carry for an id like "赣民〔2026〕#7/甲" (a '#' or '/' has no place in a path)."""
    check_request(part)
    if _REQUEST.fullmatch(part):
        return part
    odd = con.execute("select distinct request_id from households where run_date = ? "
                      "and not regexp_full_match(request_id, '[0-9A-Za-z_\\-]{1,80}')", [run_date]).fetchall()
    return next((rid for (rid,) in odd if report_file_stem(rid) == part), part)


def hid(request_id: str) -> str:
    """A request id as a path segment of the workspace's links (see `resolve_request`)."""
    return report_file_stem(request_id)


def search_households(con, q: str = "", outcome: str = "", county: str = "", program: str = "",
                      run_date: str = "", limit: int = SEARCH_PAGE, offset: int = 0, total: list | None = None
                      ) -> list[dict]:
    """Households of the user's scope (`con` from `scoped`) matching the query and filters, `limit` of them from
    `offset`; `total`, a list, gets how many match in all."""
    where, params = ["true"], {}
    q = (q or "").strip()
    if q:
        if re.fullmatch(r"\d{4}|\d{3}[Xx]", q):  # the last 4 of an ID
            where.append("exists (select 1 from my_members m where m.run_date = h.run_date and "
                         "m.request_id = h.request_id and upper(right(m.id_masked, 4)) = upper($q))")
        elif re.fullmatch(r"[0-9A-Za-z_\-]+", q):
            where.append("h.request_id ilike '%' || $q || '%'")
        else:  # a name, or a request id as an agency writes it (赣民〔2026〕7号)
            where.append("(contains(h.request_id, $q) or exists (select 1 from my_members m where "
                         "m.run_date = h.run_date and m.request_id = h.request_id and contains(m.name, $q)))")
        params["q"] = q
    for column, value in (("outcome", outcome), ("region_code", county), ("program", program),
                          ("run_date", run_date)):
        if value:
            where.append(f"h.{column} = ${column}")
            params[column] = value
    if total is not None:
        total.append(con.sql(f"select count(*) from my_households h where {' and '.join(where)}",
                             params=params).fetchall()[0][0])
    rel = con.sql(
        "select h.run_date, h.request_id, h.region_code, h.program, h.outcome, h.findings, "
        "a.name as applicant, a.id_masked as applicant_id from my_households h "
        "left join (select run_date, request_id, any_value(name) as name, any_value(id_masked) as id_masked "
        "           from my_members where relation = '本人' group by all) a using (run_date, request_id) "
        f"where {' and '.join(where)} order by h.run_date desc, h.request_id limit {int(limit)} offset {int(offset)}",
        params=params)
    out = rows(rel)
    for r in out:
        r["region_zh"] = region_label(r["region_code"])
    return out


def _filters(con) -> dict:
    return {
        "counties": [(c, region_label(c)) for (c,) in con.sql(
            "select distinct region_code from my_households order by 1").fetchall()],
        "programs": [p for (p,) in con.sql("select distinct program from my_households order by 1").fetchall()],
        "dates": [d for (d,) in con.sql("select distinct run_date from my_households order by 1 desc").fetchall()],
    }


def covers_whole_run(con, run_date: str) -> bool:
    """True when the user's scope holds every household of the run (run-wide pages are for them only)."""
    mine, every = con.execute(
        "select (select count(*) from my_households where run_date = $d), "
        "(select count(*) from households where run_date = $d)", {"d": run_date}).fetchall()[0]
    return every > 0 and mine == every


def _well_formed(run_date: str, request_id: str) -> None:
    """A household address's date and id checked before the working database is opened: while a nightly held it,
    an address no household can have (`/h/2026-11-28/…`, an id with a space) waited two minutes for a 503
    "核对批次正在运行" instead of its 400 at once."""
    check_date(run_date)
    check_request(request_id)


def register(app: FastAPI) -> None:
    render, workdir, audit = app.state.render, app.state.workdir, app.state.audit
    user_dep = Depends(app.state.current_user)

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request, user: User = user_dep):
        from hedui.review.queue import LATER_RUN_SQL
        from hedui.web.quarantine_rows import quarantined

        with scoped(workdir, user) as con:
            runs = rows(con.sql(
                "select run_date, count(*) as n, count(*) filter (where outcome = 'CLEAR') as n_clear, "
                "count(*) filter (where outcome = 'FINDINGS') as n_findings, "
                "count(*) filter (where outcome = 'INCOMPLETE') as n_incomplete "
                "from my_households group by run_date order by run_date desc"))
            for r in runs:
                r["bad_sources"] = rows(con.execute(
                    "select source_zh, status, reasons_zh from source_status where run_date = ? "
                    "and status <> 'passed' order by source", [r["run_date"]]))
                r["whole"] = covers_whole_run(con, r["run_date"])
                r["quarantined"] = quarantined(con, r["run_date"], r["whole"], limit=0)[1]  # rows the user may see
                r["pending"] = con.execute(  # a pair a later run superseded is no work left to do
                    f"select count(*) from my_queue q where run_date = ? and status = 'pending' and {LATER_RUN_SQL} "
                    "is null", [r["run_date"]]).fetchall()[0][0]
        return render(request, "dashboard.html", runs=runs)

    @app.get("/search", response_class=HTMLResponse)
    def search(request: Request, q: str = "", outcome: str = "", county: str = "", program: str = "",
               date: str = "", page: str = "1", user: User = user_dep):
        date = check_date(date) or ""
        q = typed_text(q)  # a name or ID pasted with a zero-width space, an ID's last 4 in full-width digits
        page_no = int(page) if page.isascii() and page.isdigit() and 0 < len(page) <= 6 and int(page) else 1
        total: list[int] = []
        with scoped(workdir, user) as con:
            filters = _filters(con)
            found = search_households(con, q, outcome, county, program, date, limit=SEARCH_PAGE,
                                      offset=(page_no - 1) * SEARCH_PAGE, total=total) if request.query_params else []
            pages = max(1, -(-total[0] // SEARCH_PAGE)) if total else 1
            if total and total[0] and not found:  # a page past the end (a kept link): the last one
                page_no = pages
                found = search_households(con, q, outcome, county, program, date, limit=SEARCH_PAGE,
                                          offset=(page_no - 1) * SEARCH_PAGE)
        if found:
            audit.append(actor=user.username, action="household_search", subject=f"检索家庭 {len(found)} 户",
                         details={"query": mask_free_text(q), "outcome": outcome, "county": county, "program": program,
                                  "run_date": date, "page": page_no, "households": [r["request_id"] for r in found][:50]})
        # a full ID or account typed into the box finds nothing (only its last 4 do) and is not shown back; the
        # filters go into the pager's and the export's links only when they are choices of the form's lists
        args = {"q": mask_free_text(q), "outcome": outcome if outcome in OUTCOME_ZH else "",
                "county": county if county in dict(filters["counties"]) else "",
                "program": program if program in filters["programs"] else "",
                "date": date if date in filters["dates"] else ""}
        from urllib.parse import urlencode

        query = urlencode({k: v for k, v in args.items() if v})
        return render(request, "search.html", found=found, filters=filters, total=total[0] if total else 0,
                      page=page_no, pages=pages, page_size=SEARCH_PAGE, args=args, query=query,
                      searched=bool(request.query_params))

    def _run_wide(user: User, run_date: str, exists: bool, refusal: str) -> None:
        """403 `refusal` unless the user's scope covers the run. For a file that is not there the database is not
        waited for: while a nightly held it, a mistyped Data Docs or summary address waited two minutes for a 503
        "核对批次正在运行" although no run could ever make it a page; it is "未找到" then, for every user."""
        from hedui.db import DatabaseBusyError

        try:
            with scoped(workdir, user, wait_s=None if exists else 0) as con:
                whole = covers_whole_run(con, run_date)
        except DatabaseBusyError:
            if exists:
                raise
            whole = True  # not there for anyone: the caller's 404
        if not whole:
            raise HTTPException(403, refusal)

    def _household(con, run_date: str, request_id: str) -> dict:
        check_date(run_date)
        request_id = resolve_request(con, run_date, request_id)
        found = rows(con.execute("select * from my_households where run_date = ? and request_id = ?",
                                 [run_date, request_id]))
        if not found:  # one answer whether it does not exist or is another county's: no existence oracle
            raise HTTPException(404, NOT_FOUND_HOUSEHOLD)
        return found[0]

    @app.get("/h/{run_date}/{request_id}", response_class=HTMLResponse)
    def household(request: Request, run_date: str, request_id: str, user: User = user_dep):
        from hedui.review.queue import DECISIONS, STATUS_ZH
        _well_formed(run_date, request_id)

        with scoped(workdir, user) as con:
            h = _household(con, run_date, request_id)
            request_id = h["request_id"]
            members = rows(con.execute(
                "select name, id_masked, relation, nullif(trim(authorization_no), '') is not null as authorized "
                "from my_members where run_date = ? and request_id = ? order by relation <> '本人', row_no",
                [run_date, request_id]))
            runs = rows(con.execute("select run_date, outcome, findings from my_households where request_id = ? "
                                    "order by run_date", [request_id]))
            decisions = rows(con.execute(
                "select d.decision, d.reviewer, d.decided_at, d.reason, coalesce(s.source_zh, q.source) as source, "
                "q.match_weight, q.decision_key from my_queue q join review_decisions d using (decision_key) "
                "left join source_status s on s.run_date = q.run_date and s.source = q.source "
                "where q.run_date = ? and q.request_id = ? order by d.decided_at", [run_date, request_id]))
            queue = rows(con.execute(
                "select q.decision_key, coalesce(s.source_zh, q.source) as source, q.match_weight, q.status "
                "from my_queue q left join source_status s on s.run_date = q.run_date and s.source = q.source "
                "where q.run_date = ? and q.request_id = ? order by q.match_weight desc", [run_date, request_id]))
        report_dir = workdir / "reports" / run_date
        kept = versions.list_versions(report_dir, request_id)
        for older, newer in zip(kept, kept[1:], strict=False):
            newer["diff"] = versions.diff(older, newer)
        from hedui.web import objections

        objs = objections.for_household(workdir, run_date, request_id)
        with scoped(workdir, user) as con:
            from hedui.review.queue import later_household_run

            later = later_household_run(con, run_date, request_id)
            back = queue_links.carried(con, request.query_params)  # the queue's filters, validated
            next_pair = queue_links.next_pending(con, run_date, back) if request.query_params.get("decided") else None
        audit.append(actor=user.username, action="household_view", subject=f"委托 {request_id}（批次 {run_date}）",
                     details={"page": "household", "region_code": h["region_code"]})
        return render(request, "household.html", h=h, members=members, runs=runs, decisions=decisions,
                      decision_zh=DECISIONS, status_zh=STATUS_ZH, queue=queue, versions=kept, objections=objs,
                      region_zh=region_label(h["region_code"]),
                      window=objections.window_for(workdir, run_date, request_id), later=later,
                      decided=request.query_params.get("decided") == "1", next_pair=next_pair,
                      back=queue_links.query(back), from_queue=bool(back) or request.query_params.get("from") == "review")

    def _report_file(run_date: str, request_id: str, v: int | None) -> Path:
        report_dir = workdir / "reports" / run_date
        if v:
            path = versions.version_file(report_dir, request_id, v)
        else:
            path = report_dir / "households" / f"{safe_name(request_id)}.html"
        if not path or not path.exists():
            raise HTTPException(404, "未找到该版本的报告")
        return path

    @app.get("/h/{run_date}/{request_id}/report", response_class=HTMLResponse)
    def report_page(request: Request, run_date: str, request_id: str, v: int | None = None,
                    user: User = user_dep):
        _well_formed(run_date, request_id)
        with scoped(workdir, user) as con:
            request_id = _household(con, run_date, request_id)["request_id"]
        path = _report_file(run_date, request_id, v)
        audit.append(actor=user.username, action="household_view", subject=f"委托 {request_id}（批次 {run_date}）",
                     details={"page": "report", "version": v or "current"})
        return HTMLResponse(path.read_text(encoding="utf-8"))

    @app.get("/h/{run_date}/{request_id}/report.pdf")
    def report_pdf(request: Request, run_date: str, request_id: str, v: int | None = None,
                   user: User = user_dep):
        _well_formed(run_date, request_id)
        with scoped(workdir, user) as con:
            request_id = _household(con, run_date, request_id)["request_id"]
        html = _report_file(run_date, request_id, v)
        pdf = html.with_suffix(".pdf")
        if not pdf.exists() or pdf.stat().st_mtime < html.stat().st_mtime:
            from hedui.steps.report.pdf import to_pdf

            to_pdf([(html, pdf)])
        audit.append(actor=user.username, action="export", subject=f"委托 {request_id}（批次 {run_date}）PDF",
                     details={"version": v or "current"})
        # the run and the version in the name: a household's PDFs of two runs or versions never overwrite each other
        name = f"核对报告_{safe_name(request_id)}_批次{run_date}{f'_第{v}版' if v else ''}.pdf"
        return FileResponse(pdf, media_type="application/pdf", filename=name)

    @app.get("/runs/{run_date}/summary", response_class=HTMLResponse)
    def run_summary(request: Request, run_date: str, user: User = user_dep):
        check_date(run_date)
        path = workdir / "reports" / run_date / "index.html"
        _run_wide(user, run_date, path.exists(), "批次汇总含全批次各区县的家庭，仅对辖区覆盖整个批次的账号开放；请使用工作台首页与检索。")
        if not path.exists():
            raise HTTPException(404, f"批次 {run_date} 没有汇总页（批次日期有误，或该批次尚未生成报告）：请从工作台首页的批次列表进入。")
        audit.append(actor=user.username, action="household_view", subject=f"查看批次汇总（批次 {run_date}）",
                     details={"page": "run_summary", "run_date": run_date})  # every household of the run
        return HTMLResponse(path.read_text(encoding="utf-8"))

    @app.get("/runs/{run_date}/households/{name}")
    def summary_link(request: Request, run_date: str, name: str, user: User = user_dep):
        """The batch summary's links to a household's report (`households/<stem>.html`, `.pdf`), relative to the
        summary's own address: served at /runs/<date>/summary, every one of them was "未找到该页面"."""
        stem, _, kind = name.rpartition(".")
        if kind not in ("html", "pdf"):
            raise HTTPException(404, "未找到该页面")
        _well_formed(run_date, stem)
        with scoped(workdir, user) as con:
            request_id = _household(con, run_date, stem)["request_id"]  # the user's own, or "not found"
        return RedirectResponse(f"/h/{run_date}/{hid(request_id)}/report{'.pdf' if kind == 'pdf' else ''}",
                                status_code=303)

    @app.get("/runs/{run_date}/datadocs/{rest:path}")
    def datadocs(request: Request, run_date: str, rest: str, user: User = user_dep):
        check_date(run_date)
        root = (workdir / "reports" / run_date / "datadocs").resolve()
        try:  # a NUL (ValueError) or an over-long name (OSError) was a 500; a backslash is no path of ours
            path = (root / (rest or "index.html")).resolve()
            if path.is_dir():
                path = path / "index.html"
            found = "\\" not in rest and path.is_relative_to(root) and path.is_file()
        except (OSError, ValueError):
            found = False
        _run_wide(user, run_date, found, "数据校验报告（Data Docs）含全批次的原始值，仅对辖区覆盖整个批次的账号开放。")
        if not found:
            raise HTTPException(404, f"未找到该页面：批次 {run_date} 的数据校验报告中没有这一页（地址有误，或该批次未生成"
                                     "数据校验报告）。请从工作台首页该批次的“数据校验报告”链接进入。")
        from hedui.web.security import DOCS_CSP

        if path.suffix.lower() in (".html", ".htm"):  # a page shows delivered values (a failing row's ID, name)
            # on record as every other read of personal data is; its scripts, styles and images show none
            audit.append(actor=user.username, action="household_view", subject=f"查看数据校验报告（批次 {run_date}）",
                         details={"page": "datadocs", "run_date": run_date, "file": path.relative_to(root).as_posix()})
        return FileResponse(path, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get("/export/outcomes.xlsx")
    def export_outcomes(request: Request, q: str = "", outcome: str = "", county: str = "", program: str = "",
                        date: str = "", user: User = user_dep):
        date = check_date(date) or ""
        q = typed_text(q)
        with scoped(workdir, user) as con:
            found = search_households(con, q, outcome, county, program, date, limit=1_000_000)
        data = exports.outcomes_xlsx(found)
        audit.append(actor=user.username, action="export", subject=f"导出核对结论 {len(found)} 户",
                     details={"query": q, "outcome": outcome, "county": county, "run_date": date})
        return _xlsx(data, f"核对结论_{date or '全部'}.xlsx")


def _xlsx(data: bytes, name: str) -> Response:
    from urllib.parse import quote

    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
