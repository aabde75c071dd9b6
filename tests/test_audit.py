"""The audit log, the query ledger, the auditor database, `hedui audit` and the personal-data scan."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil

import duckdb
import pytest

from hedui import db
from hedui.audit.auditor import default_audit_db, default_log_path, open_auditor
from hedui.audit.cli import add_audit_commands
from hedui.audit.ledger import AuthorizationError, check_authorization_gate, write_query_ledger
from hedui.audit.log import AuditError, AuditLog, entry_hash, mask_free_text
from hedui.privacy.keys import Keys
from hedui.privacy.scan import scan_for_personal_data
from hedui.steps.publish import _guard_unmasked, publish_audit_db

RUN_DATE = "20261128"  # the world's date (conftest)
ID_A = "36010219900307123X"
ACCOUNT = "6222021234567890123"


def keys() -> Keys:
    return Keys(b"\x01" * 32, b"\x02" * 32)


# -- the hash-chained log ----------------------------------------------------------------------


@pytest.fixture
def audit_log(tmp_path) -> AuditLog:
    log = AuditLog(tmp_path / "audit" / "audit_log.jsonl")
    for i, action in enumerate(("run", "report_render", "export", "review_decision", "purge"), 1):
        log.append(actor="tester", action=action, subject=f"20261128 #{i}", details={"n": i})
    return log


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(lines), encoding="utf-8")


def test_an_untouched_log_verifies_and_entries_chain(audit_log):
    assert audit_log.verify() == []
    entries = audit_log.entries()
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
    assert audit_log.head() == (5, entries[-1]["hash"])


def test_verify_catches_a_changed_entry(audit_log):
    lines = _lines(audit_log)
    lines[2] = lines[2].replace('"n":3', '"n":4')
    _write(audit_log, lines)
    first = audit_log.verify()[0]
    assert (first.kind, first.seq, first.line) == ("changed", 3, 3)


def test_verify_catches_a_changed_entry_whose_hash_was_recomputed(audit_log):
    lines = _lines(audit_log)
    e = json.loads(lines[1])
    e["subject"] = "something else"
    e["hash"] = entry_hash(e)
    lines[1] = json.dumps(e, ensure_ascii=False) + "\n"
    _write(audit_log, lines)
    first = audit_log.verify()[0]
    assert (first.kind, first.seq) == ("changed", 2)


def test_verify_catches_a_removed_entry(audit_log):
    lines = _lines(audit_log)
    del lines[2]
    _write(audit_log, lines)
    problems = audit_log.verify()
    assert [(p.kind, p.seq) for p in problems] == [("removed", 3)]
    assert "第 3 条记录被删除" in str(problems[0])


def test_verify_catches_swapped_entries(audit_log):
    lines = _lines(audit_log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(audit_log, lines)
    first = audit_log.verify()[0]
    assert first.kind == "reordered" and first.line == 2 and "调换" in str(first)


def test_verify_catches_removed_last_entries_through_an_anchor(audit_log):
    anchor = audit_log.head()
    _write(audit_log, _lines(audit_log)[:-2])
    assert audit_log.verify(check_head=False) == []  # a chain alone cannot see a cut tail
    assert [p.kind for p in audit_log.verify([anchor], check_head=False)] == ["truncated"]
    assert [p.kind for p in audit_log.verify()] == ["truncated"]  # the keyed head anchor sees it


def test_verify_catches_a_malformed_line_and_appending_after_it_is_refused(audit_log):
    lines = _lines(audit_log)
    lines[3] = "{not json\n"
    _write(audit_log, lines)
    assert "malformed" in [p.kind for p in audit_log.verify()]
    _write(audit_log, lines[:-1] + ['{"seq": 5, "half'])
    with pytest.raises(AuditError, match="不完整"):
        audit_log.append(actor="x", action="run", subject="y")


def test_subjects_and_details_are_masked(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    log.append(actor="t", action="export", subject=f"导出 {ID_A}", details={"ids": [ID_A], "acct": f"账号{ACCOUNT}"})
    text = log.path.read_text(encoding="utf-8")
    assert ID_A not in text and ACCOUNT not in text and "360102********123X" in text and "****0123" in text


def _append_many(path: str, worker: int) -> None:
    log = AuditLog(path)
    for i in range(20):
        log.append(actor=f"worker{worker}", action="run", subject=str(i))


def test_parallel_appends_from_several_processes_keep_the_chain(tmp_path):
    path = str(tmp_path / "audit.jsonl")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(path)
    assert log.verify() == [] and [e["seq"] for e in log.entries()] == list(range(1, 81))


def test_free_text_masking_keeps_request_ids_and_masks_ids_and_accounts():
    text = f"委托 WT202611280000001：成员 {ID_A}、{ID_A[:6]}{ID_A[8:17]} 账号 {ACCOUNT}"
    masked = mask_free_text(text)
    assert "WT202611280000001" in masked and ID_A not in masked and ACCOUNT not in masked
    assert "360102********123X" in masked and "****0123" in masked


# -- the auditor connection ----------------------------------------------------------------------


@pytest.fixture
def auditor_db(tmp_path):
    path = tmp_path / "audit.duckdb"
    con = duckdb.connect(str(path))
    con.sql("create table outcomes as select 'WT1' as request_id, 'CLEAR' as outcome")
    con.close()
    duckdb.sql(f"copy (select 1 as x) to '{tmp_path / 'other.parquet'}' (format parquet)")
    (tmp_path / "other.duckdb").write_bytes(b"")
    return path


@pytest.mark.parametrize("sql", [
    "insert into outcomes values ('WT2', 'FINDINGS')",
    "update outcomes set outcome = 'FINDINGS'",
    "delete from outcomes",
    "create table evil (x int)",
    "drop table outcomes",
])
def test_an_auditor_connection_cannot_write(auditor_db, sql):
    con = open_auditor(auditor_db)
    with pytest.raises(duckdb.Error, match="read-only"):
        con.sql(sql)
    assert con.sql("select count(*) from outcomes").fetchall() == [(1,)]


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/hostname')",
    "select * from read_parquet('{dir}/other.parquet')",
    "select * from glob('{dir}/*')",
    "copy outcomes to '{dir}/leak.csv'",
    "attach '{dir}/other.duckdb' as other",
    "install httpfs",
    "load httpfs",
])
def test_an_auditor_connection_cannot_touch_other_files(auditor_db, sql):
    con = open_auditor(auditor_db)
    with pytest.raises(duckdb.Error):
        con.sql(sql.format(dir=auditor_db.parent))
    assert not (auditor_db.parent / "leak.csv").exists()


@pytest.mark.parametrize("sql", [
    "set enable_external_access = true",
    "set lock_configuration = false",
    "reset lock_configuration",
    "set threads = 1",
    "pragma memory_limit = '100GB'",
    "attach ':memory:' as scratch",
])
def test_an_auditor_connection_cannot_change_settings_or_attach(auditor_db, sql):
    con = open_auditor(auditor_db)
    with pytest.raises(duckdb.Error):
        con.sql(sql)
    assert con.sql("select current_setting('enable_external_access'), "
                   "current_setting('lock_configuration')").fetchall() == [(False, True)]


def test_opening_a_missing_auditor_database_says_what_to_do(tmp_path):
    with pytest.raises(AuditError, match="请先完成一次核对批次"):
        open_auditor(tmp_path / "none.duckdb")


# -- query ledger, gate, publication (on a copy of the 60-household world run) --------------------


@pytest.fixture
def work_copy(world_run, tmp_path):
    ctx, _ = world_run
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(ctx.database, workdir / "hedui.duckdb")
    return workdir, ctx.run_date


@pytest.fixture(scope="session")
def world_values(world, tmp_path_factory) -> tuple[set[str], set[str]]:
    """Every ID number (as delivered and normalized) and account number the world's deliveries hold."""
    from connectors import list_sources, load_map, read_delivery

    out = tmp_path_factory.mktemp("raw")
    con = db.connect()
    ids, accounts = set(), set()
    for source in list_sources():
        smap = load_map(source)
        raw = out / f"{source}.parquet"
        read_delivery(smap, world / source / RUN_DATE, world, raw, RUN_DATE)
        if not raw.exists():
            continue
        for c in smap.columns:
            if c.type == "id":
                ids |= {v for (v,) in con.execute(
                    f"select distinct unnest([trim({c.column}), hd_id_norm({c.column})]) from read_parquet(?)",
                    [str(raw)]).fetchall() if v and len(v) >= 15}
            elif c.type == "account":
                accounts |= {v for (v,) in con.execute(
                    f"select distinct trim({c.column}) from read_parquet(?)", [str(raw)]).fetchall() if v and len(v) >= 8}
    con.close()
    assert scan_for_personal_data([out / "bank.parquet"], ids, accounts)  # the values are real: found in the raw rows
    return ids, accounts


def test_the_query_ledger_has_one_row_per_authorized_member_with_the_delivered_sources(work_copy):
    workdir, run_date = work_copy
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    n = write_query_ledger(con, run_date, run_id="manual__1")
    members, sources = con.sql(
        "select (select count(*) from stg_requests where run_date = $d and nullif(trim(authorization_no), '') "
        "is not null), (select list(source order by source) from source_status where run_date = $d "
        "and source <> 'requests' and status <> 'missing')", params={"d": run_date}).fetchall()[0]
    assert n == members > 0 and len(sources) > 1
    assert con.sql("select distinct sources from query_ledger").fetchall() == [(sources,)]
    unauthorized = con.sql("select count(*) from query_ledger q join stg_requests r "
                           "on r.record_id = q.member_record_id where nullif(trim(r.authorization_no), '') is null"
                           ).fetchall()[0][0]
    assert unauthorized == 0
    assert write_query_ledger(con, run_date) == n  # replaced, not appended
    assert con.sql("select count(*), count(distinct run_id) from query_ledger").fetchall() == [(n, 1)]


def test_the_authorization_gate_passes_a_run_and_stops_a_link_to_an_unauthorized_member(work_copy):
    workdir, run_date = work_copy
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    check_authorization_gate(con, run_date)
    con.execute("insert into links select run_date, 'vehicle', 'vehicle:x:1', request_id, id_norm, 'exact_id', "
                "null, true from stg_requests where run_date = ? and nullif(trim(authorization_no), '') is null "
                "and id_norm is not null limit 1", [run_date])
    with pytest.raises(AuthorizationError, match="未签署授权书"):
        check_authorization_gate(con, run_date)


def test_the_auditor_database_holds_only_masked_or_pseudonymized_data(work_copy, world_values):
    workdir, run_date = work_copy
    database = workdir / "hedui.duckdb"
    con = duckdb.connect(str(database))
    write_query_ledger(con, run_date)
    con.sql("drop view if exists latest_decisions")
    con.sql("drop table if exists review_decisions")
    con.sql("create table review_decisions as select run_date, request_id, id_norm as member_id, id_number, "
            "'confirmed' as decision, 'FINDINGS' as outcome_before, 'CLEAR' as outcome_after, "
            "'复核：' || id_number || ' 已核实' as note_zh from stg_requests where run_date = '" + run_date + "' limit 3")
    con.close()
    log = AuditLog(default_log_path(workdir))
    log.append(actor="airflow:hedui_nightly", action="run", subject=run_date)
    out = publish_audit_db(database, default_audit_db(workdir), run_date, code_version="v-test",
                           audit_log=log, keys=keys())
    assert out["tables"]["members"] > 0 and out["tables"]["query_ledger"] > 0 and out["tables"]["access_log"] == 1
    ids, accounts = world_values
    assert len(ids) > 400 and len(accounts) > 400
    assert scan_for_personal_data([default_audit_db(workdir)], ids, accounts) == []

    con = open_auditor(default_audit_db(workdir))
    for table in ("members", "findings", "evidence", "query_ledger", "review_decisions"):
        bad = con.sql(f"select count(*) from {table} where member_pseudonym not like 'p1:%' "
                      f"and member_pseudonym is not null" if table != "review_decisions" else
                      "select count(*) from review_decisions where member_id not like 'p1:%'").fetchall()[0][0]
        assert bad == 0, table
    assert "id_number" not in [r[0] for r in con.sql("describe review_decisions").fetchall()]
    assert con.sql("select code_version, policy_versions, audit_log_seq from runs").fetchall() == [
        ("v-test", ["JX-DEMO-2026"], 1)]
    # every record-level finding cites its file and row (household-level ones — income, assets — cite `evidence`)
    assert con.sql("select count(*) from findings where record_id is not null and (file_name is null "
                   "or row_no is null or delivery_date is null)").fetchall() == [(0,)]
    assert con.sql("select count(*) from input_files where length(sha256) = 64").fetchall()[0][0] > 0
    con.close()


def test_republishing_a_date_replaces_the_auditor_database(work_copy):
    workdir, run_date = work_copy
    target = default_audit_db(workdir)
    for _ in range(2):
        publish_audit_db(workdir / "hedui.duckdb", target, run_date, code_version="v", keys=keys())
    con = open_auditor(target)
    assert con.sql("select count(*) from runs").fetchall() == [(1,)]
    assert not list(target.parent.glob(".*.tmp*"))


def test_publication_refuses_an_unmasked_id_number(work_copy):
    workdir, run_date = work_copy
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    con.sql(db.sql_text("publish/schema.sql"))
    runs_before = con.sql("select * from audit_runs order by all").fetchall()
    con.sql(f"update households set policy_source_zh = '{ID_A}' where run_date = '{run_date}'")
    con.close()
    with pytest.raises(AuditError, match=r"households\.policy_source_zh"):
        publish_audit_db(workdir / "hedui.duckdb", default_audit_db(workdir), run_date, keys=keys())
    assert not default_audit_db(workdir).exists() and not list(default_audit_db(workdir).parent.glob("*.duckdb*"))
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    assert con.sql("select * from audit_runs order by all").fetchall() == runs_before  # as before the attempt


def test_the_unmasked_id_guard_counts_rows_whether_it_reads_values_or_rows(tmp_path):
    # a repeated text is checked once per value, a record ID once per row: either way the rows are counted
    con = duckdb.connect()
    con.sql(f"attach '{tmp_path / 'a.duckdb'}' as auditor")
    con.sql("create table auditor.t (run_date varchar, record_id varchar, detail_zh varchar)")
    con.executemany("insert into auditor.t values (?, ?, ?)",
                    [("1", f"tax:f.csv:{i}", f"见 {ID_A} 号") for i in range(3)] + [("2", "tax:f.csv:9", "无")])
    with pytest.raises(AuditError, match=r"t\.detail_zh 中有 3 个"):
        _guard_unmasked(con)
    _guard_unmasked(con, {"t": "2"})  # the other run date's rows only
    con.sql(f"update auditor.t set detail_zh = '无', record_id = 'x:{ID_A}' where run_date = '1'")
    with pytest.raises(AuditError, match=r"t\.record_id 中有 3 个"):
        _guard_unmasked(con)


# -- `hedui audit` ---------------------------------------------------------------------------------


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hedui")
    add_audit_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_hedui_audit_runs_sql_and_masks_its_output(auditor_db, capsys):
    assert _cli("audit", "--db", str(auditor_db), "-c",
                f"select outcome, '{ID_A}' as id, '{ACCOUNT}' as acct from outcomes") == 0
    out = capsys.readouterr().out
    assert "CLEAR" in out and ID_A not in out and ACCOUNT not in out and "360102********123X" in out


def test_hedui_audit_reads_statements_from_stdin(auditor_db, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("select count(*) as n\nfrom outcomes;\nselect 'x' as y;\n"))
    assert _cli("audit", "--db", str(auditor_db), "--csv") == 0
    assert capsys.readouterr().out.splitlines() == ["n", "1", "y", "x"]


def test_hedui_audit_refuses_to_read_files(auditor_db):
    with pytest.raises(AuditError, match="审计库不能读写其他文件"):
        _cli("audit", "--db", str(auditor_db), "-c", "select * from read_csv('/etc/passwd')")


def test_hedui_audit_verify_names_the_first_bad_entry(audit_log, capsys):
    workdir = audit_log.path.parent.parent
    assert _cli("audit", "verify", "--log", str(audit_log.path)) == 0
    assert "完整" in capsys.readouterr().out
    # the log records a published run: without its auditor database the anchors cannot be checked
    assert _cli("audit", "verify", "--workdir", str(workdir)) == 1
    assert "审计库" in capsys.readouterr().err
    lines = _lines(audit_log)
    lines[1], lines[3] = lines[3], lines[1]
    _write(audit_log, lines)
    assert _cli("audit", "verify", "--log", str(audit_log.path)) == 1
    assert "第 4 条记录（第 2 行）" in capsys.readouterr().err


# -- the personal-data scan ---------------------------------------------------------------------------


def test_scan_finds_full_ids_and_accounts_in_text_databases_and_parquet(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text(
        f"<p>360102********123X</p>\n<p>ok</p>\n<td>{ID_A.lower()}</td>\n", encoding="utf-8")
    (tmp_path / "out" / "export.csv").write_text(f"a,b\n1,账号{ACCOUNT}\n", encoding="utf-8")
    (tmp_path / "out" / "clean.log").write_text("INFO 360102********123X ****0123\n", encoding="utf-8")
    con = duckdb.connect(str(tmp_path / "out" / "x.duckdb"))
    con.sql(f"create table t as select 'WT1' as request_id, 'id={ID_A}' as note")
    con.sql(f"copy (select '{ACCOUNT}' as acct) to '{tmp_path / 'out' / 'y.parquet'}' (format parquet)")
    con.close()
    hits = scan_for_personal_data([tmp_path / "out"], [ID_A], [ACCOUNT])
    found = {(p.rsplit("/", 1)[-1], where) for p, where in hits}
    assert found == {("report.html", 3), ("export.csv", 2), ("x.duckdb", "t.note"), ("y.parquet", "acct")}


def test_scan_of_masked_outputs_finds_nothing(tmp_path):
    (tmp_path / "a.txt").write_text(mask_free_text(f"{ID_A} {ACCOUNT}"), encoding="utf-8")
    assert scan_for_personal_data([tmp_path], [ID_A], [ACCOUNT]) == []


def test_every_query_in_the_auditors_guide_runs_on_a_published_database(work_copy):
    import re
    from pathlib import Path

    workdir, run_date = work_copy
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    write_query_ledger(con, run_date)
    con.close()
    publish_audit_db(workdir / "hedui.duckdb", default_audit_db(workdir), run_date, keys=keys())
    guide = (Path(__file__).resolve().parent.parent / "docs" / "auditors.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", guide, flags=re.S)
    assert len(blocks) >= 7
    con = open_auditor(default_audit_db(workdir))
    results = {}
    for block in blocks:
        for stmt in con.extract_statements(block):
            results[stmt.query.strip()[:40]] = con.sql(stmt.query).fetchall()
    assert results["select count(*) as lookups_without_autho"] == [(0,)]
    assert any(rows for key, rows in results.items() if key.startswith("select m.request_id, h.program"))
