"""sql/assess/previous_verification.sql and changes.sql on hand-made tables: what changed since the previous
verification, and what cannot be said to have changed because a source was missing or failed at one of the
two checks, or a member was not looked up at one of them (previous_verification's kinds_not_compared and
members_not_compared, which the report names)."""

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
        create table outcomes (run_date varchar, request_id varchar, outcome varchar, findings varchar);
        create table facts (run_date varchar, request_id varchar, applicant_id varchar, member_id varchar,
            kind varchar, fact_key varchar, detail_zh varchar);
        create table source_status (run_date varchar, source varchar, source_zh varchar, status varchar,
            reasons_zh varchar);
        create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, authorization_no varchar,
            relation varchar default '子女', row_no integer default 9);
        create table quarantine_links (run_date varchar, request_id varchar, member_id varchar, source varchar);
    """)
    c.execute("insert into stg_requests values (?, 'R1', 'a', 'SQ1', '本人', 1), (?, 'R2', 'a', 'SQ2', '本人', 1)",
              [BEFORE, NOW])
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
    db.replace_model(con, "previous_verification", "assess/previous_verification.sql", NOW)
    return sorted(r[1:4] for r in con.sql(db.sql_text("assess/changes.sql"), params={"run_date": NOW}).fetchall())


def _not_compared(con) -> tuple:
    _changes(con)
    return con.sql("select kinds_not_compared, members_not_compared from previous_verification "
                   "where run_date = ? and request_id = 'R2'", params=[NOW]).fetchall()[0]


def test_facts_added_and_gone_between_two_checks_are_listed(con):
    assert _changes(con) == [("R2", "added", "business"), ("R2", "removed", "property")]
    assert _not_compared(con) == ([], [])  # everything compared


@pytest.mark.parametrize(("day", "source", "status"), [
    (BEFORE, "business_registry", "missing"), (NOW, "real_estate", "failed"), (NOW, "real_estate", "incomplete")])
def test_a_source_missing_or_failed_at_either_check_says_nothing_changed_in_its_facts(con, day, source, status):
    con.execute("update source_status set status = ? where run_date = ? and source = ?", [status, day, source])
    kind = {"business_registry": "business", "real_estate": "property"}[source]
    assert [c for c in _changes(con) if c[2] == kind] == []
    assert [c for c in _changes(con) if c[2] != kind]  # the other kind still compared
    assert _not_compared(con)[0] == [kind]


def test_an_employer_is_compared_only_when_both_its_sources_passed_both_times(con):
    con.execute("insert into facts values (?, 'R2', 'a', 'a', 'employer', '某厂', '工作单位 某厂')", [NOW])
    assert ("R2", "added", "employer") in _changes(con)
    con.execute("delete from source_status where run_date = ? and source = 'tax'", [BEFORE])  # not delivered then
    assert ("R2", "added", "employer") not in _changes(con)


def test_only_members_looked_up_at_both_checks_are_compared(con):
    """A member whose authorization lapsed has no facts now: his car is no change (nor may it be shown); a
    member first authorized now had none then: his car of years ago is no new vehicle; a member whose request
    row had no usable ID either time was not looked up then."""
    con.execute("insert into stg_requests (run_date, request_id, id_norm, authorization_no, row_no) values "
                "(?, 'R1', 'b', 'SQ1', 2), (?, 'R2', 'b', '  ', 2), (?, 'R1', 'c', '', 3), (?, 'R2', 'c', 'SQ2', 3), "
                "(?, 'R1', null, 'SQ1', 4), (?, 'R2', 'd', 'SQ2', 4)",
                [BEFORE, NOW, BEFORE, NOW, BEFORE, NOW])
    for day, member in ((BEFORE, "b"), (NOW, "c"), (NOW, "d")):
        con.execute("insert into facts values (?, ?, 'a', ?, 'vehicle', ?, '车辆')",
                    [day, "R1" if day == BEFORE else "R2", member, f"赣B{member}"])
    assert _changes(con) == [("R2", "added", "business"), ("R2", "removed", "property")]
    assert _not_compared(con) == ([], [2, 3, 4])  # the report names them
