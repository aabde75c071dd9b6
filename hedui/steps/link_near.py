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

import pyarrow as pa
import pyarrow.compute as pc

from hedui import db
from matching.idnum import transposition_pairs

#: the working-table keys and one token each of the IDs delivered under a record that a probabilistic link may take
#: as a near ID (prob_left.sql's near branch: not the registration's, not a legacy 15-digit ID) and that are no
#: authorized member's own
_UNMATCHED_IDS = """
    select id_norm, any_value(id_number) as token from source_records
    where run_date = $run_date and id_norm is not null and id_number is not null and name_norm is not null
      and source <> 'public_security' and id_status <> 'converted_15'
      and id_norm not in (select id_norm from hd_authorized($run_date))
    group by id_norm
"""


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
    from matching.idnum import (
        as_text,
        code_text,
        id_codes,
        id_rows,
        real_births,
        transposed_codes,
        valid_rows,
    )

    o = id_rows(pc.unique(others.drop_null()).to_pylist())
    m = id_rows(pc.unique(member_norms.drop_null()).to_pylist())
    m = m[valid_rows(m) & real_births(m[:, 6:14])]
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

    From the records' side: their IDs that matched no member are decrypted once each and their transpositions
    looked up among the members' plain IDs (`swapped_onto`); `plain_table(tokens)` decrypts (the link step's
    `_plain_table`)."""
    authorized_members(con)
    unmatched = con.sql(_UNMATCHED_IDS, params={"run_date": run_date}).to_arrow_table()
    plain = plain_table(unmatched.column("token").to_pylist())
    records = pa.table({"id_norm": unmatched.column("id_norm"), "norm": plain.column("norm")})
    rows = valid_members(members)
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
