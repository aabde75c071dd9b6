"""Hostile ways in, round 6: the three gaps round 5 left (a colleague behind the office's one address locking a
clerk out, an admin learning another county's user names, `hedui audit -c ""` exiting 0 having run nothing), then
a sweep of the staff workspace, its exports and the CLI. Tests run the real application (FastAPI's TestClient or a
real uvicorn server), the real SQLite account file and the real CLI entry point."""

from __future__ import annotations

import pytest

ORIGIN = {"Origin": "http://testserver"}
OFFICE = "10.0.0.7"  # the county office's one address (NAT): every clerk there and the guesser too
REGION, OTHER = "360702", "360703"


def _pw(name: str) -> str:
    return f"pw-{name}-0123456"


@pytest.fixture
def office(tmp_path, monkeypatch):
    """A workspace with lowered limits (each attempt costs an argon2 hash): 5 per user per address or browser,
    8 per address, 12 per name."""
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    monkeypatch.setattr(accounts, "MAX_FAILURES", {"user": 5, "ip": 8, "name": 12, "device": 5})
    for name, role, region in (("oj_clerk", "clerk", REGION), ("oj_mate", "clerk", REGION),
                               ("oj_adm", "admin", REGION), ("oj_far_adm", "admin", OTHER)):
        accounts.add_user(tmp_path, name, _pw(name), role, [region])
    app = create_app(tmp_path, {"testserver"})

    def browser(address: str = OFFICE):
        return TestClient(app, follow_redirects=False, client=(address, 40000))

    def sign_in(client, user: str, password: str | None = None) -> int:
        return client.post("/login", data={"username": user, "password": password or _pw(user), "next": "/"},
                           headers=ORIGIN).status_code

    return {"work": tmp_path, "browser": browser, "sign_in": sign_in}


def _csrf(client, path: str = "/users") -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_oj01_a_colleague_behind_the_same_office_address_cannot_lock_a_clerk_out_of_her_browser(office):
    """OJ01: five wrong passwords typed for a clerk's name from the office's one address locked her out at that
    address for 15 minutes — her own desk included — and 8 wrong names from it the whole office."""
    browser, sign_in = office["browser"], office["sign_in"]
    desk = browser()
    assert sign_in(desk, "oj_clerk") == 303  # she signed in from her browser before: it knows her
    assert "hedui_device" in desk.cookies
    mate = browser()
    assert [sign_in(mate, "oj_clerk", f"guess-{i}") for i in range(6)] == [401] * 5 + [429]
    assert [sign_in(mate, f"name{i}", "x-0123456789") for i in range(4)][-1] == 429  # the address's limit is hit
    assert sign_in(mate, "oj_clerk") == 429  # the guesser stays stopped, even with the right password
    assert sign_in(desk, "oj_clerk") == 303  # before: 429
    # the cookie cannot be made: one that is not the workspace's own is counted as the address's
    real = desk.cookies["hedui_device"]
    for cookie, expected in ((real[:-3] + ("abc" if not real.endswith("abc") else "abd"), 429), (real, 303)):
        r = browser().post("/login", data={"username": "oj_clerk", "password": _pw("oj_clerk"), "next": "/"},
                           headers={**ORIGIN, "Cookie": f"hedui_device={cookie}"})
        assert r.status_code == expected
    # her browser is no free pass: wrong passwords typed on it stop at its own five
    assert [sign_in(desk, "oj_clerk", f"mistyped-{i}") for i in range(6)] == [401] * 5 + [429]
    assert sign_in(desk, "oj_clerk") == 429
    # nor can it be carried to another user: a cookie naming only the guesser's own account counts as the address
    own = browser("10.9.0.1")
    assert sign_in(own, "oj_mate") == 303
    assert [sign_in(own, "oj_clerk", f"guess-{i}") for i in range(6)][-1] == 429
    # the cookie is HttpOnly, SameSite=Strict and only sent to the sign-in page
    set_cookie = [c for c in browser("10.9.0.2").post("/login", data={"username": "oj_mate", "password": _pw("oj_mate")},
                                            headers=ORIGIN).headers.get_list("set-cookie") if "hedui_device" in c]
    assert set_cookie and all(f in set_cookie[0].lower() for f in ("httponly", "samesite=strict", "path=/login"))


def test_oj02_an_admin_of_her_region_unlocks_a_clerk_at_a_new_browser_and_it_is_on_record(office, capsys):
    """OJ02: a clerk at a browser that does not know her (a new computer, cleared cookies) behind a locked address
    had no way in but waiting — an admin of her region (web or `hedui users unlock`) clears the limits."""
    import json

    from hedui.audit.auditor import default_log_path
    from hedui.cli import main
    from hedui.web import accounts

    browser, sign_in, work = office["browser"], office["sign_in"], office["work"]
    guesser = browser()
    assert [sign_in(guesser, "oj_clerk", f"guess-{i}") for i in range(6)][-1] == 429
    assert [sign_in(guesser, f"name{i}", "x-0123456789") for i in range(4)][-1] == 429  # the address at its 8
    assert sign_in(browser(), "oj_clerk") == 429
    far = browser("10.5.0.1")
    assert sign_in(far, "oj_far_adm") == 303
    status = far.post("/users/oj_clerk/unlock", data={"csrf_token": _csrf(far)}, headers=ORIGIN).status_code
    assert status == 404  # another county's admin: as if no such account
    assert sign_in(browser(), "oj_clerk") == 429
    adm = browser("10.5.0.2")
    assert sign_in(adm, "oj_adm") == 303
    page = adm.get("/users").text
    assert 'action="/users/oj_clerk/unlock"' in page and "解除登录限制" in page
    assert adm.post("/users/oj_clerk/unlock", data={"csrf_token": _csrf(adm)}, headers=ORIGIN).status_code == 303
    assert sign_in(browser(), "oj_clerk") == 303
    entries = [json.loads(line) for line in default_log_path(work).read_text(encoding="utf-8").splitlines()]
    assert any(e["actor"] == "oj_adm" and e["subject"] == "解除账号 oj_clerk 的登录限制" for e in entries)
    # the same from the server's terminal
    assert [sign_in(browser(), "oj_mate", f"guess-{i}") for i in range(6)][-1] == 429
    assert main(["users", "unlock", "oj_mate", "--workdir", str(work)]) == 0
    assert "已解除账号 oj_mate 的登录限制" in capsys.readouterr().out
    assert sign_in(browser(), "oj_mate") == 303
    assert main(["users", "unlock", "nobody", "--workdir", str(work)]) == 2
    assert "没有用户 nobody" in capsys.readouterr().err
    assert accounts.unlock(work, "oj_mate") == 0  # nothing left to clear


def test_oj03_an_admin_cannot_learn_that_a_user_name_exists_in_another_county(office):
    """OJ03: opening an account named as one of another county answered "用户 oj_mate 已存在", telling an admin of
    360703 which names 360702's staff sign in with; now the same words as for any name taken, and on record."""
    import json

    from hedui.audit.auditor import default_log_path
    from hedui.web import accounts

    browser, sign_in, work = office["browser"], office["sign_in"], office["work"]
    far = browser("10.5.0.1")
    assert sign_in(far, "oj_far_adm") == 303

    def add(client, username: str) -> tuple[int, str]:
        r = client.post("/users", data={"csrf_token": _csrf(client), "username": username, "display_name": "x",
                                        "role": "clerk", "regions": OTHER, "password": "pw-new-0123456"},
                        headers=ORIGIN)
        return r.status_code, r.text

    status, text = add(far, "oj_mate")
    assert status == 400 and "不可用" in text and "已存在" not in text and "oj_mate" in text
    assert accounts.get_user(work, "oj_mate").regions == (REGION,)  # untouched
    entries = [json.loads(line) for line in default_log_path(work).read_text(encoding="utf-8").splitlines()]
    assert any(e["actor"] == "oj_far_adm" and "oj_mate" in e["subject"] and "被拒" in e["subject"] for e in entries)
    # an admin who sees the account is told plainly
    adm = browser("10.5.0.2")
    assert sign_in(adm, "oj_adm") == 303
    r = adm.post("/users", data={"csrf_token": _csrf(adm), "username": "oj_mate", "display_name": "x",
                                 "role": "clerk", "regions": REGION, "password": "pw-new-0123456"}, headers=ORIGIN)
    assert r.status_code == 400 and "已存在" in r.text
    # nor a name that differs only in letter case (before: `OJ_Mate` was opened beside `oj_mate`, sharing her
    # sign-in limits and device cookie): not available to the far admin, "exists" to hers
    status, text = add(far, "OJ_Mate")
    assert status == 400 and "不可用" in text and "已存在" not in text
    r = adm.post("/users", data={"csrf_token": _csrf(adm), "username": "OJ_MATE", "display_name": "x",
                                 "role": "clerk", "regions": REGION, "password": "pw-new-0123456"}, headers=ORIGIN)
    assert r.status_code == 400 and "用户 oj_mate 已存在（用户名不区分大小写）" in r.text
    assert [u.username for u in accounts.list_users(work) if u.username.lower() == "oj_mate"] == ["oj_mate"]


@pytest.mark.parametrize("sql", ["", "   ", ";", "-- 只有注释", "/* x */ ;"])
def test_oj04_audit_with_an_empty_command_is_a_chinese_usage_error(tmp_path, capsys, sql):
    """OJ04: `hedui audit -c ""` read standard input instead, found nothing, printed nothing and exited 0 — a
    script whose query variable was empty looked as if it had run."""
    import duckdb

    from hedui.cli import main

    db = tmp_path / "hedui_audit.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table catalog as select 'outcomes' as table_name")
    con.close()
    rc = main(["audit", "--db", str(db), "-c", sql])
    out, err = capsys.readouterr()
    assert rc == 2 and out == "" and "-c 后没有可执行的 SQL 语句" in err and "Traceback" not in err
    assert main(["audit", "--db", str(db), "-c", "select count(*) as n from catalog"]) == 0
    assert "1" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    ["run", "--workdir", "{w}", "--inbox", "{w}/in\x1b]0;PWNED\x07\x1b[2J", "--date", "20261128"],
    ["review", "list", "--workdir", "{w}/w\x1b[31mRED\r", "--date", "20261128"],
    ["run", "--workdir", "{w}", "--inbox", "{w}", "--date", "\x1b[2J2026\udcff1128"],
    ["serve", "--workdir", "{w}", "--port", "80\x1b[2J"],
    ["audit", "verify", "--log", "{w}/\x9b2J\udcfe"],
    ["-v", "review", "list", "--workdir", "{w}/w\x1b[31mRED", "--date", "20261128"],  # the traceback too
])
def test_oj05_terminal_escapes_and_undecodable_bytes_in_arguments_are_shown_not_obeyed(tmp_path, capsys, argv):
    """OJ05: a path, date or choice given on the command line is echoed in the error line as it was given:
    `--inbox $'in\\e]0;PWNED\\a\\e[2J'` retitled and cleared the operator's terminal (ESC, BEL, CSI, a carriage
    return overwriting the line). Now every control character but the newline and tab shows as `\\x1b`."""
    from hedui.cli import main

    try:
        rc = main([a.replace("{w}", str(tmp_path)) for a in argv])
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    err = capsys.readouterr().err
    assert rc in (1, 2) and ("Traceback" not in err or argv[0] == "-v"), err
    last = err.strip().splitlines()[-1]
    assert not any(c in err for c in "\x1b\x07\r\x9b"), repr(err)
    assert "\\x1b" in last or "\\x9b" in last, last
    last.encode("utf-8")  # the undecodable byte (a lone surrogate) is shown, not a UnicodeEncodeError


def test_oj06_a_guesser_who_waits_out_every_window_gets_twenty_tries_a_day_not_480(tmp_path):
    """OJ06: the per-user limit at an address (and now per browser) was 5 per 15 minutes and nothing more: a
    guesser waiting out each window tried 480 passwords a day for ever. Now at most 20 a day per user name
    per address or browser; the admin's unlock clears it for the clerk, and the day after it is open again."""
    from hedui.web import accounts

    accounts.add_user(tmp_path, "oj_day", _pw("oj_day"), "clerk", [REGION])
    for keys in (accounts.failure_keys("oj_day", OFFICE), ["device:abc:oj_day"]):
        t0 = 1_800_000_000.0
        for window in range(4):  # 5 guesses, wait 16 minutes, 5 more ...
            now = t0 + window * 960
            assert not accounts.too_many_failures(tmp_path, keys, now), (keys, window)
            for i in range(5):
                accounts.record_failure(tmp_path, keys, now + i)
            assert accounts.too_many_failures(tmp_path, keys, now + 10)
        assert accounts.too_many_failures(tmp_path, keys, t0 + 4 * 960)  # before: open again after 15 minutes
        assert accounts.too_many_failures(tmp_path, keys, t0 + 20 * 3600)
        assert not accounts.too_many_failures(tmp_path, keys, t0 + 86400 + 3600)
    # the admin's unlock clears the day's count
    keys = accounts.failure_keys("oj_day", "10.4.4.4")
    for i in range(20):
        accounts.record_failure(tmp_path, keys, 1_900_000_000.0 + i * 200)
    assert accounts.too_many_failures(tmp_path, keys, 1_900_000_000.0 + 5000)
    accounts.unlock(tmp_path, "oj_day")
    assert not accounts.too_many_failures(tmp_path, keys, 1_900_000_000.0 + 5000)


_LINK_SPEC = """unique_id: id
fields:
  - {name: name, kind: name, m: [0.85, 0.08, 0.04, 0.02, 0.01], u: [0.001, 0.001, 0.004, 0.02, 0.974]}
  - {name: birth, kind: date, m: [0.9, 0.02, 0.04, 0.01, 0.03], u: [0.0001, 0.00001, 0.0005, 0.003, 0.99639]}
blocking_rules: ["l.birth__v = r.birth__v"]
prior: 0.01
thresholds: {link: 4, review: -1}
output: {all_pairs: true}
"""


def test_oj07_hedui_link_writes_record_ids_that_are_formulas_as_text_and_never_over_its_input(tmp_path, capsys):
    """OJ07: `hedui link` copied each table's record ids into PAIRS.csv as they were: a department's id
    `=HYPERLINK("http://x","点我")`, `＋1`, `@SUM(A1)` or `-2+3` ran as a formula when the pairs were opened in
    Excel/WPS; and `--out left.csv` wrote the pairs over the input table."""
    import csv

    from hedui.cli import main

    ids = ['=HYPERLINK("http://x","点我")', "＋1", "@SUM(A1)", "-2+3", "\t=1", "-7"]
    rows = [(i, "王小明", "1980-01-02") for i in ids]
    for side, prefix in (("left", ""), ("right", "")):
        with open(tmp_path / f"{side}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "name", "birth"])
            w.writerows((prefix + i, n, b) for i, n, b in rows[:3] if side == "left")
            w.writerows((prefix + i, n, b) for i, n, b in rows[3:] if side == "right")
    (tmp_path / "spec.yaml").write_text(_LINK_SPEC, encoding="utf-8")
    args = ["link", str(tmp_path / "left.csv"), str(tmp_path / "right.csv"), "--spec", str(tmp_path / "spec.yaml")]
    assert main([*args, "--out", str(tmp_path / "pairs.csv")]) == 0
    with open(tmp_path / "pairs.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 9
    assert {r["left_id"] for r in table} == {"'" + i for i in ids[:3]}
    assert {r["right_id"] for r in table} == {"'-2+3", "'\t=1", "-7"}  # a plain number stays a number
    assert all(float(r["match_weight"]) == float(r["match_weight"]) for r in table)  # weights still read as numbers
    before = (tmp_path / "left.csv").read_bytes()
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "left.csv")]) == 2
    assert "覆盖输入" in capsys.readouterr().err and (tmp_path / "left.csv").read_bytes() == before


def test_oj08_behind_tls_a_session_tossed_in_by_a_sibling_host_is_not_taken(tmp_path):
    """OJ08: over HTTPS the session cookie was `hedui_session`, which any sibling host of the domain (another
    county's site on *.gov.cn) may set with `Domain=.gov.cn`: it could toss in a valid session of its own user's,
    and staff then worked — registered objections, decided pairs — as that user unknowingly. Behind TLS the
    cookie is now `__Host-hedui_session` (this host only, Secure, Path=/), the device cookie `__Secure-…`."""
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    accounts.add_user(tmp_path, "oj_tls", _pw("oj_tls"), "clerk", [REGION])
    accounts.add_user(tmp_path, "oj_evil", _pw("oj_evil"), "clerk", [REGION])
    app = create_app(tmp_path, {"testserver"}, secure_cookie=True)
    https = {"Origin": "https://testserver"}

    def sign_in(user: str):
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        r = c.post("/login", data={"username": user, "password": _pw(user), "next": "/"}, headers=https)
        assert r.status_code == 303
        return r.headers.get_list("set-cookie")

    cookies = sign_in("oj_evil")
    session = next(c for c in cookies if c.startswith("__Host-hedui_session="))
    assert all(f in session.lower() for f in ("secure", "httponly", "path=/;", "samesite=strict"))
    assert "domain=" not in session.lower()
    assert any(c.startswith("__Secure-hedui_device=") and "secure" in c.lower() for c in cookies)
    value = session.split(";", 1)[0].split("=", 1)[1]
    # the sibling host's copy under the plain name (a browser sends it along with, or instead of, ours)
    tossed = TestClient(app, base_url="https://testserver", follow_redirects=False)
    r = tossed.get("/objections", headers={"Cookie": f"hedui_session={value}"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert tossed.get("/objections", headers={"Cookie": f"__Host-hedui_session={value}"}).status_code == 200


@pytest.fixture(scope="module")
def pair_world(tmp_path_factory):
    """A real run with one pair waiting for review (a bank record of a homophone name, no ID)."""
    from contract_world import World, fresh_ids, query, run_world

    world = World()
    with fresh_ids(962):
        a = world.household("OJ01", [("赵敏", "本人")])
    world.bank(a[0], "100000", account="6217000000000062001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")
    ctx = run_world(world, tmp_path_factory, "oj_hostile6")
    (key,) = [k for (k,) in query(ctx, "select decision_key from review_queue where request_id = 'OJ01'")]
    return ctx, key


@pytest.mark.parametrize("reason, expected", [
    ("太长" * 1001, "决定的理由过长（2002 字）"),
    ("核实无误\x1b]0;PWNED\x07\x1b[2J", "决定的理由含有控制字符"),
    ("核实\udcff无误", "决定的理由含有控制字符或无法识别的字节"),
])
def test_oj09_a_review_reason_from_the_cli_is_held_to_what_the_web_form_takes(pair_world, capsys, reason, expected):
    """OJ09: `hedui review confirmed --reason` took any text: 100 KB (the web form refuses over 2000 characters),
    terminal escape sequences, or undecodable bytes (a lone surrogate) went on towards the decision, its audit
    entry and the household's next report version. Now a usage error (exit 2) and nothing is decided; a reason with a full-width space and a newline
    is taken as before."""
    from contract_world import RUN, query

    from hedui.cli import main

    ctx, key = pair_world
    argv = ["review", "confirmed", "--workdir", str(ctx.workdir), "--date", RUN, "--key", key]
    decided = f"select count(*) from review_decisions where decision_key = '{key}'"
    before = query(ctx, decided)
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--reason", reason])
    assert exc.value.code == 2 and expected in capsys.readouterr().err
    assert query(ctx, decided) == before
    if reason.startswith("太长"):  # once: a reason as staff write it is taken
        assert main([*argv, "--reason", "户名同音，\u3000开户网点与住址一致\n已电话核实"]) == 0
        assert query(ctx, decided) == [(before[0][0] + 1,)]
