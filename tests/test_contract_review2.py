"""A review pair keeps its household INCOMPLETE even when its record is auto-linked to another household's member
(policy.md: CLEAR is earned; a record waiting for review that could create a finding is UNCONFIRMED_LINK).

Three times the same situation, each left to its own staff decision: a car whose owner ID has a wrong check
character links (by name, birth date and city, above the upper threshold, nobody confirmed it) to the owner asked
about in one household, and falls in the review band for an applicant of another household whose own valid ID the
car's is, but for one digit of the sequence (which of the two IDs was mistyped, a person must ask):
- RV01 (owner) / RV02 (the other): staff confirm the car as RV02's applicant's;
- RV03 / RV04: staff reject it as RV04's applicant's;
- RV05 / RV06: staff confirm it as RV05's owner's.
RV07: the car links to the applicant and is in review for his wife: one household, no second wait for it."""

from __future__ import annotations

import shutil

import pytest
from contract_world import REGION, RUN, World, birth_of, fresh_ids, id_one_digit_from, new_id, outcomes, query

CHECKS = "10X98765432"
PAIRS = (("RV01", "冯车一", "RV02", "韩签二"), ("RV03", "冯车三", "RV04", "韩签四"), ("RV05", "冯车五", "RV06", "韩签六"))


def wrong_check(pid: str) -> str:
    return pid[:17] + next(c for c in CHECKS if c != pid[17])


def build() -> World:
    w = World()
    for owner_rid, owner, other_rid, other in PAIRS:
        (o,) = w.household(owner_rid, [(owner, "本人")])
        car = {"name": owner, "id": wrong_check(o["id"])}
        w.car(car, "200000")
        a, _ = w.household(other_rid, [(other, "本人"), (other + "妻", "配偶")])
        w.set_id(a["id"], id_one_digit_from(car["id"]))
    # RV07: the same car of the applicant's, in review for his wife as well: the household weighs it already
    o, b = w.household("RV07", [("冯车七", "本人"), ("韩签七", "配偶")])
    car = {"name": o["name"], "id": wrong_check(o["id"])}
    w.car(car, "200000")
    w.set_id(b["id"], id_one_digit_from(car["id"]))
    s = {"name": "路人癸", "id": new_id()}  # every source delivers: rows about somebody nobody asked about
    w.add("civil_affairs", 姓名=s["name"], 身份证号=s["id"], 死亡日期="2026-10-02", 火化日期="2026-10-05",
          殡仪馆="赣州市殡仪馆")
    w.add("public_security", 户号="HS900", 姓名=s["name"], 公民身份号码=s["id"], 性别="男", 出生日期=birth_of(s["id"]),
          与户主关系="户主", 户籍地址="江西省赣州市章贡区某路5号", 区划代码=REGION, 人员状态="正常", 变动日期="")
    w.wages(s, ["202601"], "3000")
    w.si(s, ["202601"], "企业职工基本养老保险", "缴费", base="3000")
    w.add("housing_fund", 证件号码=s["id"], 姓名=s["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.flat(s, "360702001001GB00999F00010001")
    w.company(s, "有限责任公司", "存续", "10")
    w.car(s, "90000")
    w.bank(s, "100")
    w.add("securities", 姓名=s["name"], 证件号码=s["id"], 证券账户="A0999", 持仓市值="100", 资金余额="1",
          查询日期="20261126")
    w.add("insurance", 投保人=s["name"], 投保人证件号=s["id"], 保单号="P0999", 险种="寿险", 保单状态="有效",
          现金价值="10", 查询日期="20261126")
    return w


def page(ctx, rid: str) -> str:
    import html
    import re

    body = (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")
    body = re.sub(r"(?s)<style.*?</style>", "", body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def pair_key(ctx, rid: str) -> str:
    [(key,)] = query(ctx, "select decision_key from review_queue where run_date = ? and request_id = ?", [RUN, rid])
    return key


@pytest.fixture(scope="module")
def rv_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    with fresh_ids(3100):
        world = build()
    inbox = tmp_path_factory.mktemp("rv") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("rv_work"), RUN)
    run(ctx)
    return world, ctx, {"outcomes": outcomes(ctx), "pages": {f"RV0{k}": page(ctx, f"RV0{k}") for k in range(1, 7)}}


@pytest.fixture(scope="module")
def decided(rv_run, tmp_path_factory):
    """A copy of the run's folder where staff decided the three pairs; then the date run again from its inbox."""
    from hedui.pipeline import RunContext, run
    from hedui.review.decisions import record_decision

    _, ctx, _ = rv_run
    work = tmp_path_factory.mktemp("rv_decided") / "work"
    shutil.copytree(ctx.workdir, work)
    ctx = RunContext.of(ctx.inbox, work, RUN)
    results = {
        "RV02": record_decision(ctx, pair_key(ctx, "RV02"), "confirmed", "张审核", "车管所回函：车辆为韩签二所有"),
        "RV04": record_decision(ctx, pair_key(ctx, "RV04"), "rejected", "张审核", "车管所回函：车辆非韩签四所有"),
        "RV05": record_decision(ctx, pair_key(ctx, "RV05"), "confirmed", "张审核", "车管所回函：证件号码录错一位")}
    at_once = {"outcomes": outcomes(ctx), "pages": {f"RV0{k}": page(ctx, f"RV0{k}") for k in range(1, 7)}}
    run(ctx)  # the decisions apply on every later run of the same records
    return ctx, results, at_once, outcomes(ctx)


BEFORE = {"RV01": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"), "RV02": ("INCOMPLETE", "UNCONFIRMED_LINK"),
          "RV03": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"), "RV04": ("INCOMPLETE", "UNCONFIRMED_LINK"),
          "RV05": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"), "RV06": ("INCOMPLETE", "UNCONFIRMED_LINK"),
          "RV07": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE")}
AFTER = {"RV01": ("CLEAR", ""), "RV02": ("FINDINGS", "VEHICLE"),  # the car is RV02's, so no longer RV01's
         "RV03": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"), "RV04": ("CLEAR", ""),  # rejected: RV04 weighed it
         "RV05": ("FINDINGS", "VEHICLE"), "RV06": ("CLEAR", ""),  # the car is RV05's owner's: nobody else's
         "RV07": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE")}


def test_rv_the_pair_keeps_the_other_household_incomplete_while_the_record_is_linked_elsewhere_unconfirmed(rv_run):
    _, ctx, before = rv_run
    assert before["outcomes"] == BEFORE
    bands = query(ctx, "select request_id, band, status from review_queue where run_date = ? order by 1, 2", [RUN])
    assert bands == [("RV01", "link", "pending"), ("RV02", "review", "pending"), ("RV03", "link", "pending"),
                     ("RV04", "review", "pending"), ("RV05", "link", "pending"), ("RV06", "review", "pending"),
                     ("RV07", "link", "pending"), ("RV07", "review", "pending")]
    # RV07's wife's pair waits for nobody: the record is linked to her husband, in the same household
    assert query(ctx, "select request_id, count(*) from pending_links where run_date = ? group by 1 order by 1",
                 [RUN]) == [("RV02", 1), ("RV04", 1), ("RV06", 1)]
    assert query(ctx, "select count(*) from evidence_gaps where run_date = ? and request_id = 'RV07' "
                      "and member_id = (select member_id from review_queue where run_date = ? and request_id = 'RV07' "
                      "and band = 'review')", [RUN, RUN]) == [(0,)]


def test_rv_the_page_and_the_review_queue_show_the_pair_for_the_other_household(rv_run):
    import duckdb

    from hedui.review.queue import pair, queue

    world, ctx, before = rv_run
    t = before["pages"]["RV02"]
    assert "核对信息不完整，需人工复核" in t and "vehicle/20261128/vehicle_20261128.csv 第 2 行" in t, t
    weight = query(ctx, "select match_weight from review_queue where run_date = ? and request_id = 'RV02'", [RUN])[0][0]
    assert f"{weight:.2f}" in t
    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        waiting = {r["request_id"]: r for r in queue(con, RUN, "pending")}
        p = pair(con, RUN, waiting["RV02"]["decision_key"])
    finally:
        con.close()
    assert waiting["RV02"]["member_name"] == "韩签二" and waiting["RV02"]["band"] == "review"
    assert dict(p["member_fields"])["委托编号"] == "RV02" and dict(p["record_fields"])["所有人"] == "冯车一"


def test_rv_staff_decisions_settle_both_households_at_once_and_on_a_rerun(decided):
    ctx, results, at_once, rerun = decided
    assert at_once["outcomes"] == AFTER
    assert rerun == AFTER
    assert results["RV05"]["households"] == ["RV05", "RV06"]  # the household the pair no longer waits for, too
    from hedui.steps.report.versions import list_versions

    own, other = (list_versions(ctx.report_dir, rid)[-1] for rid in ("RV05", "RV06"))
    assert own["reason"] == "车管所回函：证件号码录错一位" and "匹配权重" in own["what"]
    # the other household's history says why it moved, without quoting a decision about another household's pair
    assert other["reason"] == "" and "另一户的待复核配对已确认" in other["what"], other
    assert "未发现超出政策规定情形" in at_once["pages"]["RV06"] and "核对信息不完整" not in at_once["pages"]["RV06"]
    assert "未发现超出政策规定情形" in at_once["pages"]["RV01"]
    assert "发现以下情形" in at_once["pages"]["RV02"]
    assert query(ctx, "select count(*) from pending_links where run_date = ?", [RUN]) == [(0,)]
