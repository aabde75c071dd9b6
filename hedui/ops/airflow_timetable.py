"""The nightly schedule, with scheduled run ids that carry the business date.

`BusinessDayTimetable` is Airflow's data-interval cron (``0 2 * * *`` in
Asia/Shanghai: the run for business date D covers D 02:00 → D+1 02:00 and
starts at its end); only the run id differs: ``scheduled__20261127`` instead
of ``scheduled__2026-11-26T18:00:00+00:00`` (the logical date in UTC). The
business date in the id is the one `hedui.ops.business_date.from_logical_date`
gives the run, because a scheduled run's logical date is its interval's start.
Manual runs keep Airflow's ids (give ``--run-id manual__<D>`` when triggering).

Airflow serializes only registered timetables: the plugin `HeduiPlugin`
registers it (entry point ``airflow.plugins`` in pyproject.toml).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from airflow.timetables.interval import CronDataIntervalTimetable

from hedui.ops.business_date import from_logical_date


class BusinessDayTimetable(CronDataIntervalTimetable):
    description = "每天 02:00（上海时间）处理前一业务日的交付"

    def generate_run_id(self, *, run_type, run_after, data_interval, **extra) -> str:
        if str(run_type) == "scheduled" and data_interval is not None:
            return run_type.generate_run_id(suffix=from_logical_date(data_interval.start))
        return super().generate_run_id(run_type=run_type, run_after=run_after, data_interval=data_interval, **extra)


class HeduiPlugin(AirflowPlugin):
    name = "hedui"
    timetables = [BusinessDayTimetable]
