"""Session 35 (bigstage): the per-row paths the large monthly sources (tax, social insurance) take in staging.

No staging code changed this session (the cuts measured did not pay: BENCHMARKS.md, session 35
bigstage).  Pinned here are the facts that measurement rests on and that a per-row cut must keep:
- ``hd_amount``'s fast paths (a plain decimal; thousands separators, as 27 % of tax's income cells
  ``3,630.00``; a trailing 元, as 20 % of social insurance's amounts ``3800元``) give ``parse_amount``'s
  value at scales 1 and 10000,
  and their near misses (a comma group of two digits, nine decimals, 元 with a space or a second unit) give the
  slow path's answer — so any reordering or guarding of the fast paths can be checked against it;
- the duplicates pre-filter of both monthly series finds the rows whose key is shared exactly as a brute-force
  count of the keys does (the grouping ``shared_keys`` does in SQL; a numpy twin was measured and left).
"""

from __future__ import annotations

import random

import duckdb
import pytest

from connectors import load_map
from hedui.steps.ingest import render
from hedui.steps.stage_db import load_macros
from matching.normalize import UnparseableAmount, parse_amount

NEAR_MISSES = ["1,23.00", "12,34", "1,234.123456789", "1,2345.00", "1,234.00 元", "1,234.00元元", "1,234,56",
               ",123.00", "1,234.", "-1,234.00", "+1,234.00", "1,234.00万", "1,234.00万元", "3800 元", "3800元整",
               "3800.123456789元", "00,123.00", "1,000,000,000,000,000,000,000,000,000,000,000.00",
               "¥3,630.00",
               "3,630.00元", "-3800元", "3800元。", "３,６３０.００", "3,630.00\u3000", "", "-", "元", "0,000.00"]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    load_macros(c, "select hd_amount(x, 1)")
    yield c
    c.close()


def _python(value: str, scale: int) -> float | None:
    try:
        return parse_amount(value, scale)
    except UnparseableAmount:
        return None


def _shapes(rng: random.Random) -> list[str]:
    out = []
    for _ in range(3000):
        whole = rng.choice([rng.randint(0, 999), rng.randint(1000, 999_999), rng.randint(10**6, 10**12)])
        grouped = f"{whole:,}"
        cents = rng.choice(["", f".{rng.randint(0, 99):02d}", f".{rng.randint(0, 10**8 - 1)}"])
        sign = rng.choice(["", "", "-"])
        out += [f"{sign}{grouped}{cents}", f"{sign}{whole}{cents}",
                f"{sign}{grouped}{cents}元", f"{sign}{whole}{cents}元"]
    return out


@pytest.mark.parametrize("scale", [1, 10000])
def test_CP01_the_amount_fast_paths_give_parse_amounts_value_and_their_near_misses_the_slow_paths(con, scale):
    values = _shapes(random.Random(35)) + NEAR_MISSES
    got = con.execute("select v, hd_amount(v, $s) from unnest($vs) t(v)",
                      {"vs": values, "s": scale}).fetchall()
    wrong = [(v, sql, _python(v, scale)) for v, sql in got if sql != _python(v, scale)]
    assert not wrong, wrong[:10]
    # the near misses hold unparseable cells too
    assert sum(_python(v, scale) is None for v in NEAR_MISSES) >= 8


@pytest.mark.parametrize("source", ["tax", "social_insurance"])
def test_CP02_the_narrowed_pre_filter_keeps_exactly_the_rows_whose_key_is_shared(source):
    sql = render("dup_candidates", load_map(source))
    start, end = sql.index("keyed as ("), sql.index("shared_keys as (")
    shared = sql[end:sql.index("hashed as (")]
    assert "group by _dup_key" in shared and "having count(*) > 1" in shared
    con = duckdb.connect()
    rng = random.Random(7)
    keys = [rng.randint(-(2**63), 2**63 - 1) for _ in range(20_000)]
    keys += rng.sample(keys, 300) + rng.sample(keys, 5)  # shared twice, and some three times
    rng.shuffle(keys)
    con.execute("create temp table keyed as select row_number() over () - 1 as file_row_number, "
                "cast(k as ubigint) as _dup_key from (select unnest($k) as k)",
                {"k": [k % 2**64 for k in keys]})
    narrowed = "with " + shared.rstrip().rstrip(",") + " select _narrowed_row from narrowed order by 1"
    got = [r for r, in con.sql(narrowed).fetchall()]
    counts: dict[int, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    assert got == [i for i, k in enumerate(keys) if counts[k] > 1] and len(got) >= 600
    assert "hash(" in sql[start:end]
    con.close()
