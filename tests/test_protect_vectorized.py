"""The staging protector's numpy twins (hedui.privacy.vectorized) give exactly what its SQL gives."""

from __future__ import annotations

import os
import random

import duckdb
import pyarrow as pa
import pytest

from hedui.privacy.protect import _mask_account_sql, _mask_id_sql
from hedui.privacy.vectorized import mask_accounts, mask_ids, pseudonym_strings

EDGES = ["", "1", "1234", "12345", "1234567890", "12345678901", "110101199001011234", "11010119900101123X"]


def _sql(con, expr: str, table: pa.Table) -> pa.Array:
    con.register("t", table)
    return con.sql(f"select {expr} from t").to_arrow_table().column(0).combine_chunks()


@pytest.mark.parametrize(("fast", "sql"), [(mask_ids, _mask_id_sql), (mask_accounts, _mask_account_sql)])
def test_masks_equal_the_sql_on_plain_ascii_values(fast, sql):
    rnd = random.Random(3)
    chars = [chr(c) for c in range(0x21, 0x7F)]
    values = pa.array(EDGES + ["".join(rnd.choice(chars) for _ in range(rnd.randint(0, 30))) for _ in range(5000)])
    want = _sql(duckdb.connect(), sql("v"), pa.table({"v": values}))
    assert fast(values).equals(want)
    assert fast(values.slice(5, 100)).equals(want.slice(5, 100))  # an array with an offset
    assert fast(pa.chunked_array([values.slice(0, 7), values.slice(7)])).equals(want)
    for width in (0, 4, 10, 11, 18):  # all of one length (the usual case: normalized IDs)
        same = pa.array([v[:width] for v in values.to_pylist() if len(v) >= width])
        assert fast(same).equals(_sql(duckdb.connect(), sql("v"), pa.table({"v": same})))


@pytest.mark.parametrize("fast", [mask_ids, mask_accounts])
@pytest.mark.parametrize("values", [[" 110101199001011234"], ["1101 0119 9001 0112"], ["张三丰"], ["123456789012", None],
                                    ["110101199001011234\t"]])
def test_masks_leave_other_values_to_the_sql(fast, values):
    assert fast(pa.array(values, pa.string())) is None


def test_pseudonym_hex_equals_the_sql():
    digests = [os.urandom(16) for _ in range(500)]
    want = _sql(duckdb.connect(), "'p1:' || lower(hex(p))", pa.table({"p": pa.array(digests, pa.binary())}))
    assert pseudonym_strings("p1:", digests).equals(want)
    assert pseudonym_strings("p1:", [digests[0], None]) is None
