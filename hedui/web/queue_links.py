"""The review queue's filters carried along its links: queue → pair → decision → household → next pair → queue.

Only values the queue page itself would accept are carried (a status of the queue, one of the user's counties,
a source of the queue, a sort order, a page number): anything else in the address is dropped, never echoed into
a link."""

from __future__ import annotations

from urllib.parse import urlencode

KEYS = ("status", "county", "source", "order", "page")
ORDERS = {"": "匹配权重从高到低", "asc": "匹配权重从低到高"}


def carried(con, params) -> dict:
    """The queue's filters in `params` (a request's query or form) that are valid for this user (`con` scoped)."""
    from hedui.review.queue import STATUS_ZH

    out = {}
    status, county, source = (str(params.get(k) or "") for k in ("status", "county", "source"))
    order, page = str(params.get("order") or ""), str(params.get("page") or "")
    if status in STATUS_ZH:
        out["status"] = status
    if county and con.execute("select 1 from my_households where region_code = ? limit 1", [county]).fetchall():
        out["county"] = county
    if source and con.execute("select 1 from my_queue where source = ? limit 1", [source]).fetchall():
        out["source"] = source
    if order and order in ORDERS:
        out["order"] = order
    if page.isascii() and page.isdigit() and len(page) <= 6 and int(page) > 1:
        out["page"] = str(int(page))
    return out


def query(ctx: dict) -> str:
    """`ctx` (from `carried`) as a query string, '' when there is nothing to carry."""
    return urlencode({k: ctx[k] for k in KEYS if ctx.get(k)})


def next_pending(con, run_date: str, ctx: dict, after: dict | None = None) -> dict:
    """The user's next pair still waiting in the run, in the queue's filters and order (`ctx`), and how many wait;
    with `after` (a pair: its decision_key, match_weight, record_id, request_id) the first one after it in that
    order, else from the top again (a pair skipped is not offered again before the others).

    Counted and picked in SQL (one row fetched): the whole queue was read to take its first row."""
    from hedui.review.queue import LATER_RUN_SQL

    where, params = "q.run_date = $d and q.status = 'pending'", {"d": run_date}
    if ctx.get("source"):
        where += " and q.source = $src"
        params["src"] = ctx["source"]
    if ctx.get("county"):
        where += (" and exists (select 1 from my_members m where m.run_date = q.run_date and "
                  "m.request_id = q.request_id and m.id_norm = q.member_id and m.region_code = $c)")
        params["c"] = ctx["county"]
    asc = ctx.get("order") == "asc"
    later = "true"
    if after:
        where += " and q.decision_key <> $k"
        params.update(k=after["decision_key"], w=after["match_weight"], r=after["record_id"], i=after["request_id"])
        later = (f"(q.match_weight {'>' if asc else '<'} $w or (q.match_weight = $w and "
                 "(q.record_id > $r or (q.record_id = $r and q.request_id > $i))))")
    weight = "q.match_weight" if asc else "q.match_weight desc"
    found = con.execute(
        f"select decision_key, count(*) over () from my_queue q where {where} and {LATER_RUN_SQL} is null "
        f"order by not {later}, {weight}, q.record_id, q.request_id limit 1", params).fetchall()
    return {"key": found[0][0] if found else None, "left": found[0][1] if found else 0}
