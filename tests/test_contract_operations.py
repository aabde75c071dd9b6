"""Operations against the contract (DESIGN.md "A run is reproducible and re-runnable", STACK-NOTES.md
"Airflow 3 dates", README "Operating the nightly batch"), on a small delivery written here by hand
(tests/contract_world.py), not by hedui's generator.

- business dates: a run at 00:30 / 02:00 Shanghai (the previous UTC day), a run without any date, hostile
  dates from the command line and from a DAG's conf: one Chinese line, nothing created;
- one `hedui run`, then a re-run of the same date after a household was withdrawn and a department's file
  changed: no doubled rows in any table, no stale report page, the new file's hash recorded and the change
  noticed, code and policy versions recorded; a run refused while another holds the folder (exit 4);
- the nightly DAG with a department whose exchange database cannot be reached: the run fails, and the
  failure notice names the failed task instead of only "a task failed".
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT
from contract_world import RUN, WINDOW, World, new_id

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def build() -> World:
    w = World()
    a, b = w.household("C01", [("甲一", "本人"), ("甲二", "配偶")])
    w.bank(a, "1000.00")
    w.wages(b, WINDOW, "500")
    (a,) = w.household("V01", [("丁一", "本人")])
    w.car(a, "300000")  # over 12,000 yuan: VEHICLE
    (a,) = w.household("I02", [("乙二", "本人")])
    w.wages(a, WINDOW, "900")  # over 800: INCOME_OVER_STANDARD
    w.household("C02", [("戊一", "本人")])
    # a person nobody asked about: every department delivers at least one row (an empty delivery fails)
    o = {"name": "某某", "id": new_id()}
    w.bank(o, "5.00")
    w.wages(o, WINDOW[:1], "100")
    w.car(o, "1000")
    w.si(o, WINDOW[:1], "企业职工基本养老保险", "缴费", base="1000")
    w.flat(o, "U1")
    w.company(o, "有限责任公司", "存续", "1")
    w.add("housing_fund", 证件号码=o["id"], 姓名=o["name"], 单位名称="某单位", 月缴存基数="1000", 月缴存额="100",
          账户余额="100", 账户状态="正常", 截至日期="2026-10-31")
    w.add("civil_affairs", 姓名=o["name"], 身份证号=o["id"], 死亡日期="2026-01-01", 火化日期="2026-01-03",
          殡仪馆="某殡仪馆")
    w.add("securities", 姓名=o["name"], 证件号码=o["id"], 证券账户="A1", 持仓市值="1", 资金余额="1",
          查询日期="20261126")
    w.add("insurance", 投保人=o["name"], 投保人证件号=o["id"], 保单号="P1", 险种="寿险", 保单状态="有效",
          现金价值="1", 查询日期="20261126")
    return w


def _hedui(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hedui.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


# --- business dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("hour", "minute"), [(0, 30), (2, 0)])
def test_a_run_in_the_small_hours_of_shanghai_processes_the_shanghai_day(hour, minute):
    from hedui.ops.airflow_tasks import business_date

    logical = dt.datetime(2026, 11, 28, hour, minute, tzinfo=SHANGHAI)
    assert logical.astimezone(dt.UTC).strftime("%Y%m%d") == "20261127"  # what ds_nodash would say
    assert business_date({"logical_date": logical, "params": {}}) == "20261128"


@pytest.mark.parametrize("bad", ["../20261128", "2026-13-40", "20261128'; drop table outcomes; --", "20261128/..",
                                 "2026-02-29", ""])
def test_a_hostile_date_is_refused_in_chinese_and_nothing_is_created(bad, tmp_path):
    from hedui.cli import main
    from hedui.ops.airflow_tasks import business_date
    from hedui.ops.business_date import parse_business_date

    with pytest.raises(Exception) as err:
        business_date({"logical_date": None, "params": {"run_date": bad}})
    assert type(err.value).__name__ == "AirflowFailException" and "run_date" in str(err.value)
    with pytest.raises(Exception, match="--date“.*(YYYYMMDD|日期)"):
        parse_business_date(bad, "--date")
    inbox = tmp_path / "inbox"
    (inbox / "requests" / RUN).mkdir(parents=True)
    (inbox / "requests" / RUN / "r.csv").write_text("委托编号\n", encoding="utf-8")
    assert main(["run", "--inbox", str(inbox), "--date", bad, "--workdir", str(tmp_path / "work")]) == 2
    assert not (tmp_path / "work").exists()


# --- a run, and a re-run of the same date on changed inputs ---------------------------------------------------


def _table_rows(database: Path) -> dict[str, tuple[int, int]]:
    """{table: (rows, distinct rows)} of every table of a DuckDB file."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {t: con.sql(f'select count(*), (select count(*) from (select distinct * from "{t}")) from "{t}"')
                .fetchall()[0] for (t,) in con.sql("select table_name from duckdb_tables() order by 1").fetchall()}
    finally:
        con.close()


def _outcomes(report_dir: Path) -> dict[str, tuple[str, str]]:
    with open(report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def reruns(tmp_path_factory):
    """`hedui run` of the hand-made delivery; then C02 withdrawn from the request list and the vehicle file
    re-delivered with V01's car at 1,000 yuan, and the same date run again."""
    from hedui.cli import main

    root = tmp_path_factory.mktemp("ops")
    inbox, work = root / "inbox", root / "work"
    build().write(inbox)
    first_rc = main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)])
    first = {"tables": _table_rows(work / "hedui.duckdb"), "auditor": _table_rows(work / "audit" / "hedui_audit.duckdb"),
             "outcomes": _outcomes(work / "reports" / RUN),
             "pages": sorted(p.name for p in (work / "reports" / RUN / "households").glob("*.html"))}
    requests = inbox / "requests" / RUN / f"requests_{RUN}.csv"
    kept = [line for line in requests.read_text(encoding="utf-8").splitlines() if not line.startswith("C02,")]
    requests.write_text("\n".join(kept) + "\n", encoding="utf-8")
    (inbox / "requests" / RUN / f"requests_{RUN}.csv.ok").write_text(str(len(kept) - 1), encoding="utf-8")
    vehicle = inbox / "vehicle" / RUN / f"vehicle_{RUN}.csv"
    vehicle.write_text(vehicle.read_text(encoding="utf-8").replace("300000", "1000"), encoding="utf-8")
    second_rc = main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)])
    return {"inbox": inbox, "work": work, "first": first, "first_rc": first_rc, "second_rc": second_rc,
            "vehicle_sha": hashlib.sha256(vehicle.read_bytes()).hexdigest()}


def test_the_first_run_completes_with_the_outcomes_policy_md_gives(reruns):
    assert reruns["first_rc"] == 0 and reruns["second_rc"] == 0
    assert reruns["first"]["outcomes"] == {"C01": ("CLEAR", ""), "C02": ("CLEAR", ""), "V01": ("FINDINGS", "VEHICLE"),
                                           "I02": ("FINDINGS", "INCOME_OVER_STANDARD")}
    assert reruns["first"]["pages"] == ["C01.html", "C02.html", "I02.html", "V01.html"]


def test_a_re_run_replaces_the_dates_outputs_no_doubled_rows_no_stale_page(reruns):
    work = reruns["work"]
    report = work / "reports" / RUN
    assert _outcomes(report) == {"C01": ("CLEAR", ""), "V01": ("CLEAR", ""), "I02": ("FINDINGS", "INCOME_OVER_STANDARD")}
    # the withdrawn household's page is gone with it (its earlier outcome is no output of this run)
    assert sorted(p.name for p in (report / "households").glob("*.html")) == ["C01.html", "I02.html", "V01.html"]
    index = (report / "index.html").read_text(encoding="utf-8")
    assert "C02" not in index
    tables = _table_rows(work / "hedui.duckdb")
    for table, (rows, distinct) in tables.items():
        assert rows == distinct, f"{table}: {rows - distinct} doubled rows after the re-run"
    first = reruns["first"]["tables"]
    for table in ("delivered_files", "source_status", "reconciliation", "stg_bank", "stg_tax", "stg_vehicle",
                  "audit_runs", "audit_anchors"):
        assert tables[table] == first[table], table
    con = duckdb.connect(str(work / "hedui.duckdb"), read_only=True)
    try:
        ledger = con.sql("select request_id, count(*) from query_ledger where run_date = ? group by all order by 1",
                         params=[RUN]).fetchall()
        assert ledger == [("C01", 2), ("I02", 1), ("V01", 1)]  # one row per authorized member, C02 gone
        assert con.sql("select count(*) from stg_requests where run_date = ?", params=[RUN]).fetchall() == [(4,)]
    finally:
        con.close()
    auditor = _table_rows(work / "audit" / "hedui_audit.duckdb")
    for table, (rows, distinct) in auditor.items():
        assert rows == distinct, f"auditor {table}: doubled rows after the re-run"


def test_a_run_records_its_inputs_hashes_policy_and_code_version_and_notices_a_changed_file(reruns):
    from hedui.steps.policy import POLICY_DIR
    from hedui.steps.publish import describe_code_version

    work, inbox = reruns["work"], reruns["inbox"]
    con = duckdb.connect(str(work / "hedui.duckdb"), read_only=True)
    try:
        files = dict(con.sql("select file_name, sha256 from delivered_files where run_date = ?",
                             params=[RUN]).fetchall())
        (run,) = con.sql("select code_version, policy_versions, policy_files from audit_runs where run_date = ?",
                         params=[RUN]).fetchall()
    finally:
        con.close()
    assert len(files) == 12
    for name, digest in files.items():  # every delivered file's SHA-256, as it is now
        assert digest == hashlib.sha256((inbox / name).read_bytes()).hexdigest(), name
    assert files[f"vehicle/{RUN}/vehicle_{RUN}.csv"] == reruns["vehicle_sha"]
    code, policies, policy_files = run
    assert code and code == describe_code_version()
    assert policies == ["JX-DEMO-2026"]
    assert json.loads(policy_files) == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                        for p in sorted(POLICY_DIR.glob("*.yaml"))}
    # the re-run on other files than the run before it says so in the audit log, naming the files
    entries = [json.loads(line) for line in (work / "audit" / "audit_log.jsonl").read_text(encoding="utf-8").splitlines()]
    changed = [e for e in entries if e["action"] == "inputs_changed"]
    assert len(changed) == 1, "only the re-run's inputs differ from an earlier load"
    assert f"vehicle:vehicle/{RUN}/vehicle_{RUN}.csv（内容已变）" in changed[0]["details"]["files"]
    assert f"requests:requests/{RUN}/requests_{RUN}.csv（内容已变）" in changed[0]["details"]["files"]


def test_a_second_writer_is_refused_with_exit_4_and_the_outputs_stay(reruns, capsys):
    from hedui.cli import main
    from hedui.workdir import LOCK_NAME

    work = reruns["work"]
    before = _outcomes(work / "reports" / RUN)
    fd = os.open(work / LOCK_NAME, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another run holds it
        capsys.readouterr()
        for argv in (["run", "--inbox", str(reruns["inbox"]), "--date", RUN, "--workdir", str(work)],
                     ["late", "--inbox", str(reruns["inbox"]), "--date", RUN, "--workdir", str(work),
                      "--source", "vehicle"]):
            assert main(argv) == 4, argv
            err = capsys.readouterr().err
            assert "正在被另一个进程写入" in err and "请等它结束后再试" in err
    finally:
        os.close(fd)
    assert _outcomes(work / "reports" / RUN) == before



def _sigint_as_from_a_terminal() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    """The process's signal masks as /proc shows them (SigBlk, SigIgn, SigCgt: SIGINT is the bit 0x2)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "(gone)"
    return " ".join(line.replace("\t", "") for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def test_other_keys_exit_5_and_ctrl_c_exits_130_leaving_the_outputs_readable(reruns, monkeypatch, capsys):
    import base64
    import signal
    import time

    from hedui.cli import main
    from hedui.workdir import holder_of

    work, inbox = reruns["work"], reruns["inbox"]
    report = work / "reports" / RUN
    before = (_outcomes(report), sorted(p.name for p in (report / "households").glob("*.html")),
              _table_rows(work / "hedui.duckdb")["outcomes"])
    argv = ["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)]
    with monkeypatch.context() as m:  # keys that are not the folder's: nothing is done
        m.setenv("HEDUI_PSEUDONYM_KEY", base64.b64encode(b"k" * 32).decode())
        capsys.readouterr()
        assert main(argv) == 5
        assert "密钥" in capsys.readouterr().err
    # Ctrl+C in the terminal (SIGINT to the whole process group) while the sources are read.  Started as from a
    # terminal's shell: SIGINT at its default and unblocked (a disposition of ignore, or a mask, is inherited across
    # exec, and Python keeps an ignored SIGINT ignored: whatever this test process inherited must not decide)
    proc = subprocess.Popen([sys.executable, "-m", "hedui.cli", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_sigint_as_from_a_terminal)
    try:
        deadline = time.monotonic() + 60
        while holder_of(work) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        signals = _signal_state(proc.pid)  # for the message below, should the press be lost
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        import contextlib

        with contextlib.suppress(ProcessLookupError):  # whatever of its session is left (forkserver, workers)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 130, (signals, err[-2000:])
    assert "已中断：本批次未完成；可直接重跑同一日期。" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]  # nor the workers' (forkserver)
    assert holder_of(work) is None  # the lock went with the process
    after = (_outcomes(report), sorted(p.name for p in (report / "households").glob("*.html")),
             _table_rows(work / "hedui.duckdb")["outcomes"])
    assert after == before  # the previous good outputs, intact and readable


def test_the_urgent_path_gives_the_nightly_outcome_and_confines_hostile_ids(reruns, tmp_path):
    """救急难 for one household, with the per-request sources' answers: the nightly's outcome and codes;
    a hostile request id stays a file name inside reports/urgent/."""
    import shutil

    from hedui.urgent import VerifyError, read_request_file, verify_from_params, verify_household

    work, inbox = reruns["work"], reruns["inbox"]
    nightly = _outcomes(work / "reports" / RUN)
    answers = tmp_path / "answers"
    for source in ("bank", "securities", "insurance"):
        shutil.copytree(inbox / source / RUN, answers / source)
    rows = read_request_file(inbox / "requests" / RUN / f"requests_{RUN}.csv")
    for rid in ("I02",):
        got = verify_household(work, [r for r in rows if r["委托编号"] == rid], answers=answers, run_date="20261202")
        assert (got["outcome"], got["findings"]) == nightly[rid], rid
    # the same household typed with a tab after its id (a form, a trigger's JSON): the same verification
    tabbed = [dict(r, 委托编号="I02\t") for r in rows if r["委托编号"] == "I02"]
    got = verify_household(work, tabbed, answers=answers, run_date="20261202")
    assert (got["request_id"], got["outcome"], got["findings"]) == ("I02", *nightly["I02"])
    hostile = [dict(r, 委托编号="../../出来<script>") for r in rows if r["委托编号"] == "I02"]
    got = verify_from_params({"workdir": str(work), "request_rows": hostile, "run_date": "20261202"})
    page = Path(got["report"]).resolve()
    assert page.parent.parent == (work / "reports" / "urgent").resolve()
    assert "<script>" not in page.read_text(encoding="utf-8")
    for bad in ("../20261202", "20261340", "20261202'--", 20261202):
        with pytest.raises(VerifyError, match="run_date"):
            verify_from_params({"workdir": str(work), "request_rows": hostile, "run_date": bad})


# --- the nightly DAG with a department that cannot be reached -------------------------------------------------


@pytest.mark.ops  # a full dag.test (~75 s here): the operations suite, `make test-ops`
def test_a_source_task_that_fails_fails_the_run_and_the_notice_names_it(airflow_db, tmp_path, monkeypatch):
    """vehicle answers through an exchange database that refuses connections: its ingest fails (a real error,
    not a missing delivery); the batch issues no outcome for the date, and the failure notice names the task."""
    from airflow.dag_processing.dagbag import DagBag
    from notify_servers import webhook_server

    from hedui.ops.airflow_tasks import DeliverySensor

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    build().write(inbox, not_delivered=("vehicle",))
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  vehicle: {kind: sql_table, conn_id: veh_exchange, table: veh_jiaofu}\n"
                      "on_request: [bank, securities, insurance]\n", encoding="utf-8")
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_VEH_EXCHANGE", "postgres://hedui:x@127.0.0.1:9/exchange")  # discard: refused
    monkeypatch.delenv("HEDUI_NOTIFY_EMAIL", raising=False)

    # an exchange table has no folder to wait for: its wait ends at once, not at the cut-off hours later
    today = dt.datetime.now(SHANGHAI).strftime("%Y%m%d")
    sensor = DeliverySensor(task_id="wait", source="vehicle")
    assert sensor.execute({"params": {"inbox": str(inbox), "workdir": str(work), "run_date": today},
                           "logical_date": None}) == "exchange_table"

    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["hedui_nightly"]
    dag.get_task("ingest").retries = 0  # the DAG retries twice, 5 minutes apart
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        dagrun = dag.test(logical_date=dt.datetime(2026, 11, 28, 0, 30, tzinfo=SHANGHAI),
                          run_conf={"inbox": str(inbox), "workdir": str(work)})
    assert "failed" in str(dagrun.state)
    (_path, body), = posts
    text = body["text"]["content"]
    assert f"核对批次 {RUN} 失败" in text and "ingest[vehicle]" in text, text
    assert not (work / "reports" / RUN / "outcomes.csv").exists()  # nothing issued on a partial batch


def test_a_summary_without_households_says_why_not_empty_brackets():
    from hedui.ops.run_summary import text_zh

    summary = {"run_date": RUN, "households": 0, "outcomes": {}, "sources_missing": ["requests"],
               "sources_failed": [], "quarantined_rows": 5, "seconds": {"total": 1.0}, "report_dir": "/x",
               "sources": [{"source": "requests", "source_zh": "核对委托", "status": "incomplete",
                            "reasons_zh": "缺少完成标记", "rows_quarantined": 5}]}
    text = text_zh(summary)
    assert "（）" not in text and "家庭：0 户（没有可核对的家庭" in text


def test_a_finished_runs_empty_spill_folder_is_no_leftover_of_an_interrupted_process(tmp_path):
    from hedui.workdir import clean_leftovers

    (tmp_path / "tmp").mkdir()  # DuckDB's temp_directory after a run that finished
    (tmp_path / "runs" / RUN / "tmp").mkdir(parents=True)
    assert clean_leftovers(tmp_path) == {"folders": 0, "files": 0, "bytes": 0}
    assert not (tmp_path / "tmp").exists()
    (tmp_path / "runs" / RUN / "report_parts_x").mkdir()
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "spill.bin").write_bytes(b"x" * 10)
    assert clean_leftovers(tmp_path) == {"folders": 2, "files": 1, "bytes": 10}


@pytest.mark.ops  # one more `hedui run` and `hedui late` (~60 s): the operations suite, `make test-ops`
def test_odd_delivery_folders_count_as_not_delivered_and_a_late_marker_is_taken_in(tmp_path, capsys):
    """Delivered for another date only, an empty folder, only an `.ok` marker, a file whose marker is not
    there yet: each source is missing or incomplete, named in the summary, exit 3, and no household is
    CLEAR; the marker arriving later is taken in by `hedui late`."""
    import shutil

    from hedui.cli import main

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    build().write(inbox)
    shutil.move(inbox / "real_estate" / RUN, inbox / "real_estate" / "20261127")  # another date only
    for p in (inbox / "housing_fund" / RUN).iterdir():  # an empty delivery folder
        p.unlink()
    (inbox / "civil_affairs" / RUN / f"civil_affairs_{RUN}.csv").unlink()  # a marker without its file
    marker = inbox / "tax" / RUN / f"tax_{RUN}.csv.ok"
    count = marker.read_text(encoding="utf-8")
    marker.unlink()  # the file is there, its marker not yet
    capsys.readouterr()
    assert main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)]) == 3
    out = capsys.readouterr().out
    for source in ("real_estate", "housing_fund", "civil_affairs", "tax"):
        assert f"（{source}）：未交付" in out or f"（{source}）：交付不完整" in out, source
    outcomes = _outcomes(work / "reports" / RUN)
    assert set(outcomes) == {"C01", "C02", "V01", "I02"}
    assert all(o != "CLEAR" and "SOURCE_MISSING" in f.split(";") for o, f in outcomes.values()), outcomes
    assert outcomes["V01"] == ("FINDINGS", "SOURCE_MISSING;VEHICLE")  # a finding on delivered evidence stands

    marker.write_text(count, encoding="utf-8")  # the marker arrives after the cut-off
    assert main(["late", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work), "--source", "tax"]) == 0
    con = duckdb.connect(str(work / "hedui.duckdb"), read_only=True)
    try:
        assert con.sql("select status from source_status where run_date = ? and source = 'tax'",
                       params=[RUN]).fetchall() == [("passed",)]
        assert con.sql("select count(*) from quarantine where run_date = ? and source = 'tax'",
                       params=[RUN]).fetchall() == [(0,)]  # the rows held while the marker was missing
    finally:
        con.close()
    outcomes = _outcomes(work / "reports" / RUN)
    assert outcomes["I02"] == ("FINDINGS", "INCOME_OVER_STANDARD;SOURCE_MISSING")  # tax weighed now
    assert outcomes["C01"] == ("INCOMPLETE", "SOURCE_MISSING")  # the other sources still missing
