"""Staff workspace, round 15 (web15): the leads round 14 left, then the workspace tried as a careless or hostile user.

One run (a bank record under a homophone name and no ID waiting for review, and a second household), served by a
real uvicorn server on a clock the tests move; a province supervisor (whole-run scope: Data Docs and the batch
summary) and a county clerk; the browser parts in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from contract_world import RUN, query
from web_server import Client, serving

MINUTE = 60.0


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from contract_world import World, fresh_ids, run_world

    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1510):
        (a,) = world.household("WK01", [("赵敏", "本人")])
        world.household("WK02", [("孙三", "本人")])
    world.bank(a, "100000", account="6217000000000151001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")  # no ID, a homophone name: a pair for review
    ctx = run_world(world, tmp_path_factory, "wk_day")
    (key,) = [k for (k,) in query(ctx, "select decision_key from review_queue where request_id = 'WK01'")]
    for name, role, region in (("wk_clerk", "clerk", "360702"), ("wk_boss", "supervisor", "360000")):
        accounts.add_user(ctx.workdir, name, f"pw-{name}-0123456", role, [region], display_name=name)
    now = [time.time()]
    with serving(lambda port: create_app(ctx.workdir, {f"127.0.0.1:{port}"}, clock=lambda: now[0])) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "base": f"http://127.0.0.1:{port}", "work": ctx.workdir,
               "ctx": ctx, "key": key, "now": now}


@pytest.fixture(scope="module")
def browser():
    from hedui.steps.report.pdf import browser as open_browser

    with open_browser() as b:
        yield b


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[-400:]


def _audit(site) -> list[dict]:
    from hedui.audit.auditor import default_log_path

    return [json.loads(line) for line in default_log_path(site["work"]).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _decide(client: Client, key: str, decision: str, reason: str) -> tuple[int, dict, bytes]:
    page = client.page(f"/review/{RUN}/{key}")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if "/decide" in f)))
    return client.post(f"/review/{RUN}/{key}/decide", {**form, "decision": decision, "reason": reason})


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from hedui.cli import main

    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    return rc, out, err


# -- the leads round 14 left ----------------------------------------------------------------------------------------


@pytest.mark.browser
def test_wk01_a_data_docs_page_read_in_chromium_is_on_record_its_assets_and_a_head_are_not(site, browser):
    """WK01: the GX validation pages (Data Docs) show delivered values — a failing row's ID number, name, amount —
    and every other read of personal data (a household, a pair, the batch summary, an export) writes a read entry
    to the audit log; a supervisor reading the Data Docs left no trace. Now each Data Docs page a person opens is on
    record (who, which run, which page); its scripts, styles and images (no personal data) and a HEAD are not."""
    boss = sign_in(site, "wk_boss")
    before = len(_audit(site))
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "hedui_session", "value": boss.cookie, "url": site["base"]}])
        page = context.new_page()
        answer = page.goto(f"{site['base']}/runs/{RUN}/datadocs/index.html")
        assert answer.status == 200 and "/login" not in page.url
        page.wait_for_load_state("networkidle")
        docs = site["work"] / "reports" / RUN / "datadocs"
        href = sorted(p.relative_to(docs).as_posix() for p in (docs / "validations").rglob("*.html"))[0]
        assert page.goto(f"{site['base']}/runs/{RUN}/datadocs/{href}").status == 200  # a suite's validation results
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    read = [e for e in _audit(site)[before:] if e["details"].get("page") == "datadocs"]
    assert [e["actor"] for e in read] == ["wk_boss"] * 2, read
    assert read[0]["details"]["file"] == "index.html" and read[0]["details"]["run_date"] == RUN
    assert read[1]["details"]["file"] == href, (href, read[1])
    assert all(e["action"] == "household_view" and RUN in e["subject"] for e in read)
    # a HEAD (a link checker) is no read; neither is the page's stylesheet
    before = len(_audit(site))
    assert boss.request("HEAD", f"/runs/{RUN}/datadocs/index.html")[0] == 200
    assets = [p for p in (site["work"] / "reports" / RUN / "datadocs").rglob("*") if p.suffix in (".css", ".js")]
    if assets:
        rel = assets[0].relative_to(site["work"] / "reports" / RUN / "datadocs").as_posix()
        assert boss.get(f"/runs/{RUN}/datadocs/{rel}")[0] == 200
    assert [e for e in _audit(site)[before:] if e["details"].get("page") == "datadocs"] == []


def test_wk02_a_head_request_does_not_keep_an_idle_session_alive(site):
    """WK02: a HEAD with the session's cookie (a monitor's `curl -I`, a link checker, a script left running with a
    copy of the cookie) answered with the cookie signed anew, so the 30 idle minutes started again: a clerk who
    left her desk stayed signed in for the whole 10 hours while the script ran. Decided: a HEAD shows no page (it
    is no read in the audit log either, WI05), so it is no activity: its answer renews nothing, and 31 minutes
    after her last GET the session has ended; a GET still renews it."""
    now = site["now"]
    c = sign_in(site, "wk_clerk")
    for minutes in (10, 10, 9):  # HEADs 10, 20 and 29 minutes after the sign-in
        now[0] += minutes * MINUTE
        status, headers, body = c.request("HEAD", f"/h/{RUN}/WK02")
        assert status == 200 and body == b"", status
        assert not any(v.startswith("hedui_session=") for v in headers.get("set-cookie", [])), headers["set-cookie"]
    now[0] += 6 * MINUTE
    status, headers, _ = c.get(f"/h/{RUN}/WK02")  # 35 minutes after the sign-in, HEADs in between: ended
    assert status == 303 and headers["location"].startswith("/login"), status
    c = sign_in(site, "wk_clerk")
    now[0] += 20 * MINUTE
    status, headers, _ = c.get(f"/h/{RUN}/WK02")
    assert status == 200 and any(v.startswith("hedui_session=") for v in headers.get("set-cookie", []))
    now[0] += 20 * MINUTE
    assert c.get("/")[0] == 200  # a GET is activity: 40 minutes after the sign-in, 20 after the last GET


@pytest.mark.browser
def test_wk03_the_review_queue_names_who_decided_each_pair_and_when(site, capsys, browser):
    """WK03: `hedui review list` said 确认/否决/暂缓 and nothing of who decided or when, nor did the web's queue
    page and its XLSX: an operator at the server could not tell the clerk's web decision from her own, a supervisor
    could not see that a pair was decided a minute ago, nor by whom. Now each pair shows the decision that stands:
    its reviewer and time (— for a pair still waiting), on the command line, the page and the export."""
    work = str(site["work"])
    rc, out, err = _cli(capsys, "review", "list", "--workdir", work)
    assert rc == 0, err
    header, *lines = out.splitlines()
    assert header.split("\t")[7:9] == ["决定人", "决定时间"], header
    (line,) = [x for x in lines if "\tWK01\t" in x]
    assert line.split("\t")[7:9] == ["—", "—"] and line.split("\t")[-1] == site["key"], line
    status, _, body = _decide(sign_in(site, "wk_clerk"), site["key"], "deferred", "等银行回函（WK03）")
    assert status == 303, _error(body)
    (at,) = query(site["ctx"], "select decided_at from review_decisions where reason = '等银行回函（WK03）'")
    rc, out, err = _cli(capsys, "review", "list", "--workdir", work)
    (line,) = [x for x in out.splitlines() if "\tWK01\t" in x]
    cells = line.split("\t")
    stamp = at[0].strftime("%Y-%m-%d %H:%M")
    assert cells[6] == "暂缓" and cells[7] == "wk_clerk" and cells[8] == stamp, line
    boss = sign_in(site, "wk_boss")
    context = browser.new_context()
    try:  # the queue page as the supervisor reads it
        context.add_cookies([{"name": "hedui_session", "value": boss.cookie, "url": site["base"]}])
        page = context.new_page()
        page.goto(f"{site['base']}/review?date={RUN}")
        row = page.locator("#queue tr", has_text="WK01")
        assert row.locator(".decided-by").inner_text() == "wk_clerk"
        assert row.locator(".decided-at").inner_text() == stamp
    finally:
        context.close()
    import io

    from openpyxl import load_workbook

    status, _, body = boss.get(f"/review/export.xlsx?date={RUN}")
    sheet = load_workbook(io.BytesIO(body)).active
    (head, *data) = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert head[-2:] == ["决定人", "决定时间"] and [r[-2:] for r in data if r[1] == "WK01"] == [["wk_clerk", stamp]]


HOLD = """
import sys, time, duckdb
from hedui.workdir import writer_lock
with writer_lock(sys.argv[1], "run", run_date=sys.argv[2]):
    con = duckdb.connect(sys.argv[1] + "/hedui.duckdb")
    print("held", flush=True)
    sys.stdin.readline()
    con.close()
"""


def test_wk04_while_a_run_holds_the_folder_an_address_that_is_no_page_says_so_at_once(site, monkeypatch):
    """WK04: while the nightly held the working folder (its lock and its database), a mistyped address of a page
    that has no database in it to look up — a Data Docs file that is not there, the summary of a date no run has,
    a household address with a date written 2026-11-28, a pair key with a space — waited the two minutes a read
    waits and then answered 503 "核对批次正在运行…请稍候再试": the clerk waited and retried an address that could
    never open. Now such an address is answered at once, 404 or 400 in Chinese; a page that does exist still says
    503 with Retry-After (its data cannot be read while the run writes)."""
    monkeypatch.setenv("HEDUI_READ_WAIT_S", "3")
    boss = sign_in(site, "wk_boss")
    token = boss.cookie
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(site["work"]), RUN], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        c = Client(site, token)
        for path, expected, said in (
                (f"/runs/{RUN}/datadocs/nope.html", 404, "数据校验报告中没有这一页"),
                (f"/runs/{RUN}/datadocs/validations/x/index.html", 404, "请从工作台首页"),
                ("/runs/20250101/summary", 404, "批次 20250101 没有汇总页"),
                ("/h/2026-11-28/WK01", 400, "批次日期"),
                (f"/h/{RUN}/WK 01/report", 400, "委托编号无效"),
                (f"/h/{RUN}/WK01%20/report.pdf", 400, "委托编号无效"),
                (f"/review/{RUN}/not a key", 400, "决定键无效")):
            started = time.monotonic()
            status, headers, body = c.get(path)
            assert (status, time.monotonic() - started < 2.5) == (expected, True), (path, status, _error(body))
            assert said in _error(body), (path, _error(body))
        status, headers, body = c.get(f"/h/{RUN}/WK02")  # a page that exists: busy, as before
        assert status == 503 and headers["retry-after"] == "30" and "核对批次正在" in body.decode(), status
    finally:
        holder.communicate("\n", timeout=60)
    assert Client(site, token).get(f"/runs/{RUN}/summary")[0] == 200


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1] + "/hedui.duckdb", read_only=True)
print("reading", flush=True)
sys.stdin.readline()
con.close()
"""


def test_wk05_a_warning_after_an_earlier_command_never_lands_as_a_logging_error_in_the_next_ones_answer(site, capsys):
    """WK05 (test_hostile5::test_oh11's flake): `hedui.cli.main` bound its log handler to the standard error of the
    moment. Run in a process that lives on (a test's `_cli`, an Airflow task), that stream was replaced and closed
    afterwards; the next warning of any thread — here the workspace's decision waiting for a reader of the working
    database (`hedui pdf`, an auditor's copy), as it does under load — failed inside logging and printed
    "--- Logging error --- Traceback …" into the stderr of whatever command ran next: oh11's `hedui audit` answer
    held a traceback. Now the handler writes to the standard error of the moment of each line."""
    import contextlib
    import io
    import threading

    from hedui.cli import main

    earlier = io.StringIO()  # an earlier command's captured stderr (a finished task's, a finished test's)
    with contextlib.redirect_stderr(earlier), contextlib.redirect_stdout(io.StringIO()):
        assert main(["review", "list", "--workdir", str(site["work"])]) == 0
    earlier.close()
    capsys.readouterr()
    clerk = sign_in(site, "wk_clerk")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(site["work"])], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    answer: list = []
    try:
        assert reader.stdout.readline().strip() == "reading"
        sent = threading.Thread(target=lambda: answer.append(_decide(clerk, site["key"], "rejected", "户名不同（WK05）")))
        sent.start()
        time.sleep(3)  # the decision waits for the reader (the writer's warning is logged now)
    finally:
        reader.communicate("\n", timeout=60)
    sent.join(timeout=300)
    assert answer and answer[0][0] == 303, answer and _error(answer[0][2])
    _, err = capsys.readouterr()
    assert "held by another process" in err and "Logging error" not in err and "Traceback" not in err, err
    rc, out, err = _cli(capsys, "audit", "--workdir", str(site["work"]), "-c",
                        "select reviewer from review_decisions where reason = '户名不同（WK05）'")
    assert rc == 0 and "wk_clerk" in out and "Traceback" not in err and "Logging error" not in err, err


@pytest.mark.browser
def test_wk06_the_objection_list_read_is_on_record(site, browser):
    """WK06: 异议 (what an applicant disputes: "申请人称房屋已出售") of every household of a user's regions are listed on
    /objections; the household page, the review queue and the quarantined rows write a read entry, this list wrote
    none: a supervisor reading every county's objections left no trace. Now opening it (with objections on it) is on
    record with the households shown; a HEAD is not."""
    clerk = sign_in(site, "wk_clerk")
    token = re.search(r'name="csrf_token" value="([^"]+)"', clerk.page(f"/h/{RUN}/WK02")).group(1)
    status, _, body = clerk.post(f"/h/{RUN}/WK02/objections", {"csrf_token": token, "reason": "申请人称房屋已出售（WK06）"})
    assert status == 303, _error(body)
    boss = sign_in(site, "wk_boss")
    before = len(_audit(site))
    assert boss.request("HEAD", "/objections")[0] == 200 and _audit(site)[before:] == []
    context = browser.new_context()
    try:
        context.add_cookies([{"name": "hedui_session", "value": boss.cookie, "url": site["base"]}])
        page = context.new_page()
        page.goto(f"{site['base']}/objections")
        assert "申请人称房屋已出售（WK06）" in page.inner_text("body")
    finally:
        context.close()
    read = [e for e in _audit(site)[before:] if e["details"].get("page") == "objections"]
    assert len(read) == 1 and read[0]["actor"] == "wk_boss" and read[0]["action"] == "household_view", read
    assert "WK02" in read[0]["details"]["households"]
