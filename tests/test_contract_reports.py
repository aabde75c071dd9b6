"""Reports and the auditor database against the contract (DESIGN.md, policy.md, docs/auditors.md,
docs/inputs-outputs.md), on a world written by hand (tests/contract_world.py's helpers), delivered as the
departments deliver (an XLSX with a title row, a source in two files), run twice with real `hedui run`:

- 20261128: every household's first verification;
- 20261228: a 复核 of one request (same request id) and a 动态复核 of six households (new request ids),
  each with one event between the checks (death/cremation, cancelled registration, new vehicle, new
  property, new company role, new employer).

Then read what a person reads: household pages, outcomes.csv, alerts.csv, the batch summary, the auditor
database and its documented queries."""

from __future__ import annotations

import csv
import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import contract_world
import duckdb
import pytest
from contract_world import HEADERS, WINDOW, World

RUN1, RUN2 = "20261128", "20261228"

HOSTILE = {
    "script": "<script>alert(1)</script>",
    "jinja": "{{7*7}}",
    "rtl": "王\u202e五六",
    "long": "长" * 300,
    "formula": "=HYPERLINK(\"http://x\")",
}


def build(second: bool) -> World:  # noqa: PLR0915 - one household per block
    """The world of the first (`second` False) or the second run: the same people (same ID numbers)."""
    contract_world._seq = itertools.count(500)  # the same people in both worlds
    w = World()
    w1 = WINDOW
    # --- one household with a fact from every source -------------------------------------------------
    a, b, c = w.household("A01", [("赵大", "本人"), ("赵二", "配偶"), ("赵三", "子女", False)])
    w.wages(a, w1, "3000", tax="20")
    w.si(b, w1, "企业职工基本养老保险", "缴费", base="2000")
    w.add("housing_fund", 证件号码=a["id"], 姓名=a["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
    w.flat(a, "360702001001GB00101F00010001")
    w.flat(b, "360702001001GB00101F00010002")
    w.car(a, "200000")  # delivered in the XLSX
    w.company(b, "有限责任公司", "存续", "20")
    w.bank(a, "30000", account="6216000011112222333")  # first bank file
    w.bank(b, "500", account="6216000044445555666")  # second bank file
    w.add("securities", 姓名=a["name"], 证件号码=a["id"], 证券账户="A0000001", 持仓市值="100", 资金余额="1",
          查询日期="20261126")
    w.add("insurance", 投保人=b["name"], 投保人证件号=b["id"], 保单号="P000001", 险种="年金", 保单状态="有效",
          现金价值="100", 查询日期="20261126")
    w.bank(c, "999999", account="6216000077778888999")  # the unauthorized member: never looked up
    w.add("civil_affairs", 姓名="外人", 身份证号=contract_world.new_id(), 死亡日期="2026-01-01",
          火化日期="2026-01-02", 殡仪馆="赣州市殡仪馆")  # about nobody asked: a delivery is never empty
    for _ in range(24):  # the bank's answer about others: two unusable IDs among them stay under 10 %
        w.bank({"name": "路人", "id": contract_world.new_id()}, "10")
    # --- a clean household (its bank record's ID is broken: linked by name, probabilistically) -------
    (p,) = w.household("C01", [("钱小明", "本人")])
    w.bank(p, "100", account="6216000099990000111")
    # --- evidence not weighed: an unreadable balance (quarantined), an empty one (unknown) -------------
    (g,) = w.household("G01", [("吴未知", "本人")])
    w.bank(g, "8O0.00", account="6216000055550000001")
    w.bank(g, "", account="6216000055550000002")
    w.bank(g, f"身份证{g['id']}", account="6216000055550000003")  # an ID typed into the balance: its reason quotes it
    # --- nobody in the household signed: answered with the reason, not skipped ----------------------------
    (n,) = w.household("N01", [("陈未签", "本人", False)])
    w.car(n, "300000")  # never looked up
    # --- hostile names ---------------------------------------------------------------------------------
    rid = "H01a" if not second else "H01b"
    h = w.household(rid, [(HOSTILE["script"], "本人"), (HOSTILE["jinja"], "配偶"), (HOSTILE["rtl"], "子女"),
                          (HOSTILE["long"], "子女"), (HOSTILE["formula"], "父母")], program="动态复核")
    if second:
        w.car(h[4], "90000")  # an alert naming a member whose name is a formula
    # --- 复核: the same request in both runs; a new deposit between ---------------------------------------
    (d,) = w.household("D01", [("孙复核", "本人")])
    w.bank(d, "1000", account="6216000012340000001")
    # an account in a homophone name without ID: a pair for staff (it could be his), changing no finding
    w.bank({"name": "孙复合", "id": ""}, "10", account="6216000012340000009")
    if second:
        w.bank(d, "50000", account="6216000012340000002")
    # --- 动态复核: one event per kind between the two checks ----------------------------------------------
    events = {}
    for kind in ("death", "registration", "vehicle", "property", "business", "employer"):
        rid = f"E{kind[:3].upper()}{'b' if second else 'a'}"
        x, y = w.household(rid, [(f"周{kind[:2]}甲", "本人"), (f"周{kind[:2]}乙", "配偶")], program="动态复核",
                           registered=True)
        events[kind] = (rid, x, y)
        w.wages(x, w1[:1], "100", item="工资薪金所得")  # employer 赣州某某有限公司 in both runs
        if not second:
            continue
        if kind == "death":
            w.add("civil_affairs", 姓名=y["name"], 身份证号=y["id"], 死亡日期="2026-12-01", 火化日期="2026-12-03",
                  殡仪馆="赣州市殡仪馆")
        elif kind == "registration":
            w.rows["public_security"][-1].update(人员状态="注销", 变动日期="2026-12-05")
        elif kind == "vehicle":
            w.car(y, "150000")
        elif kind == "property":
            w.flat(y, f"360702001001GB00777F0001{len(w.rows['real_estate']):04d}", use="商业")
        elif kind == "business":
            w.company(y, "有限责任公司", "存续", "30", role="法定代表人")
        elif kind == "employer":
            w.add("tax", 纳税人识别号=y["id"], 姓名=y["name"], 所得项目="工资薪金所得", 所属期="202610", 收入额="100",
                  已缴税额="0", 扣缴义务人="新雇主科技有限公司")
    w.events = events
    return w


def write(w: World, inbox: Path, date: str) -> None:
    """Every source as CSV (tests/contract_world.py), then: the vehicles as an XLSX with a title row above the
    header, the bank's answer as two files, one bank record with a broken ID (linked by name)."""
    import openpyxl

    bank = w.rows["bank"]
    broken = next(r for r in bank if r["户名"] == "钱小明")
    pid = broken["证件号码"]
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for tail in ("00", "11", "22", "33"):  # two characters changed, and the check character wrong (not valid by chance)
        body = pid[:16] + tail[0]
        if tail != pid[-2:] and "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11] != tail[1]:
            break
    broken["证件号码"] = pid[:-2] + tail
    w.write(inbox, date)
    folder = inbox / "vehicle" / date
    for f in folder.iterdir():
        f.unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["赣州市公安局交通管理支队 机动车登记信息（截至查询日）"])
    ws.append(HEADERS["vehicle"])
    for r in w.rows["vehicle"]:
        ws.append([r.get(h, "") for h in HEADERS["vehicle"]])
    for row in ws.iter_rows():  # a department's text cell, not a formula (openpyxl makes `=…` a formula cell)
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
    wb.save(folder / f"vehicle_{date}.xlsx")
    (folder / f"vehicle_{date}.xlsx.ok").write_text(str(len(w.rows["vehicle"])), encoding="utf-8")
    folder = inbox / "bank" / date
    for f in folder.iterdir():
        f.unlink()
    half = [bank[:1], bank[1:]]
    for i, rows in enumerate(half, 1):
        lines = [",".join(HEADERS["bank"])] + [",".join(str(r.get(h, "")) for h in HEADERS["bank"]) for r in rows]
        name = f"bank_{date}_{i}.csv"
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / f"{name}.ok").write_text(str(len(rows)), encoding="utf-8")


def hedui(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "hedui"
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    if check:
        assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


EXPECTED = {
    RUN1: {"A01": ("FINDINGS", "BUSINESS_ROLE;INCOME_OVER_STANDARD;NO_AUTHORIZATION;RESIDENTIAL_UNITS_OVER_LIMIT;"
                                "VEHICLE"),
           "C01": ("CLEAR", ""), "D01": ("CLEAR", ""), "G01": ("INCOMPLETE", "RECORD_QUARANTINED;VALUE_UNKNOWN"),
           "N01": ("INCOMPLETE", "NO_AUTHORIZATION"),
           "H01a": ("CLEAR", ""), **{f"E{k}a": ("CLEAR", "") for k in ("DEA", "REG", "VEH", "PRO", "BUS", "EMP")}},
    RUN2: {"A01": ("FINDINGS", "BUSINESS_ROLE;INCOME_OVER_STANDARD;NO_AUTHORIZATION;RESIDENTIAL_UNITS_OVER_LIMIT;"
                                "VEHICLE"),
           "C01": ("CLEAR", ""), "D01": ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT"),
           "G01": ("INCOMPLETE", "RECORD_QUARANTINED;VALUE_UNKNOWN"), "H01b": ("FINDINGS", "VEHICLE"),
           "N01": ("INCOMPLETE", "NO_AUTHORIZATION"),
           "EDEAb": ("FINDINGS", "MEMBER_REGISTRATION_ENDED"), "EREGb": ("FINDINGS", "MEMBER_REGISTRATION_ENDED"),
           "EVEHb": ("FINDINGS", "VEHICLE"), "EPROb": ("FINDINGS", "NON_RESIDENTIAL_PROPERTY"),
           "EBUSb": ("FINDINGS", "BUSINESS_ROLE"), "EEMPb": ("CLEAR", "")},
}

#: policy.md's codes, and nothing else
OUTCOME_CODES = {"CLEAR", "FINDINGS", "INCOMPLETE"}
FINDING_CODES = {"INCOME_OVER_STANDARD", "FINANCIAL_ASSETS_OVER_LIMIT", "RESIDENTIAL_UNITS_OVER_LIMIT",
                 "NON_RESIDENTIAL_PROPERTY", "VEHICLE", "BUSINESS_ROLE", "MEMBER_REGISTRATION_ENDED",
                 "MEMBER_REGISTRATION_MISMATCH", "NO_AUTHORIZATION", "SOURCE_MISSING", "SOURCE_FAILED",
                 "UNCONFIRMED_LINK", "RECORD_QUARANTINED", "VALUE_UNKNOWN"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real `hedui run`s in one working folder, a staff decision on one of D01's pairs between them."""
    base = tmp_path_factory.mktemp("contract_reports")
    inbox, work = base / "inbox", base / "work"
    worlds = {}
    for date, second in ((RUN1, False), (RUN2, True)):
        worlds[date] = w = build(second)
        write(w, inbox, date)
        hedui("run", "--inbox", str(inbox), "--date", date, "--workdir", str(work))
        if not second:
            listing = hedui("review", "list", "--workdir", str(work), "--date", RUN1).stdout
            key = next(line.split("\t")[-1] for line in listing.splitlines() if "\tD01\t" in line)
            hedui("review", "rejected", "--workdir", str(work), "--date", RUN1, "--key", key,
                  "--reason", "户名不同，不是本人的账户")
    return worlds, work


def page(work: Path, date: str, rid: str) -> str:
    return (work / "reports" / date / "households" / f"{rid}.html").read_text(encoding="utf-8")


def text(html: str) -> str:
    """A page's text as a person reads it (tags gone, entities decoded)."""
    import html as h

    html = re.sub(r"(?s)<style.*?</style>", "", html)
    return h.unescape(re.sub(r"<[^>]+>", " ", html))


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_one_machine_readable_row_per_household_with_only_policy_md_codes(runs):
    _, work = runs
    for date, want in EXPECTED.items():
        rows = read_csv(work / "reports" / date / "outcomes.csv")
        assert [r["request_id"] for r in rows] == sorted(want)
        assert {r["request_id"]: (r["outcome"], r["findings"]) for r in rows} == want, date
        for r in rows:
            assert r["outcome"] in OUTCOME_CODES
            assert set(filter(None, r["findings"].split(";"))) <= FINDING_CODES
    con = duckdb.connect(str(work / "audit" / "hedui_audit.duckdb"), read_only=True)
    got = {(d, r): (o, f or "") for d, r, o, f in con.sql("select run_date, request_id, outcome, findings "
                                                          "from outcomes").fetchall()}
    assert got == {(d, r): v for d, want in EXPECTED.items() for r, v in want.items()}
    assert {c for (c,) in con.sql("select distinct code from findings").fetchall()} <= FINDING_CODES



def test_every_fact_cites_source_delivery_file_row_and_link(runs):
    _, work = runs
    a01 = text(page(work, RUN1, "A01"))
    # a finding on an XLSX row: the sheet row the department sees (title row 1, header row 2, data row 3)
    assert "公安 车管，交付日期 20261128，文件 vehicle/20261128/vehicle_20261128.xlsx 第 3 行；身份证号精确匹配" in a01
    # a source in two files: each record cites its own file and row
    assert "bank/20261128/bank_20261128_1.csv 第 2 行，身份证号精确匹配" in a01
    assert "bank/20261128/bank_20261128_2.csv 第 2 行，身份证号精确匹配" in a01
    # every source's records of the members looked up, each citing its delivery
    for source_zh, cite in (("税务 个人所得税", "tax/20261128/tax_20261128.csv 第 2 行"),
                            ("人社 社会保险", "social_insurance/20261128/social_insurance_20261128.csv 第 2 行"),
                            ("住房公积金", "housing_fund/20261128/housing_fund_20261128.csv 第 2 行"),
                            ("不动产登记", "real_estate/20261128/real_estate_20261128.csv 第 3 行"),
                            ("市场监管 企业登记", "business_registry/20261128/business_registry_20261128.csv 第 2 行"),
                            ("证券登记结算", "securities/20261128/securities_20261128.csv 第 2 行"),
                            ("保险公司 保单", "insurance/20261128/insurance_20261128.csv 第 2 行"),
                            ("公安 户籍", "public_security/20261128/public_security_20261128.csv 第 2 行")):
        assert source_zh in a01 and f"交付 20261128， {cite}，身份证号精确匹配".replace("， ", "，") in a01, source_zh
    # the rows an income figure reads cite delivery date and link too, not only file and row
    assert ("税务 个人所得税，交付日期 20261128，文件 tax/20261128/tax_20261128.csv 第 2 行；身份证号精确匹配"
            in a01)
    # a record linked by name (its ID is broken): probabilistic, with its match weight
    assert re.search(r"bank/20261128/bank_20261128_2\.csv 第 \d+ 行，概率匹配（权重 \d+\.\d\d）",
                     text(page(work, RUN1, "C01")))
    d01 = text(page(work, RUN2, "D01"))
    assert re.search(r"银行 账户，交付日期 20261228，文件 bank/20261228/bank_20261228_2\.csv 第 \d+ 行；身份证号精确匹配",
                     d01)
    # every finding row of every page names where it comes from
    for date in EXPECTED:
        for p in (work / "reports" / date / "households").glob("*.html"):
            for cell in re.findall(r'<td class="cite">(.*?)</td>', p.read_text(encoding="utf-8"), re.S):
                if "文件" in cell and "<table" not in cell:
                    assert re.search(r"第 \d+ 行", cell), (p.name, cell)


def test_wording_states_facts_and_incomplete_names_what_is_missing(runs):
    worlds, work = runs
    outcome_zh = {"CLEAR": "未发现超出政策规定情形", "FINDINGS": "发现超出政策规定情形",
                  "INCOMPLETE": "核对信息不完整，需人工复核"}
    for date, want in EXPECTED.items():
        for rid, (outcome, _) in want.items():
            t = text(page(work, date, rid))
            assert "不予救助" not in t and "不予" not in t and "不符合救助" not in t and "符合救助条件" not in t
            assert f"核对结论 {outcome_zh[outcome]}" in re.sub(r"\s+", " ", t), (date, rid)
            assert ("发现以下情形" in t) == (outcome == "FINDINGS"), (date, rid)
    g01 = re.sub(r"\s+", " ", text(page(work, RUN1, "G01")))
    # which source, which member, which record and why
    assert "银行 账户 文件 bank/20261128/bank_20261128_2.csv 第" in g01
    assert "吴未知（360702********" in g01 and '"余额"值"8O0.00"无法识别为金额' in g01
    assert "记录缺少“余额”，按未知处理（不按 0 计）" in g01
    # a member without authorization: answered with the reason, named, and not looked up
    a01 = re.sub(r"\s+", " ", text(page(work, RUN1, "A01")))
    c = next(r for r in worlds[RUN1].rows["requests"] if r["姓名"] == "赵三")
    masked = f"{c['身份证号'][:6]}********{c['身份证号'][-4:]}"
    assert f"成员未签署授权书：赵三（{masked}，子女）：该成员无授权书，未查询其信息" in a01
    assert f"赵三（{masked}，子女） 无授权书，未查询该成员信息。" in a01
    assert "999,999" not in a01 and "8999" not in a01  # his bank account was not looked up
    n01 = re.sub(r"\s+", " ", text(page(work, RUN1, "N01")))
    assert "成员未签署授权书：陈未签（" in n01 and "无授权书，未查询该成员信息。" in n01
    assert "300,000" not in n01 and "赣B" not in n01


def test_demonstration_figures_and_the_policy_source_are_named_in_every_report(runs):
    _, work = runs
    for date, want in EXPECTED.items():
        for rid in want:
            t = page(work, date, rid)
            assert "本报告所用政策参数为演示数据（JX-DEMO-2026）" in t, (date, rid)
            assert "JX-DEMO-2026：演示用政策参数（非正式文件）（DEMO-2026-01，2026-01-01）" in t, (date, rid)
        summary = (work / "reports" / date / "index.html").read_text(encoding="utf-8")
        assert "演示政策参数" in summary
        assert "JX-DEMO-2026：演示用政策参数（非正式文件）（DEMO-2026-01，2026-01-01）" in summary


def test_a_re_verification_is_a_new_version_the_old_kept_and_the_difference_shown(runs):
    _, work = runs
    first, second = text(page(work, RUN1, "D01")), re.sub(r"\s+", " ", text(page(work, RUN2, "D01")))
    assert "未发现超出政策规定情形" in first  # the old version is kept where it was
    # run 1 issued two versions (the nightly one, and one after the staff decision): this is the third
    kept = sorted(p.name for p in (work / "reports" / RUN1 / "households" / "versions" / "D01").glob("v*.html"))
    assert kept == ["v1.html", "v2.html"] and "第 2 版报告" in first
    assert "第 3 版报告" in second
    assert "与上次核对相比（复核：本委托的上一版报告）" in second
    assert "上次核对：批次 2026年11月28日，委托编号 D01，结论 “未发现超出政策规定情形”" in second
    assert "新增情形：家庭人均金融资产超过限额（FINANCIAL_ASSETS_OVER_LIMIT）" in second


EVENTS = {"DEA": ("死亡或火化", "死亡（殡葬记录）", "殡葬记录（火化日期 2026-12-03）"),
          "REG": ("户籍状态变更", "户籍状态", "户籍状态 注销"),
          "VEH": ("新增车辆", "车辆", "车辆 赣B"),
          "PRO": ("新增房产", "房产", "商业房产 章贡区"),
          "BUS": ("新增企业任职", "企业任职或出资", "商贸有限公司 法定代表人"),
          "EMP": ("新增工作单位", "工作单位", "工作单位 新雇主科技有限公司")}


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_each_event_between_two_checks_raises_one_alert_and_is_listed_as_a_change(runs, kind):
    worlds, work = runs
    alert, kind_zh, detail = EVENTS[kind]
    rid = f"E{kind}b"
    alerts = [a for a in read_csv(work / "reports" / RUN2 / "alerts.csv") if a["request_id"] == rid]
    assert [a["alert"] for a in alerts] == [alert]
    spouse = worlds[RUN2].events[{"DEA": "death", "REG": "registration", "VEH": "vehicle", "PRO": "property",
                                  "BUS": "business", "EMP": "employer"}[kind]][2]
    masked = f"{spouse['id'][:6]}********{spouse['id'][-4:]}"
    assert alerts[0]["previous_run_date"] == RUN1 and alerts[0]["previous_request_id"] == f"E{kind}a"
    assert alerts[0]["member_id_masked"] == masked and detail in alerts[0]["detail_zh"]
    t = re.sub(r"\s+", " ", text(page(work, RUN2, rid)))
    assert "与上次核对相比（动态复核：该家庭的上次核对）" in t
    assert re.search(f"新增 {re.escape(kind_zh)} {spouse['name']}（{re.escape(masked)}） [^ ]*{re.escape(detail)}",
                     t), t
    # nothing happened to the household before: its first check raised nothing
    assert not [a for a in read_csv(work / "reports" / RUN1 / "alerts.csv")]


def _secrets(worlds) -> set[str]:
    """Every ID number and bank account number delivered in either run."""
    out = set()
    for w in worlds.values():
        for rows in w.rows.values():
            for r in rows:
                for k in ("证件号码", "身份证号", "公民身份号码", "纳税人识别号", "人员证件号", "投保人证件号", "账号"):
                    if len(r.get(k) or "") >= 15:
                        out.add(r[k])
    return out


ID_LIKE = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")


def test_id_numbers_and_accounts_are_masked_in_everything_a_person_reads(runs):
    worlds, work = runs
    secrets = _secrets(worlds)
    assert len(secrets) > 40
    files = [p for p in (work / "reports").rglob("*") if p.is_file() and p.suffix in (".html", ".csv", ".json", ".pdf")]
    files.append(work / "audit" / "audit_log.jsonl")
    assert any("datadocs" in p.parts for p in files)
    for p in files:
        body = p.read_text(encoding="utf-8", errors="replace")
        assert not [s for s in secrets if s in body], p
        assert not ID_LIKE.search(body), (p, ID_LIKE.search(body))
    # a quarantine reason quoting an ID typed into a balance column: masked on the page and in the summary
    g = next(r["身份证号"] for r in worlds[RUN1].rows["requests"] if r["委托编号"] == "G01")
    quoted = f"身份证{g[:6]}********{g[-4:]}"
    assert quoted in page(work, RUN1, "G01") and quoted in (work / "reports" / RUN1 / "index.html").read_text(
        encoding="utf-8")
    # the auditor database: every column of every table
    con = duckdb.connect(str(work / "audit" / "hedui_audit.duckdb"), read_only=True)
    columns = con.sql("select table_name, column_name from duckdb_columns() where schema_name = 'main' "
                      "and not internal").fetchall()
    assert len({t for t, _ in columns}) >= 20
    for table, column in columns:
        values = [v for (v,) in con.sql(f'select distinct cast("{column}" as varchar) from "{table}"').fetchall() if v]
        assert not [v for v in values if any(s in v for s in secrets) or ID_LIKE.search(v)], (table, column)


def test_spreadsheet_cells_are_neutralized_and_hostile_names_escaped(runs):
    _, work = runs
    alerts = (work / "reports" / RUN2 / "alerts.csv").read_text(encoding="utf-8")
    row = next(r for r in read_csv(work / "reports" / RUN2 / "alerts.csv") if r["request_id"] == "H01b")
    assert row["member_name"] == "'" + HOSTILE["formula"], alerts
    out = hedui("audit", "--workdir", str(work), "--csv", "-c",
                "select name_masked from members where request_id = 'H01b' order by name_masked").stdout
    assert "'=*" in out.splitlines()
    html = page(work, RUN2, "H01b")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{7*7}}" in html  # shown as written, never evaluated
    assert HOSTILE["long"] in html
    # a right-to-left override would show the masked ID after the name backwards: shown as its code point
    assert "\u202e" not in html and "王[U+202E]五六" in html
    summary = (work / "reports" / RUN2 / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in summary and "\u202e" not in summary


def test_the_auditor_connection_is_read_only_and_reads_no_other_file(runs, tmp_path):
    _, work = runs
    outside = tmp_path / "x.csv"
    outside.write_text("a\n1\n", encoding="utf-8")
    for sql in ("delete from outcomes", "create table t as select 1", f"select * from read_csv('{outside}')",
                f"copy outcomes to '{tmp_path / 'o.csv'}'", f"attach '{tmp_path / 'n.duckdb'}' as n",
                "set enable_external_access = true", "install httpfs"):
        proc = hedui("audit", "--workdir", str(work), "-c", sql, check=False)
        assert proc.returncode != 0, sql
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "n.duckdb").exists()


def _doc_queries() -> list[str]:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "auditors.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```sql\n(.*?)```", doc, re.S):
        out += [s.strip() for s in block.split(";") if s.strip()]
    return out


def _audit_csv(work: Path, sql: str) -> list[dict]:
    out = hedui("audit", "--workdir", str(work), "--csv", "-c", sql).stdout
    return list(csv.DictReader(out.splitlines()))


def test_every_query_of_the_auditors_guide_answers_on_the_published_database(runs):
    _, work = runs
    queries = _doc_queries()
    assert len(queries) == 11
    answers = [_audit_csv(work, q.replace("WT202611280000001", "A01")) for q in queries]
    who, what, changed, history, failed, kept_out, looked_up, unauthorized, reproducible, access, check = answers
    # who was verified, under which policy, with whose authorization
    a01 = [r for r in who if r["request_id"] == "A01"]
    assert [(r["relation"], r["is_authorized"]) for r in a01] == [("本人", "True"), ("配偶", "True"),
                                                                  ("子女", "False")]
    assert {r["policy_id"] for r in who} == {"JX-DEMO-2026"} and {r["policy_demonstration"] for r in who} == {"True"}
    assert len(who) == sum(1 for r in build(False).rows["requests"])
    # each finding with the file and row it cites
    vehicle = next(r for r in what if r["code"] == "VEHICLE")
    assert (vehicle["file_name"], vehicle["row_no"], vehicle["method"]) == ("vehicle/20261128/vehicle_20261128.xlsx",
                                                                            "3", "exact_id")
    # the household whose outcome changed after a staff decision on one of its pairs
    assert [(r["request_id"], r["previous_outcome"], r["outcome"], r["decisions"]) for r in changed] == [
        ("D01", "CLEAR", "FINDINGS", "rejected")]
    # the outcomes A01 was ever published with in the first run, the current one last
    assert history and [r["is_current"] for r in history][-1] == "True"
    assert sum(r["is_current"] == "True" for r in history) == 1 and history[-1]["outcome"]
    assert {r["source"] for r in failed} >= {"bank", "vehicle", "tax"} and all(r["runs"] == "2" for r in failed)
    assert [(r["source"], r["rows_kept_out"]) for r in kept_out] == [("bank", "4")]
    # who looked up the applicant of A01: both runs, every source
    assert {r["run_date"] for r in looked_up} == {RUN1, RUN2} and len(looked_up) == 2 * 11
    assert all(r["authorization_no"] == "SQA011" and r["purpose"] == "最低生活保障" for r in looked_up)
    assert unauthorized == [{"lookups_without_authorization": "0"}]
    files = {r["file_name"] for r in reproducible}
    assert {"bank/20261128/bank_20261128_1.csv", "bank/20261128/bank_20261128_2.csv",
            "vehicle/20261128/vehicle_20261128.xlsx"} <= files
    assert all(len(r["sha256"]) == 64 for r in reproducible)
    assert access == [] and check[0]["n_problems"] == "0"
