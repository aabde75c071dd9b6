"""Security II on the working folder, through the real CLI: keys, one writer, file modes, leftovers, audit."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from hedui.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def work(world_run, tmp_path):
    """A private copy of the world's working folder: (RunContext of the copy)."""
    from hedui.pipeline import RunContext

    ctx, _ = world_run
    dst = tmp_path / "work"
    shutil.copytree(ctx.workdir, dst)
    return RunContext.of(ctx.inbox, dst, ctx.run_date)


def _tree(path: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in path.rglob("*")}


# -- keys ---------------------------------------------------------------------------------------------


def test_a_run_with_other_keys_stops_before_any_work(work, monkeypatch, capsys):
    before = _tree(work.workdir)
    monkeypatch.setenv("HEDUI_PSEUDONYM_KEY", _key())
    rc = main(["run", "--inbox", str(work.inbox), "--workdir", str(work.workdir), "--date", work.run_date])
    err = capsys.readouterr().err
    assert rc == 5
    assert "假名密钥 HEDUI_PSEUDONYM_KEY" in err and "hedui keys rotate" in err and "未做任何处理" in err
    assert "Traceback" not in err
    after = _tree(work.workdir)
    changed = [p for p, m in after.items() if before.get(p) != m and not p.endswith(".hedui-writer.lock")]
    assert changed == []  # nothing read, written or cleaned
    stored = json.loads((work.workdir / "keys.fingerprint.json").read_text())
    assert os.environ["HEDUI_PSEUDONYM_KEY"] not in json.dumps(stored)  # a keyed fingerprint, never the key


def test_a_folder_without_a_fingerprint_is_checked_against_its_stored_tokens(work, monkeypatch, capsys):
    (work.workdir / "keys.fingerprint.json").unlink()  # filled by a version before fingerprints
    monkeypatch.setenv("HEDUI_DATA_KEY", _key())
    assert main(["keys", "check", "--workdir", str(work.workdir)]) == 5
    assert "数据密钥 HEDUI_DATA_KEY" in capsys.readouterr().err
    assert not (work.workdir / "keys.fingerprint.json").exists()
    monkeypatch.undo()
    assert main(["keys", "check", "--workdir", str(work.workdir)]) == 0  # the right keys: adopted
    assert (work.workdir / "keys.fingerprint.json").exists()


def test_rotation_repseudonymizes_consistently_and_is_logged(work, monkeypatch, capsys):
    from hedui.privacy.keys import load_keys

    old = load_keys()
    con = duckdb.connect(str(work.database))
    key, rid, rec = con.sql("select decision_key, request_id, record_id from review_queue limit 1").fetchall()[0]
    con.execute("insert into review_decisions values (?, 'confirmed', '测试', now(), '同一人', ?, ?, ?)",
                [key, work.run_date, rec, rid])
    members_before = con.sql("select count(distinct id_norm) from stg_requests").fetchall()[0][0]
    con.close()
    new_p, new_d = _key(), _key()
    monkeypatch.setenv("HEDUI_OLD_PSEUDONYM_KEY", os.environ["HEDUI_PSEUDONYM_KEY"])
    monkeypatch.setenv("HEDUI_OLD_DATA_KEY", os.environ["HEDUI_DATA_KEY"])
    monkeypatch.setenv("HEDUI_PSEUDONYM_KEY", new_p)
    monkeypatch.setenv("HEDUI_DATA_KEY", new_d)
    assert main(["keys", "rotate", "--workdir", str(work.workdir)]) == 0
    assert "密钥轮换完成" in capsys.readouterr().out
    new = load_keys()

    from hedui import db

    con = duckdb.connect(str(work.database), read_only=True)
    tokens = con.sql("select id_number, id_norm from stg_requests where id_number is not null "
                     "and id_norm is not null").fetchall()
    macros = db.connect()
    assert tokens
    for token, p in tokens[:50]:
        plain = new.decrypt(token)  # tokens re-encrypted under the new data key
        norm = macros.sql("select hd_id_norm(?)", params=[plain]).fetchall()[0][0]
        assert p == new.pseudonym(norm) != old.pseudonym(norm)
    assert con.sql("select count(distinct id_norm) from stg_requests").fetchall()[0][0] == members_before
    # joins still hold: every link and finding points at a requested member under the new key
    assert con.sql("select count(*) from links where member_id not in (select id_norm from stg_requests)"
                   ).fetchall()[0][0] == 0
    assert con.sql("select count(*) from findings where member_id is not null "
                   "and member_id not in (select id_norm from stg_requests)").fetchall()[0][0] == 0
    # the review decision follows its pair
    assert con.sql("select count(*) from review_decisions d join review_queue q using (decision_key)"
                   ).fetchall()[0][0] >= 1
    assert con.sql("select count(*) from review_decisions where decision_key = ?", params=[key]).fetchall()[0][0] == 0
    con.close()
    entries = [json.loads(line) for line in (work.workdir / "audit" / "audit_log.jsonl").read_text().splitlines()]
    rot = [e for e in entries if e["action"] == "key_rotation"]
    assert rot and rot[-1]["details"]["pseudonyms_mapped"] >= members_before
    assert main(["audit", "verify", "--workdir", str(work.workdir)]) == 0  # head re-signed with the new key
    assert main(["keys", "check", "--workdir", str(work.workdir)]) == 0
    monkeypatch.setenv("HEDUI_PSEUDONYM_KEY", os.environ["HEDUI_OLD_PSEUDONYM_KEY"])
    assert main(["keys", "check", "--workdir", str(work.workdir)]) == 5


# -- one writer, leftovers, file modes -------------------------------------------------------------------


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_second_run_is_refused_naming_the_holder_and_leftovers_are_cleaned(world, tmp_path, capsys):
    from hedui.workdir import holder_of

    workdir = tmp_path / "work"
    leftover = workdir / "runs" / "20261101" / "report_parts_abc123"
    leftover.mkdir(parents=True)
    (leftover / "batch_0.parquet").write_bytes(b"names and masked ids")
    (workdir / "audit").mkdir()
    (workdir / "audit" / ".hedui_audit.duckdb.999.tmp").write_bytes(b"half written")
    first = subprocess.Popen([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(world), "--workdir",
                              str(workdir), "--date", "20261128"], cwd=ROOT, env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait(lambda: (holder_of(workdir) or {}).get("pid") == first.pid, 120), "the first run took no lock"
        rc = main(["run", "--inbox", str(world), "--workdir", str(workdir), "--date", "20261128"])
        err = capsys.readouterr().err
        assert rc == 4
        assert f"进程号 {first.pid}" in err and "命令 run" in err and "开始于 20" in err and "Traceback" not in err
        # the next run removed what a killed one left (report parts first, then the audit folder's: wait for both)
        half = workdir / "audit" / ".hedui_audit.duckdb.999.tmp"
        assert _wait(lambda: not leftover.exists() and not half.exists(), 60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the killed run's holder record stays; the next writer takes it over and logs it
    assert json.loads((workdir / ".hedui-writer.lock").read_text())["pid"] == first.pid
    parts = workdir / "runs" / "20261128" / "report_parts_x1"
    parts.mkdir(parents=True)
    (parts / "names.parquet").write_bytes(b"x")
    assert main(["purge", "--workdir", str(workdir), "--today", "20261128"]) == 0
    assert not parts.exists()  # purge cleans kill leftovers too
    log = (workdir / "audit" / "audit_log.jsonl").read_text()
    assert '"lock_takeover"' in log and str(first.pid) in log


def test_personal_data_files_are_private(world_run):
    ctx, _ = world_run
    w = ctx.workdir
    must = [w / "hedui.duckdb", w / "audit" / "hedui_audit.duckdb", w / "audit" / "audit_log.jsonl",
            w / "keys.fingerprint.json", ctx.report_dir / "outcomes.csv", ctx.report_dir / "index.html"]
    must += list((ctx.run_dir / "raw").glob("*.parquet"))[:3] + list((ctx.run_dir / "staged_pre").glob("*.parquet"))[:3]
    must += list((ctx.run_dir / "staged").glob("*.parquet"))[:3] + list((ctx.report_dir / "households").glob("*"))[:3]
    assert len(must) > 12
    for p in must:
        mode = stat.S_IMODE(os.stat(p).st_mode)
        assert mode & 0o077 == 0, f"{p} is {oct(mode)}"
    for d in (w, w / "runs", ctx.run_dir / "raw", ctx.run_dir / "staged_pre", w / "reports", ctx.report_dir,
              w / "audit"):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


def test_the_workspace_waits_for_a_run_instead_of_dropping_the_request(work):
    from fastapi.testclient import TestClient

    from hedui.web import accounts
    from hedui.web.app import create_app

    accounts.add_user(work.workdir, "reader", "pw-reader-0123456", "auditor", ["360000"])
    client = TestClient(create_app(work.workdir, {"testserver"}))
    assert client.post("/login", data={"username": "reader", "password": "pw-reader-0123456", "next": "/"},
                       headers={"Origin": "http://testserver"}, follow_redirects=False).status_code == 303
    holder = subprocess.Popen([sys.executable, "-c", (
        "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); print('held', flush=True); "
        "time.sleep(3); con.close()"), str(work.database)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        resp = client.get("/review")
        assert resp.status_code == 200 and "复核" in resp.text
    finally:
        holder.wait()


# -- audit ---------------------------------------------------------------------------------------------------


def test_deleting_entries_after_the_last_publication_is_detected(work, capsys):
    assert main(["purge", "--workdir", str(work.workdir), "--today", "20261128"]) == 0  # appended after publishing
    assert main(["audit", "verify", "--workdir", str(work.workdir)]) == 0
    log = work.workdir / "audit" / "audit_log.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:-1]))
    capsys.readouterr()
    assert main(["audit", "verify", "--workdir", str(work.workdir)]) == 1
    assert "末尾被删除" in capsys.readouterr().err


def test_a_missing_auditor_database_is_an_error(work, capsys):
    (work.workdir / "audit" / "hedui_audit.duckdb").unlink()
    assert main(["audit", "verify", "--workdir", str(work.workdir)]) == 1
    assert "审计库" in capsys.readouterr().err


def test_a_decision_whose_audit_entry_fails_is_not_saved(work, capsys):
    con = duckdb.connect(str(work.database), read_only=True)
    key = con.sql("select decision_key from review_queue where status = 'pending' limit 1").fetchall()[0][0]
    n = con.sql("select count(*) from review_decisions").fetchall()[0][0]
    con.close()
    with open(work.workdir / "audit" / "audit_log.jsonl", "a") as fh:
        fh.write('{"seq": 99, "half')  # a crashed writer left the log unwritable until checked
    rc = main(["review", "confirmed", "--workdir", str(work.workdir), "--key", key, "--reason", "同名同生日"])
    assert rc == 2 and "复核决定未保存" in capsys.readouterr().err
    con = duckdb.connect(str(work.database), read_only=True)
    assert con.sql("select count(*) from review_decisions").fetchall()[0][0] == n
    con.close()


def test_the_auditor_database_holds_no_full_name(world_run):
    ctx, _ = world_run
    con = duckdb.connect(str(ctx.database), read_only=True)
    names = {r[0] for r in con.sql("select distinct trim(name) from stg_requests where length(trim(name)) >= 2"
                                   ).fetchall()}
    n_detail = con.sql("select count(*) from findings where detail_zh like '%“%”%'").fetchall()[0][0]
    con.close()
    aud = duckdb.connect(str(ctx.workdir / "audit" / "hedui_audit.duckdb"), read_only=True)
    columns = aud.sql("select table_name, column_name from duckdb_columns() where database_name = current_database() "
                      "and schema_name = 'main' and data_type = 'VARCHAR'").fetchall()
    assert ("findings", "detail_zh") in columns and n_detail > 0
    leaks = []
    for table, column in columns:
        for (value,) in aud.sql(f'select distinct "{column}" from {table} where "{column}" is not null').fetchall():
            leaks += [(table, column, v) for v in [value] if any(n in value for n in names)]
    assert leaks == []
    assert aud.sql("select count(*) from findings where detail_zh like '%*%'").fetchall()[0][0] > 0


def test_auditor_runs_have_times_and_the_catalog_is_chinese(world_run):
    ctx, _ = world_run
    aud = duckdb.connect(str(ctx.workdir / "audit" / "hedui_audit.duckdb"), read_only=True)
    started, finished = aud.sql("select started_at, finished_at from runs").fetchall()[0]
    assert started is not None and finished is not None and started < finished
    tables = {r[0] for r in aud.sql("select table_name from duckdb_tables()").fetchall()}
    described = dict(aud.sql("select table_name, description from catalog").fetchall())
    assert tables <= set(described)
    cols = aud.sql("select c.table_name, c.column_name, k.description from duckdb_columns() c left join "
                   "catalog_columns k using (table_name, column_name) where c.database_name = current_database() "
                   "and c.schema_name = 'main'").fetchall()
    cjk = [d for *_, d in cols if d and any("\u4e00" <= ch <= "\u9fff" for ch in d)]
    assert len(cjk) == len(cols) and all(any("\u4e00" <= ch <= "\u9fff" for ch in d) for d in described.values())
    assert "权重" in aud.sql("select comment from duckdb_columns() where table_name = 'evidence' "
                            "and column_name = 'match_weight'").fetchall()[0][0]


def test_an_auditor_statement_is_stopped_at_its_time_limit(world_run, capsys):
    ctx, _ = world_run
    started = time.monotonic()
    rc = main(["audit", "--workdir", str(ctx.workdir), "--timeout", "1", "-c",
               "select sum(a.range * b.range) from range(1000000) a, range(1000000) b"])
    assert rc != 0 and "超过 1 秒被中止" in capsys.readouterr().err
    assert time.monotonic() - started < 60
    rc = main(["audit", "--workdir", str(ctx.workdir), "-c",
               "select current_setting('max_temp_directory_size') as t, current_setting('memory_limit') as m"])
    assert rc == 0 and "GiB" in capsys.readouterr().out


def test_the_auditor_cli_does_not_mask_a_match_weight(world_run, capsys):
    ctx, _ = world_run
    rc = main(["audit", "--workdir", str(ctx.workdir), "-c",
               "select 123456789012.25::double as match_weight, 123456789012345 as n_rows, "
               "'账号 6222020200112233445' as detail_zh"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "123456789012.25" in out and "123456789012345" in out  # numbers are never IDs
    assert "6222020200112233445" not in out and "****3445" in out  # free text still masked


def test_the_writer_lock_is_reentrant_in_a_thread_and_exclusive_across_threads(tmp_path):
    import threading

    from hedui.workdir import WorkdirBusyError, holder_of, writer_lock

    seen = []
    with writer_lock(tmp_path, "run", run_date="20261128") as holder:
        with writer_lock(tmp_path, "load"):
            assert holder_of(tmp_path)["command"] == "run"

        def other():
            try:
                with writer_lock(tmp_path, "review decision"):
                    seen.append("entered")
            except WorkdirBusyError as exc:
                seen.append(str(exc))

        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert f"进程号 {holder['pid']}" in seen[0] and "批次日期 20261128" in seen[0]
    assert holder_of(tmp_path) is None
    assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o700


def test_the_dags_ingest_tasks_share_the_lock_with_each_other_and_never_run_beside_a_writer(tmp_path):
    """The nightly DAG's per-source ingest tasks hold the writer lock shared: two of them side by side,
    but a `hedui run` of the same folder is refused while they run, and they are refused while it runs."""
    import threading

    from hedui.workdir import WorkdirBusyError, shared_writer_lock, writer_lock

    seen = []

    def try_lock(lock, *args):
        try:
            with lock(tmp_path, *args):
                seen.append("entered")
        except WorkdirBusyError as exc:
            seen.append(str(exc))

    with shared_writer_lock(tmp_path, "ingest tax"):
        with shared_writer_lock(tmp_path, "ingest bank"):  # side by side
            t = threading.Thread(target=try_lock, args=(writer_lock, "run"))
            t.start()
            t.join()
    assert seen[0].startswith(f"工作目录 {tmp_path} 正在被另一个进程写入") and "ingest" in seen[0]
    with writer_lock(tmp_path, "run", run_date="20261128") as holder:
        t = threading.Thread(target=try_lock, args=(shared_writer_lock, "ingest tax"))
        t.start()
        t.join()
    assert f"进程号 {holder['pid']}" in seen[1] and "批次日期 20261128" in seen[1]
    try_lock(writer_lock, "run")  # all released
    assert seen[2] == "entered"
    dag = (ROOT / "dags" / "hedui_nightly.py").read_text(encoding="utf-8")
    assert 'shared_writer_lock(ctx.workdir, f"ingest {source}")' in dag


def test_a_decision_made_while_a_run_holds_the_folder_is_refused_with_the_holder(work, capsys):
    con = duckdb.connect(str(work.database), read_only=True)
    key = con.sql("select decision_key from review_queue where status = 'pending' limit 1").fetchall()[0][0]
    n = con.sql("select count(*) from review_decisions").fetchall()[0][0]
    con.close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from hedui.workdir import writer_lock\n"
        "with writer_lock(sys.argv[1], 'run', run_date='20261128'):\n"
        "    print('held', flush=True); time.sleep(30)"), str(work.workdir)], cwd=ROOT, stdout=subprocess.PIPE,
        text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        rc = main(["review", "confirmed", "--workdir", str(work.workdir), "--date", work.run_date, "--key", key,
                   "--reason", "同名同生日"])
        err = capsys.readouterr().err
        assert rc == 4 and f"进程号 {holder.pid}" in err and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    con = duckdb.connect(str(work.database), read_only=True)
    assert con.sql("select count(*) from review_decisions").fetchall()[0][0] == n
    con.close()
