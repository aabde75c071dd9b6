"""Hostile ways in, round 3: command-line arguments an operator mistypes or an attacker chooses, and cells
that a spreadsheet would still run as a formula.  One small hand-built world (tests/contract_world.py) is run
once through the real pipeline; the commands then work on its working folder and auditor database."""

from __future__ import annotations

import pytest
from contract_world import RUN, World, fresh_ids, run_world

_NO_CRASH = ("Traceback", "内部错误", "Exception in thread", "OverflowError")


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A run of two households (OP01, OP02): its RunContext."""
    world = World()
    with fresh_ids(901):
        a = world.household("OP01", [("赵一", "本人"), ("钱二", "配偶")])
        world.household("OP02", [("孙三", "本人")])
        world.bank(a[0], "1200.50")
    return run_world(world, tmp_path_factory, "op_hostile3")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`hedui <argv>` in-process: (exit code, stdout, stderr); never a traceback nor an internal error."""
    from hedui.cli import main

    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        rc = exc.code
    out, err = capsys.readouterr()
    assert not any(s in err for s in _NO_CRASH), err
    return rc, out, err


def _tree(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# -- hedui audit: a time limit and a row count that are not numbers a limit can use ----------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "1e308", "五分钟"])
def test_an_audit_time_limit_that_is_no_usable_number_is_a_usage_error(work, capsys, value):
    # `inf` killed the statement timer's thread (a traceback on the screen, exit 0, and no time limit at all);
    # `nan` and `-1` were taken as well
    rc, out, err = _cli(capsys, "audit", "--workdir", str(work.workdir), "--timeout", value, "-c", "select 1")
    assert rc == 2 and "每条查询的时限" in err and "无效" in err
    assert out == ""


@pytest.mark.parametrize("value", ["inf", "nan", "1e308"])
def test_an_audit_time_limit_from_the_environment_that_is_no_usable_number_is_a_setup_error(
    work, capsys, monkeypatch, value
):
    monkeypatch.setenv("HEDUI_AUDIT_TIMEOUT_S", value)
    rc, out, err = _cli(capsys, "audit", "--workdir", str(work.workdir), "-c", "select 1")
    assert rc == 2 and "HEDUI_AUDIT_TIMEOUT_S" in err and "无效" in err
    assert out == ""


@pytest.mark.parametrize("value", ["0", "-1", "99999999999999999999999"])
def test_an_audit_row_count_below_one_or_absurd_is_a_usage_error(work, capsys, value):
    # 0 and -1 printed "（0 行，仅显示前 -1 行）" over a result that had a row
    rc, out, err = _cli(
        capsys, "audit", "--workdir", str(work.workdir), "--max-rows", value, "-c", "select 1"
    )
    assert rc == 2 and "最多显示行数" in err
    assert out == ""


def test_an_audit_database_that_is_not_one_is_refused_in_chinese(work, tmp_path, capsys):
    # a typo'd --db that names another file: DuckDB's English IOException came out as an internal error
    other = tmp_path / "outcomes.csv"
    other.write_text("request_id,outcome\nOP01,CLEAR\n", encoding="utf-8")
    rc, out, err = _cli(capsys, "audit", "--db", str(other), "-c", "select 1")
    assert rc == 1 and "无法打开审计库" in err and "--db" in err
    assert other.read_text(encoding="utf-8") == "request_id,outcome\nOP01,CLEAR\n"  # left as it was


# -- hedui purge / keys: a mistyped working folder -----------------------------------------------------


def test_purge_on_a_mistyped_working_folder_deletes_nothing_and_creates_nothing(work, tmp_path, capsys):
    # before: a new folder was made with an audit log of its own, the inbox's old deliveries were deleted, and
    # the deletion was recorded there, where no auditor looks, instead of in the working folder's audit log
    inbox = tmp_path / "inbox"
    old = inbox / "bank" / "20250101"
    old.mkdir(parents=True)
    (old / "bank_1.csv").write_text("机构名称\n", encoding="utf-8")
    typo = tmp_path / "wrok"
    rc, out, err = _cli(capsys, "purge", "--workdir", str(typo), "--inbox", str(inbox), "--today", RUN)
    assert rc == 2 and "不存在" in err and "--workdir" in err
    assert not typo.exists() and (old / "bank_1.csv").is_file()
    # an existing folder that is no working folder (no database, audit log or key fingerprint): refused too
    typo.mkdir()
    rc, out, err = _cli(capsys, "purge", "--workdir", str(typo), "--inbox", str(inbox), "--today", RUN)
    assert rc == 2 and "不是 hedui 的工作目录" in err
    assert _tree(typo) == [] and (old / "bank_1.csv").is_file()


@pytest.mark.parametrize(
    "argv, env, expected",
    [
        (["--days", "99999999999999999999"], {}, "保留天数“99999999999999999999”无效"),
        ([], {"HEDUI_RETENTION_DAYS": "99999999999999999999"}, "HEDUI_RETENTION_DAYS"),
    ],
)
def test_purge_with_an_absurd_retention_is_a_usage_error_and_touches_nothing(
    work, capsys, monkeypatch, argv, env, expected
):
    # a retention beyond a date's range was an internal OverflowError
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = (work.workdir / "audit" / "audit_log.jsonl").read_bytes()
    rc, out, err = _cli(capsys, "purge", "--workdir", str(work.workdir), "--today", RUN, *argv)
    assert rc == 2 and expected in err
    assert (work.workdir / "audit" / "audit_log.jsonl").read_bytes() == before


@pytest.mark.parametrize("command", ["check", "rotate"])
def test_keys_on_a_mistyped_working_folder_create_nothing_and_never_say_the_keys_match(
    tmp_path, capsys, monkeypatch, command
):
    # `keys check` made the folder, stored the current keys' fingerprint there and answered "一致", exit 0
    monkeypatch.setenv("HEDUI_OLD_DATA_KEY", __import__("os").environ["HEDUI_DATA_KEY"])
    typo = tmp_path / "typo" / "work"
    rc, out, err = _cli(capsys, "keys", command, "--workdir", str(typo))
    assert rc == 2 and "不存在" in err and "一致" not in out
    assert list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, out, err = _cli(capsys, "keys", command, "--workdir", str(empty))
    assert rc == 2 and "不是 hedui 的工作目录" in err and "一致" not in out
    assert _tree(empty) == []


def test_keys_check_on_the_real_working_folder_still_answers(work, capsys):
    rc, out, _ = _cli(capsys, "keys", "check", "--workdir", str(work.workdir))
    assert rc == 0 and "一致" in out


# -- formulas behind blanks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        " =1+1",
        '  =HYPERLINK("http://x","点击")',
        "\u3000＝1+1",
        "\u00a0@SUM(A1)",
        "\u200b=1+1",
        " \u3000-2+3",
        "\u3000＋cmd|' /C calc'!A0",
    ],
)
def test_a_formula_behind_leading_blanks_or_invisible_characters_is_neutralized(cell):
    from hedui.safe_csv import neutralize

    assert neutralize(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["  -50", " +3.5 ", "张 三", "   ", "\u3000李四"])
def test_blanks_before_a_plain_number_or_a_name_leave_it_as_it_is(cell):
    from hedui.safe_csv import neutralize

    assert neutralize(cell) == cell


def test_the_audit_csv_an_auditor_opens_neutralizes_a_formula_behind_blanks(work, capsys):
    rc, out, _ = _cli(
        capsys,
        "audit",
        "--workdir",
        str(work.workdir),
        "--csv",
        "-c",
        "select ' =HYPERLINK(1)' as a, '\u3000＝1+1' as b, '  -50' as c",
    )
    assert rc == 0
    assert out.splitlines()[1] == "' =HYPERLINK(1),'\u3000＝1+1,  -50"


# -- hedui generate over a real inbox ----------------------------------------------------------------


def test_generate_never_writes_a_sample_world_into_a_real_delivery(tmp_path, capsys):
    # before: the sample files replaced the bank's delivery of the day (same names) or were put beside it (other
    # names), and the next run verified synthetic rows as the departments' own
    inbox = tmp_path / "inbox"
    real = inbox / "bank" / RUN
    real.mkdir(parents=True)
    (real / "bank_ICBC.csv").write_text("机构名称,户名\n中国工商银行,赵一\n", encoding="utf-8")
    (real / "bank_ICBC.csv.ok").write_text("1", encoding="utf-8")
    before = _tree(inbox)
    rc, out, err = _cli(capsys, "generate", "--out", str(inbox), "--households", "2", "--date", RUN)
    assert rc == 2 and f"bank/{RUN}/" in err and "未写入任何文件" in err
    assert _tree(inbox) == before
    assert (real / "bank_ICBC.csv").read_text(encoding="utf-8") == "机构名称,户名\n中国工商银行,赵一\n"
    # another date: written as ever; a sample written before is not told apart from a delivery: refused too
    rc, *_ = _cli(capsys, "generate", "--out", str(inbox), "--households", "2", "--date", "20261127")
    assert rc == 0 and (inbox / "truth.csv").is_file()
    rc, out, err = _cli(capsys, "generate", "--out", str(inbox), "--households", "2", "--date", "20261127")
    assert rc == 2 and "未写入任何文件" in err
    rc, out, err = _cli(capsys, "generate", "--out", str(inbox), "--households", "2", "--date", RUN)
    assert (
        rc == 2
        and (real / "bank_ICBC.csv").read_text(encoding="utf-8") == "机构名称,户名\n中国工商银行,赵一\n"
    )


# -- hedui verify (救急难): answer folders are read as untrusted as the nightly inbox ---------------------

_BANK_HEADER = "机构名称,户名,证件号码,账号,账户类型,余额,查询日期\n"


@pytest.fixture
def urgent(work, tmp_path):
    """A copy of the run's database to verify OP01 on, OP01's request rows, and a complete answer folder
    (the nightly's bank, securities and insurance files: OP01 comes out CLEAR on them)."""
    import csv
    import shutil

    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copyfile(work.database, workdir / "hedui.duckdb")
    with open(work.inbox / "requests" / RUN / f"requests_{RUN}.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["委托编号"] == "OP01"]
    answers = tmp_path / "answers"
    for source in ("bank", "insurance", "securities"):
        shutil.copytree(work.inbox / source / RUN, answers / source)
    return workdir, rows, answers, rows[0]["身份证号"]


def _verify(urgent) -> dict:
    from hedui.urgent import verify_household

    workdir, rows, answers, _ = urgent
    return verify_household(workdir, rows, answers=answers, run_date="20261202")


def test_complete_answers_verify_the_household_as_the_nightly_did(urgent):
    got = _verify(urgent)
    assert (got["outcome"], got["findings"], got["pending"]) == ("CLEAR", "", [])


@pytest.mark.parametrize("entry", ["hidden", "folder", "pipe", "link"])
def test_an_answer_folder_holding_what_the_inbox_refuses_never_makes_the_household_clear(urgent, entry):
    # before: a hidden file (an rsync transfer still running), a sub-folder, a pipe or a link beside the bank's
    # file were skipped, the answer counted as complete, and the household came out CLEAR without the rows they
    # hold (here a 900,000 yuan deposit)
    import os

    _, _, answers, member_id = urgent
    bank = answers / "bank"
    rows = f"{_BANK_HEADER}中国银行,赵一,{member_id},6216000000000009999,定期,900000,20261126\n"
    if entry == "hidden":
        (bank / ".bank_2.csv.Xa81").write_text(rows, encoding="utf-8")
    elif entry == "folder":
        (bank / "more").mkdir()
        (bank / "more" / "bank_2.csv").write_text(rows, encoding="utf-8")
        (bank / "more" / "bank_2.csv.ok").write_text("1", encoding="utf-8")
    elif entry == "pipe":
        os.mkfifo(bank / "bank_2.csv")
    else:
        (bank.parent / "bank_2.csv").write_text(rows, encoding="utf-8")
        (bank / "bank_2.csv").symlink_to(bank.parent / "bank_2.csv")
    got = _verify(urgent)
    assert got["outcome"] == "INCOMPLETE" and "SOURCE_MISSING" in got["findings"]


def test_an_answer_file_with_another_hard_link_is_refused_as_in_the_inbox(urgent, tmp_path):
    import os

    _, _, answers, member_id = urgent
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(
        f"{_BANK_HEADER}中国银行,赵一,{member_id},6216000000000009999,定期,900000,20261126\n",
        encoding="utf-8",
    )
    os.link(outside, answers / "bank" / "bank_2.csv")
    (answers / "bank" / "bank_2.csv.ok").write_text("1", encoding="utf-8")
    got = _verify(urgent)
    assert got["outcome"] == "INCOMPLETE" and "SOURCE_MISSING" in got["findings"]


def test_an_answer_source_folder_that_is_a_link_elsewhere_is_refused_unread(urgent, tmp_path):
    # before: followed, and the rows of the folder it points at (here a deposit that is a finding) were verified
    import shutil

    from hedui.urgent import VerifyError

    _, _, answers, member_id = urgent
    elsewhere = tmp_path / "other_inbox_bank"
    elsewhere.mkdir()
    (elsewhere / "bank_9.csv").write_text(
        f"{_BANK_HEADER}中国银行,赵一,{member_id},6216000000000009999,定期,900000,20261126\n",
        encoding="utf-8",
    )
    (elsewhere / "bank_9.csv.ok").write_text("1", encoding="utf-8")
    shutil.rmtree(answers / "bank")
    (answers / "bank").symlink_to(elsewhere)
    with pytest.raises(VerifyError, match="bank/ 是符号链接"):
        _verify(urgent)


# -- the nightly DAG's parameters ---------------------------------------------------------------------


@pytest.mark.parametrize("where", ["the inbox", "inside the inbox", "a file"])
def test_a_dag_run_whose_working_folder_is_the_inbox_or_inside_it_fails_at_once_creating_nothing(
    tmp_path, where
):
    # `hedui run` refused these; a triggered DAG run (params inbox/workdir, or $HEDUI_WORKDIR) wrote the working
    # database, the reports and the raw copies of personal data into the folder the departments deliver into
    from airflow.sdk.exceptions import AirflowFailException

    from hedui.ops.airflow_tasks import run_context

    inbox = tmp_path / "inbox"
    (inbox / "requests" / RUN).mkdir(parents=True)
    (tmp_path / "work.txt").write_text("x", encoding="utf-8")
    workdir = {"the inbox": inbox, "inside the inbox": inbox / "work", "a file": tmp_path / "work.txt"}[where]
    before = _tree(tmp_path)
    context = {
        "params": {"inbox": str(inbox), "workdir": str(workdir), "run_date": RUN},
        "logical_date": None,
    }
    with pytest.raises(AirflowFailException, match="--workdir"):
        run_context(context)
    assert _tree(tmp_path) == before


def test_a_dag_run_with_a_working_folder_beside_the_inbox_gets_its_context(tmp_path):
    from hedui.ops.airflow_tasks import run_context

    inbox, workdir = tmp_path / "inbox", tmp_path / "work"
    inbox.mkdir()
    ctx = run_context({"params": {"inbox": str(inbox), "workdir": str(workdir), "run_date": RUN}})
    assert (ctx.inbox, ctx.workdir, ctx.run_date) == (inbox.resolve(), workdir.resolve(), RUN)


def test_purge_with_the_working_folder_given_as_the_inbox_deletes_no_report(work, capsys):
    # before: reports/<old date> and runs/<old date> (the manifests: the inputs' hashes) were deleted as old
    # deliveries, and the command said that reports and hashes were kept
    old_report = work.workdir / "reports" / "20250101" / "outcomes.csv"
    old_manifest = work.workdir / "runs" / "20250101" / "manifests" / "bank.json"
    for f in (old_report, old_manifest):
        f.parent.mkdir(parents=True)
        f.write_text("x", encoding="utf-8")
    rc, out, err = _cli(
        capsys, "purge", "--workdir", str(work.workdir), "--inbox", str(work.workdir), "--today", RUN
    )
    assert rc == 2 and "就是工作目录" in err and "未删除任何文件" in err
    assert old_report.is_file() and old_manifest.is_file()


# -- the nightly DAG's wait for a delivery agrees with the connector ----------------------------------


def _sensor_folder(tmp_path, source: str):
    from hedui.ops.airflow_tasks import DeliverySensor

    inbox = tmp_path / "inbox"
    folder = inbox / source / RUN
    folder.mkdir(parents=True)
    (folder / f"{source}_1.csv").write_text("x\n", encoding="utf-8")
    (folder / f"{source}_1.csv.ok").write_text("1", encoding="utf-8")
    context = {"params": {"inbox": str(inbox), "workdir": str(tmp_path / "work"), "run_date": RUN}}
    return DeliverySensor(task_id=f"wait_{source}", source=source), folder, context


@pytest.mark.parametrize("litter", ["Thumbs.db", "desktop.ini", "说明.txt", "~$requests_1.xlsx"])
def test_litter_beside_the_request_list_does_not_fail_the_batch(tmp_path, litter):
    # the sensor waited for a `Thumbs.db.ok`; past the cut-off (here: the run's cut-off is long past) the whole
    # batch failed with "委托名单…交付不完整（缺少 .ok 完成标记）", while the connector ignores such files
    sensor, folder, context = _sensor_folder(tmp_path, "requests")
    (folder / litter).write_bytes(b"\x00" * 100)
    assert sensor.execute(context) == "complete"


@pytest.mark.parametrize("partial", [".bank_2.csv.Xa81", ".~bank_2.csv"])
def test_a_hidden_file_of_a_transfer_still_running_is_not_a_complete_delivery(tmp_path, partial):
    # the sensor called it complete (hidden names were left out) and the ingest found the delivery incomplete:
    # past the cut-off the source is skipped with the reason instead
    from airflow.sdk.exceptions import AirflowSkipException

    from hedui.ops.business_date import delivery_complete

    sensor, folder, context = _sensor_folder(tmp_path, "bank")
    assert delivery_complete(folder)
    (folder / partial).write_text("机构名称,户名\n", encoding="utf-8")
    assert not delivery_complete(folder)
    with pytest.raises(AirflowSkipException, match="bank"):
        sensor.execute(context)


def _wait_for(predicate, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_killed_urgent_verification_leaves_no_plain_id_behind(urgent, tmp_path, capsys):
    # `hedui verify` killed (kill -9) mid-way left urgent/<key>/ with the household's raw rows, plain ID numbers
    # included, for ever: no run, purge or later verification removed it
    import csv
    import os
    import signal
    import subprocess
    import sys

    workdir, rows, answers, member_id = urgent
    request = tmp_path / "request.csv"
    with open(request, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    scratch = workdir / "urgent"

    def raw_written() -> bool:
        return any(p.suffix == ".parquet" for p in scratch.rglob("*")) if scratch.is_dir() else False

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hedui.cli",
            "verify",
            "--workdir",
            str(workdir),
            "--request-file",
            str(request),
            "--answers",
            str(answers),
            "--date",
            "20261202",
        ],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(raw_written, 120), "the verification wrote nothing to kill it after"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert list(scratch.iterdir())  # what the kill left: the scratch with the raw rows
    rc, out, err = _cli(capsys, "purge", "--workdir", str(workdir), "--today", RUN)
    assert rc == 0 and list(scratch.iterdir()) == []
    # a running verification's scratch is never taken: held here as a live one holds it
    from hedui.workdir import hold_scratch

    live = scratch / "20261202-running"
    fd = hold_scratch(live)
    try:
        rc, out, err = _cli(capsys, "purge", "--workdir", str(workdir), "--today", RUN)
        assert rc == 0 and list(scratch.iterdir()) == [live]
    finally:
        os.close(fd)
    # the next verification cleans what a killed one left too
    from hedui.urgent import verify_household

    leftover = scratch / "20261202-000000000000"
    leftover.mkdir()
    (leftover / "raw.parquet").write_bytes(member_id.encode())
    os.utime(leftover, (0, 0))  # made long ago, never held: killed before it took its lock
    got = verify_household(workdir, rows, answers=answers, run_date="20261202")
    assert got["outcome"] == "CLEAR"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_a_huge_request_file_is_refused_by_its_size_unread(urgent, tmp_path, capsys):
    # the whole file was read into memory (a 4 GB sparse file: 4 GB), then the csv module's field limit made it
    # an internal error in English, exit 1
    workdir, rows, _, _ = urgent
    request = tmp_path / "request.csv"
    with open(request, "wb") as fh:
        fh.write(",".join(rows[0]).encode() + b"\n")
        fh.truncate(200 << 20)
    rc, out, err = _cli(capsys, "verify", "--workdir", str(workdir), "--request-file", str(request))
    assert rc == 2 and "超过一户委托的上限" in err
    # small enough to read, but one field over the csv module's limit: a clear error too
    request.write_text(",".join(rows[0]) + "\n" + "x" * 300_000 + "\n", encoding="utf-8")
    rc, out, err = _cli(capsys, "verify", "--workdir", str(workdir), "--request-file", str(request))
    assert rc == 2 and "不是可读的CSV" in err


# -- hedui serve on an address it cannot listen on ------------------------------------------------------


@pytest.fixture
def staffed(work, tmp_path):
    """A working folder (a copy of the run's database) with one account: what `hedui serve` needs."""
    import shutil

    from hedui.web import accounts

    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copyfile(work.database, workdir / "hedui.duckdb")
    accounts.add_user(workdir, "adm", "pw-adm-0123456789", "admin", ["360000"])
    return workdir


def test_serve_on_a_port_in_use_is_refused_in_chinese_before_saying_it_is_up(staffed, capsys):
    # before: "核对工作台：http://127.0.0.1:<port>/ …Ctrl+C 结束" as if it were up, then uvicorn's English
    # "[Errno 98] … address already in use", exit 3 (which hedui uses for a run missing a source)
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        rc, out, err = _cli(capsys, "serve", "--workdir", str(staffed), "--port", str(port))
    assert rc == 2 and f"端口 {port} 已被占用" in err
    assert "核对工作台" not in out


@pytest.mark.parametrize("host", ["999.1.1.1", "not a host", "203.0.113.9"])
def test_serve_on_an_address_that_is_not_this_machines_is_refused_in_chinese(staffed, capsys, host):
    rc, out, err = _cli(capsys, "serve", "--workdir", str(staffed), "--host", host, "--port", "18999")
    assert rc == 2 and "--host" in err and "本机" in err
    assert "核对工作台" not in out
