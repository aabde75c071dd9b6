"""Staff workspace, round 13 (web13): accounts an administrator opens on the web, and the leads of the round checked
on the real app. The world and the server are test_web11's (two households of two counties, each with a pair
waiting for review, run for real and served by a real uvicorn server)."""

from __future__ import annotations

import pytest
from contract_world import RUN, query
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


def _audit(site) -> list[dict]:  # noqa: F811
    import json

    from hedui.audit.auditor import default_log_path

    return [json.loads(line) for line in default_log_path(site["work"]).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def test_wh02_who_read_the_review_queue_and_the_batch_summary_is_on_record(site):  # noqa: F811
    """WH02: auditors answer "who looked at what" from the audit log: a household's page, a pair's page, a search
    and every export left an entry, but the review queue (members' names and masked IDs of up to 100 households a
    page) and the batch summary (every household of the run) left none, so a clerk browsing them left no trace.
    Now each view is on record with the households shown; an empty queue page writes nothing."""
    clerk = sign_in(site, "wf_a")
    before = len(_audit(site))
    assert "WF01" in clerk.page(f"/review?date={RUN}")
    entries = _audit(site)[before:]
    seen = [e for e in entries if e["actor"] == "wf_a" and e["details"].get("page") == "review_queue"]
    assert seen and seen[-1]["action"] == "household_view" and seen[-1]["details"]["households"] == ["WF01"], entries
    admin = sign_in(site, "wf_adm")  # a province-wide account: the run's summary is theirs to read
    before = len(_audit(site))
    status, _, _ = admin.get(f"/runs/{RUN}/summary")
    assert status == 200
    entries = _audit(site)[before:]
    assert any(e["actor"] == "wf_adm" and e["details"].get("page") == "run_summary"
               and e["details"].get("run_date") == RUN for e in entries), entries
    # a page of nothing (a status no pair has) is no look at anyone
    before = len(_audit(site))
    assert clerk.get(f"/review?date={RUN}&status=deferred")[0] == 200
    assert not [e for e in _audit(site)[before:] if e["details"].get("page") == "review_queue"]


def test_wh03_the_open_account_form_sent_twice_opens_one_and_says_nothing_wrong(site):  # noqa: F811
    """WH03: a double click on 开设 (or the form sent again) answered the second with "用户 X 已存在：修改密码请用
    hedui users passwd" — an error page, over an account that was opened, pointing staff to a server command. Now
    the same form again lands on 账号管理 as the first did (one account, one audit entry); another form for a name
    in use says so in workspace terms (重设密码 on the list), and it is no way to try a colleague's own password."""
    from hedui.web import accounts

    admin = sign_in(site, "wf_adm")
    form = _add_user_form(admin, "wh_twice", "admins-choice-4567")
    before = len(_audit(site))
    for _ in range(2):
        status, headers, body = admin.post("/users", form)
        assert status == 303 and headers["location"] == "/users", (status, body.decode()[-400:])
    assert [u.username for u in accounts.list_users(site["work"])].count("wh_twice") == 1
    opened = [e for e in _audit(site)[before:] if e["subject"].startswith("开设账号 wh_twice")]
    assert len(opened) == 1, opened
    for other in ({**form, "password": "another-choice-89"}, {**form, "role": "supervisor"},
                  {**form, "username": "WH_TWICE"}):
        status, _, body = admin.post("/users", other)
        text = body.decode()
        assert status == 400 and "已存在" in text and "重设密码" in text and "hedui users" not in text, text[-400:]
    # a name whose user set her own password: her password in the form is refused as any other
    accounts.add_user(site["work"], "wh_own", "pw-wh_own-0123456", "clerk", ["360702"])
    status, _, body = admin.post("/users", {**form, "username": "wh_own", "password": "pw-wh_own-0123456"})
    assert status == 400 and "已存在" in body.decode()


@pytest.fixture(scope="module")
def rerun(tmp_path_factory):
    """A household with one pair waiting for review (a bank record under a homophone name, no ID), run for real and
    served; `redo()` runs the same date again over a corrected delivery (the record now carries the member's ID)."""
    from contract_world import World, fresh_ids, run_world
    from web_server import serving

    from hedui.pipeline import RunContext, run
    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1310):
        (p,) = world.household("WH04", [("孙立", "本人")])
    world.bank(p, "100000", account="6217000000000131001")
    world.rows["bank"][-1].update(户名="孙力", 证件号码="")
    ctx = run_world(world, tmp_path_factory, "wh_rerun")
    accounts.add_user(ctx.workdir, "wh_clerk", "pw-wh_clerk-0123456", "clerk", ["360702"], display_name="wh_clerk")

    def redo():
        world.rows["bank"][-1].update(户名="孙立", 证件号码=p["id"])
        inbox = tmp_path_factory.mktemp("wh_rerun_again") / "inbox"
        world.write(inbox)
        run(RunContext.of(inbox, ctx.workdir, RUN))

    with serving(lambda port: create_app(ctx.workdir, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": ctx.workdir, "ctx": ctx, "redo": redo}


def test_wh04_a_decision_on_a_pair_the_dates_rerun_replaced_says_it_was_not_saved(rerun):
    """WH04: a clerk opened a pair, the operator re-ran the date over a corrected delivery (the bank record now
    carries the member's ID: an exact link, no pair), and her decision came back "未找到该匹配对…请从复核队列进入"
    — not whether it was saved, nor why. Now it says the decision was not saved, that the batch was re-verified
    since (or the pair is not hers), and that the re-run's result stands; nothing is recorded, the re-run's
    outcome stays."""
    (key,) = [k for (k,) in query(rerun["ctx"], "select decision_key from review_queue where status = 'pending'")]
    clerk = sign_in(rerun, "wh_clerk")
    page = clerk.page(f"/review/{RUN}/{key}")
    assert 'id="decide"' in page
    rerun["redo"]()
    assert not query(rerun["ctx"], "select 1 from review_queue where run_date = ? and decision_key = ?", [RUN, key])
    after = query(rerun["ctx"], "select outcome, findings from outcomes where request_id = 'WH04'")
    status, _, body = clerk.post(f"/review/{RUN}/{key}/decide", {"csrf_token": _token(page), "seen": "0",
                                                                 "decision": "rejected", "reason": "户名不同（WH04）"})
    text = body.decode()
    assert status == 404 and "决定未保存" in text and "重新核对" in text, (status, text[-500:])
    assert not query(rerun["ctx"], "select 1 from review_decisions")
    assert query(rerun["ctx"], "select outcome, findings from outcomes where request_id = 'WH04'") == after


@pytest.fixture(scope="module")
def rival(tmp_path_factory):
    """One bank record (under a homophone name, no ID) waiting for review as either of two applicants of the same
    name in two households of one county: two candidates of one record. Run for real and served."""
    from contract_world import World, fresh_ids, run_world
    from web_server import serving

    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1320):
        (a,) = world.household("WH05A", [("赵敏", "本人")])
        world.household("WH05B", [("赵敏", "本人")])
    world.bank(a, "100000", account="6217000000000132001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")
    ctx = run_world(world, tmp_path_factory, "wh_rival")
    keys = dict(query(ctx, "select request_id, decision_key from review_queue where status = 'pending'"))
    for name in ("wh_a", "wh_b"):
        accounts.add_user(ctx.workdir, name, f"pw-{name}-0123456", "clerk", ["360702"], display_name=name)
    with serving(lambda port: create_app(ctx.workdir, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": ctx.workdir, "ctx": ctx, "keys": keys}


def test_wh05_two_staff_confirming_one_record_for_two_people_keep_it_one_persons(rival):
    """WH05: two clerks each opened one candidate of the same bank record (赵民, no ID: 赵敏 of WH05A or 赵敏 of
    WH05B) and both confirmed: both were saved, the record linked to both members and its 100,000 yuan counted in
    both households. Now the second confirmation is refused (409, Chinese, not saved: a record belongs to one
    person; reject the first to move it), nothing of it recorded or re-assessed, and rejecting her pair still
    works."""
    assert set(rival["keys"]) == {"WH05A", "WH05B"}
    ka, kb = rival["keys"]["WH05A"], rival["keys"]["WH05B"]
    a, b = sign_in(rival, "wh_a"), sign_in(rival, "wh_b")
    page_a, page_b = a.page(f"/review/{RUN}/{ka}"), b.page(f"/review/{RUN}/{kb}")
    status, _, body = a.post(f"/review/{RUN}/{ka}/decide", {"csrf_token": _token(page_a), "seen": "0",
                                                            "decision": "confirmed", "reason": "户名同音，核实为本人"})
    assert status == 303, body.decode()[-400:]
    before_b = query(rival["ctx"], "select outcome, findings from outcomes where request_id = 'WH05B'")
    status, _, body = b.post(f"/review/{RUN}/{kb}/decide", {"csrf_token": _token(page_b), "seen": "0",
                                                            "decision": "confirmed", "reason": "户名同音，也像本人"})
    text = body.decode()
    assert status == 409 and "未保存" in text and "只能属于一人" in text, (status, text[-500:])
    # the record settled as WH05A's, WH05B was weighed without it when A's decision re-assessed the run: as it was
    assert query(rival["ctx"], "select decision_key, decision from review_decisions") == [(ka, "confirmed")]
    linked = query(rival["ctx"], "select request_id from links where run_date = ? and method = 'probabilistic' "
                                 "and record_id in (select record_id from review_queue where decision_key = ?)",
                   [RUN, kb])
    assert linked == [("WH05A",)], linked
    assert query(rival["ctx"], "select outcome, findings from outcomes where request_id = 'WH05B'") == before_b
    page_b = b.page(f"/review/{RUN}/{kb}")
    status, _, body = b.post(f"/review/{RUN}/{kb}/decide", {"csrf_token": _token(page_b), "seen": "0",
                                                            "decision": "rejected", "reason": "已确认为另一户的赵敏"})
    assert status == 303, body.decode()[-400:]
    assert query(rival["ctx"], "select status from review_queue where decision_key = ?", [kb]) == [("rejected",)]
