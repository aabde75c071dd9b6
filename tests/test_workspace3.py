"""The staff workspace as verification staff use it all day, third round (a real uvicorn server, raw HTTP, one flow
in headless Chromium): test_workspace2's run of 30 households in two counties (360702 odd, 360703 even request
numbers, 8 pairs waiting) with three more quarantined bank rows: one of a member of WS001 (a balance written as a
formula), one of WS005 (a balance with markup), one of WS002 (the other county); and the unlinked "坏行" row."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse

import pytest
from contract_world import RUN, query, run_world
from test_workspace2 import OTHER, build, sign_in
from web_server import Client, serving

FORMULA = "=HYPERLINK(1)"
MARKUP = "<script>alert(1)</script>"


def _world():
    w = build()
    members = {r["委托编号"]: r for r in w.rows["requests"] if r["与申请人关系"] == "本人"}
    for rid, balance, account in (("WS001", FORMULA, "6217000000000012345"), ("WS005", MARKUP, "6217000000000054321"),
                                  ("WS002", "xyz", "6217000000000067890")):
        m = members[rid]
        w.bank({"name": m["姓名"], "id": m["身份证号"]}, balance, account=account)
    return w


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from hedui.web import accounts
    from hedui.web.app import create_app

    ctx = run_world(_world(), tmp_path_factory, "wx_day")
    work = ctx.workdir
    for name, role, regions in (("wx_a", "clerk", ["360702"]), ("wx_b", "clerk", [OTHER]),
                                ("wx_boss", "supervisor", ["360702", OTHER])):
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regions, display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "ctx": ctx}


def _key(site, rid: str) -> str:
    return query(site["ctx"], "select decision_key from review_queue where request_id = ?", [rid])[0][0]


def _href(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page)
    assert found, element_id
    return found.group(1).replace("&amp;", "&")


def _args(url: str) -> dict:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:300]


def test_wx01_the_queue_filters_follow_the_clerk_through_pair_decision_household_and_next_pair(site):
    # before: the pair page's back link was /review?date=… only, the decision landed on the household page without
    # the filters, and its "next pending pair" was the first of the whole run: a supervisor working through one
    # county's bank pairs, lowest weight first, was sent to the other county's cars after every decision
    boss = sign_in(site, "wx_boss")
    queue = boss.page(f"/review?date={RUN}&status=pending&county={OTHER}&source=bank&order=asc")
    links = re.findall(r'href="(/review/\d+/[^"?]+\?[^"]+)"', queue)
    assert links, queue[-2000:]
    first = links[0].replace("&amp;", "&")
    want = {"status": "pending", "county": OTHER, "source": "bank", "order": "asc"}
    assert _args(first) == want
    pair = boss.page(first)
    assert _args(_href(pair, "back")) == {"date": RUN, **want}
    assert _args(_href(pair, "household")) == {"from": "review", **want}
    action = re.search(r'action="([^"]+/decide[^"]*)"', pair).group(1).replace("&amp;", "&")
    assert _args(action) == want
    token = re.search(r'name="csrf_token" value="([^"]+)"', pair).group(1)
    seen = re.search(r'name="seen" value="(\d+)"', pair).group(1)
    status, headers, body = boss.post(action, {"csrf_token": token, "seen": seen, "decision": "deferred",
                                               "reason": "待银行回函"})
    assert status == 303, _error(body)
    landed = boss.page(headers["location"])
    assert _args(_href(landed, "back")) == {"date": RUN, **want}
    nxt = _href(landed, "next-pair")
    assert _args(nxt) == want
    # the next pair is the filtered queue's: the other bank pair of county 360703 (WS004 and WS008 are its two)
    decided = first.split("?")[0].rsplit("/", 1)[1]
    rest = {_key(site, r) for r in ("WS004", "WS008")} - {decided}
    assert nxt.split("?")[0].rsplit("/", 1)[1] in rest and "还有 1 条待审核" in landed
    # values the queue would refuse are never carried into a link: another county, a made-up source, markup
    clerk = sign_in(site, "wx_a")
    key = _key(site, "WS001")
    page = clerk.page(f"/review/{RUN}/{key}?county={OTHER}&source=%22%3E%3Cscript%3E&order=sideways&page=-3&status=x")
    assert _href(page, "back") == f"/review?date={RUN}" and "script%3E" not in page and "<script>" not in page
    page = clerk.page(f"/review/{RUN}/{key}?county=360702&source=vehicle&page=2")
    assert _args(_href(page, "back")) == {"date": RUN, "county": "360702", "source": "vehicle", "page": "2"}


def test_wx02_a_pair_page_offers_the_next_pending_pair_in_the_queue_order_without_deciding(site):
    # a pair a clerk cannot decide yet (waiting for a phone call) is skipped to the next one after it, in the
    # queue's order; before: back to the queue and find one's place on it again
    clerk = sign_in(site, "wx_a")
    queue = clerk.page(f"/review?date={RUN}&status=pending")
    pending = re.findall(r'href="/review/\d+/([^"?]+)[?"]', queue.split('id="queue"', 1)[1])
    assert len(pending) == 4
    walked, key = [], pending[0]
    for _ in pending:
        walked.append(key)
        page = clerk.page(f"/review/{RUN}/{key}")
        key = _href(page, "skip").split("?")[0].rsplit("/", 1)[1] if 'id="skip"' in page else None
        if key is None:
            break
    assert walked == pending, (walked, pending)


def test_wx03_household_search_is_paged_with_the_total(site, monkeypatch):
    # before: the first 200 households and "只显示前 200 户，请缩小条件"; the others could not be reached at all
    from hedui.web import pages

    monkeypatch.setattr(pages, "SEARCH_PAGE", 7)  # 30 households stand for thousands: 5 pages of 7
    boss = sign_in(site, "wx_boss")
    first = boss.page(f"/search?q=&outcome=&county=&program=&date={RUN}")
    assert "共 30 户" in first and "第 1 / 5 页" in first and 'id="prev"' not in first
    seen, url = [], f"/search?date={RUN}"
    for n in range(1, 6):
        page = boss.page(url)
        table = page.split('id="results"', 1)[1].split("</table>", 1)[0]
        shown = re.findall(r'href="/h/\d+/(WS\d+)"', table)
        assert len(shown) == (7 if n < 5 else 2) and f"第 {n} / 5 页" in page, (n, shown)
        seen += shown
        url = _href(page, "next") if n < 5 else None
    assert sorted(seen) == [f"WS{i:03d}" for i in range(1, 31)]  # every household once
    assert _args(_href(first, "next")) == {"date": RUN, "page": "2"}
    # the filters follow the pages; one that is no choice of the lists is not echoed into a link
    page = boss.page(f"/search?county={OTHER}&program=%22%3E%3Cb%3E&page=1")
    assert 'id="next"' not in page and "%3Cb%3E" not in page and "<b>" not in page.split("<main>")[1]
    page = boss.page(f"/search?county={OTHER}")
    assert "共 15 户" in page and _args(_href(page, "next")) == {"county": OTHER, "page": "2"}
    assert _args(_href(page, "export")) == {"county": OTHER}
    assert "共 15 户" in boss.page(f"/search?county={OTHER}&page=99")  # past the end: the last page


def test_wx04_a_pair_is_read_without_the_whole_queue(site):
    # before: queue.pair() and decide() read the run's whole queue (joined with every applicant) to keep one row:
    # 323 ms a pair page with 2,008 pairs pending (see the report); now one pair's rows in SQL
    import duckdb

    from hedui.review.queue import pair, queue

    con = duckdb.connect(str(site["ctx"].database), read_only=True)
    try:
        key = _key(site, "WS003")
        rows = queue(con, RUN, decision_key=key)
        assert [r["request_id"] for r in rows] == ["WS003"]
        assert queue(con, RUN, decision_key=key, request_id="WS001") == []
        assert len(queue(con, RUN)) == 8
        assert pair(con, RUN, key)["request_id"] == "WS003"
    finally:
        con.close()


def _quarantine(c: Client, url: str) -> list[list[str]]:
    page = c.page(url)
    if 'id="quarantine"' not in page:
        return []
    table = page.split('id="quarantine"', 1)[1].split("</table>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S) for tr in table.split("<tr>")[2:]]


def test_wx05_a_clerk_lists_the_quarantined_records_of_her_own_county_only(site, monkeypatch):
    # before: the dashboard showed a count of the whole run's quarantined rows and nothing else: no list, no way
    # for a clerk to see which delivered record of which household failed and why
    a, b, boss = sign_in(site, "wx_a"), sign_in(site, "wx_b"), sign_in(site, "wx_boss")
    rows = _quarantine(a, f"/quarantine?date={RUN}")
    households = sorted(re.search(r">(WS\d+)<", r[6]).group(1) for r in rows)
    assert households == ["WS001", "WS005"]
    row = next(r for r in rows if "WS001" in r[6])
    assert row[0].startswith("银行") and row[1] == "bank/20261128/bank_20261128.csv" and re.fullmatch(r"\d+", row[2])
    assert "无法识别为金额" in row[3] and FORMULA in row[4]
    assert re.fullmatch(r"\d{6}\*{8}[\dX]{4}", row[5])  # the member's ID masked
    assert "&lt;script&gt;" in a.page(f"/quarantine?date={RUN}") and MARKUP not in a.page(f"/quarantine?date={RUN}")
    page = a.page(f"/quarantine?date={RUN}")
    assert "另有 2 条" in re.search(r'id="hidden">([^<]*)', page).group(1)  # WS002's and the unlinked row
    assert [re.search(r">(WS\d+)<", r[6]).group(1) for r in _quarantine(b, f"/quarantine?date={RUN}")] == ["WS002"]
    every = _quarantine(boss, f"/quarantine?date={RUN}")
    assert len(every) == 4 and sum("未能关联" in r[6] for r in every) == 1
    # the dashboard's count is the number of rows its link lists
    dash = a.page("/")
    link, count = re.search(r'class="quarantined" href="([^"]+)">(\d+)<', dash).groups()
    assert link == f"/quarantine?date={RUN}" and count == "2"
    # a filter by source, a made-up one refused in Chinese; paged
    assert _quarantine(a, f"/quarantine?date={RUN}&source=bank") == rows
    status, _, body = a.get(f"/quarantine?date={RUN}&source=%3Cb%3E")
    assert status == 400 and "无效" in _error(body) and "<b>" not in body.decode().split("<main>")[1]
    from hedui.web import quarantine_rows

    monkeypatch.setattr(quarantine_rows, "QUARANTINE_PAGE", 3)
    first = boss.page(f"/quarantine?date={RUN}")
    assert "共 4 条" in first and "第 1 / 2 页" in first
    second = _quarantine(boss, _href(first, "next"))
    assert len(second) == 1 and second[0] not in _quarantine(boss, f"/quarantine?date={RUN}")
    # sign-in before anything
    status, headers, _ = Client(site).get(f"/quarantine?date={RUN}")
    assert status == 303 and headers["location"].startswith("/login")
    status, headers, _ = Client(site).get(f"/quarantine/export.csv?date={RUN}")
    assert status == 303 and headers["location"].startswith("/login")


def test_wx06_the_quarantine_export_is_the_clerks_rows_with_every_formula_neutralized(site):
    a = sign_in(site, "wx_a")
    status, headers, body = a.get(f"/quarantine/export.csv?date={RUN}&source=bank")
    assert status == 200 and headers["content-type"].startswith("text/csv"), body[:300]
    assert "%E9%9A%94%E7%A6%BB%E8%AE%B0%E5%BD%95" in headers["content-disposition"]  # 隔离记录_….csv
    text = body.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:5] == ["核对批次", "部门数据", "文件", "行号", "隔离原因"]
    assert sorted(r[-1] for r in table[1:]) == ["WS001", "WS005"]  # never another county's row
    cells = [c for r in table[1:] for c in r]
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert not any(c.lstrip().startswith(("=", "+", "@")) for c in cells)
    assert not re.search(r"\d{15,}", text)  # no whole ID or account


def test_wx07_a_double_clicked_decision_is_saved_once_and_both_clicks_land_on_the_saved_page(site):
    # before: the second request of a double click (a browser shows its answer, not the first's) waited for the
    # first, then was refused with 409 "…已由 wx_a 作出决定…您的决定未保存": the clerk read that her decision was
    # lost, though it was saved, and decided again
    import threading

    clerk = sign_in(site, "wx_a")
    key = _key(site, "WS005")
    page = clerk.page(f"/review/{RUN}/{key}?source=vehicle")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    seen = re.search(r'name="seen" value="(\d+)"', page).group(1)
    form = {"csrf_token": token, "seen": seen, "decision": "confirmed", "reason": "车主电话核实为本人"}
    answers = []

    def click():
        answers.append(clerk.post(f"/review/{RUN}/{key}/decide?source=vehicle", form))

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    assert [a[0] for a in answers] == [303, 303], [_error(a[2]) for a in answers]
    for _, headers, _ in answers:
        assert headers["location"].startswith(f"/h/{RUN}/WS005?") and "decided=1" in headers["location"]
        assert _args(headers["location"])["source"] == "vehicle"
    saved = query(site["ctx"], "select decision, reviewer from review_decisions where decision_key = ?", [key])
    assert saved == [("confirmed", "wx_a")]
    # another decision on the same stale form, or the same one by someone else, is still refused
    status, _, body = clerk.post(f"/review/{RUN}/{key}/decide", dict(form, decision="rejected"))
    assert status == 409 and "未保存" in _error(body)
    boss = sign_in(site, "wx_boss")
    token = re.search(r'name="csrf_token" value="([^"]+)"', boss.page(f"/review/{RUN}/{key}")).group(1)
    status, _, body = boss.post(f"/review/{RUN}/{key}/decide", dict(form, csrf_token=token))
    assert status == 409 and "未保存" in _error(body)


def test_wx08_a_clerk_works_a_filtered_queue_and_reads_her_quarantined_records_in_a_browser(site, tmp_path):
    # the day's flow in headless Chromium, JavaScript off: the queue narrowed to bank pairs, lowest weight first;
    # a pair rejected; on to the next pair and back to the queue, still narrowed; then the dashboard's count of
    # quarantined records, its list filtered by source
    from hedui.steps.report.pdf import browser as open_browser

    base = f"http://{site['host']}"
    with open_browser() as b:
        context = b.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#username", "wx_a")
        page.fill("#password", "pw-wx_a-0123456")
        page.click("#signin")
        page.goto(base + "/review")
        page.select_option("#source", "bank")
        page.select_option("#order", "asc")
        page.click("form[action='/review'] button")
        page.wait_for_load_state()
        assert sorted(set(re.findall(r"WS\d+", page.inner_text("#queue")))) == ["WS003", "WS007"]
        page.click("#queue a:has-text('查看并决定')")
        page.wait_for_load_state()
        page.fill("#reason", "户名同音，证件号不符，电话核实不是本人")
        page.click("#reject")
        page.wait_for_load_state()
        assert "已保存" in page.inner_text("#decided") and "按当前筛选条件" in page.inner_text("#decided")
        page.click("#next-pair")
        page.wait_for_load_state()
        assert "source=bank" in page.url and "order=asc" in page.url and "/review/" in page.url
        assert "银行" in page.inner_text("h1")
        page.click("#back")
        page.wait_for_load_state()
        assert page.input_value("#source") == "bank" and page.input_value("#order") == "asc"
        page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
        page.goto(base + "/")
        page.click("a.quarantined")
        page.wait_for_load_state()
        assert sorted(set(re.findall(r"WS\d+", page.inner_text("#quarantine")))) == ["WS001", "WS005"]
        page.select_option("#source", "bank")
        page.click("#go")
        page.wait_for_load_state()
        assert "source=bank" in page.url and "共 2 条" in page.inner_text("#count")
        page.screenshot(path=str(tmp_path / "quarantine.png"), full_page=True)
        context.close()
