"""Retention: raw deliveries and staged raw values go after N days; reports, outcomes, hashes and the log stay."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from hedui.audit.auditor import default_log_path
from hedui.audit.log import AuditLog
from hedui.audit.retention import drop_run_files, purge, retention_days
from hedui.errors import ConfigError

OLD, EDGE, NEW, TODAY = "20260801", "20261029", "20261128", "20261128"


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def site(tmp_path):
    inbox, workdir = tmp_path / "inbox", tmp_path / "work"
    for date in (OLD, EDGE, NEW):
        _touch(inbox / "bank" / date / "bank_ICBC.csv", "证件号码,账号\n")
        _touch(inbox / "bank" / date / "bank_ICBC.csv.ok", "0")
        _touch(inbox / "requests" / date / "requests.csv")
        for kind in ("raw", "staged_pre", "staged", "quarantine_stage", "quarantine_gx"):
            _touch(workdir / "runs" / date / kind / "bank.parquet")
        for kind in ("manifests", "status"):
            _touch(workdir / "runs" / date / kind / "bank.json", '{"sha256": "ab"}')
        _touch(workdir / "reports" / date / "outcomes.csv", "request_id,outcome,findings\n")
    _touch(inbox / "truth.csv")
    _touch(inbox / "bank" / "README.txt")
    con = duckdb.connect(str(workdir / "hedui.duckdb"))
    con.sql(f"""create table stg_bank as select * from (values
        ('{OLD}', 'p1:aa', 'a1:old-id', 'a1:old-acct', '****1234', '360102********123X'),
        ('{NEW}', 'p1:aa', 'a1:new-id', 'a1:new-acct', '****1234', '360102********123X')
    ) t(run_date, id_norm, id_number, account_no, account_no_masked, id_masked)""")
    con.sql(f"create table outcomes as select '{OLD}' as run_date, 'WT1' as request_id, 'CLEAR' as outcome")
    con.close()
    AuditLog(default_log_path(workdir)).append(actor="t", action="run", subject=OLD)
    return inbox, workdir


def test_purge_removes_old_raw_deliveries_and_run_files_and_keeps_reports(site):
    inbox, workdir = site
    counts = purge(workdir, inbox, 30, TODAY, actor="ops")
    assert counts["cutoff"] == "20261029"
    assert not (inbox / "bank" / OLD).exists() and not (inbox / "requests" / OLD).exists()
    assert (inbox / "bank" / EDGE).is_dir() and (inbox / "bank" / NEW).is_dir()  # exactly 30 days old stays
    assert (inbox / "truth.csv").exists() and (inbox / "bank" / "README.txt").exists()
    old_run = workdir / "runs" / OLD
    assert sorted(p.name for p in old_run.iterdir()) == ["manifests", "status"]
    assert (workdir / "runs" / NEW / "raw" / "bank.parquet").exists()
    assert all((workdir / "reports" / d / "outcomes.csv").exists() for d in (OLD, EDGE, NEW))
    assert counts["inbox_folders"] == 2 and counts["inbox_files"] == 3 and counts["run_folders"] == 5


def test_purge_nulls_old_staged_raw_values_and_keeps_pseudonyms_masks_and_outcomes(site):
    inbox, workdir = site
    counts = purge(workdir, inbox, 30, dt.date(2026, 11, 28))
    assert counts["database_rows"] == {"stg_bank": 1}
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    assert con.sql("select run_date, id_norm, id_number, account_no, account_no_masked, id_masked from stg_bank "
                   "order by run_date").fetchall() == [
        (OLD, "p1:aa", None, None, "****1234", "360102********123X"),
        (NEW, "p1:aa", "a1:new-id", "a1:new-acct", "****1234", "360102********123X"),
    ]
    assert con.sql("select count(*) from outcomes").fetchall() == [(1,)]


def test_the_purge_is_logged_with_its_counts_and_the_log_stays_intact(site):
    inbox, workdir = site
    purge(workdir, inbox, 30, TODAY, actor="ops")
    log = AuditLog(default_log_path(workdir))
    assert log.verify() == []
    last = log.entries()[-1]
    assert (last["action"], last["actor"]) == ("purge", "ops")
    assert last["details"]["inbox_folders"] == 2 and last["details"]["database_rows"] == {"stg_bank": 1}


def test_purging_again_finds_nothing_more(site):
    inbox, workdir = site
    purge(workdir, inbox, 30, TODAY)
    again = purge(workdir, inbox, 30, TODAY)
    assert again["inbox_folders"] == again["run_folders"] == 0 and again["database_rows"] == {"stg_bank": 0}


def test_purge_without_an_inbox_or_a_database_still_works(tmp_path):
    counts = purge(tmp_path / "work", None, 10, TODAY)
    assert counts["inbox_folders"] == 0 and counts["database_rows"] == {}
    assert AuditLog(default_log_path(tmp_path / "work")).entries()[0]["action"] == "purge"


def test_retention_days_come_from_the_environment():
    assert retention_days({}) == 90
    assert retention_days({"HEDUI_RETENTION_DAYS": "365"}) == 365
    with pytest.raises(ConfigError, match="HEDUI_RETENTION_DAYS"):
        retention_days({"HEDUI_RETENTION_DAYS": "forever"})
    with pytest.raises(ConfigError):
        purge("/nonexistent", None, 0, TODAY)


def test_a_loaded_run_can_drop_its_plain_parquet_right_away(site):
    _, workdir = site
    counts = drop_run_files(workdir, NEW, actor="ops")
    assert counts["run_folders"] == 5
    assert sorted(p.name for p in (workdir / "runs" / NEW).iterdir()) == ["manifests", "status"]
    assert (workdir / "runs" / OLD / "raw").is_dir()
    last = AuditLog(default_log_path(workdir)).entries()[-1]
    assert last["action"] == "purge" and last["details"]["run_date"] == NEW


def test_hedui_purge_runs_from_the_command_line(site, capsys):
    import argparse

    from hedui.audit.retention import add_purge_command

    inbox, workdir = site
    parser = argparse.ArgumentParser(prog="hedui")
    add_purge_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["purge", "--workdir", str(workdir), "--inbox", str(inbox), "--days", "30",
                              "--today", TODAY])
    assert args.func(args) == 0
    assert "已清除 20261029 之前的原始数据" in capsys.readouterr().out
    assert not (inbox / "bank" / OLD).exists()
