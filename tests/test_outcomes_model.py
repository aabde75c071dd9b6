"""sql/assess/outcomes.sql on given rows: the outcome rule alone (CLEAR earned, FINDINGS on confirmed
evidence, INCOMPLETE on any gap), like a dbt unit test."""

from __future__ import annotations

import pytest

from hedui import db

RUN = "20261128"


@pytest.fixture
def con():
    c = db.connect()
    c.sql("""
        create table households (run_date varchar, request_id varchar);
        create table finding_candidates (run_date varchar, request_id varchar, code varchar,
            is_confirmed boolean, is_pending boolean);
        create table evidence_gaps (run_date varchar, request_id varchar, code varchar);
        create table quarantine_subjects (run_date varchar, source varchar, request_id varchar);
    """)
    c.executemany("insert into households values (?, ?)", [(RUN, r) for r in ("A", "B", "C", "D", "E", "F")])
    c.execute("insert into households values ('20261127', 'OLD')")
    return c


def _outcomes(con) -> dict[str, tuple[str, str]]:
    rows = con.sql(db.sql_text("assess/outcomes.sql"), params={"run_date": RUN}).fetchall()
    assert all(r[0] == RUN for r in rows)
    return {r[1]: (r[2], r[3]) for r in rows}


def test_given_findings_and_gaps_the_outcomes_are(con):
    con.executemany("insert into finding_candidates values (?, ?, ?, ?, ?)", [
        (RUN, "B", "VEHICLE", True, False),                      # confirmed: FINDINGS
        (RUN, "C", "VEHICLE", False, False),                     # on an unconfirmed link only
        (RUN, "D", "VEHICLE", True, False),                      # confirmed, with a gap beside it
        (RUN, "E", "BUSINESS_ROLE", True, True),                 # a pending candidate is not a finding
        (RUN, "F", "INCOME_OVER_STANDARD", True, False),
        (RUN, "F", "FINANCIAL_ASSETS_OVER_LIMIT", True, False),
        ("20261127", "A", "VEHICLE", True, False),               # another run's rows are not read
    ])
    con.executemany("insert into evidence_gaps values (?, ?, ?)", [
        (RUN, "C", "UNCONFIRMED_LINK"),
        (RUN, "D", "RECORD_QUARANTINED"),
        (RUN, "E", "VALUE_UNKNOWN"),
        (RUN, "E", "SOURCE_MISSING"),
        ("20261127", "A", "SOURCE_FAILED"),
    ])
    assert _outcomes(con) == {
        "A": ("CLEAR", ""),
        "B": ("FINDINGS", "VEHICLE"),
        "C": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"),
        "D": ("FINDINGS", "RECORD_QUARANTINED;VEHICLE"),
        "E": ("INCOMPLETE", "SOURCE_MISSING;VALUE_UNKNOWN"),
        "F": ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;INCOME_OVER_STANDARD"),
    }


def test_a_household_with_nothing_weighed_against_it_and_no_gap_is_clear(con):
    assert set(_outcomes(con).values()) == {("CLEAR", "")}


@pytest.mark.parametrize("gap", ["NO_AUTHORIZATION", "SOURCE_MISSING", "SOURCE_FAILED", "UNCONFIRMED_LINK",
                                 "RECORD_QUARANTINED", "VALUE_UNKNOWN"])
def test_every_gap_kind_alone_keeps_a_household_from_clear(con, gap):
    con.execute("insert into evidence_gaps values (?, 'A', ?)", [RUN, gap])
    assert _outcomes(con)["A"] == ("INCOMPLETE", gap)


def test_a_household_every_request_row_of_which_was_quarantined_is_answered_incomplete(con):
    con.execute("insert into quarantine_subjects values (?, 'requests', 'Q')", [RUN])
    con.execute("insert into quarantine_subjects values (?, 'requests', 'A')", [RUN])  # A has staged rows too
    con.execute("insert into quarantine_subjects values (?, 'bank', null)", [RUN])
    got = _outcomes(con)
    assert got["Q"] == ("INCOMPLETE", "RECORD_QUARANTINED")
    assert got["A"] == ("CLEAR", "") and len(got) == 7  # A's own gaps come from evidence_gaps, not from here
