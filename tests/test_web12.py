"""Staff workspace, round 12 (web12): the idle timer and downloads, an admin's password reset, then the staff pages
tried with hostile input. The world and the server are test_web11's (two households of two counties, each with a
pair waiting for review, run for real and served by a real uvicorn server); the browser parts in headless Chromium."""

from __future__ import annotations

import json
import re
import time

import pytest
from contract_world import RUN
from test_web11 import _signed_in_as, _token, browser, sign_in, site  # noqa: F401 (fixtures)
from web_server import Client, serving

MINUTE = 60.0


@pytest.fixture(scope="module")
def clocked(site):  # noqa: F811
    """The same workspace served a second time, its sessions on a clock the test moves (`clocked["now"]`)."""
    from hedui.web.app import create_app

    now = [time.time()]
    with serving(lambda port: create_app(site["work"], {f"127.0.0.1:{port}"}, clock=lambda: now[0])) as (port, _):
        yield {**site, "port": port, "host": f"127.0.0.1:{port}", "base": f"http://127.0.0.1:{port}", "now": now}


def _renewed(headers: dict) -> bool:
    return any(v.startswith("hedui_session=") and "Max-Age=1800" in v for v in headers.get("set-cookie", []))


def test_wg01_downloads_and_redirects_restart_the_idle_time(clocked):
    """WG01: only pages rendered from templates renewed the session's cookie: a clerk working 20 minutes on one
    export, then the next (the review queue's XLSX, the quarantined rows' CSV, the search's XLSX), a report opened
    from the batch summary's link (a redirect) and an objection registered (a POST answered by a redirect) was
    signed out at the next page, 30 minutes after the last *page*. Now every answer to a signed-in request renews
    it; 30 minutes with no request at all still end the session, and a browser's prefetch renews nothing."""
    now = clocked["now"]
    c = sign_in(clocked, "wf_a")
    steps = [("GET", "/review/export.xlsx", 200), ("GET", "/quarantine/export.csv", 200),
             ("GET", f"/runs/{RUN}/households/WF01.html", 303), ("GET", "/export/outcomes.xlsx?outcome=CLEAR", 200)]
    for method, path, expected in steps:
        now[0] += 20 * MINUTE  # each step 20 minutes after the last: 40 and more since the sign-in's page
        status, headers, body = c.request(method, path)
        assert status == expected and _renewed(headers), (path, status, headers.get("set-cookie"), body[:200])
    token = _token(c.page(f"/h/{RUN}/WF01"))
    now[0] += 25 * MINUTE
    status, headers, body = c.post(f"/h/{RUN}/WF01/objections", {"csrf_token": token, "reason": "收入计算有误（WG01）"})
    assert status == 303 and _renewed(headers), (status, body[:300])
    now[0] += 25 * MINUTE
    assert c.get("/")[0] == 200  # 50 minutes after the household page: still signed in
    # a prefetch (no one opened the page) renews nothing; 31 minutes without a request end the session
    now[0] += 20 * MINUTE
    status, headers, _ = c.get("/review/export.xlsx", headers={"Sec-Purpose": "prefetch"})
    assert status == 200 and not _renewed(headers)
    now[0] += 11 * MINUTE
    status, headers, _ = c.get("/")
    assert status == 303 and headers["location"].startswith("/login"), status


# -- an admin resets another user's password --------------------------------------------------------------------


def _audit(site) -> list[dict]:  # noqa: F811
    from hedui.audit.auditor import default_log_path

    return [json.loads(line) for line in default_log_path(site["work"]).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _users_page_token(c: Client, username: str) -> str:
    html = c.page("/users")
    form = re.search(rf'<form class="inline reset" method="post" action="/users/{re.escape(username)}/reset-password">'
                     r'<input type="hidden" name="csrf_token" value="([^"]+)"', html)
    assert form, html[-2000:]
    return form.group(1)


def test_wg02_an_admin_resets_a_password_to_a_temporary_one(site):  # noqa: F811
    """WG02: an admin could reset a user's password only at the server (`hedui users passwd`). Now 账号管理 has
    重设密码 (a POST with the CSRF token, admins only, within their regions, not their own account): it shows a random
    temporary password once (not in the audit log, nor in any address), ends every session of the account, and the
    user, signed in with it, is sent to 修改密码 from every page (a form sent meanwhile is refused) until she sets
    her own. A non-admin's POST, one without the token and one from another site are refused and change nothing."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wg_reset", "pw-wg_reset-0123456", "clerk", ["360702"])
    accounts.add_user(site["work"], "wg_cadm", "pw-wg_cadm-0123456", "admin", ["360702"])
    target = sign_in(site, "wg_reset")
    admin = sign_in(site, "wf_adm")
    token = _users_page_token(admin, "wg_reset")
    url = "/users/wg_reset/reset-password"
    refused = [
        (admin, {}, None),  # no token
        (admin, {"csrf_token": "forged"}, None),
        (admin, {"csrf_token": token}, {"Origin": "http://evil.example"}),  # another site's page
    ]
    clerk = sign_in(site, "wf_a")
    refused.append((clerk, {"csrf_token": _token(clerk.page("/"))}, None))  # not an admin
    county_admin = sign_in(site, "wg_cadm")  # an admin of another county's user
    refused.append((county_admin, {"csrf_token": _token(county_admin.page("/users"))}, None))
    for who, form, headers in refused:
        status, _, body = who.post(url if who is not county_admin else "/users/wf_b/reset-password", form,
                                   headers=headers)
        assert status in (403, 404), (status, body[:300])
        assert "temporary-password" not in body.decode()
    assert _signed_in_as(site, target.cookie) == "wg_reset"
    assert accounts.authenticate(site["work"], "wg_reset", "pw-wg_reset-0123456") is not None
    assert accounts.get_user(site["work"], "wf_b").must_change is False
    status, _, body = admin.post("/users/wf_adm/reset-password", {"csrf_token": token})  # not one's own
    assert status == 400 and "修改密码" in body.decode()

    status, headers, body = admin.post(url, {"csrf_token": token})
    html = body.decode()
    assert status == 200 and headers["cache-control"] == "no-store", (status, html[:300])
    temporary = re.search(r'id="temporary-password"[^>]*>([^<]+)<', html).group(1)
    assert len(temporary) >= accounts.MIN_PASSWORD and "只显示这一次" in html
    assert _signed_in_as(site, target.cookie) is None  # her sessions ended
    assert accounts.authenticate(site["work"], "wg_reset", "pw-wg_reset-0123456") is None
    entry = [e for e in _audit(site) if "重设账号 wg_reset" in e.get("subject", "")]
    assert entry and entry[-1]["actor"] == "wf_adm", entry
    assert temporary not in default_text(site)
    # she signs in with it: every page sends her to 修改密码, a form is refused, until she sets her own
    fresh = Client(site)
    status, headers, _ = fresh.post("/login", {"username": "wg_reset", "password": temporary, "next": f"/h/{RUN}/WF01"})
    assert status == 303
    for path in ("/", f"/h/{RUN}/WF01", "/review/export.xlsx", "/users"):
        status, headers, _ = fresh.get(path)
        assert status == 303 and headers["location"] == "/password", (path, status)
    page = fresh.page("/password")
    assert 'id="must"' in page
    status, _, body = fresh.post(f"/h/{RUN}/WF01/objections", {"csrf_token": _token(page), "reason": "未改密码"})
    assert status == 403 and "请先修改密码" in body.decode()
    status, headers, _ = fresh.post("/password", {"csrf_token": _token(page), "current": temporary,
                                                  "new": "her-own-password-42", "again": "her-own-password-42"})
    assert status == 303 and headers["location"] == "/password?done=1"
    assert fresh.get(f"/h/{RUN}/WF01")[0] == 200
    assert accounts.get_user(site["work"], "wg_reset").must_change is False
    assert accounts.authenticate(site["work"], "wg_reset", temporary) is None  # one time only


def default_text(site) -> str:  # noqa: F811
    from hedui.audit.auditor import default_log_path

    return default_log_path(site["work"]).read_text(encoding="utf-8")


@pytest.mark.browser
def test_wg03_in_chromium_the_admin_resets_and_the_user_must_change(site, browser):  # noqa: F811
    """WG03 in a real browser: the admin clicks 重设密码 on 账号管理 and reads the temporary password; the user's open
    browser is signed out; signing in with the temporary password lands on 修改密码, which she must pass first."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wg_reset2", "pw-wg_reset2-0123456", "clerk", ["360702"])
    admin_ctx, user_ctx = browser.new_context(), browser.new_context()
    try:
        user = user_ctx.new_page()
        _sign_in_page(user, site, "wg_reset2", "pw-wg_reset2-0123456")
        user.wait_for_url(site["base"] + "/")
        admin = admin_ctx.new_page()
        _sign_in_page(admin, site, "wf_adm", "pw-wf_adm-0123456")
        admin.wait_for_url(site["base"] + "/")
        admin.click("text=账号管理")
        admin.click("#reset-wg_reset2")
        admin.wait_for_selector("#temporary-password")
        assert admin.locator("#reset-user").inner_text() == "wg_reset2"
        temporary = admin.locator("#temporary-password").inner_text().strip()
        user.goto(f"{site['base']}/h/{RUN}/WF01")
        assert "/login" in user.url  # her session ended
        _sign_in_page(user, site, "wg_reset2", temporary)
        user.wait_for_url("**/password")
        assert "临时密码" in user.locator("#must").inner_text()
        user.goto(f"{site['base']}/h/{RUN}/WF01")
        assert user.url.endswith("/password")
        user.fill("#current", temporary)
        user.fill("#new", "wg-own-password-77")
        user.fill("#again", "wg-own-password-77")
        user.click("#change")
        user.wait_for_url("**/password?done=1")
        user.goto(f"{site['base']}/h/{RUN}/WF01")
        assert "赵敏" in user.content()
    finally:
        admin_ctx.close()
        user_ctx.close()


def _sign_in_page(page, site, user: str, password: str) -> None:  # noqa: F811
    page.goto(site["base"] + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#signin")


# -- found trying the staff pages as a hostile user ---------------------------------------------------------------


def _raw(site, head: bytes) -> bytes:  # noqa: F811
    """One request sent byte for byte (headers http.client would not send), the answer's head."""
    import socket

    with socket.create_connection(("127.0.0.1", site["port"]), timeout=30) as s:
        s.sendall(head)
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.split(b"\r\n\r\n")[0]


def test_wg04_a_request_with_two_host_headers_is_refused(site):  # noqa: F811
    """WG04: a request with two Host headers, the first the workspace's own and the second another site's, was
    answered as the workspace's (the allow-list read the first): a proxy or cache in front that keys on the last
    would take the answer for the other site. RFC 9112 says such a request is answered 400; now it is, with the
    Chinese refusal, in either order, and a request with one Host as before."""
    c = sign_in(site, "wf_a")
    host = site["host"].encode()
    cookie = b"Cookie: hedui_session=" + c.cookie.encode() + b"\r\n"
    for hosts in ((host, b"evil.example"), (b"evil.example", host), (host, host)):
        head = _raw(site, b"GET / HTTP/1.1\r\n" + b"".join(b"Host: " + h + b"\r\n" for h in hosts) + cookie
                    + b"Connection: close\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), (hosts, head[:200])
    head = _raw(site, b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n" + cookie + b"Connection: close\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]


def test_wg05_a_trailing_slash_redirects_relative_never_to_plain_http(site):  # noqa: F811
    """WG05: `/users/` or `/review/?date=…` (an address typed or pasted with a trailing slash) was redirected by
    Starlette to an absolute address built from the request as the server saw it: behind a TLS proxy started
    without --trusted-proxy, `https://…/users/` went to `http://…/users` (plain HTTP, a port the proxy may not
    serve). Now the redirect is relative (the browser keeps the scheme and host it used), with the query; an address
    that is no page without its slash is "未找到", and `//other.site/` never redirects off the site."""
    c = sign_in(site, "wf_a")
    for path, location in (("/users/", "/users"), (f"/review/?date={RUN}", f"/review?date={RUN}"),
                           (f"/h/{RUN}/WF01//", f"/h/{RUN}/WF01")):
        status, headers, _ = c.get(path)
        assert status == 307 and headers["location"] == location, (path, status, headers.get("location"))
    admin = sign_in(site, "wf_adm")  # sees the whole run's Data Docs: a folder that is not there stays "未找到"
    for who, path in ((c, "//evil.example/"), (c, "/nothing-here/"), (c, "/\\evil.example/"),
                      (admin, f"/runs/{RUN}/datadocs/none/")):
        status, headers, body = who.get(path)
        assert status == 404 and "location" not in headers and "未找到" in body.decode(), (path, status)


def test_wg06_a_temporary_password_not_used_within_three_days_opens_nothing(site):  # noqa: F811
    """WG06: a temporary password is handed over the same day; left unused (a note on a desk, a chat message) it
    must not stay a way in. Signed in with more than TEMPORARY_DAYS after the reset: refused with the reason and
    what to do (ask the admin to reset again), counted as a failed sign-in; 账号管理 shows the account as waiting for
    the change. An own password set after it is not affected."""
    import datetime as dt
    import sqlite3

    from hedui.web import accounts

    accounts.add_user(site["work"], "wg_stale", "pw-wg_stale-0123456", "clerk", ["360702"])
    temporary = accounts.temporary_password("wg_stale")
    accounts.set_password(site["work"], "wg_stale", temporary, must_change=True)
    assert "wg_stale</td><td>wg_stale</td><td>核对员</td>" in (page := sign_in(site, "wf_adm").page("/users"))
    assert re.search(r"wg_stale</td>.*?启用（待修改临时密码）", page, re.S)
    with sqlite3.connect(site["work"] / "staff.sqlite") as con:  # set four days ago
        con.execute("update users set changed_at = ? where username = 'wg_stale'",
                    [(dt.datetime.now(dt.UTC) - dt.timedelta(days=accounts.TEMPORARY_DAYS + 1)).isoformat()])
    try:
        status, _, body = Client(site).post("/login", {"username": "wg_stale", "password": temporary, "next": "/"})
        assert status == 401 and "临时密码已过期" in body.decode() and "管理员" in body.decode(), body[:300]
        entry = [e for e in _audit(site) if e.get("action") == "sign_in_failed"][-1]
        assert "wg_stale" in entry["subject"] and "过期" in entry["subject"]
        accounts.set_password(site["work"], "wg_stale", "wg-stale-own-pass-1")  # `hedui users passwd`
        assert Client(site).post("/login", {"username": "wg_stale", "password": "wg-stale-own-pass-1"})[0] == 303
    finally:
        accounts.unlock(site["work"], "wg_stale")
