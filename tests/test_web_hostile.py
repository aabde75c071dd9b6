"""The staff workspace as a hostile or careless user drives it, over real HTTP (uvicorn on a port, `http.client`):
sessions and cookies, per-object authorization, hostile inputs and what the answers carry."""

from __future__ import annotations

import http.client
import io
import re
import shutil
import threading
import urllib.parse

import duckdb
import pytest
from web_server import Client, serving

ODD_ID = "WH3赣民〔2026〕#7/甲"  # the request id of one household: Chinese, a '#', a '/'
RLO_NAME = "王\u202e五"  # a delivered name with a right-to-left override: the masked ID after it read backwards


@pytest.fixture(scope="module")
def site(world_run, tmp_path_factory):
    """A copy of the world's workdir with staff accounts, served by uvicorn on a random port."""

    from hedui.paths import report_file_stem
    from hedui.web import accounts
    from hedui.web.app import create_app

    ctx, _ = world_run
    work = tmp_path_factory.mktemp("webhostile") / "work"
    shutil.copytree(ctx.workdir, work)
    con = duckdb.connect(str(work / "hedui.duckdb"))
    try:
        regions = dict(con.sql("select request_id, region_code from households where run_date = ?",
                               params=[ctx.run_date]).fetchall())
        pending = con.sql("select q.request_id, q.decision_key from review_queue q where q.run_date = ? "
                          "and q.status = 'pending' order by q.match_weight desc, q.decision_key",
                          params=[ctx.run_date]).fetchall()
        # the world's households with a pending pair: clerk A's counties hold the first two, clerk B's the third
        mine, theirs = pending[:2], pending[2]
        counties_a = sorted({regions[r] for r, _ in mine})
        other = theirs[0]
        assert regions[other] not in counties_a and regions[mine[1][0]][:4] != regions[other][:4]
        rlo = mine[0][0]
        con.execute("update stg_requests set name = ? where run_date = ? and request_id = ? and relation = '本人'",
                    [RLO_NAME, ctx.run_date, rlo])
        # one person in two requests of different counties: clerk B's pending pair is also a pair of a household
        # of clerk A's (the same record, member and decision key, as linking makes it for each request)
        shared = next((r for r, c in sorted(regions.items()) if c in counties_a and r not in {x for x, _ in mine}),
                      mine[1][0])
        con.execute("insert into stg_requests by name select * replace (? as request_id, ? as region_code, "
                    "'其他' as relation, row_no + 1000 as row_no) from stg_requests where run_date = ? "
                    "and request_id = ? and id_norm = (select member_id from review_queue where run_date = ? "
                    "and decision_key = ?)", [shared, regions[shared], ctx.run_date, other, ctx.run_date, theirs[1]])
        con.execute("insert into review_queue by name select * replace (? as request_id) from review_queue "
                    "where run_date = ? and decision_key = ?", [shared, ctx.run_date, theirs[1]])
        # a request id as an agency may write it (not only letters and digits): every table, and its report page
        # under the name the report step gives it
        odd_from = next(r for r in sorted(regions) if r not in {x for x, _ in mine} | {other, shared})
        for (table,) in con.sql("select table_name from information_schema.columns where column_name = 'request_id' "
                                "and table_schema = 'main'").fetchall():
            con.execute(f"update {table} set request_id = ? where request_id = ?", [ODD_ID, odd_from])
        pages = work / "reports" / ctx.run_date / "households"
        (pages / f"{odd_from}.html").rename(pages / f"{report_file_stem(ODD_ID)}.html")
        rlo_masked = con.sql("select id_masked from stg_requests where run_date = ? and request_id = ? "
                             "and relation = '本人'", params=[ctx.run_date, rlo]).fetchall()[0][0]
    finally:
        con.close()
    users = {"wh3_clerk_a": ("clerk", counties_a), "wh3_clerk_b": ("clerk", [regions[other]]),
             "wh3_boss_b": ("supervisor", [regions[other][:4] + "00"]), "wh3_boss_a": ("supervisor", [regions[mine[1][0]]]),
             "wh3_aud": ("auditor", ["360000"]), "wh3_adm": ("admin", ["360000"]),
             "wh3_gone": ("clerk", counties_a), "wh3_clerk_odd": ("clerk", [regions[odd_from]])}
    for name, (role, regs) in users.items():
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regs, display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "run_date": ctx.run_date, "theirs": theirs,
               "mine": mine, "other": other, "shared": shared, "rlo": rlo, "rlo_masked": rlo_masked}


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, headers, _ = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, headers)
    return c


def _decisions(site, key: str) -> list[tuple]:
    from hedui import db

    con = db.connect_read(site["work"] / "hedui.duckdb")
    try:
        return con.execute("select decision, reviewer from review_decisions where decision_key = ? order by decided_at",
                           [key]).fetchall()
    finally:
        con.close()



def _form(html: str, action_part: str) -> dict:
    """The hidden fields of the page's form whose action contains `action_part` (what the browser sends)."""
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", html, re.S) if action_part in f)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:200]


# -- what a page shows ----------------------------------------------------------------------------------------


def test_a_right_to_left_override_in_a_name_is_shown_as_its_code_point_not_obeyed(site):
    """A delivered name "王<U+202E>五" turned the text after it around: in the review queue the masked ID
    beside the name read backwards. The reports show such a control as "[U+202E]"; now the pages do too."""
    import openpyxl

    d, rid = site["run_date"], site["rlo"]
    key = next(k for r, k in site["mine"] if r == rid)
    c = sign_in(site, "wh3_clerk_a")
    for path in (f"/search?q={urllib.parse.quote('王')}", f"/h/{d}/{rid}", f"/review?date={d}",
                 f"/review/{d}/{key}"):
        page = c.page(path)
        assert "\u202e" not in page, path
        assert "王[U+202E]五" in page, path
    assert f"王[U+202E]五（{site['rlo_masked']}）" in c.page(f"/review?date={d}")
    status, _, body = c.get(f"/review/export.xlsx?date={d}")
    cells = [v for row in openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True) for v in row]
    assert "王[U+202E]五" in cells and not any("\u202e" in str(v) for v in cells)


# -- two tabs, a double click ---------------------------------------------------------------------------------


def test_a_decision_from_a_stale_tab_is_refused_not_silently_overturning_the_first(site):
    """Two tabs on one pair: the first confirms, the second (opened before) rejected — and that silently
    became the decision, a version 3 report, with nobody told. Now the second is refused (409) naming who
    decided what; reopening the pair shows the decision, and a deliberate change from there still works."""
    d, key = site["run_date"], site["mine"][0][1]
    c = sign_in(site, "wh3_clerk_a")
    tab1 = _form(c.page(f"/review/{d}/{key}"), "/decide")
    tab2 = _form(c.page(f"/review/{d}/{key}"), "/decide")
    status, headers, body = c.post(f"/review/{d}/{key}/decide", {**tab1, "decision": "confirmed", "reason": "第一个标签页"})
    assert status == 303, _error(body)
    status, headers, body = c.post(f"/review/{d}/{key}/decide", {**tab2, "decision": "rejected", "reason": "第二个标签页"})
    assert status == 409, (status, headers.get("location"))
    assert "已由 wh3_clerk_a" in _error(body) and "确认" in _error(body) and "未保存" in _error(body)
    assert _decisions(site, key) == [("confirmed", "wh3_clerk_a")]
    # the same form sent again (a double click on 确认) saves nothing more; it lands on the saved decision's page
    # (test_workspace3 WX07: a 409 "您的决定未保存" about the decision that was saved had the clerk decide again)
    status, headers, _ = c.post(f"/review/{d}/{key}/decide", {**tab1, "decision": "confirmed", "reason": "第一个标签页"})
    assert status == 303 and "decided=1" in headers["location"] and len(_decisions(site, key)) == 1
    fresh = _form(c.page(f"/review/{d}/{key}"), "/decide")
    status, _, body = c.post(f"/review/{d}/{key}/decide", {**fresh, "decision": "rejected", "reason": "复查后改为否决"})
    assert status == 303, _error(body)
    assert [x for x, _ in _decisions(site, key)] == ["confirmed", "rejected"]


def test_a_double_click_on_an_objection_decision_decides_it_once(site, monkeypatch):
    """Two submits of one objection's decision that both read it while still open (a double click on
    不予受理, two supervisors at once) were both told it was done and both audited; now the second is told
    it was already decided (409) and the objection carries the first decision only."""
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog
    from hedui.web import objections

    d, rid = site["run_date"], site["mine"][1][0]
    clerk = sign_in(site, "wh3_clerk_a")
    status, _, body = clerk.post(f"/h/{d}/{rid}/objections", {"csrf_token": clerk.csrf(), "reason": "申请人称车辆已转让"})
    assert status == 303, _error(body)
    oid = objections.for_household(site["work"], d, rid)[-1]["id"]
    boss = sign_in(site, "wh3_boss_a")
    token = _form(boss.page(f"/h/{d}/{rid}"), f"/objections/{oid}/decide")["csrf_token"]
    both_read = threading.Barrier(2, timeout=3)
    real_get = objections.get

    def get_then_wait(*args, **kwargs):  # the two requests read the objection at the same moment
        found = real_get(*args, **kwargs)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(objections, "get", get_then_wait)
    answers = {}

    def submit(note):
        answers[note] = boss.post(f"/objections/{oid}/decide", {"csrf_token": token, "decision": "rejected",
                                                                 "note": note})

    clicks = [threading.Thread(target=submit, args=(n,)) for n in ("第一次点击", "第二次点击")]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    assert sorted(a[0] for a in answers.values()) == [303, 409]
    first = next(n for n, a in answers.items() if a[0] == 303)
    second = next(n for n, a in answers.items() if a[0] == 409)
    assert "已由 wh3_boss_a 处理" in _error(answers[second][2])
    assert real_get(site["work"], oid)["decision_note"] == first
    entries = [e for e in AuditLog(default_log_path(site["work"])).entries()
               if e["action"] == "objection" and e["details"].get("objection") == oid and "decision" in e["details"]]
    assert [e["details"]["note"] for e in entries] == [first]


# -- what every answer carries ----------------------------------------------------------------------------------


def test_every_answer_refusals_included_carries_the_security_headers(site):
    """The Host and cross-site refusals came back bare (no nosniff, no frame-ancestors, cacheable): they are
    answered before the app, where the headers were added only to what the app answered."""
    d = site["run_date"]
    clerk = sign_in(site, "wh3_clerk_a")
    answers = {
        "page": clerk.get(f"/h/{d}/{site['rlo']}"),
        "pdf": clerk.get(f"/h/{d}/{site['rlo']}/report.pdf"),
        "xlsx": clerk.get("/export/outcomes.xlsx"),
        "not found": clerk.get("/no/such/page"),
        "wrong method": clerk.request("PUT", "/review"),
        "no session": Client(site).get("/review"),
        "no session post": Client(site).post(f"/h/{d}/{site['rlo']}/objections", {"reason": "x"}),
        "another host": Client(site).get("/", headers={"Host": "evil.example"}),
        "another site": clerk.post("/logout", {"csrf_token": "x"}, headers={"Origin": "http://evil.example"}),
        "no origin": clerk.post("/logout", {"csrf_token": "x"}, headers={"Origin": "null"}),
    }
    for what, (_status, headers, _) in answers.items():
        assert headers.get("x-content-type-options") == "nosniff", what
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what
        assert "script-src 'none'" in headers["content-security-policy"], what
        assert headers.get("cache-control") == "no-store", what  # the back button after sign-out shows nothing
    assert answers["pdf"][0] == 200 and answers["xlsx"][0] == 200
    assert answers["another host"][0] == 400 and answers["another site"][0] == 403



# -- per-object authorization ---------------------------------------------------------------------------------


def test_a_pair_shared_with_another_countys_household_shows_only_the_clerks_and_is_not_theirs_to_decide(site):
    """One person in requests of two counties makes one pair (one decision key) in both households. Clerk A's
    pair page picked either household's row, so it could show county B's request and member; and clerk A's
    decision re-issued county B's report in clerk A's name. Now the page shows clerk A's household and says
    the pair reaches another county; the decision is refused (403) and nothing is saved or re-issued."""
    d, key, rid_b, shared = site["run_date"], site["theirs"][1], site["other"], site["shared"]
    a = sign_in(site, "wh3_clerk_a")
    page = a.page(f"/review/{d}/{key}")
    assert shared in page and rid_b not in page
    assert "其他辖区" in page and 'id="decide"' not in page
    token = _form(page, "/logout")["csrf_token"]
    status, _, body = a.post(f"/review/{d}/{key}/decide", {"csrf_token": token, "seen": "0", "decision": "confirmed",
                                                           "reason": "本县核对员确认"})
    assert status == 403 and "其他辖区" in _error(body)
    assert _decisions(site, key) == []
    b = sign_in(site, "wh3_clerk_b")
    page = b.page(f"/review/{d}/{key}")
    assert rid_b in page and shared not in page and 'id="decide"' not in page


def test_an_objection_submitted_twice_is_registered_once(site):
    """A double click on 登记异议 (no script on the pages to stop it) registered the objection twice: two
    复查 due dates, counted twice in the overdue list. Now the second is told it is already registered (409)."""
    from hedui.web import objections

    d, rid = site["run_date"], site["rlo"]
    c = sign_in(site, "wh3_clerk_a")
    form = _form(c.page(f"/h/{d}/{rid}"), "/objections")
    before = len(objections.for_household(site["work"], d, rid))
    answers = [c.post(f"/h/{d}/{rid}/objections", {**form, "reason": "申请人称存款已用于医疗"}) for _ in range(2)]
    assert [a[0] for a in answers] == [303, 409]
    assert "已由 wh3_clerk_a" in _error(answers[1][2]) and "未重复登记" in _error(answers[1][2])
    assert len(objections.for_household(site["work"], d, rid)) == before + 1
    # another objection to the same report is still registered
    assert c.post(f"/h/{d}/{rid}/objections", {**form, "reason": "申请人称车辆已报废"})[0] == 303


# -- already held: kept because an outside tester would try each ----------------------------------------------------


def test_sessions_end_where_they_should_and_a_replayed_decision_is_refused(site):
    d, rid, key = site["run_date"], site["rlo"], site["theirs"][1]
    anon = Client(site)
    for path in ("/", f"/h/{d}/{rid}", f"/h/{d}/{rid}/report.pdf", f"/review/{d}/{key}", "/export/outcomes.xlsx",
                 "/review/export.xlsx", "/objections/overdue.xlsx", "/users", f"/runs/{d}/datadocs/index.html"):
        status, headers, body = anon.get(path)
        assert status == 303 and headers["location"].startswith("/login?next=/"), path
        assert RLO_NAME not in body.decode() and rid not in body.decode().replace(path, ""), path
    # signing in makes a new session every time (no fixation), HttpOnly and SameSite=Strict
    first, second = sign_in(site, "wh3_boss_b"), sign_in(site, "wh3_boss_b")
    assert first.cookie != second.cookie
    _, headers, _ = Client(site).post("/login", {"username": "wh3_boss_b", "password": "pw-wh3_boss_b-0123456"})
    cookie = headers["set-cookie"][0]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    # a decision form captured before sign-out, replayed with the old cookie
    form = _form(second.page(f"/review/{d}/{key}"), "/logout")
    assert second.post("/logout", form)[0] == 303
    status, _, body = Client(site, second.cookie).post(f"/review/{d}/{key}/decide",
                                                       {**form, "seen": "0", "decision": "rejected", "reason": "重放"})
    assert status == 401 and _decisions(site, key) == []
    # an account disabled by the admin: its open session is refused at once, for reading and for deciding
    gone = sign_in(site, "wh3_gone")
    form = _form(gone.page(f"/h/{d}/{rid}"), "/objections")
    adm = sign_in(site, "wh3_adm")
    assert adm.post("/users/wh3_gone/disable", {"csrf_token": adm.csrf("/users")})[0] == 303
    assert gone.get(f"/h/{d}/{rid}")[0] == 303
    assert gone.post(f"/h/{d}/{rid}/objections", {**form, "reason": "停用后提交"})[0] == 401


def test_a_clerk_cannot_act_on_another_countys_objects_by_guessing_their_ids(site):
    from hedui.web import objections

    d, rid_a, key_a, key_b = site["run_date"], site["rlo"], site["mine"][0][1], site["theirs"][1]
    a = sign_in(site, "wh3_clerk_a")
    assert a.post(f"/h/{d}/{rid_a}/objections", {"csrf_token": a.csrf(), "reason": "申请人称房产已出售"})[0] == 303
    b = sign_in(site, "wh3_clerk_b")
    token = b.csrf()
    n = len(_decisions(site, key_a))
    assert b.get(f"/review/{d}/{key_a}")[0] == 404  # as for a pair that does not exist
    assert b.post(f"/review/{d}/{key_a}/decide", {"csrf_token": token, "seen": str(n), "decision": "rejected",
                                                  "reason": "猜的"})[0] == 404
    assert b.post(f"/h/{d}/{rid_a}/objections", {"csrf_token": token, "reason": "猜的"})[0] == 404
    assert b.get(f"/h/{d}/{rid_a}/report.pdf")[0] == 404
    aud = sign_in(site, "wh3_aud")  # reads everything, decides nothing
    assert aud.post(f"/review/{d}/{key_b}/decide", {"csrf_token": aud.csrf(), "seen": "0", "decision": "confirmed",
                                                    "reason": "审计员"})[0] == 403
    assert len(_decisions(site, key_a)) == n and _decisions(site, key_b) == []
    open_ones = [o for o in objections.for_household(site["work"], d, rid_a) if o["reason"] == "申请人称房产已出售"]
    boss_b = sign_in(site, "wh3_boss_b")  # a supervisor of another city
    status, _, body = boss_b.post(f"/objections/{open_ones[0]['id']}/decide",
                                  {"csrf_token": boss_b.csrf(), "decision": "rejected", "note": "猜的"})
    assert status == 404 and rid_a not in body.decode()
    assert objections.get(site["work"], open_ones[0]["id"])["status"] == "open"


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example/", "\\\\evil.example",
                                    " //evil.example", "/\t/evil.example", "/x\r\nSet-Cookie: hedui_session=x"])
def test_sign_in_never_redirects_off_the_site_nor_splits_the_header(site, target):
    status, headers, _ = Client(site).post("/login", {"username": "wh3_aud", "password": "pw-wh3_aud-0123456",
                                                      "next": target})
    location = headers["location"]
    assert status == 303 and location.startswith("/") and not location.startswith("//")
    assert "\r" not in location and "\n" not in location and "\t" not in location and "\\" not in location
    # one session cookie, and besides it only the sign-in's device cookie (test_hostile6 OJ01): no injected one
    assert sorted(c.split("=", 1)[0] for c in headers["set-cookie"]) == ["hedui_device", "hedui_session"]



def test_a_household_whose_request_id_is_not_plain_letters_opens_from_every_link(site):
    """The pipeline takes any request id (its report file named by report_file_stem), but the workspace
    refused every path whose id was not letters, digits, - and _: a household with the id "赣民〔2026〕#7/甲"
    could not be found by its id, opened, read, printed or objected to. Its links now carry the report
    file's name, which the workspace resolves to the id; the search box finds it by the id as written."""
    from hedui.web import objections

    d = site["run_date"]
    c = sign_in(site, "wh3_clerk_odd")
    found = c.page(f"/search?q={urllib.parse.quote('赣民〔2026〕')}")  # typed as staff read it
    link = re.search(rf'href="(/h/{d}/[^"]+)"[^>]*>WH3赣民〔2026〕#7/甲<', found).group(1)
    page = c.page(link)
    assert "委托 WH3赣民〔2026〕#7/甲" in page
    for href in re.findall(rf'href="(/h/{d}/[^"]+)"', page):
        if "report" in href:
            status, headers, body = c.get(href.replace("&amp;", "&"))
            assert status == 200, (href, status, _error(body))
    form = _form(page, "/objections")
    action = re.search(r'action="([^"]+/objections)"', page).group(1)
    status, headers, _ = c.post(action, {**form, "reason": "申请人称存款系代管"})
    assert status == 303 and headers["location"] == link
    assert objections.for_household(site["work"], d, "WH3赣民〔2026〕#7/甲")[-1]["reason"] == "申请人称存款系代管"
    # a made-up name of a report file is no household; an id that is no name of ours is refused
    assert c.get(f"/h/{d}/WH3_.0123456789ab")[0] == 404
    assert c.get(f"/h/{d}/{urllib.parse.quote('赣民〔2026〕')}")[0] == 400


def test_an_oversized_or_unmeasured_body_is_refused_before_it_is_read(site):
    """A multipart body with a file part went to the form parser before sign-in was checked, which spools
    files to disk without a limit: anyone reaching the sign-in page could fill the disk. Bodies over the
    limit (413) and bodies without a length (411) are now refused unread; the forms themselves still work."""
    boundary = "wh3boundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nwh3_aud\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + b"\0" * 3_000_000 + \
        f"\r\n--{boundary}--\r\n".encode()
    status, headers, body = Client(site).request("POST", "/login", body=part, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 413 and "过大" in body.decode()
    assert headers.get("x-content-type-options") == "nosniff"
    con = http.client.HTTPConnection("127.0.0.1", site["port"], timeout=30)
    try:
        con.request("POST", "/login", body=iter([b"username=wh3_aud&", b"password=x"]), encode_chunked=True,
                    headers={"Host": site["host"], "Origin": "http://" + site["host"],
                             "Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"})
        assert con.getresponse().status == 411
    finally:
        con.close()
    c = sign_in(site, "wh3_clerk_a")  # a long reason in an ordinary form is no oversized body
    status, _, body = c.post(f"/h/{site['run_date']}/{site['rlo']}/objections",
                             {"csrf_token": c.csrf(), "reason": "申请人称" + "存款系代管" * 390})
    assert status == 303, _error(body)
