"""The working folder's key fingerprint, and deliberate key rotation (`hedui keys rotate`).

The first run on a working folder stores the keyed fingerprints of its keys
(`Keys.fingerprint`: an HMAC of a fixed label under each key, never the key or
a plain hash of it) in ``<workdir>/keys.fingerprint.json``.  Every later run,
review decision and rotation checks them first: a run with other keys would
match no earlier pseudonym (false 新增 alerts, lost review decisions) and could
not decrypt earlier tokens, so it stops before any work
(:class:`KeyMismatchError`, exit code 4) and says how to proceed.

A deliberate rotation (`rotate_keys`) re-pseudonymizes every stored pseudonym
(ID pseudonyms and review decision keys) and re-encrypts every token of the
working database in one transaction, then stores the new fingerprints, re-signs
the audit log's head and logs a ``key_rotation`` entry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import pyarrow as pa

from hedui.errors import ConfigError
from hedui.privacy.keys import (
    ENV_DATA_KEY,
    ENV_PSEUDONYM_KEY,
    PSEUDONYM_PREFIX,
    TOKEN_PREFIXES,
    Keys,
    load_keys,
)

log = logging.getLogger(__name__)

FINGERPRINT_NAME = "keys.fingerprint.json"
ENV_OLD_PSEUDONYM_KEY = "HEDUI_OLD_PSEUDONYM_KEY"
ENV_OLD_DATA_KEY = "HEDUI_OLD_DATA_KEY"
EXIT_KEY_MISMATCH = 5
_KEY_ZH = {"pseudonym_key": f"假名密钥 {ENV_PSEUDONYM_KEY}", "data_key": f"数据密钥 {ENV_DATA_KEY}"}


class KeyMismatchError(ConfigError):
    """The keys given differ from the ones the working folder's data was protected with."""

    exit_code = EXIT_KEY_MISMATCH


def fingerprint_path(workdir: Path | str) -> Path:
    return Path(workdir) / FINGERPRINT_NAME


def stored_fingerprint(workdir: Path | str) -> dict | None:
    p = fingerprint_path(workdir)
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"密钥指纹文件 {p} 无法读取：请从备份恢复它（不要删除，否则无法发现密钥被换）") from None
    return data if isinstance(data, dict) else None


def write_fingerprint(workdir: Path | str, keys: Keys, *, exclusive: bool = False) -> bool:
    """Store `keys`' fingerprints (0600, atomic); with `exclusive`, only when none is stored yet.

    Returns False when `exclusive` and another process stored one first.
    """
    p = fingerprint_path(workdir)
    p.parent.mkdir(parents=True, exist_ok=True)
    data = {**keys.fingerprint(), "algorithm": "HMAC-SHA256(key, label)[:16]",
            "stored_at": dt.datetime.now().astimezone().isoformat(timespec="seconds")}
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, p)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _mismatch_message(workdir: Path, differ: list[str]) -> str:
    which = "、".join(_KEY_ZH[k] for k in differ)
    return (f"密钥与工作目录 {workdir} 不符：{which} 与该目录首次运行时使用的密钥不同（按密钥指纹比对）。"
            f"本次未做任何处理。若密钥设置有误，请改回原来的密钥后重新运行；"
            f"若要有意更换密钥，请把原密钥设为 {ENV_OLD_PSEUDONYM_KEY} / {ENV_OLD_DATA_KEY}、"
            f"新密钥设为 {ENV_PSEUDONYM_KEY} / {ENV_DATA_KEY}，运行 hedui keys rotate --workdir {workdir}，"
            f"再运行核对批次。")


def check_keys(workdir: Path | str, keys: Keys | None = None) -> None:
    """Raise KeyMismatchError when `keys` differ from the working folder's stored fingerprint.

    On the first run (no fingerprint yet) the fingerprint of `keys` is stored.
    """
    workdir = Path(workdir)
    keys = keys or load_keys()
    mine = keys.fingerprint()
    stored = stored_fingerprint(workdir)
    if stored is None:
        differ = _legacy_mismatch(workdir, keys)  # a folder filled before fingerprints existed
        if differ:
            raise KeyMismatchError(_mismatch_message(workdir, differ))
        if write_fingerprint(workdir, keys, exclusive=True):
            log.info("stored the key fingerprint of %s", workdir)
            return
        stored = stored_fingerprint(workdir) or {}
    differ = [k for k in ("pseudonym_key", "data_key") if stored.get(k) != mine[k]]
    if differ:
        raise KeyMismatchError(_mismatch_message(workdir, differ))


def _legacy_mismatch(workdir: Path, keys: Keys) -> list[str]:
    """For a working database without a stored fingerprint: which key fails on a stored member's token."""
    import duckdb

    from hedui import db

    database = workdir / "hedui.duckdb"
    if not database.exists():
        return []
    try:
        con = db.connect(database, read_only=True, threads=1, memory_limit="256MB")
    except duckdb.Error:
        return []  # held by a writer: the writer checked
    try:
        if not db.table_exists(con, "stg_requests"):
            return []
        row = con.sql("select id_number, id_norm from stg_requests where id_norm like 'p1:%' "
                      "and (id_number like 'a1:%' or id_number like 's1:%') limit 1").fetchall()
        if not row:
            return []
        try:
            plain = keys.decrypt(row[0][0])
        except Exception:  # noqa: BLE001 — any failure means another data key
            return ["data_key"]
        mem = db.connect()
        try:
            norm = mem.sql("select hd_id_norm(?)", params=[plain]).fetchall()[0][0]
        finally:
            mem.close()
        return ["pseudonym_key"] if norm and keys.pseudonym(norm) != row[0][1] else []
    finally:
        con.close()


# -- rotation ---------------------------------------------------------------------------------------


def old_keys(environ: dict[str, str] | None = None) -> Keys:
    """The keys being replaced, from HEDUI_OLD_PSEUDONYM_KEY / HEDUI_OLD_DATA_KEY (an unset one: unchanged)."""
    env = dict(os.environ if environ is None else environ)
    current = {k: env.get(k) for k in (ENV_PSEUDONYM_KEY, ENV_DATA_KEY)}
    old_p, old_d = env.get(ENV_OLD_PSEUDONYM_KEY), env.get(ENV_OLD_DATA_KEY)
    if not old_p and not old_d:
        raise ConfigError(f"请设置 {ENV_OLD_PSEUDONYM_KEY} 和/或 {ENV_OLD_DATA_KEY} 为原来的密钥"
                          f"（未设置的一项视为不变），新密钥设为 {ENV_PSEUDONYM_KEY} / {ENV_DATA_KEY}")
    env[ENV_PSEUDONYM_KEY] = old_p or current[ENV_PSEUDONYM_KEY]
    env[ENV_DATA_KEY] = old_d or current[ENV_DATA_KEY]
    return load_keys(env)


def _text_columns(con) -> list[tuple[str, str]]:
    return [(t, c) for t, c in con.sql(
        "select c.table_name, c.column_name from duckdb_columns() c join duckdb_tables() t "
        "on t.table_name = c.table_name and t.schema_name = c.schema_name and t.database_name = c.database_name "
        "where c.database_name = current_database() and c.schema_name = 'main' and c.data_type = 'VARCHAR' "
        "and not t.temporary order by 1, 2").fetchall()]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _id_mapping(con, old: Keys, new: Keys, tables: list[str]) -> dict[str, str]:
    """{old ID pseudonym: new ID pseudonym}, from every staged table's encrypted ID and its pseudonym."""
    parts = [f"select distinct id_number as token, id_norm as p from {_q(t)} where id_norm like 'p1:%' "
             f"and (id_number like 'a1:%' or id_number like 's1:%')" for t in tables]
    if not parts:
        return {}
    rows = con.sql(" union ".join(parts)).fetchall()
    plain = []
    for token, _ in rows:
        try:
            plain.append(old.decrypt(token))
        except Exception:  # noqa: BLE001 — a token not made with the old key maps nothing
            plain.append(None)
    con.register("_hd_rot_ids", pa.table({"token": [r[0] for r in rows], "p": [r[1] for r in rows],
                                          "plain": pa.array(plain, pa.string())}))
    try:
        normed = con.sql("select p, nullif(hd_id_norm(plain), '') from _hd_rot_ids where plain is not null").fetchall()
    finally:
        con.unregister("_hd_rot_ids")
    out = {}
    for p, norm in normed:
        if norm and old.pseudonym(norm) == p:
            out[p] = new.pseudonym(norm)
    return out


def _decision_key_mapping(con, old: Keys, new: Keys, id_map: dict[str, str]) -> dict[str, str]:
    """{old decision key: new}: recomputed from the review queue's pairs (hedui.steps.link._decision_keys)."""
    from hedui import db
    from hedui.steps.link import decision_material, record_contents

    if not (db.table_exists(con, "review_queue") and db.table_exists(con, "source_records")):
        return {}
    rows = con.sql("select distinct q.decision_key, q.source, r.name_norm, r.id_number, q.member_id, "
                   "q.run_date, q.record_id "
                   "from review_queue q join source_records r on r.run_date = q.run_date "
                   "and r.record_id = q.record_id where q.decision_key like 'p1:%'").fetchall()
    tokens = [r[3] for r in rows]
    plain = []
    for t in tokens:
        try:
            plain.append(old.decrypt(t) if t and t.startswith(TOKEN_PREFIXES) else t)
        except Exception:  # noqa: BLE001
            plain.append(None)
    normed = [r[0] for r in con.sql("select nullif(hd_id_norm(v), '') from unnest(?::varchar[]) t(v)",
                                    params=[plain]).fetchall()] if plain else []
    try:
        contents = record_contents(con, sorted({(r[5], r[1], r[6]) for r in rows}), old)
    except Exception:  # noqa: BLE001 - a record whose tokens no longer decrypt keeps its old key
        contents = {}
    out = {}
    for (key, source, name, _, member, run_date, record_id), norm in zip(rows, normed, strict=True):
        idno = norm if norm and len(norm) == 18 else ""
        content = contents.get((run_date, record_id), "")
        if old.pseudonym(decision_material(source, name, idno, member, content)) == key and member in id_map:
            out[key] = new.pseudonym(decision_material(source, name, idno, id_map[member], content))
    return out


def _update_column(con, table: str, column: str, mapping_table: str) -> int:
    rel = con.sql(f"update {_q(table)} as t set {_q(column)} = m.new from {mapping_table} as m "
                  f"where t.{_q(column)} = m.old")
    return int(rel.fetchall()[0][0]) if rel is not None else 0


def rotate_database(con, old: Keys, new: Keys) -> dict:
    """Re-pseudonymize and re-encrypt the working database on `con` (inside the caller's transaction).

    Returns counts: pseudonyms and decision keys mapped, values changed per
    column, and the pseudonyms that could not be mapped (their raw ID was purged).
    """
    cols = _text_columns(con)
    staged = sorted({t for t, c in cols if t.startswith("stg_") and c == "id_norm"}
                    & {t for t, c in cols if c == "id_number"})
    counts: dict = {"pseudonyms_mapped": 0, "decision_keys_mapped": 0, "values_changed": {}, "unmapped": {}}
    pseud_changed = old.pseudonym_key != new.pseudonym_key
    data_changed = old.data_key != new.data_key
    if pseud_changed:
        id_map = _id_mapping(con, old, new, staged)
        mapping = {**id_map, **_decision_key_mapping(con, old, new, id_map)}
        counts["pseudonyms_mapped"] = len(id_map)
        counts["decision_keys_mapped"] = len(mapping) - len(id_map)
        con.register("_hd_rot_map", pa.table({"old": list(mapping), "new": list(mapping.values())},
                                             schema=pa.schema([("old", pa.string()), ("new", pa.string())])))
        con.sql("create or replace temp table _hd_rot_p as select * from _hd_rot_map")
        con.unregister("_hd_rot_map")
        for table, column in cols:
            n = con.sql(f"select count(*) from {_q(table)} where starts_with({_q(column)}, '{PSEUDONYM_PREFIX}')"
                        ).fetchall()[0][0]
            if not n:
                continue
            changed = _update_column(con, table, column, "_hd_rot_p")
            counts["values_changed"][f"{table}.{column}"] = changed
            left = con.sql(f"select count(distinct {_q(column)}) from {_q(table)} "
                           f"where starts_with({_q(column)}, '{PSEUDONYM_PREFIX}') "
                           f"and {_q(column)} not in (select new from _hd_rot_p)").fetchall()[0][0]
            if left:
                counts["unmapped"][f"{table}.{column}"] = left
        con.sql("drop table _hd_rot_p")
    if data_changed or old.cipher != new.cipher:
        for table, column in cols:
            values = [r[0] for r in con.sql(
                f"select distinct {_q(column)} from {_q(table)} where starts_with({_q(column)}, 'a1:') "
                f"or starts_with({_q(column)}, 's1:')").fetchall()]
            if not values:
                continue
            new_tokens = new.encrypt_many(old.decrypt_many(values))
            con.register("_hd_rot_map", pa.table({"old": values, "new": new_tokens}))
            con.sql("create or replace temp table _hd_rot_t as select * from _hd_rot_map")
            con.unregister("_hd_rot_map")
            key = f"{table}.{column}"
            counts["values_changed"][key] = counts["values_changed"].get(key, 0) + _update_column(
                con, table, column, "_hd_rot_t")
            con.sql("drop table _hd_rot_t")
    return counts


def rotate_keys(workdir: Path | str, old: Keys, new: Keys, *, actor: str | None = None) -> dict:
    """Move the working folder from `old` keys to `new` (holding the writer lock); return the counts.

    Raises KeyMismatchError when `old` is not the folder's stored key, ConfigError
    when old and new are the same, WorkdirBusyError when another process writes.
    """
    from hedui import db
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog
    from hedui.workdir import clean_leftovers, secure_tree, writer_lock

    workdir = Path(workdir)
    if old.fingerprint() == new.fingerprint() and old.cipher == new.cipher:
        raise ConfigError("原密钥与新密钥相同：无需轮换")
    with writer_lock(workdir, "keys rotate"):
        stored = stored_fingerprint(workdir)
        if stored is not None:
            if all(stored.get(k) == v for k, v in new.fingerprint().items()):
                raise ConfigError(f"工作目录 {workdir} 已在使用新密钥：无需轮换")
            differ = [k for k, v in old.fingerprint().items() if stored.get(k) != v]
            if differ:
                raise KeyMismatchError(
                    "原密钥（" + "、".join(_KEY_ZH[k] for k in differ) + f"）与工作目录 {workdir} 的密钥指纹不符："
                    f"请把 {ENV_OLD_PSEUDONYM_KEY} / {ENV_OLD_DATA_KEY} 设为该目录正在使用的密钥")
        audit_log = AuditLog(default_log_path(workdir), keys=old)
        if audit_log.path.exists():  # a log whose tail does not match its anchor: stop before changing anything
            audit_log.check_tail()
        clean_leftovers(workdir)
        counts: dict = {}
        database = workdir / "hedui.duckdb"
        if database.exists():
            con = db.connect(database, temp_directory=workdir / "tmp")
            try:
                con.sql("begin transaction")
                counts = rotate_database(con, old, new)
                con.sql("commit")
                con.sql("checkpoint")
            finally:
                con.close()
        # staged Parquet files carry the old pseudonyms: a re-run re-reads the inbox instead
        removed = 0
        for staged in (workdir / "runs").glob("*/staged") if (workdir / "runs").is_dir() else []:
            for f in staged.glob("*.parquet"):
                f.unlink()
                removed += 1
        counts["staged_files_removed"] = removed
        write_fingerprint(workdir, new)
        if audit_log.path.exists():
            audit_log.rekey(new)
        else:
            audit_log = AuditLog(default_log_path(workdir), keys=new)
        audit_log.append(actor=actor, action="key_rotation", subject=f"工作目录 {workdir.name} 密钥轮换",
                         details={"changed": [k for k in ("pseudonym_key", "data_key")
                                              if old.fingerprint()[k] != new.fingerprint()[k]],
                                  "pseudonyms_mapped": counts.get("pseudonyms_mapped", 0),
                                  "decision_keys_mapped": counts.get("decision_keys_mapped", 0),
                                  "unmapped": counts.get("unmapped", {}),
                                  "staged_files_removed": removed})
        secure_tree(workdir / "audit")
    log.info("rotated the keys of %s: %s", workdir, counts)
    return counts


def cli_keys(args) -> int:
    """`hedui keys rotate|check --workdir W`."""
    import sys

    from hedui.cli_args import existing_workdir

    existing_workdir(args.workdir, f"keys {args.keys_command}")  # a mistyped path: never a new fingerprinted folder
    if args.keys_command == "check":
        check_keys(args.workdir)
        sys.stdout.write(f"密钥与工作目录 {args.workdir} 的密钥指纹一致。\n")
        return 0
    counts = rotate_keys(args.workdir, old_keys(), load_keys())
    unmapped = sum(counts.get("unmapped", {}).values())
    sys.stdout.write(
        f"密钥轮换完成：重新生成假名 {counts.get('pseudonyms_mapped', 0)} 个、复核决定键 "
        f"{counts.get('decision_keys_mapped', 0)} 个；已记入审计日志。"
        + (f"另有 {unmapped} 个假名因原始证件号已按保留期清除而无法换算（见审计日志）。" if unmapped else "")
        + "请运行 hedui run 重新发布审计库。\n")
    return 0


def add_keys_command(subparsers) -> None:
    """Register `hedui keys rotate` and `hedui keys check`."""
    k = subparsers.add_parser("keys", help="check the working folder's key fingerprint, or rotate its keys")
    k.add_argument("keys_command", choices=["rotate", "check"])
    k.add_argument("--workdir", required=True)
    k.set_defaults(func=cli_keys)
