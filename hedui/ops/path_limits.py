"""Paths over the system's limits, refused before anything runs.

A file or folder name longer than 255 bytes, or a path longer than 4095 bytes, cannot be opened on Linux
(ENAMETOOLONG): given to `--inbox`, `--workdir`… it surfaced as an operating-system error in English midway,
or a traceback.  :func:`refuse_over_limits` says it in Chinese first (exit 2), naming the argument.
"""

from __future__ import annotations

import os

from hedui.errors import InputError

NAME_MAX = 255  # bytes of one name (a file or folder), as ext4, xfs and most others allow
PATH_MAX = 4095  # bytes of a whole path (4096 with its terminating NUL)


def _bytes(text: str) -> int:
    return len(os.fsencode(text)) if text else 0


def refuse_over_limits(text: str, label: str) -> None:
    """Raise InputError naming `label` when `text` (a path) has a name over NAME_MAX bytes or is, made absolute,
    over PATH_MAX bytes."""
    from hedui.paths import shown

    long_names = [part for part in text.replace("\\", "/").split("/") if _bytes(part) > NAME_MAX]
    if long_names:
        raise InputError(
            f"{label} 路径中的名称“{shown(long_names[0])}”长 {_bytes(long_names[0])} 字节，超过系统上限 {NAME_MAX} 字节"
            "（文件或目录名），无法使用，未做任何操作；请改用较短的文件或目录名后重试")
    full = _bytes(os.path.abspath(text))
    if full > PATH_MAX:
        raise InputError(
            f"{label} 路径“{shown(text)}”（含当前目录共 {full} 字节）超过系统上限 {PATH_MAX} 字节，无法使用，"
            "未做任何操作；请改用层级较少、名称较短的路径后重试")
