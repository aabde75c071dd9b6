"""Records under an ID two characters of a member's ID swapped (a typist's slip the check character does not catch).

Transpositions are symmetric: a record's ID is one of a member's near IDs exactly when the member's ID is one of the
record's (`matching.idnum.transpositions`: the same pairs of places, both IDs valid with a real birth date).  So the
nightly computes them from the delivered IDs that are no member's and never pseudonymizes the members' near IDs:
≈ 4 HMACs per member (≈ 4.7 M at province) become one decryption per distinct delivered ID that matched nobody
(≈ 1.7 M at province: about the same CPU, BENCHMARKS.md session 20, but no pseudonym of an ID nobody delivered).
The urgent path, a handful of members against a copy of the working tables, keeps `near_ids` (the members' side,
keyed as the tables key them).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hedui import db
from matching.idnum import transposition_pairs

#: the working-table keys and one token each of the IDs delivered under a record that a probabilistic link may take
#: as a near ID (prob_left.sql's near branch: not the registration's, not a legacy 15-digit ID) and that are no
#: authorized member's own, with the mask staging wrote of the ID (`id_masked`: a function of the normalized ID, so
#: any row's)
_UNMATCHED_IDS = """
    select id_norm, any_value(id_number) as token, {mask} as mask from {records}
    where run_date = $run_date and id_norm is not null and id_number is not null and name_norm is not null
      and source <> 'public_security' and id_status <> 'converted_15'
      and id_norm not in (select id_norm from hd_authorized($run_date))
    group by id_norm
"""


def _unmatched_sql(con) -> str:
    """`_UNMATCHED_IDS` over the staged tables `source_records` reads, with their `id_masked` (staging's first 6 and
    last 4 characters of the normalized ID, which the view leaves out); over the view itself, no mask, where a
    table has none (a working database filled before protection)."""
    from hedui.settings import REQUESTS, sources

    tables = [f"stg_{s}" for s in sources() if s != REQUESTS]
    masked = {t for (t,) in con.sql("select distinct table_name from duckdb_columns() "
                                    "where column_name = 'id_masked'").fetchall()}
    if not tables or not set(tables) <= masked:
        return _UNMATCHED_IDS.format(mask="null::varchar", records="source_records")
    records = " union all ".join(f"select run_date, source, id_norm, id_status, name_norm, id_number, id_masked "
                                 f"from {t}" for t in tables)
    return _UNMATCHED_IDS.format(mask="any_value(id_masked)", records=f"({records})")


def _rows18(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(index, rows): which values of the strings `values` are 18 bytes long, and those values as an n × 18 array
    of their bytes (read from the Arrow buffer: no Python string made)."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if values.type != pa.string():
        values = values.cast(pa.string())
    is18 = pc.fill_null(pc.equal(pc.binary_length(values), 18), False)
    index = np.flatnonzero(is18.to_numpy(zero_copy_only=False))
    picked = values.filter(is18)
    if not len(picked):
        return index, np.zeros((0, 18), dtype=np.uint8)
    offsets = np.frombuffer(picked.buffers()[1], dtype=np.int32)[picked.offset:picked.offset + len(picked) + 1]
    data = np.frombuffer(picked.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return index, data.reshape(-1, 18)


def _member_rows(member_norms: pa.Array) -> np.ndarray:
    """The members' distinct valid IDs with a real birth date, as an n × 18 array of their bytes."""
    from matching.idnum import real_births, valid_rows

    _, m = _rows18(pc.unique(member_norms.drop_null()))
    return m[valid_rows(m) & real_births(m[:, 6:14])]


def maybe_near(masks: pa.Array, member_norms: pa.Array) -> pa.Array:
    """Which of `masks` (staging's `id_masked` of the IDs delivered: first 6 and last 4 characters) may hide a valid
    ID two characters of a member's swapped: the masks of every member's transpositions, as numbers (false only
    where the mask is one of staging's and none of those; a null or other mask may).  A transposition always moves a
    visible character (ten places apart or with the check character), so one delivered ID in twelve passes at tenth
    size, and only those need decrypting (the share grows with the members: BENCHMARKS.md session 32)."""
    from matching.idnum import code_births_real, code_mask_keys, mask_keys, transposed_codes

    index, rows = _rows18(masks)
    ok, key = mask_keys(rows)
    _, codes = transposed_codes(_member_rows(member_norms))
    codes = codes[code_births_real(codes)]  # a delivered ID born on no real day has no normalized form to match
    keep = np.ones(len(masks), dtype=bool)
    near = pc.is_in(pa.array(key), value_set=pa.array(code_mask_keys(codes))).to_numpy(zero_copy_only=False)
    keep[index[ok & ~near]] = False
    return pa.array(keep)


def authorized_members(con) -> None:
    """Temp macro `hd_authorized(run_date)`: the run's requested members with an ID and an authorization on file
    (sql/link/authorized_members.sql), which the link step's queries read; made once stg_requests is there."""
    con.sql(db.sql_text("link/authorized_members.sql"))


def valid_members(members: pa.Table) -> pa.Table:
    """The member rows whose normalized ID is a valid 18-character one."""
    from matching.idnum import VALID

    return members.filter(pc.and_(pc.equal(members.column("status"), VALID),
                                  pc.greater(pc.utf8_length(members.column("norm")), 0)))


def swapped_onto(member_norms: pa.Array, others: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(member, other): each valid ID of `others` that is a valid ID of `member_norms` two characters swapped,
    with that member's ID; computed from the side of `others` (the transpositions of the few, looked up among
    the many by `id_codes`, as numbers: only the hits become strings)."""
    from matching.idnum import as_text, code_text, id_codes, transposed_codes

    _, o = _rows18(pc.unique(others.drop_null()))
    m = _member_rows(member_norms)
    if not len(o) or not len(m):
        return pa.array([], pa.string()), pa.array([], pa.string())
    rows, near = transposed_codes(o)
    hit = pc.is_in(pa.array(near), value_set=pa.array(id_codes(m))).to_numpy(zero_copy_only=False)
    return pa.array(code_text(near[hit]), pa.string()), pa.array(as_text(o[rows[hit]]), pa.string())


def near_ids(members: pa.Table, keys) -> pa.Table:
    """(token, near): for each authorized member's valid ID (its token), the IDs two of its characters swapped that
    still check (`matching.idnum.transpositions`) — a typist's slip on either side, the member's or a department's —
    as the working tables key them: pseudonyms, and the plain form too (a database filled before protection)."""
    rows = valid_members(members)
    norms = pc.unique(rows.column("norm"))
    idno, near = transposition_pairs(norms.to_pylist())
    idno, near = pa.array(idno, pa.string()), pa.array(near, pa.string())
    if len(norms) == rows.num_rows:  # one row per ID (as a run's members are): its token by a hash lookup
        token = rows.column("token").combine_chunks().take(pc.index_in(idno, value_set=rows.column("norm")))
    else:  # an ID on several rows (two written forms, two tokens): each row's pairs
        pairs = rows.select(["token", "norm"]).join(pa.table({"norm": idno, "near": near}), "norm")
        token, near = pairs.column("token").combine_chunks(), pairs.column("near").combine_chunks()
    plain = pc.unique(near)  # one pseudonym per near ID, however many rows name it
    pseudonym = pa.array(keys.pseudonyms(plain.to_pylist()), pa.string()).take(pc.index_in(near, value_set=plain))
    return pa.table({"token": pa.concat_arrays([token, token]), "near": pa.concat_arrays([near, pseudonym])})


def near_table(con, run_date: str, members: pa.Table, plain_table) -> None:
    """Temp table `_hd_near_ids` (member_id, near_id): the working-table keys of the IDs delivered under a record
    that are a transposition away from an authorized member's (its key `member_id`) and no member's own.

    From the records' side: their IDs that matched no member and whose mask may hide a member's transposition
    (`maybe_near`) are decrypted once each and their transpositions looked up among the members' plain IDs
    (`swapped_onto`); `plain_table(tokens)` decrypts (the link step's `_plain_table`)."""
    authorized_members(con)
    unmatched = con.sql(_unmatched_sql(con), params={"run_date": run_date}).to_arrow_table()
    rows = valid_members(members)
    unmatched = unmatched.filter(maybe_near(unmatched.column("mask"), rows.column("norm")))
    plain = plain_table(unmatched.column("token").combine_chunks())
    records = pa.table({"id_norm": unmatched.column("id_norm"), "norm": plain.column("norm")})
    member_norm, record_norm = swapped_onto(rows.column("norm"), records.column("norm"))
    pairs = pa.table({"norm": member_norm, "record_norm": record_norm})
    pairs = pairs.join(rows.select(["token", "norm"]), "norm").join(
        records.rename_columns(["near", "record_norm"]), "record_norm")
    con.register("_hd_near_arrow", pairs.select(["token", "near"]))
    con.execute("""
        create or replace temp table _hd_near_ids as
        select distinct m.id_norm as member_id, n.near as near_id
        from _hd_near_arrow as n
        inner join hd_authorized($run_date) as m on m.id_number = n.token
    """, {"run_date": run_date})
    con.unregister("_hd_near_arrow")


def quarantine_near(con, members: pa.Table, plain: pa.Table) -> None:
    """Temp table `_hd_q_near` (idno, near): the members' plain valid IDs and the quarantined rows' plain IDs
    (`plain`: the rows of the quarantined tokens) two characters of a member's swapped, for the quarantined rows
    under such an ID."""
    idno, near = swapped_onto(valid_members(members).column("norm"), plain.column("norm"))
    con.register("_hd_q_near_arrow", pa.table({"idno": idno, "near": near}))
    con.sql("create or replace temp table _hd_q_near as select distinct * from _hd_q_near_arrow")
    con.unregister("_hd_q_near_arrow")
