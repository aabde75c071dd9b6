"""Checks of `hedui` command-line arguments that argparse cannot make: integer and time ranges, a working
folder that is a folder and not inside the inbox (or, for the commands that maintain one, a working folder runs
have used), an --out that holds no delivery, an address `serve` can listen on.  Each failure is one Chinese
line, exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

from hedui.errors import InputError
from hedui.paths import shown


class Parser(argparse.ArgumentParser):
    """argparse that says what was wrong in Chinese and exits with the usage code (2)."""

    def error(self, message: str):
        import sys

        self.print_usage(sys.stderr)
        self.exit(2, f"错误：命令行参数有误（{usage_zh(message)}）。用 {self.prog} -h 查看用法。\n")


def int_in(lo: int, hi: int, what: str):
    """An argparse type: an integer lo..hi (a port over 65535 silently wrapped to another port)."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and lo <= int(text) <= hi):
            raise argparse.ArgumentTypeError(f"{what}“{text}”无效：应为 {lo} 到 {hi} 之间的整数")
        return int(text)

    return parse


def seconds_in(lo: float, hi: float, what: str):
    """An argparse type: a number of seconds lo..hi (`inf` and `nan` parse as floats: a timer given `inf`
    dies in its thread, one given `nan` never fires, and the limit is silently gone)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not lo <= value <= hi:  # False for nan
            raise argparse.ArgumentTypeError(f"{what}“{shown(text)}”无效：应为 {lo:g} 到 {hi:g} 之间的秒数")
        return value

    return parse


def staff_text(limit: int, what: str):
    """An argparse type: a text a person writes for others to read (a decision's reason), as the workspace's form
    takes it — at most `limit` characters, no control characters but newline and tab, valid UTF-8. `hedui review
    --reason` took 100 KB, terminal escape sequences or undecodable bytes into the decision, its audit entry and
    every report version after it (the web page refuses over 2000 characters). Then the web form's own rules
    (`hedui.privacy.typed.staff_text`): a reason of only zero-width spaces was taken as a decision's basis, an ID
    number with one inside kept readable."""

    import unicodedata

    from hedui.privacy.typed import StaffTextError
    from hedui.privacy.typed import staff_text as kept_text

    def parse(text: str) -> str:
        if len(text) > limit:
            raise argparse.ArgumentTypeError(f"{what}过长（{len(text)} 字）：请控制在 {limit} 字以内，附件另行归档")
        if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in text):  # a full-width space is fine
            raise argparse.ArgumentTypeError(f"{what}含有控制字符或无法识别的字节：请只写文字（可换行）")
        try:
            return kept_text(text, what, limit)
        except StaffTextError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def proxy_address(text: str) -> str:
    """An argparse type: a reverse proxy's IP address or network (`10.0.0.5`, `10.0.0.0/24`), never a
    name or `*` (a client trusted to name its own address could evade the sign-in limits)."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise argparse.ArgumentTypeError(f"反向代理地址“{shown(text, 64)}”无效：应为 IP 地址或网段，如 10.0.0.5 或 10.0.0.0/24") from None


def existing_workdir(workdir: str | Path, command: str) -> Path:
    """A working folder a command only reads or maintains (never creates): it must exist and hold what a run
    leaves (the database, the audit log or the key fingerprint) — a mistyped path would otherwise get a new
    folder holding a fresh fingerprint (`keys check` then reporting the keys as matching) or an audit log of its
    own (`purge` recording its deletions where no auditor looks)."""
    w = Path(workdir)
    if not w.is_dir():
        raise InputError(f"工作目录 {w} 不存在：请检查 --workdir 路径（hedui {command} 只用于已运行过核对批次的工作目录）")
    if not any((w / name).exists() for name in ("hedui.duckdb", "keys.fingerprint.json", "audit/audit_log.jsonl")):
        raise InputError(f"{w} 不是 hedui 的工作目录（其中没有 hedui.duckdb、审计日志或密钥指纹）：请检查 --workdir 路径，"
                         f"hedui {command} 只用于已运行过核对批次的工作目录")
    return w


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


def check_generate_out(out: str | Path, date: str) -> None:
    """A sample world is written only where nothing was delivered for `date`: the generator would overwrite a
    real delivery, or slip synthetic rows beside it that the next run verifies as the departments' own (a sample
    written there before is no different to tell apart: it is removed first, by hand)."""
    out = Path(out)
    taken = sorted(f"{d.parent.name}/{date}/" for d in out.glob(f"*/{date}") if d.is_dir() and any(d.iterdir()))
    if taken:
        raise InputError(f"--out {out} 中已有 {date} 的交付（{'、'.join(taken[:5])}{'等' if len(taken) > 5 else ''}）："
                         "样例数据会覆盖或混入这些交付，未写入任何文件；请另选一个空目录（如是以前生成的样例，先删除这些目录）")


def check_listen(host: str, port: int) -> None:
    """What `hedui serve` is to listen on: an address of this machine, and a free port — else one Chinese
    line, exit 2 (uvicorn said it in English, after the page's address had been printed as if it were up,
    exit 3). Also the database wait settings its pages read with (a bad one was a 500 on every page)."""
    import errno
    import socket

    from hedui.db import check_wait_settings

    check_wait_settings()

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError):
        raise InputError(f"--host“{shown(host, 64)}”不是有效的地址或主机名：请填本机的 IP 地址，如 127.0.0.1 或本机的局域网地址") from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: a port in TIME_WAIT is free
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"端口 {port} 已被占用（{host}）：请换一个 --port，或先停止占用它的程序"
                                 "（可能是另一个 hedui serve）") from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise InputError(f"--host {host} 不是本机的地址：请填本机的 IP 地址，如 127.0.0.1 或本机的局域网地址") from None
            if exc.errno == errno.EACCES:
                raise InputError(f"没有权限监听端口 {port}（1024 以下的端口需要管理员权限）：请换一个 --port") from None
            raise InputError(f"无法监听 {host}:{port}（{exc.strerror}）：请检查 --host 与 --port") from None


_TYPES_ZH = {"int": "整数", "float": "数字"}
_USAGE_ZH = [  # argparse's own words (Python 3.11), then what they mean in Chinese
    (r"the following arguments are required: (.+)", lambda m: f"缺少必需的参数：{m[1]}"),
    (r"unrecognized arguments: (.+)", lambda m: f"无法识别的参数：{m[1]}"),
    (r"one of the arguments (.+) is required", lambda m: f"参数 {m[1]} 须给出其中一个"),
    (r"ambiguous option: (\S+) could match (.+)", lambda m: f"选项 {m[1]} 不明确，可能是 {m[2]}"),
    (r"invalid choice: (.+) \(choose from (.+)\)", lambda m: f"取值 {m[1]} 无效，可选：{m[2]}"),
    (r"invalid (\w+) value: (.+)", lambda m: f"取值 {m[2]} 无效：应为{_TYPES_ZH.get(m[1], m[1])}"),
    (r"expected one argument", lambda m: "后面缺少取值"),
    (r"expected at least one argument", lambda m: "后面至少要有一个取值"),
    (r"expected (\d+) arguments?", lambda m: f"后面应有 {m[1]} 个取值"),
    (r"not allowed with argument (.+)", lambda m: f"不能与 {m[1]} 同时使用"),
    (r"ignored explicit argument (.+)", lambda m: f"不接受取值 {m[1]}"),
]


def usage_zh(message: str) -> str:
    """argparse's error message in Chinese (`argument X: …` → `参数 X：…`); one it does not know is kept."""
    import re

    where, text = "", message
    m = re.fullmatch(r"argument ([^:]+): (.*)", message, re.S)
    if m:
        where, text = f"参数 {m[1]}", m[2]
    for pattern, say in _USAGE_ZH:
        found = re.fullmatch(pattern, text, re.S)
        if found:
            text = say(found)
            break
    from hedui.ops.failures import terminal_text

    # the value argparse echoes is the operator's, escapes and all: shown, not sent to the terminal
    return terminal_text(f"{where}{' ' if text.startswith(('后面', '不')) else '：'}{text}" if where else text)


#: the arguments that are free text and may span lines (an auditor's SQL, a reviewer's reason, a display name,
#: which has its own check); every other string argument is a path, date, name or choice
_FREE_TEXT = frozenset({"sql", "reason", "name"})
#: the arguments that are paths: a name or path over the system's limits is refused before anything runs
_PATHS = frozenset({"inbox", "workdir", "out", "policy", "request_file", "answers", "spec", "left", "right", "db",
                    "log"})
#: how the error names a positional argument (the others by their option, `--inbox`)
_POSITIONAL = {"username": "用户名", "action": "操作", "keys_command": "操作", "left": "左表", "right": "右表",
               "command": "命令", "audit_command": "命令"}


def plain_arguments(args: argparse.Namespace) -> None:
    """Refuse a path, date, name or choice holding a line break or another control character, before anything
    runs: echoed in an error it put a line of its own into what operators and their scripts read line by line
    (`--inbox $'in\\n错误：…'` printed a second error line; `--workdir $'w\\n核对批次 … 完成'` a forged success)."""
    for key, value in vars(args).items():
        if key in _FREE_TEXT or callable(value):
            continue
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                label = _POSITIONAL.get(key, "--" + key.replace("_", "-"))
                refuse_control(text, label)
                if key in _PATHS:
                    from hedui.ops.path_limits import refuse_over_limits

                    refuse_over_limits(text, label)


def refuse_control(text: str, label: str) -> None:
    """Raise InputError naming `label` when `text` (a path, date, name or choice) holds a control character."""
    import unicodedata

    from hedui.privacy.masking import mask_long_numbers

    if any(unicodedata.category(c) == "Cc" for c in text):
        masked = mask_long_numbers(text)  # before the cut: a cut ID number's first digits are not masked after it
        visible = "".join(c if unicodedata.category(c) != "Cc" else f"\\x{ord(c):02x}" for c in masked[:120])
        raise InputError(f"{label}“{visible}”无效：含有换行或控制字符（显示为 \\x..），"
                         "路径、日期、名称中不能有这些字符，未做任何操作；请检查是否复制时带入了换行")
