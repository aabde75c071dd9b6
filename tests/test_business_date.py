"""Business dates: one function decides which day a run processes; bad dates are refused in Chinese."""

from __future__ import annotations

import datetime as dt
import re

import pendulum
import pytest

from hedui.errors import InputError
from hedui.ops.business_date import check_inbox, cutoff, latest_complete_date, parse_business_date, resolve

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def test_midnight_shanghai_is_that_shanghai_day_not_the_utc_day():
    midnight = dt.datetime(2026, 11, 28, tzinfo=SHANGHAI)
    assert midnight.astimezone(dt.UTC).strftime("%Y%m%d") == "20261127"  # what ds_nodash said
    assert resolve(None, midnight) == "20261128"
    assert resolve(None, pendulum.datetime(2026, 11, 27, 16, 0, tz="UTC")) == "20261128"


def test_scheduled_run_processes_the_day_its_interval_covers():
    from airflow.timetables.base import TimeRestriction
    from airflow.timetables.interval import CronDataIntervalTimetable

    tt = CronDataIntervalTimetable("0 2 * * *", timezone="Asia/Shanghai")
    previous = tt.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 27, 2, 0, tz="Asia/Shanghai"))
    info = tt.next_dagrun_info(last_automated_data_interval=previous,
                               restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    # the run starting at 02:00 on the 28th (Shanghai) has the logical date 27th 02:00 → business date 20261127
    assert info.run_after.in_timezone("Asia/Shanghai") == pendulum.datetime(2026, 11, 28, 2, tz="Asia/Shanghai")
    assert resolve(None, info.logical_date) == "20261127"

    # unpausing without catchup starts only the latest complete interval: yesterday's business date
    first = tt.next_dagrun_info(last_automated_data_interval=None, restriction=TimeRestriction(
        earliest=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"), latest=None, catchup=False))
    now = pendulum.now("Asia/Shanghai")
    last_start = now.replace(hour=2, minute=0, second=0, microsecond=0)
    if last_start > now:
        last_start = last_start.subtract(days=1)
    assert resolve(None, first.logical_date) == last_start.subtract(days=1).strftime("%Y%m%d")


def test_run_date_param_wins_and_is_normalized():
    assert resolve("2026-11-28", dt.datetime(2026, 1, 1, tzinfo=SHANGHAI)) == "20261128"
    assert parse_business_date(" 20261128 ") == "20261128"


@pytest.mark.parametrize("bad", ["2026-11-31", "20261340", "28/11/2026", "None", "2026112", "../etc", "19991231"])
def test_bad_dates_are_refused_in_chinese(bad):
    with pytest.raises(InputError) as err:
        parse_business_date(bad, "--date")
    assert "--date" in str(err.value) and bad in str(err.value)


def test_no_date_at_all_is_refused_with_what_to_pass():
    with pytest.raises(InputError, match="run_date"):
        resolve(None, None)


def test_cutoff_is_the_morning_after_in_shanghai(monkeypatch):
    monkeypatch.delenv("HEDUI_CUTOFF", raising=False)
    assert cutoff("20261128").isoformat() == "2026-11-29T06:00:00+08:00"
    assert cutoff("20261128", "09:30").astimezone(dt.UTC).isoformat() == "2026-11-29T01:30:00+00:00"
    with pytest.raises(InputError, match="HH:MM"):
        cutoff("20261128", "25:00")


def test_inbox_checks_and_latest_complete_date(tmp_path):
    with pytest.raises(InputError, match="不存在"):
        check_inbox(tmp_path / "nope", "20261128")
    with pytest.raises(InputError, match="没有 20261128 的委托名单"):
        check_inbox(tmp_path, "20261128")
    for date, marked in (("20261126", True), ("20261127", False)):
        d = tmp_path / "requests" / date
        d.mkdir(parents=True)
        (d / "r.csv").write_text("a\n1\n")
        if marked:
            (d / "r.csv.ok").write_text("1")
    assert latest_complete_date(tmp_path) == "20261126"
    check_inbox(tmp_path, "20261127")  # delivered (incomplete is the pipeline's business, not a refusal)
    assert list(tmp_path.iterdir()) == [tmp_path / "requests"]


def test_scheduled_run_ids_carry_the_business_date_and_the_timetable_serializes():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.utils.types import DagRunType

    from hedui.ops.airflow_timetable import BusinessDayTimetable

    tt = BusinessDayTimetable("0 2 * * *", timezone="Asia/Shanghai")
    interval = tt.infer_manual_data_interval(run_after=pendulum.datetime(2026, 11, 28, 2, tz="Asia/Shanghai"))
    assert tt.generate_run_id(run_type=DagRunType.SCHEDULED, run_after=interval.end,
                              data_interval=interval) == "scheduled__20261127"
    assert resolve(None, interval.start) == "20261127"  # the same date the tasks compute
    assert tt.generate_run_id(run_type=DagRunType.MANUAL, run_after=interval.end,
                              data_interval=interval).startswith("manual__2026-11-28T02:00")
    again = decode_timetable(encode_timetable(tt))  # registered through the hedui plugin
    assert type(again) is BusinessDayTimetable and again.summary == "0 2 * * *"


@pytest.mark.parametrize("filler", [0, 10, 22, 30, 35])
def test_an_id_typed_into_a_date_is_masked_before_the_echo_is_cut(filler):
    """WE5: the refusal echoed the first 40 characters masked; cut first, an ID after filler came back as its region
    and birth year (`1101051949`), too short to mask.  Masked whole, then cut."""
    with pytest.raises(InputError) as e:
        parse_business_date("x" * filler + "11010519491231002X", "--date")
    echo = str(e.value).split("“", 1)[1].split("”", 1)[0]
    assert not re.search(r"[0-9]", re.sub(r"(110105)?\*+002X|\*+$", "", echo)), echo
