"""What staff and auditors read, against the contract, round 2 (DESIGN.md "Every fact in a report cites its
origin", "Nothing is lost", "Absence of evidence is not evidence"; policy.md's outcome and codes), on a world
written by hand (tests/contract_world.py) run through the real pipeline:

- RP01: income from 12 monthly wage rows (FINDINGS): the figure cites every row it reads;
- RP02: a vehicle whose record's ID has a wrong check character (probabilistic link), confirmed by staff;
- RP03: a declared member missing from the household registration (a finding resting on an absence);
- RP04: a record about the applicant quarantined for a bad balance; RP05: a record waiting for review;
- RP06: an empty area (value unknown); RP07: a review pair on a record linked elsewhere unconfirmed (waits);
- RP08: clear (one bank row delivered twice, a 合计 row); RP09: a member without authorization;
- RP10: ID and account numbers inside free-text fields of records shown on the page."""

from __future__ import annotations

import contextlib
import re

import contract_world
import pytest
from contract_world import RUN, WINDOW, World, fresh_ids, id_one_digit_from, outcomes, query

CHECKS = "10X98765432"


def wrong_check(pid: str) -> str:
    return pid[:17] + next(c for c in CHECKS if c != pid[17])


def build() -> World:
    w = World()
    (a,) = w.household("RP01", [("郑收入", "本人")])
    w.wages(a, WINDOW, "3000", tax="20")
    (b,) = w.household("RP02", [("冯车主", "本人")])
    w.car({"name": b["name"], "id": wrong_check(b["id"])}, "200000")
    c, _ = w.household("RP03", [("卫户籍", "本人"), ("卫不在", "子女")], registered={"卫不在": False})
    (d,) = w.household("RP04", [("褚隔离", "本人")])
    w.bank(d, "8O0.00", account="6216000055550000401")
    (e,) = w.household("RP05", [("蒋待核", "本人")])
    w.bank({"name": "蒋代核", "id": ""}, "100000", account="6216000055550000501")
    w.rows["bank"][-1]["机构名称"] = "中国银行江西省分行 账号6216000055550000599"  # an account typed in a text
    (f,) = w.household("RP06", [("沈面积", "本人")])
    w.flat(f, "360702001001GB00101F00060001")
    w.flat(f, "360702001001GB00101F00060002", area="")
    # RP07: the vehicle above (linked to 冯车主 by a link nobody confirmed) is also a review pair of 韩签了's, whose
    # valid ID the record's is but for one digit of the sequence
    g, _ = w.household("RP07", [("韩签了", "本人"), ("韩也签", "配偶")])
    w.set_id(g["id"], id_one_digit_from(w.rows["vehicle"][-1]["证件号码"]))
    (h,) = w.household("RP08", [("杨清白", "本人")])
    w.bank(h, "100", account="6216000055550000801")
    w.bank(h, "100", account="6216000055550000801")  # delivered twice
    w.add("bank", 机构名称="合计", 户名="", 证件号码="", 账号="", 账户类型="", 余额="300", 查询日期="")
    for _ in range(12):
        w.bank({"name": "路人", "id": contract_world.new_id()}, "10")
    w.add("civil_affairs", 姓名="外人", 身份证号=contract_world.new_id(), 死亡日期="2026-01-01",
          火化日期="2026-01-02", 殡仪馆="赣州市殡仪馆")
    w.add("insurance", 投保人="路人", 投保人证件号=contract_world.new_id(), 保单号="P1", 险种="年金", 保单状态="有效",
          现金价值="1", 查询日期="20261126")
    w.add("securities", 姓名="路人", 证件号码=contract_world.new_id(), 证券账户="A1", 持仓市值="1", 资金余额="1",
          查询日期="20261126")
    w.company({"name": "路人", "id": contract_world.new_id()}, "有限责任公司", "注销", "1")
    w.add("housing_fund", 证件号码=contract_world.new_id(), 姓名="路人", 单位名称="某单位", 月缴存基数="3000",
          月缴存额="360", 账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.si({"name": "路人", "id": contract_world.new_id()}, WINDOW[:1], "企业职工基本养老保险", "缴费", base="2000")
    w.household("RP09", [("秦签了", "本人"), ("秦没签", "配偶", False)])
    # RP10: ID and account numbers inside free texts as delivered (an individual business withholding its own
    # tax names itself by ID; a legacy 15-digit ID in a 单位名称; an account number in a 坐落)
    (k,) = w.household("RP10", [("许自扣", "本人")])
    w.wages(k, WINDOW[:1], "100", item="经营所得")
    w.rows["tax"][-1]["扣缴义务人"] = f"个体户许自扣{k['id']}"
    w.add("housing_fund", 证件号码=k["id"], 姓名=k["name"], 单位名称=f"某单位{k['id'][:6]}{k['id'][8:17]}",
          月缴存基数="3000", 月缴存额="360", 账户余额="90", 账户状态="正常", 截至日期="2026-10-31")
    w.flat(k, "360702001001GB00101F00100001", location="章贡区某路 账号6216000011112222333")
    return w


ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")


def text(html: str) -> str:
    """A page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    import html as h

    html = re.sub(r"(?s)<style.*?</style>", "", html)
    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The world run once; what staff read before any decision kept; then staff confirm RP02's vehicle."""
    from hedui.pipeline import RunContext
    from hedui.pipeline import run as run_pipeline
    from hedui.review.decisions import record_decision

    with fresh_ids(700):
        world = build()
    inbox = tmp_path_factory.mktemp("rp") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("rp_work"), RUN)
    run_pipeline(ctx)
    before = {"outcomes": outcomes(ctx),
              "pages": {p.stem: text(p.read_text(encoding="utf-8"))
                        for p in (ctx.report_dir / "households").glob("RP*.html")}}
    [(key,)] = query(ctx, "select decision_key from review_queue where run_date = ? and request_id = 'RP02'", [RUN])
    record_decision(ctx, key, "confirmed", "张审核", "车管所回函：证件号码录错一位")
    return world, ctx, before


def auditor(ctx):
    from hedui.audit.auditor import default_audit_db, open_auditor

    return contextlib.closing(open_auditor(default_audit_db(ctx.workdir)))


def masked(p: dict) -> str:
    return f"{p['id'][:6]}********{p['id'][-4:]}"


def person(world: World, name: str) -> dict:
    r = next(r for r in world.rows["requests"] if r["姓名"] == name)
    return {"name": name, "id": r["身份证号"]}


def test_rp_outcomes_before_and_after_the_staff_decision(run):
    _, ctx, before = run
    # RP07: the vehicle, linked to 冯车主 by a link nobody confirmed, waits as 韩签了's too: confirmed as his, it
    # would be his household's vehicle
    assert before["outcomes"] == {
        "RP01": ("FINDINGS", "INCOME_OVER_STANDARD"), "RP02": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"),
        "RP03": ("FINDINGS", "MEMBER_REGISTRATION_MISMATCH"), "RP04": ("INCOMPLETE", "RECORD_QUARANTINED"),
        "RP05": ("INCOMPLETE", "UNCONFIRMED_LINK"), "RP06": ("FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT;VALUE_UNKNOWN"),
        "RP07": ("INCOMPLETE", "UNCONFIRMED_LINK"), "RP08": ("CLEAR", ""), "RP09": ("INCOMPLETE", "NO_AUTHORIZATION"),
        "RP10": ("CLEAR", "")}
    after = outcomes(ctx)
    # confirmed as 冯车主's, the vehicle is nobody else's: 韩签了's pair no longer waits
    assert after["RP02"] == ("FINDINGS", "VEHICLE") and after["RP07"] == ("CLEAR", "")


def test_rp01_income_from_twelve_monthly_rows_cites_each_row_with_delivery_and_link(run):
    _, _, before = run
    t = before["pages"]["RP01"]
    assert "家庭月人均收入 2,980.00 元，高于保障标准 800 元" in t and "逐条记录（12 条）" in t
    for row in range(2, 14):
        assert (f"税务 个人所得税，交付日期 20261128，文件 tax/20261128/tax_20261128.csv 第 {row} 行；身份证号精确匹配"
                in t), row


def test_rp02_a_vehicle_on_a_probabilistic_link_cites_its_weight_before_and_after_confirmation(run):
    _, ctx, before = run
    cite = "公安 车管，交付日期 20261128，文件 vehicle/20261128/vehicle_20261128.csv 第 2 行；概率匹配（匹配权重 "
    t = before["pages"]["RP02"]
    assert re.search(re.escape(cite) + r"\d+\.\d\d）， 未经人工确认", t)
    t = text((ctx.report_dir / "households" / "RP02.html").read_text(encoding="utf-8"))
    assert re.search(re.escape(cite) + r"\d+\.\d\d） ", t) and "未经人工确认" not in t
    assert "张审核" in t and "车管所回函：证件号码录错一位" in t


def test_rp03_a_member_not_in_the_registration_cites_the_registration_delivery_searched(run):
    world, ctx, before = run
    child = person(world, "卫不在")
    n = len(world.rows["public_security"])
    searched = (f"已查询：公安 户籍，交付日期 20261128，文件 public_security/20261128/public_security_20261128.csv"
                f"（共 {n} 行）")
    t = before["pages"]["RP03"]
    assert f"卫不在（{masked(child)}，子女）：申报成员“卫不在”在公安户籍数据中未查到（{searched}）" in t
    with auditor(ctx) as con:
        [(detail,)] = con.sql("select detail_zh from findings where run_date = ? and request_id = 'RP03' "
                              "and code = 'MEMBER_REGISTRATION_MISMATCH'", params=[RUN]).fetchall()
    assert searched in detail


def test_every_incomplete_page_names_what_is_missing(run):
    world, _, before = run
    p = before["pages"]
    d, e, f, n = (person(world, x) for x in ("褚隔离", "蒋待核", "沈面积", "秦没签"))
    assert (f"银行 账户 文件 bank/20261128/bank_20261128.csv 第 2 行 褚隔离（{masked(d)}） {masked(d)} "
            "按身份证号关联到该成员的记录被隔离，内容未能核对：\"余额\"值\"8O0.00\"无法识别为金额") in p["RP04"]
    assert re.search(rf"银行 账户 文件 bank/20261128/bank_20261128\.csv 第 3 行 蒋待核（{re.escape(masked(e))}，本人） "
                     r"\d+\.\d\d 家庭人均金融资产超过限额", p["RP05"])
    assert (f"不动产登记 文件 real_estate/20261128/real_estate_20261128.csv 第 3 行 沈面积（{masked(f)}） "
            "记录缺少“建筑面积”，按未知处理（不按 0 计）") in p["RP06"]
    assert "发现以下情形" in p["RP06"]  # FINDINGS, the gap still listed
    assert f"成员未签署授权书：秦没签（{masked(n)}，配偶）：该成员无授权书，未查询其信息" in p["RP09"]


def test_the_auditor_database_answers_on_what_evidence_each_outcome_rests(run):
    _, ctx, _ = run
    with auditor(ctx) as con:
        # FINDINGS on a figure: the finding, and the rows the figure read (each with file, row and link)
        income = con.sql("""
            select f.code, e.file_name, e.row_no, e.method, e.amount_yuan
            from outcomes as o
            join findings as f using (run_date, request_id)
            join evidence as e on e.run_date = f.run_date and e.request_id = f.request_id and e.is_counted
            where o.run_date = ? and o.request_id = 'RP01' and o.outcome = 'FINDINGS'
            order by e.row_no""", params=[RUN]).fetchall()
        assert [(c, r, m, a) for c, _, r, m, a in income] == [
            ("INCOME_OVER_STANDARD", row, "exact_id", 3000.0) for row in range(2, 14)]
        # FINDINGS on a confirmed probabilistic link: its weight, who confirmed it and when
        [(code, file_name, row_no, weight, reviewer, decided_at, reason)] = con.sql("""
            select f.code, f.file_name, f.row_no, f.match_weight, d.reviewer, d.decided_at, d.reason
            from findings as f
            join review_decisions as d
              on d.run_date = f.run_date and d.record_id = f.record_id and d.request_id = f.request_id
            where f.run_date = ? and f.request_id = 'RP02' and f.is_confirmed and d.decision = 'confirmed'
            """, params=[RUN]).fetchall()
        assert (code, file_name, row_no, reviewer, reason) == (
            "VEHICLE", "vehicle/20261128/vehicle_20261128.csv", 2, "张审核", "车管所回函：证件号码录错一位")
        assert weight > 0 and decided_at is not None
        # INCOMPLETE: the gap findings, each naming the record (and the waiting one's weight)
        gaps = con.sql("""
            select o.request_id, f.code, f.source, f.file_name, f.row_no, f.match_weight is not null
            from outcomes as o join findings as f using (run_date, request_id)
            where o.run_date = ? and o.outcome = 'INCOMPLETE' order by all""", params=[RUN]).fetchall()
        assert ("RP04", "RECORD_QUARANTINED", "bank", "bank/20261128/bank_20261128.csv", 2, False) in gaps
        assert ("RP05", "UNCONFIRMED_LINK", "bank", "bank/20261128/bank_20261128.csv", 3, True) in gaps
        assert ("RP09", "NO_AUTHORIZATION", "requests", "requests/20261128/requests_20261128.csv", 13, False) in gaps
        # CLEAR: no finding, every source passed, every member authorized, nothing waiting; the records weighed
        clear = con.sql("""
            select o.request_id,
                   (select count(*) from findings f where f.run_date = o.run_date and f.request_id = o.request_id),
                   (select count(*) from source_status s where s.run_date = o.run_date and s.status <> 'passed'),
                   (select bool_and(m.is_authorized) from members m
                    where m.run_date = o.run_date and m.request_id = o.request_id),
                   (select count(*) from review_queue q where q.run_date = o.run_date
                    and q.request_id = o.request_id and q.status = 'pending'),
                   (select list(e.source || ':' || e.row_no order by e.source)
                    from evidence e where e.run_date = o.run_date and e.request_id = o.request_id)
            from outcomes as o where o.run_date = ? and o.outcome = 'CLEAR' and o.request_id = 'RP08'""",
                       params=[RUN]).fetchall()
        assert clear == [("RP08", 0, 0, True, 0, ["bank:4", "public_security:10"])]


def test_counts_in_equal_counts_out_per_file_with_duplicates_and_quarantined_rows(run):
    world, ctx, _ = run
    with auditor(ctx) as con:
        rec = {s: (d, st, q) for s, d, st, q in con.sql(
            "select source, rows_delivered, rows_staged, rows_quarantined from reconciliation where run_date = ?",
            params=[RUN]).fetchall()}
        kept_out = dict(con.sql("select rule, sum(n_rows) from quarantine_counts where run_date = ? "
                                "and source = 'bank' group by rule", params=[RUN]).fetchall())
    delivered = sum(1 for r in world.rows["bank"] if r["机构名称"] != "合计")
    assert rec["bank"] == (delivered, delivered - 2, 2)
    assert kept_out == {"bad_amount": 1, "duplicate": 1}
    for source, rows in world.rows.items():
        d, st, q = rec[source]
        assert d == st + q == sum(1 for r in rows if next(iter(r.values())) != "合计"), source


def test_no_full_id_or_account_number_where_staff_or_auditors_read(run):
    world, ctx, _ = run
    secrets = {v for rows in world.rows.values() for r in rows for k, v in r.items()
               if k in ("证件号码", "身份证号", "公民身份号码", "纳税人识别号", "人员证件号", "投保人证件号", "账号")
               and len(v or "") >= 15}
    assert len(secrets) > 30
    for p in ctx.report_dir.rglob("*"):
        if p.is_file() and p.suffix in (".html", ".csv", ".json"):
            body = p.read_text(encoding="utf-8", errors="replace")
            assert not [s for s in secrets if s in body] and not ID_LIKE.search(body), p
    with auditor(ctx) as con:
        for table, column in con.sql("select table_name, column_name from duckdb_columns() "
                                     "where schema_name = 'main' and not internal").fetchall():
            for (v,) in con.sql(f'select distinct cast("{column}" as varchar) from "{table}"').fetchall():
                assert not v or not (any(s in v for s in secrets) or ID_LIKE.search(v)), (table, column)


def test_rp10_id_and_account_numbers_inside_free_texts_of_records_are_masked_on_the_page(run):
    world, ctx, _ = run
    k = person(world, "许自扣")
    html = (ctx.report_dir / "households" / "RP10.html").read_text(encoding="utf-8")
    t = text(html)
    for secret in (k["id"], k["id"][:6] + k["id"][8:17], "6216000011112222333"):
        assert secret not in html, secret
    assert f"个体户许自扣{masked(k)}" in t and "章贡区某路 账号****2333" in t
    assert "某单位360702*****" in t
    assert "360702001001GB00101F00100001" in t  # a unit number is no ID: shown as delivered
    # the staff's review screen shows a waiting record's fields the same way
    import duckdb

    from hedui.review.queue import pair

    [(key,)] = query(ctx, "select decision_key from review_queue where run_date = ? and request_id = 'RP05'", [RUN])
    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        fields = dict(pair(con, RUN, key)["record_fields"])
    finally:
        con.close()
    assert fields["机构名称"] == "中国银行江西省分行 账号****0599"
