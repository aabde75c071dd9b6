"""Report step CPU (session 33, reportworkers): a page worker's record tables read the household, member and
group keys only at the rows where a member or a table starts (`sqlhtml._values_at`, from the Arrow buffers),
not as a Python object per record; the tables and their keys are those of reading every row."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from hedui.steps.report import sqlhtml
from tests.test_contract_reportsort import HEADS, ROWS, _expected, _selects

TEXTS = ["330102199001011234", "", "张三（本人）", "a", "𠀀x", "330102199001011234", "bb", "e\u0301", "末"]


def _columns():
    """Columns of every kind `_values_at` reads: integers of several widths, texts of mixed lengths and
    scripts, large strings, slices (a non-zero Arrow offset), NULLs (read one by one), booleans."""
    ints = pa.array([5, -3, 2**40, 0, 7, 7, 9, 1, 2], type=pa.int64())
    yield ints
    yield pa.array([1, 2, 3, 4, 5, 6, 7, 8, 9], type=pa.int32())
    yield pa.array(TEXTS, type=pa.string())
    yield pa.array(TEXTS, type=pa.large_string())
    yield pa.array(["x"] + TEXTS, type=pa.string()).slice(1)
    yield pa.array([0] + ints.to_pylist(), type=pa.int64()).slice(1)
    yield pa.array(["a", None, "张", "", None, "b", "c", "d", "e"])
    yield pa.array([1, None, 3, 4, 5, 6, 7, 8, 9], type=pa.int64())
    yield pa.chunked_array([pa.array(TEXTS[:4]), pa.array(TEXTS[4:])]).combine_chunks()


@pytest.mark.parametrize("column", list(_columns()), ids=lambda c: str(c.type))
def test_CF01_values_at_are_the_columns_values_at_those_rows(column):
    """Each row asked for gives the value `to_pylist` gives there, for every kind of column and row set."""
    values = column.to_pylist()
    for rows in ([0], [len(values) - 1], [1, 2, 5], list(range(len(values))), [0, 3, 4, 8], []):
        got = sqlhtml._values_at(column, np.array(rows, dtype=np.int64))
        assert got == [values[i] for i in rows]
        assert [type(v) for v in got] == [type(values[i]) for i in rows]


@pytest.mark.parametrize("with_null", [False, True], ids=["ids", "ids-and-null"])
def test_CF02_record_tables_keyed_by_each_members_own_ids(with_null):
    """Member IDs of mixed lengths and scripts (with a NULL member: read one by one), many households: every
    table under its own (household, member) key with its own rows, as when every row's keys were read."""
    rng = np.random.default_rng(33)
    ids = ["330102199001011234", "A", "张三", "", "𠀀x", "33010219900101123X"] + ([None] if with_null else [])
    rows = list(ROWS)
    for _ in range(2000):
        src = int(rng.integers(0, 4))
        rows.append((int(rng.integers(1, 300)), ids[int(rng.integers(0, len(ids)))], 0 if src < 2 else 2, src,
                     f"file_{int(rng.integers(0, 3))}.csv", int(rng.integers(0, 50)),
                     f"<tr>{int(rng.integers(0, 10**6))}</tr>"))
    con = duckdb.connect()
    got = sqlhtml._member_records(con, _selects(con, rows), HEADS)
    assert got == _expected(con)
    assert (1, "A") in got and any(k[1] == "𠀀x" for k in got)
    assert any(k[1] is None for k in got) == with_null


@pytest.mark.parametrize("column", [
    pa.array([19000, 19000, None, -1, 0, 2932896, -719162, 19000], type=pa.date32()),
    pa.array([None, 20000, 20001, None], type=pa.date32()).slice(1),
    pa.array([5, 6, 7], type=pa.date32()).slice(1),
    pa.chunked_array([pa.array([1, None], type=pa.date32()), pa.array([None, 3], type=pa.date32())]),
    pa.array([], type=pa.date32()),
], ids=["mixed", "sliced-nulls", "sliced", "chunked", "empty"])
def test_CF03_dates_are_arrows_python_dates(column):
    """A part's date column as Python rows: each value the `datetime.date` (or None) Arrow gives, whatever
    the day (before 1970, the first and last representable days), NULLs, slices and chunks."""
    got = sqlhtml.day_values(column)
    assert got == column.to_pylist()
    assert [type(v) for v in got] == [type(v) for v in column.to_pylist()]


def test_CF04_a_parts_rows_read_dates_as_arrow_does():
    """`pages._objects` gives every column's values as `to_pylist` does, the date columns too."""
    import datetime as dt

    from hedui.steps.report import pages

    con = duckdb.connect()
    rel = con.sql("select i, case when i % 3 = 0 then null else date '2026-11-28' - (i % 5)::int end as d, "
                  "'x' || i as t from range(50) r(i) order by i")
    rows = pages._objects(rel)
    assert [tuple(r) for r in rows] == [tuple(r.values()) for r in rel.to_arrow_table().to_pylist()]
    assert rows[1].d == dt.date(2026, 11, 27) and rows[0].d is None
