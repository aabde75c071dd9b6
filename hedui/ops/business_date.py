"""Business dates: which day's deliveries a run processes, decided in one place.

A business date is a calendar day in Asia/Shanghai written ``YYYYMMDD``; it
names the inbox folders (``inbox/<source>/<YYYYMMDD>/``) and every output of
the run.  It comes either from an explicit value (``--date``, the DAG param
``run_date``), validated here, or from an Airflow run's logical date converted
to Asia/Shanghai — never from ``ds``/``ds_nodash``, which are UTC.

The nightly DAG runs on a data-interval timetable: the run for business date
D covers D 02:00 → D+1 02:00 Shanghai, its logical date is D 02:00 and it
starts at 02:00 on D+1, when D's deliveries are in.  A manual run with a
logical date of D (any time of that Shanghai day, e.g. midnight) processes D.
A run without a logical date and without ``run_date`` is refused.

Late deliveries are awaited until a cut-off: ``HH:MM`` Shanghai on the morning
after the business date (``HEDUI_CUTOFF``, default 06:00).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from hedui.errors import InputError
from hedui.privacy.masking import mask_long_numbers

TZ = ZoneInfo("Asia/Shanghai")
#: the forms a business date is written in (20261128, 2026-11-28, 2026-1128…): ``--date`` and the DAGs' `run_date`
#: param (its JSON-schema pattern, anchored) accept the same
DATE_FORMS = r"(\d{4})-?(\d{2})-?(\d{2})"
DATE_PARAM_PATTERN = rf"^\s*{DATE_FORMS}\s*$"  # blanks around: stripped, as --date's
_PATTERN = re.compile(DATE_FORMS)
DEFAULT_CUTOFF = "06:00"


def parse_business_date(value: object, what: str = "日期") -> str:
    """Return ``value`` as a valid ``YYYYMMDD`` business date, or raise InputError in Chinese.

    ``YYYYMMDD`` and ``YYYY-MM-DD`` are accepted (the latter normalized); the
    day must exist in the calendar.
    """
    text = "" if value is None else str(value).strip()
    m = _PATTERN.fullmatch(text)
    if not m:
        # an ID pasted into a date field is not echoed: masked whole, then cut (a cut first left `1101051949`, too
        # short to be masked, of `xxx…11010519491231002X`)
        shown = (mask_long_numbers(text) or "")[:40] or "（空）"
        raise InputError(f"{what}“{shown}”格式不对：请写成 8 位数字 YYYYMMDD，例如 20261128")
    try:
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise InputError(f"{what}“{text}”不是真实存在的日期：请检查年、月、日") from None
    if not 2000 <= day.year <= 2099:
        raise InputError(f"{what}“{text}”超出合理范围（2000—2099 年）：请检查年份")
    return day.strftime("%Y%m%d")


def from_logical_date(logical_date: dt.datetime) -> str:
    """The business date of an Airflow logical date: its calendar day in Asia/Shanghai."""
    if logical_date.tzinfo is None:
        raise InputError("逻辑日期缺少时区，无法换算为上海时间的业务日期")
    return logical_date.astimezone(TZ).strftime("%Y%m%d")


def resolve(run_date: object = None, logical_date: dt.datetime | None = None) -> str:
    """The one place a run's business date is decided: ``run_date`` if given, else the logical date.

    Raises InputError when neither is there (a manual trigger without a date).
    """
    if run_date not in (None, ""):
        return parse_business_date(run_date, "run_date")
    if logical_date is not None:
        return from_logical_date(logical_date)
    raise InputError("本次运行没有业务日期：手动触发时请在参数中给出 run_date（YYYYMMDD，例如 20261128），"
                     "或指定逻辑日期（airflow dags trigger hedui_nightly --logical-date 2026-11-28T00:00:00+08:00）")


def cutoff(business_date: str, at: str | None = None) -> dt.datetime:
    """When waiting for late deliveries of `business_date` ends: ``at`` (HH:MM) Shanghai the morning after."""
    at = at or os.environ.get("HEDUI_CUTOFF") or DEFAULT_CUTOFF
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise InputError(f"截止时间“{at}”格式不对：请写成 HH:MM（上海时间），例如 06:00")
    day = dt.datetime.strptime(business_date, "%Y%m%d").date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, int(m[1]), int(m[2]), tzinfo=TZ)


def delivery_dates(inbox: Path, source: str = "requests") -> list[str]:
    """The business dates for which `source` has a folder in the inbox, oldest first."""
    folder = Path(inbox) / source
    if not folder.is_dir():
        return []
    # [0-9]: Python's \d matches full-width digits too, and a folder ２０２６１１２８ is no delivery of 20261128
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"[0-9]{8}", p.name))


def latest_complete_date(inbox: Path, source: str = "requests") -> str | None:
    """The latest date whose `source` delivery is complete (every data file has its ``.ok`` marker)."""
    for date in reversed(delivery_dates(inbox, source)):
        if delivery_complete(Path(inbox) / source / date):
            return date
    return None


def delivery_complete(folder: Path) -> bool:
    """True when `folder` (``<inbox>/<source>/<date>``) holds at least one data file, every data file has its
    ``.ok`` beside it, and nothing the connector would refuse stands beside them (a hidden file of a transfer
    still running); OS litter and documents do not count (:func:`connectors.delivery_ready`)."""
    from connectors import delivery_ready, load_map

    folder = Path(folder)
    return delivery_ready(load_map(folder.parent.name), folder)


def check_inbox(inbox: Path, business_date: str) -> None:
    """Refuse, before anything is created, an inbox that is missing or has no requests for `business_date`."""
    inbox = Path(inbox)
    if not inbox.exists():
        raise InputError(f"收件箱目录 {inbox} 不存在：请检查 --inbox 路径")
    if not inbox.is_dir():
        raise InputError(f"收件箱 {inbox} 不是目录：请给出存放各部门交付的文件夹")
    folder = inbox / "requests" / business_date
    has_data = folder.is_dir() and any(p.is_file() and p.suffix != ".ok" and not p.name.startswith(".")
                                       for p in folder.iterdir())
    if not has_data:
        from connectors.litter import near_date_folder

        # the dates whose request list is complete; never this date, whose folder may be there but hold none
        dates = [d for d in delivery_dates(inbox)[-60:] if d != business_date  # the recent ones: a few to point to
                 and delivery_complete(inbox / "requests" / d)]
        known = (f"收件箱中委托名单交付完整的日期：{'、'.join(dates[-5:])}" if dates
                 else "收件箱中没有其他日期的完整委托名单交付")
        raise InputError(f"收件箱 {inbox} 中没有 {business_date} 的委托名单（requests/{business_date}/）"
                         f"{near_date_folder(folder)}，该日期无可核对的交付，未创建任何文件。{known}")
