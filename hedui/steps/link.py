"""The link step: exact links on the normalized ID, then probabilistic links for
records without a usable ID, a review queue, and the staff decisions applied.

The probabilistic part calls the generic linker (`matching.linkage`) with the
spec in `hedui/linkage.yaml`; what the step adds is the choice of records
(`sql/link/prob_left.sql`), of members (`prob_right.sql`) and the decisions.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc

from hedui import db
from hedui.resources import package_path
from hedui.steps.cycles import cycles_uncollected
from hedui.steps.link_ids import _normalized, _plain_table  # noqa: F401  (_normalized: tests, urgent path's twin)
from hedui.steps.link_near import authorized_members, near_table, quarantine_near
from hedui.steps.link_questions import competitors_table, nameless_masked_pairs, surname_conflicts

log = logging.getLogger(__name__)

SPEC_PATH = package_path("linkage.yaml")
AMBIGUITY_MARGIN = 10.0  # bits: the best member must be ~1000× likelier than the runner-up


def record_contents(con, records: list[tuple[str, str, str]], keys) -> dict[tuple[str, str], str]:
    """{(run_date, record_id): the record's delivered content} for `records` (run_date, source, record_id).

    The content is every column of the source's header map but the name and the ID (the decision key
    carries those normalized), tokens decrypted (in process memory only), as one JSON text: what tells
    two accounts of one name apart, and what tells whether a record changed since a decision on it.
    """
    import json

    from connectors import load_map
    from hedui.privacy.keys import is_token

    out: dict[tuple[str, str], str] = {}
    by_source: dict[str, list[tuple[str, str]]] = {}
    for run_date, source, record_id in records:
        by_source.setdefault(source, []).append((run_date, record_id))
    for source, wanted in sorted(by_source.items()):
        if not db.table_exists(con, f"stg_{source}"):
            continue
        have = {c for (c,) in con.sql("select column_name from duckdb_columns() where table_name = ? "
                                      "and not internal", params=[f"stg_{source}"]).fetchall()}
        cols = [c.column for c in load_map(source).columns if c.type not in ("id", "name") and c.column in have]
        con.register("_hd_rc", pa.table({"run_date": [w[0] for w in wanted], "record_id": [w[1] for w in wanted]}))
        try:
            select = ", ".join(f't."{c}"' for c in cols) or "null"
            rows = con.sql(f"select distinct t.run_date, t.record_id, {select} from stg_{source} t "
                           "join _hd_rc w on w.run_date = t.run_date and w.record_id = t.record_id").fetchall()
        finally:
            con.unregister("_hd_rc")
        for run_date, record_id, *values in rows:
            plain = [keys.decrypt(v) if isinstance(v, str) and is_token(v) else v for v in values]
            out[(run_date, record_id)] = json.dumps([None if v is None else str(v) for v in plain],
                                                    ensure_ascii=False)
    return out


def decision_material(source: str, name: str, idno: str | None, member_id: str, content: str) -> str:
    """What a decision key is the keyed pseudonym of: the record (its source, normalized name and ID, and
    its content: two accounts of one name are two decisions) and the member.  A decision applies on every
    later run to the same record delivered again; a record whose content changed is a new question."""
    return f"{source}|{name}|{idno or ''}|{member_id}|{content}"


def _decision_keys(con, run_date: str, keys) -> None:
    """Add a keyed, stable `decision_key` to prob_pairs (computed on distinct inputs in Python)."""
    rows = con.sql("select distinct source, name, coalesce(idno, ''), member_id, record_id from prob_pairs").fetchall()
    contents = record_contents(con, sorted({(run_date, r[0], r[4]) for r in rows}), keys)
    material = [decision_material(s, n, i, m, contents.get((run_date, rid), "")) for s, n, i, m, rid in rows]
    table = pa.table({
        "record_id": [r[4] for r in rows], "member_id": [r[3] for r in rows],
        "decision_key": keys.pseudonyms(material) if rows else [],
    }, schema=pa.schema([("record_id", pa.string()), ("member_id", pa.string()), ("decision_key", pa.string())]))
    con.register("_keys", table)
    con.sql("create or replace temp table prob_pairs as select p.*, k.decision_key from prob_pairs p "
            "join _keys k on k.record_id = p.record_id and k.member_id = p.member_id")
    con.unregister("_keys")


_MEMBER_TOKENS = """
    select distinct id_number from hd_authorized($run_date) where id_number is not null
"""


def _member_plain(con, run_date: str, keys) -> pa.Table:
    """`_plain_table` of the authorized members' ID tokens (probabilistic linkage and the quarantine links
    both compare them: `link_run` decrypts them once for both, in process memory only)."""
    return _plain_table(con.sql(_MEMBER_TOKENS, params={"run_date": run_date}).to_arrow_table().column(0), keys)


def _with_members(members: pa.Table, tokens: list[str] | pa.Array, keys) -> pa.Table:
    """The members' plain IDs and those of `tokens` (distinct) that are not a member's, one row per token (the
    members' tokens looked up by Arrow's hash `is_in`, not as a Python set of 117,588 strings at tenth)."""
    tokens = tokens if isinstance(tokens, pa.Array) else pa.array(tokens, pa.string())
    known = pc.is_in(tokens, value_set=members.column("token").combine_chunks())
    return pa.concat_tables([members, _plain_table(tokens.filter(pc.invert(known)), keys)])


def _plain_ids(con, run_date: str, keys, members: pa.Table | None = None) -> int:
    """Temp table `_hd_plain_ids` (token, plain): the delivered IDs probabilistic linkage compares.

    Those of the records it seeks a link for (`_hd_prob_records`, `sql/link/prob_records.sql`) and of the
    authorized members, decrypted once per distinct token; a value that is not a token (a working
    database filled before protection) stands for itself.
    """
    tokens = con.sql("select distinct id_number from _hd_prob_records where id_number is not null"
                     ).to_arrow_table().column(0).combine_chunks()
    if members is None:
        members = _member_plain(con, run_date, keys)
    table = _with_members(members, tokens, keys)
    con.register("_hd_plain_arrow", table)
    con.sql("create or replace temp table _hd_plain_ids as select * from _hd_plain_arrow")
    con.unregister("_hd_plain_arrow")
    return table.num_rows


def _name_gamma(spec, label: str) -> int:
    """The gamma of the name comparison's level `label` in `spec` (levels count down from the strongest)."""
    from matching.linkage.comparisons import build_comparison

    c = build_comparison(next(f for f in spec.fields if f.name == "name"))
    return c.gamma_of([lv.label for lv in c.levels].index(label))


def name_conflicts(con, run_date: str) -> int:
    """Temp table `_hd_name_conflicts` (source, record_id, request_id, member_id): records under a member's ID whose
    own name is clearly someone else's (`sql/link/name_conflicts.sql`, the spelt-otherwise rule, and another
    surname: `link_questions.surname_conflicts`); exact linkage leaves them out and probabilistic linkage sends
    them to review.  Make it before `links_exact.sql` runs.

    The rules judge each (record name, member) once (`sql/link/named_pairs.sql`: one scan of the run's records);
    the records of the pairs judged someone else's are found by one join."""
    params = {"run_date": run_date}
    authorized_members(con)  # hd_authorized(run_date), which the link step's SQL reads
    con.execute("create or replace temp table _hd_named as " + db.sql_text("link/named_pairs.sql"), params)
    con.execute("""
        create or replace temp table _hd_registered as
        select distinct id_norm, name_norm from stg_public_security
        where run_date = $run_date and name_norm is not null and id_norm in (select member_id from _hd_named)
    """, params)
    con.sql("create or replace temp table _hd_conflict_names as " + db.sql_text("link/name_conflicts.sql"))
    _spelt_otherwise_conflicts(con)
    surname_conflicts(con)  # 李平 under 王平's ID (hedui.steps.link_questions)
    con.execute("""
        create or replace temp table _hd_name_conflicts as
        select distinct r.source, r.record_id, c.request_id, c.member_id
        from source_records as r
        inner join _hd_conflict_names as c on c.member_id = r.id_norm and c.record_name = r.name_norm
        where r.run_date = $run_date and r.source <> 'public_security'
    """, params)
    for table in ("_hd_named", "_hd_registered", "_hd_conflict_names"):
        con.sql(f"drop table {table}")
    return con.sql("select count(*) from _hd_name_conflicts").fetchall()[0][0]


_SPELT_OTHERWISE = """
    with odd as (
        select * from _hd_named
        where not (regexp_full_match(replace(record_name, '·', ''), $cjk)
                   and regexp_full_match(replace(member_name, '·', ''), $cjk))
    ),
    registered as (
        select id_norm, list(distinct name_norm) as names from _hd_registered
        where id_norm in (select member_id from odd)
        group by id_norm
    )
    select o.record_name, o.request_id, o.member_id, o.member_name, g.names
    from odd as o left join registered as g on g.id_norm = o.member_id
"""

_CJK = "[\\x{3400}-\\x{4DBF}\\x{4E00}-\\x{9FFF}\\x{20000}-\\x{3134F}]+"


def _spelt_otherwise_conflicts(con) -> None:
    """Add to `_hd_conflict_names` the (record name, member) pairs under a member's ID whose name, or the member's,
    is not plain Chinese (pinyin, Latin letters, a `*` for a rare character: name_conflicts.sql never calls those a
    conflict) and shares no syllable with the member's name, nor with a name the registration gives that ID: LIU
    JIANGUO or 刘*国 on an account under 王平's ID is someone else's as surely as 刘建国 is; Wang Ping, 王* or 王zhe
    may be his."""
    from matching.linkage.names import name_keys

    rows = con.execute(_SPELT_OTHERWISE, {"cjk": _CJK}).fetchall()
    if not rows:
        return
    names = sorted({n for r in rows for n in (r[0], r[3], *(r[4] or []))})
    syllables = {n: set(py.split()) - {"*"} for n, py in zip(names, name_keys(names)["py"], strict=True)}
    found = [r[:3] for r in rows
             if syllables[r[0]] and syllables[r[3]] and not syllables[r[0]] & syllables[r[3]]
             and not any(syllables[r[0]] & syllables[g] for g in r[4] or [])]
    if found:
        con.register("_hd_nc_arrow", pa.table({k: pa.array([f[i] for f in found], pa.string()) for i, k in
                                               enumerate(("record_name", "request_id", "member_id"))}))
        con.sql("insert into _hd_conflict_names by name select * from _hd_nc_arrow")
        con.unregister("_hd_nc_arrow")


def probabilistic_pairs(con, run_date: str, keys, members: pa.Table | None = None, *,
                        conflicts_made: bool = False) -> int:
    """Score records without a usable ID, and those of `name_conflicts`, against the members; leave `prob_pairs`
    (temp) behind.  `conflicts_made`: the caller made `_hd_name_conflicts` for this run date already."""
    from matching.linkage import LinkSpec, link_tables

    authorized_members(con)
    if not conflicts_made:
        name_conflicts(con, run_date)
    if members is None:
        members = _member_plain(con, run_date, keys)
    near_table(con, run_date, members, lambda tokens: _plain_table(tokens, keys))
    rivals = competitors_table(con)  # an urgent verification's competing candidates (hedui.steps.link_questions)
    con.execute("create or replace temp table _hd_prob_records as " + db.sql_text("link/prob_records.sql"),
                {"run_date": run_date})
    _plain_ids(con, run_date, keys, _with_members(members, rivals, keys) if rivals else members)
    con.execute("create or replace temp table lk_left as " + db.sql_text("link/prob_left.sql"),
                {"run_date": run_date})
    con.execute("create or replace temp table lk_right as " + db.sql_text("link/prob_right.sql"),
                {"run_date": run_date})
    n_left = con.sql("select count(*) from lk_left").fetchall()[0][0]
    n_right = con.sql("select count(*) from lk_right").fetchall()[0][0]
    if n_left and n_right:
        spec = LinkSpec.from_yaml(SPEC_PATH)
        link_tables(con, "lk_left", "lk_right", spec, "lk_pairs")
        agree = _name_gamma(spec, "pinyin")  # exact or pinyin: the name agrees; below: similar, swapped
        # A record links to at most one person: its best, and only when that one beats the runner-up
        # by AMBIGUITY_MARGIN bits; namesakes in one city with no ID to tell them apart go to review.
        # The runner-up is another PERSON (member_id): one person asked about in two requests is one
        # candidate, linked in both, not two equal candidates that send each other to review.
        con.execute("""
            create or replace temp table prob_pairs as
            with pairs as (
                select l.record_id, l.source, l.name, l.idno, r.request_id, r.member_id, r.competitor,
                       p.match_weight, p.match_probability, p.breakdown,
                       -- a record links on its own only on a name that agrees (exact or same pinyin), or a
                       -- similar name with an ID one edit away; the rest of the band waits for a person, as does
                       -- a record under the member's ID whose name is someone else's (name_conflicts.sql), and one
                       -- under a legacy 15-digit ID that is another's (prob_left.sql)
                       case when p.decision = 'link' and (l.name_conflict or l.legacy_id or l.near_id) then 'review'
                            when p.decision = 'link' and p.gamma_name < $agree
                                 and not (p.gamma_name >= 1 and p.gamma_idno >= 1) then 'review'
                            else p.decision end as decision
                from lk_pairs p
                join lk_left l on l.record_id = p.left_id
                join lk_right r on r.member_key = p.right_id
                where p.decision in ('link', 'review')
                  -- another name and no ID close to the member's: only the birth date and the region agree,
                  -- which many people share (the weights count them as independent of the ID prefix)
                  and not (p.gamma_name = 0 and p.gamma_idno <= 0)
                  -- a masked ID (360702********1234) whose visible characters are not the member's is another's
                  and not (l.id_mask is not null and r.idno is not null and not r.idno like l.id_mask)
                  -- a record under another legacy ID born another day is that other person's: a mistyped digit
                  -- leaves the birth date equal or one edit away
                  and not (l.legacy_id and p.gamma_birth = 0)
                  -- a record under an ID a transposition away from a member's is a question about that member
                  and (not l.near_id or exists (
                      select 1 from _hd_near_ids as n where n.near_id = l.id_key and n.member_id = r.member_id))
                  -- a record of name_conflicts is a question about the member(s) whose ID it carries, no other
                  and (not l.name_conflict or exists (
                      select 1 from _hd_name_conflicts as c
                      where c.record_id = l.record_id and c.source = l.source
                        and c.request_id = r.request_id and c.member_id = r.member_id))
            ),
            persons as (
                select record_id, member_id,
                       row_number() over w as rank,
                       lead(max(match_weight)) over w as runner_up
                from pairs
                group by record_id, member_id
                window w as (partition by record_id order by max(match_weight) desc, member_id)
            )
            select p.record_id, p.source, p.name, p.idno, p.request_id, p.member_id, p.match_weight,
                   p.match_probability,
                   case when p.decision = 'link' and s.rank = 1
                             and (s.runner_up is null or p.match_weight - s.runner_up >= $margin) then 'link'
                        when p.decision = 'link' then 'review'
                        else p.decision end as band,
                   p.breakdown
            from pairs p
            join persons s using (record_id, member_id)
            where not p.competitor
        """, {"margin": AMBIGUITY_MARGIN, "agree": agree})
        con.sql("drop table lk_pairs")
    else:
        con.sql("create or replace temp table prob_pairs (record_id varchar, source varchar, name varchar, "
                "idno varchar, request_id varchar, member_id varchar, match_weight double, "
                "match_probability double, band varchar, breakdown varchar)")
    nameless_masked_pairs(con)  # 户名 `*` under a member's masked ID: a question (hedui.steps.link_questions)
    _decision_keys(con, run_date, keys)
    for table in ("lk_left", "lk_right", "_hd_plain_ids", "_hd_name_conflicts", "_hd_near_ids", "_hd_competitors",
                  "_hd_prob_records"):  # plain IDs go once used
        con.sql(f"drop table if exists {table}")
    n = con.sql("select count(*) from prob_pairs").fetchall()[0][0]
    log.info("probabilistic linkage: %d records without a usable ID, %d members, %d pairs to link or review",
             n_left, n_right, n)
    return n


def link_run(con, run_date: str, keys) -> dict:
    """Replace the run's links and review queue (inside the caller's transaction)."""
    with cycles_uncollected():
        return _link_run(con, run_date, keys)


def _link_run(con, run_date: str, keys) -> dict:
    counts = {"name_conflicts": name_conflicts(con, run_date)}
    counts["exact"] = db.replace_model(con, "links", "link/links_exact.sql", run_date)
    members = _member_plain(con, run_date, keys)  # the members' plain IDs, in process memory only, for both uses
    counts["candidates"] = probabilistic_pairs(con, run_date, keys, members, conflicts_made=True)
    counts["review_queue"] = db.replace_model(con, "review_queue", "link/review_queue.sql", run_date)
    apply_decisions(con, run_date)
    counts["quarantine_links"] = quarantine_links(con, run_date, keys, members)
    del members
    counts["probabilistic"] = con.sql(
        "select count(*) from links where run_date = ? and method = 'probabilistic'", params=[run_date]
    ).fetchall()[0][0]
    return counts


def apply_decisions(con, run_date: str) -> None:
    """Refresh the queue's statuses from review_decisions and rebuild the probabilistic links."""
    con.execute("""
        update review_queue q set status = d.decision, reviewer = d.reviewer, decided_at = d.decided_at,
            reason = d.reason
        from latest_decisions d
        where q.run_date = ? and q.decision_key = d.decision_key
    """, [run_date])
    con.execute("delete from links where run_date = ? and method = 'probabilistic'", [run_date])
    con.execute("insert into links by name " + db.sql_text("link/links_probabilistic.sql"), {"run_date": run_date})


def quarantine_links(con, run_date: str, keys, members: pa.Table | None = None) -> int:
    """Replace the run's `quarantine_links`: quarantined rows that name an authorized member
    (`sql/link/quarantine_links.sql`); the IDs are decrypted in temporary memory only."""
    if not db.table_exists(con, "quarantine_subjects"):
        con.sql(db.sql_text("schema.sql"))
    tokens = [t for (t,) in con.sql("""
        select distinct id_number from quarantine_subjects where run_date = $run_date and id_number is not null
    """, params={"run_date": run_date}).fetchall()]
    if members is None:
        authorized_members(con)
        members = _member_plain(con, run_date, keys)
    plain = _with_members(members, tokens, keys)
    con.register("_hd_q_arrow", plain)
    con.sql("create or replace temp table _hd_q_plain as select * from _hd_q_arrow")
    con.sql("create or replace temp table _hd_q_masks as select token, mask from _hd_q_arrow where mask is not null")
    con.unregister("_hd_q_arrow")
    quarantined = plain.filter(pc.is_in(plain.column("token"), value_set=pa.array(tokens, pa.string())))
    quarantine_near(con, members, quarantined)  # the quarantined rows' IDs, not the members' 1.2 M at province
    try:
        _quarantine_name_keys(con, run_date)
        return db.replace_model(con, "quarantine_links", "link/quarantine_links.sql", run_date)
    finally:
        for table in ("_hd_q_plain", "_hd_q_names", "_hd_q_near", "_hd_q_masks"):
            con.sql(f"drop table if exists {table}")


def _quarantine_name_keys(con, run_date: str) -> None:
    """Temp table `_hd_q_names` (side, name, py, pat, nsyl, surname_py, given_py, bag): the pinyin keys probabilistic linkage
    compares names by (`matching.linkage.names`), of the names of the quarantined rows without a usable ID
    (side 'q') and of the authorized members (side 'm'): a rare character typed as `*` or in pinyin (王*明,
    王yao明) names the member as linkage would pair it, which an equal normalized name alone missed."""
    import polars as pl

    from matching.linkage.names import name_keys_frame

    con.sql("create temp table if not exists _hd_q_near (idno varchar, near varchar)")  # `quarantine_near`'s
    con.sql("create temp table if not exists _hd_q_masks (token varchar, mask varchar)")  # and `quarantine_links`'
    rows = con.sql("""
        select distinct 'q' as side, q.name_norm from quarantine_subjects as q
        left join _hd_q_plain as p on p.token = q.id_number
        where q.run_date = $run_date and q.source <> 'requests' and q.name_norm is not null
          and (coalesce(p.status, '') not in ('valid', 'converted_15') or p.norm in (select near from _hd_q_near))
        union
        select distinct 'm', name_norm from stg_requests
        where run_date = $run_date and name_norm is not null and nullif(trim(authorization_no), '') is not null
    """, params={"run_date": run_date}).fetchall()
    if not any(side == "q" for side, _ in rows):
        rows = []  # no quarantined row without a usable ID: no name to compare
    frame = name_keys_frame([n for _, n in rows]).select(
        side=pl.Series([side for side, _ in rows], dtype=pl.String), name="raw", py="py", pat="pat", nsyl="nsyl",
        surname_py="surname_py", given_py="given_py", bag="bag")
    con.register("_hd_q_names_arrow", frame.to_arrow())
    con.sql("create or replace temp table _hd_q_names as select * from _hd_q_names_arrow")
    con.unregister("_hd_q_names_arrow")
