"""Records the link step puts before a person besides those the probabilistic linker scores on its own.

- `surname_conflicts`: a record under a member's ID in the member's name but for another surname (李平 under 王平's
  ID, `sql/link/surname_conflicts.sql`) is someone else's name: it joins `_hd_name_conflicts`, is not linked on the
  ID, and waits for review like the records of `sql/link/name_conflicts.sql`.
- `nameless_masked_pairs`: a record under a member's masked ID (360702********1234) whose 户名 names nobody (`*`)
  is a question about that member, for review.
- `competitors_table`: an urgent verification ranks the working database's members of other requests against the
  household's, so that a record as likely theirs waits for a person as in the nightly.
"""

from __future__ import annotations

import pyarrow as pa

from hedui import db


def surname_conflicts(con) -> int:
    """Add to `_hd_conflict_names` the (record name, member) pairs of `sql/link/surname_conflicts.sql` whose surname
    reads otherwise than the member's (李平 for 王平; not 章建国 for 张建国, one sound typed with another character);
    return how many (the link step's `name_conflicts` finds their records)."""
    from matching.linkage.names import name_keys

    rows = con.sql(db.sql_text("link/surname_conflicts.sql")).fetchall()
    if not rows:
        return 0
    names = sorted({n for r in rows for n in r[3:5]})
    surname = dict(zip(names, name_keys(names)["surname_py"], strict=True))
    found = [r[:3] for r in rows if surname[r[3]] and surname[r[4]] and surname[r[3]] != surname[r[4]]]
    if found:
        con.register("_hd_sc_arrow", pa.table({k: pa.array([f[i] for f in found], pa.string()) for i, k in
                                               enumerate(("record_name", "request_id", "member_id"))}))
        con.sql("insert into _hd_conflict_names by name select * from _hd_sc_arrow")
        con.unregister("_hd_sc_arrow")
    return len(found)


_NAMELESS_MASKED = """
    insert into prob_pairs by name
    select distinct l.record_id, l.source, l.name, l.idno, r.request_id, r.member_id,
        $weight as match_weight, pow(2, $weight) / (1 + pow(2, $weight)) as match_probability, 'review' as band,
        cast(null as varchar) as breakdown
    from lk_left as l
    inner join lk_right as r on r.idno like l.id_mask
    where l.id_mask is not null and length(replace(l.id_mask, '_', '')) >= 8
      and not regexp_matches(l.name, '[a-z\\x{3400}-\\x{4DBF}\\x{4E00}-\\x{9FFF}\\x{20000}-\\x{3134F}]')
      and not r.competitor
      and not exists (select 1 from prob_pairs as p where p.record_id = l.record_id and p.member_id = r.member_id)
"""


def nameless_masked_pairs(con) -> None:
    """Add to `prob_pairs`, for review, each record under an ID masked as banks deliver it (360702********1234,
    eight characters or more visible) whose name names nobody (`*`, `-`: no letter, no Chinese character) with the
    member(s) whose ID has those visible characters.  The linker has no name to block or compare it by, so it was
    nobody's and its household came out CLEAR on an account that may be the member's; it is a question for a person,
    never a link on the visible digits alone.  Not scored (no breakdown): its weight is the review band's lower
    bound (hedui/linkage.yaml `thresholds.review`), where the queue, its exports and the decisions' messages show
    it.  Reads `lk_left` and `lk_right`."""
    from hedui.resources import package_path
    from matching.linkage import LinkSpec

    con.execute(_NAMELESS_MASKED, {"weight": LinkSpec.from_yaml(package_path("linkage.yaml")).thresholds.review})


def competitors_table(con) -> list[str]:
    """Temp table `_hd_competitors` (request_id, id_norm, id_number, name_norm, region_code): the members of other
    requests that compete for the records (`prob_right.sql`) — a table `link_competitors`, which only an urgent
    verification's scratch database holds (`hedui.urgent_candidates.competitors`); empty otherwise.  Returns the
    competitors' ID tokens (the link step decrypts them with the members')."""
    if db.table_exists(con, "link_competitors"):
        con.sql("create or replace temp table _hd_competitors as select request_id, id_norm, id_number, "
                "name_norm, region_code from link_competitors where id_norm is not null")
    else:
        con.sql("create or replace temp table _hd_competitors (request_id varchar, id_norm varchar, "
                "id_number varchar, name_norm varchar, region_code varchar)")
    return [t for (t,) in con.sql("select distinct id_number from _hd_competitors "
                                  "where id_number is not null").fetchall()]
