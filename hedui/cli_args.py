"""Checks of `hedui` command-line arguments that argparse cannot make: integer ranges, and a working
folder that is a folder and not inside the inbox.  Each failure is one Chinese line, exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

from hedui.errors import InputError


def int_in(lo: int, hi: int, what: str):
    """An argparse type: an integer lo..hi (a port over 65535 silently wrapped to another port)."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and lo <= int(text) <= hi):
            raise argparse.ArgumentTypeError(f"{what}“{text}”无效：应为 {lo} 到 {hi} 之间的整数")
        return int(text)

    return parse


def proxy_address(text: str) -> str:
    """An argparse type: a reverse proxy's IP address or network (`10.0.0.5`, `10.0.0.0/24`), never a
    name or `*` (a client trusted to name its own address could evade the sign-in limits)."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"反向代理地址“{text[:64]}”无效：应为 IP 地址或网段，如 10.0.0.5 或 10.0.0.0/24") from None


def check_workdir(workdir: str | Path, inbox: str | Path) -> None:
    """The working folder holds the database and reports (personal data): never a file, never the inbox
    the departments deliver into or a folder inside it (the inbox inside the workdir is fine)."""
    w, i = Path(workdir), Path(inbox)
    if w.exists() and not w.is_dir():
        raise InputError(f"--workdir {w} 是一个文件而不是目录：请指定工作目录（不存在时会自动创建）")
    wr, ir = w.resolve(), i.resolve()
    if wr == ir or wr.is_relative_to(ir):
        raise InputError(f"--workdir {w} 在收件箱 {i} 之内：工作目录存放含个人信息的数据库与报告，"
                         "不能放进各部门交付数据的收件箱；请另选一个目录")
