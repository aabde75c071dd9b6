"""Linkage and staff review against the contract (sources.md "Values as they come" and its last paragraph,
policy.md "CLEAR is earned", docs/linkage.md), on households and records written by hand (not by hedui's
generator): ID numbers in the forms departments deliver them, records without a usable ID, names in their
delivered spellings, namesakes and twins, a person asked about in two requests, and the review flow.

One real `hedui run` over a small hand-made inbox (tests/contract_world.py writes it) is shared by the
assertions; the review tests work on copies of its working folder.

Policy of the run (jiangxi_demo, 2026, 城市): financial assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import shutil

import pytest
from contract_world import REGION, RUN, World, outcomes, query, run_world

CHECKS = "10X98765432"
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str, seq: int, region: str = REGION) -> str:
    """A valid 18-character ID number: region, birth date YYYYMMDD, 3-digit sequence, check character."""
    body = f"{region}{birth}{seq:03d}"
    return body + CHECKS[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def id_with_x(birth: str, start: int) -> str:
    """A valid ID whose check character is X (the form Excel users type as lowercase x)."""
    seq = start
    while not (pid := make_id(birth, seq)).endswith("X"):
        seq += 1
    return pid


def wrong_check(pid: str, avoid: str = "") -> str:
    """The ID with a wrong check character (and not one of `avoid`)."""
    return pid[:17] + next(c for c in CHECKS if c != pid[17] and c not in avoid)


def to15(pid: str) -> str:
    """The legacy 15-digit form (born 19xx): the century and the check character dropped."""
    return pid[:6] + pid[8:17]


def household(w: World, rid: str, members: list[tuple[str, str, str]]) -> list[dict]:
    """members: (name, relation, id). Every member authorized and registered in one 户 headed by the applicant."""
    people = []
    for n, (name, relation, pid) in enumerate(members, start=1):
        w.add("requests", 委托编号=rid, 业务类型="最低生活保障", 姓名=name, 身份证号=pid, 与申请人关系=relation,
              区划代码=REGION, 城乡类别="城市", 授权书编号=f"SQ{rid}{n}", 授权日期="2026-11-01", 委托日期="2026-11-20")
        clean = pid.strip().upper()
        if any(r["公民身份号码"] == pid for r in w.rows["public_security"]):
            people.append({"name": name, "id": pid})  # one person asked about in two requests: one registration
            continue
        w.add("public_security", 户号=f"H{rid}", 姓名=name, 公民身份号码=pid, 性别="男",
              出生日期=clean[6:14] if len(clean) == 18 else "", 与户主关系={"本人": "户主"}.get(relation, relation),
              户籍地址="江西省赣州市章贡区某路1号", 区划代码=REGION, 人员状态="正常", 变动日期="")
        people.append({"name": name, "id": pid})
    return people


def bank(w: World, name: str, pid: str, balance: str, account: str | None = None) -> str:
    account = account or f"6217{len(w.rows['bank']):015d}"
    w.add("bank", 机构名称="中国建设银行赣州分行", 户名=name, 证件号码=pid, 账号=account, 账户类型="活期", 余额=balance,
          查询日期="20261126")
    return account


# --- the people ---------------------------------------------------------------------------------------------
SUN = id_with_x("19750101", 100)           # K01: every delivered form of his ID must link exactly
ZHOU = id_with_x("19760202", 100)          # K02: her request row carries the odd forms
WU = make_id("19770303", 101)              # K03: a stranger's record with a scientific-notation ID
ZHENG = make_id("19780404", 102)           # K04: her own record with a scientific-notation ID
FENG = make_id("19790505", 103)            # K05: his record with a wrong check character
CHEN_J = make_id("19800606", 104)          # K06: a wrong check character on a stranger's record
LI_DA = make_id("19800707", 105)           # K07: the twins' father
LI_MING = make_id("20100505", 111)         # K07: twin 李明
LI_MING2 = make_id("20100505", 121)        # K07: twin 李鸣 (homophone), same birth date
WANG_G = make_id("19850312", 131)          # K08: 王伟
WANG_H = make_id("19850312", 132)          # K09: another 王伟, same birth date and county
AYI = make_id("19900101", 141)             # K10: 阿依古丽·买买提
CHEN_GH = make_id("19900202", 142)         # K10: 陈国华
WANG_YAO = make_id("19910303", 143)        # K11: 王垚明 (a rare character)
ZHAO = make_id("19720404", 151)            # K12: review → confirmed
QIAN = make_id("19720505", 152)            # K13: review → rejected
LIU = make_id("19730606", 161)             # K14 and K15: one person in two requests (exact record)
KONG = make_id("19730707", 162)            # K16 and K17: one person in two requests (record without a usable ID)
HE = make_id("19700808", 171)              # K18: a registration record without ID: name + birth + region
YAN = make_id("19660606", 191)             # K21: a namesake's registration, born elsewhere on another day
CHU = make_id("19690909", 181)             # K19: her request row carries a wrong check character
WEI = make_id("19681010", 182)             # K20: his request row carries the legacy 15-digit form
WANG_JG = make_id("19820202", 201)         # K22: 王建国; a 王芳 born the same day in his county died
HAN = make_id("19830303", 211)             # K23: 韩梅; a stranger's bank ID, one check character wrong, shares her
                                           # county and birth date (the first 14 characters), nothing else


def build() -> World:
    w = World()
    # K01: lowercase x, full-width digits, spaces inside and around, Excel's apostrophe, the 15-digit form
    household(w, "K01", [("孙立", "本人", SUN)])
    fw = SUN.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    for form in (SUN[:17] + "x", fw, f" {SUN[:6]} {SUN[6:14]} {SUN[14:]} ", "'" + SUN, to15(SUN)):
        bank(w, "孙立", form, "4000")  # 5 × 4,000 = 20,000 > 19,200: over only if every one links
    w.expect("K01", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")

    # K02: the request row itself carries lowercase x, full-width digits and spaces
    household(w, "K02", [("周芳", "本人", " " + ZHOU[:10].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
                                                     + ZHOU[10:17] + "x ")])
    bank(w, "周芳", ZHOU, "30000")
    w.expect("K02", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")

    # K03: Excel cut a stranger's ID to scientific notation: missing, never a link on a wrong ID
    household(w, "K03", [("吴刚", "本人", WU)])
    bank(w, "路人甲", "3.60702E+17", "500000")
    w.expect("K03", "CLEAR", "")

    # K04: her own record, ID cut by Excel: only her name is left, a probabilistic link at best
    household(w, "K04", [("郑晓燕", "本人", ZHENG)])
    bank(w, "郑晓燕", "3.60702E+17", "500000")

    # K05: a wrong check character on his own record: not exact, not lost
    household(w, "K05", [("冯军", "本人", FENG)])
    bank(w, "冯军", wrong_check(FENG), "500000")

    # K06: a wrong check character on a record in a stranger's name: never a confirmed link
    household(w, "K06", [("陈静", "本人", CHEN_J)])
    bank(w, "路人乙", wrong_check(CHEN_J), "500000")

    # K07: twins, same birth date, homophone names; a record of 李明 with a wrong check character
    household(w, "K07", [("李大", "本人", LI_DA), ("李明", "子女", LI_MING), ("李鸣", "子女", LI_MING2)])
    bank(w, "李明", wrong_check(LI_MING, avoid=LI_MING2[17]), "30000")  # 30,000 / 3 under the limit
    bank(w, "李鸣", LI_MING2, "1000")
    w.expect("K07", "CLEAR", "")

    # K08/K09: two 王伟 born the same day in the same county, in two households
    household(w, "K08", [("王伟", "本人", WANG_G)])
    household(w, "K09", [("王伟", "本人", WANG_H)])
    bank(w, "王伟", "", "100000")  # no ID: whose is it? a person must look
    bank(w, "王伟", wrong_check(WANG_G, avoid=WANG_H[17]), "500")  # G's ID, one character wrong
    w.expect("K08", "INCOMPLETE", "UNCONFIRMED_LINK")
    w.expect("K09", "INCOMPLETE", "UNCONFIRMED_LINK")

    # K10/K11: names as delivered (no ID: the name is all there is)
    household(w, "K10", [("阿依古丽·买买提", "本人", AYI), ("陈国华", "配偶", CHEN_GH)])
    household(w, "K11", [("王垚明", "本人", WANG_YAO)])
    for name in ("阿依古丽•买买提", "阿依古丽.买买提", "阿依古丽 · 买买提", "陳國華", "陈 国 华", "王*明", "王yao明",
                 "王ＹＡＯ明"):
        bank(w, name, "", "100")

    # K12/K13: a record waiting for review (a homophone name, no ID) that would create a finding
    household(w, "K12", [("赵敏", "本人", ZHAO)])
    bank(w, "赵民", "", "100000", account="6217000000000012001")
    w.expect("K12", "INCOMPLETE", "UNCONFIRMED_LINK")
    household(w, "K13", [("钱敏", "本人", QIAN)])
    bank(w, "钱民", "", "100000", account="6217000000000013001")
    w.expect("K13", "INCOMPLETE", "UNCONFIRMED_LINK")

    # K14/K15 and K16/K17: one person asked about in two requests
    household(w, "K14", [("刘洋", "本人", LIU)])
    household(w, "K15", [("刘洋", "本人", LIU)])
    bank(w, "刘洋", LIU, "100000")
    w.expect("K14", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    w.expect("K15", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    household(w, "K16", [("孔亮", "本人", KONG)])
    household(w, "K17", [("孔亮", "本人", KONG)])
    bank(w, "孔亮", wrong_check(KONG), "100000")

    # K18: a registration record without ID: name, birth date and region are the evidence
    household(w, "K18", [("何平", "本人", HE)])
    w.add("public_security", 户号="HX18", 姓名="何平", 公民身份号码="", 性别="男", 出生日期="1970-08-08",
          与户主关系="户主", 户籍地址="江西省赣州市章贡区某路9号", 区划代码=REGION, 人员状态="死亡", 变动日期="2026-10-01")
    # K21: a namesake's death registration without ID: born on another day, registered in another city
    household(w, "K21", [("严明", "本人", YAN)])
    w.add("public_security", 户号="HX21", 姓名="严明", 公民身份号码="", 性别="男", 出生日期="1950-01-01",
          与户主关系="户主", 户籍地址="江西省南昌市东湖区某路3号", 区划代码="360102", 人员状态="死亡", 变动日期="2026-10-01")
    w.expect("K21", "CLEAR", "")

    # K19: the request row's ID has a wrong check character: she cannot be looked up, nor mistaken for anyone
    household(w, "K19", [("褚红", "本人", wrong_check(CHU))])
    w.rows["public_security"][-1]["公民身份号码"] = CHU  # the registration has it right
    bank(w, "褚红", CHU, "100")
    w.expect("K19", "INCOMPLETE", "RECORD_QUARANTINED")
    # K20: the request row in the legacy 15-digit form: converted, then the 18-digit records link exactly
    household(w, "K20", [("卫东", "本人", to15(WEI))])
    w.rows["public_security"][-1].update(公民身份号码=WEI, 出生日期=WEI[6:14])
    bank(w, "卫东", WEI, "30000")
    w.expect("K20", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")

    # K22: a death registration without ID of 王芳, born the day 王建国 was, in his county: the shared surname,
    # birth date and county are all that agree (many people share them): not his, no review either
    household(w, "K22", [("王建国", "本人", WANG_JG)])
    w.add("public_security", 户号="HX22", 姓名="王芳", 公民身份号码="", 性别="女", 出生日期="1982-02-02",
          与户主关系="户主", 户籍地址="江西省赣州市章贡区某路7号", 区划代码=REGION, 人员状态="死亡", 变动日期="2026-10-01")
    w.expect("K22", "CLEAR", "")
    # K23: a stranger's account whose ID has a wrong check character and shares only 韩梅's county and birth date
    household(w, "K23", [("韩梅", "本人", HAN)])
    bank(w, "路人丁", wrong_check(make_id("19830303", 299)), "500000")
    w.expect("K23", "CLEAR", "")

    # every source delivers something (an empty delivery fails its source): a stranger nobody asked about
    s = {"name": "路人丙", "id": make_id("19600101", 901)}
    for n in range(200):  # valid IDs of people nobody asked about: a bank's usual answer, most IDs usable
        bank(w, "路人丙", make_id("19610101", n + 1), "100")
    for n in range(40):  # and their registrations (the suite allows 5 % of IDs unusable: K18, K21, K22 have none)
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
    return w


@pytest.fixture(scope="module")
def linkage_run(tmp_path_factory):
    world = build()
    return world, run_world(world, tmp_path_factory, "linkage")


#: every bank record and what it became: (request, member name, record name, delivered ID status, method,
#: band of a probabilistic pair or None, confirmed)
_BANK_LINKS = """
    with members as (select distinct request_id, id_norm, name from stg_requests where run_date = $run),
    pairs as (
        select l.record_id, l.request_id, l.member_id, l.method, q.band, l.is_confirmed from links l
        left join review_queue q using (run_date, record_id, request_id, member_id) where l.run_date = $run
        union all
        select record_id, request_id, member_id, 'pending', band, false from review_queue q
        where run_date = $run and not exists (select 1 from links l where l.run_date = q.run_date
              and l.record_id = q.record_id and l.request_id = q.request_id and l.member_id = q.member_id)
    )
    select p.request_id, m.name, b.name, b.id_status, p.method, p.band, p.is_confirmed, b.record_id
    from pairs p join stg_bank b on b.run_date = $run and b.record_id = p.record_id
    join members m on m.request_id = p.request_id and m.id_norm = p.member_id
    order by all
"""


def bank_links(ctx, record_name: str | None = None) -> list[tuple]:
    rows = query(ctx, _BANK_LINKS, {"run": ctx.run_date})
    return [r[:7] for r in rows if record_name is None or r[2] == record_name]


def test_every_form_an_id_is_delivered_in_links_exactly(linkage_run):
    world, ctx = linkage_run
    got = outcomes(ctx)
    households = ("K01", "K02", "K20")
    assert {rid: got[rid] for rid in households} == {rid: world.expected[rid] for rid in households}
    # lowercase x, full-width digits, spaces, an apostrophe, the 15-digit form: five exact, confirmed links
    assert bank_links(ctx, "孙立") == [("K01", "孙立", "孙立", status, "exact_id", None, True)
                                     for status in sorted(["valid"] * 4 + ["converted_15"])]
    assert bank_links(ctx, "周芳") == [("K02", "周芳", "周芳", "valid", "exact_id", None, True)]
    assert bank_links(ctx, "卫东") == [("K20", "卫东", "卫东", "valid", "exact_id", None, True)]  # asked as 15 digits


def test_a_member_whose_request_id_has_a_wrong_check_character_is_not_verified_as_anyone(linkage_run):
    world, ctx = linkage_run
    assert outcomes(ctx)["K19"] == world.expected["K19"]
    assert bank_links(ctx, "褚红") == []


def test_an_id_cut_to_scientific_notation_is_missing_and_never_an_exact_link(linkage_run):
    _, ctx = linkage_run
    got = outcomes(ctx)
    assert got["K03"] == ("CLEAR", "")  # a stranger's 500,000 with an ID that reads like anyone's
    assert bank_links(ctx, "路人甲") == []
    # her own record: only her name is left, so a probabilistic link nobody confirmed
    assert bank_links(ctx, "郑晓燕") == [("K04", "郑晓燕", "郑晓燕", "scientific", "probabilistic", "link", False)]
    assert got["K04"][0] == "INCOMPLETE" and "UNCONFIRMED_LINK" in got["K04"][1]


def test_a_wrong_check_character_is_never_exact_and_never_lost(linkage_run):
    world, ctx = linkage_run
    got = outcomes(ctx)
    assert bank_links(ctx, "冯军") == [("K05", "冯军", "冯军", "bad_check", "probabilistic", "link", False)]
    # a stranger's name on the member's ID with one character wrong: whose record it is waits for a person
    # (another name never links on its own: a review pair, not an unconfirmed link)
    assert bank_links(ctx, "路人乙") == [("K06", "陈静", "路人乙", "bad_check", "pending", "review", False)]
    assert got["K05"] == ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")
    assert got["K06"] == ("INCOMPLETE", "UNCONFIRMED_LINK")
    # nothing lost: every delivered bank row staged or quarantined
    [(delivered, staged, quarantined)] = query(ctx, "select rows_delivered, rows_staged, rows_quarantined "
                                                    "from reconciliation where source = 'bank'")
    assert delivered == staged + quarantined == len(world.rows["bank"])


def test_a_twin_record_links_to_its_twin_not_to_the_other(linkage_run):
    _, ctx = linkage_run
    # 李明's record with a wrong check character: 李明 (link), 李鸣 only a weaker pair for a person to see
    assert bank_links(ctx, "李明") == [("K07", "李明", "李明", "bad_check", "probabilistic", "link", False),
                                     ("K07", "李鸣", "李明", "bad_check", "pending", "review", False)]
    assert bank_links(ctx, "李鸣") == [("K07", "李鸣", "李鸣", "valid", "exact_id", None, True)]
    assert outcomes(ctx)["K07"] == ("CLEAR", "")  # 31,000 over three members: under the limit either way


def test_two_namesakes_born_the_same_day_in_one_county_are_never_merged_silently(linkage_run):
    world, ctx = linkage_run
    got = outcomes(ctx)
    # the record without ID could be either: a pending pair with each, no link
    no_id = [r for r in bank_links(ctx, "王伟") if r[3] == "missing"]
    assert no_id == [("K08", "王伟", "王伟", "missing", "pending", "review", False),
                     ("K09", "王伟", "王伟", "missing", "pending", "review", False)]
    # G's ID with one character wrong: G's (a link), H only pending
    typo = [r for r in bank_links(ctx, "王伟") if r[3] == "bad_check"]
    assert typo == [("K08", "王伟", "王伟", "bad_check", "probabilistic", "link", False),
                    ("K09", "王伟", "王伟", "bad_check", "pending", "review", False)]
    for rid in ("K08", "K09"):  # 100,000 waiting for review in either household
        assert got[rid] == world.expected[rid], rid


def test_names_as_delivered_find_their_member(linkage_run):
    _, ctx = linkage_run
    want = {"阿依古丽•买买提": "阿依古丽·买买提", "阿依古丽.买买提": "阿依古丽·买买提", "阿依古丽 · 买买提": "阿依古丽·买买提",
            "陳國華": "陈国华", "陈 国 华": "陈国华", "王*明": "王垚明", "王yao明": "王垚明", "王ＹＡＯ明": "王垚明"}
    for record_name, member in want.items():
        pairs = bank_links(ctx, record_name)
        assert [(r[0], r[1]) for r in pairs] == [("K11" if member == "王垚明" else "K10", member)], record_name
        assert pairs[0][5] in ("link", "review") and not pairs[0][6], record_name


def test_two_accounts_of_one_name_are_two_decisions(linkage_run):
    _, ctx = linkage_run
    keys = query(ctx, "select q.decision_key from review_queue q join stg_bank b using (run_date, record_id) "
                      "where b.name_norm = '阿依古丽·买买提'")
    assert len(keys) == 3 and len(set(keys)) == 3  # a decision on one account says nothing of the others


def test_a_person_asked_about_in_two_requests_is_seen_by_both(linkage_run):
    world, ctx = linkage_run
    got = outcomes(ctx)
    for rid in ("K14", "K15"):
        assert got[rid] == world.expected[rid], rid
    # his record with a wrong check character: the same person twice is one candidate, not two rivals
    assert bank_links(ctx, "孔亮") == [("K16", "孔亮", "孔亮", "bad_check", "probabilistic", "link", False),
                                     ("K17", "孔亮", "孔亮", "bad_check", "probabilistic", "link", False)]
    assert got["K16"] == got["K17"] == ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")


def test_a_registration_record_without_id_is_linked_by_name_birth_and_region(linkage_run):
    _, ctx = linkage_run
    assert outcomes(ctx)["K18"] == ("INCOMPLETE", "MEMBER_REGISTRATION_ENDED;UNCONFIRMED_LINK")


def test_a_namesakes_registration_born_elsewhere_on_another_day_is_no_link(linkage_run):
    world, ctx = linkage_run
    assert outcomes(ctx)["K21"] == world.expected["K21"]
    assert query(ctx, "select count(*) from review_queue where request_id = 'K21'") == [(0,)]


def test_a_record_agreeing_only_on_surname_birth_date_and_county_is_nobodys(linkage_run):
    """王芳's death record (no ID, born the day 王建国 was, in his county) linked to him at weight ≈ 12 as his
    (the shared surname made 王芳 look like 王伟 to the pinyin Jaro-Winkler); a stranger whose broken ID shares
    韩梅's first 14 characters was a review pair (≈ 0.25) keeping her INCOMPLETE."""
    world, ctx = linkage_run
    got = outcomes(ctx)
    assert (got["K22"], got["K23"]) == (world.expected["K22"], world.expected["K23"])
    assert bank_links(ctx, "路人丁") == []
    rows = query(ctx, "select count(*) from links where run_date = $run and request_id = 'K22' "
                      "and method <> 'exact_id'", {"run": ctx.run_date})  # his own registration links exactly
    pairs = query(ctx, "select count(*) from review_queue where run_date = $run and request_id in ('K22', 'K23')",
                  {"run": ctx.run_date})
    assert rows[0][0] == 0 and pairs[0][0] == 0


def test_the_report_lists_the_waiting_record_and_its_weight(linkage_run):
    world, ctx = linkage_run
    for rid in ("K12", "K13"):
        assert outcomes(ctx)[rid] == world.expected[rid], rid
    [(weight, row_no)] = query(ctx, "select q.match_weight, b.row_no from review_queue q "
                                    "join stg_bank b using (run_date, record_id) where q.request_id = 'K12'")
    page = (ctx.report_dir / "households" / "K12.html").read_text(encoding="utf-8")
    assert "待人工确认" in page and f"{weight:.2f}" in page
    assert f"bank/{RUN}/bank_{RUN}.csv 第 {row_no} 行" in page


# --- the review flow: decisions, re-runs, a later delivery ---------------------------------------------------
LATER = "20261129"


def _key(ctx, request_id: str) -> str:
    [(key,)] = query(ctx, "select distinct decision_key from review_queue where run_date = ? and request_id = ?",
                     [ctx.run_date, request_id])
    return key


@pytest.fixture(scope="module")
def reviewed(linkage_run, tmp_path_factory):
    """A copy of the run's folder where staff confirmed K12's and 孔亮's pairs and rejected K13's."""
    from hedui.pipeline import RunContext
    from hedui.review.decisions import record_decision

    world, ctx = linkage_run
    work = tmp_path_factory.mktemp("reviewed") / "work"
    shutil.copytree(ctx.workdir, work)
    ctx = RunContext.of(ctx.inbox, work, ctx.run_date)
    results = {
        "K12": record_decision(ctx, _key(ctx, "K12"), "confirmed", "张审核", "银行回函：账户为申请人本人所有"),
        "K13": record_decision(ctx, _key(ctx, "K13"), "rejected", "李审核", "开户资料与申请人不符"),
        "K16": record_decision(ctx, _key(ctx, "K16"), "confirmed", "张审核", "银行回函：证件号码录入错误一位"),
    }
    [(twin,)] = query(ctx, "select q.decision_key from review_queue q join stg_requests m on m.run_date = q.run_date "
                           "and m.request_id = q.request_id and m.id_norm = q.member_id where m.name = '李鸣'")
    results["K07"] = record_decision(ctx, twin, "confirmed", "王审核", "银行回函：该账户为李鸣所有，证件号码录错")
    return world, ctx, results


def test_a_confirmed_pair_counts_and_a_rejected_one_no_longer_blocks_clear(reviewed):
    _, ctx, results = reviewed
    assert (results["K12"]["outcome"], results["K12"]["findings"]) == ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    assert (results["K13"]["outcome"], results["K13"]["findings"]) == ("CLEAR", "")
    got = outcomes(ctx)
    assert got["K12"] == ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT") and got["K13"] == ("CLEAR", "")
    # the decision on one 阿依古丽 account left nobody else's pair decided
    assert query(ctx, "select count(*) from review_queue where status <> 'pending' and request_id = 'K10'") == [(0,)]


def test_a_record_confirmed_as_one_twins_no_longer_links_to_the_other(reviewed):
    _, ctx, _ = reviewed
    # the bank said the account with the mistyped ID is 李鸣's: it is his, confirmed, and nobody else's
    linked = [r for r in bank_links(ctx, "李明") if r[4] != "pending"]
    assert linked == [("K07", "李鸣", "李明", "bad_check", "probabilistic", "review", True)]
    assert outcomes(ctx)["K07"] == ("CLEAR", "")


def test_a_decision_on_a_person_in_two_requests_reissues_both_reports(reviewed):
    from hedui.steps.report.versions import list_versions

    _, ctx, results = reviewed
    assert outcomes(ctx)["K16"] == outcomes(ctx)["K17"] == ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    for rid in ("K16", "K17"):  # each household's page: the nightly version kept, the new one issued
        kept = list_versions(ctx.report_dir, rid)
        assert [(v["version"], v["outcome"]) for v in kept] == [(1, "INCOMPLETE"), (2, "FINDINGS")], rid
        assert kept[-1]["issued_by"] == "张审核"
        page = (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")
        assert "发现以下情形" in page, rid
    assert results["K16"]["households"] == ["K16", "K17"]


def test_decisions_are_audited_and_survive_a_rerun(reviewed):
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog
    from hedui.pipeline import assess, link, load

    _, ctx, _ = reviewed
    load(ctx)  # a re-run of the date rebuilds staging, links and the queue from scratch
    link(ctx)
    assess(ctx)
    rows = query(ctx, "select request_id, status, reviewer, decided_at is not null from review_queue "
                      "where status <> 'pending' order by all")
    assert rows == [("K07", "confirmed", "王审核", True),
                    ("K12", "confirmed", "张审核", True), ("K13", "rejected", "李审核", True),
                    ("K16", "confirmed", "张审核", True), ("K17", "confirmed", "张审核", True)]
    assert query(ctx, "select request_id, outcome, findings from outcomes where run_date = ? and "
                      "request_id in ('K12', 'K13') order by 1", [ctx.run_date]) == \
        [("K12", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT"), ("K13", "CLEAR", "")]
    entries = [e for e in AuditLog(default_log_path(ctx.workdir)).entries() if e["action"] == "review_decision"]
    assert [(e["actor"], e["details"]["decision"]) for e in entries] == \
        [("张审核", "confirmed"), ("李审核", "rejected"), ("张审核", "confirmed"), ("王审核", "confirmed")]
    assert all(e["time"] for e in entries)


def test_a_later_delivery_keeps_decisions_on_unchanged_records_and_asks_again_for_changed_ones(reviewed):
    from hedui.pipeline import RunContext, run

    world, ctx, _ = reviewed
    later = World()
    later.rows = {s: [dict(r) for r in rows] for s, rows in world.rows.items()}
    k12 = next(r for r in later.rows["bank"] if r["户名"] == "赵民")
    k12["余额"] = "150000"  # the account K12's decision was on, answered again with another balance
    later.write(ctx.inbox, LATER)
    nxt = RunContext.of(ctx.inbox, ctx.workdir, LATER)
    run(nxt)
    got = outcomes(nxt)
    assert got["K13"] == ("CLEAR", "")  # the same record again: the rejection stands
    assert got["K16"] == got["K17"] == ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    assert got["K12"] == ("INCOMPLETE", "UNCONFIRMED_LINK")  # a changed record is a new question
    assert query(nxt, "select status from review_queue where run_date = ? and request_id = 'K12'", [LATER]) == \
        [("pending",)]
