"""Every way in is hostile: the staff workspace's HTTP edges and the CLI's arguments, as an outside tester
attacks them.  The pages used here (/login, /objections, /users) read only the staff file, so the app
runs on an empty working folder: no world is built, and each test takes well under a second."""

from __future__ import annotations

import re

import pytest

ORIGIN = {"Origin": "http://testserver"}


RUN = "20261128"
MINE, THEIRS = "WT-MINE-1", "WT-THEIRS-1"  # a household of 360102 (clerk1's county) and one of 360111


def _tiny_database(workdir):
    """The tables `scope.scoped` reads, with two households and their report files: enough for the
    scope, path and export checks, without running a world."""
    import duckdb

    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    con.execute("create table households (run_date varchar, request_id varchar, region_code varchar, "
                "program varchar, urban_rural varchar, request_date date)")
    con.execute("create table outcomes (run_date varchar, request_id varchar, outcome varchar, findings varchar)")
    con.execute("create table stg_requests (run_date varchar, request_id varchar, row_no integer, name varchar, "
                "id_masked varchar, id_norm varchar, relation varchar, authorization_no varchar, region_code varchar)")
    con.execute("create table review_queue (run_date varchar, request_id varchar, decision_key varchar, "
                "status varchar, record_id varchar, source varchar, member_id varchar, match_weight double, band varchar)")
    for rid, region, name in ((MINE, "360102", '=HYPERLINK("http://evil.example","点我")'),
                              (THEIRS, "360111", "李四")):
        con.execute("insert into households values (?, ?, ?, '低保', '城市', date '2026-11-20')", [RUN, rid, region])
        con.execute("insert into outcomes values (?, ?, 'CLEAR', '')", [RUN, rid])
        con.execute("insert into stg_requests values (?, ?, 1, ?, '360102********123X', 'x', '本人', 'A1', ?)",
                    [RUN, rid, name, region])
        page = workdir / "reports" / RUN / "households" / f"{rid}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<html><body>报告 {rid}</body></html>", encoding="utf-8")
    con.close()
    docs = workdir / "reports" / RUN / "datadocs"
    docs.mkdir(parents=True)
    (docs / "index.html").write_text("<html>docs</html>", encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    tmp_path = tmp_path_factory.mktemp("staff")
    accounts.add_user(tmp_path, "clerk1", "pw-clerk1-0123456", "clerk", ["360102"])
    accounts.add_user(tmp_path, "adm", "pw-adm-0123456789", "admin", ["360000"])
    _tiny_database(tmp_path)
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
    main = r.text[r.text.index("<main"):]  # the header's CSRF token is random text and may hold "abc"
    assert "请求有误" in r.text and "Input should be" not in r.text and "abc" not in main


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


@pytest.mark.parametrize("path", [
    f"/h/{RUN}/{THEIRS}", f"/h/{RUN}/{THEIRS}/report", f"/h/{RUN}/{THEIRS}/report?v=1",
    f"/h/{RUN}/{THEIRS}/report.pdf", f"/runs/{RUN}/summary", f"/runs/{RUN}/datadocs/index.html",
])
def test_a_county_clerk_reads_nothing_of_another_county(site, path):
    r = site("clerk1").get(path)
    assert r.status_code == (403 if path.startswith("/runs/") else 404) and "李四" not in r.text and THEIRS not in r.text.replace(path, "")


def test_exports_and_searches_stay_in_the_clerks_county_and_neutralize_formulas(site):
    import io

    import openpyxl

    c = site("clerk1")
    assert THEIRS not in c.get("/search", params={"q": "WT"}).text
    r = c.get("/export/outcomes.xlsx", params={"county": "360111"})
    assert r.status_code == 200
    cells = [v for row in openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True)
             for v in row if v is not None]
    assert THEIRS not in cells
    r = c.get("/export/outcomes.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [cell for row in ws.iter_rows() for cell in row]
    assert MINE in [v.value for v in values]
    assert not any(v.data_type == "f" or str(v.value or "").startswith(("=", "+", "-", "@")) for v in values)
    assert "360102********123X" in [v.value for v in values]


@pytest.mark.parametrize("rest", ["a%00b", "..%2f..%2f..%2fweb_secret", "%2e%2e/%2e%2e/%2e%2e/web_secret",
                                  "..%5c..%5c..%5cweb_secret", "%2fetc%2fpasswd", "index.html%00.png",
                                  "a/" * 3000])
def test_data_docs_paths_never_leave_their_folder_nor_crash(site, rest):
    r = site("adm").get(f"/runs/{RUN}/datadocs/{rest}")
    assert r.status_code in (403, 404), (rest, r.status_code)
    assert "text/html" in r.headers["content-type"] and "未找到" in r.text


@pytest.mark.parametrize("path", [f"/h/{RUN}/..%2f..%2fweb_secret", f"/h/..%2f..%2f/{MINE}", f"/h/{RUN}/{MINE}%00",
                                  f"/h/{RUN}/{MINE}/report?v=-1", f"/h/{RUN}/{MINE}/report?v=99999999999"])
def test_hostile_household_paths_are_refused_in_chinese(site, path):
    r = site("clerk1").get(path)
    assert r.status_code in (400, 404) and "text/html" in r.headers["content-type"]
    assert "Traceback" not in r.text


@pytest.fixture(scope="module")
def small_inbox(tmp_path_factory):
    from hedui.generate import generate

    inbox = tmp_path_factory.mktemp("inbox") / "inbox"
    generate(inbox, households=2, seed=3, date=RUN)
    return inbox


@pytest.mark.parametrize("where", ["a_file", "the_inbox", "inside_the_inbox"])
def test_a_run_into_a_file_or_into_the_inbox_is_refused_before_anything_is_written(small_inbox, tmp_path, capsys,
                                                                                   where):
    (tmp_path / "a_file").write_text("x")
    workdir = {"a_file": tmp_path / "a_file", "the_inbox": small_inbox,
               "inside_the_inbox": small_inbox / "requests" / "work"}[where]
    before = sorted(p for p in small_inbox.rglob("*"))
    rc, err = _cli(capsys, "run", "--inbox", str(small_inbox), "--date", RUN, "--workdir", str(workdir))
    assert rc == 2 and ("是一个文件而不是目录" in err if where == "a_file" else "在收件箱" in err), err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p for p in small_inbox.rglob("*")) == before
    assert (tmp_path / "a_file").read_text() == "x"


def test_the_servers_error_log_masks_ids_in_tracebacks_too(capsys):
    import logging
    import logging.config

    from hedui.web.app import LOG_CONFIG

    logging.config.dictConfig(LOG_CONFIG)
    try:
        raise ValueError("Could not convert string '36010219900101123X' (account 6222021234567890123)")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    err = capsys.readouterr().err
    assert "Exception in ASGI application" in err and "Traceback" in err and "ValueError" in err
    assert "36010219900101123X" not in err and "6222021234567890123" not in err


def test_a_page_asked_for_without_a_session_comes_back_after_sign_in_and_nowhere_else(site):
    r = site().get(f"/h/{RUN}/x%26next%3Devil")  # a path smuggling a second `next` into the query
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/h/{RUN}/x%26next%3Devil"


@pytest.mark.parametrize("username, password, display, expected", [
    ("wang", "aaaaaaaaaaaa", "", "太简单"),
    ("wang", "1212121212", "", "太简单"),
    ("wangwuwuwu", "WangWuWuWu", "", "不能与用户名相同"),
    ("wang", "x" * 300 + "abcd", "", "太长"),
    ("wang", "pw-wang-0123456", "王五\x1b[2J\x1b]0;pwned\x07", "控制字符"),
    ("wang", "pw-wang-0123456", "王" * 65, "不超过 64"),
])
def test_weak_passwords_and_hostile_display_names_are_refused(tmp_path, username, password, display, expected):
    from hedui.web import accounts

    with pytest.raises(accounts.AccountError, match=expected):
        accounts.add_user(tmp_path, username, password, "clerk", ["360102"], display_name=display)
    assert accounts.list_users(tmp_path) == []


def test_an_outdated_hash_is_renewed_at_sign_in_without_ending_the_new_session(tmp_path):
    from argon2 import PasswordHasher

    from hedui.web import accounts

    accounts.add_user(tmp_path, "old", "pw-old-0123456", "clerk", ["360102"])
    con = accounts.connect(tmp_path)  # a hash made with weaker parameters, as an older release stored it
    con.execute("update users set password_hash = ?, changed_at = '2026-01-05T08:00:00+00:00' where username = 'old'",
                [PasswordHasher(time_cost=1, memory_cost=8192).hash("pw-old-0123456")])
    con.close()
    before = accounts.get_user(tmp_path, "old").changed_at
    user = accounts.authenticate(tmp_path, "old", "pw-old-0123456")
    assert user and user.changed_at == before == accounts.get_user(tmp_path, "old").changed_at
    assert accounts.authenticate(tmp_path, "old", "pw-old-0123456")


def test_serve_behind_https_marks_the_session_cookie_secure(tmp_path):
    from fastapi.testclient import TestClient

    from hedui.cli import build_parser
    from hedui.web import accounts
    from hedui.web.app import create_app

    assert build_parser().parse_args(["serve", "--workdir", str(tmp_path), "--https"]).https
    accounts.add_user(tmp_path, "clerk1", "pw-clerk1-0123456", "clerk", ["360102"])
    c = TestClient(create_app(tmp_path, {"testserver"}, secure_cookie=True), base_url="https://testserver",
                   follow_redirects=False)
    r = c.post("/login", data={"username": "clerk1", "password": "pw-clerk1-0123456"},
               headers={"Origin": "https://testserver"})
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_wrong_passwords_from_elsewhere_do_not_lock_a_clerk_out_but_guessing_stops(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    # lower limits than the deployed 20 / 50 (each attempt costs an argon2 hash); the per-user 5 stays
    monkeypatch.setattr(accounts, "MAX_FAILURES", {"user": 5, "ip": 8, "name": 12})

    accounts.add_user(tmp_path, "clerk9", "pw-clerk9-0123456", "clerk", ["360102"])
    app = create_app(tmp_path, {"testserver"})

    def sign_in(address: str, user: str, password: str) -> int:
        c = TestClient(app, follow_redirects=False, client=(address, 40000))
        return c.post("/login", data={"username": user, "password": password, "next": "/"}, headers=ORIGIN).status_code

    assert [sign_in("10.0.0.66", "clerk9", f"wrong-{i}") for i in range(6)] == [401] * 5 + [429]
    assert sign_in("10.0.0.66", "clerk9", "pw-clerk9-0123456") == 429  # locked at the guessing address
    assert sign_in("10.0.0.7", "clerk9", "pw-clerk9-0123456") == 303  # the clerk at her own desk is not
    # one address trying many names stops at its own limit
    assert [sign_in("10.0.0.99", f"name{i}", "x-0123456") for i in range(9)][-1] == 429
    # a guesser spread over many addresses still stops at the user's limit over all of them
    codes = [sign_in(f"10.1.{i // 4}.{i % 4}", "clerk9", f"wrong-{i}") for i in range(7)]
    assert codes[-1] == 401
    assert sign_in("10.2.0.1", "clerk9", "wrong") == 429
    assert sign_in("10.3.0.1", "clerk9", "pw-clerk9-0123456") == 429  # a new address waits out the window
    # the clerk's own desk (she signed in from it) is not locked out by it: a guesser repeating every window
    # kept her out for good (test_hostile5 OH…)
    assert sign_in("10.0.0.7", "clerk9", "pw-clerk9-0123456") == 303


def test_behind_a_trusted_proxy_the_sign_in_limits_count_each_client_not_the_proxy(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    monkeypatch.setattr(accounts, "MAX_FAILURES", {"user": 5, "ip": 8, "name": 12})
    accounts.add_user(tmp_path, "clerk8", "pw-clerk8-0123456", "clerk", ["360102"])
    proxy, stranger = "10.0.0.5", "10.9.9.9"

    def signer(app):
        def sign_in(peer: str, forwarded: str, user: str, password: str) -> int:
            c = TestClient(app, follow_redirects=False, client=(peer, 40000))
            return c.post("/login", data={"username": user, "password": password, "next": "/"},
                          headers={**ORIGIN, "X-Forwarded-For": forwarded}).status_code
        return sign_in

    # without --trusted-proxy every request through the proxy is the proxy's: one guesser locks everyone out
    plain = signer(create_app(tmp_path / "a", {"testserver"}))
    accounts.add_user(tmp_path / "a", "clerk8", "pw-clerk8-0123456", "clerk", ["360102"])
    assert [plain(proxy, "203.0.113.7", "clerk8", f"wrong-{i}") for i in range(6)][-1] == 429
    assert plain(proxy, "192.168.1.20", "clerk8", "pw-clerk8-0123456") == 429

    # with it, the clerk at her own desk is not locked out by a guesser elsewhere, and the guesser is
    sign_in = signer(create_app(tmp_path, {"testserver"}, trusted_proxies=[proxy]))
    assert [sign_in(proxy, "203.0.113.7", "clerk8", f"wrong-{i}") for i in range(6)] == [401] * 5 + [429]
    assert sign_in(proxy, "203.0.113.7", "clerk8", "pw-clerk8-0123456") == 429
    assert sign_in(proxy, "192.168.1.20", "clerk8", "pw-clerk8-0123456") == 303
    # a peer that is not the proxy cannot choose its address by sending the header
    assert [sign_in(stranger, f"198.51.100.{i}", f"name{i}", "x-0123456") for i in range(9)][-1] == 429
    assert sign_in(stranger, "192.168.1.21", "clerk8", "pw-clerk8-0123456") == 429


@pytest.mark.parametrize("value", ["*", "proxy.example", "10.0.0.300", ""])
def test_a_trusted_proxy_must_be_an_address_or_network(tmp_path, capsys, value):
    from hedui.cli import build_parser

    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--workdir", str(tmp_path), "--trusted-proxy", value])
    assert exc.value.code == 2 and "反向代理地址" in capsys.readouterr().err
    ok = build_parser().parse_args(["serve", "--workdir", str(tmp_path), "--trusted-proxy", "10.0.0.0/24",
                                    "--trusted-proxy", "10.0.1.5"])
    assert ok.trusted_proxy == ["10.0.0.0/24", "10.0.1.5/32"]
