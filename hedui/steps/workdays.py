"""Working days by the calendar file (hedui/policies/staff/workdays_cn.yaml): holidays and 调休."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import yaml

STAFF_POLICY = Path(__file__).resolve().parents[1] / "policies" / "staff"


@lru_cache(maxsize=4)
def windows(path: Path = STAFF_POLICY / "objection_windows.yaml") -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {"objection": int(doc["objection_window_working_days"]), "recheck": int(doc["recheck_due_working_days"]),
            "calendar": path.parent / doc["calendar"]}


@lru_cache(maxsize=4)
def calendar(path: Path) -> dict[int, tuple[frozenset, frozenset]]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {int(y): (frozenset(v.get("holidays") or []), frozenset(v.get("workdays") or []))
            for y, v in (doc.get("years") or {}).items()}


def covered(day: dt.date, path: Path | None = None) -> bool:
    return day.year in calendar(path or windows()["calendar"])


def is_working_day(day: dt.date, path: Path | None = None) -> bool:
    cal = calendar(path or windows()["calendar"])
    holidays, workdays = cal.get(day.year, (frozenset(), frozenset()))
    if day in workdays:
        return True
    if day in holidays:
        return False
    return day.weekday() < 5


def add_working_days(start: dt.date, n: int, path: Path | None = None) -> dt.date:
    """The n-th working day after `start` (start itself not counted)."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day, path):
            n -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, path: Path | None = None) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_working_day(day, path)
    return n
