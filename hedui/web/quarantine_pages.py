"""Quarantined records for staff: a run's rows that failed their checks, each with its source, file, row, reason,
the masked ID it carries and the household it concerns; a CSV export.

A clerk sees only the rows that concern a household of the clerk's own regions (the link step's
`quarantine_links`, or a row of the request list itself); a row that names no household is shown only to users
whose regions cover the whole run (as the run summary), the others see how many there are."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hedui.web import quarantine_rows
from hedui.web.accounts import User
from hedui.web.bidi import show_bidi
from hedui.web.pages import check_date, covers_whole_run
from hedui.web.quarantine_rows import quarantined
from hedui.web.scope import scoped


def _sources(con, run_date: str, whole: bool) -> list[tuple[str, str]]:
    found, _ = quarantined(con, run_date, whole)
    return sorted({(r["source"], r["source_zh"]) for r in found})


def register(app: FastAPI) -> None:
    render, workdir, audit = app.state.render, app.state.workdir, app.state.audit
    user_dep = Depends(app.state.current_user)

    def _args(con, date: str, source: str) -> dict:
        date = check_date(date) or con.execute("select max(run_date) from my_households").fetchall()[0][0] or ""
        whole = bool(date) and covers_whole_run(con, date)
        sources = _sources(con, date, whole) if date else []
        if source and source not in {s for s, _ in sources}:
            raise HTTPException(400, "部门数据筛选无效：请从下拉列表中选择")
        return {"date": date, "source": source, "whole": whole, "sources": sources}

    @app.get("/quarantine", response_class=HTMLResponse)
    def quarantine_page(request: Request, date: str = "", source: str = "", page: str = "1", user: User = user_dep):
        page_no = int(page) if page.isascii() and page.isdigit() and 0 < len(page) <= 6 and int(page) else 1
        with scoped(workdir, user) as con:
            a = _args(con, date, source)
            items, total, hidden = [], 0, 0
            if a["date"]:
                items, total = quarantined(con, a["date"], a["whole"], a["source"], quarantine_rows.QUARANTINE_PAGE,
                                           (page_no - 1) * quarantine_rows.QUARANTINE_PAGE)
                if total and not items:  # a page past the end: the last one
                    page_no = -(-total // quarantine_rows.QUARANTINE_PAGE)
                    items = quarantined(con, a["date"], a["whole"], a["source"], quarantine_rows.QUARANTINE_PAGE,
                                        (page_no - 1) * quarantine_rows.QUARANTINE_PAGE)[0]
                if not a["whole"]:  # rows outside the user's households: how many, not which
                    every = con.execute("select count(*) from (select distinct source, file_name, row_no "
                                        "from quarantine where run_date = ?)", [a["date"]]).fetchall()[0][0]
                    hidden = every - quarantined(con, a["date"], False, limit=0)[1]
            dates = [d for (d,) in con.sql("select distinct run_date from my_households order by 1 desc").fetchall()]
        audit.append(actor=user.username, action="household_view", subject=f"查看隔离记录 {len(items)} 条（批次 {a['date']}）",
                     details={"page": "quarantine", "source": a["source"], "households":
                              sorted({rid for r in items for rid, _ in r["households"]})[:50]})
        query = urlencode({k: a[k] for k in ("date", "source") if a[k]})
        return render(request, "quarantine.html", items=items, total=total, hidden=hidden, dates=dates, page=page_no,
                      pages=max(1, -(-total // quarantine_rows.QUARANTINE_PAGE)), page_size=quarantine_rows.QUARANTINE_PAGE, query=query, **a)

    @app.get("/quarantine/export.csv")
    def quarantine_export(request: Request, date: str = "", source: str = "", user: User = user_dep):
        from hedui.safe_csv import SafeWriter

        with scoped(workdir, user) as con:
            a = _args(con, date, source)
            items = quarantined(con, a["date"], a["whole"], a["source"])[0] if a["date"] else []
        buf = io.StringIO()
        out = SafeWriter(buf)  # every cell formula-neutralized: a delivered value "=HYPERLINK(…)" stays text
        out.writerow(["核对批次", "部门数据", "文件", "行号", "隔离原因", "问题值", "证件号码（脱敏）", "涉及家庭（委托编号）"])
        for r in items:  # a bidi control in a delivered value shown as "[U+202E]", as on the page and in the XLSX exports
            out.writerow([show_bidi(v) for v in (
                a["date"], r["source_zh"], r["file_name"], r["row_no"], r["reasons"], r["bad_values"] or "",
                r["id_masked"] or "", "、".join(rid for rid, _ in r["households"]))])
        audit.append(actor=user.username, action="export", subject=f"导出隔离记录 {len(items)} 条（批次 {a['date']}）",
                     details={"source": a["source"]})
        name = f"隔离记录_{a['date'] or '无批次'}{'_' + a['source'] if a['source'] else ''}.csv"
        return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

