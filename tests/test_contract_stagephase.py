"""Session 34 (stagephase, BENCHMARKS.md).  The staging protector's crypto fed bytes by Arrow, and its
pseudonyms' hex by ``bytes.hex``: the same pseudonyms and tokens as the per-value ``str`` loops before
(CG01–CG05).  A date column's lookup by ``hd_date_fast`` when every cell is on ``hd_date``'s fast paths: the
same value as ``hd_date`` on every cell of them, and the same staging as ``hd_date`` per row (CG06, CG07)."""

from __future__ import annotations

import os
import random

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac

from hedui.privacy import keys as keys_module
from hedui.privacy import request_ids
from hedui.privacy.keys import Keys
from hedui.privacy.protect import StreamProtector
from hedui.privacy.request_ids import protect_request_ids
from hedui.privacy.vectorized import pseudonym_strings
from hedui.steps import staging_checks
from hedui.steps.stage_db import load_macros

#: cells a delivery may hold: protected already (either prefix, or the prefix alone), empty, spaces, CJK,
#: astral characters, a NUL, the prefixes' look-alikes (upper case, full-width colon, inside a value)
HOSTILE = ["110101199001011234", "11010119900101123x", "", " ", "　110101199001011234", "p1:", "p1:abc",
           "P1:abc", "p1：abc", "a1:", "a1:tok", "s1:tok", "A1:tok", "xa1:tok", " p1:abc", "陈雨一", "𠀀𪚥",
           "\x00", "x\x00y", "p", "a1", "s1:", "ｐ1:abc", "6222 0212 3456 7890", "3.60102E+17", None]


def make_keys(cipher: str = "aes-gcm") -> Keys:
    return Keys(bytes([7]) * 32, bytes([77]) * 32, cipher=cipher)


def _old_digest(k: Keys, v: str | None) -> bytes | None:
    """The loop before: a str per value, its own prefix test, encoded to UTF-8."""
    if v is None or v.startswith("p1:"):
        return None
    h = crypto_hmac.HMAC(k.pseudonym_key, hashes.SM3())
    h.update(v.encode("utf-8"))
    return h.finalize()[:16]


def _values() -> list[str | None]:
    rnd = random.Random(34)
    pool = [chr(c) for c in (*range(0x20, 0x7F), 0x3000, 0x4E00, 0x9FA5, 0xFF10, 0x1F600)]
    return HOSTILE + ["".join(rnd.choice(pool) for _ in range(rnd.randint(0, 24))) for _ in range(3000)]


def _arrays(values: list[str | None]):
    """The values as a list, a string array, a large string array, a chunked and a sliced array."""
    arr = pa.array(["pad", *values, "pad"], pa.string()).slice(1, len(values))
    return {"list": values, "string": pa.array(values, pa.string()),
            "large": pa.array(values, pa.large_string()),
            "chunked": pa.chunked_array([arr.slice(0, 5), arr.slice(5)]), "sliced": arr}


def test_CG01_pseudonym_digests_equal_the_per_value_loop_on_hostile_values():
    k = make_keys()
    values = _values()
    want = [_old_digest(k, v) for v in values]
    for kind, array in _arrays(values).items():
        assert k.pseudonym_digests(array) == want, kind
    assert k.pseudonym_digests(pa.array([], pa.string())) == []
    assert k.pseudonym_digests(pa.array([None, None], pa.string())) == [None, None]
    assert k.pseudonyms(pa.array(values)) == [v if d is None else "p1:" + d.hex()
                                              for v, d in zip(values, want, strict=True)]


@pytest.mark.parametrize("cipher", ["aes-gcm", "sm4-gcm"])
def test_CG02_tokens_decrypt_to_each_value_and_skip_tokens_and_nulls(cipher):
    k = make_keys(cipher)
    values = _values()
    for kind, array in _arrays(values).items():
        raw = k.encrypt_raw_many(array)
        assert len(raw) == len(values), kind
        for v, r in zip(values, raw, strict=True):
            if v is None or v.startswith(("a1:", "s1:")):
                assert r is None, (kind, v)
            else:
                assert k.decrypt(k.token_prefix + keys_module.base64.b64encode(r).decode()) == v, (kind, v)
        nonces = [r[:12] for r in raw if r is not None]
        assert len(set(nonces)) == len(nonces)  # a fresh nonce per value
    assert k.encrypt_many(values) is not None


def test_CG03_plain_bytes_of_arrow_and_of_python_agree():
    values = _values()
    for prefixes in (("p1:",), ("a1:", "s1:")):
        want = [None if v is None or v.startswith(prefixes) else v.encode("utf-8") for v in values]
        for kind, array in _arrays(values).items():
            assert keys_module._plain_bytes(array, prefixes) == want, (kind, prefixes)


def test_CG04_pseudonym_hex_equals_per_digest_hex():
    rnd = random.Random(5)
    digests = [bytes(rnd.randrange(256) for _ in range(16)) for _ in range(2000)]
    digests += [b"\x00" * 16, b"\xff" * 16]
    got = pseudonym_strings("p1:", digests)
    assert got.to_pylist() == ["p1:" + d.hex() for d in digests]
    assert pseudonym_strings("p1:", [digests[0], None]) is None
    assert pseudonym_strings("p1:", [digests[0], b"\x01" * 15]) is None
    assert pseudonym_strings("p1:", []) is None
    assert pseudonym_strings("q:", [os.urandom(32)]).to_pylist()[0].startswith("q:")


def test_CG05_stream_protector_on_hostile_rows_as_the_per_value_functions(tmp_path):
    k = make_keys()
    values = _values()
    table = pa.table({"id_norm": values, "id_number": list(reversed(values)), "account_no": values})
    p = StreamProtector(k, tmp_path / "x.parquet", account_columns=("account_no",))
    p.schema(table.schema)
    out = pa.concat_tables([p(table.slice(0, 1000)), p(table.slice(1000))])
    p.close()
    assert out.column("id_norm").to_pylist() == [
        v if v is None or v.startswith("p1:") else k.pseudonym(v) for v in values]
    for column, plain in (("id_number", list(reversed(values))), ("account_no", values)):
        for v, t in zip(plain, out.column(column).to_pylist(), strict=True):
            assert t == v if v is None or v.startswith(("a1:", "s1:")) else k.decrypt(t) == v
    distinct = {v for v in values if v is not None}
    assert p.counts == {"id_norm": len({v for v in distinct if not v.startswith("p1:")}),
                        "id_number": len({v for v in distinct if not v.startswith(("a1:", "s1:"))}),
                        "account_no": len({v for v in distinct if not v.startswith(("a1:", "s1:"))})}


# -- a date column's lookup by hd_date_fast when every cell is on hd_date's fast paths -------------------

FAST_YEARS = (1000, 1599, 1600, 1800, 1899, 1900, 1957, 1958, 1999, 2000, 2024, 2025, 2026, 2100, 9999)
DATE_HOSTILE = [
    "２０２６-１１-２６", "２０２６１１２６", " 2026-11-26", "2026-11-26 ", "\u30002026-11-26", "2026-11-26\u200b",
    "2026-1-26", "026-11-26", "02026-11-26", "0202611260", "2026112", "202611260", "=20261126", "'2026-11-26",
    "2026/11/26", "2026.11.26", "2026–11–26", "2026_11_26", "", "-", "2.0261126E+7", "20261126.0",
    "0000-00-00", "00000000", "01234567", "2026-11-26\n", "\n20261126", "2026-11-2６", "2026-11", "202611",
    "2026年11月26日", "45678", "2026-11-26 10:00:00", "2026-11-26星期四", "2026-11-26（周四）"]


def _date_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    load_macros(con, "select hd_date(x), hd_date_fast(x), hd_date_is_fast(x)")
    return con


def test_CG06_hd_date_fast_is_hd_date_on_every_cell_of_its_paths_and_no_hostile_cell_is_on_them():
    con = _date_con()
    years = ", ".join(map(str, FAST_YEARS))
    grid = f"from unnest([{years}]) a(y), range(0, 100) b(m), range(0, 100) c(d)"  # months and days 00-99
    cells = (f"select cast(y as varchar) || '-' || lpad(cast(m as varchar), 2, '0') || '-' "
             f"|| lpad(cast(d as varchar), 2, '0') as v {grid} "
             f"union all select cast(y * 10000 + m * 100 + d as varchar) {grid} "
             "union all select cast(10000000 + (n * 7919) % 90000000 as varchar) from range(0, 200000) t(n)")
    bad, fast, valid = con.sql(
        "select count(*) filter (where not hd_date_is_fast(v) "
        "or hd_date_fast(v) is distinct from hd_date(v)), "
        f"count(*) filter (where hd_date_is_fast(v)), count(hd_date_fast(v)) from ({cells})").fetchall()[0]
    assert (bad, fast) == (0, 2 * len(FAST_YEARS) * 10_000 + 200_000) and valid > 10_000
    con.register("h", pa.table({"v": DATE_HOSTILE}))
    assert con.sql("select v from h where hd_date_is_fast(v) or hd_date_fast(v) is not null").fetchall() == []
    con.close()


def test_CG07_bank_with_fast_dates_staged_by_the_fast_lookup_is_staged_with_hd_date_per_row(tmp_path,
                                                                                            monkeypatch):
    from tests.test_contract_stageps import DATES, bank_raw, stage

    fast = ["2026-11-26", "20261126", "2026-02-30", "20260230", "2024-02-29", "20250229", "1899-12-31",
            "9999-12-31", "1000-01-01", "20261332", "2026-00-10", "19571231", "19580101", None]
    raw = bank_raw(fast, tmp_path / "raw.parquet")
    con = _date_con()
    cells = staging_checks._distinct_cells(con, raw, "query_date", 100)
    assert staging_checks._date_macro(con, cells) == "hd_date_fast"
    mixed = bank_raw(DATES, tmp_path / "mixed.parquet")
    mixed = staging_checks._distinct_cells(con, mixed, "query_date", 100)
    assert staging_checks._date_macro(con, mixed) == "hd_date"
    con.close()
    new = stage(raw, tmp_path / "new")
    old = stage(raw, tmp_path / "old", monkeypatch, 0)  # no lookup: hd_date on every row
    assert new[0].by_rule == old[0].by_rule and new[0].by_rule.get("bad_date", 0) >= 4
    assert new[0].by_rule.get("duplicate", 0) >= 5
    assert new[1].schema == old[1].schema and new[1].sort_by("row_no").equals(old[1].sort_by("row_no"))
    assert new[2].equals(old[2])


# -- request ids carrying an ID number: per distinct value, ASCII values first by a province run --------

def _old_protect_request_ids(values, keys):
    """protect_request_ids before session 34: a Python look per row whose value has a run of 15 digits."""
    from hedui.privacy.request_ids import _CANDIDATE, KEY_PURPOSE, staged_request_id

    candidates = pc.fill_null(pc.match_substring_regex(values, _CANDIDATE), False)
    if not pc.any(candidates).as_py():
        return values
    key = keys.derived_key(KEY_PURPOSE)
    return [staged_request_id(v, key) if maybe else v
            for v, maybe in zip(values.to_pylist(), candidates.to_pylist(), strict=True)]


def _id18(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _request_ids() -> list[str | None]:
    ids = [_id18("36010219900307123"), _id18("11010519491231002"), _id18("82000020000229000"),
           _id18("20010119900101123"), _id18("36010219900230123")]
    legacy = ["360102900307123", "110105491231002", "200101900101123", "360102901332123"]
    full = [i.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")) for i in ids[:2]]
    circled = ["①" + ids[0][1:], ids[0][:17] + "⑨", "³" + legacy[0][1:]]
    words = ["WT202611280000001", "WT2026112800000010", "", " ", "WT-", "委托", None]
    out = [*ids, *legacy, *full, *circled, *words]
    for i in ids + legacy:
        out += [f"WT-{i}", f"{i}-01", f"X{i}Y", f"9{i}", f"{i}9", f"{i.lower()}", f"{i}x", f"{i} {i}",
                f"委托{i}号", f"{i[:9]}\u200b{i[9:]}", f"WT{i}", f"{i[:-1]}"]
    rnd = random.Random(16)
    pool = "0123456789XxWT- 　０１３６①"
    out += ["".join(rnd.choice(pool) for _ in range(rnd.randint(10, 24))) for _ in range(2000)]
    out += [rnd.choice(ids + legacy) for _ in range(500)]  # repeats: one agency's id on several rows
    return out


def test_CG08_request_ids_per_distinct_value_as_per_row_on_hostile_ids(monkeypatch):
    k = make_keys()
    values = _request_ids()
    want = _old_protect_request_ids(pa.array(values, pa.string()), k)
    assert sum(a != b for a, b in zip(want, values, strict=True)) >= 40  # many carry an ID
    for array in (pa.array(values, pa.string()), pa.chunked_array([values[:7], values[7:]], pa.string())):
        assert protect_request_ids(array, k).to_pylist() == want
    plain = pa.array(["WT202611280000001", "WT202611280000002", None, "WT2026112800000010"])
    assert protect_request_ids(plain, k) is plain  # none carries one: the same array
    # the ASCII regex alone decides for plain values: a 15-digit run without a province code: no Python look
    calls = []
    monkeypatch.setattr(request_ids, "staged_request_id", lambda v, key: calls.append(v) or v)
    protect_request_ids(plain, k)
    assert calls == []
