"""Safe re-runs: `hedui run` SIGKILLed at several steps, then re-run, ends exactly like an uninterrupted run.

The kills come from the documented test hook HEDUI_TEST_KILL_AT (hedui/killpoint.py): the run
SIGKILLs its own process group (itself, ingest workers, page renderers) at the named point, as an
out-of-memory kill or a power cut would.  The chain: killed after `load` → re-run killed inside the
`link` transaction → re-run killed in `report` after the page data were exported → re-run killed in
`publish` with the auditor database written apart, not yet swapped in → a re-run that completes.  Its
outcomes, findings, report files, CSVs and auditor database are compared with the uninterrupted run of the
same world (conftest's `world_run`).  (An incremental publication killed before its swap:
tests/test_publish.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import RUN_DATE

pytestmark = pytest.mark.ops

KILLS = ("after:load", "link", "report", "publish")


NOT_COMPARED = {"publication", "access_log", "access_log_check", "audit_anchors", "runs"}  # times, log entries


VOLATILE = {"published_at", "checked_at", "anchored_at", "queried_at"}  # when, not what


def _hedui_run(inbox: Path, workdir: Path, kill_at: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HEDUI_TEST_KILL_AT"}
    if kill_at:
        env["HEDUI_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(inbox), "--date", RUN_DATE,
                           "--workdir", str(workdir)], env=env, capture_output=True, text=True, timeout=600,
                          start_new_session=True)  # the hook kills its own process group, never pytest's


def _tables(database: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {
            "outcomes": con.sql("select request_id, outcome, findings from outcomes where run_date = ? "
                                "order by all", params=[RUN_DATE]).fetchall(),
            "findings": con.sql("select * exclude (run_date) from findings where run_date = ? order by all",
                                params=[RUN_DATE]).fetchall(),
            "figures": con.sql("select * exclude (run_date) from figures where run_date = ? order by all",
                               params=[RUN_DATE]).fetchall(),
            "reconciliation": con.sql("select * exclude (run_date) from reconciliation where run_date = ? "
                                      "order by all", params=[RUN_DATE]).fetchall(),
            "quarantine_rows": con.sql("select source, count(*) from quarantine where run_date = ? group by all "
                                       "order by all", params=[RUN_DATE]).fetchall(),
        }
    finally:
        con.close()


def _auditor(workdir: Path) -> dict[str, list[tuple]]:
    """The auditor database's tables (every row, in order) but those that record times and log entries."""
    from hedui.audit.auditor import default_audit_db, open_auditor

    con = open_auditor(default_audit_db(workdir))
    try:
        out = {}
        for (table,) in con.sql("select table_name from duckdb_tables() order by 1").fetchall():
            if table in NOT_COMPARED:
                continue
            cols = [r[0] for r in con.sql(f"describe {table}").fetchall() if r[0] not in VOLATILE]
            rows = con.sql("select " + ", ".join(f'"{c}"' for c in cols) + f" from {table} order by all").fetchall()
            out[table] = [tuple(map(str, r)) for r in rows]
        out["runs"] = con.sql("select run_date, run_id, n_households, n_clear, n_findings, n_incomplete "
                              "from runs").fetchall()
        return out
    finally:
        con.close()


def _report_files(report_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(report_dir)) for p in report_dir.rglob("*")
                  if p.is_file() and "datadocs" not in p.parts
                  and p.name != "run_summary.json")  # written by the CLI (times per step), not by pipeline.run


def test_a_run_killed_at_any_step_and_re_run_equals_an_uninterrupted_run(world, world_run, tmp_path):
    reference_ctx, _ = world_run
    workdir = tmp_path / "work"

    for point in KILLS:
        proc = _hedui_run(world, workdir, point)
        assert proc.returncode == -signal.SIGKILL, (
            f"the run was not killed at {point} (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
        if point == "report":  # killed mid-step: the page data were exported, the pages not yet written
            assert list((workdir / "runs" / RUN_DATE).glob("report_parts_*"))
        if point == "publish":  # the auditor database written apart, never swapped in
            assert list((workdir / "audit").glob(".*.tmp")) and not (workdir / "audit" / "hedui_audit.duckdb").exists()
    assert (workdir / "reports" / RUN_DATE / "outcomes.csv").exists()  # `report` finished before `publish`

    proc = _hedui_run(world, workdir, None)
    assert proc.returncode == 0, f"the re-run after the kills failed:\n{proc.stdout}\n{proc.stderr[-5000:]}"
    assert not list((workdir / "runs" / RUN_DATE).glob("report_parts_*")), "the killed run's leftovers remain"
    assert not list((workdir / "audit").glob(".*.tmp*")), "the killed publication's copy remains"

    got, want = _tables(workdir / "hedui.duckdb"), _tables(reference_ctx.database)
    assert want["outcomes"], "the reference run has no outcomes"
    for table in want:
        assert got[table] == want[table], f"{table} differ after kill and re-run"
    report, reference = workdir / "reports" / RUN_DATE, reference_ctx.report_dir
    assert _report_files(report) == _report_files(reference)
    for name in ("outcomes.csv", "reconciliation.csv", "alerts.csv"):
        assert (report / name).read_bytes() == (reference / name).read_bytes(), name
    want_auditor = _auditor(reference_ctx.workdir)
    assert want_auditor["outcomes"] and want_auditor["query_ledger"]
    assert _auditor(workdir) == want_auditor
