"""SQL exchange tables (PostgreSQL, MySQL/MariaDB) → raw Parquet + manifest.

The connection comes from Airflow (``BaseHook.get_connection(conn_id)``,
which also reads ``AIRFLOW_CONN_<ID>`` variables, JSON or URI).  The table's
Chinese column names are mapped like a file's header.  Every column is cast
to text on the server (so dates, decimals and timestamps arrive in their
canonical text form), rows are ordered by all the table's columns for a
deterministic ``row_no`` and fetched in batches through a server-side
cursor.  ``file_name`` is ``sql://<conn_id>/<table>``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.limits import InputLimits
from connectors.manifest import MISSING, DeliveryManifest, FileManifest
from connectors.maps import SourceMap
from connectors.raw import RawWriter, positional_names, record_header_problems

log = logging.getLogger(__name__)

BATCH_ROWS = 50_000
POSTGRES = ("postgres", "postgresql")
MYSQL = ("mysql", "mariadb")


class SourceUnavailable(ConnectionError):
    """The exchange database cannot be reached or the connection id is not configured.

    Raised (not recorded) so that the Airflow task fails and retries.
    """


@dataclass(frozen=True)
class ConnInfo:
    conn_type: str
    host: str
    port: int | None
    login: str | None
    password: str | None
    schema: str | None
    extra: dict


def connection_info(conn_id: str) -> ConnInfo:
    """The Airflow connection ``conn_id`` (``AIRFLOW_CONN_<ID>`` works without a metadata DB)."""
    from airflow.sdk.bases.hook import BaseHook

    try:
        c = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and friends
        raise SourceUnavailable(
            f"找不到Airflow连接{conn_id!r}：请在Airflow中配置该连接，或设置环境变量 AIRFLOW_CONN_{conn_id.upper()}"
        ) from exc
    return ConnInfo((c.conn_type or "").lower(), c.host or "127.0.0.1", c.port, c.login, c.password,
                    c.schema, dict(c.extra_dejson or {}))


def _split_table(table: str) -> list[str]:
    parts = [p for p in table.split(".") if p]
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"表名{table!r}不合法：应为“表”或“模式.表”")
    return parts


def _read_postgres(info: ConnInfo, table: str, batch_rows: int):
    import psycopg
    from psycopg import sql

    kwargs = {k: v for k, v in info.extra.items() if k in ("sslmode", "connect_timeout", "options", "application_name")}
    try:
        conn = psycopg.connect(host=info.host, port=info.port or 5432, user=info.login, password=info.password,
                               dbname=info.schema, **kwargs)
    except psycopg.OperationalError as exc:
        raise SourceUnavailable(f"无法连接PostgreSQL {info.host}:{info.port or 5432}：{exc}") from exc
    ident = sql.Identifier(*_split_table(table))
    with conn:
        try:
            cur = conn.execute(sql.SQL("select * from {} where false").format(ident))
        except psycopg.errors.UndefinedTable:
            yield None
            return
        columns = [d.name for d in cur.description or []]
        select = sql.SQL("select {} from {} order by {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
            ident,
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        )
        yield columns
        with conn.cursor(name="hedui_read") as named:
            named.itersize = batch_rows
            named.execute(select)
            while rows := named.fetchmany(batch_rows):
                yield rows


def _mysql_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _read_mysql(info: ConnInfo, table: str, batch_rows: int):
    import pymysql
    import pymysql.cursors

    try:
        conn = pymysql.connect(host=info.host, port=info.port or 3306, user=info.login, password=info.password or "",
                               database=info.schema, charset="utf8mb4", cursorclass=pymysql.cursors.SSCursor)
    except pymysql.err.OperationalError as exc:
        raise SourceUnavailable(f"无法连接MySQL {info.host}:{info.port or 3306}：{exc}") from exc
    ident = ".".join(_mysql_ident(p) for p in _split_table(table))
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(f"select * from {ident} where 1 = 0")
            except pymysql.err.ProgrammingError as exc:
                if exc.args and exc.args[0] == 1146:  # ER_NO_SUCH_TABLE
                    yield None
                    return
                raise
            columns = [d[0] for d in cur.description or []]
            cur.fetchall()
        cols = ", ".join(f"cast({_mysql_ident(c)} as char)" for c in columns)
        order = ", ".join(_mysql_ident(c) for c in columns)
        yield columns
        with conn.cursor() as cur:
            cur.execute(f"select {cols} from {ident} order by {order}")
            while rows := cur.fetchmany(batch_rows):
                yield rows
    finally:
        conn.close()


def read_table(source_map: SourceMap, conn_id: str, table: str, out_parquet: Path, delivery_date: str,
               *, batch_rows: int = BATCH_ROWS) -> DeliveryManifest:
    """Read ``table`` over the Airflow connection ``conn_id`` into ``out_parquet``; return the manifest.

    A missing table makes the source ``missing``; header problems are recorded
    as for files.  Raises :class:`SourceUnavailable` when the connection is not
    configured or the server cannot be reached, ``ValueError`` for an
    unsupported connection type or table name.
    """
    info = connection_info(conn_id)
    if info.conn_type in POSTGRES:
        rows_iter = _read_postgres(info, table, batch_rows)
    elif info.conn_type in MYSQL:
        rows_iter = _read_mysql(info, table, batch_rows)
    else:
        raise ValueError(f"连接{conn_id!r}的类型{info.conn_type!r}不受支持（只支持 postgres、mysql）")
    file_name = f"sql://{conn_id}/{table}"
    manifest = DeliveryManifest(source=source_map.source, delivery_date=str(delivery_date), location=file_name,
                                raw_parquet=str(out_parquet))
    with RawWriter(source_map, out_parquet, str(delivery_date),
                   field_bytes=InputLimits.from_env().field_bytes) as writer:  # a huge cell quarantines its row
        columns = next(rows_iter)
        if columns is None:
            manifest.status = MISSING
            manifest.problems.append(f"交换库中没有表{table}（连接{conn_id}）")
            return manifest.finish(source_map.title_zh)
        fm = FileManifest(file_name=file_name, format="sql", encoding="utf-8")
        manifest.files.append(fm)
        match = record_header_problems(fm, source_map, columns)
        names = positional_names(len(columns))
        offset = 0
        for rows in rows_iter:
            frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row").with_columns(
                _row_no=pl.int_range(offset + 1, offset + 1 + len(rows), dtype=pl.Int32),
                _err=pl.lit(None, dtype=pl.String),
            )
            offset += len(rows)
            counts = writer.write(frame, match, file_name)
            fm.rows_read += counts.rows
            fm.summary_rows += counts.summary_rows
        log.info("read %s: %d rows", file_name, fm.rows_read)
    return manifest.finish(source_map.title_zh)
