"""The synthetic world: households, their scenarios, strangers and noise, streamed to the sinks.

One household at a time: its members and request rows, the records its
scenario calls for, a few harmless records, then the strangers (people
nobody asked about) drawn beside it.  Every household has its own
``random.Random`` derived from the seed and its index, so the output is
byte-identical for a seed and nothing about the world is kept in memory.

Truth is exact by construction: clean households stay far below every limit
and over-limit households far above, so no rounding or reasonable reading
of the figures can flip an outcome.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from matching.idnum import check_char

from . import values as V
from .refdata import (
    BANK_CARD_BIN,
    BANKS,
    COUNTIES,
    COUNTY_CODES,
    EMPLOYER_TRADES,
    EMPLOYER_WORDS,
    FUNERAL_HOMES,
    GIVEN_CHARS,
    HOUSEHOLD_COUNTIES,
    MINORITY_NAMES,
    NOISE_SURNAMES,
    PLATE_PREFIX,
    PROGRAMS,
    RARE_CHARS,
    ROADS,
    SOLE_TRADES,
    SURNAMES,
)
from .sinks import CsvSink, ParquetSink, Sink, XlsxSink

SOURCES = ("public_security", "civil_affairs", "tax", "social_insurance", "housing_fund", "real_estate",
           "business_registry", "vehicle", "bank", "securities", "insurance")

# Headers exactly as the departments write them (connectors/maps/<source>.yaml; a unit in brackets is allowed).
H_REQUESTS = ["委托编号", "业务类型", "姓名", "身份证号", "与申请人关系", "区划代码", "城乡类别", "授权书编号",
              "授权日期", "委托日期"]
H_PS = ["户号", "姓名", "公民身份号码", "性别", "出生日期", "与户主关系", "户籍地址", "区划代码", "人员状态", "变动日期"]
H_CA = ["姓名", "身份证号", "死亡日期", "火化日期", "殡仪馆"]
H_TAX = ["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"]
H_SI = ["身份证号", "姓名", "险种", "类别", "月份", "缴费基数", "待遇金额", "单位名称"]
H_HF = ["证件号码", "姓名", "单位名称", "月缴存基数", "月缴存额", "账户余额", "账户状态", "截至日期"]
H_RE = ["权利人", "证件号码", "不动产单元号", "坐落", "建筑面积", "规划用途", "共有方式", "登记日期", "权属状态"]
# 注册资本/认缴出资额: no unit in the header (万元 by the department's convention, see V.a_wan_cell)
H_BR = ["统一社会信用代码", "主体名称", "主体类型", "登记状态", "注册资本", "人员姓名", "人员证件号", "人员角色",
        "认缴出资额", "成立日期"]
H_VE = ["号牌号码", "号牌种类", "车辆类型", "所有人", "证件号码", "初次登记日期", "使用性质", "车辆状态", "购置价格"]
H_BANK = ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"]
H_SEC = ["姓名", "证件号码", "证券账户", "持仓市值", "资金余额", "查询日期"]
H_INS = ["投保人", "投保人证件号", "保单号", "险种", "保单状态", "现金价值", "查询日期"]

# --- scenarios ---------------------------------------------------------------

TRUTH: dict[str, tuple[str, str]] = {
    "clean": ("CLEAR", ""),
    "income_over": ("FINDINGS", "INCOME_OVER_STANDARD"),
    "trap_old_income": ("CLEAR", ""),
    "trap_excluded_pension": ("CLEAR", ""),
    "pension_over": ("FINDINGS", "INCOME_OVER_STANDARD"),
    "financial_assets_over": ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT"),
    "securities_over": ("FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT"),
    "residential_units_over": ("FINDINGS", "RESIDENTIAL_UNITS_OVER_LIMIT"),
    "trap_cancelled_property": ("CLEAR", ""),
    "non_residential": ("FINDINGS", "NON_RESIDENTIAL_PROPERTY"),
    "vehicle": ("FINDINGS", "VEHICLE"),
    "trap_scrapped_car": ("CLEAR", ""),
    "trap_motorcycle": ("CLEAR", ""),
    "business_role": ("FINDINGS", "BUSINESS_ROLE"),
    "sole_trader": ("FINDINGS", "BUSINESS_ROLE"),
    "trap_dissolved_company": ("CLEAR", ""),
    "member_dead": ("FINDINGS", "MEMBER_REGISTRATION_ENDED"),
    "member_cremated": ("FINDINGS", "MEMBER_REGISTRATION_ENDED"),
    "member_not_registered": ("FINDINGS", "MEMBER_REGISTRATION_MISMATCH"),
    "relation_contradicted": ("FINDINGS", "MEMBER_REGISTRATION_MISMATCH"),
    "no_authorization": ("INCOMPLETE", "NO_AUTHORIZATION"),
    "trap_unauthorized_with_car": ("INCOMPLETE", "NO_AUTHORIZATION"),
    "trap_namesake": ("CLEAR", ""),
    "messy_ids_vehicle": ("FINDINGS", "VEHICLE"),
    "recheck": ("CLEAR", ""),
    # records without a usable ID, linked probabilistically (not yet confirmed by staff)
    "fuzzy_vehicle": ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"),
    "fuzzy_bank": ("INCOMPLETE", "FINANCIAL_ASSETS_OVER_LIMIT;UNCONFIRMED_LINK"),
    # evidence nobody could weigh (policy.md: CLEAR is earned)
    # a vehicle with no owner ID, plated in another city: the owner's name alone puts it in review
    "pending_vehicle": ("INCOMPLETE", "UNCONFIRMED_LINK"),
    # a bank row with the applicant's ID and an unreadable balance: quarantined
    "quarantined_record": ("INCOMPLETE", "RECORD_QUARANTINED"),
    # a bank row with the applicant's ID and an empty balance: unknown, never zero
    "unknown_balance": ("INCOMPLETE", "VALUE_UNKNOWN"),
}
SCENARIOS = tuple(TRUTH)
SPECIAL = tuple(s for s in SCENARIOS if s != "clean")       # each once in every block of 60
BLOCK = 60

# Household size constraints per scenario (min, max); others draw 1-5.
SIZE = {"income_over": (1, 3), "pension_over": (1, 2), "trap_excluded_pension": (1, 2),
        "member_dead": (2, 5), "member_cremated": (2, 5), "member_not_registered": (2, 5),
        "relation_contradicted": (2, 5), "no_authorization": (2, 5), "trap_unauthorized_with_car": (2, 5)}
AGE = {"income_over": (28, 52), "pension_over": (62, 78), "trap_excluded_pension": (63, 80),
       "relation_contradicted": (42, 62), "trap_old_income": (30, 55)}
NO_BASE_INCOME = {"trap_old_income", "trap_excluded_pension"}
NO_BASE_PROPERTY = {"residential_units_over", "trap_cancelled_property"}

# --- ID numbers: unique by construction ------------------------------------------
# Every person is a slot (household index × SLOTS + k).  An affine permutation of
# the slot gives (county, day of year, half of the sequence code); the sex bit
# completes the sequence code.  Distinct slots can therefore never share an ID,
# whatever birth years are drawn, and no set of issued IDs has to be kept.
SLOTS = 16                       # 0-4 members, 5-11 strangers, 15 a member's business partner
_DAYS = 365
_HALF = 500
N_IDS = len(COUNTY_CODES) * _DAYS * _HALF
_ID_A = 1_000_003                # prime, coprime with N_IDS
MAX_HOUSEHOLDS = N_IDS // SLOTS
_DOY = [(d.month, d.day) for d in (dt.date(2001, 1, 1) + dt.timedelta(n) for n in range(_DAYS))]

# Mess per source: (rate, recoverable ID forms); (rate, name forms); minority dot variant; rare-char handling.
ID_MESS = {
    "requests": (0.01, ("x", "sp")),
    "public_security": (0.06, ("l15", "l15", "x")),
    "civil_affairs": (0.05, ("sp", "x")),
    "tax": (0.03, ("spin", "x")),
    "social_insurance": (0.03, ("x", "sp")),
    "housing_fund": (0.03, ("fw", "x")),
    "real_estate": (0.04, ("fw", "l15", "sp")),
    "business_registry": (0.03, ("x", "sp")),
    "vehicle": (0.06, ("apos", "fw", "l15")),
    "bank": (0.04, ("apos", "sp", "fw", "x")),
    "securities": (0.02, ("x",)),
    "insurance": (0.03, ("sp", "apos")),
}
NAME_MESS = {
    "requests": (0.0, ()),
    "public_security": (0.02, ("sp_out", "trad")),
    "civil_affairs": (0.04, ("sp_in", "fw_sp")),
    "tax": (0.03, ("sp_in",)),
    "social_insurance": (0.03, ("sp_out", "fw_sp")),
    "housing_fund": (0.02, ("sp_in",)),
    "real_estate": (0.04, ("trad", "sp_in")),
    "business_registry": (0.02, ("sp_out",)),
    "vehicle": (0.03, ("fw_sp", "sp_in")),
    "bank": (0.04, ("sp_in", "sp_out", "trad")),
    "securities": (0.02, ("sp_out",)),
    "insurance": (0.03, ("sp_in",)),
}
DOT = {"requests": 0, "public_security": 0, "civil_affairs": 1, "tax": 1, "social_insurance": 2,
       "housing_fund": 0, "real_estate": 3, "business_registry": 0, "vehicle": 2, "bank": 1,
       "securities": 0, "insurance": 2}
RARE_SUB = {"tax": "star", "social_insurance": "star", "securities": "pinyin"}
# Noise persons (strangers only) carry no usable ID on some of their records.  The share of such
# rows per source is held under a budget (about half of what validation tolerates: the household
# register is strict, civil affairs lenient), checked as rows are written, so that a healthy
# delivery never fails validation by chance.  Monthly sources use only wrong check characters, so
# that such rows stay distinct (an empty ID repeated over months would look like duplicate records).
UNUSABLE_BUDGET = {"public_security": 0.005, "tax": 0.02, "social_insurance": 0.02, "bank": 0.02,
                   "insurance": 0.02, "securities": 0.02, "vehicle": 0.04, "housing_fund": 0.04,
                   "business_registry": 0.04, "real_estate": 0.06, "civil_affairs": 0.08}
UNUSABLE_FORMS = {"tax": ("bad",), "social_insurance": ("bad",)}
NOISE_SHARE = 0.04

# Banks answer a query in parts of at most this many accounts: many small files at scale.
BANK_FILE_ROWS = 10_000
# Bank files: code -> (amount form, date form); JXB is an XLSX with numbers and Excel serial dates.
BANK_FORMS = {"ICBC": (V.a_sep, V.d_ymd), "CCB": (V.a_plain, V.d_dash), "ABC": (V.a_yuan, V.d_slash),
              "BOC": (V.a_plain, V.d_cn), "PSBC": (V.a_sep, V.d_ymd), "JXNX": (V.a_yuan, V.d_dash),
              "JXB": (lambda x: round(x, 2), V.d_serial)}
BANK_NAME = dict(BANKS)
BANK_CODES = tuple(BANK_NAME)

_ALNUM = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_PLATE = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
TOWNS = ("城关", "新华", "罗家", "梅林", "塘南", "石岗", "黄马", "冈上", "泾口", "幽兰", "三江", "南新", "武阳",
         "向塘", "莲塘", "八一", "长埠", "麻丘", "蒋巷", "昌东")


class Person:
    __slots__ = ("id", "name", "male", "birth", "age", "rel", "reg", "noise", "rare", "minority")

    def __init__(self, id18: str, name: str, male: bool, birth: dt.date, age: int) -> None:
        self.id = id18
        self.name = name
        self.male = male
        self.birth = birth
        self.age = age
        self.rel = ""
        self.reg = ""
        self.noise = False
        self.rare = any(c in name for c in RARE_CHARS)
        self.minority = "·" in name


@dataclass
class GenerateSummary:
    """What ``generate`` wrote."""

    out: Path
    date: str
    seed: int
    households: int
    members: int = 0
    strangers: int = 0
    rows: dict[str, int] = field(default_factory=dict)     # data rows per source (markers' sum)
    files: list[str] = field(default_factory=list)         # data files, relative to ``out``
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def households_per_second(self) -> float:
        return self.households / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        per = "，".join(f"{s} {n:,}" for s, n in self.rows.items())
        return (f"{self.households:,} 户（成员 {self.members:,} 人，无关人员 {self.strangers:,} 人），"
                f"{len(self.files)} 个文件，共 {self.total_rows:,} 行数据，用时 {self.seconds:.1f} 秒"
                f"（{self.households_per_second:,.0f} 户/秒）\n  各来源行数：{per}")


def _months_back(run: dt.date, n: int) -> int:
    return run.year * 12 + run.month - 1 - n


class World:
    def __init__(self, out: Path, households: int, seed: int, date: str) -> None:
        if households > MAX_HOUSEHOLDS:
            raise ValueError(f"at most {MAX_HOUSEHOLDS:,} households (unique ID space)")
        self.out = out
        self.seed = seed
        self.date = date
        self.run = dt.datetime.strptime(date, "%Y%m%d").date()
        self.R = self.run.year * 12 + self.run.month - 1        # month index of the run month
        self.window = range(self.R - 12, self.R)                 # 12 full months before the run month
        self.mon_ym = {}
        self.mon_dash = {}
        for mi in range(self.R - 48, self.R + 1):
            y, m = divmod(mi, 12)
            self.mon_ym[mi] = f"{y}{m + 1:02d}"
            self.mon_dash[mi] = f"{y}-{m + 1:02d}"
        self.id_offset = random.Random(seed).randrange(N_IDS)
        self._block = -1
        self._block_map: dict[int, str] = {}
        self.query_date = self.run - dt.timedelta(days=2)
        self.sec_date = self.run - dt.timedelta(days=1)
        first = self.run.replace(day=1)
        self.hf_date = first - dt.timedelta(days=1)
        self.members = 0
        self.strangers = 0
        self.unusable = dict.fromkeys(UNUSABLE_BUDGET, 0)
        self._open()

    # --- sinks ----------------------------------------------------------------
    def _folder(self, source: str) -> Path:
        folder = self.out / source / self.date
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():               # a re-generation replaces the delivery
            if old.is_file():
                old.unlink()
        return folder

    def _open(self) -> None:
        d = self.date
        self.sinks: dict[str, Sink] = {}
        s = self.sinks
        s["requests"] = CsvSink(self._folder("requests"), f"requests_{d}", H_REQUESTS, encoding="utf-8-sig")
        s["public_security"] = CsvSink(self._folder("public_security"), f"public_security_{d}", H_PS,
                                       encoding="gb18030", quote_all=True, dup_every=800)
        s["civil_affairs"] = CsvSink(self._folder("civil_affairs"), f"civil_affairs_{d}", H_CA,
                                     encoding="gb18030", delimiter="\t", lineterminator="\n")
        s["tax"] = CsvSink(self._folder("tax"), f"tax_{d}", H_TAX, encoding="gb18030", dup_every=400, summary_col=4)
        s["social_insurance"] = CsvSink(self._folder("social_insurance"), f"social_insurance_{d}", H_SI,
                                        encoding="gb18030", delimiter="\t", dup_every=400)
        s["housing_fund"] = ParquetSink(self._folder("housing_fund"), f"housing_fund_{d}", H_HF)
        s["real_estate"] = XlsxSink(self._folder("real_estate"), f"real_estate_{d}", H_RE,
                                    title="不动产登记信息查询结果", sheet="查询结果", dup_every=1000)
        s["business_registry"] = CsvSink(self._folder("business_registry"), f"business_registry_{d}", H_BR,
                                         encoding="utf-8", lineterminator="\n")
        s["vehicle"] = CsvSink(self._folder("vehicle"), f"vehicle_{d}", H_VE, encoding="gb18030",
                               dup_every=600)
        bank = self._folder("bank")
        part = BANK_FILE_ROWS
        b = self.banks = {
            "ICBC": CsvSink(bank, "bank_ICBC", H_BANK, encoding="gb18030", summary_col=5,
                            summary_fmt=V.a_sep, dup_every=400, max_rows=part),
            "CCB": CsvSink(bank, "bank_CCB", H_BANK[:5] + ["余额(元)", "查询日期"], encoding="utf-8-sig",
                           delimiter="\t", max_rows=part),
            "ABC": CsvSink(bank, "bank_ABC", H_BANK, encoding="gb18030", quote_all=True, dup_every=400,
                           max_rows=part),
            "BOC": CsvSink(bank, "bank_BOC", H_BANK, encoding="utf-8", max_rows=part),
            "PSBC": CsvSink(bank, "bank_PSBC", H_BANK, encoding="gb18030", delimiter="\t", max_rows=part),
            "JXNX": CsvSink(bank, "bank_JXNX", H_BANK, encoding="gb18030", lineterminator="\n", max_rows=part),
            "JXB": XlsxSink(bank, "bank_JXB", H_BANK, sheet="账户信息", max_rows=part),
        }
        for code, sink in b.items():
            s[f"bank:{code}"] = sink
        s["securities"] = ParquetSink(self._folder("securities"), f"securities_{d}", H_SEC)
        s["insurance"] = CsvSink(self._folder("insurance"), f"insurance_{d}", H_INS, encoding="utf-8-sig",
                                 delimiter="\t", summary_col=5)
        self.truth_fh = open(self.out / "truth.csv", "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.truth = csv.writer(self.truth_fh, lineterminator="\n")
        self.truth.writerow(["request_id", "scenario", "outcome", "findings"])
        # shortcuts
        self.w_req = s["requests"].write
        self.w_ps = s["public_security"].write
        self.w_ca = s["civil_affairs"].write
        self.w_tax = s["tax"].write
        self.w_si = s["social_insurance"].write
        self.w_hf = s["housing_fund"].write
        self.w_re = s["real_estate"].write
        self.w_br = s["business_registry"].write
        self.w_ve = s["vehicle"].write
        self.w_sec = s["securities"].write
        self.w_ins = s["insurance"].write

    def close(self, summary: GenerateSummary) -> None:
        self.truth_fh.close()
        for key, sink in self.sinks.items():
            sink.close()
            src = key.split(":")[0]
            summary.rows[src] = summary.rows.get(src, 0) + sink.total
            summary.files.extend(str(p.relative_to(self.out)) for p in sink.files)
        summary.members = self.members
        summary.strangers = self.strangers

    # --- people -----------------------------------------------------------------
    def scenario(self, h: int) -> str:
        block, pos = divmod(h, BLOCK)
        if block != self._block:
            positions = random.Random(self.seed * 104_729 + block).sample(range(BLOCK), len(SPECIAL))
            self._block_map = dict(zip(positions, SPECIAL, strict=True))
            self._block = block
        return self._block_map.get(pos, "clean")

    def person(self, rng: random.Random, h: int, slot: int, age: int, male: bool, name: str) -> Person:
        s = (_ID_A * (h * SLOTS + slot) + self.id_offset) % N_IDS
        reg, rem = divmod(s, _DAYS * _HALF)
        day, half = divmod(rem, _HALF)
        m, d = _DOY[day]
        year = self.run.year - age
        body = f"{COUNTY_CODES[reg]}{year:04d}{m:02d}{d:02d}{half * 2 + (1 if male else 0):03d}"
        return Person(body + check_char(body), name, male, dt.date(year, m, d), age)

    @staticmethod
    def surname(rng: random.Random) -> str:
        return SURNAMES[int(len(SURNAMES) * rng.random() ** 2.2)]

    @staticmethod
    def name(rng: random.Random, surname: str | None = None, rare: bool = False) -> str:
        r = rng.random()
        if surname is None and not rare and r < 0.02:
            given, family = rng.choice(MINORITY_NAMES)
            return f"{given}·{family}"
        s = surname or World.surname(rng)
        n = 2 if rng.random() < 0.7 else 1
        given = "".join(rng.choice(GIVEN_CHARS) for _ in range(n))
        if rare or rng.random() < 0.004:
            ch = rng.choice(RARE_CHARS[:2]) if rare else rng.choice(RARE_CHARS)
            given = given[:-1] + ch
        return s + given

    def _delivered(self, src: str) -> int:
        if src == "bank":
            return sum(b.total for b in self.banks.values())
        return self.sinks[src].total

    def who(self, rng: random.Random, p: Person, src: str, id_kind: str | None = None,
            n: int = 1) -> tuple[str, str]:
        """How ``src`` writes this person's ID number and name on the next ``n`` rows."""
        if id_kind is not None:
            idv = V.id_form(p.id, id_kind)
        elif (p.noise and rng.random() < 0.6
              and self.unusable[src] + n <= UNUSABLE_BUDGET[src] * (self._delivered(src) + n)):
            self.unusable[src] += n
            idv = V.id_form(p.id, rng.choice(UNUSABLE_FORMS.get(src, V.UNUSABLE)))
        else:
            rate, kinds = ID_MESS[src]
            idv = V.id_form(p.id, rng.choice(kinds)) if rng.random() < rate else p.id
        nm = p.name
        if p.rare and src in RARE_SUB:
            nm = V.name_form(nm, RARE_SUB[src])
        if p.minority:
            nm = V.name_form(nm, f"dot{DOT[src]}")
        rate, kinds = NAME_MESS[src]
        if kinds and rng.random() < rate:
            nm = V.name_form(nm, rng.choice(kinds))
        return idv, nm

    # --- small value helpers -------------------------------------------------------
    @staticmethod
    def employer(rng: random.Random) -> str:
        city = COUNTIES[rng.choice(COUNTY_CODES)][0]
        return f"{city}{rng.choice(EMPLOYER_WORDS)}{rng.choice(EMPLOYER_TRADES)}有限公司"

    @staticmethod
    def address(rng: random.Random, region: str, urban: bool) -> str:
        city, county = COUNTIES[region]
        if urban:
            return (f"江西省{city}{county}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
                    f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}室")
        return (f"江西省{city}{county}{rng.choice(TOWNS)}镇{rng.choice(EMPLOYER_WORDS)}村"
                f"{rng.randint(1, 12)}组{rng.randint(1, 120)}号")

    def date_back(self, rng: random.Random, lo: int, hi: int) -> dt.date:
        return self.run - dt.timedelta(days=rng.randint(lo, hi))

    # --- records ---------------------------------------------------------------------
    def ps(self, rng, p: Person, hukou: str, reg: str, addr: str, region: str, status: str = "正常",
           change: dt.date | None = None) -> None:
        idv, nm = self.who(rng, p, "public_security")
        self.w_ps([hukou, nm, idv, "男" if p.male else "女", V.d_ymd(p.birth), reg, addr, region, status,
                   V.d_ymd(change) if change else ""])

    def ca(self, rng, p: Person, death: dt.date) -> None:
        idv, nm = self.who(rng, p, "civil_affairs")
        fmt = V.d_cn if rng.random() < 0.7 else V.d_slash
        crem = death + dt.timedelta(days=rng.randint(1, 3))
        self.w_ca([nm, idv, fmt(death), fmt(crem), rng.choice(FUNERAL_HOMES)])

    def tax_rows(self, rng, p: Person, item: str, months, amount: float, payer: str,
                 jitter: float = 0.0, tax_empty_ok: bool = True) -> None:
        months = list(months)
        idv, nm = self.who(rng, p, "tax", n=len(months))
        w = self.w_tax
        ym = self.mon_ym
        for mi in months:
            x = round(amount * (1 + jitter * (rng.random() - 0.5)), 2) if jitter else amount
            t = _wage_tax(x) if item == "工资薪金所得" else round(x * 0.2, 2) if x > 800 else 0.0
            fa = V.a_sep if rng.random() < 0.3 else V.a_plain
            tax = "" if (tax_empty_ok and rng.random() < 0.03) else V.a_plain(t)
            w([idv, nm, item, ym[mi], fa(x), tax, payer], x)

    def si_rows(self, rng, p: Person, scheme: str, category: str, months, amount: float,
                employer: str = "") -> None:
        months = list(months)
        idv, nm = self.who(rng, p, "social_insurance", n=len(months))
        w = self.w_si
        md = self.mon_dash
        yuan = rng.random() < 0.2
        if category == "缴费":
            base = f"{amount:.0f}元" if yuan else f"{amount:.0f}"
            for mi in months:
                w([idv, nm, scheme, category, md[mi], base, "", employer])
        else:
            ben = V.a_yuan(amount) if yuan else V.a_plain(amount)
            for mi in months:
                w([idv, nm, scheme, category, md[mi], "", ben, ""])

    def hf(self, rng, p: Person, employer: str, base: float, balance: float, status: str) -> None:
        idv, nm = self.who(rng, p, "housing_fund")
        dep = round(base * 0.24, 2)
        self.w_hf([idv, nm, employer, V.a_plain(base), V.a_plain(dep) if rng.random() > 0.03 else None,
                   V.a_plain(balance), status, V.d_dash(self.hf_date)])

    def re(self, rng, p: Person, unit: str, location: str, area: float, use: str, co: str,
           reg_date: dt.date, status: str) -> None:
        idv, nm = self.who(rng, p, "real_estate")
        self.w_re([nm, idv, unit, location, area, use, co, reg_date, status])

    def br(self, rng, p: Person, credit: str, entity: str, etype: str, status: str, capital: float,
           role: str, subscribed: float | None, est: dt.date) -> None:
        idv, nm = self.who(rng, p, "business_registry")
        self.w_br([credit, entity, etype, status, V.a_wan_cell(capital, credit), nm, idv, role,
                   V.a_wan_cell(subscribed, credit + idv) if subscribed is not None else "", V.d_slash(est)])

    def ve(self, rng, p: Person, region: str, vtype: str, status: str, price: float | None,
           id_kind: str | None = None, use: str = "非营运") -> None:
        idv, nm = self.who(rng, p, "vehicle", id_kind)
        plate = PLATE_PREFIX[COUNTIES[region][0]] + "".join(rng.choice(_PLATE) for _ in range(5))
        ptype = {"普通二轮摩托车": "普通摩托车", "三轮汽车": "低速车", "低速货车": "低速车",
                 "重型货车": "大型汽车"}.get(vtype, "小型汽车")
        first = self.date_back(rng, 200, 5000)
        if price is None:
            pr = ""
        else:
            r = rng.random()
            pr = V.a_sep(price) if r < 0.3 else f"{price:.0f}元" if r < 0.5 else f"{price:.0f}"
        self.w_ve([plate, ptype, vtype, nm, idv, V.d_dash(first), use, status, pr])

    def bank(self, rng, p: Person, atype: str, balance: float | None, code: str | None = None,
             id_kind: str | None = None, balance_text: str | None = None) -> str:
        code = code or rng.choice(BANK_CODES)
        idv, nm = self.who(rng, p, "bank", id_kind)
        if code == "ABC" and p.rare:
            nm = V.name_form(nm, "pinyin")
        fa, fd = BANK_FORMS[code]
        acct = BANK_CARD_BIN[code] + f"{rng.randrange(10 ** 13):013d}"
        bal = fa(balance) if balance is not None else ("" if code != "JXB" else None)
        if balance_text is not None:
            bal = balance_text
        self.banks[code].write([BANK_NAME[code], nm, idv, acct, atype, bal, fd(self.query_date)], balance or 0.0)
        return code

    def sec(self, rng, p: Person, mv: float | None, cash: float | None) -> None:
        idv, nm = self.who(rng, p, "securities")
        acct = ("A" if rng.random() < 0.5 else "0") + f"{rng.randrange(10 ** 9):09d}"
        self.w_sec([nm, idv, acct, V.a_plain(mv) if mv is not None else None,
                    V.a_plain(cash) if cash is not None else None, V.d_ymd(self.sec_date)])

    def ins(self, rng, p: Person, itype: str, status: str, cash: float | None) -> None:
        idv, nm = self.who(rng, p, "insurance")
        no = f"P{rng.randrange(10 ** 16):016d}"
        amt = "" if cash is None else (V.a_yuan(cash) if rng.random() < 0.3 else V.a_plain(cash))
        self.w_ins([nm, idv, no, itype, status, amt, V.d_dash(self.query_date)], cash or 0.0)

    def hukou(self, h: int, slot: int) -> str:
        """户号: a bijection of the slot on 9 digits, so households never share one by accident."""
        return f"{((h * SLOTS + slot) * 7919 + self.id_offset) % 10 ** 9:09d}"

    @staticmethod
    def credit_code(rng, region: str, sole: bool) -> str:
        return ("92" if sole else "91") + region + "".join(rng.choice(_ALNUM) for _ in range(10))

    @staticmethod
    def unit_no(rng, region: str, h: int, k: int) -> str:
        return f"{region}{h % 1_000_000:06d}GB{k:05d}F{rng.randrange(10 ** 8):08d}"

    def location(self, rng, region: str) -> str:
        city, county = COUNTIES[region]
        return (f"{city}{county}{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
                f"{rng.randint(1, 33)}0{rng.randint(1, 4)}室")

    # --- one household ----------------------------------------------------------------
    def household(self, h: int) -> None:
        rng = random.Random(self.seed * 1_000_003 + h)
        scen = self.scenario(h)
        region = rng.choice(HOUSEHOLD_COUNTIES)
        county = COUNTIES[region][1]
        urban = rng.random() < (0.8 if county.endswith("区") else 0.25)
        lo, hi = SIZE.get(scen, (1, 5))
        size = rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5))
        size = min(max(size, lo), hi)
        members = self.compose(rng, h, scen, size)
        self.members += size
        rid = f"WT{self.date}{h + 1:07d}"
        program = "动态复核" if scen == "recheck" else rng.choice(PROGRAMS)
        req_date = self.date_back(rng, 1, 7)
        auth_date = req_date - dt.timedelta(days=rng.randint(0, 20))
        auth_no = f"SQ{self.run.year}{rng.randrange(10 ** 6):06d}"
        unauth = 1 if scen in ("no_authorization", "trap_unauthorized_with_car") else -1
        for k, p in enumerate(members):
            idv, nm = self.who(rng, p, "requests")
            authorized = k != unauth
            self.w_req([rid, program, nm, idv, p.rel, region, "城市" if urban else "农村",
                        auth_no if authorized else "", V.d_dash(auth_date) if authorized else "",
                        V.d_dash(req_date)])
        outcome, findings = TRUTH[scen]
        self.truth.writerow([rid, scen, outcome, findings])

        # household registration: applicant is 户主, everyone under one 户号
        hukou = self.hukou(h, 0)
        addr = self.address(rng, region, urban)
        for k, p in enumerate(members):
            if scen == "member_not_registered" and k == 1:
                continue
            status, change = "正常", (self.date_back(rng, 400, 6000) if rng.random() < 0.3 else None)
            if scen == "member_dead" and k == 1:
                status, change = "死亡", self.date_back(rng, 30, 150)
            reg = "配偶" if (scen == "relation_contradicted" and k == 1) else p.reg
            self.ps(rng, p, hukou, reg, addr, region, status, change)

        self.scenario_records(rng, h, scen, members, region)
        self.baseline(rng, h, scen, members, region)
        self.strangers_of(rng, h, scen, members[0], region)

    def compose(self, rng: random.Random, h: int, scen: str, size: int) -> list[Person]:
        ry = self.run.year
        lo, hi = AGE.get(scen, (30, 68))
        age0 = rng.randint(lo, hi)
        if scen == "messy_ids_vehicle":
            age0 = max(age0, ry - 1990)            # born 19xx: the 15-digit form exists
        male0 = rng.random() < 0.55
        sur = self.surname(rng)
        rare = scen == "clean" and h % 40 == 3     # a GB18030-only character among members too
        name0 = self.name(rng, sur, rare=rare)
        if scen.startswith("fuzzy_") or scen == "pending_vehicle":
            # the evidence carries no usable ID: give the owner a name no namesake in the city shares,
            # so that the right link is unambiguous (ambiguous ones go to review, not to a household)
            name0 = sur + "".join(rng.choice(GIVEN_CHARS) for _ in range(2)) + rng.choice(RARE_CHARS[2:])
        app = self.person(rng, h, 0, age0, male0, name0)
        app.rel, app.reg = "本人", "户主"
        members = [app]
        spouse = False
        parents: set[bool] = set()
        grands: set[bool] = set()
        for k in range(1, size):
            if scen == "relation_contradicted" and k == 1:
                rel = "子女"
            elif scen in ("pension_over", "trap_excluded_pension", "trap_unauthorized_with_car") and k == 1:
                rel = "配偶"
            elif not spouse and k == 1 and rng.random() < 0.8:
                rel = "配偶"
            else:
                opts = []
                if age0 >= 24:
                    opts += ["子女"] * 6
                if len(parents) < 2 and age0 <= 66:
                    opts += ["父母"] * 2
                if age0 >= 48:
                    opts += ["孙子女"] * 2
                if len(grands) < 2 and age0 <= 40:
                    opts += ["祖父母"]
                opts += ["兄弟姐妹"]
                rel = rng.choice(opts)
            if rel == "配偶":
                spouse = True
                male, age = not male0, min(max(age0 + rng.randint(-5, 5), 20), 95)
                name = self.name(rng)
            elif rel == "子女":
                male, age = rng.random() < 0.5, rng.randint(max(1, age0 - 38), age0 - 22)
                name = self.name(rng, sur if rng.random() < 0.85 else None)
            elif rel == "父母":
                male = (True not in parents) if parents else rng.random() < 0.5
                parents.add(male)
                age = min(age0 + rng.randint(22, 32), 98)
                name = self.name(rng, sur if male else None)
            elif rel == "祖父母":
                male = (True not in grands) if grands else rng.random() < 0.5
                grands.add(male)
                age = min(age0 + rng.randint(45, 55), 99)
                name = self.name(rng, sur if male else None)
            elif rel == "孙子女":
                male, age = rng.random() < 0.5, rng.randint(1, max(1, age0 - 46))
                name = self.name(rng, sur if rng.random() < 0.85 else None)
            else:
                male, age = rng.random() < 0.5, max(1, age0 + rng.choice((-8, -6, -4, -3, -2, 2, 3, 5, 7)))
                name = self.name(rng, sur if rng.random() < 0.9 else None)
            p = self.person(rng, h, k, age, male, name)
            p.rel = rel
            p.reg = _registered_relation(rel, male, age > age0, rng)
            members.append(p)
        return members

    # --- what the scenario calls for ---------------------------------------------------
    def scenario_records(self, rng, h: int, scen: str, members: list[Person], region: str) -> None:
        app = members[0]
        R = self.R
        if scen == "income_over":
            emp = self.employer(rng)
            months = range(R - 18, R)
            self.tax_rows(rng, app, "工资薪金所得", months, 12000.0, emp, jitter=0.1)
            self.si_rows(rng, app, "企业职工基本养老保险", "缴费", months, 12000.0, emp)
        elif scen == "trap_old_income":
            emp = self.employer(rng)
            months = range(R - 26, R - 13)             # every month at least 14 months back
            self.tax_rows(rng, app, "工资薪金所得", months, 15000.0, emp, jitter=0.1)
            self.si_rows(rng, app, "企业职工基本养老保险", "缴费", months, 15000.0, emp)
        elif scen == "trap_excluded_pension":
            for p in members:
                self.si_rows(rng, p, "城乡居民基本养老保险", "待遇", range(R - 24, R), 1500.0)
        elif scen == "pension_over":
            self.si_rows(rng, app, "企业职工基本养老保险", "待遇", range(R - 24, R), 4000.0)
        elif scen == "financial_assets_over":
            first = self.bank(rng, app, "定期", float(rng.randint(300_000, 400_000)))
            other = rng.choice([c for c in BANK_CODES if c != first])
            holder = next((p for p in reversed(members) if p.age >= 18), app)
            self.bank(rng, holder, "理财", float(rng.randint(200_000, 300_000)), code=other)
        elif scen == "securities_over":
            self.sec(rng, app, round(rng.uniform(800_000, 1_200_000), 2), round(rng.uniform(1000, 9000), 2))
        elif scen == "residential_units_over":
            self.home(rng, h, 0, members, region, "现势")
            owner = members[1] if len(members) > 1 and members[1].age >= 18 else app
            self.re(rng, owner, self.unit_no(rng, region, h, 1), self.location(rng, region),
                    round(rng.uniform(60, 140), 2), "住宅", "单独所有", self.date_back(rng, 400, 3000), "现势")
        elif scen == "trap_cancelled_property":
            self.re(rng, app, self.unit_no(rng, region, h, 0), self.location(rng, region),
                    round(rng.uniform(60, 120), 2), "住宅", "单独所有", self.date_back(rng, 400, 3000), "现势")
            self.re(rng, app, self.unit_no(rng, region, h, 1), self.location(rng, region),
                    round(rng.uniform(60, 120), 2), "住宅", "单独所有", self.date_back(rng, 3100, 7000), "注销")
        elif scen == "non_residential":
            self.re(rng, app, self.unit_no(rng, region, h, 5), self.location(rng, region),
                    round(rng.uniform(30, 120), 2), "商业", "单独所有", self.date_back(rng, 400, 3000), "现势")
        elif scen == "vehicle":
            self.ve(rng, app, region, "小型轿车", "正常", 150000.0)
        elif scen == "fuzzy_vehicle":                  # owner's ID left empty by the registry
            self.ve(rng, app, region, "小型轿车", "正常", 150000.0, id_kind="empty")
        elif scen == "fuzzy_bank":                     # account opened under a mistyped ID
            self.bank(rng, app, "定期", float(rng.randint(500_000, 600_000)), code="CCB", id_kind="bad")
        elif scen == "pending_vehicle":               # no owner ID, registered in another city
            city = COUNTIES[region][0]
            elsewhere = rng.choice([c for c in COUNTY_CODES if COUNTIES[c][0] != city])
            self.ve(rng, app, elsewhere, "小型轿车", "正常", 150000.0, id_kind="empty")
        elif scen == "quarantined_record":            # the balance cell is unreadable
            self.bank(rng, app, "活期", 800.0, code="BOC", id_kind="valid", balance_text="8O0.00")
        elif scen == "unknown_balance":               # the balance cell is empty
            self.bank(rng, app, "定期", None, code="BOC", id_kind="valid")
        elif scen == "messy_ids_vehicle":
            self.ve(rng, app, region, "小型轿车", "正常", 150000.0, id_kind=rng.choice(("l15", "fw", "apos")))
        elif scen == "trap_scrapped_car":
            self.ve(rng, app, region, "小型轿车", "报废", 80000.0)
        elif scen == "trap_motorcycle":
            self.ve(rng, app, region, "普通二轮摩托车", "正常", 6800.0 if rng.random() < 0.5 else None)
        elif scen == "trap_unauthorized_with_car":
            self.ve(rng, members[1], region, "小型轿车", "正常", 150000.0)
        elif scen in ("business_role", "trap_dissolved_company"):
            dissolved = scen == "trap_dissolved_company"
            city = COUNTIES[region][0]
            name = f"{city}{rng.choice(EMPLOYER_WORDS)}{rng.choice(EMPLOYER_TRADES)}有限公司"
            credit = self.credit_code(rng, region, False)
            capital = 5_000_000.0 if dissolved else 1_000_000.0
            est = self.date_back(rng, 1500, 6000)
            status = "注销" if dissolved else "存续"
            role = "法定代表人" if dissolved else "股东"
            sub = 2_000_000.0 if dissolved else 500_000.0
            self.br(rng, app, credit, name, "有限责任公司", status, capital, role, sub, est)
            partner = self.person(rng, h, SLOTS - 1, rng.randint(30, 60), rng.random() < 0.6, self.name(rng))
            self.br(rng, partner, credit, name, "有限责任公司", status, capital,
                    "股东" if dissolved else "法定代表人", capital - sub, est)
        elif scen == "sole_trader":
            county = COUNTIES[region][1]
            name = f"{county}{app.name.replace('·', '')}{rng.choice(SOLE_TRADES)}"
            self.br(rng, app, self.credit_code(rng, region, True), name, "个体工商户", "在业", 30000.0,
                    "经营者", 30000.0, self.date_back(rng, 300, 3000))
        elif scen == "member_cremated":
            self.ca(rng, members[1], self.date_back(rng, 20, 120))

    def home(self, rng, h: int, k: int, members: list[Person], region: str, status: str) -> None:
        """One residential unit: the applicant alone, or jointly with the spouse (one unit, two rows)."""
        unit = self.unit_no(rng, region, h, k)
        loc = self.location(rng, region)
        area = round(rng.uniform(50, 130), 2)
        reg_date = self.date_back(rng, 300, 6000)
        spouse = next((p for p in members if p.rel == "配偶"), None)
        if spouse is not None and rng.random() < 0.5:
            self.re(rng, members[0], unit, loc, area, "住宅", "共同共有", reg_date, status)
            self.re(rng, spouse, unit, loc, area, "住宅", "共同共有", reg_date, status)
        else:
            self.re(rng, members[0], unit, loc, area, "住宅", "单独所有", reg_date, status)

    # --- harmless records every household may have ---------------------------------------
    def baseline(self, rng, h: int, scen: str, members: list[Person], region: str) -> None:
        R = self.R
        adults = [p for p in members if p.age >= 18]
        workers = [p for p in adults if p.age < 60]
        income_ok = scen not in NO_BASE_INCOME
        if income_ok and len(members) >= 4 and workers and rng.random() < 0.5:
            # a low part-time wage: at most 800 a month shared by four or more people
            p = workers[0]
            emp = self.employer(rng)
            wage = float(rng.randint(600, 800))
            self.tax_rows(rng, p, "工资薪金所得", self.window, wage, emp)
            self.si_rows(rng, p, "企业职工基本养老保险", "缴费", self.window, wage, emp)
        if income_ok and adults and rng.random() < 0.2:
            p = rng.choice(adults)
            months = sorted(rng.sample(list(self.window), rng.randint(1, 2)))
            self.tax_rows(rng, p, "劳务报酬所得", months, float(rng.randint(300, 800)), self.employer(rng))
        if income_ok and adults and rng.random() < 0.1:
            self.tax_rows(rng, rng.choice(adults), "利息股息红利所得", [R - rng.randint(1, 12)],
                          round(rng.uniform(5, 50), 2), rng.choice(BANKS)[1])
        if income_ok and workers and rng.random() < 0.1:
            # an old job that ended long before the window
            p = rng.choice(workers)
            emp = self.employer(rng)
            self.si_rows(rng, p, "企业职工基本养老保险", "缴费", range(R - 30, R - 15), 3500.0, emp)
        if scen not in ("trap_excluded_pension", "pension_over"):
            for p in members:
                if p.age >= 60 and rng.random() < 0.6:
                    self.si_rows(rng, p, "城乡居民基本养老保险", "待遇", range(R - 24, R),
                                 float(rng.choice((143, 150, 165, 180, 210))))
        for p in adults:
            if rng.random() < 0.5:
                self.bank(rng, p, "活期", round(rng.uniform(20, 2000), 2))
        if adults and rng.random() < 0.2:
            self.ins(rng, rng.choice(adults), rng.choice(("意外", "健康")), "有效", round(rng.uniform(0, 500), 2))
        if adults and rng.random() < 0.05:
            self.ins(rng, rng.choice(adults), "寿险", "终止", 0.0)
        if adults and rng.random() < 0.05:
            self.sec(rng, rng.choice(adults), round(rng.uniform(0, 2000), 2), round(rng.uniform(0, 300), 2))
        for p in workers:
            if p.age >= 25 and rng.random() < 0.2:
                self.hf(rng, p, self.employer(rng), float(rng.randint(1800, 3000)),
                        round(rng.uniform(500, 5000), 2), rng.choice(("正常", "封存", "封存")))
        if scen not in NO_BASE_PROPERTY:
            if rng.random() < 0.5:
                self.home(rng, h, 2, members, region, "现势")
            if rng.random() < 0.08:
                self.re(rng, members[0], self.unit_no(rng, region, h, 3), self.location(rng, region),
                        round(rng.uniform(40, 90), 2), "住宅", "单独所有", self.date_back(rng, 4000, 9000), "注销")
        if adults and rng.random() < 0.06:
            self.ve(rng, rng.choice(adults), region, "小型轿车", rng.choice(("注销", "报废")),
                    float(rng.randint(30, 90) * 1000) if rng.random() < 0.7 else None)
        if adults and rng.random() < 0.08:
            self.ve(rng, rng.choice(adults), region, rng.choice(("普通二轮摩托车", "三轮汽车", "低速货车")), "正常",
                    float(rng.randint(3, 11) * 1000) if rng.random() < 0.7 else None)
        if adults and rng.random() < 0.03:
            p = rng.choice(adults)
            county = COUNTIES[region][1]
            self.br(rng, p, self.credit_code(rng, region, True),
                    f"{county}{p.name.replace('·', '')}{rng.choice(SOLE_TRADES)}", "个体工商户", "吊销",
                    20000.0, "经营者", None, self.date_back(rng, 2000, 6000))

    # --- people nobody asked about ----------------------------------------------------
    def strangers_of(self, rng, h: int, scen: str, applicant: Person, home_region: str) -> None:
        n = rng.randint(3, 7)
        self.strangers += n
        for j in range(n):
            slot = 5 + j
            r = rng.random()
            age = rng.randint(18, 59) if r < 0.6 else rng.randint(60, 92) if r < 0.85 else rng.randint(1, 17)
            male = rng.random() < 0.5
            if j == 0 and scen == "trap_namesake":
                p = self.person(rng, h, slot, rng.randint(25, 60), rng.random() < 0.6, applicant.name)
                self.namesake(rng, h, p, home_region)
                continue
            if j == 0 and h % 40 == 0:
                name = self.name(rng, rare=True)           # a GB18030-only character
                noise = False
            elif (j == 2 and h % 20 == 7) or rng.random() < NOISE_SHARE:
                name = rng.choice(NOISE_SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(2))
                noise = True
            else:
                name = self.name(rng)
                noise = False
            # the first household of each block also holds one stranger with a record in every
            # source and one with a cremation record, so that even a tiny world delivers every source
            full = h % BLOCK == 0 and j == 1
            dead = h % BLOCK == 0 and j == 2
            if full or dead:
                age, noise = rng.randint(30, 59) if full else rng.randint(60, 90), False
            p = self.person(rng, h, slot, age, male, name)
            p.noise = noise
            self.stranger_records(rng, h, slot, p, force_ps=(j == 0), full=full, dead=dead)

    def stranger_records(self, rng, h: int, slot: int, p: Person, force_ps: bool = False, full: bool = False,
                         dead: bool = False) -> None:
        R = self.R
        region = rng.choice(COUNTY_CODES)
        r = rng.random()
        status = "正常" if r < 0.9 else "死亡" if r < 0.94 else "迁出" if r < 0.98 else "注销"
        if force_ps or full:
            status = "正常"
        if dead:
            status = "死亡"
        # with ``full`` every optional record below is drawn (a probability p becomes 1)
        yes = (lambda p_: True) if full else (lambda p_: rng.random() < p_)
        if force_ps or full or dead or rng.random() < 0.97:
            hukou = self.hukou(h, slot)
            urban = rng.random() < 0.5
            reg = "户主" if rng.random() < 0.6 else _registered_relation(
                rng.choice(("配偶", "子女", "父母")), p.male, rng.random() < 0.5, rng)
            change = self.date_back(rng, 10, 3000) if status != "正常" or rng.random() < 0.2 else None
            self.ps(rng, p, hukou, reg, self.address(rng, region, urban), region, status, change)
        if status == "死亡":
            if dead or rng.random() < 0.6:
                self.ca(rng, p, self.date_back(rng, 5, 400))
            return
        if 18 <= p.age < 60 and yes(0.55):
            wage = round(min(rng.lognormvariate(8.4, 0.45), 60000.0), -1)
            emp = self.employer(rng)
            months = range(R - rng.randint(6, 24), R - rng.randint(0, 2))
            self.tax_rows(rng, p, "工资薪金所得", months, wage, emp, jitter=0.2)
            self.si_rows(rng, p, "企业职工基本养老保险", "缴费", months, min(max(wage, 3800.0), 22000.0), emp)
            if yes(0.6):
                self.hf(rng, p, emp, wage, round(rng.uniform(1000, 90000), 2), "正常")
            if rng.random() < 0.1:
                self.tax_rows(rng, p, "劳务报酬所得", [R - rng.randint(1, 20)], float(rng.randint(800, 20000)),
                              self.employer(rng))
        elif p.age >= 60 and rng.random() < 0.7:
            if rng.random() < 0.4:
                self.si_rows(rng, p, "企业职工基本养老保险", "待遇", range(R - 24, R),
                             float(rng.randint(2000, 5000)))
            else:
                self.si_rows(rng, p, "城乡居民基本养老保险", "待遇", range(R - 24, R), float(rng.randint(140, 300)))
        if p.age >= 16 and yes(0.7):
            for _ in range(rng.choice((1, 1, 2, 3))):
                bal = round(rng.lognormvariate(8.0, 1.8), 2) if rng.random() > 0.02 else None
                self.bank(rng, p, rng.choice(("活期", "活期", "活期", "定期", "理财", "其他")), bal)
        if p.age >= 20 and yes(0.4):
            for k in range(1 if rng.random() < 0.8 else 2):
                use = rng.choice(("住宅",) * 8 + ("商业", "车位", "办公", "工业", "其他"))
                st = "现势" if rng.random() < 0.9 else "注销"
                self.re(rng, p, self.unit_no(rng, region, h, 100 + slot * 10 + k), self.location(rng, region),
                        round(rng.uniform(15 if use == "车位" else 40, 200), 2), use,
                        rng.choice(("单独所有", "单独所有", "共同共有", "按份共有")), self.date_back(rng, 100, 9000), st)
        if p.age >= 18 and yes(0.22):
            vtype = rng.choice(("小型轿车",) * 5 + ("小型普通客车", "轻型货车", "重型货车", "普通二轮摩托车",
                                                "三轮汽车", "低速货车", "残疾人专用车", "其他"))
            st = rng.choice(("正常",) * 7 + ("注销", "报废", "查封"))
            price = float(rng.randint(5, 400) * 1000) if rng.random() > 0.08 else None
            self.ve(rng, p, region, vtype, st, price, use="营运" if rng.random() < 0.1 else "非营运")
        if p.age >= 20 and yes(0.06):
            sole = rng.random() < 0.5
            if sole:
                self.br(rng, p, self.credit_code(rng, region, True),
                        f"{COUNTIES[region][1]}{p.name[:3]}{rng.choice(SOLE_TRADES)}", "个体工商户",
                        rng.choice(("在业", "在业", "存续", "吊销", "注销")), float(rng.randint(1, 20) * 10000),
                        "经营者", None, self.date_back(rng, 100, 6000))
            else:
                cap = float(rng.choice((10, 50, 100, 200, 500, 1000)) * 10000)
                self.br(rng, p, self.credit_code(rng, region, False),
                        f"{COUNTIES[region][0]}{rng.choice(EMPLOYER_WORDS)}{rng.choice(EMPLOYER_TRADES)}有限公司",
                        rng.choice(("有限责任公司", "有限责任公司", "股份有限公司", "个人独资企业", "合伙企业",
                                    "农民专业合作社")),
                        rng.choice(("存续", "存续", "在业", "注销", "吊销")), cap,
                        rng.choice(("法定代表人", "股东", "投资人", "执行事务合伙人")),
                        round(cap * rng.choice((0.1, 0.3, 0.5, 1.0)), 2) if rng.random() > 0.05 else None,
                        self.date_back(rng, 100, 8000))
        if p.age >= 20 and yes(0.1):
            self.sec(rng, p, round(rng.lognormvariate(10, 1.5), 2) if rng.random() > 0.03 else None,
                     round(rng.uniform(0, 20000), 2))
        if p.age >= 18 and yes(0.25):
            self.ins(rng, p, rng.choice(("寿险", "年金", "万能", "投连", "健康", "意外", "财产")),
                     "有效" if rng.random() < 0.85 else "终止",
                     round(rng.uniform(0, 80000), 2) if rng.random() > 0.03 else None)

    def namesake(self, rng, h: int, p: Person, region: str) -> None:
        """A stranger with the applicant's exact name but his own valid ID: rich, and none of it theirs."""
        self.ps(rng, p, self.hukou(h, 5), "户主", self.address(rng, region, True), region)
        self.ve(rng, p, region, "小型轿车", "正常", 260000.0)
        self.ve(rng, p, region, "小型普通客车", "正常", 320000.0)
        for k in range(2):
            self.re(rng, p, self.unit_no(rng, region, h, 150 + k), self.location(rng, region),
                    round(rng.uniform(90, 180), 2), "住宅", "单独所有", self.date_back(rng, 300, 5000), "现势")
        self.re(rng, p, self.unit_no(rng, region, h, 152), self.location(rng, region),
                round(rng.uniform(40, 150), 2), "商业", "单独所有", self.date_back(rng, 300, 5000), "现势")
        first = self.bank(rng, p, "定期", 520000.0)
        self.bank(rng, p, "理财", 300000.0, code=rng.choice([c for c in BANK_CODES if c != first]))
        self.sec(rng, p, 880000.0, 12000.0)
        emp = self.employer(rng)
        self.tax_rows(rng, p, "工资薪金所得", range(self.R - 18, self.R), 25000.0, emp, jitter=0.1)
        self.br(rng, p, self.credit_code(rng, region, False),
                f"{COUNTIES[region][0]}{rng.choice(EMPLOYER_WORDS)}{rng.choice(EMPLOYER_TRADES)}有限公司",
                "有限责任公司", "存续", 2_000_000.0, "法定代表人", 1_200_000.0, self.date_back(rng, 500, 5000))


def _registered_relation(rel: str, male: bool, older: bool, rng: random.Random) -> str:
    """与户主关系 as the household register writes it, consistent with the declared category."""
    if rel == "本人":
        return "户主"
    if rel == "配偶":
        return "配偶"
    if rel == "子女":
        return (rng.choice(("子", "儿子")) if male else rng.choice(("女", "女儿")))
    if rel == "父母":
        return "父亲" if male else "母亲"
    if rel == "祖父母":
        return "祖父" if male else "祖母"
    if rel == "孙子女":
        return "孙子" if male else "孙女"
    if rel == "兄弟姐妹":
        return ("兄" if older else "弟") if male else ("姐" if older else "妹")
    return "其他"


def _wage_tax(x: float) -> float:
    """Monthly withholding on a wage, roughly (5,000 allowance, 10.5% social share, 2019 brackets)."""
    taxable = x - 5000 - 0.105 * x
    if taxable <= 0:
        return 0.0
    for top, rate, quick in ((3000, 0.03, 0), (12000, 0.10, 210), (25000, 0.20, 1410), (35000, 0.25, 2660),
                             (55000, 0.30, 4410), (80000, 0.35, 7160)):
        if taxable <= top:
            return round(taxable * rate - quick, 2)
    return round(taxable * 0.45 - 15160, 2)
