"""Data Docs, the run's source statuses and reconciliation.csv count a delivery the same way:
delivered = staged + quarantined, duplicates among the quarantined."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import duckdb
from conftest import RUN_DATE


def test_data_docs_statuses_and_reconciliation_agree(world_run):
    ctx, _ = world_run
    with open(ctx.report_dir / "reconciliation.csv", encoding="utf-8") as fh:
        recon = list(csv.DictReader(fh))
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in recon:
        for k in ("delivered", "staged", "quarantined"):
            per_source[r["source"]][k] += int(r[f"rows_{k}"])
    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        dups = dict(con.sql("select source, count(*) from quarantine where run_date = ? and rule = 'duplicate' "
                            "group by all", params=[RUN_DATE]).fetchall())
    finally:
        con.close()
    assert sum(dups.values()) > 0  # the world delivers some rows twice
    for source, expected in per_source.items():
        want = {**expected, "duplicates": dups.get(source, 0)}
        status = json.loads(ctx.path("status", source, "json").read_text(encoding="utf-8"))
        assert status["counts"] == want, source
        saved = json.loads((ctx.report_dir / "datadocs" / "_results" / f"stg_{source}.json").read_text("utf-8"))
        assert saved["meta"]["hedui"]["counts"] == want, source
        [page] = (ctx.report_dir / "datadocs" / "validations" / f"stg_{source}").rglob("*.html")
        dup = f"（其中重复 {want['duplicates']:,} 行）" if want["duplicates"] else ""
        text = f"交付 {want['delivered']:,} 行：入库 {want['staged']:,} 行，隔离 {want['quarantined']:,} 行{dup}"
        assert text in page.read_text(encoding="utf-8"), source
