"""Staff workspace, round 11 (web11): sessions and sign-out, then the workspace audited as a hostile user would.
Two households of two counties, each with one pair waiting for review (a bank record under a homophone name, no
ID), run for real and served by a real uvicorn server; the browser parts in a real headless Chromium."""

from __future__ import annotations

import re
import time

import pytest
from contract_world import RUN, query
from web_server import Client, serving

OTHER_COUNTY = "360121"  # 南昌县: clerk B's county (the world's households are in 360702, 章贡区)
USERS = {"wf_a": ("clerk", ["360702"]), "wf_b": ("clerk", [OTHER_COUNTY]), "wf_adm": ("admin", ["360000"])}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import duckdb
    from contract_world import World, fresh_ids, run_world

    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1110):
        a = world.household("WF01", [("赵敏", "本人")])
        b = world.household("WF02", [("钱红", "本人")])
    for p, name, account in ((a[0], "赵民", "6217000000000111001"), (b[0], "钱宏", "6217000000000111002")):
        world.bank(p, "100000", account=account)
        world.rows["bank"][-1].update(户名=name, 证件号码="")
    ctx = run_world(world, tmp_path_factory, "wf_day")
    con = duckdb.connect(str(ctx.database))
    try:  # WF02 is another county's household
        for table in ("households", "stg_requests"):
            con.execute(f"update {table} set region_code = ? where request_id = 'WF02'", [OTHER_COUNTY])
    finally:
        con.close()
    keys = dict(query(ctx, "select request_id, decision_key from review_queue where status = 'pending'"))
    work = ctx.workdir
    for name, (role, regions) in USERS.items():
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regions, display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "base": f"http://127.0.0.1:{port}", "work": work,
               "ctx": ctx, "keys": keys}


@pytest.fixture(scope="module")
def browser():
    from hedui.steps.report.pdf import browser as open_browser

    with open_browser() as b:
        yield b


def sign_in(site, user: str, client: Client | None = None) -> Client:
    c = client or Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in_as(site, cookie: str | None) -> str | None:
    """The user a session cookie is signed in as, or None when the workspace sends it to the sign-in page."""
    status, headers, body = Client(site, cookie).get("/")
    if status == 303:
        assert headers["location"].startswith("/login"), headers
        return None
    assert status == 200, (status, body[:300])
    return re.search(r'class="who">(\S+?)（', body.decode()).group(1)


def _decisions(site, rid: str) -> list[tuple]:
    return query(site["ctx"], "select reason from review_decisions where decision_key = ?", [site["keys"][rid]])


def _browser_sign_in(page, site, user: str) -> None:
    page.goto(site["base"] + "/login")
    page.fill("#username", user)
    page.fill("#password", f"pw-{user}-0123456")
    page.click("#signin")
    page.wait_for_url(site["base"] + "/")


# -- the gaps left by the last session ---------------------------------------------------------------------------


def test_wf01_signing_in_over_a_live_session_ends_it_server_side(site):
    """WF01: signing in as B in a browser that held A's live session left A's session valid: a copy of A's cookie
    (another tab's, a proxy log's, one planted before the sign-in) still opened A's households. Now a sign-in ends
    the browser's previous session server-side (A's, or the same user's earlier one) and makes a new one with a
    new CSRF token: A's copy goes to the sign-in page, A's forms are refused under B's cookie; the sign-in page,
    opened with A's session, says that a sign-in there ends it."""
    browser_ = sign_in(site, "wf_a")
    a_cookie = browser_.cookie
    a_token = _token(browser_.page(f"/h/{RUN}/WF01"))
    note = re.search(r'id="current">([^<]*)', browser_.page("/login")).group(1)  # the sign-in page says so first
    assert "wf_a" in note and "将先退出当前登录" in note, note
    sign_in(site, "wf_b", browser_)  # the same browser, A's cookie sent along with B's sign-in
    assert browser_.cookie != a_cookie
    assert _signed_in_as(site, browser_.cookie) == "wf_b"
    assert _signed_in_as(site, a_cookie) is None  # the old session is over, not only its cookie replaced
    status, _, body = Client(site, a_cookie).post(f"/review/{RUN}/{site['keys']['WF01']}/decide",
                                                  {"csrf_token": a_token, "seen": "0", "decision": "rejected",
                                                   "reason": "旧会话"})
    assert status == 401 and _decisions(site, "WF01") == [], body[:300]
    b_token = _token(browser_.page(f"/h/{RUN}/WF02"))
    assert b_token != a_token
    # A's stale tab, submitted under B's cookie: refused, nothing recorded as B
    status, _, body = browser_.post(f"/review/{RUN}/{site['keys']['WF02']}/decide",
                                    {"csrf_token": a_token, "seen": "0", "decision": "rejected", "reason": "串号"})
    assert status == 403 and _decisions(site, "WF02") == [], body[:300]
    # the same user signing in again: the earlier session ends as well (fixation-safe)
    earlier = browser_.cookie
    sign_in(site, "wf_b", browser_)
    assert browser_.cookie != earlier and _signed_in_as(site, earlier) is None
    assert _signed_in_as(site, browser_.cookie) == "wf_b"
    # a wrong password does not end the live session
    status, _, _ = Client(site, browser_.cookie).post("/login", {"username": "wf_a", "password": "wrong-password-1"})
    assert status == 401 and _signed_in_as(site, browser_.cookie) == "wf_b"


@pytest.mark.browser
def test_wf02_in_chromium_a_second_sign_in_ends_the_first_users_session(site, browser):
    """WF02: the same in a real browser. A clerk signs in, a colleague signs in as herself in the same browser:
    the first clerk's cookie (saved before) opens nothing any more, and the first clerk's household tab, still open,
    cannot submit under the colleague's session."""
    context = browser.new_context()
    try:
        page = context.new_page()
        _browser_sign_in(page, site, "wf_a")
        a_cookie = next(c for c in context.cookies() if c["name"] == "hedui_session")
        page.goto(f"{site['base']}/h/{RUN}/WF01")
        assert "WF01" in page.content()
        other = context.new_page()
        _browser_sign_in(other, site, "wf_b")
        assert "wf_b" in other.locator("header").inner_text()
        # A's tab registers an objection with A's token: refused, not registered as B
        page.fill("textarea[name=reason]", "旧标签页提交")
        page.click("#objection-form button")
        page.wait_for_load_state()
        assert "令牌" in page.locator("#error").inner_text() or "/login" in page.url
        from hedui.web import objections

        assert objections.for_household(site["work"], RUN, "WF01") == []
        # A's cookie, put back by hand in a fresh browser: the sign-in page
        fresh = browser.new_context()
        try:
            fresh.add_cookies([{k: a_cookie[k] for k in ("name", "value", "domain", "path")}])
            p = fresh.new_page()
            p.goto(f"{site['base']}/h/{RUN}/WF01")
            assert "/login" in p.url and "赵敏" not in p.content()
        finally:
            fresh.close()
    finally:
        context.close()


def test_wf03_get_logout_asks_to_confirm_and_never_signs_out(site):
    """WF03: `GET /logout` typed by hand gave the error page "方法不允许". Now, signed in, it shows a small
    confirmation page whose button posts the sign-out with the session's CSRF token, and the session stays (a GET
    never signs out: another site's <img src=".../logout"> must not); without a session it goes to sign-in."""
    c = sign_in(site, "wf_a")
    status, headers, body = c.get("/logout")
    html = body.decode()
    assert status == 200 and "确定退出" in html and "出错" not in html, html[:500]
    assert re.search(r'<form method="post" action="/logout"><input type="hidden" name="csrf_token" value="'
                     + re.escape(_token(c.page("/"))) + '"', html), html
    assert headers["cache-control"] == "no-store"
    assert c.request("HEAD", "/logout")[0] == 200
    assert _signed_in_as(site, c.cookie) == "wf_a"  # still signed in after GET and HEAD
    for anon in (Client(site), Client(site, "forged.cookie")):
        status, headers, _ = anon.get("/logout")
        assert status == 303 and headers["location"] == "/login"
    status, _, _ = c.post("/logout", {"csrf_token": _token(html)})
    assert status == 303 and _signed_in_as(site, c.cookie) is None


@pytest.mark.browser
def test_wf03_in_chromium_the_logout_address_confirms_then_signs_out(site, browser):
    """WF03 in a real browser: /logout typed into the address bar shows the confirmation, its button signs out,
    and the session's cookie is refused afterwards."""
    context = browser.new_context()
    try:
        page = context.new_page()
        _browser_sign_in(page, site, "wf_a")
        cookie = next(c for c in context.cookies() if c["name"] == "hedui_session")["value"]
        response = page.goto(site["base"] + "/logout")
        assert response.status == 200 and page.locator("h1").inner_text() == "退出登录"
        assert _signed_in_as(site, cookie) == "wf_a"
        page.click("#confirm_logout")
        page.wait_for_url(re.compile(r".*/login$"))
        assert _signed_in_as(site, cookie) is None
        page.goto(site["base"] + "/logout")
        assert page.url.endswith("/login")
    finally:
        context.close()


def test_wf04_a_sign_out_from_a_stale_tab_is_no_error_page(site):
    """WF04: 退出 clicked in a tab whose session had already ended (signed out in another tab, 30 idle minutes)
    answered 401 "登录已过期或已退出，本次提交未保存"; from a tab of an earlier session (its token no longer the
    session's) 403 "缺少或错误的表单令牌". Now the first goes to the sign-in page; the second asks to confirm with
    the current token, and the live session stays until confirmed."""
    c = sign_in(site, "wf_a")
    token, cookie = _token(c.page("/")), c.cookie
    assert c.post("/logout", {"csrf_token": token})[0] == 303
    ended = Client(site, cookie)
    status, headers, _ = ended.post("/logout", {"csrf_token": token})
    assert status == 303 and headers["location"] == "/login"
    live = sign_in(site, "wf_a")
    status, _, body = live.post("/logout", {"csrf_token": token})  # the earlier session's token
    assert status == 403 and 'id="stale"' in body.decode() and "确定退出" in body.decode()
    assert _signed_in_as(site, live.cookie) == "wf_a"


# -- found auditing the workspace as a hostile user ------------------------------------------------------------------


def test_wf05_guesses_sent_at_once_are_held_to_the_sign_in_limit(site):
    """WF05: the sign-in limits were checked before the password and counted after it: 40 wrong guesses for one
    name sent at once (one script, 40 connections) all passed the check before the first was counted, and 31
    passwords were tried where the limit is 5 per 15 minutes (more with more connections). Now an attempt is
    checked and counted in one transaction (taken back when the password is right): at most 5 are tried, the rest
    refused "登录失败次数过多", and the right password is then held too."""
    import threading

    from hedui.web import accounts

    accounts.add_user(site["work"], "wf_target", "pw-wf_target-0123456", "clerk", ["360702"])
    start, statuses = threading.Barrier(30), []

    def guess(i: int) -> None:
        start.wait()
        statuses.append(Client(site).post("/login", {"username": "wf_target", "password": f"guess-{i:04d}-xyz"})[0])

    try:
        threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses.count(401) <= accounts.MAX_FAILURES["user"] and statuses.count(429) >= 25, sorted(statuses)
        status, _, body = Client(site).post("/login", {"username": "wf_target", "password": "pw-wf_target-0123456"})
        assert status == 429 and "登录失败次数过多" in body.decode()
    finally:
        accounts.unlock(site["work"], "wf_target")  # this address's counters too: the other tests sign in from it
    sign_in(site, "wf_target")  # a right password after the unlock: signed in, and not counted as a failure
    assert accounts.too_many_failures(site["work"], accounts.failure_keys("wf_target", "127.0.0.1"), time.time()) \
        is False


def _second_start() -> None:
    """Sleep until just after a new second begins: what follows happens within one second."""
    time.sleep(1.02 - time.time() % 1)


def test_wf06_a_disabling_or_a_password_reset_in_the_same_second_still_ends_the_session(site):
    """WF06: an account's change time (a session's `pw`) was kept to the second: a session signed in within the
    second of the account's last change outlived a disabling then enabling (admin 停用, then 启用 again) or a
    password reset (`hedui users passwd`) made in that same second, its `pw` equal to the new change time. Now the
    change time is kept to the microsecond: each change ends the sessions signed in before it. (The session is
    the server's own, made as a sign-in at that moment makes it: a real sign-in's password check takes longer than
    the second on this machine.)"""
    from hedui.web import accounts
    from hedui.web.security import Sessions, Settings, load_secret

    sessions = Sessions(Settings(workdir=site["work"], allowed_hosts=set(), secret=load_secret(site["work"])))
    accounts.add_user(site["work"], "wf_reset", "pw-wf_reset-0123456", "clerk", ["360702"])
    def session() -> str:  # as a sign-in now makes it
        return sessions.dump(sessions.new("wf_reset", accounts.get_user(site["work"], "wf_reset").changed_at))

    _second_start()  # all three changes within one second
    accounts.set_disabled(site["work"], "wf_reset", False)  # an account enabled again
    cookie = session()
    accounts.set_disabled(site["work"], "wf_reset", True)
    accounts.set_disabled(site["work"], "wf_reset", False)
    assert _signed_in_as(site, cookie) is None
    assert _signed_in_as(site, session()) == "wf_reset"  # a session made after the changes is good
    cookie = session()
    accounts.set_password(site["work"], "wf_reset", "pw-wf_reset-0123456")
    assert _signed_in_as(site, cookie) is None
    c = sign_in(site, "wf_reset")  # a real sign-in, then a reset: ended too
    accounts.set_password(site["work"], "wf_reset", "pw-wf_reset-0123456")
    assert _signed_in_as(site, c.cookie) is None
    assert _signed_in_as(site, sign_in(site, "wf_reset").cookie) == "wf_reset"  # a new sign-in works


def test_wf07_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(site):
    """WF07: a clerk who left the workspace signed in at a shared desk, or whose password was seen, had no way to
    change her password nor to end her other sessions: only an admin at the server's terminal could
    (`hedui users passwd`). Now 修改密码 (/password, a POST with the CSRF token and the current password) changes
    it, ends every other session of the account at once, and keeps this browser signed in under a new session. A
    wrong current password changes nothing and counts against the sign-in limits (a session left open is no
    unlimited password guessing)."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wf_own", "pw-wf_own-0123456", "clerk", ["360702"])
    try:
        desk, elsewhere = sign_in(site, "wf_own"), sign_in(site, "wf_own")
        page = desk.page("/password")
        assert 'action="/password"' in page and 'name="current"' in page
        form = {"csrf_token": _token(page), "current": "not-my-password", "new": "a-new-password-987",
                "again": "a-new-password-987"}
        status, _, body = desk.post("/password", form)
        assert status == 400 and "当前密码不正确" in body.decode()
        status, _, body = desk.post("/password", {**form, "current": "pw-wf_own-0123456", "again": "a-new-passw0rd"})
        assert status == 400 and "不一致" in body.decode()
        assert _signed_in_as(site, elsewhere.cookie) == "wf_own"  # nothing changed yet
        before = desk.cookie
        status, headers, _ = desk.post("/password", {**form, "current": "pw-wf_own-0123456"})
        assert status == 303 and headers["location"] == "/password?done=1"
        assert "其他浏览器和设备上的登录已全部退出" in desk.page("/password?done=1")
        assert _signed_in_as(site, desk.cookie) == "wf_own" and desk.cookie != before
        assert _signed_in_as(site, elsewhere.cookie) is None and _signed_in_as(site, before) is None
        assert accounts.authenticate(site["work"], "wf_own", "a-new-password-987") is not None
        assert accounts.authenticate(site["work"], "wf_own", "pw-wf_own-0123456") is None
        # wrong current passwords are held to the sign-in limit (the one above counted too)
        token = _token(desk.page("/password"))
        statuses = [desk.post("/password", {**form, "csrf_token": token})[0] for _ in range(5)]
        assert statuses == [400] * 4 + [429], statuses
    finally:
        accounts.unlock(site["work"], "wf_own")


@pytest.mark.browser
def test_wf07_in_chromium_the_password_page_changes_it_from_the_header(site, browser):
    """WF07 in a real browser: 修改密码 in the header opens the form; the change keeps this browser signed in."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wf_own2", "pw-wf_own2-0123456", "clerk", ["360702"])
    context = browser.new_context()
    try:
        page = context.new_page()
        _browser_sign_in(page, site, "wf_own2")
        page.click("#password-link")
        page.fill("#current", "pw-wf_own2-0123456")
        page.fill("#new", "b-new-password-654")
        page.fill("#again", "b-new-password-654")
        page.click("#change")
        page.wait_for_url("**/password?done=1")
        assert "密码已修改" in page.locator("#done").inner_text()
        page.goto(f"{site['base']}/h/{RUN}/WF01")
        assert "赵敏" in page.content()
    finally:
        context.close()
