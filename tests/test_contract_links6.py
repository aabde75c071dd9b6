"""Linkage, round 7 (sources.md "ID numbers", "Names" and the records without a usable ID; policy.md "CLEAR is earned"):
the urgent path's competitors (met through a mistyped ID's first 14 characters, the birth date it carries, or a
`*` in a member's name).
Cases of tests/test_contract_linkage*.py and test_contract_links2–5.py are not repeated.

One real `hedui run` over a small hand-made inbox (tests/contract_world.py) is shared by the assertions.
Policy of the run (jiangxi_demo, 2026, 城市): financial assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, outcomes, query
from test_contract_linkage2 import make_id
from test_contract_links2 import bank, registration, request
from test_contract_links5 import _urgent  # the urgent verification of one household of the run

LI_MING = make_id("19950105", 961)   # LM01: 李明
LI_MIN = make_id("19950105", 972)    # LM02: 李敏, born the same day in the same county
CHEN = make_id("19960206", 963)      # LM03: 陈刚
CHENG = make_id("19960206", 974)     # LM04: 程刚, born the same day in the same county
WANG_LI = make_id("19970307", 965)   # LM05: 王丽
WANG_LI2 = make_id("19970307", 976, "360102")  # LM06: 王莉莉, born the same day in another city
LIU = make_id("19980408", 967)       # LM07: 刘洋
LIU2 = make_id("19880408", 978)      # LM08: 刘*, a rare character the agency's clerk could not type
BYSTANDER = make_id("19700101", 899)


def two_slips(pid: str, other: str) -> str:
    """`pid` with two digits of its sequence changed and a wrong check character: more than one edit from `pid` and
    from `other` (an ID sharing its first 14 characters), that prefix kept."""
    from matching.idnum import check_char

    for a in "0123456789":
        for b in "0123456789":
            body = pid[:14] + a + b + pid[16]
            if a != pid[14] and b != pid[15] and body[14:] != other[14:17] and a != other[14] and b != other[15]:
                return body + next(c for c in "10X98765432" if c != check_char(body))
    raise ValueError(pid)


def build() -> World:
    w = World()
    # LM01/LM02: 李明 and 李敏 born the same day in one county, in two households; an account of 300,000 in the name
    # 李明 under an ID of their first 14 characters, two digits of the sequence mistyped and a wrong check character
    for rid, name, pid in (("LM01", "李明", LI_MING), ("LM02", "李敏", LI_MIN)):
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
    bank(w, "李明", two_slips(LI_MING, LI_MIN), "300000")
    w.expect("LM01", "INCOMPLETE", "UNCONFIRMED_LINK")
    w.expect("LM02", "INCOMPLETE", "UNCONFIRMED_LINK")
    # LM03/LM04: the same with 陈刚 and 程刚 (another surname: met only through the ID's first 14 characters)
    for rid, name, pid in (("LM03", "陈刚", CHEN), ("LM04", "程刚", CHENG)):
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
    bank(w, "陈刚", two_slips(CHEN, CHENG), "300000")
    w.expect("LM03", "INCOMPLETE", "UNCONFIRMED_LINK")
    w.expect("LM04", "INCOMPLETE", "UNCONFIRMED_LINK")

    # LM05/LM06: an account in the name 王丽 under an ID of a third county of 王莉莉's city, born the day both were, the
    # sequence and the check character wrong: 王丽's name, 王莉莉's city (only the surname and the birth date meet her)
    for rid, name, pid in (("LM05", "王丽", WANG_LI), ("LM06", "王莉莉", WANG_LI2)):
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
    bank(w, "王丽", two_slips(make_id(WANG_LI[6:14], 976, "360103"), WANG_LI2), "300000")
    w.expect("LM05", "INCOMPLETE", "UNCONFIRMED_LINK")
    w.expect("LM06", "INCOMPLETE", "UNCONFIRMED_LINK")

    # LM07/LM08: an account of 300,000 in the name 刘洋 without an ID; 刘洋 of one household, and 刘* (a character the
    # clerk could not type) of another, whose name it fits
    for rid, name, pid in (("LM07", "刘洋", LIU), ("LM08", "刘*", LIU2)):
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
    bank(w, "刘洋", "", "300000")
    w.expect("LM07", "INCOMPLETE", "UNCONFIRMED_LINK")
    w.expect("LM08", "INCOMPLETE", "UNCONFIRMED_LINK")

    w.in_every_source({"name": "路人", "id": BYSTANDER})
    for k in range(60):  # the bank answers for people nobody here asks about: the accounts above without a usable
        bank(w, "路人", make_id("19600101", k), "100")  # ID stay under the share a source may hold
    return w


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world = build()
    inbox = tmp_path_factory.mktemp("lm") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("lm_work"), RUN)
    run(ctx)
    return world, ctx


def test_LM00_every_household_has_the_outcome_the_contract_gives_it(lm_run):
    world, ctx = lm_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    assert not wrong, wrong


def _same_as_nightly(lm_run, tmp_path, rid: str) -> None:
    """The urgent verification of `rid` has the nightly's outcome, the same one pair waiting for a person."""
    world, ctx = lm_run
    urgent = _urgent(world, ctx, tmp_path, rid)
    assert (urgent["outcome"], urgent["findings"]) == outcomes(ctx)[rid] == world.expected[rid]
    pending = query(ctx, "select count(*) from review_queue where run_date = ? and request_id = ?", [RUN, rid])
    assert urgent["review_pending"] == pending[0][0] == 1


@pytest.mark.parametrize("rid", ["LM01", "LM02", "LM03", "LM04"])
def test_LM01_an_urgent_verification_sees_competitors_of_a_mistyped_id_s_prefix(lm_run, tmp_path, rid):
    """LM01: an account in the name 李明 under an ID of 李明's and 李敏's first 14 characters (born the same day in one
    county), two digits of the sequence and the check character wrong: the nightly scores it against both (the
    blocking rule of the first 14 characters) and, 李敏's pair within 10 bits of 李明's, sends it to review for both.
    Before: the urgent verification of 李明's household copied no competitor (李敏's ID is more than one edit from the
    account's, her name of other syllables), linked it and added FINANCIAL_ASSETS_OVER_LIMIT.  Likewise 陈刚 and
    程刚 (another surname).  Now every member whose ID shares a mistyped ID's first 14 characters competes."""
    _same_as_nightly(lm_run, tmp_path, rid)


@pytest.mark.parametrize("rid", ["LM05", "LM06"])
def test_LM02_an_urgent_verification_sees_competitors_born_the_day_a_mistyped_id_says(lm_run, tmp_path, rid):
    """LM02: an account in the name 王丽 under a mistyped ID of a third county of 王莉莉's city, born the day both
    were: the nightly meets 王莉莉 through the surname and the birth date the ID carries, and her city agrees, so her
    pair ranks within 10 bits of 王丽's: review for both.  Before: the urgent copy took a birth date from a
    registration only, never from a record's ID, and 王丽's household came out with the 300,000 linked.  Now the birth
    date is the one linkage compares (the record's ID, mistyped, legacy or masked, else the registration's)."""
    _same_as_nightly(lm_run, tmp_path, rid)


@pytest.mark.parametrize("rid", ["LM07", "LM08"])
def test_LM03_an_urgent_verification_sees_a_competitor_whose_name_has_a_star(lm_run, tmp_path, rid):
    """LM03: an account in the name 刘洋 without an ID; 刘洋 in one household, 刘* (a character the clerk could not
    type) born another day in another: the nightly pairs it with both (a `*` on the member's side: the name
    comparison's pinyin level), and 刘*'s pair within 10 bits of 刘洋's sends it to review for both.  Before: the
    urgent verification of 刘洋's household looked for competitors' patterns only on the records' side, linked it
    and added FINANCIAL_ASSETS_OVER_LIMIT.  Now a member's name of a `*` that a record's name fits competes."""
    _same_as_nightly(lm_run, tmp_path, rid)
