"""A generated world run end to end: every household's outcome equals the generator's truth."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
from conftest import RUN_DATE


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return {r["request_id"]: r for r in csv.DictReader(fh)}


def test_every_household_outcome_and_codes_equal_the_truth(world, world_run):
    ctx, _ = world_run
    truth = _read(world / "truth.csv")
    got = _read(ctx.report_dir / "outcomes.csv")
    assert set(got) == set(truth)
    wrong = {
        rid: (t["scenario"], f"{t['outcome']}/{t['findings']}", f"{got[rid]['outcome']}/{got[rid]['findings']}")
        for rid, t in truth.items()
        if (t["outcome"], t["findings"]) != (got[rid]["outcome"], got[rid]["findings"])
    }
    assert not wrong, wrong


def test_every_scenario_is_exercised(world):
    scenarios = {r["scenario"] for r in _read(world / "truth.csv").values()}
    outcomes = {r["outcome"] for r in _read(world / "truth.csv").values()}
    assert {"clean", "vehicle", "no_authorization", "trap_namesake"} <= scenarios
    assert outcomes == {"CLEAR", "FINDINGS", "INCOMPLETE"}


def test_reconciliation_accounts_for_every_delivered_row(world_run):
    ctx, _ = world_run
    with open(ctx.report_dir / "reconciliation.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        assert int(r["rows_delivered"]) == int(r["rows_staged"]) + int(r["rows_quarantined"]), r
    assert {r["source"] for r in rows} >= {"requests", "vehicle", "bank", "tax"}


def test_one_household_report_per_request_with_masked_ids(world_run):
    ctx, _ = world_run
    pages = list((ctx.report_dir / "households").glob("*.html"))
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        assert len(pages) == sum(1 for _ in fh) - 1
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "家庭经济状况核对报告" in text
    assert re.search(r"36\d{4}\*{8}\d{3}[\dX]", text)  # IDs shown as first 6 + last 4
    assert "p1:" not in text and "a1:" not in text  # neither pseudonyms nor ciphertext leak into pages


def _personal_values(run_dir):
    """Every full ID number (normalized) and account number the run was delivered."""
    from connectors import load_map
    from matching.idnum import normalize_id

    ids, accounts = set(), set()
    for raw in (run_dir / "raw").glob("*.parquet"):
        smap = load_map(raw.stem)
        table = pq.read_table(raw)
        for c in smap.columns:
            if c.type not in ("id", "account"):
                continue
            for v in table.column(c.column).to_pylist():
                if v is None:
                    continue
                if c.type == "id":
                    norm, _ = normalize_id(v)
                    if norm:
                        ids.add(norm)
                elif len(v.strip()) >= 8:
                    accounts.add(v.strip())
    return ids, accounts


def test_no_output_of_a_full_run_shows_a_full_id_or_account_number(world, tmp_path):
    """`hedui -v run` as staff and operators run it: reports, CSVs, audit files, both databases, the log."""
    from hedui.privacy.scan import scan_for_personal_data

    work = tmp_path / "work"
    env = {**os.environ, "HEDUI_REPORT_PDF": "all"}
    proc = subprocess.run([sys.executable, "-m", "hedui.cli", "-v", "run", "--inbox", str(world), "--date",
                           RUN_DATE, "--workdir", str(work)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = tmp_path / "run.log"
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    ids, accounts = _personal_values(work / "runs" / RUN_DATE)
    assert len(ids) > 100 and len(accounts) > 50
    outputs = [work / "reports", work / "audit", work / "hedui.duckdb", log]
    assert list((work / "reports" / RUN_DATE / "households").glob("*.pdf"))
    assert scan_for_personal_data(outputs, ids, accounts) == []


def test_rerunning_a_date_replaces_its_outputs(world_run):
    from hedui.pipeline import assess, link, load

    ctx, _ = world_run
    con = duckdb.connect(str(ctx.database), read_only=True)
    before = con.sql("select count(*) from links").fetchall()[0][0]
    con.close()
    load(ctx)
    link(ctx)
    assess(ctx)
    con = duckdb.connect(str(ctx.database), read_only=True)
    assert con.sql("select count(*) from links").fetchall()[0][0] == before
    assert con.sql("select count(*) from outcomes").fetchall()[0][0] == \
        con.sql("select count(distinct request_id) from stg_requests").fetchall()[0][0]
    con.close()
