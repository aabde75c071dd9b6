"""SQL connector against the local PostgreSQL and MariaDB, through AIRFLOW_CONN_* connections.

A server that is not reachable skips these tests, except under CI
(``HEDUI_REQUIRE_SERVICES=1``), where it fails them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest

from connectors import load_map, read_table
from connectors.sqltable import SourceUnavailable

pytestmark = pytest.mark.services

DATE = "20261128"
ID1 = "11010519491231002X"
ID2 = "360102198501011238"
COLUMNS = ["身份证号", "姓名", "险种", "类别", "月份", "缴费基数", "待遇金额", "单位名称", "交付日期"]
ROWS = [
    (ID2, "李四", "企业职工基本养老保险", "缴费", "2026-10", 5000.00, None, "某公司", DATE),
    (ID1, "张三", "城乡居民基本养老保险", "待遇", "2026-09", None, 180.50, None, DATE),
    (ID1, "张三", "城乡居民基本养老保险", "待遇", "2026-09", None, 180.50, None, DATE),  # delivered twice
    ("合计", None, None, None, None, 5000.00, 361.00, None, DATE),
    (ID2, "李四", "企业职工基本养老保险", "缴费", "2026-09", 4800.00, None, "某公司", "20261127"),  # earlier
]
OK_ROWS = [(DATE, 3), ("20261127", 1)]


def _unavailable(reason: str) -> None:
    if os.environ.get("HEDUI_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (required: HEDUI_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture
def table_name() -> str:
    return f"hedui_test_si_{os.getpid()}"


@pytest.fixture
def pg(table_name, monkeypatch):
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3,
                               autocommit=True)
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL 127.0.0.1:5432 (user postgres, db test) is not reachable: {exc}")
    cols = ", ".join(f'"{c}" {t}' for c, t in zip(COLUMNS, [
        "varchar(18)", "varchar(50)", "varchar(50)", "varchar(10)", "varchar(7)", "numeric(12,2)", "numeric(12,2)",
        "varchar(100)", "varchar(8)"], strict=True))
    conn.execute(f'drop table if exists "{table_name}"')
    conn.execute(f'drop table if exists "{table_name}_ok"')
    conn.execute(f'create table "{table_name}" ({cols})')
    conn.execute(f'create table "{table_name}_ok" ("交付日期" date, "行数" integer)')
    with conn.cursor() as cur:
        cur.executemany(f'insert into "{table_name}" values ({", ".join(["%s"] * len(COLUMNS))})', ROWS)
        cur.executemany(f'insert into "{table_name}_ok" values (%s, %s)', OK_ROWS)
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    yield conn
    conn.execute(f'drop table if exists "{table_name}"')
    conn.execute(f'drop table if exists "{table_name}_ok"')
    conn.close()


@pytest.fixture
def mysql(table_name, monkeypatch):
    pymysql = pytest.importorskip("pymysql")
    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test",
                               charset="utf8mb4", connect_timeout=3, autocommit=True)
    except pymysql.err.OperationalError as exc:
        _unavailable(f"MariaDB 127.0.0.1:3306 (user root, db test) is not reachable: {exc}")
    cols = ", ".join(f"`{c}` {t}" for c, t in zip(COLUMNS, [
        "varchar(18)", "varchar(50)", "varchar(50)", "varchar(10)", "varchar(7)", "decimal(12,2)", "decimal(12,2)",
        "varchar(100)", "char(8)"], strict=True))
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists `{table_name}`, `{table_name}_ok`")
        cur.execute(f"create table `{table_name}` ({cols}) default charset utf8mb4")
        cur.execute(f"create table `{table_name}_ok` (`交付日期` char(8), `行数` int) default charset utf8mb4")
        cur.executemany(f"insert into `{table_name}` values ({', '.join(['%s'] * len(COLUMNS))})", ROWS)
        cur.executemany(f"insert into `{table_name}_ok` values (%s, %s)", OK_ROWS)
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_TEST_MY", json.dumps(
        {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": "test"}))
    yield conn
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists `{table_name}`, `{table_name}_ok`")
    conn.close()


def _check(manifest, out: Path, conn_id: str, table: str) -> None:
    assert manifest.status == "delivered", manifest.message_zh
    f = manifest.files[0]
    assert (f.file_name, f.format, f.rows_read, f.summary_rows, f.complete) == (
        f"{table}@{conn_id}", "sql", 3, 1, True)
    assert f.marker_count == 3
    df = pl.read_parquet(out)
    # ordered by all columns: ID1 (twice, both delivered), then ID2
    assert df["id_number"].to_list() == [ID1, ID1, ID2]
    assert df["row_no"].to_list() == [1, 2, 3]  # the 合计 row sorts last (digits before 汉字) and is skipped
    assert df["name"].to_list() == ["张三", "张三", "李四"]
    assert df["period_month"].to_list() == ["2026-09", "2026-09", "2026-10"]
    assert df["contribution_base_yuan"].to_list() == [None, None, "5000.00"]
    assert df["benefit_yuan"].to_list() == ["180.50", "180.50", None]
    assert df["contribution_base_yuan__scale"].to_list() == [1.0] * 3
    assert df["file_name"].unique().to_list() == [f"{table}@{conn_id}"]
    assert df["delivery_date"].unique().to_list() == [DATE]
    assert df["read_error"].null_count() == 3


def test_postgres_table_with_chinese_columns_is_read_through_an_airflow_connection(pg, table_name, tmp_path):
    out = tmp_path / "si.parquet"
    manifest = read_table(load_map("social_insurance"), "hedui_test_pg", table_name, out, DATE, batch_rows=2)
    _check(manifest, out, "hedui_test_pg", table_name)


def test_postgres_schema_qualified_table(pg, table_name, tmp_path):
    out = tmp_path / "si.parquet"
    manifest = read_table(load_map("social_insurance"), "hedui_test_pg", f"public.{table_name}", out, DATE)
    assert manifest.status == "delivered" and manifest.rows_total == 3


def test_mariadb_table_with_chinese_columns_is_read_through_an_airflow_connection(mysql, table_name, tmp_path):
    out = tmp_path / "si.parquet"
    manifest = read_table(load_map("social_insurance"), "hedui_test_my", table_name, out, DATE, batch_rows=2)
    _check(manifest, out, "hedui_test_my", table_name)


def test_a_missing_table_makes_the_source_missing(pg, mysql, tmp_path):
    for conn_id in ("hedui_test_pg", "hedui_test_my"):
        out = tmp_path / f"{conn_id}.parquet"
        manifest = read_table(load_map("social_insurance"), conn_id, "no_such_table_hedui", out, DATE)
        assert manifest.status == "missing"
        assert "交换库中没有表no_such_table_hedui" in manifest.message_zh
        assert pl.read_parquet(out).height == 0


def test_the_ok_table_decides_completeness(pg, mysql, table_name, tmp_path):
    """<table>_ok contract: no row for the date, or a count that differs → incomplete (not delivered)."""
    with pg.cursor() as cur:
        cur.execute(f'update "{table_name}_ok" set "行数" = 4 where "交付日期" = %s', [DATE])
    with mysql.cursor() as cur:
        cur.execute(f"delete from `{table_name}_ok` where `交付日期` = %s", [DATE])
    pg_m = read_table(load_map("social_insurance"), "hedui_test_pg", table_name, tmp_path / "p.parquet", DATE)
    assert pg_m.status == "incomplete" and "写明20261128有4行，实际读到3行" in pg_m.message_zh
    my_m = read_table(load_map("social_insurance"), "hedui_test_my", table_name, tmp_path / "m.parquet", DATE)
    assert my_m.status == "incomplete" and "中没有20261128的记录" in my_m.message_zh
    earlier = read_table(load_map("social_insurance"), "hedui_test_my", table_name, tmp_path / "e.parquet", "20261127")
    assert earlier.status == "delivered" and earlier.rows_total == 1
    none = read_table(load_map("social_insurance"), "hedui_test_pg", table_name, tmp_path / "n.parquet", "20261126")
    assert none.status == "missing" and "没有20261126的交付" in none.message_zh


def test_a_delivery_date_kept_as_a_timestamp_or_in_another_text_form_is_found(pg, mysql, table_name, tmp_path):
    """Exchange databases type 交付日期 as they like: datetime / timestamp, or text with slashes or spaces."""
    with pg.cursor() as cur:
        cur.execute(f'alter table "{table_name}" alter column "交付日期" type timestamp '
                    f'using to_timestamp("交付日期", \'YYYYMMDD\')')
        cur.execute(f'alter table "{table_name}_ok" alter column "交付日期" type timestamptz')
    with mysql.cursor() as cur:
        cur.execute(f"alter table `{table_name}` modify `交付日期` varchar(20)")
        cur.execute(f"update `{table_name}` set `交付日期` = ' 2026/11/28' where `交付日期` = %s", [DATE])
        cur.execute(f"alter table `{table_name}_ok` modify `交付日期` datetime")
    for conn_id in ("hedui_test_pg", "hedui_test_my"):
        out = tmp_path / f"{conn_id}.parquet"
        manifest = read_table(load_map("social_insurance"), conn_id, table_name, out, DATE)
        _check(manifest, out, conn_id, table_name)


def test_an_unconfigured_connection_raises_with_what_to_do(tmp_path):
    with pytest.raises(SourceUnavailable, match="AIRFLOW_CONN_HEDUI_NOT_CONFIGURED"):
        read_table(load_map("social_insurance"), "hedui_not_configured", "t", tmp_path / "x.parquet", DATE)


def test_an_unreachable_server_raises(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_DOWN", "postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(SourceUnavailable, match="无法连接PostgreSQL"):
        read_table(load_map("social_insurance"), "hedui_down", "t", tmp_path / "x.parquet", DATE)


def test_a_mariadb_float_amount_is_read_as_the_value_it_holds_not_six_digits(mysql, table_name, tmp_path):
    """A department's FLOAT column (single precision) as text has 6 significant digits: a contribution base of
    123,456.78 came as "123457" and 12,345,678.9 as "12345700" — amounts off by up to a few hundred yuan. Read as
    the double the column holds, they are off by no more than float32 itself (≤ 1 fen here)."""
    with mysql.cursor() as cur:
        cur.execute(f"alter table `{table_name}` modify `缴费基数` float, modify `待遇金额` float(12,2)")
        cur.execute(f"update `{table_name}` set `缴费基数` = 12345678.9 where `缴费基数` = 5000")
        cur.execute(f"update `{table_name}` set `待遇金额` = 123456.78 where `待遇金额` is not null")
    out = tmp_path / "si.parquet"
    manifest = read_table(load_map("social_insurance"), "hedui_test_my", table_name, out, DATE)
    assert manifest.status == "delivered", manifest.message_zh
    df = pl.read_parquet(out)
    bases = [float(v) for v in df["contribution_base_yuan"].to_list() if v is not None]
    benefits = [float(v) for v in df["benefit_yuan"].to_list() if v is not None]
    assert len(bases) == 1 and abs(bases[0] - 12345678.9) < 1  # float32 holds 12345679
    assert len(benefits) == 2 and all(abs(b - 123456.78) < 0.01 for b in benefits)
