"""Staff workspace, round 14 (web14): the leads round 13 left, checked on the real app and the real CLI.

One run, served by a real uvicorn server: a bank record under a homophone name and no ID waiting for review as
either of two applicants of one name (two candidates of one record, both of the clerks' county), the same again
with the second applicant in another county, and two households with one pair each (a decision raced between the
web and `hedui review`, a real process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest
from contract_world import RUN, query
from web_server import Client, serving

OTHER_COUNTY = "360121"  # 南昌县 (the world's households are in 360702, 章贡区)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import duckdb
    from contract_world import World, fresh_ids, run_world

    from hedui.web import accounts
    from hedui.web.app import create_app

    world = World()
    with fresh_ids(1410):
        (a,) = world.household("WI01A", [("赵敏", "本人")])
        world.household("WI01B", [("赵敏", "本人")])
        (c,) = world.household("WI02A", [("李娜", "本人")])
        world.household("WI02B", [("李娜", "本人")])
        (s,) = world.household("WI03", [("孙立", "本人")])
        (q,) = world.household("WI04", [("钱红", "本人")])
    for p, name, account in ((a, "赵民", "6217000000000141001"), (c, "李那", "6217000000000141002"),
                             (s, "孙力", "6217000000000141003"), (q, "钱宏", "6217000000000141004")):
        world.bank(p, "100000", account=account)
        world.rows["bank"][-1].update(户名=name, 证件号码="")
    ctx = run_world(world, tmp_path_factory, "wi_day")
    con = duckdb.connect(str(ctx.database))
    try:  # WI02B is another county's household
        for table in ("households", "stg_requests"):
            con.execute(f"update {table} set region_code = ? where request_id = 'WI02B'", [OTHER_COUNTY])
    finally:
        con.close()
    keys = dict(query(ctx, "select request_id, decision_key from review_queue where status = 'pending'"))
    for name, regions in (("wi_a", ["360702"]), ("wi_b", ["360702"]), ("wi_far", [OTHER_COUNTY])):
        accounts.add_user(ctx.workdir, name, f"pw-{name}-0123456", "clerk", regions, display_name=name)
    with serving(lambda port: create_app(ctx.workdir, {f"127.0.0.1:{port}"})) as (port, _):
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": ctx.workdir, "ctx": ctx, "keys": keys}


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.post("/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _error(body: bytes) -> str:
    found = re.findall(r'id="error">([^<]*)', body.decode())
    return found[0] if found else body.decode()[-400:]


def _audit(site) -> list[dict]:
    from hedui.audit.auditor import default_log_path

    return [json.loads(line) for line in default_log_path(site["work"]).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _decisions(site, key: str) -> list[tuple]:
    return query(site["ctx"], "select reviewer, decision from review_decisions where decision_key = ? "
                              "order by decided_at", [key])


def _cli(site, *args: str, actor: str = "cli_clerk", wait: bool = True):
    argv = [sys.executable, "-m", "hedui.cli", "review", *args, "--workdir", str(site["work"]), "--date", RUN]
    env = {**os.environ, "HEDUI_ACTOR": actor}
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)


def _decide(client: Client, key: str, page: str, decision: str, reason: str, seen: str = "0"):
    return client.post(f"/review/{RUN}/{key}/decide", {"csrf_token": _token(page), "seen": seen,
                                                       "decision": decision, "reason": reason})


def test_wi01_a_cli_decision_over_the_webs_is_refused_not_saved_over_it(site):
    """WI01: a clerk confirmed a pair on the web; an operator at the server, working from an older `hedui review
    list`, rejected the same pair with `hedui review rejected`: saved over the clerk's without a word (the last one
    stands), the household re-assessed on the second answer. Now the command is refused (exit code not 0, Chinese:
    who decided what, when, and that --replace is how to change it), nothing saved or re-assessed, the audit log
    holding the web's decision and the CLI's refusal; with --replace the change is made, on record with what it
    replaced; the same command sent again is no second decision."""
    key = site["keys"]["WI03"]
    clerk = sign_in(site, "wi_a")
    status, _, body = _decide(clerk, key, clerk.page(f"/review/{RUN}/{key}"), "confirmed", "户名同音，核实为本人")
    assert status == 303, _error(body)
    after_web = query(site["ctx"], "select outcome, findings from outcomes where request_id = 'WI03'")
    before = len(_audit(site))
    proc = _cli(site, "rejected", "--key", key, "--reason", "户名不同")
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    said = proc.stderr
    assert "wi_a" in said and "确认" in said and "未保存" in said and "--replace" in said, said
    assert _decisions(site, key) == [("wi_a", "confirmed")]
    assert query(site["ctx"], "select status from review_queue where decision_key = ?", [key]) == [("confirmed",)]
    assert query(site["ctx"], "select outcome, findings from outcomes where request_id = 'WI03'") == after_web
    entries = _audit(site)[before:]
    assert not [e for e in entries if e["action"] == "review_decision"], entries
    (refused,) = [e for e in entries if e["action"] == "review_refused"]
    assert refused["actor"] == "cli_clerk" and refused["details"]["decision"] == "rejected", refused
    assert refused["details"]["standing"]["reviewer"] == "wi_a", refused
    # meant: --replace changes it, the entry saying what it replaced
    proc = _cli(site, "rejected", "--key", key, "--reason", "户名不同", "--replace")
    assert proc.returncode == 0, proc.stderr
    assert _decisions(site, key) == [("wi_a", "confirmed"), ("cli_clerk", "rejected")]
    (made,) = [e for e in _audit(site)[before:] if e["action"] == "review_decision"]
    assert made["actor"] == "cli_clerk" and made["details"]["replaces"]["reviewer"] == "wi_a", made
    # the same command again (a retry): no second decision, no error
    proc = _cli(site, "rejected", "--key", key, "--reason", "户名不同")
    assert proc.returncode == 0 and "已记录过" in proc.stdout, (proc.stdout, proc.stderr)
    assert len(_decisions(site, key)) == 2


def test_wi02_the_web_and_the_cli_on_one_pair_at_once_save_one_and_refuse_the_other(site):
    """WI02: `hedui review deferred` running at the server (re-assessing the household) while a clerk sent
    否决 for the same pair on the web: the clerk's page said "核对批次正在运行…请重新提交" (no batch ran, and
    resending was the wrong advice), nothing on record of her attempt; and the web checked what her page had seen
    before taking the folder's writer lock, so a decision saved in between was overwritten. Now the web takes the
    lock first: she is told a decision on a pair is being saved and hers was not; the same form once it is done
    is refused (409) naming the CLI's decision; the CLI's decision stands alone and the audit log holds it and
    each refusal of hers."""
    from hedui.workdir import LOCK_NAME

    def holder() -> dict:  # the lock file's holder record, read without taking the lock (holder_of takes it a moment)
        try:
            return json.loads((site["work"] / LOCK_NAME).read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    key = site["keys"]["WI04"]
    clerk = sign_in(site, "wi_b")
    page = clerk.page(f"/review/{RUN}/{key}")
    before = len(_audit(site))
    proc = _cli(site, "deferred", "--key", key, "--reason", "等银行回函", actor="cli_ops", wait=False)
    deadline = time.monotonic() + 60
    while holder().get("command") != "review decision" and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    status, _, body = _decide(clerk, key, page, "rejected", "户名不同，非本人")
    first = _error(body)
    if status == 503:  # the usual case: the CLI still holds the lock
        assert "复核决定正在保存" in body.decode() and "未保存" in first and "批次正在运行" not in first, first
    else:  # the CLI was done already
        assert status == 409 and "cli_ops" in first, (status, first)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    status, _, body = _decide(clerk, key, page, "rejected", "户名不同，非本人")
    said = _error(body)
    assert status == 409 and "cli_ops" in said and "暂缓" in said and "未保存" in said, (status, said)
    assert _decisions(site, key) == [("cli_ops", "deferred")]
    entries = _audit(site)[before:]
    made = [e for e in entries if e["action"] == "review_decision"]
    assert [(e["actor"], e["details"]["decision"]) for e in made] == [("cli_ops", "deferred")], made
    refused = [e for e in entries if e["action"] == "review_refused"]
    assert len(refused) == 2 and {e["actor"] for e in refused} == {"wi_b"}, refused
    assert all(e["details"]["decision"] == "rejected" for e in refused), refused


def test_wi03_the_pair_page_offers_no_confirm_when_the_record_is_another_members(site):
    """WI03: with one candidate of a record confirmed (赵民's account as WI01A's 赵敏), the page of the other
    candidate (WI01B's 赵敏) still offered 确认 — refused 409 once sent, the clerk's reason lost. Now the page
    offers 否决 and 暂缓 only, and says which decision stands (who, when, which household, a link to that pair)
    and how to undo it; once that pair is rejected, 确认 is offered again."""
    ka, kb = site["keys"]["WI01A"], site["keys"]["WI01B"]
    a, b = sign_in(site, "wi_a"), sign_in(site, "wi_b")
    status, _, body = _decide(a, ka, a.page(f"/review/{RUN}/{ka}"), "confirmed", "户名同音，核实为本人")
    assert status == 303, _error(body)
    page = b.page(f"/review/{RUN}/{kb}")
    assert 'id="confirm"' not in page and 'id="reject"' in page and 'id="defer"' in page
    note = re.search(r'id="taken">(.*?)</p>', page, re.S).group(1)
    assert "wi_a" in note and "WI01A" in note and f"/review/{RUN}/{ka}" in note and "否决" in note, note
    # her own pair page (the confirmed one) is as before
    assert 'id="confirm"' in a.page(f"/review/{RUN}/{ka}")
    page_a = a.page(f"/review/{RUN}/{ka}")
    status, _, body = _decide(a, ka, page_a, "rejected", "复查后非本人", seen="1")
    assert status == 303, _error(body)
    page = b.page(f"/review/{RUN}/{kb}")
    assert 'id="confirm"' in page and 'id="taken"' not in page


def test_wi04_a_record_confirmed_in_another_county_is_said_without_naming_its_household(site):
    """WI04: the other candidate of the record is another county's household's, confirmed there: the page still
    offered 确认. Now it offers none and says the record was confirmed as a member of another county's household
    (its request id and member not shown) and that its reviewers are the ones to undo it."""
    ka, kb = site["keys"]["WI02A"], site["keys"]["WI02B"]
    far = sign_in(site, "wi_far")
    status, _, body = _decide(far, kb, far.page(f"/review/{RUN}/{kb}"), "confirmed", "核实为本辖区申请人")
    assert status == 303, _error(body)
    page = sign_in(site, "wi_a").page(f"/review/{RUN}/{ka}")
    assert 'id="confirm"' not in page and 'id="reject"' in page
    note = re.search(r'id="taken">(.*?)</p>', page, re.S).group(1)
    assert "其他辖区" in note and "WI02B" not in page and kb not in page, note


def test_wi05_a_head_request_is_no_read_on_record_and_a_get_still_is(site):
    """WI05: HEAD is answered as GET without the body (a monitor's `curl -I`, a link checker), and every HEAD of a
    household's page, a pair, the queue, a search or an export wrote "查看" / "导出" in the audit log: the log said
    a person read what nobody saw. Now a HEAD writes no such entry; the GET of each still does."""
    clerk = sign_in(site, "wi_a")
    paths = [f"/h/{RUN}/WI03", f"/h/{RUN}/WI03/report", f"/review?date={RUN}", f"/review/{RUN}/{site['keys']['WI01A']}",
             "/search?q=WI0", "/export/outcomes.xlsx", f"/review/export.xlsx?date={RUN}"]
    for path in paths:
        before = len(_audit(site))
        status, headers, body = clerk.request("HEAD", path)
        assert status == 200 and body == b"" and headers["cache-control"] == "no-store", (path, status)
        assert _audit(site)[before:] == [], (path, _audit(site)[before:])
        assert clerk.get(path)[0] == 200
        read = _audit(site)[before:]
        assert len(read) == 1 and read[0]["actor"] == "wi_a", (path, read)
        assert read[0]["action"] in ("household_view", "household_search", "export"), read
