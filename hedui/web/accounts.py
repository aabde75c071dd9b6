"""Staff accounts of the workspace: a small SQLite file in the workdir (`staff.sqlite`), argon2 hashes.

Roles (Chinese names are what staff see):
- clerk 核对员: reviews links, registers objections;
- supervisor 审核员: also approves re-verifications; scoped to a city it sees every county of it;
- auditor 审计员: reads only;
- admin 管理员: manages accounts.
A user is scoped to region codes (GB/T 2260): a county code (360102) is that county, a city code
(360100) every county of the city, a province code (360000) the province.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hedui.errors import HeduiError
from hedui.paths import shown  # a form field of any length is not echoed whole

ROLES = {"clerk": "核对员", "supervisor": "审核员", "auditor": "审计员", "admin": "管理员"}
PERMISSIONS = {
    "review": {"clerk", "supervisor"},
    "object": {"clerk", "supervisor"},
    "approve": {"supervisor"},
    "manage_users": {"admin"},
}
MIN_PASSWORD = 10
_USERNAME = re.compile(r"[A-Za-z0-9_.\-]{2,32}")  # fullmatch: `$` also matches before a final line break
_REGION = re.compile(r"[0-9]{6}")  # fullmatch; `\d` also takes full-width and other digits
_hasher = PasswordHasher()


class AccountError(HeduiError):
    """An account request that cannot be carried out."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: str
    regions: tuple[str, ...]
    disabled: bool = False
    changed_at: str = ""  # a password change or a disabling ends the sessions signed in before it
    must_change: bool = False  # the password is a temporary one an admin set: changed before anything else

    @property
    def role_zh(self) -> str:
        return ROLES[self.role]

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def db_path(workdir: Path | str) -> Path:
    return Path(workdir) / "staff.sqlite"


def check_workdir(workdir: Path | str, with_accounts: bool) -> None:
    """Before a `hedui users` command: a mistyped --workdir must not leave a stray folder and staff file."""
    if not Path(workdir).is_dir():
        raise AccountError(f"工作目录 {workdir} 不存在：请指定 hedui run 所用的工作目录（--workdir）")
    if with_accounts and not db_path(workdir).exists():
        raise AccountError(f"工作目录 {workdir} 中还没有任何账号：请先用 hedui users add 开设账号")


def connect(workdir: Path | str) -> sqlite3.Connection:
    path = db_path(workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    if new:
        path.chmod(0o600)
    con.execute("pragma journal_mode=wal")
    con.executescript("""
        create table if not exists users (
            username text primary key, display_name text not null, role text not null,
            regions text not null, password_hash text not null, disabled integer not null default 0,
            created_at text not null, changed_at text not null);
        create table if not exists login_failures (key text not null, at real not null);
        create table if not exists ended_sessions (sid text primary key, until real not null);
        create table if not exists login_known (key text primary key, at real not null);
        create index if not exists login_failures_key on login_failures(key, at);
    """)
    if "must_change" not in {r[1] for r in con.execute("pragma table_info(users)")}:  # a file made before it
        try:
            con.execute("alter table users add column must_change integer not null default 0")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise
    return con


def validate_regions(regions: list[str]) -> tuple[str, ...]:
    from hedui.regions import region_name

    out = []
    for r in regions:
        r = r.strip()
        if not _REGION.fullmatch(r):
            raise AccountError(f"区划代码“{shown(r)}”无效：应为 6 位数字的 GB/T 2260 代码，如 360102（县区）或 360100（市）")
        if not region_name(r):
            raise AccountError(f"区划代码 {r} 不在 GB/T 2260 行政区划表中：请核对后重试")
        out.append(r)
    if not out:
        raise AccountError("请至少指定一个区划代码（--region）")
    return tuple(out)


def valid_username(name: str) -> bool:
    return bool(_USERNAME.fullmatch(name))


def check_password(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if len(set(password)) < 4:  # aaaaaaaaaa, 1212121212
        raise AccountError("密码太简单：请至少用 4 个不同的字符")
    if username and password.strip().lower() == username.lower():
        raise AccountError("密码不能与用户名相同")
    if len(password) > 256:
        raise AccountError("密码太长：不超过 256 个字符")


def check_display_name(name: str) -> str:
    """A display name is shown on every page and printed by `hedui users list`: no control characters."""
    name = name.strip()
    if len(name) > 64 or not name.isprintable():
        raise AccountError("姓名无效：不超过 64 个字符，且不能含换行、制表符等控制字符")
    return name


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _changed_now() -> str:
    """The moment of a password change or a (dis)abling, a session's `pw` (hedui.web.app): to the microsecond. In
    seconds, a session signed in within the second of the account's last change outlived a password reset or a
    disabling made in that same second (its `pw` equal to the new value)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def add_user(workdir, username: str, password: str, role: str, regions: list[str], display_name: str = "",
             must_change: bool = False) -> User:
    """A new account. `must_change`: the password is one an administrator chose and handed over (账号管理's 开设账号),
    so, as a reset's temporary one, its user replaces it at the first sign-in before any other page opens, and it
    opens nothing after TEMPORARY_DAYS (`temporary_expired`)."""
    if not _USERNAME.fullmatch(username):
        raise AccountError(f"用户名“{shown(username)}”无效：2–32 个字母、数字或 _ . -")
    if role not in ROLES:
        raise AccountError(f"角色“{shown(role)}”无效：可选 {', '.join(f'{k}（{v}）' for k, v in ROLES.items())}")
    check_password(password, username)
    display_name = check_display_name(display_name)
    regs = validate_regions(regions)
    con = connect(workdir)
    try:
        # `Li.Wei` beside `li.wei`: two people the sign-in limits (and anyone reading a log) take for one
        taken = con.execute("select username from users where lower(username) = lower(?)", [username]).fetchone()
        if taken:
            raise AccountError(f"用户 {taken[0]} 已存在{'' if taken[0] == username else '（用户名不区分大小写）'}："
                               "修改密码请用 hedui users passwd")
        changed = _changed_now()
        con.execute("insert into users (username, display_name, role, regions, password_hash, disabled, created_at, "
                    "changed_at, must_change) values (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    [username, display_name or username, role, ",".join(regs), _hasher.hash(password), _now(),
                     changed, int(must_change)])
    finally:
        con.close()
    return User(username, display_name or username, role, regs, changed_at=changed, must_change=must_change)


def set_password(workdir, username: str, password: str, must_change: bool = False) -> None:
    """A new password; every session signed in before it ends. `must_change`: a temporary password an admin set,
    which its user must replace at the next sign-in before any other page opens (`temporary_password`)."""
    check_password(password, username)
    con = connect(workdir)
    try:
        n = con.execute("update users set password_hash = ?, changed_at = ?, must_change = ? where username = ?",
                        [_hasher.hash(password), _changed_now(), int(must_change), username]).rowcount
    finally:
        con.close()
    if not n:
        raise AccountError(f"没有用户 {username}")


#: a temporary password's letters: none that reads as another (0/O, 1/l/I) when read out or copied by hand
_TEMP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


#: how long an admin's temporary password opens the account: handed over the same day, it is no lasting secret (a
#: note left on a desk, a message in a chat) — not used in time, the admin resets it again
TEMPORARY_DAYS = 3


def temporary_expired(user: User, now: dt.datetime | None = None) -> bool:
    """True when the user's password is an admin's temporary one set more than TEMPORARY_DAYS ago."""
    if not user.must_change:
        return False
    try:
        set_at = dt.datetime.fromisoformat(user.changed_at)
    except ValueError:
        return True
    return (now or dt.datetime.now(dt.UTC)) - set_at > dt.timedelta(days=TEMPORARY_DAYS)


def temporary_password(username: str = "") -> str:
    """A random one-time password (14 letters and digits, about 80 bits) an admin hands over."""
    while True:
        password = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(14))
        try:
            check_password(password, username)
            return password
        except AccountError:
            continue


def set_disabled(workdir, username: str, disabled: bool = True) -> None:
    con = connect(workdir)
    try:
        n = con.execute("update users set disabled = ?, changed_at = ? where username = ?",
                        [int(disabled), _changed_now(), username]).rowcount
    finally:
        con.close()
    if not n:
        raise AccountError(f"没有用户 {username}")


def _user(row) -> User:
    return User(row[0], row[1], row[2], tuple(r for r in row[3].split(",") if r), bool(row[5]), row[7],
                bool(row[8]) if len(row) > 8 else False)


def get_user(workdir, username: str) -> User | None:
    con = connect(workdir)
    try:
        row = con.execute("select * from users where username = ?", [username]).fetchone()
    finally:
        con.close()
    return _user(row) if row else None


def user_named(workdir, username: str) -> User | None:
    """The account whose name is `username` but for letter case (names are unique that way), if any."""
    con = connect(workdir)
    try:
        row = con.execute("select * from users where lower(username) = lower(?)", [username]).fetchone()
    finally:
        con.close()
    return _user(row) if row else None


def list_users(workdir) -> list[User]:
    con = connect(workdir)
    try:
        return [_user(r) for r in con.execute("select * from users order by username").fetchall()]
    finally:
        con.close()


def cli_toggle(workdir, username: str, action: str) -> str:
    """`hedui users disable|enable|unlock NAME`: what was done, for the terminal."""
    if action == "unlock":
        if get_user(workdir, username) is None:
            raise AccountError(f"没有用户 {username}")
        return f"已解除账号 {username} 的登录限制（清除 {unlock(workdir, username)} 次失败记录）"
    set_disabled(workdir, username, action == "disable")
    return f"已{'停用' if action == 'disable' else '启用'}账号 {username}"


def audit_cli(workdir, action: str, username: str, role: str = "", regions=()) -> None:
    """`hedui users add|passwd|disable|enable` in the audit log, as the workspace's own account pages are:
    an account opened or a password reset from a terminal was the one account change nobody could trace."""
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog

    what = {"add": "开设账号", "passwd": "重设密码", "disable": "停用账号", "enable": "启用账号",
            "unlock": "解除登录限制"}[action]
    details = {"via": "hedui users", **({"role": role, "regions": list(regions)} if action == "add" else {})}
    AuditLog(default_log_path(workdir)).append(action="account", subject=f"{what} {username}", details=details)


# -- sign-in, rate limited ------------------------------------------------------------------

#: failed sign-ins allowed within the window: per user name from one client address, per client
#: address, and per user name from every address together. A user is locked out at the address
#: that failed, not everywhere: five wrong guesses from elsewhere must not lock a clerk out of
#: the workspace (and a guesser spread over many addresses still stops at `name`).
MAX_FAILURES = {"user": 5, "ip": 20, "name": 50, "device": 5}  # device: hedui.web.devices
FAILURE_WINDOW = 900.0  # seconds
#: and the backoff: one user name at one address (or from one browser) fails at most this many times a day, so a
#: guesser who waits out every window gets 20 tries a day, not 480 (the admin's unlock clears it for the clerk)
MAX_DAILY = {"user": 20, "device": 20}
DAY = 86400.0


def failure_keys(username: str, client: str) -> list[str]:
    """The keys a failed sign-in of `username` from `client` counts against (see MAX_FAILURES)."""
    name = username.lower()
    return [f"user:{name}@{client}", f"ip:{client}", f"name:{name}"]


#: an address a user signed in from within this time is theirs: the user-name limit over every address does not
#: apply there (a guesser spread over a few addresses, repeating every window, kept the clerk out for good)
KNOWN_SECONDS = 90 * 86400.0


def too_many_failures(workdir, keys: list[str], now: float) -> bool:
    """True when a key (`user:NAME@ADDRESS`, `ip:ADDRESS`, `name:NAME`, `device:ID:NAME`) failed its limit within
    the window or, `user:` and `device:`, its daily limit; `name:` not at an address the user signed in from within
    KNOWN_SECONDS."""
    con = connect(workdir)
    try:
        return _over_limits(con, keys, now)
    finally:
        con.close()


def _over_limits(con: sqlite3.Connection, keys: list[str], now: float) -> bool:
    con.execute("delete from login_failures where at < ?", [now - DAY])

    def count(key: str, since: float) -> int:
        return con.execute("select count(*) from login_failures where key = ? and at >= ?", [key, since]).fetchone()[0]

    over = [k for k in keys if count(k, now - FAILURE_WINDOW) >= MAX_FAILURES[k.split(":", 1)[0]]
            or count(k, now - DAY) >= MAX_DAILY.get(k.split(":", 1)[0], float("inf"))]
    if over and all(k.startswith("name:") for k in over):
        known = con.execute("select 1 from login_known where key = ? and at >= ?",
                            [keys[0], now - KNOWN_SECONDS]).fetchone()
        return known is None
    return bool(over)


def reserve_attempt(workdir, keys: list[str], now: float) -> list[int] | None:
    """A sign-in attempt checked against the limits (`too_many_failures`) and counted as a failure in one
    transaction: None when over the limits, else the failure rows written, which `forget_attempt` takes back when
    the password is right. Checked first and counted after the password's check, 40 guesses sent at once all
    passed the check before the first was counted: 31 passwords tried for one name where the limit is 5."""
    con = connect(workdir)
    try:
        con.execute("begin immediate")  # one attempt at a time between the check and the count, across processes
        try:
            ids = None if _over_limits(con, keys, now) else [
                con.execute("insert into login_failures values (?, ?)", [k, now]).lastrowid for k in keys]
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return ids
    finally:
        con.close()


def forget_attempt(workdir, ids: list[int]) -> None:
    """The failure rows of an attempt whose password was right (`reserve_attempt`) taken back."""
    con = connect(workdir)
    try:
        con.executemany("delete from login_failures where rowid = ?", [(i,) for i in ids])
    finally:
        con.close()


def record_success(workdir, keys: list[str], now: float, own: str | None = None) -> None:
    """Remember the address a user signed in from (`keys[0]`, `user:NAME@ADDRESS`; see too_many_failures), and clear
    the user's own mistakes there and from this browser (`own`, `device:ID:NAME`): the right password proved them
    hers. Four typos before a sign-in and one more after it locked a clerk out for 15 minutes, twenty over a day's
    sign-ins for the day. The address's and the name's counters stay (another account's sign-in clears nothing)."""
    con = connect(workdir)
    try:
        con.execute("delete from login_known where at < ?", [now - KNOWN_SECONDS])
        con.execute("insert or replace into login_known values (?, ?)", [keys[0], now])
        con.execute("delete from login_failures where key in (?, ?)", [keys[0], own or keys[0]])
    finally:
        con.close()


def record_failure(workdir, keys: list[str], now: float) -> None:
    con = connect(workdir)
    try:
        con.executemany("insert into login_failures values (?, ?)", [(k, now) for k in keys])
    finally:
        con.close()


def unlock(workdir, username: str) -> int:
    """Clear the sign-in limits that hold `username` (an admin's 解除登录限制): the user's failures at every
    address and from every browser, the name's over all addresses, and the address counters of the addresses
    the user failed from or signed in from. Returns the failures cleared."""
    name = username.lower()
    like = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    con = connect(workdir)
    try:
        mine = [k for (k,) in con.execute(
            "select key from login_failures where key like ? escape '\\' union "
            "select key from login_known where key like ? escape '\\'", [f"user:{like}@%", f"user:{like}@%"])]
        ips = sorted({"ip:" + k.split("@", 1)[1] for k in mine})
        return con.execute(
            f"delete from login_failures where key like ? escape '\\' or key like ? escape '\\' or key = ? "
            f"or key in ({','.join('?' * len(ips)) or 'null'})",
            [f"user:{like}@%", f"device:%:{like}", f"name:{name}", *ips]).rowcount
    finally:
        con.close()


# -- sessions ended by signing out ---------------------------------------------------------------
# A session cookie is signed, not stored: signing out must also refuse a copy of the cookie kept
# elsewhere (a shared computer, a proxy log) until it would have expired anyway.


def end_session(workdir, sid: str, until: float) -> None:
    con = connect(workdir)
    try:
        con.execute("delete from ended_sessions where until < ?", [time.time()])
        con.execute("insert or replace into ended_sessions values (?, ?)", [sid, until])
    finally:
        con.close()


def session_ended(workdir, sid: str) -> bool:
    con = connect(workdir)
    try:
        return con.execute("select 1 from ended_sessions where sid = ?", [sid]).fetchone() is not None
    finally:
        con.close()


def authenticate(workdir, username: str, password: str) -> User | None:
    """The user when the password is right and the account active; else None (same time either way).

    The name is matched whatever its letter case (names are unique that way, `add_user`): a phone's keyboard
    capitalizes the first letter (`Li.wei`), Caps Lock the whole name, and the clerk's right password was refused
    as "用户名或密码错误" until the sign-in limits locked her out. Two accounts of one name but for case (made
    before names were unique so) are told apart by the exact name only."""
    con = connect(workdir)
    try:
        row = con.execute("select * from users where username = ?", [username]).fetchone()
        if row is None:
            rows = con.execute("select * from users where lower(username) = lower(?) limit 2", [username]).fetchall()
            row = rows[0] if len(rows) == 1 else None
    finally:
        con.close()
    stored = row[4] if row else _DUMMY
    try:
        _hasher.verify(stored, password)
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row[5]:
        return None
    if _hasher.check_needs_rehash(stored):  # the same password under new parameters: no rules, no changed_at
        con = connect(workdir)
        try:
            con.execute("update users set password_hash = ? where username = ?", [_hasher.hash(password), row[0]])
        finally:
            con.close()
    return _user(row)


_DUMMY = _hasher.hash("not-a-password-of-anyone")
