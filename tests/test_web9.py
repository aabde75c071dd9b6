"""Hostile ways into the staff workspace, round 9 (web9): test_workspace2's run of 30 households in two counties
(360702 odd, 360703 even request numbers, 8 pairs waiting), served by a real uvicorn server and spoken to in raw
HTTP; the exports read back as the files staff open."""

from __future__ import annotations

import re

import pytest
from contract_world import RUN, query, run_world
from test_workspace2 import OTHER, build
from web_server import Client, serving

# what a delivered value or a typed text put before a formula, invisible in the cell: a soft hyphen, zero-width
# spaces between blanks, a word joiner, a bidi mark
HIDDEN_FORMULAS = ("\u00ad=HYPERLINK(1)", "\u200b \u200b+1+1", "\u2060@SUM(1)", "\u200e-2+3")
LIVE = r"[\s\u00ad\u200b-\u200f\u2060]*[=+\-@]"  # what a spreadsheet would still run as a formula
REVERSED = "约\u202e00.0521"  # a balance that reads "约1250.00" with U+202E obeyed


def _world():
    w = build()
    applicant = next(r for r in w.rows["requests"] if r["委托编号"] == "WS001" and r["与申请人关系"] == "本人")
    for i, balance in enumerate(HIDDEN_FORMULAS):
        w.bank({"name": applicant["姓名"], "id": applicant["身份证号"]}, balance, account=f"621700000000009{i:04d}")
    w.bank({"name": applicant["姓名"], "id": applicant["身份证号"]}, REVERSED, account="6217000000000099999")
    return w


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from hedui.web import accounts
    from hedui.web.app import create_app

    ctx = run_world(_world(), tmp_path_factory, "wb_day")
    work = ctx.workdir
    for name, role, regions in (("wb_a", "clerk", ["360702"]), ("wb_b", "clerk", [OTHER]),
                                ("wb_boss", "supervisor", ["360702", OTHER]), ("wb_aud", "auditor", ["360700"])):
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regions, display_name=name)
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "ctx": ctx}


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _key(site, rid: str) -> str:
    return query(site["ctx"], "select decision_key from review_queue where request_id = ?", [rid])[0][0]


def _form(page: str) -> dict:
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "seen": re.search(r'name="seen" value="(\d+)"', page).group(1)}


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:300]


def test_wb01_invisible_characters_in_a_reason_neither_pass_for_a_reason_nor_hide_an_id_number(site):
    """WB01: free text staff type was only stripped of blanks: a decision whose reason was nothing but zero-width
    spaces (U+200B, U+2060) was saved as a decision "with its basis", blank on the household page and in the report;
    an ID number typed or pasted with a zero-width space inside passed the masking as two numbers and was shown to
    every colleague with its birth date (`****0101​123X`), full-width digits likewise (`３６０１０２*****１０１１２３Ｘ`)."""
    a = sign_in(site, "wb_a")
    key = _key(site, "WS003")
    pair = a.page(f"/review/{RUN}/{key}")
    status, _, body = a.post(f"/review/{RUN}/{key}/decide", {**_form(pair), "decision": "deferred",
                                                              "reason": "\u200b\u2060\u3000\u200b"})
    assert status == 400 and "请填写理由" in _error(body), (status, _error(body))
    assert query(site["ctx"], "select count(*) from review_decisions where decision_key = ?", [key]) == [(0,)]
    # an objection of only invisible characters is no objection either
    page = a.page(f"/h/{RUN}/WS001")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    status, _, body = a.post(f"/h/{RUN}/WS001/objections", {"csrf_token": token, "reason": "\ufeff\u200b\u00ad"})
    assert status == 400 and "请填写异议内容" in _error(body)
    # the ID number inside a text is masked whatever hides in it or however its digits are written
    for reason in ("申请人身份证 36010219900101\u200b123X 登记有误", "代理人证件 ３６０１０２１９８５０２０３４５６Ｘ 应更正"):
        status, _, body = a.post(f"/h/{RUN}/WS001/objections", {"csrf_token": token, "reason": reason})
        assert status == 303, _error(body)
    page = a.page(f"/h/{RUN}/WS001")
    assert "申请人身份证 360102********123X 登记有误" in page and "代理人证件 360102********456X 应更正" in page
    assert "0101123X" not in page.replace("\u200b", "") and "１９８５" not in page and "\u200b" not in page
    import sqlite3  # what is kept is the masked text only

    with sqlite3.connect(site["work"] / "staff.sqlite") as con:
        kept = [r for (r,) in con.execute("select reason from objections where request_id = 'WS001'")]
    assert kept and not [r for r in kept if "0101123X" in r.replace("\u200b", "") or "１９８５" in r], kept


def test_wb02_a_formula_behind_invisible_characters_is_neutralized_in_the_exports(site):
    """WB02: the formula neutralizer skipped one run of blanks, then one of zero-width characters: a delivered
    value with a soft hyphen, a word joiner or a bidi mark before `=`, `+`, `@`, `-` (or zero-width spaces between
    blanks) went into the quarantine export as a live formula, as a text cell of the XLSX exports did."""
    import csv
    import io

    a = sign_in(site, "wb_a")
    status, _, body = a.get(f"/quarantine/export.csv?date={RUN}&source=bank")
    assert status == 200, body[:300]
    cells = [c for r in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for c in r]
    from hedui.web.bidi import show_bidi

    shown = [c for c in cells if c.removeprefix("'") in {*HIDDEN_FORMULAS, *map(show_bidi, HIDDEN_FORMULAS)}]
    assert len(shown) == len(HIDDEN_FORMULAS), cells  # each delivered value: behind the quote that keeps it text, or
    assert not [c for c in shown if re.match(LIVE, c)], shown  # its bidi mark shown as "[U+200E]" (WB08)
    from openpyxl import load_workbook

    from hedui.web import exports

    rows = [{"run_date": RUN, "request_id": "WS001", "applicant": text, "applicant_id": None, "region_zh": "x",
             "program": "y", "outcome": "CLEAR", "findings": ""} for text in HIDDEN_FORMULAS]
    sheet = load_workbook(io.BytesIO(exports.outcomes_xlsx(rows))).active
    names = [sheet.cell(i, 3).value for i in range(2, 2 + len(rows))]
    assert not [v for v in names if re.match(LIVE, v)], names  # "'…" or "[U+200E]…"


def test_wb03_behind_a_tls_proxy_the_cookies_are_secure_without_https_flag(tmp_path):
    """WB03: `hedui serve --trusted-proxy 10.0.0.5` behind a TLS-terminating proxy, started without --https: the
    session cookie came without the Secure flag (and no HSTS), so one plain-HTTP request to the site's name (a typed
    address, an old bookmark, an image a hostile network injects) sent the signed-in session in clear text. Now a
    request the trusted proxy says came over HTTPS gets Secure cookies and HSTS; the header from anyone else counts
    for nothing."""
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    accounts.add_user(tmp_path, "wb_p", "pw-wb_p-0123456", "clerk", ["360702"])
    app = create_app(tmp_path, {"hedui.example"}, trusted_proxies=["10.0.0.5"])

    def sign_in_via(peer: str, proto: str):
        client = TestClient(app, base_url="http://hedui.example", follow_redirects=False, client=(peer, 40000))
        r = client.post("/login", data={"username": "wb_p", "password": "pw-wb_p-0123456", "next": "/"},
                        headers={"Origin": f"{proto}://hedui.example", "X-Forwarded-Proto": proto,
                                 "X-Forwarded-For": "192.168.1.20"})
        assert r.status_code == 303, r.text[:300]
        return client, r

    client, r = sign_in_via("10.0.0.5", "https")
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 2 and all("; secure" in c.lower() for c in cookies), cookies
    assert r.headers.get("strict-transport-security")
    session = re.match(r"hedui_session=([^;]+)", cookies[0]).group(1)
    over_tls = {"X-Forwarded-Proto": "https", "Cookie": f"hedui_session={session}"}
    page = client.get("/objections", headers=over_tls)
    assert page.status_code == 200 and "; secure" in page.headers["set-cookie"].lower()  # the sliding renewal too
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/logout", data={"csrf_token": token}, headers={"Origin": "https://hedui.example", **over_tls})
    assert r.status_code == 303 and "; secure" in r.headers["set-cookie"].lower()
    # plain HTTP (a workspace on a desk, no proxy), and a peer that is no trusted proxy claiming HTTPS: as before
    for peer, proto in (("10.0.0.5", "http"), ("10.0.0.9", "https")):
        _, r = sign_in_via(peer, proto) if proto == "http" else sign_in_via(peer, "http")
        assert not any("; secure" in c.lower() for c in r.headers.get_list("set-cookie"))
        assert "strict-transport-security" not in r.headers


def test_wb04_an_objection_id_past_sqlites_integers_is_not_found_not_a_500(site):
    """WB04: `/objections/99999999999999999999999/decide` (an edited form address) raised SQLite's OverflowError: the
    500 page, "系统内部错误", and a traceback in the server log, for what is an objection that does not exist."""
    boss = sign_in(site, "wb_boss")
    token = boss.csrf()
    for oid in ("99999999999999999999999", "9223372036854775808"):
        status, _, body = boss.post(f"/objections/{oid}/decide", {"csrf_token": token, "decision": "rejected",
                                                                   "note": "核对"})
        assert status == 404 and "未找到该异议" in _error(body), (status, _error(body))


def test_wb05_a_search_pasted_with_invisible_characters_or_typed_in_full_width_digits(site):
    """WB05: the search box took its text as it came: a name copied from a chat or a document with a zero-width
    space inside (`赵\\u200b敏`) found nobody, an ID's last 4 typed with a Chinese input method's full-width digits
    found nobody, and an ID number pasted with a zero-width space inside was shown back in the box and written to
    the audit log with its birth date (`****0101\\u200b123X`)."""
    from hedui.audit.auditor import default_log_path

    a = sign_in(site, "wb_a")
    assert re.findall(r'href="/h/\d+/(WS\d+)"', a.page("/search?q=赵%E2%80%8B敏")) == ["WS001"]
    masked = query(site["ctx"], "select id_masked from stg_requests where request_id = 'WS001' and relation = '本人'")[0][0]
    wide = "".join(chr(0xFF10 + int(c)) if c.isdigit() else {"X": "Ｘ"}.get(c, c) for c in masked[-4:])
    found = a.page("/search?q=" + __import__("urllib.parse").parse.quote(wide))
    assert "WS001" in re.findall(r'href="/h/\d+/(WS\d+)"', found), found[-1500:]
    page = a.page("/search?q=36010219900101%E2%80%8B123X")
    log = default_log_path(site["work"]).read_text(encoding="utf-8")
    for hidden in ("0101\u200b123X", "0101\\u200b123X", "0101123X"):  # the log's JSON may escape U+200B
        assert hidden not in page and hidden not in log
    assert "360102********123X" in page


def _try(site, name: str, password: str) -> tuple[int, Client]:
    c = Client(site)
    status, _, _ = c.post("/login", {"username": name, "password": password, "next": "/"})
    return status, c


def test_wb06_a_user_name_typed_with_capitals_signs_in_to_that_account(site):
    """WB06: user names are unique whatever their letter case, and the sign-in limits already count `Wb_case` and
    `wb_case` as one; yet the sign-in matched the name exactly, so a phone's keyboard capitalizing its first letter
    (or Caps Lock) refused the clerk's right password as "用户名或密码错误" — five times, and she was locked out."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wb_case", "pw-wb_case-0123456", "clerk", ["360702"], display_name="大小写")
    for typed in ("Wb_case", "WB_CASE"):
        status, c = _try(site, typed, "pw-wb_case-0123456")
        assert status == 303 and c.cookie, typed
        assert "大小写" in c.page("/")  # signed in as the account itself, under its own name
    assert _try(site, "Wb_case", "pw-wb_case-wrong!")[0] == 401  # the password still has to be right


def test_wb07_a_right_password_clears_the_users_own_typos_at_that_address(site):
    """WB07: a right password did not clear the mistakes before it: four typos, a sign-in, and one more typo later
    in the day locked the clerk out for 15 minutes, her right password refused with "登录失败次数过多" (and twenty
    typos over a day's sign-ins, for the day). Now a sign-in clears that user's own count at that address; the
    address's and the name's counts, which stop a guesser trying many names, stay."""
    from hedui.web import accounts

    accounts.add_user(site["work"], "wb_typo", "pw-wb_typo-0123456", "clerk", ["360702"])
    assert [_try(site, "wb_typo", f"typo-{i}-0123456")[0] for i in range(4)] == [401] * 4
    assert _try(site, "wb_typo", "pw-wb_typo-0123456")[0] == 303
    assert _try(site, "wb_typo", "typo-again-012345")[0] == 401
    assert _try(site, "wb_typo", "pw-wb_typo-0123456")[0] == 303  # before: 429
    # the guesser's own typos stay counted: five wrong ones in a row still stop the sixth try, right or not
    assert [_try(site, "wb_typo", f"guess-{i}-0123456")[0] for i in range(5)] == [401] * 5
    assert _try(site, "wb_typo", "pw-wb_typo-0123456")[0] == 429


def test_wb08_a_bidi_control_in_a_delivered_value_is_shown_in_the_quarantine_export(site):
    """WB08: the XLSX exports and every page show a bidi control as "[U+202E]"; the quarantine CSV wrote it as it was
    delivered, and Excel obeyed it: the balance "12\u202e00.05" read "1250.00" in the file staff check the
    department's rows with."""
    import csv
    import io

    a = sign_in(site, "wb_a")
    status, _, body = a.get(f"/quarantine/export.csv?date={RUN}&source=bank")
    assert status == 200, body[:300]
    text = body.decode("utf-8-sig")
    assert "\u202e" not in text
    cells = [c for r in csv.reader(io.StringIO(text)) for c in r]
    assert "约[U+202E]00.0521" in cells, [c for c in cells if "U+" in c or "00.05" in c or "HYPER" in c]
