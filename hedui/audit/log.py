"""The hash-chained audit log: runs, report renders, exports, review decisions, unmasked views, purges.

Append-only JSON lines; each entry is chained to the previous one by SHA-256,
so `AuditLog.verify` finds an entry that was changed, removed or reordered.
Subjects and details are masked before they are written (`mask_free_text`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hedui.errors import HeduiError
from hedui.privacy.masking import mask_text

GENESIS = "0" * 64
ACTIONS = ("run", "report_render", "export", "review_decision", "unmasked_view", "purge", "key_rotation",
           "lock_takeover", "urgent_verify")
HEAD_PURPOSE = "audit log head"
_ACCOUNT_LIKE = re.compile(r"(?<![0-9A-Za-z*])\d{8,}(\d{4})(?![0-9A-Za-z])")


class AuditError(HeduiError):
    """The audit log or the auditor database cannot be written or read as required."""


def mask_free_text(text: str | None) -> str | None:
    """`masking.mask_text` (18/15-digit IDs), then any other run of ≥ 12 digits as **** + last 4
    (also written in groups: `6222 0202 0011 2233 445`)."""
    if text is None:
        return None
    return _ACCOUNT_LIKE.sub(lambda m: "****" + m.group(1), mask_text(str(text), account_digits=12))


def _mask_details(value):
    if isinstance(value, str):
        return mask_free_text(value)
    if isinstance(value, dict):
        return {str(k): _mask_details(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_details(v) for v in value]
    return value


def default_actor() -> str:
    """Who acts: `HEDUI_ACTOR`, else the Airflow DAG/task running this, else the OS user."""
    if os.environ.get("HEDUI_ACTOR"):
        return os.environ["HEDUI_ACTOR"]
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return f"airflow:{os.environ['AIRFLOW_CTX_DAG_ID']}.{os.environ.get('AIRFLOW_CTX_TASK_ID', '')}"
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 — no user name in some containers
        return f"uid:{os.getuid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).astimezone()


# -- the hash-chained audit log ------------------------------------------------------------


def _canonical(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(entry: dict) -> str:
    """SHA-256 over the canonical JSON of the entry without its `hash` (which includes `prev_hash`)."""
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"}).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LogProblem:
    """One problem `AuditLog.verify` found; `line` is 1-based in the file."""

    line: int
    seq: int | None
    kind: str  # changed | removed | reordered | duplicate | malformed | truncated | head
    message_zh: str

    def __str__(self) -> str:
        return self.message_zh


class AuditLog:
    """An append-only, hash-chained log of runs, report renders, exports, review decisions,
    unmasked views and purges, as JSON lines at `path`.

    Each entry: `seq` (1, 2, …), `time`, `actor`, `action`, `subject`, `details`
    (masked), `prev_hash` (the previous entry's `hash`, 64 zeros for the first)
    and `hash` (see `entry_hash`).  Appends take an exclusive `fcntl` lock on
    `<path>.lock`, so parallel Airflow tasks on one machine can log safely.

    After every append the chain's tail is anchored: the head (seq, hash) with
    an HMAC under a key derived from the pseudonym key is written to
    `head_path`, a file apart from the log (default: the working folder's
    ``.audit_head.json`` when the log is ``<workdir>/audit/…``).  Entries cut
    off the end, or appended by someone without the key, no longer match it.
    `keys` default to `security.load_keys()` when first needed.
    """

    def __init__(self, path: Path | str, *, keys=None, head_path: Path | str | None = None):
        self.path = Path(path)
        self._keys = keys
        if head_path is None:
            head_path = (self.path.parent.parent / f".{self.path.stem}_head.json" if self.path.parent.name == "audit"
                         else self.path.with_name(self.path.name + ".head.json"))
        self.head_path = Path(head_path)

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _last(self) -> dict | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        with open(self.path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            chunk, block = b"", 4096
            while True:
                start = max(0, size - block)
                fh.seek(start)
                chunk = fh.read(size - start)
                if chunk.rstrip(b"\n").count(b"\n") >= 1 or start == 0:
                    break
                block *= 4
        if not chunk.endswith(b"\n"):
            raise AuditError(f"审计日志 {self.path} 最后一行不完整：请先运行 hedui audit verify 并处理后再写入")
        last = chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        try:
            return json.loads(last)
        except json.JSONDecodeError:
            raise AuditError(f"审计日志 {self.path} 最后一行无法解析：请先运行 hedui audit verify") from None

    # -- the keyed head anchor --------------------------------------------------------------

    def _head_key(self, keys=None) -> bytes:
        if keys is None:
            if self._keys is None:
                from hedui.privacy.keys import load_keys

                self._keys = load_keys()
            keys = self._keys
        return keys.derived_key(HEAD_PURPOSE)

    @staticmethod
    def _head_mac(key: bytes, seq: int, h: str) -> str:
        return hmac.new(key, f"{seq}:{h}".encode("ascii"), hashlib.sha256).hexdigest()

    def _write_head(self, seq: int, h: str, keys=None) -> None:
        data = {"seq": seq, "hash": h, "mac": self._head_mac(self._head_key(keys), seq, h),
                "log": self.path.name}
        self.head_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.head_path.with_name(f"{self.head_path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(data).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.head_path)

    def read_head(self) -> dict | None:
        """The stored head anchor {seq, hash, mac}, None when there is none."""
        if not self.head_path.exists():
            return None
        try:
            data = json.loads(self.head_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"seq": None, "hash": None, "mac": None}
        return data if isinstance(data, dict) else {"seq": None, "hash": None, "mac": None}

    def rekey(self, new_keys) -> None:
        """Re-sign the head anchor with `new_keys` (key rotation), after checking it with the current keys.

        Raises AuditError when the stored head does not verify under the current keys.
        """
        with self._locked():
            head = self.read_head()
            seq, h = self.head()
            if head is not None and (head.get("seq") != seq or head.get("hash") != h or not hmac.compare_digest(
                    str(head.get("mac")), self._head_mac(self._head_key(), seq, h))):
                raise AuditError(f"审计日志 {self.path} 的尾部锚点与日志不符：请先运行 hedui audit verify 并处理")
            self._write_head(seq, h, new_keys)
            self._keys = new_keys

    def _check_head(self, rows: list[tuple[int, dict]], keys=None) -> list[LogProblem]:
        head = self.read_head()
        last_line = rows[-1][0] if rows else 0
        top = max((e["seq"] for _, e in rows), default=0)
        if head is None:
            if rows:
                return [LogProblem(last_line, top, "head",
                                   f"审计日志尾部锚点文件 {self.head_path.name} 不存在：无法确认日志末尾未被删除")]
            return []
        seq, h, mac = head.get("seq"), head.get("hash"), head.get("mac")
        if not isinstance(seq, int) or not isinstance(h, str):
            return [LogProblem(last_line, None, "head", f"审计日志尾部锚点文件 {self.head_path.name} 无法解析")]
        try:
            key = self._head_key(keys)
        except HeduiError:
            key = None
        if key is not None and not hmac.compare_digest(str(mac), self._head_mac(key, seq, h)):
            return [LogProblem(last_line, seq, "head",
                               "审计日志尾部锚点的签名不符：锚点被伪造，或密钥与写入时不同")]
        by_seq = {e["seq"]: (n, e) for n, e in rows}
        if seq > top:
            return [LogProblem(last_line + 1, seq, "truncated",
                               f"审计日志末尾被删除：尾部锚点记录到第 {seq} 条，日志只到第 {top} 条")]
        if seq in by_seq and by_seq[seq][1].get("hash") != h:
            return [LogProblem(by_seq[seq][0], seq, "changed", f"第 {seq} 条记录与尾部锚点的哈希不符：日志被改写")]
        if seq < top:
            n = by_seq.get(seq + 1, (last_line, None))[0]
            return [LogProblem(n, seq + 1, "head",
                               f"第 {seq + 1} 条起的记录没有经过正常写入（尾部锚点只到第 {seq} 条）：可能被伪造追加")]
        return []

    def check_tail(self) -> None:
        """Raise AuditError when the log's last entry does not match the keyed head anchor."""
        with self._locked():
            self._check_tail(self._last())

    def _check_tail(self, last: dict | None) -> None:
        head = self.read_head()
        if head is None:
            self._head_key()  # no entry without its anchor: a missing key fails before writing
            return
        seq, h = (last["seq"], last["hash"]) if last else (0, GENESIS)
        if head.get("seq") != seq or head.get("hash") != h or not hmac.compare_digest(
                str(head.get("mac")), self._head_mac(self._head_key(), seq, h)):
            raise AuditError(f"审计日志 {self.path} 的末尾与尾部锚点不符（日志可能被删改）：本次未写入。"
                             "请运行 hedui audit verify 查明原因并处理后再继续")

    def append(self, *, actor: str | None = None, action: str, subject: str, details: dict | None = None,
               time: dt.datetime | None = None) -> dict:
        """Append one entry and return it.  `subject` and string values of `details` are masked.

        Raises AuditError when the log's last line is incomplete or unreadable.
        """
        entry = {
            "time": (time or _now()).isoformat(timespec="milliseconds"),
            "actor": actor or default_actor(),
            "action": action,
            "subject": mask_free_text(str(subject)),
            "details": _mask_details(details or {}),
        }
        with self._locked():
            last = self._last()
            entry = {"seq": (last["seq"] + 1) if last else 1, **entry,
                     "prev_hash": last["hash"] if last else GENESIS}
            entry["hash"] = entry_hash(entry)
            line = (_canonical(entry) + "\n").encode("utf-8")
            self._check_tail(last)  # before writing: never hide a cut tail under a new anchor
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._write_head(entry["seq"], entry["hash"])
        return entry

    def entries(self) -> list[dict]:
        """Every entry that parses, in file order (see `verify` for the ones that do not)."""
        out = []
        for _, entry in self._lines():
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def _lines(self) -> Iterator[tuple[int, dict | str]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    e = json.loads(line)
                    yield n, (e if isinstance(e, dict) else line)
                except json.JSONDecodeError:
                    yield n, line

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; (0, 64 zeros) for an empty log."""
        last = self._last()
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    def verify(self, anchors: Iterable[tuple[int, str]] = (), *, check_head: bool = True,
               keys=None) -> list[LogProblem]:
        """Problems of the log, in file order (empty when intact).

        Detects an entry whose content changed (its hash, or the next entry's
        `prev_hash`, no longer matches), a removed entry (a gap in `seq`), a
        reordered or duplicated entry, a malformed line, and — with `anchors`,
        (seq, hash) pairs recorded elsewhere (the auditor database) — entries
        removed from the end or a log rewritten from an anchored point on.
        With `check_head` (default) the keyed head anchor is checked too (its
        signature only when keys are available): entries removed after the last
        publication are found.
        """
        problems: list[LogProblem] = []
        rows: list[tuple[int, dict]] = []
        for n, e in self._lines():
            if not isinstance(e, dict) or not isinstance(e.get("seq"), int):
                problems.append(LogProblem(n, None, "malformed", f"第 {n} 行无法解析为审计记录"))
                continue
            rows.append((n, e))
            if e.get("hash") != entry_hash(e):
                problems.append(LogProblem(n, e["seq"], "changed",
                                           f"第 {e['seq']} 条记录（第 {n} 行）内容被修改：哈希不符"))
        seen: dict[int, int] = {}
        for n, e in rows:
            if e["seq"] in seen:
                problems.append(LogProblem(n, e["seq"], "duplicate",
                                           f"第 {e['seq']} 条记录（第 {n} 行）重复出现（首次在第 {seen[e['seq']]} 行）"))
            seen.setdefault(e["seq"], n)
        top = max(seen, default=0)
        for s in sorted(set(range(1, top + 1)) - set(seen)):
            after = next((n for n, e in rows if e["seq"] > s), rows[-1][0] if rows else 0)
            problems.append(LogProblem(after, s, "removed", f"第 {s} 条记录被删除（应在第 {after} 行之前）"))
        for (n0, e0), (n1, e1) in zip(rows, rows[1:], strict=False):
            if e1["seq"] < e0["seq"]:
                problems.append(LogProblem(n0, e0["seq"], "reordered",
                                           f"第 {e0['seq']} 条记录（第 {n0} 行）与第 {e1['seq']} 条记录（第 {n1} 行）"
                                           f"顺序被调换"))
            elif e1["seq"] == e0["seq"] + 1 and e1.get("prev_hash") != e0.get("hash") \
                    and e1.get("hash") == entry_hash(e1):
                problems.append(LogProblem(n0, e0["seq"], "changed",
                                           f"第 {e0['seq']} 条记录（第 {n0} 行）被改写：与第 {e1['seq']} 条记录的链接哈希不符"))
        if rows and rows[0][1]["seq"] == 1 and rows[0][1].get("prev_hash") != GENESIS:
            problems.append(LogProblem(rows[0][0], 1, "changed", "第 1 条记录的前序哈希不是起始值"))
        by_seq = {e["seq"]: (n, e) for n, e in rows}
        for seq, h in anchors:
            if seq == 0:
                continue
            if seq not in by_seq:
                problems.append(LogProblem(rows[-1][0] + 1 if rows else 1, seq, "truncated",
                                           f"第 {seq} 条记录（已在审计库中锚定）不在日志中：日志被截断或删改"))
            elif by_seq[seq][1].get("hash") != h:
                problems.append(LogProblem(by_seq[seq][0], seq, "changed",
                                           f"第 {seq} 条记录与审计库中锚定的哈希不符：日志被改写"))
        if check_head:
            problems += self._check_head(rows, keys)
        problems.sort(key=lambda p: (p.line, p.seq or 0))
        return problems
