"""Linkage and its effect on outcomes, round 3 (DESIGN.md "matching", policy.md "Registration", "CLEAR is earned",
sources.md "Values as they come"): where a wrong or missing link changed an outcome silently.  Cases of
tests/test_contract_linkage.py (K01–K23), test_contract_linkage2.py (LK01–LK24) and test_contract_review2.py are
not repeated.

One real `hedui run` over a small hand-made inbox (tests/contract_world.py) is shared by the assertions.
Policy of the run (jiangxi_demo, 2026, 城市): financial assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import pytest
from contract_world import REGION, RUN, World, outcomes, query
from test_contract_linkage2 import make_id
from test_contract_review2 import page as html_text


def request(w: World, rid: str, name: str, pid: str, relation: str = "本人", n: int = 1) -> None:
    w.add("requests", 委托编号=rid, 业务类型="最低生活保障", 姓名=name, 身份证号=pid, 与申请人关系=relation,
          区划代码=REGION, 城乡类别="城市", 授权书编号=f"SQ{rid}{n}", 授权日期="2026-11-01", 委托日期="2026-11-20")


def registration(w: World, hukou: str, name: str, pid: str, relation: str = "户主") -> None:
    w.add("public_security", 户号=hukou, 姓名=name, 公民身份号码=pid, 性别="男", 出生日期=pid[6:14],
          与户主关系=relation, 户籍地址="江西省赣州市章贡区某路1号", 区划代码=REGION, 人员状态="正常", 变动日期="")


def bank(w: World, name: str, pid: str, balance: str) -> None:
    w.add("bank", 机构名称="中国农业银行赣州分行", 户名=name, 证件号码=pid, 账号=f"6228{len(w.rows['bank']):015d}",
          账户类型="活期", 余额=balance, 查询日期="20261126")


ZHANG = make_id("19860606", 501)   # LX01: the agency typed 张小三's ID; the registration gives it to 李大四
LIU = make_id("19850505", 502)     # LX02: the same, and 李大四-like 刘富贵's savings under the ID
CHEN = make_id("19840404", 503)    # LX03: the same name spelt otherwise on either side (never a mismatch)
AYI = make_id("19830303", 504)
ZHE = make_id("19820202", 505)
HUANG = make_id("19810101", 506)   # LX04: 黄伟; a bank answer copied out of a PDF names him ⻩伟 (a CJK radical)
MA = make_id("19800202", 507)      # LX04: 马丽, his wife; her account names her ⻢丽
ZSF = make_id("19790303", 508)     # LX05: 张三丰; a bank that writes names in pinyin has ZHANG SANFENG
BYSTANDER = make_id("19700101", 599)


def build() -> World:
    w = World()
    # LX01: the registration under the member's ID names another person; nothing else is delivered about him
    request(w, "LX01", "张小三", ZHANG)
    registration(w, "HLX01", "李大四", ZHANG)
    w.expect("LX01", "FINDINGS", "MEMBER_REGISTRATION_MISMATCH")

    # LX02: the same, and the other person's savings come with the ID: the report says why they may not be his
    request(w, "LX02", "王平", LIU)
    registration(w, "HLX02", "刘富贵", LIU)
    bank(w, "刘富贵", LIU, "500000")
    w.expect("LX02", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT;MEMBER_REGISTRATION_MISMATCH")

    # LX03: one name as the agency and the registration spell it: traditional / simplified, with and without the
    # middle dot or a space, a rare character typed in pinyin, a remark after the name
    request(w, "LX03", "陳建華", CHEN)
    request(w, "LX03", "阿依古丽 买买提", AYI, "配偶", 2)
    request(w, "LX03", "王zhe", ZHE, "子女", 3)
    registration(w, "HLX03", "陈建华（户主）", CHEN)
    registration(w, "HLX03", "阿依古丽·买买提", AYI, "配偶")
    registration(w, "HLX03", "王喆", ZHE, "子女")
    w.expect("LX03", "CLEAR", "")

    # LX04: names with a CJK radical for a whole character (text copied out of a PDF), accounts without an ID
    request(w, "LX04", "黄伟", HUANG)
    request(w, "LX04", "马丽", MA, "配偶", 2)
    registration(w, "HLX04", "黄伟", HUANG)
    registration(w, "HLX04", "马丽", MA, "配偶")
    bank(w, "\u2ee9伟", "", "300000")
    bank(w, "\u2ee2丽", "", "300000")
    w.expect("LX04", "INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK")

    # LX05: a name written in pinyin (every character, as rare ones are: sources.md), an account without an ID
    request(w, "LX05", "张三丰", ZSF)
    registration(w, "HLX05", "张三丰", ZSF)
    bank(w, "ZHANG SANFENG", "", "300000")
    w.expect("LX05", "INCOMPLETE", "UNCONFIRMED_LINK")  # a pinyin name: a person confirms it

    w.in_every_source({"name": "路人", "id": BYSTANDER})
    return w


@pytest.fixture(scope="module")
def lx_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world = build()
    inbox = tmp_path_factory.mktemp("lx") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("lx_work"), RUN)
    run(ctx)
    return world, ctx


def test_LX01_a_member_whose_id_the_registration_gives_another_name_is_a_registration_mismatch(lx_run):
    """Before: LX01 came out CLEAR and LX02 FINDINGS on another person's savings, the report silent about the
    registration's name: the declared person (name and ID) is not in the registration (policy.md)."""
    world, ctx = lx_run
    got = outcomes(ctx)
    for rid in ("LX01", "LX02", "LX03"):
        assert got[rid] == world.expected[rid], rid
    details = dict(query(ctx, "select request_id, detail_zh from findings where run_date = ? "
                              "and code = 'MEMBER_REGISTRATION_MISMATCH'", [RUN]))
    assert "申报成员“张小三”的身份证号在公安户籍数据中登记的姓名为“李*”" in details["LX01"]
    assert "请委托机关核实该成员的身份证号" in details["LX01"]
    assert "刘富贵" not in details["LX02"]  # another person's name is masked
    page = html_text(ctx, "LX02")
    assert "登记的姓名为“刘*”，与申报姓名不一致" in page and "刘富贵" not in page


def test_LX02_a_name_with_a_cjk_radical_for_a_character_is_that_name(lx_run):
    """Before: ⻩伟 and ⻢丽 (CJK radicals U+2EE9, U+2EE2, as a PDF's text layer writes 黄 and 马) were other names:
    the two accounts without an ID were linked to nobody and waited for nobody, and LX04 came out CLEAR."""
    from matching.linkage.names import name_keys
    from matching.normalize import normalize_name

    world, ctx = lx_run
    assert normalize_name("\u2ee9伟") == "黄伟" and normalize_name(" \u2ea9\u2ed3\u2ed8 ") == "王长青"
    assert name_keys(["\u2ef0\u2edc"])["py"] == ["long fei"]
    assert outcomes(ctx)["LX04"] == world.expected["LX04"]
    linked = query(ctx, "select l.member_id, s.name_norm from links l join stg_bank s using (run_date, record_id) "
                        "where l.run_date = ? and l.request_id = 'LX04' order by 2", [RUN])
    assert [n for _, n in linked] == ["马丽", "黄伟"] and len({m for m, _ in linked}) == 2


def test_LX03_a_name_written_in_pinyin_is_compared_syllable_by_syllable(lx_run):
    """Before: ZHANG SANFENG was the tokens zhang, sanfeng (a run of letters was one token, fine for one rare
    character, 王yao明, not for a whole name): no blocking rule met 张三丰, the account was nobody's, LX05 CLEAR."""
    from matching.linkage.names import name_keys, pinyin_tokens

    world, ctx = lx_run
    assert pinyin_tokens("zhangsanfeng") == ["zhang", "san", "feng"] and pinyin_tokens("changan") == ["chang", "an"]
    assert pinyin_tokens("王yao明") == ["wang", "yao", "ming"] and pinyin_tokens("smith") == ["smith"]
    keys = name_keys(["ouyang修"])
    assert (keys["py"], keys["surname_py"], keys["given_py"]) == (["ou yang xiu"], ["ou yang"], ["xiu"])
    assert outcomes(ctx)["LX05"] == world.expected["LX05"]
    assert query(ctx, "select q.band, q.status from review_queue q join stg_bank s using (run_date, record_id) "
                      "where q.run_date = ? and q.request_id = 'LX05' and s.name = 'ZHANG SANFENG'", [RUN]) \
        == [("review", "pending")]
