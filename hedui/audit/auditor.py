"""The auditor database's place and connection: where the audit files live, and `open_auditor`.

- `default_log_path` / `default_audit_db` — the audit log and the auditor database in a working folder;
- `open_auditor` — the auditor database read-only, external access disabled, configuration locked,
  with memory, temp-space and statement-time limits (`auditor_limits`).

The query ledger is `hedui.audit.ledger`, the hash-chained log `hedui.audit.log`, publication
`hedui.steps.publish`, the `hedui audit` commands `hedui.audit.cli`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from hedui.audit.log import (
    AuditError,
    AuditLog,
)

log = logging.getLogger(__name__)


AUDIT_DIR = "audit"
AUDIT_DB_NAME = "hedui_audit.duckdb"
AUDIT_LOG_NAME = "audit_log.jsonl"


__all__ = ["AuditLog", "default_audit_db", "default_log_path", "open_auditor", "auditor_limits"]


def default_log_path(workdir: Path | str) -> Path:
    """`<workdir>/audit/audit_log.jsonl` — kept by retention."""
    return Path(workdir) / AUDIT_DIR / AUDIT_LOG_NAME


def default_audit_db(workdir: Path | str) -> Path:
    """`<workdir>/audit/hedui_audit.duckdb` — the auditor database."""
    return Path(workdir) / AUDIT_DIR / AUDIT_DB_NAME


ENV_AUDIT_MEMORY_LIMIT = "HEDUI_AUDIT_MEMORY_LIMIT"


ENV_AUDIT_TEMP_LIMIT = "HEDUI_AUDIT_TEMP_LIMIT"


ENV_AUDIT_TIMEOUT = "HEDUI_AUDIT_TIMEOUT_S"
#: a day: the statement timer (threading.Timer) cannot wait `inf` seconds, and no audit query should run longer
MAX_TIMEOUT_S = 86400


def auditor_limits(environ: dict[str, str] | None = None) -> dict:
    """The auditor connection's limits: memory, temp (spill) space, seconds per statement.

    From `HEDUI_AUDIT_MEMORY_LIMIT` (default 2GB), `HEDUI_AUDIT_TEMP_LIMIT`
    (default 2GB) and `HEDUI_AUDIT_TIMEOUT_S` (default 300).  Raises ConfigError on a bad timeout.
    """
    from hedui.errors import ConfigError

    env = os.environ if environ is None else environ
    text = env.get(ENV_AUDIT_TIMEOUT, "300")
    try:
        timeout = float(text)
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= MAX_TIMEOUT_S:  # also refuses nan; inf would kill the timer's thread: no limit at all
        raise ConfigError(f"{ENV_AUDIT_TIMEOUT}={text[:40]!r} 无效：应为 0 到 {MAX_TIMEOUT_S} 之间的正数（每条查询最多运行的秒数）")
    return {"memory_limit": env.get(ENV_AUDIT_MEMORY_LIMIT, "2GB"),
            "max_temp_directory_size": env.get(ENV_AUDIT_TEMP_LIMIT, "2GB"), "timeout_s": timeout}


def open_auditor(audit_db_path: Path | str, *, memory_limit: str | None = None,
                 max_temp_directory_size: str | None = None) -> duckdb.DuckDBPyConnection:
    """The auditor database read-only, with external access disabled and configuration locked.

    The connection cannot write, read or write other files, attach databases,
    load extensions or change settings (it may make temporary in-memory tables).
    Memory and spill space are capped (`auditor_limits`); statement time is
    capped by `run_limited`.  Raises AuditError when the file does not exist or DuckDB cannot open it.
    """
    path = Path(audit_db_path)
    if not path.is_file():
        raise AuditError(f"审计库 {path} 不存在：请先完成一次核对批次（发布审计库）")
    limits = auditor_limits()
    config = {"threads": 2, "memory_limit": memory_limit or limits["memory_limit"],
              "max_temp_directory_size": max_temp_directory_size or limits["max_temp_directory_size"],
              "enable_external_access": False,
              "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    try:
        con = duckdb.connect(str(path), read_only=True, config=config)
    except duckdb.Error as exc:  # not a DuckDB file, another DuckDB version's, or a limit DuckDB refuses
        raise AuditError(f"无法打开审计库 {path}（{type(exc).__name__}：{str(exc)[:200]}）：请确认 --db 指向 hedui 发布的"
                         f"审计库文件（工作目录的 audit/hedui_audit.duckdb），且 {ENV_AUDIT_MEMORY_LIMIT} / "
                         f"{ENV_AUDIT_TEMP_LIMIT} 是 DuckDB 认得的大小（如 2GB）") from None
    if con.sql("select count(*) from duckdb_tables() where table_name like 'stg\\_%' escape '\\'").fetchall()[0][0]:
        # the working database (--db WORKDIR/hedui.duckdb): its staged tables hold names and delivered values
        # unmasked, which the auditor database publishes only masked
        con.close()
        raise AuditError(f"{path} 是核对工作库（含未脱敏的姓名和原始记录），不是审计库：审计员只能查询发布的审计库"
                         "（用 --workdir 指定工作目录，或 --db 指向其中的 audit/hedui_audit.duckdb）")
    con.sql("set enable_progress_bar = false")  # a local option: set it, then lock everything
    con.sql("set lock_configuration = true")
    return con
