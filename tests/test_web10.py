"""Staff workspace and CLI, round 10 (web10): what staff type, as the CLI and the web take it, and what an error page
says back; then the workspace swept as an attacker and a careless user. One household with one pair waiting for
review (a bank record under a homophone name, no ID), run for real and served by a real uvicorn server."""

from __future__ import annotations

import re

import pytest
from contract_world import RUN, query
from web_server import Client, serving

#: a valid ID number (check letter X) typed where it does not belong
TYPED_ID = "11010519491231002X"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from contract_world import World, fresh_ids, run_world

    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1010):
        a = world.household("WE01", [("赵敏", "本人")])
    world.bank(a[0], "100000", account="6217000000000101001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")
    ctx = run_world(world, tmp_path_factory, "we_day")
    (key,) = [k for (k,) in query(ctx, "select decision_key from review_queue where request_id = 'WE01'")]
    work = ctx.workdir
    accounts.add_user(work, "we_clerk", "pw-we_clerk-0123456", "clerk", ["360000"], display_name="we_clerk")
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "ctx": ctx, "key": key}


def sign_in(site, user: str = "we_clerk") -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[:300]


def _decisions(site) -> list[tuple]:
    return query(site["ctx"], "select reason from review_decisions where decision_key = ?", [site["key"]])


@pytest.mark.parametrize("reason", ["\u200b", "\u200b\u2060\ufeff", "\u3000\u200b \u00ad\u3164"])
def test_we1_a_cli_reason_of_invisible_characters_is_no_reason(site, capsys, reason):
    """WE1: `hedui review confirmed --reason` took a reason of only zero-width spaces (U+200B, a word joiner, a
    BOM, a soft hyphen, a Hangul filler) — the web form refuses it as "请填写理由" — and the decision was kept
    "with its basis", blank in the household's history and its next report version. Now the CLI goes through the
    web's own rules (one function): a usage error naming --reason, exit 2, nothing decided."""
    from hedui.cli import main

    before = _decisions(site)
    argv = ["review", "confirmed", "--workdir", str(site["work"]), "--date", RUN, "--key", site["key"]]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--reason", reason])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "--reason" in err and "请填写决定的理由" in err, err
    assert _decisions(site) == before


def test_we1_an_id_number_hidden_in_a_cli_reason_is_masked_as_the_web_masks_it(site, capsys):
    """WE1: an ID number typed into `--reason` with a zero-width space inside (`11010519491231\\u200b002X`) or in
    full-width digits passed the CLI's masking as shorter numbers and was kept readable, birth date and all, in
    the decision, the audit log and the report; an account number was kept whole (the CLI masked IDs only)."""
    from hedui.cli import main

    argv = ["review", "deferred", "--workdir", str(site["work"]), "--date", RUN, "--key", site["key"]]
    reason = ("户名同音，身份证 11010519491231\u200b002X，代理人 ３６０１０２１９８５０２０３４５６Ｘ，"
              "账户 6217 0000 0000 1010 019 待核")
    assert main([*argv, "--reason", reason]) == 0
    capsys.readouterr()
    kept = _decisions(site)[-1][0]
    assert kept == "户名同音，身份证 110105********002X，代理人 360102********456X，账户 ****0019 待核", kept
    audit = (site["work"] / "audit" / "audit_log.jsonl").read_text(encoding="utf-8")
    assert "19491231" not in audit and "19850203" not in audit and "６" not in audit


@pytest.mark.parametrize("pad", [24, 26, 28, 30, 33])
def test_we2_an_id_number_typed_into_a_date_is_not_echoed_in_part(site, pad):
    """WE2: the error page said back what was typed, cut to 40 characters, then masked: an ID number typed or
    pasted into the batch date (`/search?date=…`, a bookmarked address edited by hand) behind other text was cut
    inside it, and what was left — `1101051949` (region and year of birth), `110105194912` … — was too short
    to be masked and came back on the page. Now masked before it is cut."""
    c = sign_in(site)
    status, _, body = c.get(f"/search?date={'批' * pad}{TYPED_ID}")
    said = _error(body)
    assert status == 400 and "批次日期" in said, said
    digits = re.sub(r"\D", "", said)
    for i in range(len(TYPED_ID) - 3):  # no four digits of the ID number in a row but its region and last four
        piece = TYPED_ID[i:i + 4]
        assert piece not in digits or i < 3 or TYPED_ID.index(piece) >= 14, (piece, said)


def test_we2_an_id_number_given_as_a_pair_key_is_not_echoed_in_part(site, capsys):
    """WE2: `hedui review confirmed --key 11010519491231002X` (an ID number pasted where the pair's key goes)
    answered "没有该匹配对（110105194912…）": the key cut to twelve digits, then masked as an account to `****4912`
    — birth year and month — or not at all where the cut left fewer digits."""
    from hedui.cli import main

    for key in (TYPED_ID, "k" + TYPED_ID, "kkkk" + TYPED_ID):
        code = main(["review", "confirmed", "--workdir", str(site["work"]), "--date", RUN, "--key", key,
                     "--reason", "核实无误"])
        said = capsys.readouterr().err
        assert code != 0 and "匹配对" in said, said
        assert "4912" not in said and "1949" not in said and "1231" not in said, said


@pytest.fixture(scope="module")
def browser():
    from hedui.steps.report.pdf import browser as open_browser

    with open_browser() as b:
        yield b


def _base(site) -> str:
    return f"http://{site['host']}"


def test_we3_a_link_opened_without_a_session_comes_back_after_sign_in_with_its_query(site, browser):
    """WE3: the sign-in after an ended session (30 idle minutes, a bookmark, a link in a colleague's message) came
    back to the address's path only: a report version's link (`…/report?v=1`) opened the current report, read as
    the old one; the queue filtered to a run and status opened the latest run unfiltered; an export's link
    downloaded another file than the one asked for. Now the whole address comes back (a local one only)."""
    from urllib.parse import quote

    anon = Client(site)
    asked = f"/review?date={RUN}&status=pending&order=asc"
    status, headers, _ = anon.get(asked)
    assert status == 303 and headers["location"] == "/login?next=" + quote(asked, safe="/"), headers
    status, headers, _ = anon.post("/login", {"username": "we_clerk", "password": "pw-we_clerk-0123456",
                                              "next": f"/h/{RUN}/WE01/report?v=1"})
    assert status == 303 and headers["location"] == f"/h/{RUN}/WE01/report?v=1", headers
    # an address too long to carry whole comes back to its page; one elsewhere still to the home page
    status, headers, _ = Client(site).get(f"/search?date={RUN}&q={'张' * 3000}")
    assert status == 303 and headers["location"] == "/login?next=/search", headers
    status, headers, _ = Client(site).post("/login", {"username": "we_clerk", "password": "pw-we_clerk-0123456",
                                                      "next": "//evil.example/?a=1"})
    assert headers["location"] == "/"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(_base(site) + asked)
        assert "/login" in page.url
        page.fill("#username", "we_clerk")
        page.fill("#password", "pw-we_clerk-0123456")
        page.click("#signin")
        page.wait_for_load_state()
        assert page.url == _base(site) + asked, page.url
        assert page.locator("select[name=status]").input_value() == "pending"
    finally:
        context.close()


def test_we4_the_batch_summarys_household_links_open_in_the_workspace(site, browser):
    """WE4: the batch summary (/runs/<date>/summary) links each household's report as `households/<id>.html`,
    relative to the summary's address: in the workspace every one of them was "未找到该页面". Now each opens the
    household's report (the PDF link its PDF), for a household of the user's scope only."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(_base(site) + "/login")
        page.fill("#username", "we_clerk")
        page.fill("#password", "pw-we_clerk-0123456")
        page.click("#signin")
        page.wait_for_url(_base(site) + "/")
        page.goto(f"{_base(site)}/runs/{RUN}/summary")
        page.click("a[href='households/WE01.html']")
        page.wait_for_load_state()
        assert page.url == f"{_base(site)}/h/{RUN}/WE01/report", page.url
        assert "未找到" not in page.content() and "WE01" in page.content()
    finally:
        context.close()
    c = sign_in(site)
    status, headers, _ = c.get(f"/runs/{RUN}/households/WE01.pdf")
    assert status == 303 and headers["location"] == f"/h/{RUN}/WE01/report.pdf"
    for name in ("WE99.html", "WE01.csv", "..%2f..%2fhedui.duckdb"):
        assert c.get(f"/runs/{RUN}/households/{name}")[0] in (400, 404), name
