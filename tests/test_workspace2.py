"""The staff workspace as verification staff use it all day (a real uvicorn server, raw HTTP): one realistic run of
30 households in two counties (360702 odd, 360703 even request numbers), 8 pairs waiting for review (bank records
and cars of a homophone name without an ID), a quarantined bank row; a clerk of each county and a supervisor of
both."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from contract_world import RUN, World, fresh_ids, query, run_world
from web_server import Client, serving

OTHER = "360703"
NAMES = [("赵敏", "赵民"), ("钱芳", "钱方"), ("孙丽", "孙莉"), ("李娜", "李纳"), ("周杰", "周洁"), ("吴刚", "吴钢"),
         ("郑爽", "郑双"), ("王磊", "王蕾")]


def build() -> World:
    w = World()
    with fresh_ids(7301):
        for i in range(30):
            rid = f"WS{i + 1:03d}"
            if i < len(NAMES):
                a = w.household(rid, [(NAMES[i][0], "本人"), (f"{NAMES[i][0]}妻", "配偶")])
                if i % 4 >= 2:
                    w.bank(a[0], "100000", account=f"62170000000000{i:05d}")
                    w.rows["bank"][-1].update(户名=NAMES[i][1], 证件号码="")
                else:
                    w.car(a[0], "150000")
                    w.rows["vehicle"][-1].update(所有人=NAMES[i][1], 证件号码="")
            else:
                w.household(rid, [(f"户主{i}", "本人")])
    for r in w.rows["requests"]:
        if int(r["委托编号"][2:]) % 2 == 0:
            r["区划代码"] = OTHER
    w.add("bank", 机构名称="中国银行江西省分行", 户名="坏行", 证件号码="", 账号="6216000000000000999", 账户类型="活期",
          余额="abc", 查询日期="20261126")
    return w


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from hedui.web import accounts
    from hedui.web.app import create_app

    ctx = run_world(build(), tmp_path_factory, "ws_day")
    work = ctx.workdir
    for name, role, regions in (("ws_a", "clerk", ["360702"]), ("ws_b", "clerk", [OTHER]),
                                ("ws_boss", "supervisor", ["360702", OTHER])):
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regions, display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "ctx": ctx}


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _queue(c: Client, query: str = "") -> list[str]:
    """The request ids of the queue's rows, in the order shown."""
    page = c.page(f"/review?date={RUN}{query}")
    table = page.split('id="queue"', 1)[1].split("</table>", 1)[0] if 'id="queue"' in page else ""
    return re.findall(r'href="/h/\d+/(WS\d+)"', table)


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:300]


def test_ws01_the_queue_filters_by_county_and_by_source(site):
    # before: county and source were not filters at all (ignored): a supervisor of two counties saw every pair
    boss = sign_in(site, "ws_boss")
    assert sorted(_queue(boss)) == [f"WS00{i}" for i in range(1, 9)]
    assert sorted(_queue(boss, f"&county={OTHER}")) == ["WS002", "WS004", "WS006", "WS008"]
    assert sorted(_queue(boss, "&source=bank")) == ["WS003", "WS004", "WS007", "WS008"]
    assert sorted(_queue(boss, f"&county={OTHER}&source=vehicle")) == ["WS002", "WS006"]
    page = boss.page(f"/review?date={RUN}&county={OTHER}")
    assert f'<option value="{OTHER}" selected>' in page
    # the export follows the same filters
    status, headers, body = boss.get(f"/review/export.xlsx?date={RUN}&county={OTHER}&source=vehicle")
    assert status == 200, body[:300]
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(body)).active
    cells = [str(v) for row in sheet.iter_rows(min_row=2, values_only=True) for v in row]
    assert sorted(v for v in cells if re.fullmatch(r"WS\d+", v)) == ["WS002", "WS006"]
    # a county outside the user's scope, or a made-up source, is refused in Chinese (not silently ignored)
    clerk = sign_in(site, "ws_a")
    for args in (f"&county={OTHER}", "&source=nosuch", "&order=sideways"):
        status, _, body = clerk.get(f"/review?date={RUN}{args}")
        assert status == 400 and "无效" in _error(body) and "Traceback" not in body.decode(), (args, body[:300])


def test_ws02_a_long_queue_is_paged_not_one_endless_table(site, monkeypatch):
    # before: every pair of the run on one page (a run of 1,000+ pairs made a page of 1,000+ rows)
    from hedui.web import review_pages

    monkeypatch.setattr(review_pages, "QUEUE_PAGE", 3)  # 8 pairs stand for a long queue: 3 pages of 3
    boss = sign_in(site, "ws_boss")
    first = boss.page(f"/review?date={RUN}&county=&source=")
    assert "共 8 条" in first and "第 1 / 3 页" in first and 'id="prev"' not in first
    seen = []
    for n in (1, 2, 3):
        shown = _queue(boss, f"&page={n}")
        assert len(shown) == (3 if n < 3 else 2), (n, shown)
        seen += shown
    assert sorted(seen) == [f"WS00{i}" for i in range(1, 9)]  # every pair once, none twice
    nxt = re.search(r'id="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert _queue(boss, "&" + nxt.split("?", 1)[1].replace(f"date={RUN}&", "")) == seen[3:6]
    last = boss.page(f"/review?date={RUN}&page=3")
    assert 'id="next"' not in last and 'id="prev"' in last
    assert _queue(boss, "&page=40") == seen[6:]  # past the end (a link kept from a longer queue): the last page
    for junk in ("0", "-1", "99999999999", "²", "abc"):  # a page number typed by hand: the first page, no 500
        status, _, body = boss.get(f"/review?date={RUN}&page={urllib.parse.quote(junk)}")
        assert status in (200, 422) and "Traceback" not in body.decode() and "Internal" not in body.decode()


def test_ws03_the_queue_sorts_by_match_weight_both_ways(site):
    # before: the order parameter was ignored (always the highest weight first)
    clerk = sign_in(site, "ws_a")
    high_first = _queue(clerk)
    low_first = _queue(clerk, "&order=asc")
    assert high_first[:2] == ["WS001", "WS005"] and high_first[2:] == ["WS003", "WS007"]  # cars 5.29, banks 1.29
    assert low_first[:2] == ["WS003", "WS007"] and low_first[2:] == ["WS001", "WS005"]


def test_ws04_a_pair_page_explains_the_weight_in_chinese(site):
    clerk = sign_in(site, "ws_a")
    key = _key(site, "WS003")
    page = clerk.page(f"/review/{RUN}/{key}")
    meaning = re.search(r'id="weight-meaning">([^<]*)', page).group(1)
    assert "比特" in meaning and "为正" in meaning and "为负" in meaning
    # where the record came from, its delivery day as staff write a date (before: "交付 20261128")
    assert re.search(r"银行[^<，]*，2026年11月28日交付，文件 bank/20261128/bank_20261128\.csv 第 \d+ 行", page)


def _key(site, rid: str) -> str:
    return query(site["ctx"], "select decision_key from review_queue where request_id = ?", [rid])[0][0]


def test_ws05_after_a_decision_the_clerk_sees_the_outcome_the_next_pair_and_who_decided_when(site):
    # before: the decision landed on the household page with nothing saying it was saved and no way on to the next
    # pair; the pair's history showed the day only; the dashboard's count of pending pairs linked to a list of all
    # pairs (decided ones too), so the count and the list disagreed
    clerk = sign_in(site, "ws_a")
    key = _key(site, "WS003")
    page = clerk.page(f"/review/{RUN}/{key}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "seen": "0", "decision": "rejected", "reason": "户名与申请人不是同一人，电话核实"}
    status, headers, body = clerk.post(f"/review/{RUN}/{key}/decide", form)
    assert status == 303, body[:300]
    landed = clerk.page(headers["location"])
    note = re.search(r'id="decided">(.*?)</p>', landed, re.S).group(1)
    assert "已保存" in note and "当前结论" in note
    nxt = re.search(r'id="next-pair" href="/review/\d+/([^"]+)"', landed).group(1)
    pending = {_key(site, r) for r in ("WS001", "WS005", "WS007")}
    assert nxt in pending and "还有 3 条待审核" in note
    # the pair shows who decided and at what time of day
    again = clerk.page(f"/review/{RUN}/{key}")
    history = again.split("以往决定", 1)[1].split("</table>", 1)[0]
    assert "ws_a" in history and re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", history), history
    # a second submit of the same form (back button, a second tab) saves nothing and says so in Chinese
    status, _, body = clerk.post(f"/review/{RUN}/{key}/decide", dict(form, decision="confirmed"))
    assert status == 409 and "未保存" in _error(body)
    # the dashboard's count of pending pairs is the number of rows its link lists
    dash = clerk.page("/")
    link, count = re.search(r'<a href="(/review\?date=\d+[^"]*)">(\d+)</a>', dash).groups()
    listed = _queue(clerk, "&" + link.replace("&amp;", "&").split("?", 1)[1].replace(f"date={RUN}&", ""))
    assert int(count) == len(listed) == 3 and "WS003" not in listed


def test_ws06_a_decision_that_is_none_of_the_three_is_refused_with_their_chinese_names(site):
    # before: "可选 confirmed, rejected, deferred": raw codes a clerk cannot read
    clerk = sign_in(site, "ws_a")
    key = _key(site, "WS007")
    page = clerk.page(f"/review/{RUN}/{key}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    seen = re.search(r'name="seen" value="(\d+)"', page).group(1)
    status, _, body = clerk.post(f"/review/{RUN}/{key}/decide",
                                 {"csrf_token": token, "seen": seen, "decision": "approve", "reason": "核实"})
    message = _error(body)
    assert status == 400 and "确认" in message and "否决" in message and "暂缓" in message, message


def test_ws07_a_pdf_download_is_named_for_the_household_the_run_and_the_version(site):
    # before: "WS003.pdf" and "WS003_v2.pdf": the same name for the household's report of every run, saved over one
    # another in a clerk's downloads folder, and nothing in it a clerk reads as a report
    clerk = sign_in(site, "ws_a")
    names = []
    for v in ("", "?v=2"):  # WS003 has version 2 since WS05's decision
        status, headers, body = clerk.get(f"/h/{RUN}/WS003/report.pdf{v}")
        assert status == 200 and body[:5] == b"%PDF-", (status, body[:300])
        names.append(urllib.parse.unquote(re.search(r"filename\*=utf-8''([^;]+)", headers["content-disposition"],
                                                     re.I).group(1)))
    assert names == [f"核对报告_WS003_批次{RUN}.pdf", f"核对报告_WS003_批次{RUN}_第2版.pdf"]


def test_ws08_a_clerk_filters_and_pages_the_queue_in_a_browser_without_javascript_at_1366x768(site, tmp_path):
    # before: the queue had no county or source filter to choose and no pages; here a plain form (no JavaScript,
    # as many county offices run their browsers) at a laptop's 1366×768 narrows it and nothing needs a side scroll
    from hedui.steps.report.pdf import browser as open_browser

    base = f"http://{site['host']}"
    with open_browser() as b:
        context = b.new_context(java_script_enabled=False, viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(base + "/login")
        page.fill("#username", "ws_boss")
        page.fill("#password", "pw-ws_boss-0123456")
        page.click("#signin")
        page.goto(base + "/review")
        page.select_option("#county", OTHER)
        page.select_option("#source", "bank")
        page.select_option("#order", "asc")
        page.click("form[action='/review'] button")
        page.wait_for_load_state()
        assert f"county={OTHER}" in page.url and "source=bank" in page.url
        shown = re.findall(r"WS\d+", page.inner_text("#queue"))
        assert sorted(set(shown)) == ["WS004", "WS008"], shown
        assert "共 2 条" in page.inner_text("#count")
        page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)
        # JavaScript off: a layout probe by reading the page's box sizes is not possible, so read them with it on
        probe = b.new_context(viewport={"width": 1366, "height": 768}, storage_state=context.storage_state())
        wide = probe.new_page()
        for path in (f"/review?date={RUN}&county={OTHER}", f"/review/{RUN}/{_key(site, 'WS004')}", "/"):
            wide.goto(base + path)
            assert wide.evaluate("document.documentElement.scrollWidth") <= 1366, path
        probe.close()
        context.close()
