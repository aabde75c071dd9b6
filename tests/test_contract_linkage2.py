"""Records without a usable ID, linked as an outsider expects (sources.md "Values as they come" and its last
paragraph, policy.md "CLEAR is earned"), round 2: names in the spellings sources.md lists on either side (a rare
surname replaced by `*`, a minority name with and without its middle dot, pinyin or traditional forms in the
request), namesakes inside one household, a namesake's valid ID, the legacy 15-digit form.  Cases of
tests/test_contract_linkage.py (K01–K23) are not repeated.

One real `hedui run` over a small hand-made inbox (tests/contract_world.py) is shared by the assertions.
Policy of the run (jiangxi_demo, 2026, 城市): financial assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import pytest
from contract_world import REGION, World, outcomes, query, run_world

CHECKS = "10X98765432"
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str, seq: int, region: str = REGION) -> str:
    """A valid 18-character ID number: region, birth date YYYYMMDD, 3-digit sequence, check character."""
    body = f"{region}{birth}{seq:03d}"
    return body + CHECKS[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def household(w: World, rid: str, members: list[tuple[str, str, str]]) -> None:
    """members: (name, relation, id). Every member authorized and registered in one 户 headed by the applicant."""
    for n, (name, relation, pid) in enumerate(members, start=1):
        w.add("requests", 委托编号=rid, 业务类型="最低生活保障", 姓名=name, 身份证号=pid, 与申请人关系=relation,
              区划代码=REGION, 城乡类别="城市", 授权书编号=f"SQ{rid}{n}", 授权日期="2026-11-01", 委托日期="2026-11-20")
        w.add("public_security", 户号=f"H{rid}", 姓名=name, 公民身份号码=pid, 性别="男",
              出生日期=pid[6:14] if len(pid) == 18 else "", 与户主关系={"本人": "户主"}.get(relation, relation),
              户籍地址="江西省赣州市章贡区某路1号", 区划代码=REGION, 人员状态="正常", 变动日期="")


def bank(w: World, name: str, pid: str, balance: str) -> None:
    w.add("bank", 机构名称="中国工商银行赣州分行", 户名=name, 证件号码=pid, 账号=f"6222{len(w.rows['bank']):015d}",
          账户类型="活期", 余额=balance, 查询日期="20261126")


XUAN = make_id("19750101", 301)     # LK01: 禤国强, a rare surname; his bank record names him `*国强`
AYI = make_id("19880808", 302)      # LK02: 阿依古丽·买买提; her bank record drops the middle dot
ZHE = make_id("19790909", 303)      # LK03: the agency typed her name `王zhe`; the bank has 王喆
CHEN = make_id("19811111", 304)     # LK04: the agency typed 陳建華 (traditional); the bank has 陈建华
ZW1 = make_id("19900101", 305)      # LK05: 张伟, and his cousin 张伟 born the same year, in one household
ZW2 = make_id("19900606", 306)
FENG = make_id("19860606", 307)     # LK06: 冯丽; a namesake's account carries the namesake's own valid ID
GUO = make_id("19720202", 308)      # LK07: 郭涛; his wages are reported under his 15-digit ID
SONG = make_id("19830303", 309)     # LK08: 宋佳; her account's ID was cut by Excel
QI = make_id("19840404", 310)       # LK09: 亓晓燕; a quarantined account names her `*晓燕`
WEI = make_id("19850505", 311)      # LK10: 韦强; a cremation record without ID names him
XUAN2 = make_id("19930303", 313)    # LK12: the agency typed *伟明 for 禤伟明
JIANG = make_id("19940404", 314)    # LK13: 蒋涛; his request row's ID was cut by Excel
P14, P15, P16, P17, P18, P19, P20, P21, P22, P23, P24 = (make_id("19700101", 320 + n) for n in range(11))  # LK14–24
AYI2 = make_id("19920202", 312)     # LK11: the agency typed 热依拉 艾买提 (a space for the dot)


def build() -> World:
    w = World()
    household(w, "LK01", [("禤国强", "本人", XUAN)])
    bank(w, "*国强", "", "500000")
    w.expect("LK01", "INCOMPLETE", "UNCONFIRMED_LINK")

    household(w, "LK02", [("阿依古丽·买买提", "本人", AYI)])
    bank(w, "阿依古丽买买提", "", "500000")  # the same name (links7, LO04): linked as 阿依古丽·买买提 is, unconfirmed
    w.expect("LK02", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")

    household(w, "LK03", [("王zhe", "本人", ZHE)])
    bank(w, "王喆", "", "500000")
    w.expect("LK03", "INCOMPLETE", "UNCONFIRMED_LINK")

    household(w, "LK04", [("陳建華", "本人", CHEN)])
    bank(w, "陈建华", "", "500000")
    w.expect("LK04", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")

    household(w, "LK05", [("张伟", "本人", ZW1), ("张伟", "其他", ZW2)])
    bank(w, "张伟", "", "500000")
    w.expect("LK05", "INCOMPLETE", "UNCONFIRMED_LINK")

    household(w, "LK06", [("冯丽", "本人", FENG)])
    bank(w, "冯丽", make_id("19860606", 407), "500000")
    w.expect("LK06", "CLEAR", "")

    household(w, "LK07", [("郭涛", "本人", GUO)])
    for m in ("202601", "202602", "202603"):
        w.add("tax", 纳税人识别号=GUO[:6] + GUO[8:17], 姓名="郭涛", 所得项目="工资薪金所得", 所属期=m, 收入额="60000",
              已缴税额="0", 扣缴义务人="赣州某某有限公司")
    w.expect("LK07", "FINDINGS", "INCOME_OVER_STANDARD")  # his series ends with the delivery: nothing beside (AX04)

    household(w, "LK08", [("宋佳", "本人", SONG)])
    bank(w, "宋佳", "3.60102E+17", "500000")
    w.expect("LK08", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")

    household(w, "LK09", [("亓晓燕", "本人", QI)])
    bank(w, "*晓燕", "", "约3万")
    w.expect("LK09", "INCOMPLETE", "RECORD_QUARANTINED")

    household(w, "LK10", [("韦强", "本人", WEI)])
    w.add("civil_affairs", 姓名="韦强", 身份证号="", 死亡日期="2026-10-02", 火化日期="2026-10-05", 殡仪馆="赣州市殡仪馆")
    w.expect("LK10", "INCOMPLETE", "MEMBER_REGISTRATION_ENDED;UNCONFIRMED_LINK")

    household(w, "LK11", [("热依拉 艾买提", "本人", AYI2)])
    bank(w, "热依拉•艾买提", "", "500000")  # the same name (links7, LO04): linked, unconfirmed
    w.expect("LK11", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")

    # the agency could not type the rare surname either; the bank could
    household(w, "LK12", [("*伟明", "本人", XUAN2)])
    bank(w, "禤伟明", "", "500000")
    w.expect("LK12", "INCOMPLETE", "UNCONFIRMED_LINK")

    # the request's own ID cut by Excel: the member cannot be looked up, nor mistaken for anyone
    household(w, "LK13", [("蒋涛", "本人", "3.60702E+17")])
    w.rows["public_security"][-1].update(公民身份号码=JIANG, 出生日期=JIANG[6:14])
    bank(w, "蒋涛", JIANG, "100")
    w.expect("LK13", "INCOMPLETE", "RECORD_QUARANTINED")

    # records of other sources without an ID, only the name to go by
    household(w, "LK14", [("柏杨", "本人", P14)])
    w.add("tax", 纳税人识别号="3.60702E+17", 姓名="柏杨", 所得项目="工资薪金所得", 所属期="202601", 收入额="200000",
          已缴税额="0", 扣缴义务人="赣州某某有限公司")
    w.expect("LK14", "INCOMPLETE", "INCOME_OVER_STANDARD;UNCONFIRMED_LINK")
    household(w, "LK15", [("滕飞", "本人", P15)])
    w.add("vehicle", 号牌号码="赣B12345", 号牌种类="小型汽车", 车辆类型="小型轿车", 所有人="滕飞", 证件号码="",
          初次登记日期="2020-05-01", 使用性质="非营运", 车辆状态="正常", 购置价格="200000")
    w.expect("LK15", "INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE")
    household(w, "LK16", [("邝美", "本人", P16)])
    w.add("business_registry", 统一社会信用代码="92360702MA0000001X", 主体名称="章贡区邝美副食店", 主体类型="个体工商户",
          登记状态="存续", 注册资本="5", 人员姓名="邝美", 人员证件号="", 人员角色="经营者", 认缴出资额="5", 成立日期="2019-03-01")
    w.expect("LK16", "INCOMPLETE", "BUSINESS_ROLE;UNCONFIRMED_LINK")
    # two accounts waiting for review (a homophone name, no ID), each under the limit, together over it
    household(w, "LK17", [("曹敏", "本人", P17)])
    bank(w, "曹民", "", "12000")
    bank(w, "曹民", "", "12000")
    w.expect("LK17", "INCOMPLETE", "UNCONFIRMED_LINK")
    # a quarantined account (an amount that is no number) in her name without its middle dot
    household(w, "LK18", [("古丽娜·艾力", "本人", P18)])
    bank(w, "古丽娜艾力", "", "约3万")
    w.expect("LK18", "INCOMPLETE", "RECORD_QUARANTINED")

    # a `*` inside the first part of a minority name
    household(w, "LK19", [("帕提古丽·吐尔逊", "本人", P19)])
    bank(w, "帕提*丽·吐尔逊", "", "500000")
    w.expect("LK19", "INCOMPLETE", "UNCONFIRMED_LINK")

    # quarantined accounts (an amount that is no number) in traditional characters, or in full-width pinyin
    household(w, "LK20", [("谭丽华", "本人", P20)])
    bank(w, "譚麗華", "", "约3万")
    w.expect("LK20", "INCOMPLETE", "RECORD_QUARANTINED")
    household(w, "LK21", [("龚喆", "本人", P21)])
    bank(w, "龚ＺＨＥ", "", "约3万")
    w.expect("LK21", "INCOMPLETE", "RECORD_QUARANTINED")

    # quarantined accounts: a namesake's own valid ID names nobody asked about; the member's 15-digit ID names him
    household(w, "LK22", [("甘露", "本人", P22)])
    bank(w, "甘露", make_id("19700101", 422), "约3万")
    w.expect("LK22", "CLEAR", "")
    household(w, "LK23", [("汤军", "本人", P23)])
    bank(w, "汤军", P23[:6] + P23[8:17], "约3万")
    w.expect("LK23", "INCOMPLETE", "RECORD_QUARANTINED")

    # the rare character typed in pinyin with its tone mark
    household(w, "LK24", [("邓垚", "本人", P24)])
    bank(w, "邓yáo", "", "500000")
    w.expect("LK24", "INCOMPLETE", "UNCONFIRMED_LINK")

    fill(w)
    return w


def fill(w: World) -> None:
    """Every source delivers rows about people nobody asked about (an empty delivery fails its source)."""
    s = {"name": "路人丙", "id": make_id("19600101", 901)}
    for n in range(600):
        bank(w, "路人丙", make_id("19610101", n + 1), "100")  # enough that quarantined rows stay under the suite's share
    for n in range(40):
        w.add("public_security", 户号=f"HS{n:02d}", 姓名="路人丙", 公民身份号码=make_id("19610101", n + 1), 性别="男",
              出生日期="1961-01-01", 与户主关系="户主", 户籍地址="江西省赣州市章贡区某路5号", 区划代码=REGION,
              人员状态="正常", 变动日期="")
    w.wages(s, ["202601"], "3000")
    w.si(s, ["202601"], "企业职工基本养老保险", "缴费", base="3000")
    w.add("housing_fund", 证件号码=s["id"], 姓名=s["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.flat(s, "360702001001GB00099F00010001")
    w.company(s, "有限责任公司", "存续", "10")
    w.car(s, "90000")
    w.add("securities", 姓名=s["name"], 证件号码=s["id"], 证券账户="A0099", 持仓市值="100", 资金余额="1", 查询日期="20261126")
    w.add("insurance", 投保人=s["name"], 投保人证件号=s["id"], 保单号="P0099", 险种="寿险", 保单状态="有效", 现金价值="10",
          查询日期="20261126")
    w.add("civil_affairs", 姓名=s["name"], 身份证号=s["id"], 死亡日期="2026-10-02", 火化日期="2026-10-05", 殡仪馆="赣州市殡仪馆")


@pytest.fixture(scope="module")
def linkage2_run(tmp_path_factory):
    world = build()
    return world, run_world(world, tmp_path_factory, "linkage2")


def pairs(ctx, request_id: str) -> list[tuple]:
    """(source, record name, band or 'exact', confirmed) of every link or pending pair of a request."""
    return query(ctx, """
        select split_part(l.record_id, ':', 1), coalesce(b.name, c.name), coalesce(q.band, 'exact'), l.is_confirmed
        from links l
        left join review_queue q using (run_date, record_id, request_id, member_id)
        left join stg_bank b using (run_date, record_id)
        left join stg_civil_affairs c using (run_date, record_id)
        where l.run_date = $run and l.request_id = $rid and l.method <> 'exact_id'
        union all
        select split_part(q.record_id, ':', 1), b.name, q.band, false from review_queue q
        left join stg_bank b using (run_date, record_id)
        where q.run_date = $run and q.request_id = $rid and q.status = 'pending' and not exists (
            select 1 from links l where l.run_date = q.run_date and l.record_id = q.record_id
            and l.request_id = q.request_id and l.member_id = q.member_id)
        order by all""", {"run": ctx.run_date, "rid": request_id})


def test_every_household_has_the_outcome_the_contract_gives_it(linkage2_run):
    world, ctx = linkage2_run
    got = outcomes(ctx)
    assert {rid: got.get(rid) for rid in world.expected} == world.expected


def test_a_rare_surname_typed_as_a_star_still_names_its_member(linkage2_run):
    """`*国强` for 禤国强: the blocking rules all joined on the surname's pinyin (`*` ≠ xuan), so the record met
    nobody and 500,000 yuan left the household CLEAR; the quarantined `*晓燕` (亓晓燕) likewise named nobody."""
    _, ctx = linkage2_run
    assert [r[:2] for r in pairs(ctx, "LK01")] == [("bank", "*国强")]
    assert not pairs(ctx, "LK01")[0][3]
    assert [r[:2] for r in pairs(ctx, "LK12")] == [("bank", "禤伟明")]  # the request typed *伟明
    assert [r[:2] for r in pairs(ctx, "LK19")] == [("bank", "帕提*丽·吐尔逊")]


def test_a_rare_character_typed_in_pinyin_with_its_tone_mark_still_names_its_member(linkage2_run):
    _, ctx = linkage2_run
    assert [r[:2] for r in pairs(ctx, "LK24")] == [("bank", "邓yáo")]
    assert query(ctx, "select source, method from quarantine_links where run_date = $run and request_id = 'LK09'",
                 {"run": ctx.run_date}) == [("bank", "name")]


def test_name_keys_of_a_typed_rare_surname():
    from matching.linkage import name_keys

    keys = name_keys(["*国强", "禤国强", "xuan国强", "王*明"])
    assert keys["surname_py"] == ["*", "xuan", "xuan", "wang"]
    assert keys["given_py"] == ["guo qiang", "guo qiang", "guo qiang", "* ming"]
    toned = name_keys(["邓yáo", "吕lǚ", "xuán国强"])  # pinyin typed with its tone marks
    assert toned["py"] == ["deng yao", "lv lv", "xuan guo qiang"] and toned["surname_py"][2] == "xuan"


def test_names_spelt_otherwise_on_either_side_wait_for_a_person_not_pass(linkage2_run):
    _, ctx = linkage2_run
    for rid, name in (("LK02", "阿依古丽买买提"), ("LK03", "王喆"), ("LK04", "陈建华"), ("LK11", "热依拉•艾买提")):
        got = pairs(ctx, rid)
        assert [r[:2] for r in got] == [("bank", name)] and not got[0][3], rid


def test_namesakes_in_one_household_share_the_record_for_a_person_to_assign(linkage2_run):
    _, ctx = linkage2_run
    assert pairs(ctx, "LK05") == [("bank", "张伟", "review", False)] * 2


def test_a_namesakes_valid_id_is_never_linked_and_a_15_digit_id_is_exact(linkage2_run):
    _, ctx = linkage2_run
    assert pairs(ctx, "LK06") == []
    assert query(ctx, "select count(*) from review_queue where run_date = $run and request_id = 'LK06'",
                 {"run": ctx.run_date}) == [(0,)]
    assert query(ctx, "select method, count(*) from links where run_date = $run and request_id = 'LK07' "
                      "and record_id like 'tax:%' group by all", {"run": ctx.run_date}) == [("exact_id", 3)]


@pytest.fixture(scope="module")
def reviewed2(linkage2_run, tmp_path_factory):
    """A copy of the run's folder where staff confirmed LK05's account as the first 张伟's."""
    import shutil

    from hedui.pipeline import RunContext
    from hedui.review.decisions import record_decision

    world, ctx = linkage2_run
    work = tmp_path_factory.mktemp("reviewed2") / "work"
    shutil.copytree(ctx.workdir, work)
    ctx = RunContext.of(ctx.inbox, work, ctx.run_date)
    [(key,)] = query(ctx, "select decision_key from review_queue where run_date = $run and request_id = 'LK05' "
                          "and member_id = (select id_norm from stg_requests where run_date = $run "
                          "and request_id = 'LK05' and relation = '本人')", {"run": ctx.run_date})
    result = record_decision(ctx, key, "confirmed", "张审核", "银行回函：账户为申请人本人所有")
    return world, ctx, result


def test_a_record_confirmed_as_one_namesakes_decides_the_household(reviewed2):
    _, ctx, result = reviewed2
    assert (result["outcome"], result["findings"]) == ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
