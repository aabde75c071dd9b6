"""Urgent verification (救急难) weighs the records without a usable ID that the nightly would.

The urgent path copies a household's records out of the working database.  Records without a usable ID were
copied only where their normalized name was a member's, while the nightly's probabilistic linkage pairs them by
its blocking rules: the name's pinyin (王小明 for 王晓明), the first 14 characters of an ID with a wrong check
character, the birth date with the surname.  A cremation record of 赵莉 for member 赵丽, a car of a mistyped ID
and owner name, a second flat of 王小明: the nightly sent them to review (INCOMPLETE), the urgent verification of
the same household with the same answers never saw them — CLEAR.  The urgent result must be the nightly's.
"""

from __future__ import annotations

import csv
import shutil

import pytest
from contract_world import RUN, World, check_char, fresh_ids, new_id, outcomes, run_world

VERIFY_DATE = "20261202"
ON_REQUEST = ("bank", "securities", "insurance")


def _wrong_check(pid: str) -> str:
    """`pid` with another check character: no usable ID, its first 17 characters still the person's."""
    good = check_char(pid[:17])
    return pid[:17] + ("0" if good != "0" else "1")


def build() -> World:
    w = World()
    w.in_every_source({"name": "孙平常", "id": new_id()})  # nobody asked about: every source delivers a file
    # a second flat of 王小明 (the same pinyin as 王晓明), no ID
    (a,) = w.household("UC01", [("王晓明", "本人")])
    w.flat(a, "360702001001GB00001F00010001")
    w.flat({"name": "王小明", "id": ""}, "360702001001GB00001F00010002")
    # a car whose owner's ID lost its check character and whose owner name is mistyped (李建军 for 李建国)
    (b,) = w.household("UC02", [("李建国", "本人")])
    w.car({"name": "李建军", "id": _wrong_check(b["id"])}, "150000")
    # a cremation record of 赵莉 (the same pinyin as 赵丽), no ID
    c, _ = w.household("UC03", [("赵丽", "本人"), ("钱进", "配偶")])
    w.add("civil_affairs", 姓名="赵莉", 身份证号="", 死亡日期="2026-10-02", 火化日期="2026-10-04", 殡仪馆="赣州市殡仪馆")
    return w


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with fresh_ids(310):
        world = build()
    ctx = run_world(world, tmp_path_factory, "uc")
    return world, ctx


def _urgent(world, ctx, rid, tmp_path):
    from hedui.urgent import verify_household

    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(ctx.database, work / "hedui.duckdb")
    answers = tmp_path / "answers"
    for source in ON_REQUEST:
        shutil.copytree(ctx.inbox / source / RUN, answers / source)
    with open(ctx.inbox / "requests" / RUN / f"requests_{RUN}.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["委托编号"] == rid]
    return verify_household(work, rows, answers=answers, run_date=VERIFY_DATE)


def test_UC00_the_nightly_did_not_call_the_households_clear(runs):
    world, ctx = runs
    got = outcomes(ctx)
    for rid in ("UC01", "UC02", "UC03"):
        assert got[rid][0] != "CLEAR", (rid, got[rid])


@pytest.mark.parametrize("rid", ["UC01", "UC02", "UC03"])
def test_UC01_urgent_verification_weighs_the_records_the_nightly_linkage_pairs(runs, rid, tmp_path):
    world, ctx = runs
    urgent = _urgent(world, ctx, rid, tmp_path)
    assert (urgent["outcome"], urgent["findings"]) == outcomes(ctx)[rid]


def test_UC02_the_urgent_copy_knows_every_blocking_rule_of_the_linkage():
    """hedui.urgent_candidates keeps a superset of the pairs of these rules: a rule added to hedui/linkage.yaml
    needs its condition there too, or the urgent path would leave that rule's records unweighed."""
    import yaml

    from hedui.resources import package_path
    from hedui.urgent_candidates import BLOCKING_RULES

    spec = yaml.safe_load(package_path("linkage.yaml").read_text(encoding="utf-8"))
    assert [" ".join(r.split()) for r in spec["blocking_rules"]] == list(BLOCKING_RULES)
