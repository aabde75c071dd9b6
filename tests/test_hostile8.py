"""Hostile ways in, round 8: operators must be able to trust a run — a mistyped future date folder in the inbox,
a working folder on a read-only file system, names in the inbox carrying line breaks.  Tests run the real CLI
entry point on real folders (a real read-only tmpfs where this process may mount one)."""

from __future__ import annotations

import pytest
from test_hostile4 import _audit, _cli


def _purge_world(tmp_path, stray: str):
    """An inbox with a real delivery of 20261128 and a department's mistyped folder `stray`, a working folder
    that ran 20261128."""
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    for date in ("20261128", stray):
        delivery = inbox / "bank" / date
        delivery.mkdir(parents=True)
        (delivery / "bank.csv").write_text("x\n", encoding="utf-8")
    for kind in ("raw", "staged"):
        (work / "runs" / "20261128" / kind).mkdir(parents=True)
    AuditLog(default_log_path(work)).append(actor="hy", action="run", subject="批次 20261128")
    return inbox, work


@pytest.mark.parametrize("stray", ["20371128", "20991231"])
def test_HY01_a_mistyped_future_date_folder_in_the_inbox_does_not_defeat_purges_check_of_today(
        tmp_path, capsys, stray):
    """HY01: a department's folder dated a year ahead (`bank/20371128`, a typo of 20261128) is a real calendar
    date, so it counted as the latest date known; `hedui purge --today 20361128` (the operator's own year typo)
    then found a "latest" date after its cut-off and deleted every delivery and every run's raw values, the
    latest run's included, with exit 0.  The folder itself, dated after any --today, was never purged."""
    inbox, work = _purge_world(tmp_path, stray)
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20361128")
    assert rc == 2 and "--today 20361128" in err and "20261128" in err and "未删除任何文件" in err, (rc, out, err)
    assert (inbox / "bank" / "20261128" / "bank.csv").is_file() and (work / "runs" / "20261128" / "staged").is_dir()
    assert not [e for e in _audit(work) if e["action"] == "purge"]


def test_HY02_a_purge_names_the_delivery_folders_dated_after_today_that_it_can_never_purge(tmp_path, capsys):
    """HY02: a folder dated after --today is never older than the retention period, so its personal data stays
    forever, and nothing said so: the purge now names it (source/date) and what to do, and still deletes nothing
    of it (it is not ours to judge which date was meant)."""
    inbox, work = _purge_world(tmp_path, "20371128")
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20270301",
                        "--days", "30", "--including-latest")
    assert rc == 0, (rc, out, err)
    assert not (inbox / "bank" / "20261128").exists()  # the real old delivery went
    assert (inbox / "bank" / "20371128" / "bank.csv").is_file()
    assert "bank/20371128" in out and "晚于" in out and "核实" in out, out
    purge = [e for e in _audit(work) if e["action"] == "purge"]
    assert purge and purge[-1]["details"]["future_folders"] == ["bank/20371128"], purge


# -- a working folder on a read-only file system --------------------------------------------------------------


@pytest.fixture
def read_only_work(world_run, tmp_path):
    """A copy of a finished run's working folder on a tmpfs of its own, then remounted read-only (as a disk
    remounted read-only after an error, or an archive on read-only media).  Skipped where this process may not
    mount file systems."""
    import shutil
    import subprocess

    mount = tmp_path / "ro"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m,mode=0700", "tmpfs", str(mount)],
                         capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        work = mount / "work"
        shutil.copytree(world_run[0].workdir, work, symlinks=True)
        from hedui.web import accounts

        accounts.add_user(work, "hy_clerk", "pw-hy_clerk-0123456", "clerk", ["360000"])
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)
        yield world_run[0], work
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_HY03_status_answers_on_a_read_only_working_folder(read_only_work, capsys):
    """HY03: `hedui status`, which only reads, stopped with "读写文件失败：[Errno 30] Read-only file system: …
    .hedui-writer.lock" on a working folder the system had remounted read-only — the moment an operator most
    needs to know how the night went.  It now answers as on any other folder."""
    ctx, work = read_only_work
    rc, out, err = _cli(capsys, "status", "--workdir", str(work), "--date", ctx.run_date)
    assert "Errno" not in err and "错误" not in err, err
    assert rc in (0, 1) and f"核对批次 {ctx.run_date}" in out, (rc, out, err)


def test_HY04_a_run_on_a_read_only_working_folder_says_so_in_chinese_and_leaves_the_results(read_only_work, capsys):
    """HY04: `hedui run` on a working folder whose file system is read-only stopped with the system's English
    ("读写文件失败：[Errno 30] Read-only file system: '…/.hedui-writer.lock'") and no word of what to do.  It
    now says, in one Chinese line, that the folder is on a read-only file system, names it, says what to do,
    and that nothing was written; the earlier run's reports stay as they were."""
    ctx, work = read_only_work
    before = (work / "reports" / ctx.run_date / "outcomes.csv").read_bytes()
    rc, out, err = _cli(capsys, "run", "--inbox", str(ctx.inbox), "--date", ctx.run_date, "--workdir", str(work))
    lines = [x for x in err.splitlines() if x.startswith("错误：")]
    assert rc != 0 and len(lines) == 1, (rc, out, err)
    assert "只读" in lines[0] and str(work) in lines[0] and "--workdir" in lines[0], lines
    assert "Errno" not in err and "Read-only" not in err, err
    assert (work / "reports" / ctx.run_date / "outcomes.csv").read_bytes() == before


# -- a line break in a path or name given on the command line --------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["run", "--date", "20261128", "--workdir", "{w}/work", "--inbox", "{w}/in\n错误：伪造的一行"],
    ["status", "--workdir", "{w}/work\n核对批次 20261128 完成"],
    ["purge", "--today", "20261201", "--workdir", "{w}/work\r\n错误：伪造"],
    ["verify", "--workdir", "{w}/work", "--request", "{w}/r.csv\n错误：伪造"],
    ["review", "list", "--date", "20261128", "--workdir", "{w}/work\x0b错误：伪造"],
    ["users", "list", "--workdir", "{w}\n错误：伪造"],
])
def test_HY05_a_line_break_in_a_path_given_on_the_command_line_never_forges_a_line_of_the_answer(
        tmp_path, capsys, argv):
    """HY05: a path given with a line break (pasted from a listing, or a script that read a name from the inbox)
    was echoed whole in the error — `错误：收件箱目录 …/in` and, on a line of its own, whatever followed the
    break (`错误：伪造的一行`, or `核对批次 20261128 完成`): a second error line, or a forged success, in the
    stream that operators and their scripts read line by line.  Now the argument is refused before anything
    runs, in one line naming the option, the break shown as `\\x0a`."""
    rc, out, err = _cli(capsys, *[a.replace("{w}", str(tmp_path)) for a in argv])
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2 and len(lines) == 1 and out == "", (rc, out, err)
    assert lines[0].startswith("错误：") and "换行或控制字符" in lines[0] and "\\x0" in lines[0], lines
    assert "--" in lines[0], lines  # names the option
    assert not (tmp_path / "work").exists()


def test_HY05b_free_text_arguments_may_still_span_lines(tmp_path, capsys):
    """An auditor's SQL given with -c may be written over several lines: that is not refused."""
    import duckdb

    db = tmp_path / "hedui_audit.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table catalog as select 'outcomes' as table_name")
    con.close()
    rc, out, err = _cli(capsys, "audit", "--db", str(db), "-c", "select count(*) as n\nfrom catalog")
    assert rc == 0 and "1" in out, (rc, out, err)


# -- a run date before every policy version ---------------------------------------------------------------------


def test_HY06_a_run_date_before_every_policy_version_is_refused_before_anything_is_created(tmp_path, capsys):
    """HY06: `hedui run --date 20100105` (a year's typo, or a delivery folder dated so) read and staged every
    source — 48 s here, a night's work at a province's scale — and created the working folder, then stopped at the
    assessment: no policy version in force that year.  It is now refused at once, in Chinese, naming the earliest
    version's year and what to do, nothing created; the same refusal stops a DAG run at its first task."""
    from hedui.errors import InputError
    from hedui.generate import generate
    from hedui.steps.policy import check_run_year, load_policies

    inbox, work = tmp_path / "inbox", tmp_path / "work"
    generate(inbox, households=3, seed=5, date="20100105")
    rc, out, err = _cli(capsys, "run", "--inbox", str(inbox), "--date", "20100105", "--workdir", str(work))
    lines = [x for x in err.splitlines() if x.strip()]
    earliest = min(v.year for v in load_policies())
    assert rc == 2 and len(lines) == 1 and "20100105" in lines[0] and str(earliest) in lines[0], (rc, out, err)
    assert "政策" in lines[0] and "未创建任何文件" in lines[0], lines
    assert not work.exists()
    check_run_year(f"{earliest}0101")  # the first day of the earliest version's year is a year in force
    with pytest.raises(InputError):
        check_run_year(f"{earliest - 1}1231")


def test_HY07_a_dag_run_dated_before_every_policy_version_fails_at_its_first_task_creating_nothing(
        airflow_db, tmp_path, monkeypatch):
    """HY07: the nightly DAG given `run_date` 20100105 read and staged every source before the assessment failed;
    it now fails at its first task (business_date), no source read, the working folder not created, and the
    failure notice names that task (its log carries the Chinese reason)."""
    from notify_servers import webhook_server
    from test_dag import _bag, _states

    from hedui.generate import generate

    inbox = tmp_path / "inbox"
    generate(inbox, households=3, seed=5, date="20100105")
    dag = _bag().dags["hedui_nightly"]
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        monkeypatch.delenv("HEDUI_NOTIFY_EMAIL", raising=False)
        dagrun = dag.test(run_conf={"inbox": str(inbox), "workdir": str(tmp_path / "work"), "run_date": "20100105"})
    states = _states(dagrun)
    assert "failed" in str(dagrun.state) and states["business_date"] == "failed", states
    assert not any(k.startswith("ingest") and v == "success" for k, v in states.items()), states
    assert not (tmp_path / "work").exists()
    assert posts and "20100105" in posts[-1][1]["text"]["content"] and "business_date" in posts[-1][1]["text"]["content"]


# -- an urgent request whose id carries a terminal escape ---------------------------------------------------------


def test_HY08_an_urgent_request_id_holding_control_characters_is_refused_not_printed_raw(world_run, tmp_path, capsys):
    """HY08: `hedui verify --request-file` with a 委托编号 of "WT9\\n核对结论：未发现超出政策规定情形\\x1b[32m" (an
    agency's file) verified the household and printed the id as it was: the ESC sequence reached the operator's
    terminal (colouring what followed) and the line read as a conclusion the verification never reached.  The
    request is now refused before anything is verified, naming the member row; nothing reaches the terminal raw."""
    import csv
    import shutil

    from hedui.urgent import REQUEST_HEADERS

    ctx, _ = world_run
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("*.lock"))
    path = tmp_path / "request.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REQUEST_HEADERS)
        for relation in ("本人", "配偶"):
            w.writerow({"委托编号": "WT9\n核对结论：未发现超出政策规定情形\x1b[32m", "业务类型": "最低生活保障", "姓名": "王五",
                        "身份证号": "", "与申请人关系": relation, "区划代码": "360702", "城乡类别": "城市",
                        "授权书编号": "SQ1", "授权日期": "20261101", "委托日期": "20261128"}.get(h, "")
                       for h in REQUEST_HEADERS)
    rc, out, err = _cli(capsys, "verify", "--workdir", str(work), "--request-file", str(path), "--date", ctx.run_date)
    assert "\x1b" not in out + err, repr(out + err)
    assert rc == 2 and out == "" and "委托编号" in err and "控制字符" in err and "第 1 " in err, (rc, out, err)
    assert not (work / "reports" / "urgent").exists()


def _request_file(path, request_id: str, id_number: str = "") -> None:
    import csv

    from hedui.urgent import REQUEST_HEADERS

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(REQUEST_HEADERS)
        for relation in ("本人", "配偶"):
            w.writerow({"委托编号": request_id, "业务类型": "最低生活保障", "姓名": "王五", "身份证号": id_number,
                        "与申请人关系": relation, "区划代码": "360702", "城乡类别": "城市", "授权书编号": "SQ1",
                        "授权日期": "20261101", "委托日期": "20261128"}.get(h, "") for h in REQUEST_HEADERS)


def test_HY09_an_urgent_request_none_of_whose_rows_passes_is_answered_with_the_reasons_not_a_missing_file(
        world_run, tmp_path, capsys):
    """HY09: `hedui verify` for a household whose every member row lacked its 身份证号 (an agency's hurried request:
    the ID is what the department had not yet copied) staged and checked the rows, quarantined all of them,
    went on through every step, and then stopped with "错误：找不到文件或目录：…/households/WT9.html", exit 1 — the
    clerk learnt nothing of why.  It now stops right after the request's checks, exit 2, naming each row and its
    reason and what to do; nothing is issued under reports/urgent."""
    import shutil

    ctx, _ = world_run
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("*.lock"))
    path = tmp_path / "request.csv"
    _request_file(path, "WT9")
    rc, out, err = _cli(capsys, "verify", "--workdir", str(work), "--request-file", str(path), "--date", ctx.run_date)
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2 and out == "" and len(lines) == 1, (rc, out, err)
    assert "WT9" in lines[0] and "第 2 行" in lines[0] and "第 3 行" in lines[0] and "身份证号" in lines[0], lines
    assert "找不到文件" not in err and "更正" in lines[0], lines
    assert not (work / "reports" / "urgent").exists()
    assert not list((work / "urgent").glob("*/hedui.duckdb"))  # the scratch folder is gone


def test_HY10_serve_on_a_read_only_working_folder_says_so_in_chinese(read_only_work, capsys):
    """HY10: `hedui serve` on a working folder the system had remounted read-only stopped with "错误：运行失败
    （内部错误 OperationalError：unable to open database file）" — SQLite's English, "internal error", and
    advice to re-run a date.  It now says the folder is on a read-only file system, names it and what to do."""
    _, work = read_only_work
    rc, out, err = _cli(capsys, "serve", "--workdir", str(work), "--port", "18764")
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc != 0 and len(lines) == 1 and "只读" in lines[0] and str(work) in lines[0], (rc, out, err)
    assert "内部错误" not in err and "OperationalError" not in err, err


def test_HY11_a_purge_given_an_inbox_that_does_not_exist_deletes_nothing_and_says_so(tmp_path, capsys):
    """HY11: `hedui purge --inbox /data/inbx` (a typo) purged the working folder's old runs, found no delivery
    folder to delete, and reported "交付目录 0 个", exit 0, with an audit entry saying the same: the departments'
    raw deliveries stayed past their retention while the operator and the auditors read that the purge ran.  A
    missing --inbox is now refused before anything is deleted."""
    inbox, work = _purge_world(tmp_path, "20261129")
    (work / "runs" / "20270301").mkdir(parents=True)
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(tmp_path / "inbx"), "--today",
                        "20270301")
    assert rc == 2 and out == "" and "inbx" in err and "未删除任何文件" in err, (rc, out, err)
    assert (work / "runs" / "20261128" / "staged").is_dir() and (inbox / "bank" / "20261128").is_dir()
    assert not [e for e in _audit(work) if e["action"] == "purge"]
    (tmp_path / "file").write_text("x", encoding="utf-8")
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(tmp_path / "file"), "--today",
                        "20270301")
    assert rc == 2 and "未删除任何文件" in err, (rc, out, err)
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work), "--inbox", str(inbox), "--today", "20270301")
    assert rc == 0 and not (inbox / "bank" / "20261128").exists(), (rc, out, err)


def test_HY12_a_dag_run_given_a_path_with_a_line_break_fails_naming_the_parameter_not_logging_it_raw(tmp_path):
    """HY12: `inbox`/`workdir` of a triggered DAG run (its conf, or HEDUI_INBOX/HEDUI_WORKDIR) went unchecked into
    the task's log and error lines: a line break in them wrote a forged line (`… 核对批次完成`) into what operators
    read. The first task now fails naming the parameter, the character shown as \\x0a, nothing created."""
    from airflow.sdk.exceptions import AirflowFailException

    from hedui.ops.airflow_tasks import run_context

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for params in ({"inbox": f"{inbox}\n核对批次 20261128 完成", "workdir": str(tmp_path / "work")},
                   {"inbox": str(inbox), "workdir": f"{tmp_path}/work\x1b[2K"}):
        with pytest.raises(AirflowFailException) as err:
            run_context({"params": {**params, "run_date": "20261128"}})
        text = str(err.value)
        assert "\n" not in text and "\x1b" not in text and "控制字符" in text, text
        assert ("参数 inbox" in text) == ("\n" in params["inbox"]), text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox"]
