"""Hostile ways in, round 5: the staff workspace (a real uvicorn server, raw HTTP), `hedui audit` and the CLI as an
attacker or a careless operator drives them. One small hand-built world is run once through the real pipeline:
OH01 (a pair waiting for review: a bank record of a homophone name without an ID) and OH02, both of county
360702; a clerk of 360703 (a county of the same city with no household) plays the outsider."""

from __future__ import annotations

import csv
import re

import pytest
from contract_world import REGION, RUN, World, fresh_ids, query, run_world
from test_hostile4 import _cli
from web_server import Client, serving

OUTSIDER_REGION = "360703"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(961):
        a = world.household("OH01", [("赵敏", "本人")])
        world.household("OH02", [("孙三", "本人")])
    world.bank(a[0], "100000", account="6217000000000061001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")  # no ID, a homophone name: a pair for review
    ctx = run_world(world, tmp_path_factory, "oh_hostile5")
    (key,) = [k for (k,) in query(ctx, "select decision_key from review_queue where request_id = 'OH01'")]
    work = ctx.workdir
    for name, role, region in (("oh_clerk", "clerk", REGION), ("oh_far", "clerk", OUTSIDER_REGION),
                               ("oh_boss", "supervisor", REGION), ("oh_adm", "admin", "360000")):
        accounts.add_user(work, name, f"pw-{name}-0123456", role, [region], display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "key": key, "ctx": ctx}


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:300]


def _objections(site, request_id: str) -> list[str]:
    from hedui.web import objections

    return [o["reason"] for o in objections.for_household(site["work"], RUN, request_id)]


# -- the three gaps round 4 left -------------------------------------------------------------------------------------


def test_oh01_another_countys_household_or_pair_is_answered_as_one_that_does_not_exist(site):
    # before: 403 "该户不属于您的辖区" for another county's request id and 404 "批次 … 中没有委托编号 …" for one that
    # does not exist (the same for a pair's decision key): a clerk learnt which request ids another county has
    far = sign_in(site, "oh_far")
    token = far.csrf()
    key, fake_key = site["key"], "p1:" + "0" * 32
    answers = []
    for rid, k in (("OH01", key), ("OH99", fake_key)):
        answers.append([
            far.get(f"/h/{RUN}/{rid}"), far.get(f"/h/{RUN}/{rid}/report"), far.get(f"/h/{RUN}/{rid}/report?v=1"),
            far.get(f"/h/{RUN}/{rid}/report.pdf"), far.get(f"/review/{RUN}/{k}"),
            far.post(f"/review/{RUN}/{k}/decide", {"csrf_token": token, "seen": "0", "decision": "rejected",
                                                   "reason": "猜的"}),
            far.post(f"/h/{RUN}/{rid}/objections", {"csrf_token": token, "reason": "猜的"}),
        ])
    theirs, none = answers
    assert [a[0] for a in theirs] == [404] * 7
    assert [(a[0], a[2]) for a in theirs] == [(a[0], a[2]) for a in none]  # the same status, the same page
    assert "未找到" in _error(theirs[0][2]) and "赵敏" not in theirs[0][2].decode()
    assert "OH01" not in theirs[0][2].decode() and _objections(site, "OH01") == []
    mine = sign_in(site, "oh_clerk")  # the county's own clerk still reads them
    assert mine.get(f"/h/{RUN}/OH01")[0] == 200 and mine.get(f"/review/{RUN}/{key}")[0] == 200


def test_oh02_audit_sql_errors_say_in_chinese_what_was_wrong_and_where(site, capsys):
    # before: "错误：查询失败：Catalog Error: Table with name outcome does not exist!\nDid you mean …" — DuckDB's
    # English after a Chinese prefix, for every typo an auditor makes
    work = str(site["work"])
    cases = {
        "select * from outcome": ["表 outcome 不存在", "select * from catalog", "“outcomes”"],
        "select * form outcomes": ["语法错误", "位置：第 1 行", "    select * form outcomes", "^^^^^^^^"],
        "select nope from outcomes": ["列 “nope” 不在所查询的表中"],
        "select outcome, count(*) from outcomes": ["group by"],
        "select 'abc": ["引号没有闭合"],
        "delete from outcomes": ["审计库是只读的"],
        "select * from read_csv('/etc/passwd')": ["不能读写其他文件"],
        "set enable_external_access = true": ["设置已锁定"],
    }
    for sql, expected in cases.items():
        rc, out, err = _cli(capsys, "audit", "--workdir", work, "-c", sql)
        assert rc == 1 and out == "" and err.startswith("错误：查询失败："), (sql, err)
        assert all(e in err for e in expected), (sql, err)
        assert not re.search(r"Error|does not exist|Did you mean|Candidate|Cannot|disabled", err), (sql, err)
    rc, out, _ = _cli(capsys, "audit", "--workdir", work, "-c", "select count(*) as n from outcomes")
    assert rc == 0 and "2" in out


def test_oh03_a_405_on_the_sign_in_page_names_get_and_post(site):
    # before: "Allow: GET" although the sign-in form is a POST to /login (Starlette named only the first route's)
    anon = Client(site)
    for method in ("PUT", "DELETE", "PATCH"):
        status, headers, body = anon.request(method, "/login")
        assert status == 405 and headers["allow"] == "GET, POST", (method, headers)
        assert "不支持该访问方式" in body.decode()
    assert anon.request("PUT", "/")[1]["allow"] == "GET" and anon.request("PUT", "/logout")[1]["allow"] == "GET, POST"


# -- round 5 ------------------------------------------------------------------------------------------------------------


def test_oh04_a_form_body_that_is_not_url_encoded_utf8_is_refused_and_nothing_is_saved(site):
    # before: the form parser read what was not UTF-8 as Latin-1 or U+FFFD without a word: a GBK body registered
    # the objection "ÉêÇëÈË³Æ·¿ÎÝÒÑ³öÊÛ", an invalid %FF one "中��", raw UTF-8 bytes "ç\x94³è¯·"
    c = sign_in(site, "oh_clerk")
    token = c.csrf()
    form = "application/x-www-form-urlencoded"
    bodies = [
        (f"csrf_token={token}&reason=".encode() + "申请人称房屋已出售".encode("gbk"), form + "; charset=gbk"),
        (f"csrf_token={token}&reason=%E4%B8%AD%FF%FE".encode(), form),
        (f"csrf_token={token}&reason=".encode() + "申请人称".encode(), form),
        (f'{{"csrf_token": "{token}", "reason": "x"}}'.encode(), "application/json"),
        (f"--b\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--b\r\nContent-Disposition: "
         "form-data; name=\"reason\"\r\n\r\n".encode() + "申请".encode("gbk") + b"\r\n--b--\r\n",
         "multipart/form-data; boundary=b"),
    ]
    for body, ctype in bodies:
        status, headers, answer = c.request("POST", f"/h/{RUN}/OH02/objections", body=body,
                                            headers={"Content-Type": ctype})
        assert status == 400 and "UTF-8" in answer.decode() and "未保存" in answer.decode(), (ctype, status)
        assert headers["x-content-type-options"] == "nosniff"
    assert _objections(site, "OH02") == []
    # what a browser sends (percent-encoded UTF-8, with or without the charset named) is saved as typed
    reason = urllib_quote("申请人称房屋已出售")
    for ctype in (form, form + "; charset=UTF-8"):
        status, _, answer = c.request("POST", f"/h/{RUN}/OH02/objections", headers={"Content-Type": ctype},
                                      body=f"csrf_token={token}&reason={reason}{len(ctype)}".encode())
        assert status == 303, _error(answer)
    assert sorted(_objections(site, "OH02")) == sorted(f"申请人称房屋已出售{len(t)}" for t in (form, form + "; charset=UTF-8"))


def urllib_quote(text: str) -> str:
    import urllib.parse

    return urllib.parse.quote(text)


def test_oh05_pdf_and_review_take_the_date_as_run_does(site, capsys):
    # before: `hedui run --date 2026-11-28` ran, `hedui review list --date 2026-11-28` and `hedui pdf` on the same
    # date were refused ("批次日期必须是8位数字")
    work = str(site["work"])
    rc, out, err = _cli(capsys, "review", "list", "--workdir", work, "--date", "2026-11-28")
    assert rc == 0 and "OH01" in out, err
    for bad, expected in (("20261131", "不是真实存在的日期"), ("2026-11-31", "不是真实存在的日期"),
                          ("../20261128", "格式不对"), ("20261128;rm -rf x", "格式不对")):
        for argv in (["review", "list", "--workdir", work, "--date", bad], ["pdf", "--workdir", work, "--date", bad]):
            rc, out, err = _cli(capsys, *argv)
            assert rc == 2 and out == "" and expected in err and "--date" in err, (argv, err)
    rc, out, err = _cli(capsys, "pdf", "--workdir", work, "--date", "2026-11-28", "--request", "../OH01")
    assert rc == 2 and "没有委托编号" in err  # a request id is a name, never a path


def test_oh06_a_guesser_over_many_addresses_cannot_keep_a_clerk_out_of_her_own_desk(tmp_path, monkeypatch):
    # before: 50 wrong passwords of a user from any 3 addresses, repeated every 15 minutes, locked the user out
    # everywhere, her own desk included, for as long as the guesser kept going
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    monkeypatch.setattr(accounts, "MAX_FAILURES", {"user": 5, "ip": 8, "name": 12})  # argon2 per attempt
    accounts.add_user(tmp_path, "oh_desk", "pw-oh_desk-0123456", "clerk", [REGION])
    app = create_app(tmp_path, {"testserver"})

    def sign_in(address: str, password: str) -> int:
        c = TestClient(app, follow_redirects=False, client=(address, 40000))
        return c.post("/login", data={"username": "oh_desk", "password": password, "next": "/"},
                      headers={"Origin": "http://testserver"}).status_code

    assert sign_in("10.0.0.7", "pw-oh_desk-0123456") == 303  # her desk
    codes = [sign_in(f"10.1.{i // 4}.{i % 4}", f"wrong-{i}") for i in range(13)]
    assert codes[:12] == [401] * 12 and codes[12] == 429  # the guesser stops at the user's limit
    assert sign_in("10.2.0.1", "pw-oh_desk-0123456") == 429  # a new address waits the window out
    assert sign_in("10.0.0.7", "pw-oh_desk-0123456") == 303  # her desk does not
    assert sign_in("10.0.0.7", "wrong") == 401


def test_oh07_a_reason_holding_markup_is_shown_as_text_to_every_other_reader(site, capsys):
    # held: a clerk's decision reason with <script>/<img onerror> and a formula is escaped on the supervisor's
    # household page, pair page, report and its kept version; the auditor reads it as text, its CSV neutralized
    key, work = site["key"], site["work"]
    clerk = sign_in(site, "oh_clerk")
    page = clerk.page(f"/review/{RUN}/{key}")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if "/decide" in f)))
    reason = '=HYPERLINK("http://x")<script>alert(1)</script><img src=x onerror=alert(2)>'
    status, headers, _ = clerk.post(f"/review/{RUN}/{key}/decide", {**form, "decision": "rejected", "reason": reason})
    assert status == 303
    boss = sign_in(site, "oh_boss")
    version = re.search(r"\?v=(\d+)", headers["location"]).group(1)
    for path in (f"/h/{RUN}/OH01", f"/review/{RUN}/{key}", f"/h/{RUN}/OH01/report", f"/h/{RUN}/OH01/report?v={version}"):
        text = boss.page(path)
        assert "<script>alert" not in text and "<img src=x" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, path
    rc, out, _ = _cli(capsys, "audit", "--workdir", str(work), "--csv", "-c",
                      "select reason from review_decisions where reason like '%HYPERLINK%'")
    assert rc == 0 and list(csv.reader(out.splitlines()))[1] == ["'" + reason]


def test_oh08_a_csrf_token_of_another_users_session_is_refused(site):
    # held: the token is the session's own, so one copied from a colleague's page (or an older session) is refused
    clerk, boss = sign_in(site, "oh_clerk"), sign_in(site, "oh_boss")
    old = sign_in(site, "oh_clerk")
    stale = old.csrf()
    assert old.post("/logout", {"csrf_token": stale})[0] == 303
    for token in (boss.csrf(), stale, ""):
        status, _, body = clerk.post(f"/h/{RUN}/OH02/objections", {"csrf_token": token, "reason": "令牌不对"})
        assert status == 403 and "CSRF" in _error(body)
        assert clerk.post("/logout", {"csrf_token": token})[0] == 403
    assert "令牌不对" not in _objections(site, "OH02")
    assert clerk.get("/")[0] == 200  # still signed in: a forged sign-out did not end the session


def test_oh09_hostile_decision_fields_get_a_chinese_400_never_a_500_nor_an_echo_of_it_all(site):
    # before: seen="²" (str.isdigit is true for it) or 5000 digits passed the check and int() raised: a 500 and a
    # traceback in the server log; a decision of 100 000 characters came back whole in the error page
    key = site["key"]
    clerk = sign_in(site, "oh_clerk")
    page = clerk.page(f"/review/{RUN}/{key}")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if "/decide" in f)))
    for seen in ("²", "9" * 5000, "-1", "1.0"):
        status, _, body = clerk.post(f"/review/{RUN}/{key}/decide",
                                     {**form, "seen": seen, "decision": "confirmed", "reason": "核实"})
        assert status == 400 and "请从复核匹配对页面提交决定" in _error(body), (seen[:5], status)
    status, _, body = clerk.post(f"/review/{RUN}/{key}/decide", {**form, "decision": "x" * 100_000, "reason": "核实"})
    assert status == 400 and "无效：可选" in _error(body) and len(_error(body)) < 200


def test_oh10_an_over_long_note_or_account_field_is_refused_briefly(site):
    # before: a supervisor's note on an objection had no limit (200 KB went into the objection, the report's
    # version record and the audit log), and the account form echoed a 5000-character user name or region whole
    from hedui.web import accounts, objections

    clerk, boss = sign_in(site, "oh_clerk"), sign_in(site, "oh_boss")
    assert clerk.post(f"/h/{RUN}/OH02/objections", {"csrf_token": clerk.csrf(), "reason": "申请人称车辆已报废"})[0] == 303
    (obj,) = [o for o in objections.for_household(site["work"], RUN, "OH02") if o["reason"] == "申请人称车辆已报废"]
    status, _, body = boss.post(f"/objections/{obj['id']}/decide",
                                {"csrf_token": boss.csrf(), "decision": "rejected", "note": "不予受理" * 600})
    assert status == 400 and "2000" in _error(body)
    assert objections.get(site["work"], obj["id"])["status"] == "open"
    adm = sign_in(site, "oh_adm")
    for field in ({"username": "a" * 5000, "regions": REGION}, {"username": "oh_new", "regions": "36" + "0" * 5000}):
        status, _, body = adm.post("/users", {"csrf_token": adm.csrf("/users"), "display_name": "新", "role": "clerk",
                                              "password": "pw-oh_new-0123456", **field})
        assert status == 400 and "无效" in _error(body) and len(_error(body)) < 200, _error(body)[:80]
    assert accounts.get_user(site["work"], "oh_new") is None


def test_oh11_a_reason_holding_terminal_escapes_reaches_the_auditors_terminal_harmless(site, capsys):
    # before: `hedui audit` printed cells as stored: a reason (or a delivered name) holding ESC [2J or an OSC
    # window-title sequence cleared or retitled the auditor's terminal
    key = site["key"]
    clerk = sign_in(site, "oh_clerk")
    page = clerk.page(f"/review/{RUN}/{key}")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           next(f for f in re.findall(r"<form[^>]*>.*?</form>", page, re.S) if "/decide" in f)))
    reason = "开户资料不符\x1b[2J\x1b]0;owned\x07\x9b31m"
    assert clerk.post(f"/review/{RUN}/{key}/decide", {**form, "decision": "confirmed", "reason": reason})[0] == 303
    sql = "select reason, 1 as n from review_decisions where reason like '开户资料不符%'"
    for extra in ([], ["--csv"]):
        rc, out, _ = _cli(capsys, "audit", "--workdir", str(site["work"]), *extra, "-c", sql)
        assert rc == 0 and "开户资料不符" in out, out
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", out), repr(out)


def test_oh12_the_audit_tool_pointed_at_the_working_database_refuses_it(site, capsys):
    # before: `hedui audit --db WORKDIR/hedui.duckdb` (a careless --db) opened the working database read-only and
    # printed its staged tables: applicants' names unmasked, which the auditor database holds only as 赵*
    work = site["work"]
    for argv in (["--db", str(work / "hedui.duckdb"), "-c", "select name from stg_requests"],
                 ["verify", "--workdir", str(work), "--db", str(work / "hedui.duckdb")]):
        rc, out, err = _cli(capsys, "audit", *argv)
        assert rc == 1 and "赵敏" not in out + err and "是核对工作库" in err and "hedui_audit.duckdb" in err, err
    rc, out, _ = _cli(capsys, "audit", "--workdir", str(work), "-c", "select name_masked from members order by 1")
    assert rc == 0 and "赵*" in out and "赵敏" not in out
