"""The staff workspace driven in headless Chromium against a real server (uvicorn in a thread)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, skip_or_fail
from web_server import serving

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("HEDUI_SHOTS_DIR") or ROOT / ".work" / "shots")  # a screenshot of every page
SCRIPT_NAME = "<script>document.title='pwned';window.__pwned=1</script>王五"
FORMULA_NAME = '=HYPERLINK("http://evil.example","点我")'


def _truth(inbox, scenario):
    with open(inbox / "truth.csv", encoding="utf-8") as fh:
        return next(r["request_id"] for r in csv.DictReader(fh) if r["scenario"] == scenario)


@pytest.fixture(scope="module")
def site(world_run, tmp_path_factory):
    """A copy of the world's workdir with staff accounts, served on a random port: a dict of facts."""
    if not shutil.which("chromium"):
        skip_or_fail("Debian's chromium is not installed (make setup installs it)")

    from hedui.web import accounts
    from hedui.web.app import create_app

    ctx, _ = world_run
    work = tmp_path_factory.mktemp("web") / "work"
    shutil.copytree(ctx.workdir, work)
    vehicle = _truth(ctx.inbox, "fuzzy_vehicle")  # a pending link: the clerk's household
    con = duckdb.connect(str(work / "hedui.duckdb"))
    try:
        regions = dict(con.sql("select request_id, region_code from households where run_date = ?",
                               params=[ctx.run_date]).fetchall())
        county_a = regions[vehicle]
        big = {r for (r,) in con.sql("select request_id from stg_requests where run_date = ? group by all "
                                     "having count(*) >= 2", params=[ctx.run_date]).fetchall()}
        elsewhere = sorted(r for r, c in regions.items() if c[:4] != county_a[:4])
        other = next(r for r in elsewhere if r in big)  # another city's household of 2 or more
        formula = next(r for r in elsewhere if r != other)
        same_county = sorted(r for r, c in regions.items() if c == county_a and r != vehicle)
        hostile = same_county[0] if same_county else sorted(r for r, c in regions.items()
                                                               if c[:4] == county_a[:4] and r != vehicle)[0]
        # hostile names as a department could deliver them (the applicant's own name field)
        con.execute("update stg_requests set name = ? where run_date = ? and request_id = ? and relation = '本人'",
                    [SCRIPT_NAME, ctx.run_date, hostile])
        con.execute("update stg_requests set name = ? where run_date = ? and request_id = ? and relation = '本人'",
                    [FORMULA_NAME, ctx.run_date, formula])
        other_name = con.sql("select name from stg_requests where run_date = ? and request_id = ? "
                             "and relation <> '本人' limit 1", params=[ctx.run_date, other]).fetchall()[0][0]
    finally:
        con.close()
    users = {"clerk_a": ("clerk", [county_a]), "clerk_b": ("clerk", [regions[other]]),
             "boss": ("supervisor", [county_a[:4] + "00"]), "aud": ("auditor", ["360000"]),
             "adm": ("admin", ["360000"])}
    for name, (role, regs) in users.items():
        accounts.add_user(work, name, f"pw-{name}-0123456", role, regs, display_name=f"{name}")
    with serving(lambda port: create_app(work, {f"127.0.0.1:{port}", f"localhost:{port}"})) as (port, app):
        SHOTS.mkdir(parents=True, exist_ok=True)
        yield {"base": f"http://127.0.0.1:{port}", "work": work, "run_date": ctx.run_date, "vehicle": vehicle,
               "county_a": county_a, "other": other, "other_name": other_name, "hostile": hostile, "app": app}


@pytest.fixture(scope="module")
def browser():
    from hedui.steps.report.pdf import browser as open_browser

    with open_browser() as b:
        yield b


def _sign_in(browser, site, user):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(site["base"] + "/")
    assert "/login" in page.url  # every page is behind sign-in
    page.fill("#username", user)
    page.fill("#password", f"pw-{user}-0123456")
    page.click("#signin")
    page.wait_for_url(site["base"] + "/")
    return page


def _shot(page, name):
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_sign_in_and_out(browser, site):
    context = browser.new_context()
    page = context.new_page()
    page.goto(site["base"] + "/search")
    assert "/login" in page.url
    _shot(page, "01_login")
    page.fill("#username", "clerk_a")
    page.fill("#password", "wrong password!")
    page.click("#signin")
    assert "用户名或密码错误" in page.locator("#error").inner_text()
    page.fill("#username", "clerk_a")
    page.fill("#password", "pw-clerk_a-0123456")
    page.click("#signin")
    page.wait_for_url(site["base"] + "/search")  # back where the clerk was going
    cookie = next(c for c in context.cookies() if c["name"] == "hedui_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.goto(site["base"] + "/")
    assert "核对员" in page.locator("header").inner_text()
    _shot(page, "02_dashboard")
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(site["base"] + "/")
    assert "/login" in page.url
    context.close()


def test_a_county_clerk_never_sees_another_county(browser, site):
    page = _sign_in(browser, site, "clerk_a")
    d, other = site["run_date"], site["other"]
    response = page.goto(f"{site['base']}/h/{d}/{other}")
    assert response.status == 404  # as for a request id that does not exist: no existence oracle
    assert "未找到" in page.content() and site["other_name"] not in page.content()
    assert page.goto(f"{site['base']}/h/{d}/{other}/report").status == 404
    assert page.goto(f"{site['base']}/h/{d}/{other}/report.pdf").status == 404
    for q in (other, site["other_name"]):
        page.goto(f"{site['base']}/search?q={q}")
        assert page.locator("#results").count() == 0 and page.locator("#none").is_visible()
    page.goto(f"{site['base']}/search?q={site['vehicle']}")
    assert page.locator("#results").inner_text().count(site["vehicle"]) == 1
    _shot(page, "03_search")
    # the county filter offers only the clerk's county, by name
    options = page.locator("#county option").all_inner_texts()
    assert options[0] == "全部" and len(options) == 2 and not any(ch.isdigit() for ch in options[1])
    # the run summary and Data Docs hold the whole run: not for a county's clerk
    assert page.goto(f"{site['base']}/runs/{d}/summary").status == 403
    page.context.close()


def test_posts_without_csrf_token_or_from_another_site_are_refused(browser, site):
    page = _sign_in(browser, site, "clerk_a")
    url = f"{site['base']}/h/{site['run_date']}/{site['vehicle']}/objections"
    r = page.request.post(url, form={"reason": "无令牌"}, headers={"Origin": site["base"]})
    assert r.status == 403 and "CSRF" in r.text()
    r = page.request.post(url, form={"reason": "跨站", "csrf_token": "x"}, headers={"Origin": "http://evil.example"})
    assert r.status == 403
    r = page.request.get(site["base"] + "/", headers={"Host": "evil.example"})
    assert r.status == 400
    page.context.close()


def test_a_decision_issues_version_2_and_keeps_version_1(browser, site):
    page = _sign_in(browser, site, "clerk_a")
    d, rid = site["run_date"], site["vehicle"]
    page.goto(site["base"] + "/review")
    _shot(page, "04_queue")
    page.locator("tr", has_text=rid).get_by_text("查看并决定").click()
    fields = page.locator("#comparison").inner_text()
    for label in ("姓名", "身份证号", "出生日期", "所在市"):
        assert label in fields
    assert "市" in page.locator("#comparison tr", has_text="所在市").inner_text()
    _shot(page, "05_pair")
    page.fill("#reason", "车管档案所有人即申请人本人")
    page.click("#confirm")
    page.wait_for_url(re.compile(rf".*/h/{d}/{rid}.*"), timeout=120_000)
    rows = page.locator("#versions tr.version")
    assert rows.count() == 2
    assert "夜间批次核对" in rows.nth(0).inner_text() and "核对信息不完整" in rows.nth(0).inner_text()
    assert "clerk_a" in rows.nth(1).inner_text() and "发现超出政策规定情形" in rows.nth(1).inner_text()
    assert "车管档案所有人即申请人本人" in page.locator("#decisions").inner_text()
    _shot(page, "06_household")
    page.goto(f"{site['base']}/h/{d}/{rid}/report?v=1")
    assert "核对信息不完整" in page.locator(".outcome").inner_text() and "人工复核决定" not in page.content()
    page.goto(f"{site['base']}/h/{d}/{rid}/report")
    text = page.content()
    assert "第 2 版报告" in text and "人工复核决定" in text and "车管档案所有人即申请人本人" in text
    assert "clerk_a" in page.locator("table.signoff").inner_text()
    _shot(page, "07_report_v2")
    # the auditor database was re-published at once
    from hedui.audit.auditor import default_audit_db, open_auditor

    con = open_auditor(default_audit_db(site["work"]))
    try:
        assert con.sql("select outcome from outcomes where request_id = ?", params=[rid]).fetchall()[0][0] == "FINDINGS"
    finally:
        con.close()
    # the audit log names the signed-in clerk
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    entries = AuditLog(default_log_path(site["work"])).entries()
    assert any(e["action"] == "review_decision" and e["actor"] == "clerk_a" for e in entries)
    assert any(e["action"] == "household_view" and e["actor"] == "clerk_a" for e in entries)
    page.context.close()


def test_an_auditor_reads_but_cannot_decide(browser, site):
    page = _sign_in(browser, site, "aud")
    page.goto(f"{site['base']}/h/{site['run_date']}/{site['other']}")
    assert page.locator("#objection-form").count() == 0
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    r = page.request.post(f"{site['base']}/h/{site['run_date']}/{site['other']}/objections",
                          form={"reason": "审计员不能登记", "csrf_token": token}, headers={"Origin": site["base"]})
    assert r.status == 403
    page.context.close()


def test_an_export_has_no_formula_cells(browser, site, tmp_path):
    import openpyxl

    page = _sign_in(browser, site, "aud")
    page.goto(f"{site['base']}/search?date={site['run_date']}")
    with page.expect_download() as info:
        page.click("#export")
    path = tmp_path / "outcomes.xlsx"
    info.value.save_as(path)
    page.goto(f"{site['base']}/runs/{site['run_date']}/summary")  # the whole province: the run's summary
    assert "核对批次汇总" in page.title()
    _shot(page, "12_run_summary")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[:3] == ["核对批次", "委托编号", "申请人"] and "所在区县" in header
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'" + FORMULA_NAME in texts
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)
    assert not any(re.search(r"\d{17}[\dXx]", t) for t in texts)  # IDs masked
    page.context.close()


def test_a_name_carrying_script_stays_inert(browser, site):
    page = _sign_in(browser, site, "boss")  # the household is in the clerk's city
    page.goto(f"{site['base']}/h/{site['run_date']}/{site['hostile']}")
    assert page.locator("#members").inner_text().count("<script>") == 1  # shown as text
    assert page.evaluate("window.__pwned") is None and page.title() != "pwned"
    assert page.locator("script").count() == 0
    page.goto(f"{site['base']}/search?q=王五")
    assert page.evaluate("window.__pwned") is None
    _shot(page, "08_search_script_name")
    page.goto(f"{site['base']}/h/{site['run_date']}/{site['hostile']}/report")
    assert page.evaluate("window.__pwned") is None
    page.context.close()


def test_a_supervisor_sees_the_overdue_list_of_the_city(browser, site, monkeypatch, tmp_path):
    from hedui.web import objections

    page = _sign_in(browser, site, "clerk_a")
    d, rid = site["run_date"], site["vehicle"]
    page.goto(f"{site['base']}/h/{d}/{rid}")
    page.fill("#objection", "申请人称该车已于 2025 年转让，提供转让合同")
    page.click("#register-objection")
    page.wait_for_selector("#objections")
    assert "待复查" in page.locator("#objections").inner_text()
    page.context.close()
    later = dt.date.today() + dt.timedelta(days=40)
    monkeypatch.setattr(objections, "_today", lambda: later)
    page = _sign_in(browser, site, "boss")
    page.goto(f"{site['base']}/objections?overdue=1")
    table = page.locator("#objections").inner_text()
    assert rid in table and "逾期" in table
    assert page.locator("#by-county").inner_text().count("1") >= 1
    _shot(page, "09_overdue")
    with page.expect_download() as info:
        page.click("#overdue-export")
    import openpyxl

    info.value.save_as(tmp_path / "overdue.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "overdue.xlsx").active
    assert ws["A1"].value == "所在区县" and ws.max_row == 2
    page.context.close()
    page = _sign_in(browser, site, "clerk_b")  # another city's clerk: nothing of it
    page.goto(f"{site['base']}/objections?overdue=1")
    assert rid not in page.content()
    page.context.close()


def test_the_pdf_of_a_household_fits_3_pages_and_reads_in_order(browser, site, tmp_path):
    if not shutil.which("pdftotext"):
        skip_or_fail("pdftotext (poppler-utils) is not installed")
    page = _sign_in(browser, site, "clerk_a")
    d, rid = site["run_date"], site["vehicle"]
    r = page.request.get(f"{site['base']}/h/{d}/{rid}/report.pdf")
    assert r.status == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.body())
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert 1 <= pages <= 3
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    order = ["家庭经济状况核对报告", "核对结论", "家庭成员", "各成员查得记录", "人工复核决定", "核对人", "出具日期",
             "如对本报告所列事实有异议"]
    positions = [text.find(s) for s in order]
    assert -1 not in positions and positions == sorted(positions), dict(zip(order, positions, strict=True))
    assert f"第 1 页，共 {pages} 页" in text
    assert re.search(r"20\d\d年\d{1,2}月\d{1,2}日", text)
    assert not re.search(r"\d{17}[\dXx]", text)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(SHOTS / "10_pdf_page")],
                   check=False)
    page.context.close()


def test_sign_in_is_rate_limited(browser, site):
    context = browser.new_context()
    page = context.new_page()
    for _ in range(5):
        page.goto(site["base"] + "/login")
        page.fill("#username", "clerk_b")
        page.fill("#password", "not her password")
        page.click("#signin")
    page.fill("#username", "clerk_b")
    page.fill("#password", "pw-clerk_b-0123456")  # right, but too late
    page.click("#signin")
    assert "次数过多" in page.locator("#error").inner_text()
    context.close()


def test_an_admin_opens_and_disables_an_account(browser, site):
    page = _sign_in(browser, site, "adm")
    page.goto(site["base"] + "/users")
    form = page.locator("#add-user")
    form.locator("input[name=username]").fill("newclerk")
    form.locator("input[name=display_name]").fill("新核对员")
    form.locator("select[name=role]").select_option("clerk")
    form.locator("input[name=regions]").fill(site["county_a"])
    form.locator("input[name=password]").fill("pw-newclerk-0123456")
    form.locator("button").click()
    row = page.locator("#users tr", has_text="newclerk")
    assert "核对员" in row.inner_text() and "启用（待修改临时密码）" in row.inner_text()
    _shot(page, "11_users")
    # the password the admin chose is replaced at her first sign-in (test_contract_web13 WH01): 修改密码 first
    clerk = browser.new_context().new_page()
    clerk.goto(site["base"] + "/login")
    clerk.fill("#username", "newclerk")
    clerk.fill("#password", "pw-newclerk-0123456")
    clerk.click("#signin")
    clerk.wait_for_url(site["base"] + "/password")
    assert clerk.locator("#must").is_visible()
    row.locator("button", has_text="停用").click()  # the row's other button: 解除登录限制 (test_hostile6 OJ02)
    assert "已停用" in page.locator("#users tr", has_text="newclerk").inner_text()
    clerk.goto(site["base"] + "/")  # the disabled account's session ends at once
    assert "/login" in clerk.url
    clerk.context.close()
    page.context.close()
