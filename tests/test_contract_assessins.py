"""Assess's big inserts (issue #16, session 31): evidence_completeness.sql's rows, a member's sources unnested side by
side where a cross join gave each source in turn over every member.  Pins: the rows are those of the cross join
(the old form, kept here) on a crafted run — a member of no ID, a member listed twice, one member in two households,
an unauthorized one (blank, whitespace, NULL), duplicate evidence, gaps of no member, of a source not delivered and of
another run, sources passed, failed, missing and incomplete, another run's statuses — and on a run whose only
status is the request list's (no row); and a member's rows are stored together (the point of the change).
"""

from __future__ import annotations

import duckdb
import pytest

from hedui import db

RUN = "20261128"

#: evidence_completeness.sql as it was (session 30): members × sources by a cross join
OLD_FORM = """
with
members as (
    select distinct request_id, id_norm as member_id,
        nullif(trim(authorization_no), '') is not null as is_authorized
    from stg_requests where run_date = $run_date
),
sources as (
    select source, status from source_status where run_date = $run_date and source <> 'requests'
),
gaps as (
    select * from evidence_gaps where run_date = $run_date
),
per_member as (
    select request_id, member_id, source,
        count(*) filter (where code = 'UNCONFIRMED_LINK') as n_unconfirmed,
        count(*) filter (where code = 'RECORD_QUARANTINED') as n_quarantined,
        count(*) filter (where code = 'VALUE_UNKNOWN') as n_value_unknown
    from gaps where member_id is not null
    group by all
)
select
    $run_date as run_date, m.request_id, m.member_id, s.source, m.is_authorized,
    s.status in ('passed', 'failed') as is_delivered,
    s.status = 'passed' as is_passed,
    coalesce(g.n_unconfirmed, 0) as n_unconfirmed,
    coalesce(g.n_quarantined, 0) as n_quarantined,
    coalesce(g.n_value_unknown, 0) as n_value_unknown,
    m.is_authorized and s.status = 'passed'
        and coalesce(g.n_unconfirmed, 0) + coalesce(g.n_quarantined, 0) + coalesce(g.n_value_unknown, 0) = 0
        as is_complete
from members as m
cross join sources as s
left join per_member as g
    on g.request_id = m.request_id and g.member_id is not distinct from m.member_id and g.source = s.source
"""

REQUESTS = [  # (run, request, member ID, authorization no)
    (RUN, "R1", "p1:a", "SQ1"), (RUN, "R1", "p1:a", "SQ1"),  # listed twice: one member
    (RUN, "R1", "p1:b", "  "), (RUN, "R1", None, "SQ2"),  # unauthorized (blank); no ID
    (RUN, "R2", "p1:a", "SQ3"),  # the same person in a second household
    (RUN, "R2", "p1:c", None), (RUN, "R2", None, "SQ4"),
    ("20261027", "R9", "p1:z", "SQ9"),  # another run
]
STATUSES = [
    (RUN, "requests", "passed"), (RUN, "tax", "passed"), (RUN, "bank", "failed"), (RUN, "vehicle", "missing"),
    (RUN, "housing_fund", "incomplete"), (RUN, "social_insurance", "passed"), (RUN, "insurance", None),
    ("20261027", "tax", "failed"), ("20261027", "real_estate", "passed"),
]
GAPS = [  # (run, request, member, source, code)
    (RUN, "R1", "p1:a", "tax", "VALUE_UNKNOWN"), (RUN, "R1", "p1:a", "tax", "VALUE_UNKNOWN"),  # duplicate evidence
    (RUN, "R1", "p1:a", "tax", "UNCONFIRMED_LINK"), (RUN, "R1", "p1:a", "bank", "RECORD_QUARANTINED"),
    (RUN, "R2", "p1:a", "social_insurance", "RECORD_QUARANTINED"),  # in his other household only
    (RUN, "R1", None, "tax", "VALUE_UNKNOWN"),  # no member: counted for nobody
    (RUN, "R1", "p1:b", "tax", "NO_AUTHORIZATION"),  # a code not counted
    (RUN, "R2", "p1:c", "real_estate", "VALUE_UNKNOWN"),  # a source with no status this run
    (RUN, "R2", "p1:c", "vehicle", "SOURCE_MISSING"),
    ("20261027", "R1", "p1:a", "tax", "VALUE_UNKNOWN"),  # another run
]


def _world(statuses=STATUSES, more: int = 0) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(config={"threads": 1})
    c.sql("create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, authorization_no varchar)")
    c.sql("create table source_status (run_date varchar, source varchar, source_zh varchar, status varchar, "
          "reasons_zh varchar)")
    c.sql("create table evidence_gaps (run_date varchar, request_id varchar, member_id varchar, source varchar, "
          "code varchar)")
    c.executemany("insert into stg_requests values (?, ?, ?, ?)",
                  REQUESTS + [(RUN, f"R{3 + i // 3}", f"p1:m{i}", "SQ") for i in range(more)])
    if statuses:
        c.executemany("insert into source_status values (?, ?, '', ?, null)", statuses)
    c.executemany("insert into evidence_gaps values (?, ?, ?, ?, ?)", GAPS)
    return c


def _same(c, table: str, select: str) -> None:
    for a, b in ((table, f"({select})"), (f"({select})", table)):
        assert c.execute(f"select count(*) from (select * from {a} except all select * from {b})",
                         {"run_date": RUN} if "$run_date" in select else {}).fetchall() == [(0,)]
    assert (c.sql(f"describe {table}").fetchall()
            == c.execute(f"describe {select}", {"run_date": RUN}).fetchall())


def test_BR01_completeness_rows_are_the_cross_joins():
    c = _world()
    n = db.replace_model(c, "evidence_completeness", "assess/evidence_completeness.sql", RUN)
    assert n == 6 * 6  # six members (two of no ID, one in two households) × six sources
    _same(c, "evidence_completeness", OLD_FORM)
    rows = {r[:3]: r[3:] for r in c.sql("select request_id, member_id, source, is_authorized, is_delivered, is_passed, "
                                        "n_unconfirmed, n_quarantined, n_value_unknown, is_complete "
                                        "from evidence_completeness").fetchall()}
    assert rows["R1", "p1:a", "tax"] == (True, True, True, 1, 0, 2, False)
    assert rows["R1", "p1:a", "bank"] == (True, True, False, 0, 1, 0, False)
    assert rows["R2", "p1:a", "social_insurance"] == (True, True, True, 0, 1, 0, False)
    assert rows["R1", "p1:a", "social_insurance"] == (True, True, True, 0, 0, 0, True)
    assert rows["R1", None, "tax"] == (True, True, True, 0, 0, 0, True)
    assert rows["R1", "p1:b", "tax"] == (False, True, True, 0, 0, 0, False)
    assert rows["R2", "p1:c", "insurance"] == (False, None, None, 0, 0, 0, False)
    assert rows["R2", "p1:c", "vehicle"] == (False, False, False, 0, 0, 0, False)
    assert rows["R2", "p1:c", "housing_fund"] == (False, False, False, 0, 0, 0, False)


@pytest.mark.parametrize("statuses", [[(RUN, "requests", "passed")], []], ids=["requests only", "no status"])
def test_BR02_no_department_source_no_row(statuses):
    c = _world(statuses)
    assert db.replace_model(c, "evidence_completeness", "assess/evidence_completeness.sql", RUN) == 0
    _same(c, "evidence_completeness", OLD_FORM)


def test_BR03_a_members_rows_are_stored_together():
    """Each member's sources side by side in the table (the dictionary of its ids stays small), not each source in
    turn over every member: where most members have no gap, as in a run (the join probes the members' rows)."""
    c = _world(more=300)
    db.replace_model(c, "evidence_completeness", "assess/evidence_completeness.sql", RUN)
    order = [r[0] for r in c.sql("select request_id || ':' || coalesce(member_id, '') from evidence_completeness "
                                 "order by rowid").fetchall()]
    runs = [k for i, k in enumerate(order) if i == 0 or order[i - 1] != k]
    assert len(order) == 306 * 6
    assert len(runs) == 306  # one run of rows per member
