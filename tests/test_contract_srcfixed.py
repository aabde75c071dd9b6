"""Session 35 (srcfixed, BENCHMARKS.md).  A source's staging statements bound once:
``con.sql(q).to_arrow_…()`` binds ``q`` twice in DuckDB 2.0 (``con.sql`` asks the binder for the relation's
columns, the terminal binds it again to run it), and a bind expands every ``hd_*`` macro ``q`` calls.
``stage_db.arrow_of`` runs what the relation runs, bound once: the same rows and Arrow types as ``con.sql`` on
hostile statements (CN01), one bind (CN02), and a source staged through it is staged as through ``con.sql``
(CN03, CN04)."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from duckdb import _seam
from test_contract_stageps import DATES, bank_raw

from connectors import load_map
from hedui.steps import ingest, stage_db, staging_checks
from hedui.steps.stage_db import arrow_of, load_macros
from hedui.steps.staging_checks import month_lookups

RUN = "20261128"


def _general(con, sql, params=None, stream_rows=0):
    """The code before: the relation of ``con.sql``, then its Arrow terminal (a second bind)."""
    rel = con.sql(sql, params=params)
    return rel.to_arrow_reader(stream_rows) if stream_rows else rel.to_arrow_table()


def _cells() -> pa.Table:
    rnd = random.Random(35)
    pool = "0123456789-/年月日 　２０Xx'$;?\n\u200b陈𠀀"
    values = [*DATES, *("".join(rnd.choice(pool) for _ in range(rnd.randint(0, 14))) for _ in range(600))]
    return pa.table({"v": values, "n": list(range(len(values)))})


#: statements as staging writes them, and what may trip a runner that skips the relation: trailing
#: semicolons and comments, named and positional markers (a `$` and a `?` inside strings), lists and ENUMs,
#: no rows, CJK text
STATEMENTS = [
    ("select v, hd_date(v) as d, hd_month(v) as m from _hd_cells order by n", None),
    ("select v, hd_date_fast(v) as d, hd_date_is_fast(v) as f from _hd_cells order by n;", None),
    ("select v, cast(v as _hd_e) as e, [v, null] as l, {'a': n} as s from _hd_cells order by n ;  ; ", None),
    ("select n, v from _hd_cells where v = $x or v = '$x' or v = '?' order by n -- 注释 $y\n",
     {"x": "2026/11/26"}),
    ("select v, n from _hd_cells where list_contains($files, v) or n < $k order by n",
     {"files": ["2026-11-26", "无", ""], "k": 3}),
    ("select '身份证号 $1 ?' as t, v from _hd_cells where false", None),
    ("select hd_mask_id(v) as masked, regexp_matches(v, $p) as fix from _hd_cells order by n", {"p": "[陈x]"}),
]


@pytest.fixture()
def con():
    c = duckdb.connect()
    load_macros(c, "select hd_date(x), hd_month(x), hd_date_fast(x), hd_date_is_fast(x), hd_mask_id(x)")
    c.register("_hd_cells", _cells())
    c.execute("create temp type _hd_e as enum (select distinct v from _hd_cells where v is not null)")
    yield c
    c.close()


@pytest.mark.parametrize(("sql", "params"), STATEMENTS)
def test_CN01_arrow_of_gives_the_rows_and_types_con_sql_gives(con, sql, params):
    fast, general = arrow_of(con, sql, params), _general(con, sql, params)
    assert fast.schema == general.schema and fast.equals(general)
    reader = arrow_of(con, sql, params, 97)
    batches = list(reader)
    assert reader.schema == general.schema and all(b.num_rows <= 97 for b in batches)
    assert pa.Table.from_batches(batches, schema=reader.schema).equals(general)


def test_CN01b_arrow_of_refuses_what_con_sql_refuses(con):
    for sql, params in [("select nothing_here from _hd_cells", None), ("select $x as v", None),
                        ("select hd_no_such_macro(v) from _hd_cells", None)]:
        with pytest.raises(duckdb.Error):
            _general(con, sql, params)
        with pytest.raises(duckdb.Error):
            arrow_of(con, sql, params)


def test_CN02_arrow_of_binds_a_statement_once(con, monkeypatch):
    binds: list = []
    bind = _seam.bind
    monkeypatch.setattr(_seam, "bind", lambda *a, **k: binds.append(a[1]) or bind(*a, **k))
    sql = STATEMENTS[0][0]
    _general(con, sql)
    assert len(binds) == 1  # the relation's bind, then the run's own
    binds.clear()
    arrow_of(con, sql)
    arrow_of(con, sql, None, 10).read_all()
    assert binds == []  # only the run's own bind


def _stage(raw, out, monkeypatch, general: bool):
    out.mkdir()
    if general:
        for module in (ingest, staging_checks):
            monkeypatch.setattr(module, "arrow_of", _general)
    stage_db._drop_shared()
    counts = ingest.stage_source(raw, load_map("bank"), RUN, out / "s.parquet", out / "q.parquet",
                                 manifest=None, threads=2)
    monkeypatch.undo()
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def test_CN03_a_source_staged_with_statements_bound_once_is_staged_as_with_con_sql(tmp_path, monkeypatch):
    rnd = random.Random(3)
    dates = [*DATES, *(f"2026/{rnd.randint(0, 13)}/{rnd.randint(0, 32)}" for _ in range(150))]
    raw = bank_raw(dates, tmp_path / "raw.parquet")
    calls: list = []
    arrow = stage_db.arrow_of
    for module in (ingest, staging_checks):
        monkeypatch.setattr(module, "arrow_of", lambda *a, **k: calls.append(a) or arrow(*a, **k))
    fast = _stage(raw, tmp_path / "fast", monkeypatch, False)
    assert any("hd_date(" in c[1] for c in calls)  # the date lookup
    assert any("hd_name_norm(" in c[1] for c in calls) and any("_hd_ids" in c[1] for c in calls)  # names, IDs
    assert [c[3] for c in calls if len(c) > 3] == [ingest.SPLIT_BATCH_ROWS]  # the split's stream
    general = _stage(raw, tmp_path / "general", monkeypatch, True)
    assert fast[0].by_rule == general[0].by_rule and fast[0].by_rule.get("bad_date", 0) >= 10
    assert fast[0].by_rule.get("duplicate", 0) >= 100
    assert fast[0].staged_rows == general[0].staged_rows
    assert fast[0].quarantined_rows == general[0].quarantined_rows
    assert fast[1].schema == general[1].schema and fast[1].equals(general[1])
    assert fast[2].schema == general[2].schema and fast[2].equals(general[2])


def test_CN04_the_date_lookup_through_arrow_of_is_the_lookup_through_con_sql(tmp_path, monkeypatch):
    raw = bank_raw(DATES, tmp_path / "raw.parquet", copies=1)
    con = duckdb.connect()
    load_macros(con, "select hd_date(x)")
    fast = month_lookups(con, raw, load_map("bank"))
    monkeypatch.setattr(staging_checks, "arrow_of", _general)
    for t in staging_checks.lookup_types(load_map("bank")):
        con.execute(f"drop type if exists {t}")
    assert month_lookups(con, raw, load_map("bank")) == fast and "hd_date(" not in fast["query_date"]
    con.close()
