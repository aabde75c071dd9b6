"""Staff review of probabilistic links: the queue, one pair side by side, decisions.

A decision (confirmed / rejected / deferred) is stored with who, when and why
in `review_decisions`, keyed by a stable pseudonymous key of the record (its
source, name, ID and content) and the member (`hedui.steps.link.decision_material`),
so it applies on every later run to the same record delivered again, never to
another record of the same name; the run it was made in is re-assessed at once.
"""

from __future__ import annotations

import datetime as dt
import logging

from connectors import load_map
from hedui import db
from hedui.errors import HeduiError
from hedui.paths import shown
from hedui.steps.report.display import display_fields, display_select, register_text_mask
from matching.linkage import waterfall

log = logging.getLogger(__name__)

DECISIONS = {"confirmed": "确认", "rejected": "否决", "deferred": "暂缓"}
STATUS_ZH = {"pending": "待审核", **DECISIONS}


class ReviewError(HeduiError):
    """A review request that cannot be carried out (unknown pair, bad decision, no reason)."""


class RecordTaken(ReviewError):
    """A confirmation of a record that staff confirmed as another member's already (a record belongs to one person)."""


class SupersededRun(ReviewError):
    """The pair's run is no longer current: a later run verified its household (or holds the pair) again."""


def later_run(con, run_date: str, decision_key: str) -> str | None:
    """The latest run after `run_date` that holds the pair or verified one of its households again; None when
    `run_date` is still current. A decision applies to the record on every later run (`latest_decisions`), but
    only the run decided in is re-assessed: made on a superseded run it would rewrite a replaced report and
    silently change the current run's conclusion at its next re-run, its queue still showing it pending."""
    return con.execute(
        "select max(run_date) from (select run_date from review_queue where decision_key = $k union all "
        "select h.run_date from households h where h.request_id in (select request_id from review_queue "
        "where run_date = $d and decision_key = $k)) where run_date > $d",
        {"d": run_date, "k": decision_key}).fetchall()[0][0]


#: per row `q` of a review queue: the later run that superseded it (as `later_run` says), else null
LATER_RUN_SQL = """(select max(x.run_date) from (
    select r.run_date from review_queue r where r.decision_key = q.decision_key
    union all select h.run_date from households h join review_queue r2 on r2.request_id = h.request_id
    where r2.run_date = q.run_date and r2.decision_key = q.decision_key) x where x.run_date > q.run_date)"""


def later_household_run(con, run_date: str, request_id: str) -> str | None:
    """The latest run after `run_date` that verified the household again (its report replacing this run's)."""
    return con.execute("select max(run_date) from households where request_id = ? and run_date > ?",
                       [request_id, run_date]).fetchall()[0][0]


def superseded_message(run_date: str, later: str, refused: bool = True) -> str:
    return (f"批次 {run_date} 已不是最新批次：该匹配对或其家庭已在批次 {later} 重新核对，本批次的结论已被取代"
            f"{'，决定未保存' if refused else ''}。请到批次 {later} 的复核队列中处理（如该匹配对不在其中，则无需再作决定）。")


def latest_run(con) -> str:
    """The newest run date that has a review queue."""
    rows = con.sql("select max(run_date) from review_queue").fetchall() if db.table_exists(con, "review_queue") else []
    if not rows or rows[0][0] is None:
        raise ReviewError("工作目录中还没有核对批次的复核队列：请先运行 hedui run")
    return rows[0][0]


def queue(con, run_date: str, status: str | None = None, decision_key: str | None = None,
          request_id: str | None = None) -> list[dict]:
    """The run's queue, pending first, strongest weight first; one pair's rows only with `decision_key` (and of one
    household with `request_id`): the pair page read the whole queue to keep one row (slow past 1,000 pairs)."""
    where, params = "run_date = $run_date", {"run_date": run_date}
    for column, value in (("status", status), ("decision_key", decision_key), ("request_id", request_id)):
        if value:
            where += f" and q.{column} = ${column}"
            params[column] = value
    rel = con.sql(
        "select q.*, m.name as member_name, m.id_masked as member_masked from review_queue q "
        "left join (select distinct request_id, id_norm, name, id_masked from stg_requests "
        "           where run_date = $run_date) m "
        "on m.request_id = q.request_id and m.id_norm = q.member_id "
        f"where {where} order by status <> 'pending', match_weight desc, record_id", params=params)
    cols = rel.columns
    rows = [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    for r in rows:
        r["status_zh"] = STATUS_ZH.get(r["status"], r["status"])
    return rows


def listed(con, run_date: str, status: str | None = None) -> list[dict]:
    """`queue` for `hedui review list`: a date no run verified is an error naming the runs there are (an empty
    table for a mistyped date read as "nothing to review")."""
    rows = queue(con, run_date, status)
    with_deciders(con, rows)
    if rows or (db.table_exists(con, "outcomes") and con.execute(
            "select 1 from outcomes where run_date = ? limit 1", [run_date]).fetchall()):
        return rows
    runs = [r for (r,) in con.execute("select distinct run_date from outcomes order by 1 desc limit 5").fetchall()] \
        if db.table_exists(con, "outcomes") else []
    raise ReviewError(f"批次 {run_date} 没有核对结果，复核队列无从列出：请检查 --date"
                      + (f"（最近的批次：{'、'.join(runs)}）" if runs else "（该工作目录还没有核对结果）"))


def with_deciders(con, rows: list[dict]) -> list[dict]:
    """Each pair's `decided_by` and `decided_at`: the decision that stands (the last one), None while none was made.
    The queue (`hedui review list`, the web's page and its XLSX) said 确认 or 否决 with no name nor time, so a pair
    decided by someone else (the web, a colleague at the server) a minute ago was not told apart from one's own."""
    keys = sorted({r["decision_key"] for r in rows})
    last = {k: (who, at) for k, who, at in con.execute(
        "select decision_key, arg_max(reviewer, decided_at), max(decided_at) from review_decisions "
        "where list_contains($k, decision_key) group by all", {"k": keys}).fetchall()} \
        if keys and db.table_exists(con, "review_decisions") else {}
    for r in rows:
        r["decided_by"], r["decided_at"] = last.get(r["decision_key"], (None, None))
    return rows


def pair(con, run_date: str, decision_key: str, request_id: str | None = None) -> dict:
    """One pair: the record's fields and the member's, masked, with the weight breakdown.

    One person in two requests makes the pair in both households: `request_id` picks the household whose
    member is shown (the web passes one of the user's own; else the first)."""
    rows = queue(con, run_date, decision_key=decision_key, request_id=request_id)
    if not rows:
        raise ReviewError(f"批次 {run_date} 的复核队列中没有该匹配对（{shown(decision_key, 12)}）")
    p = rows[0]
    smap = load_map(p["source"])
    register_text_mask(con)  # a free text of the record quoting an ID or account number
    rec = con.sql(f"select {display_select(smap)}, file_name, row_no, delivery_date from stg_{p['source']} t "
                  "where record_id = ? and run_date = ?", params=[p["record_id"], run_date])
    values = dict(zip(rec.columns, rec.fetchall()[0], strict=True))
    p["record_fields"] = display_fields(smap, values)
    from hedui.steps.report.display import chinese_date

    p["record_cite"] = (f"{smap.title_zh}，{chinese_date(values['delivery_date'])}交付，文件 {values['file_name']} "
                        f"第 {values['row_no']} 行")
    p["source_zh"] = smap.title_zh
    mem = con.sql("select * from stg_requests where run_date = ? and request_id = ? and id_norm = ?",
                  params=[run_date, p["request_id"], p["member_id"]])
    m = dict(zip(mem.columns, mem.fetchall()[0], strict=True))
    p["member_fields"] = [("委托编号", m["request_id"]), ("姓名", m["name"]), ("身份证号", m["id_masked"]),
                          ("与申请人关系", m["relation"]), ("区划代码", m["region_code"])]
    p["waterfall"] = waterfall(p["breakdown"], lang="zh") if p["breakdown"] else []
    p["history"] = [dict(zip(("decision", "reviewer", "decided_at", "reason"), r, strict=True)) for r in con.sql(
        "select decision, reviewer, decided_at, reason from review_decisions where decision_key = ? "
        "order by decided_at", params=[decision_key]).fetchall()]
    return p


def decide(con, run_date: str, decision_key: str, decision: str, reviewer: str, reason: str,
           at: dt.datetime | None = None) -> dict:
    """Store a decision and re-apply the run's decisions to its links (caller re-assesses).

    Raises ReviewError for an unknown pair or decision, or a missing reviewer or reason.
    """
    if decision not in DECISIONS:
        raise ReviewError(f"决定“{shown(decision)}”无效：可选 {'、'.join(f'{k}（{v}）' for k, v in DECISIONS.items())}")
    if not reviewer.strip():
        raise ReviewError("请填写审核人")
    if not reason.strip():
        raise ReviewError("请填写理由：每项决定都要说明依据")
    p = queue(con, run_date, decision_key=decision_key)
    if not p:
        raise ReviewError(f"批次 {run_date} 的复核队列中没有该匹配对（{shown(decision_key, 12)}）")
    if later := later_run(con, run_date, decision_key):
        raise SupersededRun(superseded_message(run_date, later))
    if decision == "confirmed" and con.execute(
            "select 1 from review_queue where run_date = ? and record_id = ? and member_id <> ? and status = 'confirmed' "
            "limit 1", [run_date, p[0]["record_id"], p[0]["member_id"]]).fetchall():
        # two staff on two candidates of one record at once (or one after the other): both confirmed, the record
        # linked to both members and counted in both households
        raise RecordTaken(
            f"同一条{load_map(p[0]['source']).title_zh}记录已被确认属于另一名成员，本次“确认”未保存：一条记录只能属于一人。"
            "请重新打开该匹配对，看“同一记录的其他候选”；如认为应属于本成员，须先在已确认的匹配对上改为“否决”"
            "（其他辖区的由该辖区审核员处理），再确认本匹配对；本匹配对也可“否决”或“暂缓”。")
    from hedui.steps.link import apply_decisions

    con.execute("insert into review_decisions values (?, ?, ?, ?, ?, ?, ?, ?)",
                [decision_key, decision, reviewer.strip(), at or dt.datetime.now(), reason.strip(), run_date,
                 p[0]["record_id"], p[0]["request_id"]])
    apply_decisions(con, run_date)
    log.info("review decision %s on a %s pair of request %s by %s", decision, p[0]["source"], p[0]["request_id"],
             reviewer)
    return p[0]
