"""Every way in is hostile: the staff workspace's HTTP edges and the CLI's arguments, as an outside tester
attacks them.  The pages used here (/login, /objections, /users) read only the staff file, so the app
runs on an empty working folder: no world is built, and each test takes well under a second."""

from __future__ import annotations

import re

import pytest

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    tmp_path = tmp_path_factory.mktemp("staff")
    accounts.add_user(tmp_path, "clerk1", "pw-clerk1-0123456", "clerk", ["360102"])
    accounts.add_user(tmp_path, "adm", "pw-adm-0123456789", "admin", ["360000"])
    app = create_app(tmp_path, {"testserver"})

    def client(user: str | None = None) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        if user:
            pw = {"clerk1": "pw-clerk1-0123456", "adm": "pw-adm-0123456789"}[user]
            r = c.post("/login", data={"username": user, "password": pw, "next": "/objections"}, headers=ORIGIN)
            assert r.status_code == 303, r.text
        return c

    client.workdir = tmp_path
    return client


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/objections").text).group(1)


def test_a_session_cookie_kept_after_sign_out_is_refused(site):
    c = site("clerk1")
    cookie = c.cookies.get("hedui_session")
    assert c.get("/objections").status_code == 200
    assert c.post("/logout", data={"csrf_token": _csrf(c)}, headers=ORIGIN).status_code == 303
    thief = site()
    thief.cookies.set("hedui_session", cookie)
    r = thief.get("/objections")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    # the user signs in again: a new session, which works, while the old copy stays refused
    again = site("clerk1")
    assert again.cookies.get("hedui_session") != cookie
    assert again.get("/objections").status_code == 200
    assert thief.get("/objections").status_code == 303


def test_a_forged_or_sessionless_cookie_is_refused(site):
    from hedui.web.security import COOKIE

    c = site("clerk1")
    good = c.cookies.get(COOKIE)
    payload, rest = good.split(".", 1)
    for forged in ("", "x", payload + ".AAAA.BBBB", "eyJ1IjoiYWRtIn0." + rest):
        other = site()
        other.cookies.set(COOKIE, forged)
        assert other.get("/users").status_code == 303, forged


@pytest.mark.parametrize("method, path", [
    ("get", "/objections?overdue=abc"),
    ("get", "/h/20261128/WT1/report?v=abc"),
    ("post", "/objections/abc/decide"),
])
def test_malformed_parameters_get_a_chinese_page_not_english_json(site, method, path):
    c = site("clerk1")
    data = {"csrf_token": _csrf(c)} if method == "post" else None
    r = c.request(method, path, data=data, headers=ORIGIN)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "请求有误" in r.text and "Input should be" not in r.text and "abc" not in r.text


def test_a_malformed_parameter_without_a_session_still_asks_to_sign_in(site):
    r = site().get("/objections?overdue=abc")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_an_unknown_review_status_filter_is_refused(site):
    r = site("clerk1").get("/review?status=%27%3Cx%3E")
    assert r.status_code == 400 and "状态筛选无效" in r.text and "<x>" not in r.text


# -- the CLI ---------------------------------------------------------------------------------------------------


def _cli(capsys, *argv) -> tuple[int, str]:
    from hedui.cli import main

    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return rc, err


@pytest.mark.parametrize("argv, expected", [
    (["serve", "--port", "70000"], "端口“70000”无效"),  # would have listened on 70000 - 65536 = 4464
    (["serve", "--port", "0"], "端口“0”无效"),
    (["serve", "--port", "-1"], "端口“-1”无效"),
    (["generate", "--out", "{tmp}/gen", "--date", "20261128", "--households", "-5"], "户数“-5”无效"),
    (["generate", "--out", "{tmp}/gen", "--date", "20261128", "--households", "0"], "户数“0”无效"),
])
def test_out_of_range_numbers_are_usage_errors(tmp_path, capsys, argv, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] == "serve":
        argv += ["--workdir", str(tmp_path)]
    rc, err = _cli(capsys, *argv)
    assert rc == 2 and expected in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("action", [["list"], ["disable", "nobody"], ["enable", "nobody"], ["passwd", "nobody"],
                                    ["add", "zhang", "--role", "clerk", "--region", "360102"]])
def test_users_on_a_mistyped_workdir_create_nothing(tmp_path, capsys, action):
    rc, err = _cli(capsys, "users", *action, "--workdir", str(tmp_path / "typo" / "work"), "--password-stdin")
    assert rc == 2 and "不存在" in err
    assert list(tmp_path.iterdir()) == []


def test_users_other_than_add_on_a_workdir_without_accounts_create_nothing(tmp_path, capsys):
    rc, err = _cli(capsys, "users", "list", "--workdir", str(tmp_path))
    assert rc == 2 and "还没有任何账号" in err
    assert list(tmp_path.iterdir()) == []


def test_an_id_or_account_number_typed_into_an_objection_is_masked_for_every_reader(site):
    import datetime as dt

    from hedui.web import accounts, objections

    workdir = site.workdir
    clerk = accounts.get_user(workdir, "clerk1")
    obj = objections.register(workdir, clerk, "20261128", "WT-MASK-1", "360102",
                              "申请人 36010219900101123X 称账户 6222021234567890123 已销户",
                              today=dt.date(2026, 11, 30))
    stored = objections.get(workdir, obj["id"])["reason"]
    assert "36010219900101123X" not in stored and "6222021234567890123" not in stored
    assert "123X" in stored and "0123" in stored  # the last four stay, so staff can still tell them apart
    page = site("clerk1").get("/objections").text
    assert "WT-MASK-1" in page and "19900101" not in page and "62220212345" not in page
