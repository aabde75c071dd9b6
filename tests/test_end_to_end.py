"""A generated world run end to end: every household's outcome equals the generator's truth."""

from __future__ import annotations

import csv

import duckdb


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
    con = duckdb.connect(str(ctx.database), read_only=True)
    ids = [r[0] for r in con.sql("select id_norm from stg_requests where id_norm is not null").fetchall()]
    con.close()
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "家庭经济状况核对报告" in text
    leaked = [i for i in ids if i in text]
    assert not leaked, f"{len(leaked)} full ID numbers in reports"
    assert ids[0][:6] + "********" + ids[0][-4:] in text


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
