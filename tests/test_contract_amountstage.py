"""Session 31 (amountstage): an amount column's cells that are no plain number parsed once per distinct (cell, scale)
(``hedui.steps.staging_checks.amount_lookups``), a plain number by ``try_cast`` where every such cell of the file is
``hd_amount``'s number.

Pinned: the staged rows, the quarantine (with its reasons) and the duplicates found are the same as with ``hd_amount``
on every row (the code before: ``AMOUNT_LOOKUP_MAX = 0``) on amounts as they come — units 万/元/人民币, thousands
separators, full-width digits, negatives in every form, blanks, none-words, rough, foreign and Chinese-numeral amounts,
scales 1, 10000 and none; the lookup's value is ``hd_amount``'s (to the bit) and the pre-filter's value the one before;
no lookup where a plain-looking cell is no ``hd_amount`` number (``nan``, ``1_000``) or the cells are too many; nothing
left on a given connection.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import load_map, raw_schema
from hedui.steps import staging_checks
from hedui.steps.dupkeys import dup_slots
from hedui.steps.ingest import stage_source
from hedui.steps.stage_db import load_macros
from hedui.steps.staging_checks import amount_coarse, amount_lookups, amount_value

RUN = "20261128"
FILE = f"social_insurance/{RUN}/si.csv"
ID1 = "11010519491231002X"
SI_COLUMNS = ["id_number", "name", "scheme", "category", "period_month", "contribution_base_yuan", "benefit_yuan",
              "employer"]

AMOUNTS = ["3000", "3,000", "3000元", "0.3万", "", " ", None, "约3万", "-5", "１２３", "3,000.00", "1.2万元", "3000.5",
           "¥3000", "￥3000", "3000.0000000001", "-0", "-0.00", "1e3", " 3000", "3000 ", "+5", ".5", "5.", "00012",
           "(3,000)", "3000-", "-3,000.50元", "3,000元整", "叁仟元", "USD 100", "$1,234", "1.000,50", "12,34",
           "3 000", "３，０００．００元", "3000。", "3000元。", "2万多", "１．２万", "RMB3000", "3000元人民币",
           "1,234,567.89", "0x10", "无", "/", "bad", "3000元(人民币)", "0.3萬", "-", "12345678901234567890123",
           "666.6700000000001", "1.5e2万", "\u30003000\u3000", "3000\u200b"]
SCALES = [1.0, 10000.0, None]


def si_raw(rows: list[dict], path):
    smap = load_map("social_insurance")
    schema = raw_schema(smap)
    data = {c: [] for c in schema.names}
    for no, r in enumerate(rows, start=2):
        for c in SI_COLUMNS:
            data[c].append(r.get(c))
        data["contribution_base_yuan__scale"].append(r.get("scale", 1.0))
        data["benefit_yuan__scale"].append(r.get("benefit_scale", 1.0))
        data["source"].append("social_insurance")
        data["delivery_date"].append(RUN)
        data["file_name"].append(FILE)
        data["row_no"].append(no)
        data["read_error"].append(None)
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def base(**kw) -> dict:
    return {"id_number": ID1, "name": "张三", "scheme": "失业保险", "category": "缴费", "period_month": "2025-11",
            "contribution_base_yuan": "3000", "benefit_yuan": None, "employer": "某公司", **kw}


def tricky_rows(amounts=AMOUNTS) -> list[dict]:
    rows = []
    for i, a in enumerate(amounts):  # every spelling at every scale, in both columns
        for j, s in enumerate(SCALES):
            rows.append(base(contribution_base_yuan=a, scale=s, benefit_yuan=amounts[(i + j) % len(amounts)],
                             benefit_scale=SCALES[(i + 2 * j) % len(SCALES)], period_month=f"2025-{1 + j:02d}"))
    # copies in another spelling of the amount (and scale): duplicates, as staged
    rows += [base(contribution_base_yuan="3,000.00"), base(contribution_base_yuan="3000元"),
             base(contribution_base_yuan="0.3", scale=10000.0), base(contribution_base_yuan="０.３万"),
             base(contribution_base_yuan="3000", benefit_yuan="1,234.5元", category="待遇"),
             base(contribution_base_yuan="3000", benefit_yuan="1234.50", category="待遇")]
    rows += [dict(r) for r in rows[:12]]
    return rows


def stage(raw, out, monkeypatch=None, limit=None):
    if monkeypatch is not None:
        monkeypatch.setattr(staging_checks, "AMOUNT_LOOKUP_MAX", limit)
    out.mkdir(exist_ok=True)
    counts = stage_source(raw, load_map("social_insurance"), RUN, out / "s.parquet", out / "q.parquet", manifest=None,
                          threads=2)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("row_no", "ascending"), *((c, "ascending") for c in t.column_names if c != "row_no"
                                                 and not pa.types.is_dictionary(t.schema.field(c).type))])


def _lookups(raw) -> dict[str, str]:
    con = duckdb.connect()
    load_macros(con, "select hd_amount(x, 1)")
    try:
        return amount_lookups(con, raw, load_map("social_insurance"))
    finally:
        con.close()


def test_BQ01_amounts_as_they_come_stage_as_with_hd_amount_per_row(tmp_path, monkeypatch):
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    lookups = _lookups(raw)
    assert set(lookups) == {"contribution_base_yuan", "benefit_yuan"}  # the lookup is taken …
    assert all("list_extract" in v for v in lookups.values())
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)  # … against hd_amount on every row (the code before)
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("duplicate", 0) >= 10
    assert (new[0].staged_rows, new[0].quarantined_rows) == (old[0].staged_rows, old[0].quarantined_rows)
    assert new[1].schema == old[1].schema and _sorted(new[1]).equals(_sorted(old[1]))
    assert new[2].equals(old[2])  # the quarantine, its reasons too, in delivery order
    assert new[0].by_rule.get("bad_amount", 0) >= 20
    assert new[1].num_rows >= 40


def test_BQ02_the_lookup_is_hd_amount_of_each_cell_and_scale_to_the_bit(tmp_path):
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    con = duckdb.connect()  # the optimizers all on: the lookup is cast only where it is handed the cell
    load_macros(con, "select hd_amount(x, 1)")
    lookups = amount_lookups(con, raw, load_map("social_insurance"))
    for column in ("contribution_base_yuan", "benefit_yuan"):
        col, scale = f'"{column}"', f'"{column}__scale"'
        value = amount_value(lookups[column]).format(col=col, scale=scale)
        coarse = amount_coarse(lookups[column]).format(col=col, scale=scale)
        before = (f"round(coalesce(case when {scale} = 1 then try_cast({col} as double) end, "
                  f"hd_amount({col}, {scale})), 2)")
        got = con.sql(f"select {col}, {scale}, {value} as a, hd_amount({col}, {scale}) as b, {coarse} as c, "
                      f"{before} as d from read_parquet($r)", params={"r": str(raw)}).fetchall()
        assert len(got) > 150
        for cell, s, a, b, c, d in got:  # a double's repr is its bits (-0.0 and 0.0 differ)
            assert (repr(a), repr(c)) == (repr(b), repr(d)), (cell, s)
        assert sum(a is not None for _, _, a, *_ in got) > 60
        assert {s for _, s, a, *_ in got if a is not None} == {1.0, 10000.0, None}
    # the pre-filter's hash as before
    smap = load_map("social_insurance")
    old, new = dup_slots(smap)["dup_hash"], dup_slots(smap, lookups=lookups)["dup_hash"]
    assert old != new
    load_macros(con, old + new)
    assert con.sql(f"select list(hash({old}) order by row_no) = list(hash({new}) order by row_no) "
                   f"from read_parquet($r)", params={"r": str(raw)}).fetchall() == [(True,)]
    con.close()


@pytest.mark.parametrize("cell", ["nan", "inf", "1_000", "3e400"])
def test_BQ03_no_lookup_where_a_plain_looking_cell_is_no_hd_amount_number(tmp_path, monkeypatch, cell):
    rows = [base(contribution_base_yuan=a, benefit_yuan=a) for a in ["3000", "3000元", "1,234.5", cell]]
    raw = si_raw(rows, tmp_path / "raw.parquet")
    assert _lookups(raw) == {}  # try_cast reads it as a number, hd_amount does not: hd_amount per row
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule["bad_amount"] == 1
    assert new[2].equals(old[2]) and _sorted(new[1]).equals(_sorted(old[1]))


def test_BQ04_no_lookup_with_too_many_cells_and_plain_numbers_alone_need_no_list(tmp_path, monkeypatch):
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    monkeypatch.setattr(staging_checks, "AMOUNT_LOOKUP_MAX", 5)
    assert _lookups(raw) == {}
    monkeypatch.setattr(staging_checks, "AMOUNT_LOOKUP_MAX", 5000)
    monkeypatch.setattr(staging_checks, "AMOUNT_PLAIN_MAX", 3)
    assert _lookups(raw) == {}
    monkeypatch.setattr(staging_checks, "AMOUNT_PLAIN_MAX", 200_000)
    plain = si_raw([base(contribution_base_yuan=a, benefit_yuan=None) for a in ["3000", "-0", " 12.5", None]],
                   tmp_path / "plain.parquet")
    assert _lookups(plain) == {c: "hd_amount({col}, {scale})" for c in ("contribution_base_yuan", "benefit_yuan")}


@pytest.mark.parametrize("limit", [5000, 0])
def test_BQ05_staging_on_a_given_connection_leaves_no_amount_type_behind(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(staging_checks, "AMOUNT_LOOKUP_MAX", limit)
    raw = si_raw(tricky_rows(), tmp_path / "raw.parquet")
    con = duckdb.connect()
    stage_source(raw, load_map("social_insurance"), RUN, tmp_path / "s.parquet", tmp_path / "q.parquet", con,
                 manifest=None, threads=1)
    assert con.sql("select count(*) from duckdb_types() where type_name like '_hd_%'").fetchall() == [(0,)]
    con.close()


SLOW_IDS = [f"代理人{ID1}", f"身份证:{ID1}", f"{ID1[:6]}-{ID1[6:14]}-{ID1[14:]}", f"（{ID1}）", f"'{ID1}", f"={ID1!r}",
            f"{ID1}。", "110105491231002", f"\u3000{ID1}\u3000", f"{ID1}/{ID1}", "１１０１０５１９４９１２３１００２Ｘ",
            "3.60102E+17", "bad", "", " ", None, ID1, ID1.lower(), f" {ID1} ", f"ID {ID1}"]


@pytest.mark.parametrize("limit", [5000, 0])
def test_BQ06_ids_on_neither_fast_path_looked_up_once_stage_as_per_row(tmp_path, monkeypatch, limit):
    from hedui.steps import dupkeys

    monkeypatch.setattr(dupkeys, "ID_SAMPLE_MIN", 1)
    rows = [base(id_number=v, contribution_base_yuan=str(3000 + i % 3)) for i, v in enumerate(SLOW_IDS * 3)]
    raw = si_raw(rows, tmp_path / "raw.parquet")
    smap = load_map("social_insurance")
    con = duckdb.connect()  # the optimizers all on
    load_macros(con, "select hd_id_clean_slow(x)")
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", limit)
    lookups = dupkeys.id_lookups(con, raw, smap)
    assert (list(lookups) == ["id_number"]) == (limit > 0)
    old, new = dup_slots(smap)["dup_hash"], dup_slots(smap, lookups=lookups)["dup_hash"]
    assert (old != new) == (limit > 0)
    load_macros(con, old + new)
    assert con.sql(f"select list(hash({old}) order by row_no) = list(hash({new}) order by row_no) "
                   f"from read_parquet($r)", params={"r": str(raw)}).fetchall() == [(True,)]
    con.close()
    got = stage(raw, tmp_path / "got")
    monkeypatch.setattr(dupkeys, "ID_LOOKUP_MAX", 0)
    per_row = stage(raw, tmp_path / "per_row")
    assert got[0].by_rule == per_row[0].by_rule and got[0].by_rule.get("duplicate", 0) >= 20
    assert _sorted(got[1]).equals(_sorted(per_row[1])) and got[2].equals(per_row[2])
