"""Shards: N = 4 gives what N = 1 gives (tables, report pages, the auditor database); the DAG maps a task per shard;
a bad shard count is refused before anything is created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import ROOT, RUN_DATE

#: columns that say when, not what: they differ between any two runs of the same date
_HASH_COLUMNS = {"hash", "prev_hash", "audit_log_hash"}


def _table(path: Path, table: str, workdir: Path) -> list[str]:
    """The rows of `table` as sorted text, without timestamps or hash-chain columns, the workdir path replaced."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = [name for name, type_, *_ in con.sql(f"describe {table}").fetchall()
                if "TIME ZONE" not in type_ and name not in _HASH_COLUMNS]
        rows = con.sql(f"select {', '.join(cols)} from {table}").fetchall()
    finally:
        con.close()
    return sorted(repr(r).replace(str(workdir), "<workdir>") for r in rows)


def _tables(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sorted(t for (t,) in con.sql("select table_name from duckdb_tables() where not temporary").fetchall())
    finally:
        con.close()


def _result_tables() -> list[str]:
    from hedui.steps.shard import LINK_TABLES, assess_tables

    return [*LINK_TABLES, *assess_tables(), "query_ledger"]


def _report_files(report_dir: Path) -> dict[str, bytes]:
    """Every file of a run's report folder but GX's Data Docs (validation times) and the CLI's run summary."""
    return {str(p.relative_to(report_dir)): p.read_bytes() for p in sorted(report_dir.rglob("*"))
            if p.is_file() and p.parts[len(report_dir.parts)] != "datadocs" and p.name != "run_summary.json"}


def _run_apart(world, folder: Path, shards: int):
    """A run of its own, outside any Airflow task context an earlier test's `dag.test` left in os.environ
    (it would name the audit log's actor) — the shared `world_run` is also touched by other tests (PDFs)."""
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(world, folder, RUN_DATE)
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("AIRFLOW_CTX_")]:
            mp.delenv(name)
        run(ctx, shards=shards)
    return ctx


@pytest.fixture(scope="module")
def four_shards(world, tmp_path_factory):
    return _run_apart(world, tmp_path_factory.mktemp("work4"), 4)


@pytest.fixture(scope="module")
def one_shard(world, tmp_path_factory):
    return _run_apart(world, tmp_path_factory.mktemp("work1"), 1)


def test_the_shard_of_a_household_is_keyed_stable_and_spreads(world_run):
    from hedui.privacy.keys import Keys, load_keys
    from hedui.steps.shard import shard_of

    ctx, _ = world_run
    con = duckdb.connect(str(ctx.database), read_only=True)
    ids = [r for (r,) in con.sql("select request_id from outcomes where run_date = ? order by 1",
                                 params=[RUN_DATE]).fetchall()]
    con.close()
    keys = load_keys()
    shards = shard_of(keys, ids, 4)
    assert shards == shard_of(keys, list(reversed(ids)), 4)[::-1]  # per household, whatever the order
    assert sorted(set(shards)) == [0, 1, 2, 3] and min(shards.count(i) for i in range(4)) >= 5
    other = Keys(b"\x01" * 32, keys.data_key)
    assert shard_of(other, ids, 4) != shards  # another key, another split


def test_four_shards_give_the_tables_of_one(one_shard, four_shards):
    one = one_shard
    for table in _result_tables():
        assert _table(four_shards.database, table, four_shards.workdir) == _table(one.database, table, one.workdir), \
            table
    con = duckdb.connect(str(four_shards.database), read_only=True)
    assert con.sql("select count(*) from shard_plan_pairs").fetchall()[0][0] == 0  # the plan is emptied
    assert con.sql("select count(*) from links where method = 'probabilistic'").fetchall()[0][0] > 0
    con.close()
    assert not (four_shards.run_dir / "shards").exists()  # the shard copies are gone after the merge


def test_four_shards_give_the_report_pages_of_one_byte_for_byte(one_shard, four_shards):
    one = one_shard
    mine, theirs = _report_files(four_shards.report_dir), _report_files(one.report_dir)
    assert sorted(mine) == sorted(theirs) and len([k for k in mine if k.startswith("households/")]) == 60
    assert [k for k in mine if mine[k] != theirs[k]] == []


def test_four_shards_give_the_auditor_database_of_one(one_shard, four_shards):
    from hedui.audit.auditor import default_audit_db

    one = one_shard
    a, b = default_audit_db(four_shards.workdir), default_audit_db(one.workdir)
    assert _tables(a) == _tables(b)
    for table in _tables(a):
        assert _table(a, table, four_shards.workdir) == _table(b, table, one.workdir), table


@pytest.mark.parametrize("value", ["0", "257"])
def test_a_bad_shard_count_exits_2_in_chinese_and_creates_nothing(world, tmp_path, value):
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(world), "--date", RUN_DATE,
                           "--workdir", str(work), "--shards", value], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "分片数应为 1 到 256" in proc.stderr and "Traceback" not in proc.stderr
    assert not work.exists()


def test_a_bad_hedui_shards_exits_2_and_creates_nothing(world, tmp_path):
    work = tmp_path / "work"
    proc = subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(world), "--date", RUN_DATE,
                           "--workdir", str(work)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "HEDUI_SHARDS": "2.5"})
    assert proc.returncode == 2 and "HEDUI_SHARDS" in proc.stderr and not work.exists()


def test_the_nightly_dag_with_two_shards_maps_a_task_per_shard_and_gives_the_outcomes_of_one(
        airflow_db, world, world_run, tmp_path):
    from test_dag import MIDNIGHT_SHANGHAI, _bag, _states

    one, _ = world_run
    dag = _bag().dags["hedui_nightly"]
    dagrun = dag.test(logical_date=MIDNIGHT_SHANGHAI,
                      run_conf={"inbox": str(world), "workdir": str(tmp_path), "shards": 2})
    states = _states(dagrun)
    assert "success" in str(dagrun.state), states
    assert {k: v for k, v in states.items() if k.startswith("shard_")} == {
        "shard_plan": "success", "shard_work[0]": "success", "shard_work[1]": "success", "shard_merge": "success"}
    assert {states[t] for t in ("link", "assess", "report")} == {"skipped"}
    assert states["publish"] == states["summarize"] == "success"
    report = tmp_path / "reports" / RUN_DATE
    assert (report / "outcomes.csv").read_bytes() == (one.report_dir / "outcomes.csv").read_bytes()
    summary = json.loads((report / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["households"] == 60 and "shard_merge" in json.dumps(summary)
    for table in ("links", "findings", "outcomes"):
        assert _table(tmp_path / "hedui.duckdb", table, tmp_path) == _table(one.database, table, one.workdir)
