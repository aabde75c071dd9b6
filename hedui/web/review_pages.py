"""The review queue (every compared field, competing candidates), decisions, objections, overdue lists."""

from __future__ import annotations

import re
from functools import lru_cache

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hedui import db
from hedui.errors import HeduiError, LockedError
from hedui.privacy.typed import StaffTextError, staff_text
from hedui.regions import region_label
from hedui.web import exports, objections, queue_links
from hedui.web.accounts import User
from hedui.web.pages import NOT_FOUND_HOUSEHOLD, _xlsx, check_date, hid, resolve_request, rows
from hedui.web.queue_links import ORDERS
from hedui.web.scope import DB_LOCK, scoped


@lru_cache(maxsize=1)
def plate_cities() -> dict[str, str]:
    """Licence-plate prefix → city code, read from the link step's own SQL (one source of truth)."""
    text = db.sql_text("link/prob_left.sql")
    return dict(re.findall(r"\('(\S{2})', '(\d{4})'\)", text))


def _latest_date(con) -> str | None:
    row = con.execute("select max(run_date) from my_queue").fetchall()[0]
    return row[0] if row else None


QUEUE_PAGE = 100  # pairs on one page of the queue: a run of 1,000+ pairs is paged, not one endless table


def _queue(con, run_date: str, status: str = "", *, county: str = "", source: str = "", record_id: str = "",
           order: str = "", page: int = 0) -> tuple[list[dict], int]:
    """The user's pairs of a run, filtered, one page of them (`page` from 1; 0: all): (rows, how many match).

    "待审核" leaves out pairs a later run superseded, as the dashboard's count of pending pairs does."""
    from hedui.review.queue import LATER_RUN_SQL, STATUS_ZH, with_deciders

    params = {"d": run_date}
    extra = ""
    if status:
        extra, params["s"] = " and q.status = $s", status
        if status == "pending":
            extra += f" and {LATER_RUN_SQL} is null"
    for column, name, value in (("m.region_code", "c", county), ("q.source", "src", source),
                                ("q.record_id", "r", record_id)):
        if value:
            extra += f" and {column} = ${name}"
            params[name] = value
    base = ("from my_queue q left join (select distinct run_date, request_id, id_norm, name, id_masked, region_code "
            "from my_members) m on m.run_date = q.run_date and m.request_id = q.request_id and m.id_norm = q.member_id "
            "left join source_status s on s.run_date = q.run_date and s.source = q.source "
            f"where q.run_date = $d{extra}")
    total = con.execute(f"select count(*) {base}", params).fetchall()[0][0]
    weight = "q.match_weight" if order == "asc" else "q.match_weight desc"
    limit = f" limit {QUEUE_PAGE} offset {(page - 1) * QUEUE_PAGE}" if page else ""
    out = rows(con.execute(
        "select q.run_date, q.decision_key, q.record_id, q.source, q.request_id, q.match_weight, q.band, q.status, "
        f"m.name as member_name, m.id_masked as member_masked, m.region_code, s.source_zh, {LATER_RUN_SQL} as later "
        f"{base} order by q.status <> 'pending', {weight}, q.record_id, q.request_id{limit}", params))
    for r in out:
        r["status_zh"] = STATUS_ZH.get(r["status"], r["status"])
        if r["later"] and r["status"] == "pending":  # a later run replaced it: nothing to decide here
            r["status_zh"] = f"已由批次 {r['later']} 取代，无需决定"
        r["region_zh"] = region_label(r["region_code"])
    return with_deciders(con, out), total


def _queue_filters(con) -> dict:
    return {
        "counties": [(c, region_label(c)) for (c,) in con.sql(
            "select distinct region_code from my_households order by 1").fetchall()],
        "sources": [tuple(r) for r in con.sql(
            "select distinct q.source, coalesce(s.source_zh, q.source) from my_queue q left join source_status s "
            "on s.run_date = q.run_date and s.source = q.source order by 1").fetchall()],
    }


def _check_filter(value: str, choices: list[tuple], what: str) -> str:
    if value and value not in {c for c, _ in choices}:
        raise HTTPException(400, f"{what}筛选无效：请从下拉列表中选择")
    return value


def _check_status(status: str) -> str:
    from hedui.review.queue import STATUS_ZH

    if status and status not in STATUS_ZH:
        raise HTTPException(400, f"状态筛选无效：可选 {'、'.join(f'{k}（{v}）' for k, v in STATUS_ZH.items())}")
    return status


def _comparison(p: dict, con) -> list[dict]:
    """Every compared field: the record's value, the member's, the comparison's result and weight."""
    import json

    from matching.linkage import waterfall

    record = dict(p["record_fields"])
    member = dict(p["member_fields"])
    city_member = (member.get("区划代码") or "")[:4]
    city_record = ""
    plate = record.get("号牌号码") or ""
    if plate[:2] in plate_cities():
        city_record = plate_cities()[plate[:2]]
    values = {
        "姓名": (record.get("姓名") or record.get("户名") or record.get("所有人") or next(
            (v for k, v in record.items() if "姓名" in k or "名称" in k), "—"), member.get("姓名")),
        "身份证号": (next((v for k, v in record.items() if "证" in k and "号" in k), "—"), member.get("身份证号")),
        "出生日期": ("（由证件号推得，不单独显示）", "（由证件号推得，不单独显示）"),
        "所在市": (f"{region_label(city_record + '00')}（号牌 {plate[:2]}）" if city_record else "（由证件号推得）",
                 region_label(city_member + "00") if city_member else "—"),
    }
    parts = json.loads(p["breakdown"]) if p.get("breakdown") else []
    labels = waterfall(p["breakdown"], lang="zh") if p.get("breakdown") else []
    out = []
    for (field, _level, weight), (label, _) in zip(parts, labels, strict=True):
        if field == "prior":
            out.append({"field": "先验", "record": "", "member": "", "result": "任意两条候选记录属于同一人的可能",
                        "weight": weight})
            continue
        rec, mem = values.get(field, ("—", "—"))
        out.append({"field": field, "record": rec, "member": mem, "result": label.split(": ", 1)[-1],
                    "weight": weight})
    return out


NOT_FOUND_PAIR = "未找到该匹配对：该批次中没有这个匹配对，或它不在您的辖区范围内。请从复核队列进入。"
#: a decision sent for a pair its run's queue no longer holds (the run re-done since the page was opened: a corrected
#: delivery links the record otherwise, or not at all) — one answer with a pair of another county's (no oracle)
PAIR_GONE = ("您的决定未保存：批次 {run_date} 的复核队列中已没有该匹配对。该批次可能在您打开页面后重新核对过"
             "（部门数据更新后，原匹配对由新的匹配结果取代），或该匹配对不在您的辖区范围内。该户结论以重新核对的结果为准，"
             "请回到复核队列，按最新的待审核匹配对处理。")
ELSEWHERE = ("该匹配对的同一成员也在其他辖区家庭的委托中：决定会同时改变那些家庭的核对结论并重出报告，"
             "须由辖区覆盖这些家庭的审核员作出。")


def _taken(con, run_date: str, p: dict) -> dict | None:
    """The decision that gave the pair's record to another member (a record belongs to one person: confirming this
    pair is refused, `hedui.review.queue.decide`), with whether that pair is the user's to open, else None."""
    from hedui.review.conflicts import when

    found = rows(con.execute(
        "select q.decision_key, q.request_id, exists (select 1 from my_queue m where m.run_date = q.run_date and "
        "m.decision_key = q.decision_key and m.request_id = q.request_id) as mine, d.reviewer, d.decided_at "
        "from review_queue q left join (select decision_key, arg_max(reviewer, decided_at) as reviewer, "
        "max(decided_at) as decided_at from review_decisions group by all) d using (decision_key) "
        "where q.run_date = ? and q.record_id = ? and q.member_id <> ? and q.status = 'confirmed' "
        "order by mine desc, q.request_id limit 1", [run_date, p["record_id"], p["member_id"]]))
    if not found:
        return None
    t = found[0]
    t["when"] = when(t["decided_at"]) if t["decided_at"] else ""
    if t["mine"]:
        t["member"] = next((f"{c['member_name']}（{c['member_masked']}）" for c in p["competing"]
                            if c["decision_key"] == t["decision_key"]), "")
    return t


def _submitted_twice(history: list[dict], seen: int, username: str, decision: str, reason: str) -> bool:
    """The one decision made since the page was shown is this very form's: same user, decision and reason."""
    if len(history) != seen + 1:
        return False
    last = history[-1]
    return (last["reviewer"] == username and last["decision"] == decision
            and (last["reason"] or "").strip() == reason.strip())


def register(app: FastAPI) -> None:
    render, workdir, audit = app.state.render, app.state.workdir, app.state.audit
    user_dep = Depends(app.state.current_user)
    post_dep = Depends(app.state.csrf_guard)

    def _queue_args(con, date: str, status: str, county: str, source: str, order: str) -> dict:
        _check_status(status)
        if order not in ORDERS:
            raise HTTPException(400, "排序方式无效：请从下拉列表中选择")
        filters = _queue_filters(con)
        return {"date": date or _latest_date(con) or "", "status": status,
                "county": _check_filter(county, filters["counties"], "区县"),
                "source": _check_filter(source, filters["sources"], "部门数据"), "order": order, "filters": filters}

    @app.get("/review", response_class=HTMLResponse)
    def queue_page(request: Request, date: str = "", status: str = "", county: str = "", source: str = "",
                   order: str = "", page: str = "1", user: User = user_dep):
        date = check_date(date) or ""
        page_no = int(page) if page.isascii() and page.isdigit() and 0 < len(page) <= 6 and int(page) else 1
        with scoped(workdir, user) as con:
            a = _queue_args(con, date, status, county, source, order)
            items, total = _queue(con, a["date"], a["status"], county=a["county"], source=a["source"],
                                  order=order, page=page_no) if a["date"] else ([], 0)
            if total and not items:  # a page past the end (a kept link after decisions emptied it): the last one
                page_no = -(-total // QUEUE_PAGE)
                items = _queue(con, a["date"], a["status"], county=a["county"], source=a["source"], order=order,
                               page=page_no)[0]
            dates = [d for (d,) in con.sql("select distinct run_date from my_queue order by 1 desc").fetchall()]
        if items:  # members' names and masked IDs of many households: who looked at which is on record, as a search
            audit.append(actor=user.username, action="household_view", subject=f"查看复核队列 {len(items)} 条（批次 {a['date']}）",
                         details={"page": "review_queue", "run_date": a["date"], "status": a["status"],
                                  "county": a["county"], "source": a["source"], "page_no": page_no,
                                  "households": sorted({r["request_id"] for r in items})[:50]})
        from urllib.parse import urlencode

        query = urlencode({k: a[k] for k in ("date", "status", "county", "source", "order")})
        back = queue_links.query({**a, "page": str(page_no) if page_no > 1 else ""})  # carried to the pair pages
        return render(request, "queue.html", items=items, dates=dates, total=total, page=page_no, page_size=QUEUE_PAGE, orders=ORDERS,
                      pages=max(1, -(-total // QUEUE_PAGE)), query=query, back=back, **a)

    @app.get("/review/export.xlsx")
    def queue_export(request: Request, date: str = "", status: str = "", county: str = "", source: str = "",
                     order: str = "", user: User = user_dep):
        date = check_date(date) or ""
        with scoped(workdir, user) as con:
            a = _queue_args(con, date, status, county, source, order)
            date = a["date"]
            items = _queue(con, date, a["status"], county=a["county"], source=a["source"], order=order)[0] \
                if date else []
        audit.append(actor=user.username, action="export", subject=f"导出复核队列 {len(items)} 条（批次 {date}）")
        return _xlsx(exports.queue_xlsx(items), f"复核队列_{date}.xlsx")

    def _pair(con, run_date: str, key: str) -> dict:
        from hedui.review.queue import DECISIONS, later_run, pair

        _check_key(key)
        mine = con.execute("select request_id from my_queue where run_date = ? and decision_key = ? "
                           "order by request_id", [run_date, key]).fetchall()
        if not mine:  # one answer whether it does not exist or is another county's (no existence oracle)
            raise HTTPException(404, NOT_FOUND_PAIR)
        p = pair(con, run_date, key, request_id=mine[0][0])  # the user's household, never another county's
        # the same person asked about in a household outside the scope: a decision would re-issue its report
        p["households_elsewhere"] = con.execute(
            "select count(distinct request_id) from review_queue q where run_date = ? and decision_key = ? "
            "and not exists (select 1 from my_queue m where m.run_date = q.run_date and m.request_id = q.request_id)",
            [run_date, key]).fetchall()[0][0]
        p["later_run"] = later_run(con, run_date, key)  # a superseded run's pair is shown, not decided
        p["comparison"] = _comparison(p, con)
        p["decisions_zh"] = DECISIONS
        candidates = _queue(con, run_date, record_id=p["record_id"])[0]
        p["competing"] = [c for c in candidates if c["decision_key"] != key]
        p["taken"] = _taken(con, run_date, p)
        p["competing_elsewhere"] = con.execute(
            "select count(*) from review_queue q where run_date = ? and record_id = ? and not exists "
            "(select 1 from my_queue m where m.run_date = q.run_date and m.decision_key = q.decision_key)",
            [run_date, p["record_id"]]).fetchall()[0][0]
        return p

    @app.get("/review/{run_date}/{key}", response_class=HTMLResponse)
    def pair_page(request: Request, run_date: str, key: str, user: User = user_dep):
        check_date(run_date)
        _check_key(key)  # before the database: a nightly holding it made a mistyped key a 503
        with scoped(workdir, user) as con:
            p = _pair(con, run_date, key)
            ctx = queue_links.carried(con, request.query_params)
            skip = queue_links.next_pending(con, run_date, ctx, after=p) if not p["later_run"] else None
            back = queue_links.query(ctx)
        audit.append(actor=user.username, action="household_view", subject=f"委托 {p['request_id']} 复核匹配对",
                     details={"page": "review_pair", "run_date": run_date, "source": p["source"]})
        from hedui.review.queue import superseded_message

        return render(request, "pair.html", p=p, run_date=run_date, message=request.query_params.get("msg"),
                      elsewhere=ELSEWHERE, back=back, skip=skip,
                      superseded=superseded_message(run_date, p["later_run"], refused=False) if p["later_run"] else "")

    @app.post("/review/{run_date}/{key}/decide")
    def decide(request: Request, run_date: str, key: str, decision: str = Form(""), reason: str = Form(""),
               seen: str = Form(""), user: User = post_dep):
        from hedui.pipeline import RunContext, writing
        from hedui.review.conflicts import AlreadyRecorded, DecidedMeanwhile, refused_busy
        from hedui.review.decisions import record_decision
        from hedui.review.queue import RecordTaken, SupersededRun

        check_date(run_date)
        try:  # staff text is shown to others: no invisible characters, ID or account number in it
            reason = staff_text(reason, "理由")
        except StaffTextError as exc:
            raise HTTPException(400, str(exc)) from None
        if not user.can("review"):
            raise HTTPException(403, f"{user.role_zh}不能作出复核决定")
        if not (seen.isascii() and seen.isdigit() and len(seen) <= 9):  # "²" or 5000 digits: int() raised, a 500
            raise HTTPException(400, "请从复核匹配对页面提交决定（页面已过期或表单不完整）：请重新打开该匹配对")
        ctx = RunContext.of(workdir, workdir, run_date)
        try:
            # the writer lock before the pair is read: `hedui review` (another process) cannot save a decision
            # between this check of what the form saw and this decision's save
            with DB_LOCK, writing(ctx, "review decision"):
                with scoped(workdir, user) as con:
                    try:
                        p = _pair(con, run_date, key)
                    except HTTPException as exc:  # the form's pair is gone: say the decision was not saved, and why
                        if exc.status_code != 404:
                            raise
                        raise HTTPException(404, PAIR_GONE.format(run_date=run_date)) from None
                    back = queue_links.query(queue_links.carried(con, request.query_params))
                if p["households_elsewhere"]:
                    raise HTTPException(403, ELSEWHERE)
                done = RedirectResponse(f"/h/{run_date}/{hid(p['request_id'])}?decided=1"
                                        + (f"&{back}" if back else ""), status_code=303)
                if _submitted_twice(p["history"], int(seen), user.username, decision, reason):
                    # a double click (or a resent form) of the decision just saved: its page again, not a 409
                    # saying "your decision was not saved" about the decision that was
                    return done
                result = record_decision(ctx, key, decision, user.username, reason, expect=int(seen), via="web")
        except AlreadyRecorded:
            return done
        except LockedError as exc:  # 503: hedui.web.app's answer names what holds the folder (a decision, a run)
            refused_busy(audit, run_date, key, decision, user.username, reason, getattr(exc, "holder", {}), "web")
            raise
        except (SupersededRun, RecordTaken, DecidedMeanwhile) as exc:
            raise HTTPException(409, str(exc)) from None
        except HeduiError as exc:
            raise HTTPException(400, str(exc)) from None
        return RedirectResponse(f"/h/{run_date}/{hid(result['request_id'])}?v={result['version']}&decided=1"
                                + (f"&{back}" if back else ""), status_code=303)

    @app.post("/h/{run_date}/{request_id}/objections")
    def add_objection(request: Request, run_date: str, request_id: str, reason: str = Form(""),
                      user: User = post_dep):
        check_date(run_date)
        if not user.can("object"):
            raise HTTPException(403, f"{user.role_zh}不能登记异议")
        from hedui.review.queue import later_household_run

        with scoped(workdir, user) as con:
            request_id = resolve_request(con, run_date, request_id)
            found = con.execute("select region_code from my_households where run_date = ? and request_id = ?",
                                [run_date, request_id]).fetchall()
            later = later_household_run(con, run_date, request_id) if found else None
        if not found:
            raise HTTPException(404, NOT_FOUND_HOUSEHOLD)
        if later:  # its 复查 would re-verify the replaced run on its old deliveries
            raise HTTPException(409, f"该户已在批次 {later} 重新核对，批次 {run_date} 的报告已被取代，异议未登记："
                                     f"请在批次 {later} 的该户页面登记。")
        try:
            obj = objections.register(workdir, user, run_date, request_id, found[0][0], reason)
        except objections.DuplicateObjection as exc:
            raise HTTPException(409, str(exc)) from None
        except HeduiError as exc:
            raise HTTPException(400, str(exc)) from None
        audit.append(actor=user.username, action="objection", subject=f"委托 {request_id} 登记异议",
                     details={"run_date": run_date, "objection": obj["id"], "due_on": str(obj["due_on"])})
        return RedirectResponse(f"/h/{run_date}/{hid(request_id)}", status_code=303)

    @app.post("/objections/{objection_id}/decide")
    def decide_objection(request: Request, objection_id: int, decision: str = Form(""), note: str = Form(""),
                         user: User = post_dep):
        if not user.can("approve"):
            raise HTTPException(403, "只有审核员可以受理异议并批准复查")
        if decision not in ("accepted", "rejected"):
            raise HTTPException(400, "请选择受理或不予受理，并填写理由")
        try:  # as an objection's and a decision's reason: it goes to the report's versions and the log
            note = staff_text(note, "理由")
        except StaffTextError as exc:
            raise HTTPException(400, str(exc)) from None
        with DB_LOCK:  # read, re-check and decide in one go: a double click or two supervisors decide once
            # an id past SQLite's integers (a guessed or edited address) raised OverflowError: a 500, not "未找到"
            obj = objections.get(workdir, objection_id) if 0 < objection_id < 2**63 else None
            if not obj or not objections.allows(user, obj["region_code"]):
                raise HTTPException(404, "未找到该异议")
            if obj["status"] != "open":
                raise HTTPException(409, f"该异议已由 {obj['decided_by']} 处理（{objections.STATUS_ZH[obj['status']]}），"
                                         "本次提交未保存。")
            return _decide_objection(obj, objection_id, decision, note, user)

    def _decide_objection(obj: dict, objection_id: int, decision: str, note: str, user: User):
        from hedui.pipeline import RunContext, assess, report
        from hedui.review.decisions import _refresh_auditor_db
        from hedui.steps.report import versions

        ctx = RunContext.of(workdir, workdir, obj["run_date"])
        if decision == "accepted":  # 复查: assess and report the household again, a new version kept
            from hedui.pipeline import writing
            from hedui.review.queue import later_household_run

            con = db.connect_read(ctx.database)
            try:
                later = later_household_run(con, obj["run_date"], obj["request_id"])
            finally:
                con.close()
            if later:
                raise HTTPException(409, f"该户已在批次 {later} 重新核对：按批次 {obj['run_date']} 的旧数据复查会改写已被"
                                         f"取代的报告，未受理。请在批次 {later} 的该户页面重新登记异议后受理，"
                                         "本异议可选“不予受理”并注明已转入新批次。")

            with DB_LOCK, writing(ctx, "objection re-check"):
                con = db.connect(ctx.database, read_only=True)
                try:
                    before = con.execute("select outcome, findings from outcomes where run_date = ? and request_id = ?",
                                         [obj["run_date"], obj["request_id"]]).fetchall()[0]
                finally:
                    con.close()
                versions.keep_first(ctx.report_dir, obj["request_id"], *before)
                assess(ctx)
                report(ctx, only={obj["request_id"]})
                con = db.connect_read(ctx.database)
                try:
                    after = con.execute("select outcome, findings from outcomes where run_date = ? and request_id = ?",
                                        [obj["run_date"], obj["request_id"]]).fetchall()[0]
                finally:
                    con.close()
                versions.keep_new(ctx.report_dir, obj["request_id"], actor=user.username, kind="objection",
                                  what=f"受理异议（{obj['reason'][:60]}）并复查", reason=note.strip(),
                                  outcome=after[0], findings=after[1])
                _refresh_auditor_db(ctx)
        objections.set_decision(workdir, objection_id, decision, user, note.strip())
        audit.append(actor=user.username, action="objection", subject=f"委托 {obj['request_id']} 异议处理",
                     details={"decision": decision, "note": note, "objection": objection_id})
        return RedirectResponse(f"/h/{obj['run_date']}/{hid(obj['request_id'])}", status_code=303)

    @app.get("/objections", response_class=HTMLResponse)
    def objection_list(request: Request, overdue: int = 0, user: User = user_dep):
        items = objections.listing(workdir, user, only_overdue=bool(overdue))
        if items:  # households' objections (what an applicant disputes): on record, as the queue and the quarantine
            audit.append(actor=user.username, action="household_view", subject=f"查看异议清单 {len(items)} 条",
                         details={"page": "objections", "overdue": bool(overdue),
                                  "households": sorted({r["request_id"] for r in items})[:50]})
        counties: dict[str, int] = {}
        for r in items:
            if r["overdue_days"]:
                counties[r["region_zh"]] = counties.get(r["region_zh"], 0) + 1
        return render(request, "objections.html", items=items, overdue=bool(overdue), by_county=counties)

    @app.get("/objections/overdue.xlsx")
    def overdue_export(request: Request, user: User = user_dep):
        items = objections.listing(workdir, user, only_overdue=True)
        audit.append(actor=user.username, action="export", subject=f"导出逾期复查清单 {len(items)} 条")
        return _xlsx(exports.overdue_xlsx(items), "逾期复查清单.xlsx")


def _check_key(key: str) -> None:
    if not re.fullmatch(r"[0-9A-Za-z:_\-]{8,200}", key):
        raise HTTPException(400, "匹配对的决定键无效")
