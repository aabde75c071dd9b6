"""Objections (异议) to a household report, within the policy window, and their 复查 due dates.

Kept in the workspace's SQLite file (staff.sqlite) beside the accounts; each carries the region code
of its household, and lists are limited to the user's regions (`scope.allows`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hedui.audit.log import mask_free_text
from hedui.privacy.typed import StaffTextError, staff_text
from hedui.regions import region_label
from hedui.steps import workdays
from hedui.steps.report import versions
from hedui.steps.report.display import safe_name
from hedui.web import accounts
from hedui.web.accounts import User
from hedui.web.scope import allows

STATUS_ZH = {"open": "待复查", "accepted": "已受理，已出具复查报告", "rejected": "不予受理"}


class ObjectionError(accounts.AccountError):
    """An objection that cannot be registered or decided."""


class DuplicateObjection(ObjectionError):
    """The same objection is already registered and open (a double click, a second tab)."""


def _con(workdir):
    con = accounts.connect(workdir)
    con.execute("""create table if not exists objections (
        id integer primary key autoincrement, run_date text not null, request_id text not null,
        region_code text not null, registered_by text not null, registered_at text not null,
        registered_on text not null, reason text not null, due_on text not null,
        status text not null default 'open', decided_by text, decided_at text, decision_note text)""")
    return con


def _today() -> dt.date:
    return dt.date.today()


def report_issued_on(workdir: Path, run_date: str, request_id: str) -> dt.date:
    """The issue date of the household's current report (its latest version, else the page's date)."""
    report_dir = Path(workdir) / "reports" / run_date
    kept = versions.list_versions(report_dir, request_id)
    if kept:
        return dt.date.fromisoformat(kept[-1]["issued_at"][:10])
    page = report_dir / "households" / f"{safe_name(request_id)}.html"
    return dt.date.fromtimestamp(page.stat().st_mtime) if page.exists() else dt.datetime.strptime(
        run_date, "%Y%m%d").date()


def window_for(workdir: Path, run_date: str, request_id: str, today: dt.date | None = None) -> dict:
    w = workdays.windows()
    issued = report_issued_on(workdir, run_date, request_id)
    deadline = workdays.add_working_days(issued, w["objection"])
    today = today or _today()
    return {"issued_on": issued, "deadline": deadline, "open": today <= deadline, "days": w["objection"],
            "covered": workdays.covered(deadline)}


def register(workdir: Path, user: User, run_date: str, request_id: str, region_code: str, reason: str,
             today: dt.date | None = None) -> dict:
    if not user.can("object"):
        raise ObjectionError("您的角色不能登记异议")
    try:  # an ID or account number typed by staff is never kept or shown
        reason = staff_text(reason, "异议内容", hint="申请人对哪项事实有异议、依据是什么")
    except StaffTextError as exc:
        raise ObjectionError(str(exc)) from None
    today = today or _today()
    window = window_for(workdir, run_date, request_id, today)
    if not window["open"]:
        raise ObjectionError(f"已超过异议期限：报告出具于 {window['issued_on']}，应在 {window['days']} 个工作日内"
                             f"（{window['deadline']} 前）提出")
    due = workdays.add_working_days(today, workdays.windows()["recheck"])
    con = _con(workdir)
    try:
        con.execute("begin immediate")  # the check and the insert at once: a double click registers one
        same = con.execute("select registered_by, registered_at from objections where run_date = ? and request_id = ? "
                           "and reason = ? and status = 'open'", [run_date, request_id, reason]).fetchone()
        if same:
            con.execute("rollback")
            raise DuplicateObjection(f"该异议已由 {same[0]} 于 {same[1].replace('T', ' ')} 登记，尚待复查，"
                                     "本次未重复登记。")
        cur = con.execute("insert into objections (run_date, request_id, region_code, registered_by, registered_at, "
                          "registered_on, reason, due_on) values (?, ?, ?, ?, ?, ?, ?, ?)",
                          [run_date, request_id, region_code, user.username,
                           dt.datetime.now().isoformat(timespec="seconds"), today.isoformat(), reason, due.isoformat()])
        con.execute("commit")
        return {"id": cur.lastrowid, "due_on": due}
    finally:
        con.close()


def get(workdir: Path, objection_id: int) -> dict | None:
    con = _con(workdir)
    try:
        cur = con.execute("select * from objections where id = ?", [objection_id])
        row = cur.fetchone()
        return dict(zip([c[0] for c in cur.description], row, strict=True)) if row else None
    finally:
        con.close()


def set_decision(workdir: Path, objection_id: int, status: str, user: User, note: str) -> None:
    note = mask_free_text(note)
    con = _con(workdir)
    try:
        con.execute("update objections set status = ?, decided_by = ?, decided_at = ?, decision_note = ? "
                    "where id = ? and status = 'open'",
                    [status, user.username, dt.datetime.now().isoformat(timespec="seconds"), note, objection_id])
    finally:
        con.close()


def _decorate(rows: list[dict], today: dt.date) -> list[dict]:
    for r in rows:
        r["status_zh"] = STATUS_ZH.get(r["status"], r["status"])
        r["region_zh"] = region_label(r["region_code"])
        due = dt.date.fromisoformat(r["due_on"])
        r["overdue_days"] = workdays.working_days_between(due, today) if r["status"] == "open" and today > due else 0
    return rows


def for_household(workdir: Path, run_date: str, request_id: str) -> list[dict]:
    con = _con(workdir)
    try:
        cur = con.execute("select * from objections where run_date = ? and request_id = ? order by id",
                          [run_date, request_id])
        cols = [c[0] for c in cur.description]
        return _decorate([dict(zip(cols, r, strict=True)) for r in cur.fetchall()], _today())
    finally:
        con.close()


def listing(workdir: Path, user: User, only_overdue: bool = False, today: dt.date | None = None) -> list[dict]:
    """Objections of the user's regions (overdue ones only, if asked), by county then due date."""
    today = today or _today()
    con = _con(workdir)
    try:
        cur = con.execute("select * from objections order by region_code, due_on, id")
        cols = [c[0] for c in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()
    rows = _decorate([r for r in rows if allows(user, r["region_code"])], today)
    return [r for r in rows if r["overdue_days"] > 0] if only_overdue else rows
