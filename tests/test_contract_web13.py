"""Staff workspace, round 13 (web13): accounts an administrator opens on the web, and the leads of the round checked
on the real app. The world and the server are test_web11's (two households of two counties, each with a pair
waiting for review, run for real and served by a real uvicorn server)."""

from __future__ import annotations

from contract_world import RUN
from test_web11 import _signed_in_as, _token, sign_in, site  # noqa: F401 (fixtures)
from web_server import Client


def _add_user_form(admin: Client, name: str, password: str, role: str = "clerk", regions: str = "360702") -> dict:
    return {"csrf_token": _token(admin.page("/users")), "username": name, "display_name": name, "role": role,
            "regions": regions, "password": password}


def test_wh01_an_account_opened_on_the_web_must_set_its_own_password_first(site):  # noqa: F811
    """WH01: an account an admin opened on 账号管理 signed in with the admin's password and worked on: the password
    the admin chose (and told, wrote down, sent) stayed the clerk's for good. A reset was already marked
    must-change; now an opening is too: the first sign-in is sent to 修改密码 from every page, a form is refused
    in Chinese, until she sets her own; an account made at the server (`hedui users add`) is not affected."""
    from hedui.web import accounts

    admin = sign_in(site, "wf_adm")
    status, headers, body = admin.post("/users", _add_user_form(admin, "wh_new", "admins-choice-0123"))
    assert status == 303 and headers["location"] == "/users", (status, body[:300])
    assert accounts.get_user(site["work"], "wh_new").must_change is True
    assert "待修改临时密码" in admin.page("/users")
    clerk = Client(site)
    status, headers, _ = clerk.post("/login", {"username": "wh_new", "password": "admins-choice-0123",
                                               "next": f"/h/{RUN}/WF01"})
    assert status == 303 and clerk.cookie
    for path in ("/", f"/h/{RUN}/WF01", "/review", "/review/export.xlsx"):
        status, headers, _ = clerk.get(path)
        assert status == 303 and headers["location"] == "/password", (path, status, headers)
    page = clerk.page("/password")
    assert 'id="must"' in page and "开设账号" in page
    status, _, body = clerk.post(f"/h/{RUN}/WF01/objections", {"csrf_token": _token(page), "reason": "未改密码（WH01）"})
    assert status == 403 and "请先修改密码" in body.decode()
    status, headers, _ = clerk.post("/password", {"csrf_token": _token(page), "current": "admins-choice-0123",
                                                  "new": "wh-own-password-42", "again": "wh-own-password-42"})
    assert status == 303 and headers["location"] == "/password?done=1"
    assert clerk.get(f"/h/{RUN}/WF01")[0] == 200
    assert accounts.get_user(site["work"], "wh_new").must_change is False
    # at the server the operator sets a password the person types herself: as before
    accounts.add_user(site["work"], "wh_cli", "pw-wh_cli-0123456", "clerk", ["360702"])
    assert accounts.get_user(site["work"], "wh_cli").must_change is False
    assert _signed_in_as(site, sign_in(site, "wh_cli").cookie) == "wh_cli"
