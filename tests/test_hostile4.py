"""Hostile ways in, round 4: the staff workspace served by a real `hedui serve` (a subprocess on a free port,
raw HTTP), and the operations a careless or hostile operator runs. One small hand-built world is run through
the real pipeline twice (20261128, then 20261129 with the same deliveries): a pair of the first run is one
of a superseded run."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from contract_world import REGION, RUN, World, fresh_ids, run_world
from web_server import Client

LATER = "20261129"
_NO_CRASH = ("Traceback", "内部错误", "Exception in thread")
_HEDUI = str(Path(sys.executable).with_name("hedui"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of one working folder (RUN, then LATER with the same deliveries): the later RunContext, and
    the decision key of OQ01's pair waiting for review (a bank record of a homophone name without an ID)."""
    from hedui.pipeline import RunContext, run

    world = World()
    with fresh_ids(941):
        a = world.household("OQ01", [("赵敏", "本人")])
        world.household("OQ02", [("孙三", "本人")])
    world.bank(a[0], "100000", account="6217000000000041001")
    world.rows["bank"][-1].update(户名="赵民", 证件号码="")  # no ID, a homophone name: a pair for review
    first = run_world(world, tmp_path_factory, "oq_hostile4")
    world.write(first.inbox, LATER)
    later = RunContext.of(first.inbox, first.workdir, LATER)
    run(later)
    con = duckdb.connect(str(later.database), read_only=True)
    try:
        keys = dict(con.sql("select run_date, decision_key from review_queue where request_id = 'OQ01'").fetchall())
    finally:
        con.close()
    assert keys.keys() == {RUN, LATER} and keys[RUN] == keys[LATER]
    return later, keys[RUN]


def _env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1))


@pytest.fixture(scope="module")
def site(runs):
    """`hedui serve` on the two runs' working folder, with a clerk, an auditor and an admin of the county."""
    from hedui.web import accounts

    ctx, key = runs
    work = ctx.workdir
    for name, role in (("oq_clerk", "clerk"), ("oq_aud", "auditor"), ("oq_adm", "admin"), ("oq_boss", "supervisor")):
        accounts.add_user(work, name, f"pw-{name}-0123456", role, [REGION], display_name=name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([_HEDUI, "serve", "--workdir", str(work), "--port", str(port)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
    try:
        yield {"port": port, "host": f"127.0.0.1:{port}", "work": work, "key": key, "pid": proc.pid}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        assert not any(s in err for s in _NO_CRASH), err


def sign_in(site, user: str) -> Client:
    c = Client(site)
    status, _, body = c.request("POST", "/login", {"username": user, "password": f"pw-{user}-0123456", "next": "/"})
    assert status == 303 and c.cookie, (status, body[:300])
    return c


def _hidden(html: str, action_part: str) -> dict:
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", html, re.S) if action_part in f)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def _decisions(work) -> list[tuple]:
    from hedui import db

    con = db.connect_read(Path(work) / "hedui.duckdb")
    try:
        return con.execute("select run_date, decision, reviewer from review_decisions order by decided_at").fetchall()
    finally:
        con.close()


def _audit(work) -> list[dict]:
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    return AuditLog(default_log_path(work)).entries()


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from hedui.cli import main

    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code
    out, err = capsys.readouterr()
    assert not any(s in err for s in _NO_CRASH), err
    return rc, out, err


# -- a decision on a run that is no longer current ---------------------------------------------------------------


def test_a_decision_on_a_superseded_runs_pair_is_refused_and_its_page_offers_none(site, capsys):
    # before: the clerk's rejection on 20261128's page was saved and re-issued that run's (replaced) report, and,
    # a decision applying to the record on every later run, silently changed 20261129's conclusion at its next
    # re-run while 20261129's queue and report still showed the pair waiting
    key, work = site["key"], site["work"]
    clerk = sign_in(site, "oq_clerk")
    # the dashboard counts no work left on the replaced run; its queue says why
    dashboard = clerk.request("GET", "/")[2].decode()
    pending = dict(re.findall(r'<a href="/review\?date=(\d+)&status=pending">(\d+)</a>', dashboard))
    assert pending == {RUN: "0", LATER: "1"}, pending
    queue = clerk.request("GET", f"/review?date={RUN}")[2].decode()
    assert f"已由批次 {LATER} 取代，无需决定" in queue and "查看并决定" not in queue
    status, _, body = clerk.request("GET", f"/review/{RUN}/{key}")
    page = body.decode()
    assert status == 200 and 'id="superseded"' in page and f"/review?date={LATER}" in page
    assert 'id="decide"' not in page
    form = _hidden(page, "/logout")  # the session's token, as a form kept from before the later run would carry
    status, _, body = clerk.request("POST", f"/review/{RUN}/{key}/decide",
                                    {**form, "seen": "0", "decision": "rejected", "reason": "旧批次页面上否决"})
    assert status == 409 and f"批次 {LATER}" in body.decode() and "决定未保存" in body.decode()
    assert _decisions(work) == []
    assert not (work / "reports" / RUN / "households" / "versions").exists()
    # the command line refuses it the same way
    rc, out, err = _cli(capsys, "review", "rejected", "--workdir", str(work), "--date", RUN, "--key", key,
                        "--reason", "命令行否决")
    assert rc == 2 and f"批次 {LATER}" in err and out == ""
    assert _decisions(work) == []
    # on the current run the pair is decided as before
    page = clerk.request("GET", f"/review/{LATER}/{key}")[2].decode()
    assert 'id="decide"' in page and 'id="superseded"' not in page
    status, headers, _ = clerk.request("POST", f"/review/{LATER}/{key}/decide",
                                       {**_hidden(page, "/decide"), "decision": "rejected", "reason": "开户资料不符"})
    assert status == 303 and headers["location"].startswith(f"/h/{LATER}/OQ01")
    assert _decisions(work) == [(LATER, "rejected", "oq_clerk")]
    entry = [e for e in _audit(work) if e["action"] == "review_decision"][-1]
    assert entry["actor"] == "oq_clerk" and entry["time"] and entry["details"]["decision"] == "rejected"


def test_an_objection_to_a_superseded_report_goes_to_the_current_one(site):
    # before: an objection could be registered on 20261128's replaced report, and accepting it re-verified that
    # run on its old deliveries and issued a new version of the replaced report
    from hedui.web import accounts, objections

    work = site["work"]
    clerk = sign_in(site, "oq_clerk")
    page = clerk.request("GET", f"/h/{RUN}/OQ01")[2].decode()
    assert 'id="superseded"' in page and f'href="/h/{LATER}/OQ01"' in page and 'id="objection-form"' not in page
    mine = _hidden(page, "/logout")
    status, _, body = clerk.request("POST", f"/h/{RUN}/OQ01/objections", {**mine, "reason": "申请人称存款已取出"})
    assert status == 409 and f"批次 {LATER}" in body.decode() and "异议未登记" in body.decode()
    assert objections.for_household(work, RUN, "OQ01") == []
    # one registered before the later run came (as the library still allows): rejecting it is possible, not a 复查
    old = objections.register(work, accounts.get_user(work, "oq_clerk"), RUN, "OQ01", REGION, "申请人称车辆已转让")
    boss = sign_in(site, "oq_boss")
    page = boss.request("GET", f"/h/{RUN}/OQ01")[2].decode()
    assert f"/objections/{old['id']}/decide" in page and 'value="accepted"' not in page
    form = _hidden(page, "/logout")
    status, _, body = boss.request("POST", f"/objections/{old['id']}/decide",
                                   {**form, "decision": "accepted", "note": "复查"})
    assert status == 409 and f"批次 {LATER}" in body.decode()
    assert objections.get(work, old["id"])["status"] == "open"
    assert not (work / "reports" / RUN / "households" / "versions").exists()
    status, _, _ = boss.request("POST", f"/objections/{old['id']}/decide",
                                {**form, "decision": "rejected", "note": "已转入批次 20261129 登记"})
    assert status == 303 and objections.get(work, old["id"])["status"] == "rejected"
    # on the current report the objection is registered as before
    page = clerk.request("GET", f"/h/{LATER}/OQ01")[2].decode()
    assert 'id="objection-form"' in page and 'id="superseded"' not in page
    status, _, _ = clerk.request("POST", f"/h/{LATER}/OQ01/objections", {**mine, "reason": "申请人称存款已取出"})
    assert status == 303 and len(objections.for_household(work, LATER, "OQ01")) == 1


# -- methods, request heads ----------------------------------------------------------------------------------------


def test_head_is_answered_as_get_and_a_405_names_the_allowed_methods(site):
    # before: HEAD got 405 on every page (a monitor's `curl -I` saw the workspace down), and no 405 carried Allow;
    # a method the server's parser did not know got uvicorn's English "Invalid HTTP request received."
    clerk = sign_in(site, "oq_clerk")
    for path in ("/", f"/h/{LATER}/OQ01", "/review/export.xlsx", "/login"):
        status, headers, body = clerk.request("HEAD", path)
        got, got_headers, got_body = clerk.request("GET", path)
        assert (status, got) == (200, 200) and body == b"", path
        assert got_headers["content-length"] == str(len(got_body)) and int(headers["content-length"]) > 0, path
        if not path.endswith(".xlsx"):  # a workbook is made anew per request, with its time: a byte may differ
            assert headers["content-length"] == got_headers["content-length"], path
        assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff", path
    status, headers, _ = Client(site).request("HEAD", f"/h/{LATER}/OQ01")  # no session: to sign in, nothing else
    assert status == 303 and headers["location"].startswith("/login")
    for method in ("OPTIONS", "PUT", "DELETE", "PROPFIND", "FOO"):
        status, headers, body = clerk.request(method, "/")
        assert status == 405 and headers.get("allow") == "GET", method
        assert "不支持该访问方式" in body.decode() and "frame-ancestors 'none'" in headers["content-security-policy"]
    status, headers, _ = clerk.request("PUT", "/logout")
    assert status == 405 and headers.get("allow") == "GET, POST"  # GET: the sign-out confirmation (web11)
    # the audit log has no way in through the web
    for method, path in (("GET", "/audit"), ("POST", "/audit"), ("GET", "/audit/audit_log.jsonl")):
        assert clerk.request(method, path, form={} if method == "POST" else None)[0] in (404, 405)


def _send_head(port: int, host: str, pad_bytes: int, end: bool = True) -> bytes:
    """A GET whose header block is `pad_bytes` long, written in 8 KB headers (and not ended unless `end`: the
    server then has read all we sent when it answers); what came back (b"" if the connection was cut)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(f"GET /login HTTP/1.1\r\nHost: {host}\r\n".encode())
        sent, i = 0, 0
        try:
            while sent < pad_bytes:
                line = f"X-Pad-{i}: ".encode() + b"a" * 8000 + b"\r\n"
                s.sendall(line)
                sent, i = sent + len(line), i + 1
            if end:
                s.sendall(b"\r\n")
        except OSError:  # the server answered and closed while we were still writing
            pass
        got = b""
        try:  # the answer's head and body may come in separate writes: read until the server closes
            while chunk := s.recv(65536):
                got += chunk
                head, sep, body = got.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*([0-9]+)", head)
                if sep and (len(body) >= int(length.group(1)) if length else b"</html>" in body.lower()):
                    break
        except OSError:
            pass
        return got
    finally:
        s.close()


def test_a_request_head_over_the_limit_is_refused_in_chinese_and_never_held(site):
    # before: every header of a request was buffered unbounded before sign-in: 300 MB of headers grew the server
    # by as much, and it kept it (one request from anyone who reaches the port)
    before = _rss_kb(site["pid"])
    answer = _send_head(site["port"], site["host"], 64 * 1024 * 1024)
    assert _rss_kb(site["pid"]) - before < 32 * 1024, "the server held the oversized request head"
    if answer:  # the refusal reached us before the connection was torn down
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"x-content-type-options: nosniff" in head.lower()
        assert "请求无法解析" in body.decode("utf-8", "replace")
    answer = _send_head(site["port"], site["host"], 24 * 1024, end=False)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and "请求行或请求头过长" in body.decode("utf-8", "replace")
    assert b"Invalid HTTP request" not in answer
    # an ordinary request still gets its page
    assert _send_head(site["port"], site["host"], 0).startswith(b"HTTP/1.1 200")


# -- the audit trail -------------------------------------------------------------------------------------------------


def test_failed_sign_ins_are_audited_without_what_was_typed_into_the_name(site):
    # before: a wrong password left no trace in the audit log, only a counter that the window deletes
    Client(site).request("POST", "/login", {"username": "oq_aud", "password": "wrong-password-1"})
    Client(site).request("POST", "/login", {"username": "Secret-Pw-0123456789", "password": "x"})
    entries = [e for e in _audit(site["work"]) if e["action"] == "sign_in_failed"]
    assert [e["subject"] for e in entries[-2:]] == ["登录失败：用户 oq_aud", "登录失败：用户 （不存在的用户名）"]
    assert all(e["details"]["client"] == "127.0.0.1" and e["time"] for e in entries[-2:])
    from hedui.audit.auditor import default_log_path

    assert "Secret-Pw-0123456789" not in default_log_path(site["work"]).read_text(encoding="utf-8")


def test_accounts_managed_from_the_command_line_are_audited(runs, tmp_path, capsys, monkeypatch):
    # before: `hedui users add|passwd|disable|enable` changed accounts with no audit entry (the web's did have one)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HEDUI_ACTOR", "ops-zhang")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("pw-oq_new-0123456\n"))
    assert _cli(capsys, "users", "add", "oq_new", "--workdir", str(work), "--role", "supervisor",
                "--region", REGION, "--password-stdin")[0] == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("pw-oq_new-6543210\n"))
    assert _cli(capsys, "users", "passwd", "oq_new", "--workdir", str(work), "--password-stdin")[0] == 0
    assert _cli(capsys, "users", "disable", "oq_new", "--workdir", str(work))[0] == 0
    got = [(e["actor"], e["action"], e["subject"]) for e in _audit(work)]
    assert got == [("ops-zhang", "account", "开设账号 oq_new"), ("ops-zhang", "account", "重设密码 oq_new"),
                   ("ops-zhang", "account", "停用账号 oq_new")]
    assert _audit(work)[0]["details"] == {"via": "hedui users", "role": "supervisor", "regions": [REGION]}
    text = json.dumps(_audit(work), ensure_ascii=False)
    assert "0123456" not in text and "6543210" not in text


# -- hedui purge with a date far ahead ---------------------------------------------------------------------------


@pytest.fixture
def purgeable(runs, tmp_path):
    """Copies of the two runs' inbox and working folder, for a purge to delete from."""
    ctx, _ = runs
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    shutil.copytree(ctx.inbox, inbox)
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("*.lock"))
    return inbox, work


@pytest.mark.parametrize("today", ["20361128", "20270301"])
def test_purge_with_a_date_far_ahead_of_every_run_deletes_nothing(purgeable, capsys, today):
    # before: `--today 20361128` (a year's typo) took the cut-off past every run: all raw deliveries and staged
    # values of every run, the latest included, deleted with exit 0
    inbox, work = purgeable
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", today)
    assert rc == 2 and out == "" and f"--today {today}" in err and LATER in err and "未删除任何文件" in err
    assert (inbox / "bank" / RUN).is_dir() and (inbox / "bank" / LATER).is_dir()
    assert (work / "runs" / RUN / "staged").is_dir() and (work / "runs" / LATER / "staged").is_dir()
    assert not [e for e in _audit(work) if e["action"] == "purge"]


def test_purge_keeps_working_on_real_dates_and_all_of_it_when_asked(purgeable, capsys):
    inbox, work = purgeable
    rc, out, _ = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20270227",
                      "--days", "90")  # the cut-off 20261129: the first run goes, the latest stays
    assert rc == 0 and "已清除 20261129 之前的原始数据" in out
    assert not (inbox / "bank" / RUN).exists() and (inbox / "bank" / LATER).is_dir()
    rc, out, _ = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20361128",
                      "--including-latest")
    assert rc == 0 and not (inbox / "bank" / LATER).exists() and not (work / "runs" / LATER / "staged").exists()


# -- hedui link (a developer tool) in Chinese ----------------------------------------------------------------------


@pytest.mark.parametrize("case, expected", [
    ("no_left", "左表文件"), ("no_spec", "匹配规则文件"), ("spec_not_mapping", "匹配规则文件"),
    ("missing_columns", "输入表无法按匹配规则"), ("out_xlsx", ".csv 或 .parquet"), ("out_dir_missing", "所在的目录不存在"),
    ("left_xlsx", "格式无法识别"),
])
def test_link_errors_are_one_chinese_line(tmp_path, capsys, case, expected):
    # before: "错误：cannot read link spec nope.yaml: [Errno 2] …", "错误：a link spec is a mapping, got str",
    # "错误：table 'left_input' (left) has no column(s) …" — the only English errors of the CLI
    spec = Path(__file__).parents[1] / "hedui" / "linkage.yaml"
    (tmp_path / "a.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("just text\n", encoding="utf-8")
    (tmp_path / "a.xlsx").write_bytes(b"PK")
    left, spec_arg, out = str(tmp_path / "a.csv"), str(spec), str(tmp_path / "pairs.csv")
    if case == "no_left":
        left = str(tmp_path / "nope.csv")
    elif case == "no_spec":
        spec_arg = str(tmp_path / "nope.yaml")
    elif case == "spec_not_mapping":
        spec_arg = str(tmp_path / "bad.yaml")
    elif case == "out_xlsx":
        out = str(tmp_path / "pairs.xlsx")
    elif case == "out_dir_missing":
        out = str(tmp_path / "no" / "pairs.csv")
    elif case == "left_xlsx":
        left = str(tmp_path / "a.xlsx")
    rc, out_text, err = _cli(capsys, "link", left, str(tmp_path / "a.csv"), "--spec", spec_arg, "--out", out)
    assert rc == 2 and expected in err and out_text == ""
    lead = err.split("（", 1)[0]
    assert not re.search(r"[A-Za-z]{4,}", re.sub(r"\S*[/\\.-]\S*", "", lead)), err  # English only in the brackets
    assert not (tmp_path / "pairs.csv").exists() and not (tmp_path / "no").exists()


@pytest.mark.parametrize("argv, expected", [
    (["demo", "--seed", "abc"], "参数 --seed：取值 'abc' 无效：应为整数"),
    (["review", "bogus", "--workdir", "w"], "参数 action：取值 'bogus' 无效，可选：'list'"),
    (["link"], "缺少必需的参数：left, right, --spec, --out"),
    (["run", "--inbox"], "参数 --inbox 后面缺少取值"),
    (["users", "--workdir", "w", "add", "a", "b"], "无法识别的参数：b"),
])
def test_usage_errors_say_what_was_wrong_in_chinese(tmp_path, capsys, argv, expected):
    # before: argparse's own words inside the Chinese line: "invalid int value: 'abc'", "invalid choice: …",
    # "the following arguments are required: …", "expected one argument", "unrecognized arguments: …"
    monkey_cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rc, out, err = _cli(capsys, *argv)
    finally:
        os.chdir(monkey_cwd)
    line = err.strip().splitlines()[-1]
    assert rc == 2 and line.startswith("错误：命令行参数有误") and expected in line, line
    assert not re.search(r"invalid|required|expected|unrecognized", line)
    assert list(tmp_path.iterdir()) == []


# -- sessions: idle and absolute expiry -----------------------------------------------------------------------------


def _cookie_signed_at(site, session: dict, at: float) -> str:
    """The session cookie as the server would have signed it at time `at` (its own secret, its own salt)."""
    from itsdangerous import URLSafeTimedSerializer

    from hedui.web.security import load_secret

    class At(URLSafeTimedSerializer):
        def make_signer(self, salt=None):
            signer = super().make_signer(salt)
            signer.get_timestamp = lambda: int(at)
            return signer

    return At(load_secret(site["work"]), salt="hedui-staff-session").dumps(session)


def test_a_session_ends_after_30_idle_minutes_and_10_hours_in_any_case(site):
    # never tested before: a cookie kept on a shared computer is refused once idle, and after a working day
    from itsdangerous import URLSafeTimedSerializer

    from hedui.web.security import load_secret

    clerk = sign_in(site, "oq_clerk")
    session = URLSafeTimedSerializer(load_secret(site["work"]), salt="hedui-staff-session").loads(clerk.cookie)
    now = time.time()
    for at, iat, signed_in in ((now - 29 * 60, session["iat"], True), (now - 31 * 60, session["iat"], False),
                               (now, now - 10 * 3600 - 60, False)):
        c = Client(site)
        c.cookie = _cookie_signed_at(site, {**session, "iat": int(iat)}, at)
        status, headers, body = c.request("GET", f"/h/{LATER}/OQ01")
        assert (status == 200) is signed_in, (at, iat, status)
        if not signed_in:
            assert headers["location"].startswith("/login?next=/h/") and "OQ01" not in body.decode()
    # a form sent once the session ended: a page saying it was not saved (it was a bare "请先登录" text)
    c = Client(site)
    c.cookie = _cookie_signed_at(site, session, now - 31 * 60)
    status, headers, body = c.request("POST", f"/h/{LATER}/OQ02/objections",
                                      {"csrf_token": session["csrf"], "reason": "写了很久的理由"})
    assert status == 401 and headers["content-type"].startswith("text/html") and "本次提交未保存" in body.decode()
    assert "set-cookie" not in headers
    status, headers, _ = clerk.request("GET", "/")  # every page renews the idle clock, for 30 minutes
    cookie = "; ".join(headers["set-cookie"])  # one value per Set-Cookie header
    assert status == 200 and "Max-Age=1800" in cookie and "HttpOnly" in cookie


def test_behind_https_every_answer_pins_https(site):
    # before: `hedui serve --https` marked the cookie Secure but never told the browser to stay on HTTPS, so a
    # link or a typed address in plain http:// went out unencrypted first (HSTS)
    from web_server import serving

    from hedui.web.app import create_app

    assert "strict-transport-security" not in Client(site).request("GET", "/login")[1]  # plain HTTP: none
    with serving(lambda port: create_app(site["work"], {f"127.0.0.1:{port}"}, secure_cookie=True)) as (port, _):
        c = Client({"port": port, "host": f"127.0.0.1:{port}"})
        for method, path in (("GET", "/login"), ("GET", "/"), ("POST", "/login")):
            headers = c.request(method, path, form={} if method == "POST" else None)[1]
            assert headers["strict-transport-security"] == "max-age=31536000", (method, path)


def test_review_list_for_a_date_no_run_verified_says_so(runs, capsys):
    # before: `hedui review list --date <a date without a run>` printed the table's header and nothing else, exit 0
    # — a mistyped date read as "nothing to review"
    work = str(runs[0].workdir)
    rc, out, err = _cli(capsys, "review", "list", "--workdir", work, "--date", "20261127")
    assert rc == 2 and out == ""
    assert "批次 20261127 没有核对结果" in err and f"最近的批次：{LATER}、{RUN}" in err
    rc, out, _ = _cli(capsys, "review", "list", "--workdir", work, "--date", LATER, "--status", "confirmed")
    assert rc == 0 and out.strip() == f"批次 {LATER} 没有这样的复核匹配对。"
    rc, out, _ = _cli(capsys, "review", "list", "--workdir", work, "--date", LATER)
    assert rc == 0 and out.startswith("序号\t部门") and "OQ01" in out
