"""Stage cost (session 27, stagecost): one staging database per worker process, its ``hd_*`` macros made once
(hedui.steps.stage_db).  A source worker stages several sources one after another on it: nothing one source
makes (temp tables, the lineage ENUM, registered views, the names UDF) may reach the next, and each source's
staged and quarantined rows are those staging it alone on a fresh connection gives."""

from __future__ import annotations

import os

import duckdb
import polars as pl
import pytest
from test_staging import GIVEN, ID1, RUN, bank_raw, manifest

from connectors import load_map, read_delivery
from hedui.steps import stage_db
from hedui.steps.ingest import stage_source


def _si_raw(tmp_path):
    inbox = tmp_path / "inbox"
    folder = inbox / "social_insurance" / RUN
    folder.mkdir(parents=True)
    lines = ["身份证号,姓名,险种,类别,月份,缴费基数,待遇金额,单位名称",
             f"{ID1},張三,失业保险,缴费,202610,\"3,000\",,某公司",
             f"{ID1},张三,失业保险,缴费,2026-10,3000,,某公司",  # the same row (陳/陈, 202610/2026-10): duplicate
             f"{ID1},张三,失业保险,缴费,2026年13月,3000,,某公司"]
    (folder / "si.csv").write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    (folder / "si.csv.ok").write_text("3")
    smap = load_map("social_insurance")
    return tmp_path / "si_raw.parquet", smap, read_delivery(smap, folder, inbox, tmp_path / "si_raw.parquet", RUN)


def _stage(raw, smap, m, out, con=None):
    counts = stage_source(raw, smap, RUN, out / f"{smap.source}.parquet", out / f"{smap.source}.q.parquet", con,
                          manifest=m)
    return (counts.staged_rows, counts.quarantined_rows, counts.by_rule,
            pl.read_parquet(out / f"{smap.source}.parquet"), pl.read_parquet(out / f"{smap.source}.q.parquet"))


def _same(a, b):
    assert a[:3] == b[:3]
    assert a[3].equals(b[3]) and a[4].equals(b[4])


@pytest.mark.parametrize("order", [("bank", "social_insurance"), ("social_insurance", "bank")])
def test_BE01_sources_staged_one_after_another_in_a_process_are_each_as_staged_alone(tmp_path, order):
    stage_db._drop_shared()
    si_raw, si_map, si_manifest = _si_raw(tmp_path)
    given = {"bank": (bank_raw(GIVEN, tmp_path / "bank_raw.parquet"), load_map("bank"), manifest("文件未传完")),
             "social_insurance": (si_raw, si_map, si_manifest)}
    shared, alone = tmp_path / "shared", tmp_path / "alone"
    shared.mkdir()
    alone.mkdir()
    results = {s: _stage(*given[s], shared) for s in order}
    for source in order:
        con = duckdb.connect()  # the old way: a fresh connection, its temp macros loaded for the source
        _same(results[source], _stage(*given[source], alone, con))
        con.close()
    assert results["social_insurance"][2] == {"bad_month": 1, "duplicate": 1}
    # the next source's connection: the macros, and nothing any source made
    con = stage_db._shared[0][1].cursor()
    assert con.sql("select count(*) from duckdb_tables()").fetchall() == [(0,)]
    assert con.sql("select count(*) from duckdb_views() where not internal").fetchall() == [(0,)]
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    assert con.sql("select count(*) from duckdb_functions() where function_name = 'hd_name_as_staged'").fetchall() \
        == [(0,)]
    assert con.sql("select hd_mask_id($i)", params={"i": ID1}).fetchall()[0][0] != ID1
    con.close()


def test_BE02_the_macros_are_made_once_per_process_and_each_source_has_its_own_temp_objects(tmp_path):
    stage_db._drop_shared()
    a = stage_db.stage_connection(1, "1GB", tmp_path)
    b = stage_db.stage_connection(1, "1GB", tmp_path)
    assert len(stage_db._shared) == 1
    a.execute("create temp table _hd_dups as select 1 as x")
    a.execute("create temp type _hd_lineage as enum ('a')")
    assert b.sql("select count(*) from duckdb_tables() where table_name = '_hd_dups'").fetchall() == [(0,)]
    assert b.sql("select count(*) from duckdb_types() where type_name = '_hd_lineage'").fetchall() == [(0,)]
    made = b.sql("select count(distinct function_name) from duckdb_functions() where function_type like '%macro' "
                 "and schema_name = 'main' and function_name like 'hd_%'").fetchall()[0][0]
    assert made == len(stage_db._macro_statements()[0])  # every macro of sql/macros.sql, not temp
    a.close()
    b.close()
    stage_db._drop_shared()


def test_BE03_other_settings_make_a_new_database_and_the_spill_folder_made_goes_with_the_old(tmp_path):
    stage_db._drop_shared()
    own = tmp_path / f".duckdb_tmp_stage_{os.getpid()}"
    stage_db.stage_connection(1, "1GB", tmp_path).close()
    assert own.is_dir()
    given = tmp_path / "given_spill"
    given.mkdir()
    con = stage_db.stage_connection(1, "512MB", tmp_path, given)
    assert not own.exists()  # the first database's own folder, removed with it
    assert con.sql("select current_setting('memory_limit')").fetchall()[0][0].startswith("488")
    con.close()
    stage_db._drop_shared()
    assert given.is_dir()  # a folder the caller gave is the caller's


def _stage_bank_twice(folder, _source):
    raw = bank_raw(GIVEN, folder / f"raw_{os.getpid()}.parquet")
    for i in range(2):
        stage_source(raw, load_map("bank"), RUN, folder / f"s{i}.parquet", folder / f"q{i}.parquet",
                     manifest=manifest("文件未传完"))
    return os.getpid(), sorted(p.name for p in folder.glob(".duckdb_tmp_stage_*"))


def test_BE04_a_source_worker_leaves_no_spill_folder_when_it_ends(tmp_path):
    from hedui.steps.source_pool import run_sources

    out = run_sources(_stage_bank_twice, tmp_path, ["bank"], 1, 1)
    pid, during = out["bank"]
    assert during == [f".duckdb_tmp_stage_{pid}"]  # one for the process, both sources on it
    assert not list(tmp_path.glob(".duckdb_tmp_stage_*"))  # gone with the worker (os._exit: no atexit there)
