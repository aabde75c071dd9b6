"""sql/assess/changes.sql on hand-made tables: what changed since the previous verification, and what
cannot be said to have changed because a source was missing or failed at one of the two checks."""

from __future__ import annotations

import pytest

from hedui import db

BEFORE, NOW = "20261128", "20261228"
SOURCES = ("vehicle", "real_estate", "business_registry", "tax", "social_insurance", "public_security",
           "civil_affairs")


@pytest.fixture
def con():
    c = db.connect()
    c.sql("""
        create table previous_verification (run_date varchar, request_id varchar, previous_run_date varchar,
            previous_request_id varchar, is_same_request boolean);
        create table facts (run_date varchar, request_id varchar, applicant_id varchar, member_id varchar,
            kind varchar, fact_key varchar, detail_zh varchar);
        create table source_status (run_date varchar, source varchar, source_zh varchar, status varchar,
            reasons_zh varchar);
        create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, authorization_no varchar);
    """)
    c.execute("insert into stg_requests values (?, 'R1', 'a', 'SQ1'), (?, 'R2', 'a', 'SQ2')", [BEFORE, NOW])
    c.execute("insert into previous_verification values (?, 'R2', ?, 'R1', false)", [NOW, BEFORE])
    for day in (BEFORE, NOW):
        for source in SOURCES:
            c.execute("insert into source_status values (?, ?, ?, 'passed', '')", [day, source, source])
    # the same car both times, a flat sold, a new company role
    c.execute("insert into facts values (?, 'R1', 'a', 'a', 'vehicle', '赣A1', '车辆 赣A1')", [BEFORE])
    c.execute("insert into facts values (?, 'R1', 'a', 'a', 'property', 'U1', '住宅房产')", [BEFORE])
    c.execute("insert into facts values (?, 'R2', 'a', 'a', 'vehicle', '赣A1', '车辆 赣A1')", [NOW])
    c.execute("insert into facts values (?, 'R2', 'a', 'a', 'business', 'C1/股东', '某公司 股东')", [NOW])
    return c


def _changes(con) -> list[tuple]:
    return sorted(r[1:4] for r in con.sql(db.sql_text("assess/changes.sql"), params={"run_date": NOW}).fetchall())


def test_facts_added_and_gone_between_two_checks_are_listed(con):
    assert _changes(con) == [("R2", "added", "business"), ("R2", "removed", "property")]


@pytest.mark.parametrize(("day", "source", "status"), [
    (BEFORE, "business_registry", "missing"), (NOW, "real_estate", "failed"), (NOW, "real_estate", "incomplete")])
def test_a_source_missing_or_failed_at_either_check_says_nothing_changed_in_its_facts(con, day, source, status):
    con.execute("update source_status set status = ? where run_date = ? and source = ?", [status, day, source])
    kind = {"business_registry": "business", "real_estate": "property"}[source]
    assert [c for c in _changes(con) if c[2] == kind] == []
    assert [c for c in _changes(con) if c[2] != kind]  # the other kind still compared


def test_an_employer_is_compared_only_when_both_its_sources_passed_both_times(con):
    con.execute("insert into facts values (?, 'R2', 'a', 'a', 'employer', '某厂', '工作单位 某厂')", [NOW])
    assert ("R2", "added", "employer") in _changes(con)
    con.execute("delete from source_status where run_date = ? and source = 'tax'", [BEFORE])  # not delivered then
    assert ("R2", "added", "employer") not in _changes(con)


def test_only_members_looked_up_at_both_checks_are_compared(con):
    """A member whose authorization lapsed has no facts now: his car is no change (nor may it be shown); a
    member first authorized now had none then: his car of years ago is no new vehicle; a member whose request
    row had no usable ID either time was not looked up then."""
    con.execute("insert into stg_requests values (?, 'R1', 'b', 'SQ1'), (?, 'R2', 'b', '  '), "
                "(?, 'R1', 'c', ''), (?, 'R2', 'c', 'SQ2'), (?, 'R1', null, 'SQ1'), (?, 'R2', 'd', 'SQ2')",
                [BEFORE, NOW, BEFORE, NOW, BEFORE, NOW])
    for day, member in ((BEFORE, "b"), (NOW, "c"), (NOW, "d")):
        con.execute("insert into facts values (?, ?, 'a', ?, 'vehicle', ?, '车辆')",
                    [day, "R1" if day == BEFORE else "R2", member, f"赣B{member}"])
    assert _changes(con) == [("R2", "added", "business"), ("R2", "removed", "property")]
