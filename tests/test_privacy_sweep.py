"""An outside sweep for personal data after real runs, the failing ones included.

A generated world is delivered the way departments get it wrong (an ID number typed into a date or
amount column, full-width, spaced, lower-case x, with an apostrophe; an account in a date column; a
policy number in an amount; a file without its header row; a file named after a person's ID; a row
with one field too many) and run the ways an operator runs it: `hedui -v run` (the tax delivery left
out), the tax delivery taken in late (`hedui late`: every page re-issued, the earlier kept), a PDF on
demand, a staff review decision on the command line, an urgent verification, commands that fail on
hostile arguments, a run that fails, every page of the web application, and the nightly DAG under
`dag.test()`; every run's notification goes to a real local SMTP server and webhook
(tests/notify_servers.py).  Then everything a person or a log could read — stdout/stderr of each
command, the mails and webhook posts, reports (each version) and PDFs' text, CSV/XLSX exports, Data
Docs and GX results, manifests, quarantine files, the audit log, the auditor database, the working
database — is scanned for every ID and account number the inbox holds, in every form
(`privacy_needles.Scanner`).  Each hit is listed as file:where → value.

Only `runs/<date>/raw` and `staged_pre` hold plain values by design (docs/security.md): not scanned.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, RUN_DATE
from notify_servers import configure, mail_text, smtp_server, webhook_server
from privacy_needles import Scanner, names_in_database, needles_of, requested_names

from hedui.ops.run_summary import EXIT_LOCKED

ORIGIN = {"Origin": "http://testserver"}
PLAIN_BY_DESIGN = ("raw", "staged_pre")
FW = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def _edit(path: Path, edit) -> None:
    """Rewrite one delivered CSV cell by cell, in its own bytes (UTF-8 or GB18030, comma or tab)."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        enc = "utf-8"
    except UnicodeDecodeError:
        enc = "gb18030"
    nl = b"\r\n" if b"\r\n" in raw else b"\n"
    rows = [line.split(b"\t" if b"\t" in raw.split(nl)[0] else b",") for line in raw.split(nl)]
    delim = b"\t" if b"\t" in raw.split(nl)[0] else b","
    edit(rows, enc)
    path.write_bytes(nl.join(delim.join(r) for r in rows))


def _spaced(cell: bytes) -> bytes:
    s = cell.decode()
    return f"{s[:6]} {s[6:14]} {s[14:]}".encode()


def hostile_inbox(world: Path, dest: Path) -> Path:
    """The world's inbox as a careless department delivers it (each change names what a person would see)."""
    shutil.copytree(world, dest)
    day = dest / "{}" / RUN_DATE

    def bank(rows, enc):
        rows[1][5] = rows[1][2]                                            # balance: the holder's ID
        rows[2][6] = rows[2][3]                                            # query date: the account
        rows[3][5] = rows[3][2].decode().translate(FW).encode(enc)        # balance: the ID, full-width

    def tax(rows, enc):
        rows[1][4] = _spaced(rows[1][0])                                  # income: the ID in groups
        rows[2][3] = rows[2][0]                                            # period: the ID

    def civil(rows, enc):
        rows[1][2] = rows[1][1].lower()                                    # death date: the ID, lower-case x

    def insurance(rows, enc):
        rows[1][5] = rows[1][2]                                            # cash value: the policy number

    def requests(rows, enc):
        rows[3][8] = b"'" + rows[3][3]                                     # authorization date: 'ID

    def vehicle(rows, enc):
        rows[1].append(rows[1][4])                                         # a field too many: the ID

    _edit(Path(str(day).format("bank")) / "bank_CCB.csv", bank)
    _edit(Path(str(day).format("tax")) / f"tax_{RUN_DATE}.csv", tax)
    _edit(Path(str(day).format("civil_affairs")) / f"civil_affairs_{RUN_DATE}.csv", civil)
    _edit(Path(str(day).format("insurance")) / f"insurance_{RUN_DATE}.csv", insurance)
    _edit(Path(str(day).format("requests")) / f"requests_{RUN_DATE}.csv", requests)
    _edit(Path(str(day).format("vehicle")) / f"vehicle_{RUN_DATE}.csv", vehicle)
    # a file delivered without its header row: its first row (ID, account) is read as the header
    abc = Path(str(day).format("bank")) / "bank_ABC.csv"
    abc.write_bytes(b"\n".join(abc.read_bytes().split(b"\n")[1:]))
    # a file named after the first holder's ID (as per-person answers often are)
    icbc = Path(str(day).format("bank")) / "bank_ICBC.csv"
    pid = re.search(rb"\d{17}[\dX]", icbc.read_bytes()).group(0).decode()
    icbc.rename(icbc.with_name(f"bank_{pid}.csv"))
    icbc.with_name("bank_ICBC.csv.ok").rename(icbc.with_name(f"bank_{pid}.csv.ok"))
    return dest


def _hedui(log_dir: Path, name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`hedui -v <args>` as an operator runs it; stdout and stderr kept in log_dir/<name>.log for the scan."""
    proc = subprocess.run([sys.executable, "-m", "hedui.cli", "-v", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, **(env or {})}, timeout=600)
    (log_dir / f"{name}.log").write_text(f"{proc.stdout}\n{proc.stderr}", encoding="utf-8")  # not the typed args
    return proc


@contextlib.contextmanager
def _notifications(monkeypatch, out: Path):
    """Every notification of the commands run inside, received by real local servers (mail and webhook) and
    saved under out/ as a person reads them (the mail's decoded subject and text, the webhook's JSON)."""
    from email.header import decode_header, make_header

    with smtp_server() as (port, mails), webhook_server() as (url, posts):
        configure(monkeypatch, port, url, secret="sweep-secret")
        yield mails, posts
    for n, mail in enumerate(mails):
        (out / f"mail_{n}.txt").write_text(f"{make_header(decode_header(mail['Subject']))}\n{mail_text(mail)}",
                                           encoding="utf-8")
    for n, (path, body) in enumerate(posts):
        (out / f"webhook_{n}.json").write_text(f"{path}\n{json.dumps(body, ensure_ascii=False)}", encoding="utf-8")


def _pending_key(work: Path) -> tuple[str, str]:
    con = duckdb.connect(str(work / "hedui.duckdb"), read_only=True)
    try:
        return con.sql("select decision_key, request_id from review_queue where status = 'pending' "
                       "order by request_id limit 1").fetchall()[0]
    finally:
        con.close()


def _web_pages(work: Path, out: Path, request_id: str, key: str, needle: str) -> None:
    """Every page of the staff workspace, as an administrator and an auditor read them, saved under out/."""
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    accounts.add_user(work, "adm", "pw-adm-0123456789", "admin", ["360000"])
    accounts.add_user(work, "aud", "pw-aud-0123456789", "auditor", ["360000"])
    app = create_app(work, {"testserver"})
    pages = ["/", f"/search?q={needle}", f"/search?q={needle[:6]}", f"/h/{RUN_DATE}/{request_id}",
             f"/h/{RUN_DATE}/{request_id}/report", f"/runs/{RUN_DATE}/summary",
             f"/runs/{RUN_DATE}/datadocs/index.html", "/review", f"/review/{RUN_DATE}/{key}", "/objections",
             "/users", "/review/export.xlsx", "/export/outcomes.xlsx", f"/h/{RUN_DATE}/{needle}",
             f"/runs/{needle}/summary"]
    for user in ("adm", "aud"):
        c = TestClient(app, follow_redirects=False)
        r = c.post("/login", data={"username": user, "password": f"pw-{user}-0123456789", "next": "/"},
                   headers=ORIGIN)
        assert r.status_code == 303, r.text
        for n, page in enumerate(pages):
            r = c.get(page)
            assert r.status_code in (200, 400, 403, 404), (user, page, r.status_code)
            suffix = ".xlsx" if r.headers.get("content-type", "").startswith("application/vnd.openxml") else ".html"
            (out / f"{user}_{n:02d}{suffix}").write_bytes(r.content)


def test_no_full_id_or_account_number_after_real_runs_that_go_wrong(world, tmp_path, monkeypatch):
    inbox = hostile_inbox(world, tmp_path / "inbox")
    work, logs, web, sent = tmp_path / "work", tmp_path / "logs", tmp_path / "web", tmp_path / "sent"
    for folder in (logs, web, sent):
        folder.mkdir()
    with _notifications(monkeypatch, sent) as (mails, posts):
        key, request_id, needle, needles = _operate(inbox, work, logs, web, tmp_path)
    # the run, the run on a headerless request list and the run refused for other keys: each notified by mail and
    # webhook, one sentence each (no "。。" where the error's own full stop met the notice's)
    assert len(mails) == len(posts) == 3
    assert any("hedui keys rotate" in mail_text(m) for m in mails)
    assert not any("。。" in mail_text(m) for m in mails)
    # the run's reasons quote the delivered header (a person's row read as the header)
    assert any("银行 账户（bank）：交付不完整" in mail_text(m) for m in mails)

    _web_pages(work, web, request_id, key, needle)
    assert list((work / "reports" / RUN_DATE / "households").glob("*.pdf"))
    scanner = Scanner(needles)
    hits = scanner.scan([work, tmp_path / "work_failed", logs, web, sent], skip=PLAIN_BY_DESIGN)
    # the auditors read names only as 张*: a member whose request row was quarantined too
    hits += names_in_database(work / "audit" / "hedui_audit.duckdb", requested_names(work / "runs" / RUN_DATE))
    assert not hits, "\n".join(hits[:60])


def _operate(inbox: Path, work: Path, logs: Path, web: Path, tmp_path: Path) -> tuple[str, str, str, set[str]]:
    """Every command an operator runs on the hostile inbox (stdout/stderr kept in logs/); returns the pending
    review key, its request, the ID number used as a hostile argument and every ID and account number of
    the delivery (`needles_of`)."""
    # a run whose request list is unusable (no header row), in a working folder of its own: it shares
    # nothing with the commands below, so it runs beside them
    broken = tmp_path / "broken"
    shutil.copytree(inbox / "requests", broken / "requests")
    req = broken / "requests" / RUN_DATE / f"requests_{RUN_DATE}.csv"
    req.write_bytes(b"\n".join(req.read_bytes().split(b"\n")[1:]))  # the request list without its header
    pool = ThreadPoolExecutor(max_workers=2)
    headerless = pool.submit(_hedui, logs, "headerless_requests", "run", "--inbox", str(broken), "--date",
                             RUN_DATE, "--workdir", str(tmp_path / "work_failed"))
    late = tmp_path / "late"  # the tax delivery arrives after the run
    late.mkdir()
    shutil.move(inbox / "tax", late / "tax")
    proc = _hedui(logs, "run", "run", "--inbox", str(inbox), "--date", RUN_DATE, "--workdir", str(work))
    assert proc.returncode == 3, proc.stderr[-3000:]  # completed, with sources missing and incomplete
    ids, accounts = needles_of(work / "runs" / RUN_DATE)
    needle, account = sorted(ids)[0], sorted(accounts)[0]

    # commands that fail on hostile arguments, refused before they open the working folder: two at a time,
    # beside the commands below (none may be refused for a busy folder instead: asserted at the end)
    def one_after_other(*commands: tuple[str, list[str]]) -> list[tuple[str, subprocess.CompletedProcess]]:
        return [(name, _hedui(logs, name, *args)) for name, args in commands]

    running = [pool.submit(one_after_other, (name, args)) for name, args in {
        "bad_date": ["run", "--inbox", str(inbox), "--date", needle, "--workdir", str(work)],
        "bad_purge": ["purge", "--workdir", str(work), "--inbox", str(inbox), "--today", needle],
        "bad_verify": ["verify", "--workdir", str(work), "--request-file", str(tmp_path / needle)],
        "bad_late_date": ["late", "--inbox", str(late), "--workdir", str(work), "--date", needle, "--source", "tax"],
        "bad_late_source": ["late", "--inbox", str(late), "--workdir", str(work), "--date", RUN_DATE,
                            "--source", needle],
        "bad_late_account": ["late", "--inbox", str(late), "--workdir", str(work), "--date", RUN_DATE,
                             "--source", account],
        "bad_late_inbox": ["late", "--inbox", str(tmp_path / needle), "--workdir", str(work), "--date", RUN_DATE,
                           "--source", "tax"],
    }.items()]
    proc = _hedui(logs, "late", "late", "--inbox", str(late), "--workdir", str(work), "--date", RUN_DATE,
                  "--source", "tax")
    assert proc.returncode == 0 and "出具新版报告" in proc.stdout, proc.stderr[-3000:]
    assert list((work / "reports" / RUN_DATE / "households" / "versions").glob("*/v2.html"))
    ids, accounts = needles_of(work / "runs" / RUN_DATE)  # the late tax delivery's too
    assert len(ids) > 300 and len(accounts) > 100

    key, request_id = _pending_key(work)
    assert _hedui(logs, "pdf", "pdf", "--workdir", str(work), "--date", RUN_DATE,
                  "--request", request_id).returncode == 0
    assert _hedui(logs, "review_list", "review", "list", "--workdir", str(work)).returncode == 0
    assert _hedui(logs, "review", "review", "confirmed", "--workdir", str(work), "--key", key,
                  "--reason", f"经电话核实（来电人证件 {needle}）").returncode == 0

    # urgent verification of one household, the per-request answers as the hostile inbox has them
    from hedui.urgent import read_request_file

    rows = [r for r in read_request_file(inbox / "requests" / RUN_DATE / f"requests_{RUN_DATE}.csv")
            if r["委托编号"] == request_id]
    request = tmp_path / "urgent" / "request.csv"
    request.parent.mkdir()
    request.write_text(",".join(rows[0]) + "\n" + "".join(",".join(r.values()) + "\n" for r in rows),
                       encoding="utf-8")
    for source in ("bank", "insurance"):
        shutil.copytree(inbox / source / RUN_DATE, tmp_path / "urgent" / "answers" / source)
    proc = _hedui(logs, "verify", "verify", "--workdir", str(work), "--request-file", str(request),
                  "--answers", str(tmp_path / "urgent" / "answers"), "--date", "20261202")
    assert proc.returncode == 0, proc.stderr[-3000:]

    # the two that open the working database, after the commands above, one after the other
    running.append(pool.submit(
        one_after_other,
        ("bad_key", ["review", "rejected", "--workdir", str(work), "--key", needle, "--reason", needle]),
        ("bad_pdf", ["pdf", "--workdir", str(work), "--date", RUN_DATE, "--request", needle])))
    for name, proc in (done for future in running for done in future.result()):
        assert proc.returncode not in (0, EXIT_LOCKED), (name, proc.stderr[-2000:])
    proc = headerless.result()
    pool.shutdown()
    assert proc.returncode == 3 and "家庭：0 户" in proc.stdout
    other_keys = {"HEDUI_PSEUDONYM_KEY": "A" * 43 + "=", "HEDUI_DATA_KEY": "B" * 43 + "="}
    proc = _hedui(logs, "wrong_keys", "run", "--inbox", str(inbox), "--date", RUN_DATE, "--workdir", str(work),
                  env=other_keys)
    assert proc.returncode != 0 and "hedui keys rotate" in proc.stderr
    return key, request_id, needle, ids | accounts


def test_the_nightly_dag_logs_and_outputs_show_no_full_id_or_account_number(airflow_db, world, tmp_path, capfd,
                                                                            monkeypatch):
    """`dag.test()` over the hostile inbox: the task logs (Airflow home's logs/ and what the tasks print) and
    the notify task's mail and webhook post; and the reasons the first tasks fail a run with."""
    from airflow.dag_processing.dagbag import DagBag

    inbox = hostile_inbox(world, tmp_path / "inbox")
    work, sent = tmp_path / "work", tmp_path / "sent"
    sent.mkdir()
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["hedui_nightly"]
    midnight = dt.datetime(2026, 11, 28, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with _notifications(monkeypatch, sent) as (mails, posts):
        dagrun = dag.test(logical_date=midnight, run_conf={"inbox": str(inbox), "workdir": str(work)})
    assert "success" in str(dagrun.state)
    assert len(mails) == len(posts) == 1 and "银行 账户（bank）：交付不完整" in mail_text(mails[0])
    ids, accounts = needles_of(work / "runs" / RUN_DATE)
    out, err = capfd.readouterr()
    (tmp_path / "dag.log").write_text(out + "\n" + err, encoding="utf-8")
    assert "交付不完整" in out + err  # the task logs are there: Airflow's "Skipping task" quotes the reason
    scanner = Scanner(ids | accounts)
    # the reasons of the tasks that fail a run whose inbox, a folder named after a person's ID, is missing
    # or has no request list by the cut-off (the task log shows them, as above)
    from airflow.sdk.exceptions import AirflowFailException

    from hedui.ops.airflow_tasks import DeliverySensor, check_inbox_exists
    from hedui.settings import RunContext

    named = tmp_path / sorted(ids)[0]
    with pytest.raises(AirflowFailException, match="不存在：请检查参数 inbox") as missing:
        check_inbox_exists(RunContext.of(named, work, RUN_DATE))
    with pytest.raises(AirflowFailException, match="前未交付：本批次没有可核对的家庭") as late:
        DeliverySensor(task_id="wait", source="requests")._after_cutoff(named / "requests" / RUN_DATE, midnight)
    for failed in (missing, late):
        assert named.name[:6] in str(failed.value) and not scanner.hit(str(failed.value))
    hits = scanner.scan([work, tmp_path / "dag.log", airflow_db / "logs", sent], skip=PLAIN_BY_DESIGN)
    assert not hits, "\n".join(hits[:60])


@pytest.mark.parametrize("text", ["360102199001011234", "３６０１０２１９９００１０１１２３４", "360102 19900101 1234",
                                  "'360102199001011234", "3.6010219900101123E+17", "x-6217003302800302831-y"])
def test_the_sweep_scanner_finds_every_form(text):
    assert Scanner({"360102199001011234", "6217003302800302831"}).hit(text)
