"""An agency that numbers its requests by the applicant's ID number (委托编号 = 身份证号).

The request id is printed on every report, the summary, the alerts, the workspace, names the report
files and goes to the auditors.  Staged, an ID number inside it is masked and a keyed suffix keeps
distinct ids apart (`hedui.privacy.request_ids`).  Before, such a delivery wrote the IDs into every
page, file name and CSV, and the run then stopped at the auditor publication ("evidence.request_id 中有
… 个未遮蔽的身份证号"): one agency's numbering failed the whole nightly batch.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest
from conftest import RUN_DATE
from privacy_needles import Scanner, needles_of

from hedui.privacy.request_ids import as_staged, carries_id, staged_request_id

KEY = bytes(range(32))


@pytest.mark.parametrize("text", [
    "36010219900101123X",             # an ID number (right check character)
    "36010219900101123x",             # lower-case x
    "WT-36010219900101123X",          # inside a request number
    "wt36010219900101123X",           # glued to letters
    "360102900101123",                # the legacy 15-digit form
    "３６０１０２１９９００１０１１２３Ｘ",  # full-width
])
def test_an_id_number_in_a_request_id_is_masked_and_the_id_kept_apart(text):
    staged = staged_request_id(text, KEY)
    assert carries_id(text)
    assert "900101" not in staged
    assert re.search(r"360102\*{5,8}1?123X?", staged), staged
    assert re.fullmatch(r".*-[0-9a-f]{6}", staged)
    assert staged == staged_request_id(text, KEY)  # the same every run: a re-check finds it
    assert staged != staged_request_id(text, bytes(32))  # keyed: the suffix says nothing without the key


@pytest.mark.parametrize("text", [
    "WT202611280000001",      # a request number: its 15 digits are no ID (no province, no birth date)
    "360102202611280002",     # region + request date + sequence: the check character is wrong
    # (1 such number in 11 has the right one by chance, 360102202611280001: it is masked — a number that is
    # an ID number in every respect is treated as one)
    "360102199001011237",     # an ID-shaped number with a wrong check character
    "WT-2026-000001", "", None,
])
def test_a_request_number_is_left_as_delivered(text):
    assert not carries_id(text)
    assert staged_request_id(text, KEY) == text
    assert as_staged(text or "") == (text or "")


def test_one_request_id_written_with_full_width_digits_or_a_lower_case_x_is_one_request():
    forms = ["36010219900101123X", "36010219900101123x", "３６０１０２１９９００１０１１２３Ｘ"]
    assert len({staged_request_id(t, KEY) for t in forms}) == 1


def test_two_applicants_sharing_a_mask_stay_two_requests():
    twins = ["360102200202021237", "360102198001051237"]  # both 360102********1237 when masked
    assert all(carries_id(t) for t in twins)
    assert len({staged_request_id(t, KEY).rsplit("-", 1)[0] for t in twins}) == 1
    assert len({staged_request_id(t, KEY) for t in twins}) == 2


def _requests_file(inbox: Path) -> Path:
    return next((inbox / "requests" / RUN_DATE).glob("requests_*.csv"))


@pytest.fixture(scope="module")
def id_numbered(tmp_path_factory):
    """A 12-household world whose request ids are the applicants' ID numbers (one inside `WT-…`), one
    member's request row with a bad ID number and an ideographic space after its request id, run through
    `hedui run`'s steps."""
    from hedui.generate import generate
    from hedui.pipeline import RunContext, run

    inbox = tmp_path_factory.mktemp("rq") / "inbox"
    generate(inbox, households=12, seed=7, date=RUN_DATE)
    path = _requests_file(inbox)
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    header, body = rows[0], rows[1:]
    rid, rel, idn = header.index("委托编号"), header.index("与申请人关系"), header.index("身份证号")
    applicant = {r[rid]: r[idn] for r in body if r[rel] == "本人"}
    households = list(applicant)
    spoiled = next(r for r in body if r[rel] != "本人")  # a member of a household of ≥ 2
    for r in body:
        r[rid] = applicant[r[rid]]
    first = body[0][rid]
    for r in body:
        if r[rid] == first:
            r[rid] = "WT-" + r[rid]
    spoiled[idn] = spoiled[idn][:-2]  # 16 characters: no ID number, the row is quarantined
    spoiled[rid] = spoiled[rid] + "\u3000"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("work"), RUN_DATE)
    run(ctx)
    return ctx, households, spoiled[rid].strip()


def _outcomes(ctx) -> dict[str, str]:
    with (Path(ctx.workdir) / "reports" / RUN_DATE / "outcomes.csv").open(encoding="utf-8-sig") as fh:
        return {r["request_id"]: r["outcome"] for r in csv.DictReader(fh)}


def test_such_a_delivery_runs_through_with_every_household_answered_under_a_masked_id(id_numbered):
    ctx, households, _ = id_numbered
    outcomes = _outcomes(ctx)
    assert len(outcomes) == len(households) == 12
    for rid in outcomes:
        assert re.fullmatch(r"(WT-)?3\d{5}\*{8}\d{3}[\dX]-[0-9a-f]{6}", rid), rid


def test_the_household_whose_member_row_was_quarantined_is_not_clear(id_numbered):
    """The quarantined row's request id (an ideographic space after it) is staged as the others: its
    household is INCOMPLETE, never CLEAR on a member nobody looked up."""
    ctx, _, spoiled_rid = id_numbered
    key = as_staged(spoiled_rid)
    assert _outcomes(ctx)[key] == "INCOMPLETE"


def test_no_id_number_anywhere_a_person_or_an_auditor_reads(id_numbered):
    ctx, _, _ = id_numbered
    work = Path(ctx.workdir)
    ids, accounts = needles_of(work / "runs" / RUN_DATE)
    scanner = Scanner(ids | accounts)
    paths = [p for p in work.rglob("*") if p.is_file() and not ({"raw", "staged_pre"} & set(p.parts))]
    assert scanner.scan(paths) == []
    named = [p.name for p in work.rglob("*") if any(i in p.name for i in ids)]
    assert named == []
    assert os.listdir(work / "reports" / RUN_DATE / "households")


def test_an_urgent_verification_under_such_an_id_finds_its_outcome_and_prints_no_id(id_numbered, tmp_path):
    """`hedui verify` (救急难) with a request whose id is the applicant's ID number: it stages the id as the
    nightly run did, finds the household's outcome (before: "未得出结论"), and what it returns shows no ID."""
    import shutil

    from hedui.ops.sources_config import load_sources_config
    from hedui.urgent import verify_household

    ctx, households, _ = id_numbered
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(ctx.database, work / "hedui.duckdb")
    rows = list(csv.DictReader(_requests_file(Path(ctx.inbox)).open(encoding="utf-8-sig")))
    rid = rows[-1]["委托编号"].strip()
    mine = [r for r in rows if r["委托编号"].strip() == rid]
    answers = tmp_path / "answers"
    for source in load_sources_config().on_request:
        shutil.copytree(Path(ctx.inbox) / source / RUN_DATE, answers / source)
    got = verify_household(work, mine, answers=answers, run_date="20261202")
    assert got["request_id"] == as_staged(rid) != rid
    assert got["outcome"] == _outcomes(ctx)[as_staged(rid)]
    assert rid not in repr(got)
