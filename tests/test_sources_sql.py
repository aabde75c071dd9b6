"""Exchange-table sources: a world where two departments answer through the real PostgreSQL and
MariaDB gives every household the same outcome and codes as the same world delivered as files.

The tables are filled from the generated files (their cells as text, under the departments'
headers, plus 交付日期) and their `<table>_ok` rows written, as a department's 前置机 would.
A server that is not reachable skips, except under CI (HEDUI_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import polars as pl
import pytest
from conftest import RUN_DATE, skip_or_fail

from connectors import load_map, read_delivery

pytestmark = pytest.mark.services

PREFIX = f"hedui_h6_{os.getpid()}"
SQL_SOURCES = {"social_insurance": "pg", "housing_fund": "my"}


def _rows_of(world: Path, source: str, tmp: Path) -> tuple[list[str], list[tuple]]:
    """The delivered file's data rows as text cells, under the map's headers (read by the connector)."""
    smap = load_map(source)
    raw = tmp / f"{source}_raw.parquet"
    manifest = read_delivery(smap, world / source / RUN_DATE, world, raw, RUN_DATE)
    assert manifest.status == "delivered", manifest.message_zh
    df = pl.read_parquet(raw)
    assert df["read_error"].null_count() == df.height  # every cell is representable in a table
    for c in smap.amount_columns:
        assert df[f"{c}__scale"].unique().to_list() == [1.0]
    headers = [c.header for c in smap.columns]
    return headers, list(df.select([c.column for c in smap.columns]).iter_rows())


def _pg():
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", connect_timeout=3,
                               autocommit=True)
    except psycopg.OperationalError as exc:
        skip_or_fail(f"PostgreSQL 127.0.0.1:5432 is not reachable: {exc}")


def _my():
    pymysql = pytest.importorskip("pymysql")
    try:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database="test",
                               charset="utf8mb4", connect_timeout=3, autocommit=True)
    except pymysql.err.OperationalError as exc:
        skip_or_fail(f"MariaDB 127.0.0.1:3306 is not reachable: {exc}")


def _fill(server: str, conn, table: str, headers: list[str], rows: list[tuple], ok_count: int | None) -> None:
    cols = headers + ["交付日期"]
    q = (lambda n: f'"{n}"') if server == "pg" else (lambda n: f"`{n}`")
    ddl = ", ".join(f"{q(c)} varchar(200)" for c in cols)
    stmts = [f"drop table if exists {q(table)}", f"drop table if exists {q(table + '_ok')}",
             f"create table {q(table)} ({ddl})",
             f"create table {q(table + '_ok')} ({q('交付日期')} varchar(8), {q('行数')} integer)"]
    with conn.cursor() as cur:
        for s in stmts:
            cur.execute(s + (" default charset utf8mb4" if server == "my" and s.startswith("create") else ""))
        marks = ", ".join(["%s"] * len(cols))
        cur.executemany(f"insert into {q(table)} values ({marks})", [(*r, RUN_DATE) for r in rows])
        # an earlier delivery in the same table must not be read for this date
        cur.execute(f"insert into {q(table)} values ({marks})", (*rows[0], "20261127"))
        cur.execute(f"insert into {q(table + '_ok')} values (%s, %s)", ("20261127", 1))
        if ok_count is not None:
            cur.execute(f"insert into {q(table + '_ok')} values (%s, %s)", (RUN_DATE, ok_count))


def _drop(server: str, conn, table: str) -> None:
    q = (lambda n: f'"{n}"') if server == "pg" else (lambda n: f"`{n}`")
    with conn.cursor() as cur:
        cur.execute(f"drop table if exists {q(table)}")
        cur.execute(f"drop table if exists {q(table + '_ok')}")


@pytest.fixture
def exchange(world, tmp_path, monkeypatch):
    """The world's social insurance in PostgreSQL and housing fund in MariaDB; a sources config naming them."""
    conns = {"pg": _pg(), "my": _my()}
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_H6_PG", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_H6_MY", json.dumps(
        {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "login": "root", "schema": "test"}))
    config = {"sources": {}}
    tables = {}
    for source, server in SQL_SOURCES.items():
        headers, rows = _rows_of(world, source, tmp_path)
        table = f"{PREFIX}_{source}"
        _fill(server, conns[server], table, headers, rows, len(rows))
        tables[source] = (server, table, headers, rows)
        config["sources"][source] = {"kind": "sql_table", "conn_id": f"hedui_h6_{server}", "table": table}
    path = tmp_path / "sources.yaml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(path))
    yield conns, tables
    for server, table, *_ in tables.values():
        _drop(server, conns[server], table)
    for c in conns.values():
        c.close()


def _outcomes(ctx) -> dict[str, tuple[str, str]]:
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}


def _codes(ctx) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        return con.sql("select request_id, code, coalesce(source, ''), is_confirmed, count(*) from findings "
                       "where run_date = ? group by all order by all", params=[ctx.run_date]).fetchall()
    finally:
        con.close()


def test_exchange_tables_give_the_same_outcomes_as_files_and_a_missing_ok_row_is_source_missing(world, world_run, exchange, tmp_path):
    from hedui.pipeline import RunContext, run

    files_ctx, _ = world_run
    ctx = RunContext.of(world, tmp_path / "work", RUN_DATE)
    run(ctx)
    for source, (_, table, _, rows) in exchange[1].items():
        man = json.loads(ctx.path("manifests", source, "json").read_text(encoding="utf-8"))["manifest"]
        assert man["status"] == "delivered", man["message_zh"]
        assert [f["file_name"] for f in man["files"]] == [f"{table}@hedui_h6_{SQL_SOURCES[source]}"]
        assert man["files"][0]["marker_count"] == len(rows) == man["rows_total"]
    got, want = _outcomes(ctx), _outcomes(files_ctx)
    assert len(want) == 60
    assert got == want
    assert _codes(ctx) == _codes(files_ctx)
    with open(ctx.report_dir / "reconciliation.csv", encoding="utf-8") as fh:
        recon = {r["source"]: r for r in csv.DictReader(fh)}
    assert recon["housing_fund"]["file"].endswith("@hedui_h6_my")
    assert int(recon["housing_fund"]["rows_delivered"]) == len(exchange[1]["housing_fund"][3])


    # the department has not written its completion row: the source is not delivered, nothing looks eligible
    from hedui.pipeline import assess, ingest_and_validate, link, load

    conns, tables = exchange
    server, table, headers, rows = tables["housing_fund"]
    _fill(server, conns[server], table, headers, rows, ok_count=None)
    ingest_and_validate(ctx, "housing_fund")  # re-running a source and the steps after it is safe
    for step in (load, link, assess):
        step(ctx)
    status = json.loads(ctx.path("status", "housing_fund", "json").read_text(encoding="utf-8"))
    assert status["status"] == "incomplete"
    assert f"完成标记表{table}_ok中没有{RUN_DATE}的记录" in status["reasons_zh"][0]
    import duckdb

    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        outcomes = con.sql("select request_id, outcome, findings from outcomes where run_date = ?",
                           params=[RUN_DATE]).fetchall()
    finally:
        con.close()
    assert len(outcomes) == 60
    assert not [r for r in outcomes if r[1] == "CLEAR"]
    assert all("SOURCE_MISSING" in f.split(";") for _, _, f in outcomes)
    assert {(c[1], c[2]) for c in _codes(ctx) if c[1] == "SOURCE_MISSING"} == {("SOURCE_MISSING", "housing_fund")}


def test_a_bad_sources_config_is_refused_before_anything_runs(tmp_path, monkeypatch, capsys):
    from hedui.cli import main

    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  shebao: {conn_id: x, table: t}\n  tax: {kind: sql_table, table: 'a b'}\n",
                   encoding="utf-8")
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(bad))
    assert main(["run", "--inbox", str(tmp_path / "in"), "--workdir", str(tmp_path / "w"), "--date", RUN_DATE]) == 2
    assert not (tmp_path / "w").exists()
    err = capsys.readouterr().err
    assert "sources.shebao：未知的数据来源，允许的来源：" in err and "social_insurance" in err
    assert "sources.tax.conn_id：交换表交付必须写明Airflow连接编号" in err
    assert "sources.tax.table：“a b”不是合法的表名" in err


def test_an_unknown_connection_is_refused_at_start(tmp_path, monkeypatch, capsys):
    from hedui.cli import main

    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources:\n  vehicle: {conn_id: hedui_h6_nowhere, table: cheguan}\n", encoding="utf-8")
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(cfg))
    monkeypatch.delenv("AIRFLOW_CONN_HEDUI_H6_NOWHERE", raising=False)
    assert main(["run", "--inbox", str(tmp_path / "in"), "--workdir", str(tmp_path / "w"), "--date", RUN_DATE]) == 2
    assert "sources.vehicle.conn_id：找不到Airflow连接'hedui_h6_nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
