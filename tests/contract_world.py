"""A hand-made delivery for tests/test_contract_outcomes.py: small households whose outcome follows from
policy.md by hand (not from hedui's own generator), written as each department delivers (sources.md).

Policy of the run (hedui/policies/jiangxi_demo.yaml, 2026, 城市): standard 800 yuan/person/month,
income window 12 months (2025-11 … 2026-10 for a run on 20261128), financial assets at most
2 × 800 × 12 = 19,200 yuan per person, at most 1 residential unit, vehicles above 15 × 800 = 12,000 yuan,
subscribed contributions from 100,000 yuan (10 万元), any active 个体工商户.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import random
from pathlib import Path

RUN = "20261128"
REGION = "360702"

HEADERS = {
    "requests": ["委托编号", "业务类型", "姓名", "身份证号", "与申请人关系", "区划代码", "城乡类别", "授权书编号",
                 "授权日期", "委托日期"],
    "public_security": ["户号", "姓名", "公民身份号码", "性别", "出生日期", "与户主关系", "户籍地址", "区划代码",
                        "人员状态", "变动日期"],
    "civil_affairs": ["姓名", "身份证号", "死亡日期", "火化日期", "殡仪馆"],
    "tax": ["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"],
    "social_insurance": ["身份证号", "姓名", "险种", "类别", "月份", "缴费基数", "待遇金额", "单位名称"],
    "housing_fund": ["证件号码", "姓名", "单位名称", "月缴存基数", "月缴存额", "账户余额", "账户状态", "截至日期"],
    "real_estate": ["权利人", "证件号码", "不动产单元号", "坐落", "建筑面积", "规划用途", "共有方式", "登记日期",
                    "权属状态"],
    "business_registry": ["统一社会信用代码", "主体名称", "主体类型", "登记状态", "注册资本", "人员姓名", "人员证件号",
                          "人员角色", "认缴出资额", "成立日期"],
    "vehicle": ["号牌号码", "号牌种类", "车辆类型", "所有人", "证件号码", "初次登记日期", "使用性质", "车辆状态",
                "购置价格"],
    "bank": ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"],
    "securities": ["姓名", "证件号码", "证券账户", "持仓市值", "资金余额", "查询日期"],
    "insurance": ["投保人", "投保人证件号", "保单号", "险种", "保单状态", "现金价值", "查询日期"],
}

WINDOW = [f"{y}{m:02d}" for y, m in [(2025, 11), (2025, 12)] + [(2026, k) for k in range(1, 11)]]
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_seq = itertools.count(110)


@contextlib.contextmanager
def fresh_ids(start: int = 110):
    """IDs numbered from `start` inside the block, whatever worlds this process built before (a one-digit typo of
    one member's sequential ID can be another member's: a world's links must not depend on the test order)."""
    global _seq
    saved, _seq = _seq, itertools.count(start)
    try:
        yield
    finally:
        _seq = saved


def new_id(birth: str | None = None, male: bool = True) -> str:
    """A valid 18-digit ID number (ISO 7064 MOD 11-2) born in REGION, unique in this world.

    IDs differ as real people's do: unless `birth` (YYYYMMDD) is given, a birth date between 1945 and 2004 drawn
    from the running number; the 3-digit sequence is a permutation of the running number (odd for men, even for
    women), so no two IDs of one world are alike but by chance, and the same running number gives the same ID."""
    n = next(_seq)
    if birth is None:
        day = dt.date(1945, 1, 1) + dt.timedelta(days=random.Random(n).randrange(60 * 365))
        birth = day.strftime("%Y%m%d")
    order = (n * 269 + 57) % 500  # a bijection of n mod 500
    body = f"{REGION}{birth}{order * 2 + (1 if male else 0):03d}"
    return body + check_char(body)


def check_char(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character of an ID's first 17 digits."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def id_one_digit_from(record_id: str) -> str:
    """A valid ID, born the same day, one digit of the sequence away from `record_id` (an 18-character ID whose
    check character may be wrong): another person whose ID that record could be, mistyped in one digit."""
    for pos in (15, 14, 16):
        for digit in "0123456789":
            body = record_id[:pos] + digit + record_id[pos + 1:17]
            if digit != record_id[pos] and check_char(body) == record_id[17]:
                return body + record_id[17]
    raise ValueError("no ID one sequence digit away")


def birth_of(pid: str) -> str:
    """The birth date YYYYMMDD an ID number carries."""
    return pid[6:14]


class World:
    """Rows per source; households added by `household`, records by `add`."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {s: [] for s in HEADERS}
        self.expected: dict[str, tuple[str, str]] = {}
        self._hukou = itertools.count(1)

    def household(self, rid: str, members: list[tuple], *, program: str = "最低生活保障", urban: str = "城市",
                  registered: bool | dict = True, births: dict[str, str] | None = None) -> list[dict]:
        """members: (name, relation[, authorized=True[, registered relation_to_head[, status]]]).

        Every member is registered in one 户 headed by the applicant unless `registered` says otherwise
        (a dict name → False leaves that member out of the registration); `births` (name → YYYYMMDD) fixes a
        member's birth date, which is otherwise drawn by `new_id`."""
        hukou = f"H{next(self._hukou):05d}"
        people = []
        for m in members:
            name, relation = m[0], m[1]
            authorized = m[2] if len(m) > 2 else True
            reg_rel = m[3] if len(m) > 3 else {"本人": "户主"}.get(relation, relation)
            status = m[4] if len(m) > 4 else "正常"
            pid = new_id((births or {}).get(name), male=relation != "配偶")
            p = {"name": name, "id": pid}
            people.append(p)
            self.add("requests", 委托编号=rid, 业务类型=program, 姓名=name, 身份证号=pid, 与申请人关系=relation,
                     区划代码=REGION, 城乡类别=urban, 授权书编号=f"SQ{rid}{len(people)}" if authorized else "",
                     授权日期="2026-11-01", 委托日期="2026-11-20")
            if registered is True or (isinstance(registered, dict) and registered.get(name, True)):
                self.add("public_security", 户号=hukou, 姓名=name, 公民身份号码=pid, 性别="男" if int(pid[16]) % 2 else "女",
                         出生日期=birth_of(pid),
                         与户主关系=reg_rel, 户籍地址="江西省赣州市章贡区某路1号", 区划代码=REGION, 人员状态=status,
                         变动日期="2026-09-01" if status != "正常" else "")
        return people

    def set_id(self, old: str, new: str) -> None:
        """Give the person of ID `old` the ID `new` in the requests and the registration."""
        for r in self.rows["requests"]:
            r["身份证号"] = new if r["身份证号"] == old else r["身份证号"]
        for r in self.rows["public_security"]:
            r["公民身份号码"] = new if r["公民身份号码"] == old else r["公民身份号码"]

    def add(self, source: str, **row) -> None:
        unknown = set(row) - set(HEADERS[source])
        assert not unknown, unknown
        self.rows[source].append(row)

    def expect(self, rid: str, outcome: str, findings: str) -> None:
        self.expected[rid] = (outcome, findings)

    # --- records of one person ------------------------------------------------------------------------
    def wages(self, p, months, amount, tax="0", item="工资薪金所得"):
        for m in months:
            self.add("tax", 纳税人识别号=p["id"], 姓名=p["name"], 所得项目=item, 所属期=m, 收入额=amount,
                     已缴税额=tax, 扣缴义务人="赣州某某有限公司")

    def si(self, p, months, scheme, category, base="", benefit=""):
        for m in months:
            self.add("social_insurance", 身份证号=p["id"], 姓名=p["name"], 险种=scheme, 类别=category,
                     月份=f"{m[:4]}-{m[4:]}", 缴费基数=base, 待遇金额=benefit, 单位名称="赣州某某有限公司")

    def bank(self, p, balance, kind="活期", account=None):
        self.add("bank", 机构名称="中国银行江西省分行", 户名=p["name"], 证件号码=p["id"],
                 账号=account or f"6216{len(self.rows['bank']):015d}", 账户类型=kind, 余额=balance, 查询日期="20261126")

    def flat(self, p, unit_no, use="住宅", status="现势", area="90.5", share="单独所有", location=None):
        self.add("real_estate", 权利人=p["name"], 证件号码=p["id"], 不动产单元号=unit_no,
                 坐落=location or f"章贡区某路{len(self.rows['real_estate']) + 1}号", 建筑面积=area, 规划用途=use,
                 共有方式=share, 登记日期="2015-06-01", 权属状态=status)

    def car(self, p, price, kind="小型轿车", status="正常"):
        n = len(self.rows["vehicle"])
        self.add("vehicle", 号牌号码=f"赣B{n:05d}", 号牌种类="小型汽车", 车辆类型=kind, 所有人=p["name"],
                 证件号码=p["id"], 初次登记日期="2020-05-01", 使用性质="非营运", 车辆状态=status, 购置价格=price)

    def company(self, p, entity_type, status, subscribed, role="股东", capital="50"):
        n = len(self.rows["business_registry"])
        self.add("business_registry", 统一社会信用代码=f"91360702MA{n:07d}X", 主体名称=f"赣州某某{n}商贸有限公司",
                 主体类型=entity_type, 登记状态=status, 注册资本=capital, 人员姓名=p["name"], 人员证件号=p["id"],
                 人员角色=role, 认缴出资额=subscribed, 成立日期="2019-03-01")

    def in_every_source(self, p):
        """One ordinary record of `p` (nobody asked about) in each source, so that every source delivers a file."""
        self.wages(p, ["202601"], "3000")
        self.si(p, ["202601"], "企业职工基本养老保险", "缴费", base="3000")
        self.add("housing_fund", 证件号码=p["id"], 姓名=p["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
                 账户余额="9000", 账户状态="正常", 截至日期="2026-10-31")
        self.flat(p, "360702001001GB00099F00010001")
        self.company(p, "有限责任公司", "存续", "10")
        self.car(p, "90000")
        self.add("securities", 姓名=p["name"], 证件号码=p["id"], 证券账户="A0099", 持仓市值="100", 资金余额="1",
                 查询日期="20261126")
        self.add("insurance", 投保人=p["name"], 投保人证件号=p["id"], 保单号="P0099", 险种="寿险", 保单状态="有效",
                 现金价值="10", 查询日期="20261126")

    def write(self, inbox: Path, date: str = RUN, *, left_out: dict[str, list[str]] | None = None,
              not_delivered: tuple[str, ...] = (), wrong_marker: tuple[str, ...] = ()) -> None:
        """One UTF-8 CSV per source with its `.ok` marker (data rows, 合计 rows not counted); `left_out`
        columns are not written, `not_delivered` sources have no folder, `wrong_marker` ones a wrong count."""
        for source, rows in self.rows.items():
            if source in not_delivered:
                continue
            folder = inbox / source / date
            folder.mkdir(parents=True, exist_ok=True)
            header = [h for h in HEADERS[source] if h not in (left_out or {}).get(source, [])]
            lines = [",".join(header)]
            n = 0
            for r in rows:
                cells = [str(r.get(h, "")) for h in header]
                lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
                n += 0 if cells[0] == "合计" else 1
            name = f"requests_{date}.csv" if source == "requests" else f"{source}_{date}.csv"
            (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
            (folder / f"{name}.ok").write_text(str(n + 1 if source in wrong_marker else n), encoding="utf-8")


def run_world(world: World, tmp_path_factory, name: str):
    """Write `world` as an inbox and run the real pipeline over it once: the RunContext."""
    from hedui.pipeline import RunContext, run

    inbox = tmp_path_factory.mktemp(name) / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp(f"{name}_work"), RUN)
    run(ctx)
    return ctx


def outcomes(ctx) -> dict[str, tuple[str, str]]:
    """outcomes.csv of a run: request id → (outcome, findings)."""
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}


def query(ctx, sql: str, params=None) -> list[tuple]:
    """Rows of `sql` on a run's working database, opened read-only."""
    import duckdb

    con = duckdb.connect(str(ctx.database), read_only=True)
    try:
        return con.sql(sql, params=params).fetchall()
    finally:
        con.close()


def xlsx_bytes(rows: list[list]) -> bytes:
    """A workbook of `rows` on its first sheet, as bytes (openpyxl: values as given, no formulas)."""
    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parquet_bytes(columns: dict[str, list]) -> bytes:
    """A Parquet file of `columns` (polars), as bytes."""
    import polars as pl

    buf = io.BytesIO()
    pl.DataFrame(columns).write_parquet(buf)
    return buf.getvalue()
