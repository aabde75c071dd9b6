"""The sample-delivery generator: layout, markers, formats, mess, determinism and exact truth.

The last test recomputes every household's outcome from the delivered files
with an independent, deliberately plain reading of the demo policy, and checks
the generator's truth against it — with margins, so that no rounding can flip
an outcome.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from hedui.generate import SCENARIOS, SOURCES, generate
from matching.idnum import check_char, is_valid18, legacy15_to_18

ROOT = Path(__file__).resolve().parent.parent
DATE = "20261128"
N = 60
SEED = 11


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "inbox"
    summary = generate(out, households=N, seed=SEED, date=DATE)
    assert summary.households == N and summary.total_rows > 0
    return out


# --- reading the files back, plainly -------------------------------------------------

def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "gb18030"


def read_table(path: Path) -> tuple[list[str], list[list], dict]:
    """(header, data rows including a 合计 row, info) of one delivered file."""
    info: dict = {"format": path.suffix[1:]}
    if path.suffix == ".csv":
        text, enc = _decode(path.read_bytes())
        first = text.split("\n", 1)[0]
        delim = "\t" if "\t" in first else ","
        info.update(encoding=enc, delimiter=delim, quoted=first.startswith('"'))
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delim))
        return rows[0], rows[1:], info
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
        rows = [r for r in rows if any(v is not None for v in r)]
        width = max(len(r) for r in rows)
        k = next(i for i, r in enumerate(rows) if sum(v is not None for v in r) > width // 2)
        info["title_rows"] = k
        return [str(v) for v in rows[k]], rows[k + 1:], info
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    info["types"] = {str(f.type) for f in t.schema}
    return t.column_names, [list(r.values()) for r in t.to_pylist()], info


def data_files(inbox: Path, source: str) -> list[Path]:
    folder = inbox / source / DATE
    return sorted(p for p in folder.iterdir() if not p.name.endswith(".ok"))


def base_header(h: str) -> str:
    return re.sub(r"[（(].*?[)）]", "", h).strip()


_FW = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")


def norm_id(v) -> str | None:
    if v is None:
        return None
    s = str(v).translate(_FW).replace(" ", "").replace("\u3000", "").lstrip("'").upper()
    if len(s) == 15 and s.isdigit():
        s = legacy15_to_18(s)
    return s if is_valid18(s) else None


def amount(v) -> float | None:
    if v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    s = str(v).replace(",", "").replace("元", "").strip()
    return float(s) if s else None


def wan_amount(v) -> float | None:
    """A business-registry amount in yuan: a unit in the cell wins, a bare number is 万元."""
    s = str(v or "").replace(",", "").strip()
    for unit, factor in (("万人民币", 10000), ("万元", 10000), ("万", 10000), ("元", 1)):
        if s.endswith(unit):
            return float(s[:-len(unit)]) * factor
    return float(s) * 10000 if s else None


def month_index(v: str) -> int:
    s = str(v).replace("-", "")
    return int(s[:4]) * 12 + int(s[4:6]) - 1


def records(inbox: Path, source: str) -> list[dict]:
    """Data rows as dicts keyed by base header, 合计 rows dropped, exact duplicates kept once."""
    out, seen = [], set()
    for f in data_files(inbox, source):
        header, rows, _ = read_table(f)
        keys = [base_header(h) for h in header]
        for r in rows:
            if r and r[0] == "合计":
                continue
            t = tuple(r)
            if t in seen:
                continue
            seen.add(t)
            out.append(dict(zip(keys, r, strict=True)))
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- tests ----------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(inbox, tmp_path):
    again = tmp_path / "again"
    generate(again, households=N, seed=SEED, date=DATE)
    a = {p.relative_to(inbox): sha(p) for p in inbox.rglob("*") if p.is_file()}
    b = {p.relative_to(again): sha(p) for p in again.rglob("*") if p.is_file()}
    assert a == b
    other = tmp_path / "other"
    generate(other, households=N, seed=SEED + 1, date=DATE)
    assert sha(other / "truth.csv") != sha(inbox / "truth.csv") or \
        sha(other / "tax" / DATE / f"tax_{DATE}.csv") != sha(inbox / "tax" / DATE / f"tax_{DATE}.csv")


def test_every_source_has_files_whose_markers_count_the_data_rows(inbox):
    for source in ("requests", *SOURCES):
        files = data_files(inbox, source)
        assert files, source
        for f in files:
            marker = f.with_name(f.name + ".ok")
            assert marker.exists(), f
            _, rows, _ = read_table(f)
            n = sum(1 for r in rows if not (r and r[0] == "合计"))
            assert int(marker.read_text()) == n, f
    assert len(data_files(inbox, "bank")) >= 5


def test_headers_are_the_departments_headers(inbox):
    for source in ("requests", *SOURCES):
        spec = yaml.safe_load((ROOT / "connectors" / "maps" / f"{source}.yaml").read_text(encoding="utf-8"))
        expected = [c["header"] for c in spec["columns"]]
        for f in data_files(inbox, source):
            header, _, _ = read_table(f)
            assert [base_header(h) for h in header] == expected, f
    header, rows, _ = read_table(data_files(inbox, "business_registry")[0])
    assert "注册资本" in header and "认缴出资额" in header  # 万元 by convention, no unit in the header
    cells = [r[header.index("注册资本")] for r in rows] + [r[header.index("认缴出资额")] for r in rows]
    assert any(c.endswith("万元") for c in cells) and any(c.endswith("万人民币") for c in cells)
    assert any(re.fullmatch(r"[0-9.]+", c) for c in cells)


def test_all_formats_and_encodings_are_present(inbox):
    seen = defaultdict(set)
    for source in ("requests", *SOURCES):
        for f in data_files(inbox, source):
            _, _, info = read_table(f)
            seen["format"].add(info["format"])
            if info["format"] == "csv":
                seen["encoding"].add(info["encoding"])
                seen["delimiter"].add(info["delimiter"])
                seen["quoted"].add(info["quoted"])
            if info.get("title_rows"):
                seen["title"].add(source)
            if info["format"] == "parquet":
                assert info["types"] == {"string"}, f
    assert seen["format"] == {"csv", "xlsx", "parquet"}
    assert seen["encoding"] == {"gb18030", "utf-8", "utf-8-sig"}
    assert seen["delimiter"] == {",", "\t"}
    assert seen["quoted"] == {True, False}
    assert "real_estate" in seen["title"]


def test_gb18030_files_are_not_utf8_and_hold_a_gb18030_only_character(inbox):
    ps = data_files(inbox, "public_security")[0]
    raw = ps.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert "𠮷" in text or "䶮" in text
    with pytest.raises(UnicodeEncodeError):
        next(c for c in text if c in "𠮷䶮").encode("gbk")


def test_truth_has_every_scenario_and_sorted_codes(inbox):
    with open(inbox / "truth.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["request_id", "scenario", "outcome", "findings"]
    assert len(rows) == N
    assert {r["scenario"] for r in rows} == set(SCENARIOS)
    assert sum(r["scenario"] == "clean" for r in rows) > N // 2
    for r in rows:
        codes = r["findings"].split(";") if r["findings"] else []
        assert codes == sorted(codes)
        assert r["outcome"] in ("CLEAR", "FINDINGS", "INCOMPLETE")
        assert (r["outcome"] == "CLEAR") == (not codes)
    reqs = records(inbox, "requests")
    assert {r["委托编号"] for r in reqs} == {r["request_id"] for r in rows}


def test_the_mess_of_the_wild_is_there(inbox):
    ids, names, dates, amounts, first_cells = set(), set(), set(), set(), set()
    dups = 0
    for source in ("requests", *SOURCES):
        for f in data_files(inbox, source):
            header, rows, _ = read_table(f)
            keys = [base_header(h) for h in header]
            dups += len(rows) - len({tuple(r) for r in rows})
            for r in rows:
                first_cells.add(r[0])
                for k, v in zip(keys, r, strict=True):
                    if k in ("公民身份号码", "身份证号", "纳税人识别号", "证件号码", "人员证件号", "投保人证件号"):
                        ids.add("" if v is None else str(v))
                    elif k in ("姓名", "户名", "权利人", "所有人", "人员姓名", "投保人"):
                        names.add(str(v))
                    elif "日期" in k or k in ("所属期", "月份"):
                        dates.add(v if not isinstance(v, str) else re.sub(r"\d", "9", v))
                    elif k in ("收入额", "余额", "购置价格", "待遇金额", "现金价值", "缴费基数"):
                        amounts.add("" if v is None else str(v))
    assert any(len(i) == 15 and i.isdigit() for i in ids)
    assert any("３" in i for i in ids)
    assert any(i.endswith("x") for i in ids)
    assert any(i.startswith("'") for i in ids)
    assert any(" " in i for i in ids)
    assert any(re.fullmatch(r"\d\.\d{5}E\+17", i) for i in ids)
    assert "" in ids
    assert any(c in n for n in names for c in "·•.")
    assert any(" " in n.strip() or "\u3000" in n for n in names)
    assert {"99999999", "9999-99-99", "999999", "9999-99"} <= dates
    assert any(isinstance(d, str) and "年" in d for d in dates)
    assert any(isinstance(d, str) and re.fullmatch(r"9999/9{1,2}/9{1,2}", d) for d in dates)
    assert any(isinstance(d, int) for d in dates)                      # Excel serial number
    assert any(not isinstance(d, str | int) and d is not None for d in dates)   # real date cell
    assert any("," in a for a in amounts) and any(a.endswith("元") for a in amounts) and "" in amounts
    assert "合计" in first_cells
    assert dups > 0


def test_member_ids_are_recoverable_except_in_the_fuzzy_scenarios(inbox):
    """Only the fuzzy_* scenarios put a member's record under an unusable ID (one record each)."""
    members = {norm_id(r["身份证号"]) for r in records(inbox, "requests")}
    assert None not in members
    member_names = {r["姓名"] for r in records(inbox, "requests")}
    unusable = []
    for source in SOURCES:
        for r in records(inbox, source):
            raw = next(v for k, v in r.items() if k in ("公民身份号码", "身份证号", "纳税人识别号", "证件号码",
                                                      "人员证件号", "投保人证件号"))
            if norm_id(raw) is None:
                s = "" if raw is None else str(raw).strip().lstrip("'")
                name = next(v for k, v in r.items() if k in ("姓名", "户名", "权利人", "所有人", "人员姓名", "投保人"))
                mistyped_member = len(s) == 18 and s[:17].isdigit() and s[:17] + check_char(s[:17]) in members
                if mistyped_member or str(name).strip() in member_names:
                    unusable.append(source)
    with open(inbox / "truth.csv", encoding="utf-8", newline="") as fh:
        fuzzy = [r["scenario"] for r in csv.DictReader(fh) if r["scenario"].startswith("fuzzy_")]
    assert sorted(unusable) == sorted({"fuzzy_vehicle": "vehicle", "fuzzy_bank": "bank"}[f] for f in fuzzy)


def test_truth_follows_from_the_files_with_margin(inbox):
    """Recompute the demo policy plainly and check every household's truth, with margins."""
    std = {"城市": 800.0, "农村": 650.0}
    R = int(DATE[:4]) * 12 + int(DATE[4:6]) - 1
    window = range(R - 12, R)
    hh: dict[str, dict] = {}
    member_of: dict[str, str] = {}
    for r in records(inbox, "requests"):
        h = hh.setdefault(r["委托编号"], {"members": [], "std": std[r["城乡类别"]], "codes": set()})
        mid = norm_id(r["身份证号"])
        authorized = bool(r["授权书编号"].strip())
        h["members"].append((mid, r["与申请人关系"], authorized))
        if authorized:
            member_of[mid] = r["委托编号"]
        else:
            h["codes"].add("NO_AUTHORIZATION")

    def by_member(source, id_key):
        got = defaultdict(list)
        for r in records(inbox, source):
            mid = norm_id(r[id_key])
            if mid in member_of:
                got[member_of[mid]].append((mid, r))
        return got

    category = {"户主": "本人", "配偶": "配偶", "子": "子女", "女": "子女", "儿子": "子女", "女儿": "子女",
                "父亲": "父母", "母亲": "父母", "祖父": "祖父母", "祖母": "祖父母", "孙子": "孙子女", "孙女": "孙子女",
                "兄": "兄弟姐妹", "弟": "兄弟姐妹", "姐": "兄弟姐妹", "妹": "兄弟姐妹"}
    ps = by_member("public_security", "公民身份号码")
    for rid in by_member("civil_affairs", "身份证号"):
        hh[rid]["codes"].add("MEMBER_REGISTRATION_ENDED")
    for rid, h in hh.items():
        reg = {mid: r for mid, r in ps.get(rid, [])}
        head = reg.get(h["members"][0][0])
        for mid, rel, authorized in h["members"]:
            if not authorized:
                continue
            r = reg.get(mid)
            if r is None:
                h["codes"].add("MEMBER_REGISTRATION_MISMATCH")
                continue
            if r["人员状态"] != "正常":
                h["codes"].add("MEMBER_REGISTRATION_ENDED")
            if head is None or r["户号"] != head["户号"] or category.get(r["与户主关系"]) != rel:
                h["codes"].add("MEMBER_REGISTRATION_MISMATCH")

    income = defaultdict(float)
    wage_members = set()
    for rid, recs in by_member("tax", "纳税人识别号").items():
        for mid, r in recs:
            if month_index(r["所属期"]) in window:
                income[rid] += amount(r["收入额"]) - (amount(r["已缴税额"]) or 0.0)
                if r["所得项目"] == "工资薪金所得":
                    wage_members.add(mid)
    for rid, recs in by_member("social_insurance", "身份证号").items():
        for mid, r in recs:
            if month_index(r["月份"]) not in window:
                continue
            if r["类别"] == "待遇" and r["险种"] != "城乡居民基本养老保险":
                income[rid] += amount(r["待遇金额"])
            if r["类别"] == "缴费" and r["险种"] == "企业职工基本养老保险" and mid not in wage_members:
                income[rid] += amount(r["缴费基数"])
    assets = defaultdict(float)
    for rid, recs in by_member("bank", "证件号码").items():
        assets[rid] += sum(amount(r["余额"]) for _, r in recs)
    for rid, recs in by_member("securities", "证件号码").items():
        assets[rid] += sum((amount(r["持仓市值"]) or 0) + (amount(r["资金余额"]) or 0) for _, r in recs)
    for rid, recs in by_member("insurance", "投保人证件号").items():
        assets[rid] += sum(amount(r["现金价值"]) for _, r in recs if r["保单状态"] == "有效")
    for rid, recs in by_member("real_estate", "证件号码").items():
        units = {r["不动产单元号"] for _, r in recs if r["规划用途"] == "住宅" and r["权属状态"] == "现势"}
        if len(units) > 1:
            hh[rid]["codes"].add("RESIDENTIAL_UNITS_OVER_LIMIT")
        if any(r["规划用途"] in ("商业", "办公", "工业") and r["权属状态"] == "现势" for _, r in recs):
            hh[rid]["codes"].add("NON_RESIDENTIAL_PROPERTY")
    exempt = {"普通二轮摩托车", "三轮汽车", "低速货车", "残疾人专用车"}
    for rid, recs in by_member("vehicle", "证件号码").items():
        for _, r in recs:
            price = amount(r["购置价格"])
            if r["车辆状态"] == "正常" and r["车辆类型"] not in exempt and (price is None or price > 12000):
                hh[rid]["codes"].add("VEHICLE")
    for rid, recs in by_member("business_registry", "人员证件号").items():
        for _, r in recs:
            sub = wan_amount(r["认缴出资额"])
            if r["登记状态"] in ("存续", "在业") and (r["主体类型"] == "个体工商户"
                                                   or (sub is not None and sub >= 100000)):
                hh[rid]["codes"].add("BUSINESS_ROLE")

    with open(inbox / "truth.csv", encoding="utf-8", newline="") as fh:
        truth = {r["request_id"]: r for r in csv.DictReader(fh)}
    for rid, h in hh.items():
        if truth[rid]["scenario"].startswith("fuzzy_"):
            continue  # evidence under an unusable ID: the probabilistic linker's part (tests/test_review.py)
        n = len(h["members"])
        per_income = income[rid] / 12 / n
        per_assets = assets[rid] / n
        limit = 2.0 * h["std"] * 12
        codes = h["codes"]
        if per_income > h["std"]:
            assert per_income > 2 * h["std"], (rid, per_income)
            codes.add("INCOME_OVER_STANDARD")
        else:
            assert per_income < 0.5 * h["std"], (rid, per_income)
        if per_assets > limit:
            assert per_assets > 2 * limit, (rid, per_assets)
            codes.add("FINANCIAL_ASSETS_OVER_LIMIT")
        else:
            assert per_assets < 0.5 * limit, (rid, per_assets)
        findings = codes - {"NO_AUTHORIZATION"}
        outcome = "FINDINGS" if findings else "INCOMPLETE" if codes else "CLEAR"
        t = truth[rid]
        assert (outcome, ";".join(sorted(codes))) == (t["outcome"], t["findings"]), (t["scenario"], rid, codes)


def test_unusable_ids_and_duplicates_stay_rare(inbox):
    """Noise must not make a healthy delivery fail validation: few unusable IDs, sparse duplicates."""
    # what the validation suites tolerate (expectations/stg_<source>.json, id_status "mostly")
    limits = {"public_security": 0.01, "tax": 0.05, "social_insurance": 0.05, "bank": 0.05, "insurance": 0.05,
              "securities": 0.05, "vehicle": 0.1, "housing_fund": 0.1, "business_registry": 0.1,
              "real_estate": 0.15, "civil_affairs": 0.2}
    for source in SOURCES:
        rows, unusable, dups = 0, 0, 0
        for f in data_files(inbox, source):
            header, data, _ = read_table(f)
            keys = [base_header(h) for h in header]
            col = next(i for i, k in enumerate(keys) if k in ("公民身份号码", "身份证号", "纳税人识别号", "证件号码",
                                                               "人员证件号", "投保人证件号"))
            data = [r for r in data if not (r and r[0] == "合计")]
            rows += len(data)
            unusable += sum(norm_id(r[col]) is None for r in data)
            dups += len(data) - len({tuple(r) for r in data})
        assert unusable / rows < limits[source] / 1.5, (source, unusable, rows)
        assert dups / rows < 0.005, (source, dups, rows)


def test_a_tiny_world_still_delivers_every_source(tmp_path):
    generate(tmp_path, households=1, seed=5, date=DATE)
    for source in ("requests", *SOURCES):
        files = data_files(tmp_path, source)
        assert sum(int(f.with_name(f.name + ".ok").read_text()) for f in files) >= 1, source
