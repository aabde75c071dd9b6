"""Path components that come from input: validated before anything is written.

A run date (CLI ``--date``, a DAG's ``run_date``), a source name, a request
id or a file name ends up inside a path.  Each is checked here, in one
place, before any folder is made: a date is ``YYYYMMDD`` and a real calendar
date, a source name is a plain identifier, and a request id becomes a file
name through :func:`report_file_stem`, which never lets two ids share a file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from hedui.errors import HeduiError

_DATE = re.compile(r"[0-9]{8}")
_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SAFE_STEM = re.compile(r"[0-9A-Za-z_\-]{1,80}")
SHOW_MAX = 40  # characters of a refused value shown in a message


class InvalidPathComponent(HeduiError):
    """A date, source name or other input that would become part of a path is not acceptable."""


def shown(value: object, limit: int = SHOW_MAX) -> str:
    """``value`` for a message: ID and account numbers masked, control characters made visible, cut to ``limit``
    characters.

    Masked before it is cut: a cut made first split an ID number typed into a date, user name or region box
    (`/search?date=…11010519491231002X`) at the 40th character, and the piece left (`1101051949`, region and year
    of birth; `110105194912…` up to its birth date) was too short for the masking after it and came back on the
    error page."""
    from hedui.audit.log import mask_free_text

    text = mask_free_text(str(value))
    cut = text[:limit]
    cut = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else "?" for c in cut)
    return cut + ("…" if len(text) > limit else "")


def validate_run_date(value: object) -> str:
    """``value`` as a run date ``YYYYMMDD`` (a real calendar date); InvalidPathComponent otherwise."""
    text = "" if value is None else str(value)
    if not _DATE.fullmatch(text):
        raise InvalidPathComponent(
            f"日期“{shown(text)}”无效：批次日期必须是8位数字YYYYMMDD（例如20261128），"
            "不能含路径符号或其他字符；请改正后重新运行")
    try:
        dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise InvalidPathComponent(
            f"日期“{text}”不是日历上存在的日期（月份或日数不对）；请改正后重新运行") from None
    return text


def validate_source_name(value: object) -> str:
    """``value`` as a source name (lowercase letters, digits, ``_``); InvalidPathComponent otherwise."""
    text = "" if value is None else str(value)
    if not _SOURCE.fullmatch(text):
        raise InvalidPathComponent(
            f"来源名称“{shown(text)}”无效：只能由小写字母、数字和下划线组成（例如bank、real_estate）")
    return text


def report_file_stem(request_id: object) -> str:
    """The file name (without extension) of a request's report; distinct ids never share one.

    An id of 1–80 letters, digits, ``-`` or ``_`` is its own name.  Any other id
    (``WT#1``, ``WT@1``, ``../x``, an empty or very long id) becomes its safe
    characters plus ``.`` and 12 hex digits of its SHA-256: a safe id never
    contains ``.``, so the two kinds of names cannot meet either.
    """
    text = "" if request_id is None else str(request_id)
    if _SAFE_STEM.fullmatch(text):
        return text
    base = re.sub(r"[^0-9A-Za-z_\-]", "_", text)[:60] or "_"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{base}.{digest}"
