"""Size limits on what a department delivers, and short reasons about it.

The inbox is read as untrusted: a field, a line and a file each have a
ceiling (``HEDUI_MAX_FIELD_BYTES``, ``HEDUI_MAX_LINE_BYTES``,
``HEDUI_MAX_FILE_BYTES``; defaults 64 KiB, 1 MiB, 8 GiB).  A field or line
over its limit quarantines its row; a file over its limit is not read (the
source counts as not delivered).  Nothing from a file is copied at length
into a message: :func:`cap` cuts every reason to :data:`REASON_MAX` characters.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
REASON_MAX = 200  # characters of one reason (a quarantine reason, a file problem)
NAME_MAX = 60  # characters of a delivered name (file, header) shown in a message
REASONS_SHOWN = 8  # reasons joined into one source message at most
MAX_COLUMNS = 1000  # columns of a delivered table
#: a file or folder name holding a number this long (an ID, a bank card, a policy number) is shown masked
PATH_DIGITS = 15


def open_regular(path) -> BinaryIO:
    """Open ``path`` for reading, refusing a symbolic link (``O_NOFOLLOW``) and anything but a regular file
    (a FIFO or device would block or never end). Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def cap(text: object, limit: int = REASON_MAX) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut), control characters made visible,
    numbers of :data:`PATH_DIGITS` digits or more (an ID or account number in a file name) masked."""
    s = mask_long_numbers("" if text is None else str(text), PATH_DIGITS)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    if not s.isprintable():
        s = "".join(c if c.isprintable() else " " for c in s)
    return s


# a run of letters and digits (also full-width), groups joined by single spaces or hyphens
_ALNUM = "0-9A-Za-z\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A"
_RUN = re.compile(f"[{_ALNUM}]+(?:[ \u3000\u00a0-][{_ALNUM}]+)*")
#: a date and the hour after it (`2026-11-26 08` of `2026-11-26 08:00:00`): joined, they have 10 digits in a row
_DATE_RUN = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[ \u3000\u00a0][0-9]{1,2}")
_GROUP_SPLIT = re.compile("[ \u3000\u00a0-]")
#: a month (YYYYMM) or a day (YYYYMMDD) of the years people and records live in
_MONTH_OR_DAY = re.compile(r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])?")
_FOLD = str.maketrans({**{chr(0xFF10 + i): str(i) for i in range(10)},
                       **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
                       **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}})


def mask_long_numbers(text: str | None, min_digits: int = 10) -> str | None:
    """Mask every number of at least `min_digits` digits in a text that should hold none.

    For delivered header names, and (through `hedui.privacy.masking`) the values of date, month, amount and number columns that failed a check: a value
    such as an ID number or an account typed into the wrong column (`360102199001011234`,
    `３６０１…`, `360102 19900101 123x`, `P2520710992650677`) is shown as an ID
    (`360102********1234`) or as `****` + last 4.  Dates (`2026-11-28`), months and ordinary
    amounts have fewer digits in a row and stay as they are.
    """
    if not text:
        return text

    def one(m: re.Match) -> str:
        if _DATE_RUN.fullmatch(m.group(0).translate(_FOLD)):  # 2026-11-26 25:00:00 is no ID: shown as delivered
            return m.group(0)
        if _is_dates(m.group(0).translate(_FOLD)):  # a period 202601-202603, 20261128 00 of 20261128 00:00:00
            return m.group(0)
        folded = re.sub(r"[ \u3000\u00a0-]", "", m.group(0).translate(_FOLD))
        if not re.search(f"[0-9]{{{min_digits},}}", folded):
            return m.group(0)
        if re.fullmatch(r"[0-9]{17}[0-9Xx]|[0-9]{15}", folded):  # an ID number: 360102********1234
            return folded[:6] + "*" * (len(folded) - 10) + folded[-4:].upper()
        return "****" + folded[-4:]

    return _RUN.sub(one, str(text))


def _is_dates(run: str) -> bool:
    """Whether a run of digit groups is months and dates (``202601-202603``, ``20260101-20260331``), the last maybe
    the hour after a date (``20261128 00`` of ``20261128 00:00:00``): no ID or account number is written so (an ID's
    groups are 6-8-4, an account's of 4), and staff must read what was wrong with such a value."""
    groups = _GROUP_SPLIT.split(run)
    if len(groups) < 2:
        return False
    if len(groups[-1]) <= 2 and len(groups[-2]) == 8:
        groups = groups[:-1]
    return all(_MONTH_OR_DAY.fullmatch(g) for g in groups)


def shown_name(text: object, limit: int = NAME_MAX) -> str:
    """A delivered name (header, sheet, marker text) as a message shows it: long numbers masked, then cut."""
    return cap(mask_long_numbers("" if text is None else str(text)), limit)


def human_bytes(n: int) -> str:
    """``n`` bytes as staff read it: 64 KiB, 1 MiB, 8 GiB, 1.5 GiB."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} 字节"


def _env_bytes(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    units = {"K": KIB, "KB": KIB, "KIB": KIB, "M": MIB, "MB": MIB, "MIB": MIB, "G": GIB, "GB": GIB, "GIB": GIB}
    text = raw.upper().replace(" ", "")
    try:
        for suffix in sorted(units, key=len, reverse=True):
            if text.endswith(suffix):
                value = int(float(text[: -len(suffix)]) * units[suffix])
                break
        else:
            value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"环境变量{name}的值“{cap(raw, 20)}”无效：应为正的字节数或带单位的大小，例如64K、1M、8G")
    return value


@dataclass(frozen=True)
class InputLimits:
    """Ceilings on one field, one line (text files) and one file, in bytes."""

    field_bytes: int = 64 * KIB
    line_bytes: int = 1 * MIB
    file_bytes: int = 8 * GIB

    @classmethod
    def from_env(cls) -> InputLimits:
        """The limits set by ``HEDUI_MAX_FIELD_BYTES`` / ``_LINE_BYTES`` / ``_FILE_BYTES`` (``64K``, ``1M``, ``8G``)."""
        d = cls()
        return cls(_env_bytes("HEDUI_MAX_FIELD_BYTES", d.field_bytes),
                   _env_bytes("HEDUI_MAX_LINE_BYTES", d.line_bytes),
                   _env_bytes("HEDUI_MAX_FILE_BYTES", d.file_bytes))


SKIP_BUFFER_BYTES = 1 << 20


def read_past_line(fh: BinaryIO, hasher) -> bytes | None:
    """Read (and hash) up to the next newline through one reused 1 MiB buffer; return what follows it
    in that buffer, or None at the end of the file.  No large allocation however long the line is
    (fresh 32 MiB reads left the allocator holding several hundred MiB under load)."""
    buf = bytearray(SKIP_BUFFER_BYTES)
    view = memoryview(buf)
    while True:
        n = fh.readinto(buf)
        if not n:
            return None
        hasher.update(view[:n])
        nl = buf.find(b"\n", 0, n)
        if nl >= 0:
            return bytes(view[nl + 1:n])


def too_long_message(line_no: int, limit: int) -> str:
    return (f"第{line_no}行长度超过单行上限{human_bytes(limit)}，该行未读入，隔离待查；"
            "请部门检查该行（可能缺少换行或含异常长的内容）后重新交付")


def blank_long_lines(data: bytes, first_line: int, limit: int | None) -> tuple[bytes, dict[int, str]]:
    """``data`` with every line longer than ``limit`` bytes (if any limit) emptied, and a read error for
    each; NUL bytes are dropped too, their lines getting a read error (:func:`drop_nul_bytes`)."""
    nul: dict[int, str] = {}
    data = drop_nul_bytes(data, first_line, nul)
    if nul:
        data, bad = blank_long_lines(data, first_line, limit)
        return data, {**nul, **bad}
    if not limit or len(data) <= limit:
        return data, {}
    half = max(limit // 2, 1)
    if all(data.find(b"\n", k, k + half) >= 0 for k in range(0, len(data), half)):
        return data, {}  # a newline in every half-limit window: no line reaches the limit
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(data)]))
    long_idx = np.flatnonzero(stops - starts > limit)
    if long_idx.size == 0:
        return data, {}
    parts, bad, pos = [], {}, 0
    for i in long_idx.tolist():
        parts.append(data[pos:int(starts[i])])
        pos = int(stops[i])
        bad[first_line + i] = too_long_message(first_line + i, limit)
    parts.append(data[pos:])
    return b"".join(parts), bad


def drop_nul_bytes(data: bytes, first_line: int, bad: dict[int, str]) -> bytes:
    """``data`` without its NUL bytes (0x00: a text file holds none; a parser would cut the line there);
    each line that held one gets a read error in ``bad`` (its row is quarantined, the line kept)."""
    if b"\x00" not in data:
        return data
    line, pos = first_line, 0
    while (at := data.find(b"\x00", pos)) >= 0:
        line += data.count(b"\n", pos, at)
        bad.setdefault(line, f"第{line}行含空字符（0x00），文件可能已损坏，该行隔离待查；请部门核对该行后重新交付")
        pos = at + 1
    return data.replace(b"\x00", b"")


def first_long_line(head: bytes, complete: bool, limit: int) -> int:
    """1-based number of the first line of ``head`` longer than ``limit`` (0: none).

    ``complete`` says ``head`` is the whole file; otherwise its last, cut line
    counts only once it alone exceeds the limit, or when no line ends at all.
    """
    if len(head) <= limit:  # no line of it can be longer
        return 1 if not complete and b"\n" not in head else 0
    lines = head.split(b"\n")
    for i, line in enumerate(lines):
        if len(line) > limit:
            return i + 1
    if not complete and len(lines) == 1:
        return 1  # not one line ends within the head
    return 0
