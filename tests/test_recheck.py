"""Re-checks (动态复核) and re-verification (复核): the previous verification, what changed, alerts."""

from __future__ import annotations

import csv
import shutil

import duckdb
from conftest import RUN_DATE

NEXT_DATE = "20261228"


def _copy_inbox(world, dst, date_from, date_to):
    for src in world.glob(f"*/{date_from}"):
        shutil.copytree(src, dst / src.parent.name / date_to)


def test_a_recheck_lists_a_new_vehicle_and_raises_an_alert(world, world_run, tmp_path):
    from hedui.pipeline import RunContext, run

    ctx, _ = world_run
    raw = ctx.run_dir / "raw" / "requests.parquet"  # the delivered values (the database holds pseudonyms)
    request_id, applicant, name = duckdb.sql(
        f"select request_id, upper(trim(id_number)), name from read_parquet('{raw}') "
        "where program = '动态复核' and relation = '本人' order by request_id limit 1").fetchall()[0]
    assert len(applicant) == 18
    # the first run knows no earlier verification of this 动态复核 household: its page says so, not nothing
    first = (ctx.report_dir / "households" / f"{request_id}.html").read_text(encoding="utf-8")
    assert "本平台没有该家庭（同一委托或同一申请人）的上次核对记录" in first
    work = tmp_path / "work"
    shutil.copytree(ctx.workdir, work, ignore=shutil.ignore_patterns("reports", "runs"))
    inbox = tmp_path / "inbox"
    _copy_inbox(world, inbox, RUN_DATE, NEXT_DATE)
    extra = inbox / "vehicle" / NEXT_DATE / "vehicle_extra.csv"
    extra.write_text("号牌号码,号牌种类,车辆类型,所有人,证件号码,初次登记日期,使用性质,车辆状态,购置价格\n"
                     f"赣A12345,小型汽车,小型轿车,{name},{applicant},2026-12-01,非营运,正常,180000\n",
                     encoding="utf-8")
    (inbox / "vehicle" / NEXT_DATE / "vehicle_extra.csv.ok").write_text("1")

    ctx2 = RunContext.of(inbox, work, NEXT_DATE)
    run(ctx2)
    with open(ctx2.report_dir / "alerts.csv", encoding="utf-8") as fh:
        alerts = [a for a in csv.DictReader(fh) if a["request_id"] == request_id]
    assert [a["alert"] for a in alerts] == ["新增车辆"]
    assert alerts[0]["previous_run_date"] == RUN_DATE
    assert applicant not in (ctx2.report_dir / "alerts.csv").read_text(encoding="utf-8")
    with open(ctx2.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        outcome = next(r for r in csv.DictReader(fh) if r["request_id"] == request_id)
    assert outcome["findings"] == "VEHICLE"
    page = (ctx2.report_dir / "households" / f"{request_id}.html").read_text(encoding="utf-8")
    assert "第 2 版报告" in page and "新增情形：拥有非豁免机动车（VEHICLE）" in page and "赣A12345" in page
    assert "本平台没有该家庭" not in page
    # the first version stays where it was
    assert (ctx.report_dir / "households" / f"{request_id}.html").exists()
