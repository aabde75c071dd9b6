"""SQL exchange tables (PostgreSQL, MySQL/MariaDB) → raw Parquet + manifest.

The connection comes from Airflow (``BaseHook.get_connection(conn_id)``,
which also reads ``AIRFLOW_CONN_<ID>`` variables, JSON or URI).  The table's
Chinese column names are mapped like a file's header.  Every column is cast
to text on the server (so dates, decimals and timestamps arrive in their
canonical text form), rows are ordered by all the table's columns for a
deterministic ``row_no`` and fetched in batches through a server-side
cursor.  ``file_name`` is ``<table>@<conn_id>``.

The exchange contract (docs/sources.md): the table holds every delivery, one
per ``交付日期`` (YYYYMMDD); ``<table>_ok`` (``交付日期``, ``行数``) says which
deliveries are complete and how many data rows they hold.  A DBA who writes
names in capitals names the companion ``<TABLE>_OK``: both spellings are
looked for, and on PostgreSQL a table named as it was created unquoted
(``SI_DATA``, which the server keeps as ``si_data``) is found under the name
the server folded it to.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from connectors.limits import InputLimits
from connectors.manifest import MISSING, DeliveryManifest, FileManifest, parse_count
from connectors.maps import SourceMap
from connectors.marker_hint import counted_extras, counted_extras_reason
from connectors.raw import RawWriter, positional_names, record_header_problems
from connectors.sheets import DEPARTMENTS_TIME_ZONE

log = logging.getLogger(__name__)

BATCH_ROWS = 50_000
POSTGRES = ("postgres", "postgresql")
#: PostgreSQL's ``money`` (its type OID): as text it is ``$1,234.56`` (the server's lc_monetary), not an amount
#: hedui reads — read as ``numeric``, the number it holds (yuan, as any amount column without a unit)
PG_MONEY = 790
#: the session hedui reads in, whatever the server's or the connection's settings: a timestamptz 交付日期 is its
#: Beijing day, a date is written 2026-11-28 (not 28/11/2026 under DateStyle SQL, DMY), a real or double as the
#: value it holds (not 6 or 15 digits under extra_float_digits 0)
PG_SESSION = f"-c TimeZone={DEPARTMENTS_TIME_ZONE} -c DateStyle=ISO,YMD -c extra_float_digits=3"
MYSQL = ("mysql", "mariadb")
#: MySQL/MariaDB's single-precision FLOAT (its type code in a cursor's description, pymysql FIELD_TYPE.FLOAT)
MYSQL_FLOAT = 4


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


DATE_COLUMN = "交付日期"
COUNT_COLUMN = "行数"
OK_SUFFIX = "_ok"
#: the companion's suffix as written: ``_ok`` (the contract), ``_OK`` (a DBA who writes names in capitals)
OK_SUFFIXES = (OK_SUFFIX, OK_SUFFIX.upper())


#: a delivery date column's text as YYYYMMDD, whatever its type or form: char 20261128, date
#: 2026-11-28, datetime / timestamp 2026-11-28 00:00:00, text 2026/11/28 or padded with spaces
_DAY = "left(replace(replace(trim({}), '-', ''), '/', ''), 8)"


def _ok_tables(parts: list[str]) -> list[list[str]]:
    """The companion tables of the table ``parts`` to look for, in order: ``<table>_ok``, then ``<table>_OK``."""
    return [parts[:-1] + [parts[-1] + suffix] for suffix in OK_SUFFIXES]


def _postgres_names(table: str) -> list[list[str]]:
    """``table`` as written, then as PostgreSQL folds an unquoted name (lower case) when that differs."""
    parts = _split_table(table)
    folded = [p.lower() for p in parts]
    return [parts] if folded == parts else [parts, folded]


def _read_postgres(info: ConnInfo, table: str, delivery_date: str, batch_rows: int):
    """Yield None (no such table) or (data columns, counts in ``<table>_ok`` for the date, whether the
    table has the date column), then the date's row batches."""
    import psycopg
    from psycopg import sql

    kwargs = {k: v for k, v in info.extra.items() if k in ("sslmode", "connect_timeout", "options", "application_name")}
    # after the connection's own options (``-c search_path=…``), which once replaced them: the last -c wins
    kwargs["options"] = " ".join(filter(None, [str(kwargs.get("options") or ""), PG_SESSION]))
    try:
        conn = psycopg.connect(host=info.host, port=info.port or 5432, user=info.login, password=info.password,
                               dbname=info.schema, **kwargs)
    except psycopg.OperationalError as exc:
        raise SourceUnavailable(f"无法连接PostgreSQL {info.host}:{info.port or 5432}：{exc}") from exc

    def day(column: str):  # the delivery date as YYYYMMDD text, whatever the column's type (see _DAY)
        return sql.SQL(_DAY.format("{}::text")).format(sql.Identifier(column))

    with conn:
        for parts in _postgres_names(table):
            try:
                cur = conn.execute(sql.SQL("select * from {} where false").format(sql.Identifier(*parts)))
                break
            except psycopg.errors.UndefinedTable:
                conn.rollback()
        else:
            yield None
            return
        ident = sql.Identifier(*parts)
        columns = [d.name for d in cur.description or []]
        money = {d.name for d in cur.description or [] if d.type_code == PG_MONEY}
        counts: list | str = "UndefinedTable"
        for ok_parts in _ok_tables(parts):
            try:
                counts = [r[0] for r in conn.execute(
                    sql.SQL("select distinct {}::text from {} where {} = %s").format(
                        sql.Identifier(COUNT_COLUMN), sql.Identifier(*ok_parts), day(DATE_COLUMN)),
                    [delivery_date]).fetchall()]
                break
            except psycopg.errors.UndefinedTable:
                conn.rollback()
            except psycopg.errors.UndefinedColumn as exc:
                conn.rollback()
                counts = type(exc).__name__
                break
        data = [c for c in columns if c != DATE_COLUMN]
        yield data, counts, DATE_COLUMN in columns, ".".join(ok_parts)
        if DATE_COLUMN not in columns:
            return
        select = sql.SQL("select {} from {} where {} = %s order by {}").format(
            sql.SQL(", ").join(sql.SQL("{}::numeric::text" if c in money else "{}::text").format(sql.Identifier(c))
                               for c in data),
            ident, day(DATE_COLUMN),
            sql.SQL(", ").join(sql.Identifier(c) for c in data),
        )
        with conn.cursor(name="hedui_read") as named:
            named.itersize = batch_rows
            named.execute(select, [delivery_date])
            while rows := named.fetchmany(batch_rows):
                yield rows


def _mysql_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _read_mysql(info: ConnInfo, table: str, delivery_date: str, batch_rows: int):
    """Like :func:`_read_postgres`, for MySQL/MariaDB."""
    import pymysql
    import pymysql.cursors

    try:
        conn = pymysql.connect(host=info.host, port=info.port or 3306, user=info.login, password=info.password or "",
                               database=info.schema, charset="utf8mb4", cursorclass=pymysql.cursors.SSCursor)
    except pymysql.err.OperationalError as exc:
        raise SourceUnavailable(f"无法连接MySQL {info.host}:{info.port or 3306}：{exc}") from exc
    ident = ".".join(_mysql_ident(p) for p in _split_table(table))

    def day(column: str) -> str:
        return _DAY.format(f"cast({_mysql_ident(column)} as char)")

    try:
        with conn.cursor() as cur:
            cur.execute("set time_zone = '+08:00'")  # a TIMESTAMP 交付日期 is a Beijing day, whatever the server's zone
            try:
                cur.execute(f"select * from {ident} where 1 = 0")
            except pymysql.err.ProgrammingError as exc:
                if exc.args and exc.args[0] == 1146:  # ER_NO_SUCH_TABLE
                    yield None
                    return
                raise
            columns = [d[0] for d in cur.description or []]
            # a FLOAT as text has 6 significant digits (12345678.9 → 12345700): read the value it holds as a double
            floats = {d[0] for d in cur.description or [] if d[1] == MYSQL_FLOAT}
            cur.fetchall()
        counts: list | str = "ProgrammingError"
        for ok_parts in _ok_tables(_split_table(table)):
            ok_ident = ".".join(_mysql_ident(p) for p in ok_parts)
            with conn.cursor() as cur:
                try:
                    cur.execute(f"select distinct cast({_mysql_ident(COUNT_COLUMN)} as char) from {ok_ident} "
                                f"where {day(DATE_COLUMN)} = %s", [delivery_date])
                    counts = [r[0] for r in cur.fetchall()]
                    break
                except (pymysql.err.ProgrammingError, pymysql.err.OperationalError) as exc:
                    if not exc.args or exc.args[0] not in (1146, 1054):  # no such table / column
                        raise
                    if exc.args[0] == 1054:
                        break
        data = [c for c in columns if c != DATE_COLUMN]
        yield data, counts, DATE_COLUMN in columns, ".".join(ok_parts)
        if DATE_COLUMN not in columns:
            return
        cols = ", ".join(f"cast(cast({_mysql_ident(c)} as double) as char)" if c in floats
                         else f"cast({_mysql_ident(c)} as char)" for c in data)
        order = ", ".join(_mysql_ident(c) for c in data)
        with conn.cursor() as cur:
            cur.execute(f"select {cols} from {ident} where {day(DATE_COLUMN)} = %s order by {order}",
                        [delivery_date])
            while rows := cur.fetchmany(batch_rows):
                yield rows
    finally:
        conn.close()


def _check_ok(fm: FileManifest, table: str, ok: str, delivery_date: str, counts) -> None:
    """The ``<table>_ok`` contract: a row for the date whose count equals the rows read.  A date may hold more
    than one row (a re-delivery writes its own): the delivery is complete when one of them matches.  ``ok`` is
    the companion table read (or looked for last)."""
    if isinstance(counts, str):
        wanted = "或".join(".".join(p) for p in _ok_tables(_split_table(table)))
        fm.fail(f"交换库中没有完成标记表{wanted}（需含列{DATE_COLUMN}、{COUNT_COLUMN}），无法确认交付完整")
        return
    if not counts:
        fm.fail(f"完成标记表{ok}中没有{delivery_date}的记录，部门可能尚未写完，本次按未交付处理")
        return
    numbers = [parse_count(c) for c in counts]  # 2, 2.00 (numeric), 2行 (text)
    if fm.rows_read in numbers:
        fm.marker_count = fm.rows_read
        return
    if None in numbers:
        bad = counts[numbers.index(None)]
        said = "为空" if bad is None or not str(bad).strip() else f"“{str(bad)[:20]}”不是整数"  # NULL was “None”
        fm.fail(f"完成标记表{ok}中{delivery_date}的行数{said}，无法确认交付完整；请部门在该行写明数据行数")
        return
    fm.marker_count = numbers[-1]
    written = "、".join(str(n) for n in sorted(set(numbers)))
    if fm.complete and len(set(numbers)) == 1 and (what := counted_extras(fm, headered=False)):  # a 合计 row counted
        fm.fail(counted_extras_reason(f"完成标记表{ok}写明{delivery_date}有{written}行，实际读到{fm.rows_read}行", fm, what,
                                      "补齐后重新写入该日期的数据及完成标记行")
                .replace("把完成标记改写为", "把完成标记行的行数改写为"))
        return
    fm.fail(f"完成标记表{ok}写明{delivery_date}有{written}行，实际读到{fm.rows_read}行，交付可能不完整，请部门核对后重新写入该日期的数据及完成标记行")


def file_name_of(conn_id: str, table: str) -> str:
    """How a table delivery is named in manifests and citations: ``<table>@<conn_id>``."""
    return f"{table}@{conn_id}"


def read_table(source_map: SourceMap, conn_id: str, table: str, out_parquet: Path, delivery_date: str,
               *, batch_rows: int = BATCH_ROWS) -> DeliveryManifest:
    """Read the rows of ``delivery_date`` from ``table`` over the Airflow connection ``conn_id``.

    The delivery is the table's rows whose ``交付日期`` is ``delivery_date``
    (YYYYMMDD; a date-typed column works too); it is complete when
    ``<table>_ok`` holds a row for that date whose ``行数`` equals the rows
    read (合计 rows not counted), else the source is ``incomplete`` (not
    delivered, as for files).  No table, or neither rows nor a completion row
    for the date: ``missing``.  Header problems are recorded as for files.
    Raises :class:`SourceUnavailable` when the connection is not configured or
    the server cannot be reached, ``ValueError`` for an unsupported
    connection type or table name.
    """
    delivery_date = str(delivery_date)
    _split_table(table)  # a bad name fails before any connection
    info = connection_info(conn_id)
    if info.conn_type in POSTGRES:
        rows_iter = _read_postgres(info, table, delivery_date, batch_rows)
    elif info.conn_type in MYSQL:
        rows_iter = _read_mysql(info, table, delivery_date, batch_rows)
    else:
        raise ValueError(f"连接{conn_id!r}的类型{info.conn_type!r}不受支持（只支持 postgres、mysql）")
    file_name = file_name_of(conn_id, table)
    manifest = DeliveryManifest(source=source_map.source, delivery_date=delivery_date, location=file_name,
                                raw_parquet=str(out_parquet))
    with RawWriter(source_map, out_parquet, str(delivery_date),
                   field_bytes=InputLimits.from_env().field_bytes) as writer:  # a huge cell quarantines its row
        head = next(rows_iter)
        if head is None:
            manifest.status = MISSING
            manifest.problems.append(f"交换库中没有表{table}（连接{conn_id}）")
            return manifest.finish(source_map.title_zh)
        columns, counts, has_date, ok = head
        fm = FileManifest(file_name=file_name, format="sql", encoding="utf-8")
        manifest.files.append(fm)
        if not has_date:
            fm.fail(f"交换表{table}没有交付日期列“{DATE_COLUMN}”，无法确定{delivery_date}的交付；请部门按约定建表")
        match = record_header_problems(fm, source_map, columns)
        names = positional_names(len(columns))
        offset = 0
        # the delivery's hash, as a file's: its columns and rows as read, in order (a re-run on rows a department
        # corrected since is noticed; without it every table delivery had no hash and looked unchanged)
        digest = hashlib.sha256("\x1f".join(columns).encode("utf-8"))
        for rows in rows_iter:
            frame = pl.DataFrame(rows, schema=dict.fromkeys(names, pl.String), orient="row")
            digest.update(frame.write_csv(include_header=False, null_value="\\N").encode("utf-8"))
            frame = frame.with_columns(
                _row_no=pl.int_range(offset + 1, offset + 1 + len(rows), dtype=pl.Int32),
                _err=pl.lit(None, dtype=pl.String),
            )
            offset += len(rows)
            counts_ = writer.write(frame, match, file_name)
            fm.rows_read += counts_.rows
            fm.summary_rows += counts_.summary_rows
        fm.sha256 = digest.hexdigest()
        log.info("read %s for %s: %d rows", file_name, delivery_date, fm.rows_read)
        if has_date and not fm.rows_read and not fm.summary_rows and counts == []:
            manifest.files.clear()
            manifest.status = MISSING
            manifest.problems.append(f"交换表{table}中没有{delivery_date}的交付，{ok}中也没有完成记录")
            return manifest.finish(source_map.title_zh)
        _check_ok(fm, table, ok, delivery_date, counts)
    return manifest.finish(source_map.title_zh)
