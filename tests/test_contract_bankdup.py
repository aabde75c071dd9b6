"""Session 34 (bankdup): a source with an account number (bank, insurance, securities) narrows its duplicates
pre-filter by the account's staged value first (``dupkeys.NARROW_TYPES``, ``_key_value``), and its IDs are then
parsed on the narrowed rows alone (no ``id_lookups``).

Pinned: the account's key value is ``hd_account`` of the cell on hostile and generated cells (its fast path is
capital letters and digits alone); staging hostile bank rows (copies whose account, ID or amount is written another
way, the same ID with another account, the same account with another ID, masked, empty and blank accounts and IDs,
full-width and spaced cells) finds the same duplicates, stages and quarantines as the un-narrowed pre-filter
(``NARROW_TYPES = ()``: the code before); which sources are narrowed by what.
"""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors import load_map, raw_schema
from hedui.steps import dupkeys
from hedui.steps.ingest import render, stage_source
from hedui.steps.stage_db import load_macros

RUN = "20261128"
FILE = f"bank/{RUN}/bank_01.csv"
ID1, ID2 = "11010519491231002X", "360102199003071231"
ACC = "6228480000000000001"
FULL = str.maketrans("0123456789AX", "０１２３４５６７８９ＡＸ")

ACCOUNT_HOSTILE = [ACC, ACC.translate(FULL), "6228 4800 0000 0000 001", "6228-4800-0000-0000-001", "'" + ACC,
                   "\u2018" + ACC, ACC + "\u3000", " " + ACC, ACC + "\u200b", "6228****0001", "6228＊＊＊＊0001",
                   "A026174386", "a026174386", "ａ026174386", "P2300846297588707", "p2300846297588707", "", " ", "-",
                   "--", "'", "\u3000", None, "6228\n4800", "ABC-", "-ABC", "0", "00", "ÄB", "ß1", "Ⅻ1", "①2", "x",
                   "6228_4800", "6228.4800", "6,228", "=\"6228\"", "'-6228", "-'6228", "６２２８ ４８００", "Ｐ123"]


def _id18(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def test_CM01_the_account_key_value_is_hd_account_of_the_cell():
    spec = next(s for s in load_map("bank").columns if s.type == "account")
    expr = dupkeys._key_value(spec, None, None).replace('"account_no"', "v")
    con = duckdb.connect()
    load_macros(con, f"select {expr}, hd_account(v)")
    rnd = random.Random(34)
    pool = "0123456789ABCXYZabcxyz -'＊*０Ａ\u3000"
    cells = ACCOUNT_HOSTILE + ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 12))) for _ in range(3000)]
    cells += ["".join(rnd.choice("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rnd.randint(1, 24)))
              for _ in range(3000)]
    con.register("h", pa.table({"v": pa.array(cells, pa.string())}))
    bad = con.sql(f"select v, {expr}, hd_account(v) from h where ({expr}) is distinct from hd_account(v)").fetchall()
    assert bad == []
    (fast,), = con.sql("select count(*) from h where regexp_full_match(v, '[0-9A-Z]+')").fetchall()
    assert fast > 3000  # the fast path taken, and the slow one too
    con.close()


def _row(**kw) -> dict:
    return {"institution": "某银行", "name": "张三", "id_number": ID1, "account_no": ACC, "account_type": "活期",
            "balance_yuan": "1000", "query_date": "2026/11/26", **kw}


def _hostile_rows() -> list[dict]:
    rows = [_row(), _row()]  # an exact copy
    rows += [_row(account_no=a) for a in ACCOUNT_HOSTILE[1:9]]  # the same account written other ways: copies
    rows += [_row(account_no=a) for a in ACCOUNT_HOSTILE[9:]]  # masked, letters, blank, empty, odd: some copies
    # masked and blank accounts once more with another balance (no other account has a raw twin: a key of the raw
    # cell, or of one not as staged, would leave its copies out)
    rows += [_row(account_no=a, balance_yuan="2000") for a in ("6228****0001", "", " ", None, "-")]
    rows += [_row(account_no="6228480000000000002"), _row(account_no="6228480000000000003", account_type="定期"),
             _row(id_number=ID2), _row(id_number=ID2, account_no="6228480000000000002"),  # same account, other ID
             _row(id_number=ID1.lower()), _row(id_number=" " + ID1), _row(id_number="110105491231002"),
             _row(id_number=ID1.translate(FULL)), _row(id_number="代理人" + ID1), _row(id_number=""),
             _row(id_number=None), _row(id_number=" "), _row(id_number="", account_no=""),
             _row(id_number=None, account_no=None), _row(id_number="", account_no=" "),
             _row(balance_yuan="1,000.00"), _row(balance_yuan="0.1万"), _row(balance_yuan="１０００"),
             _row(account_type="活期存款"), _row(account_type="活期。"), _row(name="陳三"), _row(name=" 张三"),
             _row(query_date="2026-11-26"), _row(query_date="20261126"), _row(institution="某银行 ")]
    rows += [_row(id_number=_id18(f"3601021990{i:07d}"), account_no=f"62284800{i:011d}") for i in range(40)]
    rows += [dict(r) for r in rows[-60:]]  # copies of others
    return rows


def _raw(rows: list[dict], path):
    schema = raw_schema(load_map("bank"))
    data = {c: [] for c in schema.names}
    for no, r in enumerate(rows, start=2):
        for c, v in (*r.items(), ("balance_yuan__scale", 1.0), ("source", "bank"), ("delivery_date", RUN),
                     ("file_name", FILE), ("row_no", no), ("read_error", None)):
            data[c].append(v)
    pq.write_table(pa.table(data, schema=schema), path)
    return path


def _stage(raw, out):
    out.mkdir()
    counts = stage_source(raw, load_map("bank"), RUN, out / "s.parquet", out / "q.parquet", manifest=None, threads=2)
    return counts, pq.read_table(out / "s.parquet"), pq.read_table(out / "q.parquet")


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by([("row_no", "ascending"), *((c, "ascending") for c in t.column_names if c != "row_no"
                                                 and not pa.types.is_dictionary(t.schema.field(c).type))])


def test_CM02_bank_narrowed_by_its_accounts_finds_the_duplicates_of_the_un_narrowed_pre_filter(tmp_path, monkeypatch):
    raw = _raw(_hostile_rows(), tmp_path / "raw.parquet")
    assert "semi join narrowed" in render("dup_candidates", load_map("bank"))
    new = _stage(raw, tmp_path / "new")
    monkeypatch.setattr(dupkeys, "NARROW_TYPES", ())
    assert "semi join narrowed" not in render("dup_candidates", load_map("bank"))
    old = _stage(raw, tmp_path / "old")
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("duplicate", 0) >= 80
    dups = set(pa.compute.filter(new[2].column("row_no"), pa.compute.equal(new[2].column("rule"), "duplicate"))
               .to_pylist())
    assert {3, 4, 5, 6, 7, 8, 9, 10} <= dups  # the account's other forms are copies of row 2
    assert new[1].schema == old[1].schema and _sorted(new[1]).equals(_sorted(old[1]))
    assert new[2].equals(old[2])


@pytest.mark.parametrize("source, key", [("bank", ["account_no"]), ("insurance", ["policy_no"]),
                                         ("securities", ["securities_account"]),
                                         ("social_insurance", ["id_number", "period_month"]), ("tax", ["id_number"]),
                                         ("public_security", []), ("civil_affairs", [])])
def test_CM03_which_sources_are_narrowed_and_by_what(source, key):
    slots = dupkeys.dup_slots(load_map(source))
    assert bool(slots["dup_narrowed"]) is bool(key) and bool(slots["dup_key"]) is bool(key)
    assert all(f'"{c}"' in slots["dup_key"] for c in key)
    assert ('"id_number"' in slots["dup_key"]) is ("id_number" in key)


def test_CM04_a_source_narrowed_without_its_id_makes_no_id_lookup(tmp_path, monkeypatch):
    bad = [f"身份证:{_id18(f'3601021990{i:07d}')}" for i in range(150)]
    raw = _raw([_row(id_number=b, account_no=f"6228{i:08d}") for i, b in enumerate(bad)], tmp_path / "raw.parquet")
    con = duckdb.connect()
    load_macros(con, "select hd_id_clean_slow(x)")
    assert dupkeys.id_lookups(con, raw, load_map("bank")) == {}
    monkeypatch.setattr(dupkeys, "NARROW_TYPES", ())  # un-narrowed: its slow IDs looked up as before
    assert list(dupkeys.id_lookups(con, raw, load_map("bank"))) == ["id_number"]
    con.close()
