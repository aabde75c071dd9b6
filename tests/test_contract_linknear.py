"""Session 32's link-cost round (BENCHMARKS.md, Session 32: link): what the cheaper near IDs and linker leave unchanged."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from hedui.settings import REQUESTS, sources
from hedui.steps import link_near
from matching.idnum import check_char, id_rows, is_valid18, transposed_codes, transpositions
from tests.test_link_near import _valid_ids as valid_ids

RUN = "20261128"


def _valid_ids(rnd: random.Random, n: int) -> list[str]:
    return valid_ids(rnd, n, ("360102", "110101", "360702", "361102"))


def _mask(idno: str | None) -> str | None:
    """hd_mask_id of a normalized ID (staging's `id_masked`)."""
    return None if idno is None else idno[:6] + "*" * (len(idno) - 10) + idno[-4:]


def test_BX01_the_check_character_swaps_only_with_place_8():
    """BX01: `transposed_codes` tries the check character against place 8 alone (weight 1: (c − a)(1 − w) ≡ 0 mod
    11 only there): the same swaps as every pair of places tried one by one, on random digits; and
    `code_births_real` is `real_births` of the IDs the codes stand for."""
    rnd = random.Random(1)
    ids = []
    for _ in range(4000):
        body = "".join(rnd.choice("0123456789") for _ in range(17))
        ids.append(body + check_char(body))
    rows, codes = transposed_codes(id_rows(ids))
    from matching.idnum import code_text

    got = set(zip(rows.tolist(), code_text(codes), strict=True))
    want = set()
    for k, s in enumerate(ids):
        for i in range(18):
            for j in range(i + 1, 18):
                if s[i] != s[j]:
                    t = s[:i] + s[j] + s[i + 1:j] + s[i] + s[j + 1:]
                    if is_valid18(t):
                        want.add((k, t))
    assert got == want and any(t[7] != ids[k][7] and t[17] != ids[k][17] for k, t in want)
    from matching.idnum import code_births_real, code_rows, real_births

    real = code_births_real(codes)  # maybe_near's birth test, from the numbers
    assert np.array_equal(real, real_births(code_rows(codes)[:, 6:14])) and real.any() and not real.all()


def test_BX02_a_mask_filter_keeps_every_transposition_and_drops_most_other_ids():
    """BX02: `maybe_near` may drop a delivered ID only when its mask (first 6 and last 4) is no member
    transposition's: every transposition of every member is kept (each kind: ten places apart, both visible, the
    check character), as are null and odd masks; most other valid IDs go."""
    rnd = random.Random(2)
    members = _valid_ids(rnd, 3000)
    near = [v for m in members[:500] for v in transpositions(m)]
    places = {tuple(i for i in range(18) if m[i] != v[i]) for m in members[:500] for v in transpositions(m)}
    assert {(1, 11), (3, 13), (4, 14), (5, 15), (7, 17)} <= places  # the kinds a mask sees differently
    others = _valid_ids(random.Random(3), 5000)
    others = [o for o in others if o not in set(members)]
    masks = [_mask(v) for v in near + others] + [None, "36********", "360102********12Y4"]
    keep = link_near.maybe_near(pa.array(masks, pa.string()), pa.array(members)).to_pylist()
    assert all(keep[:len(near)]) and all(keep[-3:])
    dropped = keep[len(near):len(near) + len(others)].count(False)
    assert dropped > len(others) // 2


def _world(con, members: list[str], records: list[tuple[str, str, str]], *, masked: bool = True) -> None:
    """stg_* tables as a working database filled before protection holds them (IDs stand for their tokens) and the
    pipeline's `source_records` view over them; `records` (source, id, name)."""
    con.sql("create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, id_number varchar, "
            "name_norm varchar, authorization_no varchar)")
    con.executemany("insert into stg_requests values (?, ?, ?, ?, '王平', 'SQ')",
                    [(RUN, f"R{i}", m, m) for i, m in enumerate(members)])
    parts = []
    for s in sources():
        if s == REQUESTS:
            continue
        con.sql(f"create table stg_{s} (run_date varchar, source varchar, record_id varchar, id_norm varchar, "
                f"id_status varchar, name_norm varchar, id_number varchar, file_name varchar, row_no integer, "
                f"delivery_date varchar{', id_masked varchar' if masked else ''})")
        rows = [(RUN, s, f"{s}:{i}", v, "valid", n, v, "f", i, RUN, *([_mask(v)] if masked else []))
                for i, (src, v, n) in enumerate(records) if src == s]
        if rows:
            con.executemany(f"insert into stg_{s} values ({', '.join('?' * len(rows[0]))})", rows)
        parts.append(f"select run_date, source, record_id, id_norm, id_status, name_norm, id_number, file_name, "
                     f"row_no, delivery_date from stg_{s}")
    con.sql("create view source_records as " + " union all ".join(parts))


@pytest.mark.parametrize("masked", [True, False])
def test_BX03_near_ids_are_the_same_with_fewer_ids_decrypted(masked):
    """BX03: `near_table` decrypts only the unmatched IDs whose mask may hide a member's transposition and finds
    the same (member, near ID) pairs as decrypting them all: each member's transpositions delivered under a record
    (not the registration's), none of the rest; without `id_masked` (a database filled before protection) it reads
    the view and decrypts them all."""
    from hedui.steps.link import _plain_table

    rnd = random.Random(4)
    members = _valid_ids(rnd, 400)
    near = [(m, v) for m in members[:60] for v in transpositions(m)[:2]]
    others = [o for o in _valid_ids(random.Random(5), 1500) if o not in set(members)]
    records = ([(rnd.choice(["bank", "tax", "social_insurance"]), v, "王平") for _, v in near]
               + [(rnd.choice(["bank", "tax", "vehicle"]), o, "李四") for o in others]
               + [("public_security", v, "王平") for v in transpositions(members[70])]
               + [("bank", m, "王平") for m in members[:30]])
    con = duckdb.connect()
    _world(con, members, records, masked=masked)
    decrypted: list[str] = []

    def plain_table(tokens):
        decrypted.extend(tokens)
        return _plain_table(tokens, None)

    link_near.near_table(con, RUN, _plain_table(members, None), plain_table)
    got = set(con.sql("select member_id, near_id from _hd_near_ids").fetchall())
    assert got == set(near)
    n_unmatched = len({v for _, v in near} | set(others))
    assert len(decrypted) == len(set(decrypted))
    assert (len(decrypted) < n_unmatched // 2) if masked else (len(decrypted) == n_unmatched)


def test_BX04_a_linker_with_every_u_fixed_samples_no_random_pairs(monkeypatch):
    """BX04: with every field's u given by the spec (hedui/linkage.yaml) the random pairs' counts set nothing, so
    the linker no longer samples them (`_u_counts`); the parameters are those the counts would have left."""
    from hedui.steps.link import SPEC_PATH
    from matching.linkage import LinkSpec, em, linker
    from matching.linkage.prepare import prepare

    spec = LinkSpec.from_yaml(SPEC_PATH)
    assert all(f.u is not None for f in spec.fields)
    con = duckdb.connect()
    con.sql("create table l as select * from (values ('a', '王平', '360102199001011234', date '1990-01-01', '3601'), "
            "('b', '李四', null, date '1985-05-05', '3607')) v(record_id, name, idno, birth, city)")
    con.sql("create table r as select * from (values ('m1', '王平', '360102199001011234', date '1990-01-01', "
            "'3601'), ('m2', '张三', '360702198505051234', date '1985-05-05', '3607')) "
            "v(member_key, name, idno, birth, city)")
    comps = linker._comparisons(spec)
    prep = prepare(con, "l", "r", spec, "__t")
    counts, floors = linker._u_counts(con, prep, spec, comps)
    with_counts = em.fixed_or_initial(comps, [f.m for f in spec.fields], [f.u for f in spec.fields], counts, floors)
    without = em.fixed_or_initial(comps, [f.m for f in spec.fields], [f.u for f in spec.fields],
                                  [None] * len(comps), [None] * len(comps))
    for a, b in zip(with_counts, without, strict=True):
        assert np.array_equal(a.m, b.m) and np.array_equal(a.u, b.u) and a.u_fixed and b.u_fixed

    def no_sample(*args, **kwargs):
        raise AssertionError("the u sample was drawn")

    monkeypatch.setattr(linker, "_u_counts", no_sample)
    result = linker.link_tables(con, "l", "r", spec, "pairs")
    assert result.n_link >= 1
    assert ("a", "m1") in set(con.sql("select left_id, right_id from pairs where decision = 'link'").fetchall())
