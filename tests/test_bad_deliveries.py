"""Broken and missing deliveries, end to end: nothing lost, nothing made to look clear."""

from __future__ import annotations

import csv
import shutil

import duckdb
from conftest import RUN_DATE


def _run(inbox, workdir):
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(inbox, workdir, RUN_DATE)
    run(ctx)
    return ctx


def _csv(path):
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_missing_source_makes_no_household_clear(world, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(world, inbox)
    shutil.rmtree(inbox / "vehicle" / RUN_DATE)
    ctx = _run(inbox, tmp_path / "work")
    truth = {r["request_id"]: r for r in _csv(world / "truth.csv")}
    got = {r["request_id"]: r for r in _csv(ctx.report_dir / "outcomes.csv")}
    assert not [r for r in got.values() if r["outcome"] == "CLEAR"]
    for rid, t in truth.items():
        codes = got[rid]["findings"].split(";")
        assert "SOURCE_MISSING" in codes, rid
        if t["outcome"] == "CLEAR":
            assert got[rid]["outcome"] == "INCOMPLETE", (rid, t["scenario"])
        if t["outcome"] == "FINDINGS" and "VEHICLE" not in t["findings"]:
            assert got[rid]["outcome"] == "FINDINGS", (rid, t["scenario"])  # confirmed findings stand
    page = next((ctx.report_dir / "households").glob("*.html")).read_text(encoding="utf-8")
    assert "公安 车管数据未交付" in page


def test_injected_bad_rows_are_quarantined_with_their_reasons_and_every_row_accounted_for(world, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(world, inbox)
    # business registry (UTF-8): an unknown 登记状态 and a future 成立日期
    br = next((inbox / "business_registry" / RUN_DATE).glob("*.csv"))
    lines = br.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    bad_enum = first.copy()
    bad_enum[3] = "歇业"
    future = first.copy()
    future[0], future[9] = "91360000MA00000001", "2031-01-01"
    br.write_text("\n".join([*lines, ",".join(bad_enum), ",".join(future)]) + "\n", encoding="utf-8")
    ok = br.with_name(br.name + ".ok")
    ok.write_text(str(int(ok.read_text()) + 2))
    # vehicle (GB18030): a line with bytes that are not GB18030
    ve = next((inbox / "vehicle" / RUN_DATE).glob("*.csv"))
    ve.write_bytes(ve.read_bytes().rstrip(b"\n") + b"\n\xe8\xb5\xa3X\xff\xff1,x,\xff,y,,,,,\n")
    vok = ve.with_name(ve.name + ".ok")
    vok.write_text(str(int(vok.read_text()) + 1))
    # tax: the .ok marker announces more rows than delivered (a truncated file)
    tx = next((inbox / "tax" / RUN_DATE).glob("*.csv"))
    tok = tx.with_name(tx.name + ".ok")
    tok.write_text(str(int(tok.read_text()) + 5))

    ctx = _run(inbox, tmp_path / "work")
    recon = _csv(ctx.report_dir / "reconciliation.csv")
    for r in recon:
        assert int(r["rows_delivered"]) == int(r["rows_staged"]) + int(r["rows_quarantined"]), r
    con = duckdb.connect(str(ctx.database), read_only=True)
    reasons = {r[0] + ":" + r[1] for r in con.sql(
        "select source, reason_zh from quarantine where run_date = ?", params=[RUN_DATE]).fetchall()}
    status = dict(con.sql("select source, status from source_status where run_date = ?",
                          params=[RUN_DATE]).fetchall())
    con.close()
    assert any(r.startswith("business_registry:") and "歇业" in r and "登记状态" in r for r in reasons), reasons
    assert any(r.startswith("business_registry:") and "2031" in r for r in reasons), reasons
    assert any(r.startswith("vehicle:") and "GB18030" in r for r in reasons), reasons
    assert status["tax"] == "incomplete" and status["vehicle"] == "passed"
    outcomes = _csv(ctx.report_dir / "outcomes.csv")
    assert all("SOURCE_MISSING" in o["findings"] for o in outcomes)  # the truncated tax file: not delivered
    assert not [o for o in outcomes if o["outcome"] == "CLEAR"]
