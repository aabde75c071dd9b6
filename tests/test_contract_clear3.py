"""policy.md "CLEAR is earned, never a default", audited input by input: each source × each weighed value × each way
it can be absent, empty, quarantined, waiting for review, partially delivered, or about a member the household did
not declare — and the request itself (no applicant, two applicants, an authorization missing or dated after the
run).  Small households built by hand (tests/contract_world.py) as departments deliver them (sources.md), the real
pipeline run over them; each household's outcome and machine codes follow from policy.md by hand, and the report
names what was not weighed.  Cases of test_unweighed_evidence.py, test_evidence_gaps.py, test_contract_outcomes.py
and test_contract_traps*.py are not repeated beyond one line each where the audit's table needs them.

Settled where the contract is open (the reading that never calls a household CLEAR on unweighed evidence):
- a request with no 本人 row, or two people as 本人: the applicant is unverified (or unknown), the declared relations
  are to nobody the request lists, the standard is the applicant's: INCOMPLETE, VALUE_UNKNOWN on the request list
  (CE01; test_contract_traps.py's TR13 pinned CLEAR and was changed);
- a 户 with two heads compares none of its relations (finding_candidates.sql): an unreadable 与户主关系 there changes
  nothing, so it is no gap (CE02);
- a registration row without 户号 of a member (or of the applicant) whose declared relation would be compared with
  it: VALUE_UNKNOWN naming the record, unless shared it would agree (CE03);
- an authorization signed after the request date but before the run was on file when the lookup was made (先授权后
  核对 is about the lookup): weighed as authorized; one dated after the run is quarantined (CE05).

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): financial assets at most 19,200 yuan per person,
vehicles above 12,000 yuan, contributions from 100,000 yuan, housing-fund balance not counted.
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, birth_of, fresh_ids, new_id, outcomes, query
from test_contract_traps10 import fill

from hedui.pipeline import RunContext, run

#: (request id, outcome, codes, words the gap of the household must carry — what is missing, named)
CASES: list[tuple[str, str, str, str]] = []


def case(rid: str, outcome: str, codes: str, named: str = "") -> None:
    CASES.append((rid, outcome, codes, named))


def build() -> World:  # noqa: PLR0915 - one household per block, read top to bottom
    w = World()
    fill(w)
    # --- the request: who is the applicant --------------------------------------------------------------------
    w.household("CA1", [("岑一", "配偶"), ("岑二", "子女")])  # no 本人 row
    case("CA1", "INCOMPLETE", "VALUE_UNKNOWN", "没有与申请人关系为“本人”的成员")
    w.household("CA2", [("岑三", "本人"), ("岑四", "本人")])  # two people, each 本人
    case("CA2", "INCOMPLETE", "VALUE_UNKNOWN", "2 名与申请人关系为“本人”的成员")
    # the applicant's own row quarantined (an ID in Excel's scientific form): listed once, as that row
    w.household("CA3", [("岑五", "本人"), ("岑六", "配偶")])
    for r in w.rows["requests"]:
        r["身份证号"] = "3.60702E+17" if r["姓名"] == "岑五" else r["身份证号"]
    case("CA3", "INCOMPLETE", "RECORD_QUARANTINED", "科学计数法")
    # --- the registration: a 户 with two heads and a spouse's relation left empty -----------------------------
    w.household("CB1", [("岑七", "本人", True, "户主"), ("岑八", "配偶", True, "")])
    old = {"name": "岑老", "id": new_id()}
    w.add("public_security", 户号=w.rows["public_security"][-1]["户号"], 姓名=old["name"], 公民身份号码=old["id"],
          性别="男", 出生日期=birth_of(old["id"]), 与户主关系="户主", 户籍地址="某路", 区划代码="360702", 人员状态="死亡",
          变动日期="2020-01-01")
    case("CB1", "CLEAR", "")
    # … the same with one head: the empty relation cannot be compared, so it is a gap
    w.household("CB2", [("岑九", "本人", True, "户主"), ("岑十", "配偶", True, "")])
    case("CB2", "INCOMPLETE", "VALUE_UNKNOWN", "与户主关系")
    # --- the registration's 户号 left empty: whether two members share a 户 (and so whether the registration
    # contradicts the declared relation) cannot be told — unless, shared, it would agree
    for rid, members, blank, expected in [
        ("CK1", [("岑十一", "本人"), ("岑十二", "配偶", True, "子女")], "岑十二", "VALUE_UNKNOWN"),  # hers
        ("CK2", [("岑十三", "本人"), ("岑十四", "配偶", True, "子女")], "岑十三", "VALUE_UNKNOWN"),  # the applicant's
        ("CK3", [("岑十五", "本人"), ("岑十六", "配偶")], "岑十六", ""),  # shared or not: nothing contradicted
        ("CK4", [("岑十七", "本人")], "岑十七", ""),  # nobody to compare
    ]:
        w.household(rid, members)
        for r in w.rows["public_security"]:
            r["户号"] = "" if r["姓名"] == blank else r["户号"]
        case(rid, "INCOMPLETE" if expected else "CLEAR", expected, "缺少“户号”" if expected else "")
    # --- quarantined records naming a member without an ID ----------------------------------------------------
    (a,) = w.household("CD1", [("车一", "本人")])  # name + birth date (the registration carries one), bad status
    w.add("public_security", 户号="HQ1", 姓名=a["name"], 公民身份号码="", 性别="男", 出生日期=birth_of(a["id"]),
          与户主关系="户主", 户籍地址="某路", 区划代码="360702", 人员状态="失踪", 变动日期="")
    case("CD1", "INCOMPLETE", "RECORD_QUARANTINED", "按姓名和出生日期")
    (a,) = w.household("CD2", [("车二", "本人")])  # name only (a bank has no birth date), unreadable balance
    w.add("bank", 机构名称="某银行", 户名=a["name"], 证件号码="", 账号="6222000000000001", 账户类型="活期", 余额="abc",
          查询日期="20261126")
    case("CD2", "INCOMPLETE", "RECORD_QUARANTINED", "余额")
    (a,) = w.household("CD3", [("车三", "本人")])  # name only, tax amount in words
    w.add("tax", 纳税人识别号="", 姓名=a["name"], 所得项目="工资薪金所得", 所属期="202601", 收入额="一千", 已缴税额="0",
          扣缴义务人="某公司")
    case("CD3", "INCOMPLETE", "RECORD_QUARANTINED", "收入额")
    # --- an ID-less record on a link nobody confirmed: blocks only when it changes the outcome ----------------
    (a,) = w.household("CE1", [("车四", "本人")])
    w.add("bank", 机构名称="某银行", 户名=a["name"], 证件号码="", 账号="6222000000000002", 账户类型="活期", 余额="100",
          查询日期="20261126")
    case("CE1", "CLEAR", "")
    (a,) = w.household("CE2", [("车五", "本人")])
    w.add("bank", 机构名称="某银行", 户名=a["name"], 证件号码="", 账号="6222000000000003", 账户类型="活期", 余额="30000",
          查询日期="20261126")
    case("CE2", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK", "概率匹配")
    # --- a declared member in no source at all: not found in a delivered registration is a finding -----------
    w.household("CF1", [("车六", "本人"), ("车七", "子女")], registered={"车七": False})
    case("CF1", "FINDINGS", "MEMBER_REGISTRATION_MISMATCH")
    # --- authorization ----------------------------------------------------------------------------------------
    w.household("CG1", [("车八", "本人"), ("车九", "配偶", False)])
    case("CG1", "INCOMPLETE", "NO_AUTHORIZATION", "无授权书")
    w.household("CG2", [("车十", "本人")])
    w.household("CG3", [("车十一", "本人")])
    for r in w.rows["requests"]:
        r["授权日期"] = {"CG2": "2026-11-25", "CG3": "2026-12-25"}.get(r["委托编号"], r["授权日期"])
    case("CG2", "CLEAR", "")  # signed after the request (11-20), before the run: on file when looked up
    case("CG3", "INCOMPLETE", "RECORD_QUARANTINED", "授权日期")  # signed after the run
    # --- an empty weighed value in each source: unknown, never zero -------------------------------------------
    for rid, name, add, named in [
        ("CH01", "钱一", lambda a: w.bank(a, ""), "余额"),
        ("CH02", "钱二", lambda a: w.flat(a, "U1", area=""), "建筑面积"),
        ("CH03", "钱三", lambda a: w.car(a, ""), "购置价格"),
        ("CH04", "钱四", lambda a: w.wages(a, ["202601"], ""), "收入额"),
        ("CH05", "钱五", lambda a: w.si(a, ["202601"], "企业职工基本养老保险", "缴费", base=""), "缴费基数"),
        ("CH06", "钱六", lambda a: w.si(a, ["202601"], "企业职工基本养老保险", "待遇", benefit=""), "待遇金额"),
        ("CH07", "钱七", lambda a: w.company(a, "有限责任公司", "存续", ""), "认缴出资额"),
        ("CH08", "钱八", lambda a: w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A77", 持仓市值="",
                                      资金余额="1", 查询日期="20261126"), "持仓市值"),
        ("CH09", "钱九", lambda a: w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A78", 持仓市值="1",
                                      资金余额="", 查询日期="20261126"), "资金余额"),
        ("CH10", "钱十", lambda a: w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P77", 险种="寿险",
                                      保单状态="有效", 现金价值="", 查询日期="20261126"), "现金价值"),
    ]:
        (a,) = w.household(rid, [(name, "本人")])
        add(a)
        case(rid, "INCOMPLETE", "VALUE_UNKNOWN", f"缺少“{named}”")
    # … an empty status (or type) the assessment reads: the record is quarantined, never read as harmless
    for rid, name, add, named in [
        ("CH11", "孙一", lambda a: w.car(a, "90000", status=""), "车辆状态"),
        ("CH12", "孙二", lambda a: w.car(a, "90000", kind=""), "车辆类型"),
        ("CH13", "孙三", lambda a: w.flat(a, "U2", status=""), "权属状态"),
        ("CH14", "孙四", lambda a: w.flat(a, "U3", use=""), "规划用途"),
        ("CH15", "孙五", lambda a: w.company(a, "有限责任公司", "", "50"), "登记状态"),
        ("CH16", "孙六", lambda a: w.company(a, "有限责任公司", "存续", "50", role=""), "人员角色"),
        ("CH17", "孙七", lambda a: w.wages(a, ["202601"], "1000", item=""), "所得项目"),
        ("CH18", "孙八", lambda a: w.wages(a, [""], "30000"), "所属期"),
        ("CH19", "孙九", lambda a: w.si(a, ["202601"], "", "待遇", benefit="3000"), "险种"),
        ("CH20", "孙十", lambda a: w.si(a, ["202601"], "企业职工基本养老保险", "", benefit="3000"), "类别"),
        ("CH21", "周一", lambda a: w.add("insurance", 投保人=a["name"], 投保人证件号=a["id"], 保单号="P78", 险种="寿险",
                                      保单状态="", 现金价值="50000", 查询日期="20261126"), "保单状态"),
        ("CH22", "周二", lambda a: w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位",
                                      月缴存基数="3000", 月缴存额="360", 账户余额="", 账户状态="", 截至日期="2026-10-31"),
         "账户状态"),
    ]:
        (a,) = w.household(rid, [(name, "本人")])
        add(a)
        case(rid, "INCOMPLETE", "RECORD_QUARANTINED", f'"{named}"为空')
    w.household("CH23", [("周三", "本人", True, "户主", "")])  # the registration's 人员状态 empty
    case("CH23", "INCOMPLETE", "RECORD_QUARANTINED", '"人员状态"为空')
    # … an empty value nothing is weighed on: the housing-fund balance (not counted by this policy), tax paid
    # ("net of income tax paid where known"), the price of an exempt vehicle, the area of a shop
    (a,) = w.household("CH24", [("周四", "本人")])
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="", 账户状态="正常", 截至日期="2026-10-31")
    w.wages(a, ["202601"], "500", tax="")
    w.car(a, "", kind="普通二轮摩托车")
    case("CH24", "CLEAR", "")
    (a,) = w.household("CH25", [("周五", "本人")])
    w.flat(a, "U4", use="商业", area="")
    case("CH25", "FINDINGS", "NON_RESIDENTIAL_PROPERTY")
    w.household("CZ1", [("周六", "本人")])  # nothing about her anywhere but her registration
    case("CZ1", "CLEAR", "")
    return w


with fresh_ids(3100):
    WORLD = build()  # built on import: its households are the parameters of the test below


@pytest.fixture(scope="module")
def audit_run(tmp_path_factory):
    world = WORLD
    inbox = tmp_path_factory.mktemp("clear3") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("clear3_work"), RUN)
    run(ctx)
    return ctx


@pytest.mark.parametrize(("rid", "outcome", "codes", "named"), CASES, ids=[c[0] for c in CASES])
def test_ce_each_input_gives_the_outcome_and_codes_policy_md_gives_it(audit_run, rid, outcome, codes, named):
    """CE01 (CA*: an applicant-less request was CLEAR), CE02 (CB*: an unreadable relation in a two-head 户 was
    VALUE_UNKNOWN), CE03 (CK*: a registration without 户号 made a contradicted relation CLEAR), CE05-CE06: every
    other input of the audit's table, pinned."""
    assert outcomes(audit_run)[rid] == (outcome, codes)
    if named:
        # a household whose every request row was quarantined has no gaps of its own: its quarantined rows say why
        reasons = [r[0] for r in query(audit_run, "select reason_zh from evidence_gaps where request_id = ? union all "
                                       "select reason_zh from quarantine_subjects where request_id = ? and "
                                       "source = 'requests'", [rid, rid])]
        assert any(named in r for r in reasons), reasons


def test_ce01_the_report_of_an_applicant_less_household_says_no_applicant_was_listed(audit_run):
    """CE01: the household's page names the gap in words staff read, not only the code."""
    page = (audit_run.report_dir / "households" / "CA1.html").read_text(encoding="utf-8")
    assert "没有与申请人关系为“本人”的成员" in page and "核对信息不完整" in page


def test_ce02_the_unreadable_relation_of_a_one_head_household_is_still_named(audit_run):
    """CE02: the fix narrows the gap to two-head 户 only; a one-head 户's empty relation is still listed, on its
    record."""
    rows = query(audit_run, "select source, record_id from evidence_gaps where request_id = 'CB2'")
    assert [s for s, _ in rows] == ["public_security"] and rows[0][1]


def test_ce04_a_bank_that_delivered_some_of_its_files_keeps_every_household_from_clear(tmp_path):
    """CE04: banks deliver many small files (sources.md); one of them without its `.ok` marker makes the bank source
    not delivered for the run: no household is CLEAR, each lists SOURCE_MISSING naming the bank, and a household
    with a finding on its own confirmed evidence is FINDINGS with the gap still listed."""
    w = World()
    with fresh_ids(3700):
        fill(w)
        (a,) = w.household("CC1", [("吴一", "本人")])
        w.bank(a, "100")
        w.household("CC2", [("吴二", "本人")])
        (a,) = w.household("CC3", [("吴三", "本人")])
        w.car(a, "90000")
    w.write(tmp_path / "inbox")
    folder = tmp_path / "inbox" / "bank" / RUN
    (folder / "bank_icbc.csv").write_text(
        "机构名称,户名,证件号码,账号,账户类型,余额,查询日期\n工商银行,吴二,,6212000000000001,活期,50000,20261126\n",
        encoding="utf-8")  # no marker beside it: still being written, or never finished
    ctx = RunContext.of(tmp_path / "inbox", tmp_path / "work", RUN)
    run(ctx)
    got = outcomes(ctx)
    assert got["CC1"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert got["CC2"] == ("INCOMPLETE", "SOURCE_MISSING")
    assert got["CC3"] == ("FINDINGS", "SOURCE_MISSING;VEHICLE")
    reasons = query(ctx, "select distinct source, reason_zh from evidence_gaps where code = 'SOURCE_MISSING'")
    assert [s for s, _ in reasons] == ["bank"] and "bank_icbc.csv" in reasons[0][1], reasons
