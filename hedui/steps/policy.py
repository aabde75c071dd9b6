"""Versioned local policy: load, validate, and resolve the version for a household.

A policy file (YAML) holds `versions`; each version has a `scope` (region code
prefix — province 2 digits, city 4, county 6; a city's or province's own 6-digit code
360700 / 360000 reads as 3607 / 36 —, year, urban_rural, program) and
`params`.  The most specific region wins; `*` matches anything.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hedui.errors import PolicyError
from hedui.resources import package_path
from hedui.steps.policy_yaml import policy_paths, read_policy_yaml

POLICY_DIR = package_path("policies")


def policy_dir() -> Path:
    """The folder policy versions are read from: `HEDUI_POLICY_DIR` (a deployment's own) or the packaged one.

    An environment setting, not a module global, so the per-source workers (which check request lists against
    the covered regions) read the same folder as the run.
    """
    folder = os.environ.get("HEDUI_POLICY_DIR", "").strip()
    if not folder:
        return POLICY_DIR
    if not Path(folder).is_dir():
        raise PolicyError(f"HEDUI_POLICY_DIR 指向的政策目录 {folder} 不存在或不是目录：请指向存放本地区政策文件"
                          "（.yaml）的目录，或取消该设置以使用随程序发布的政策")
    return Path(folder)

URBAN_RURAL = ("城市", "农村")
def _programs() -> tuple[str, ...]:
    """The 业务类型 a request may carry (the request map's enum): a version's scope.program is one of them or *."""
    return _enum("requests", "program")


def _enum(source: str, column: str) -> tuple[str, ...]:
    """The values a source delivers in an enumerated column (its header map, as sources.md lists them)."""
    from connectors.maps import load_map

    return load_map(source).spec(column).values


#: the schemes whose individual share is deducted from a wage (sql/assess/figures.sql reads no other)
SI_SHARE_SCHEMES = ("企业职工基本养老保险", "机关事业单位养老保险", "失业保险")

# name → (type, required).  Types: number, bool, list, str, by_urban_rural.
PARAMS: dict[str, tuple[str, bool]] = {
    "standard_monthly": ("by_urban_rural", True),
    "income_window_months": ("int", True),
    # policy.md's two choices, optional: absent, the assets limit is a multiple of the annual standard and the
    # housing-fund balance is not counted ("only where the policy says so")
    "financial_assets_basis": ("str", False),
    "financial_assets_multiple": ("number", True),
    # per-capita disposable income of the prior year, yuan per year: the basis `disposable_income` needs it
    "disposable_income_annual": ("by_urban_rural", False),
    "count_housing_fund_balance": ("bool", False),
    "max_residential_units": ("int", True),
    "vehicle_price_multiple": ("number", True),
    "exempt_vehicle_types": ("list", True),
    "business_contribution_limit": ("number", True),
    "business_always_review_types": ("list", False),
    "excluded_income_items": ("list", True),
    "individual_si_rates": ("dict", False),
}
BASES = ("annual_standard", "disposable_income")
#: bounds past which a figure is a misreading of the notice, not a policy (see _check_values)
MAX_WINDOW_MONTHS = 36
MAX_STANDARD_MONTHLY = 10_000
MAX_ASSETS_MULTIPLE = 10
MAX_RESIDENTIAL_UNITS = 10
MAX_VEHICLE_MULTIPLE = 1000
MIN_CONTRIBUTION_LIMIT = 1000
#: entity types whose active entities are listed whatever the contribution, where a version does not say
ALWAYS_REVIEW_TYPES = ("个体工商户",)
#: what an optional parameter a version leaves out is taken to be (version_row); `disposable_income_annual` is
#: read only with the basis `disposable_income`, which a version must then write with it
UNSTATED_DEFAULTS = {"financial_assets_basis": "annual_standard", "count_housing_fund_balance": False,
                     "business_always_review_types": list(ALWAYS_REVIEW_TYPES), "individual_si_rates": {}}


@dataclass(frozen=True)
class PolicyVersion:
    id: str
    demonstration: bool
    source: dict[str, str]
    region: str
    year: int
    urban_rural: str
    program: str
    params: dict[str, Any] = field(hash=False)

    def matches(self, region_code: str, year: int, urban_rural: str, program: str) -> bool:
        return (
            region_code.startswith(self.region)
            and self.year == year
            and self.urban_rural in ("*", urban_rural)
            and self.program in ("*", program)
        )

    def specificity(self) -> tuple[int, int, int]:
        return (len(self.region), self.urban_rural != "*", self.program != "*")

    def source_zh(self) -> str:
        s = self.source
        return f"{s.get('notice', '')}（{s.get('number', '')}，{s.get('date', '')}）"


def region_prefix(region: str) -> str:
    """The prefix a scope's region covers: a GB/T 2260 code of a city (360700) or a province (360000) is written
    with six digits as readily as by its own (3607, 36); no county's code ends in 00, so those six digits name
    the city or province, and cover its counties."""
    if len(region) == 6 and region.endswith("0000"):
        return region[:2]
    if len(region) == 6 and region.endswith("00"):
        return region[:4]
    return region


def _fail(path: Path, where: str, msg: str) -> PolicyError:
    return PolicyError(f"政策文件 {path.name} 中 {where}：{msg}")


def _check_param(path: Path, vid: str, name: str, kind: str, value: Any) -> None:
    where = f"版本 {vid} 的参数 {name}"
    def num(v: Any) -> bool:  # a number as YAML reads one: not true/false, not .inf or .nan
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    ok = {
        "number": lambda v: num(v) and v >= 0,
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: v in BASES,
        "list": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
        "dict": lambda v: isinstance(v, dict) and all(num(x) for x in v.values()),
        "by_urban_rural": lambda v: isinstance(v, dict)
        and set(v) == set(URBAN_RURAL)
        and all(num(x) and x > 0 for x in v.values()),
    }[kind]
    if not ok(value):
        allowed = {
            "number": "非负的有限数值（不带单位，不加引号）",
            "int": "非负整数",
            "bool": "true 或 false",
            "str": "、".join(BASES),
            "list": "列表，写作 [甲, 乙]（不是用逗号连成的一串文字）",
            "dict": "名称到数值的映射",
            "by_urban_rural": "{城市: 正数, 农村: 正数}（城乡统一的标准也分别写出，如 {城市: 800, 农村: 800}）",
        }[kind]
        raise _fail(path, where, f"值 {value!r} 不合法，应为{allowed}")


def load_policies(path: Path | None = None) -> list[PolicyVersion]:
    """Load and validate every version in a policy file (default: all files in hedui/policies).

    Raises PolicyError naming the file, the version, the key and what is allowed.
    """
    folder = policy_dir()
    paths = [path] if path else policy_paths(folder)
    versions: list[PolicyVersion] = []
    for p in paths:
        doc = read_policy_yaml(p)
        if not isinstance(doc, dict) or not isinstance(doc.get("versions"), list):
            raise _fail(p, "顶层", "应包含 versions 列表")
        for i, v in enumerate(doc["versions"], 1):
            if not isinstance(v, dict):
                raise _fail(p, f"versions 的第 {i} 项", "应为一个版本（含 id、source、scope、params 的映射）")
            vid = str(v.get("id") or f"#{i}")
            for key in ("id", "source", "scope", "params"):
                if key not in v:
                    raise _fail(p, f"版本 {vid}", f"缺少 {key}")
                if key != "id" and not isinstance(v[key], dict):
                    raise _fail(p, f"版本 {vid} 的 {key}", f"应为映射（每行“键: 值”），不是 {v[key]!r}"
                                + ("；写作 notice: 文件名、number: 文号、date: 日期" if key == "source" else ""))
            if not isinstance(v.get("demonstration", False), bool):
                raise _fail(p, f"版本 {vid} 的 demonstration", f"值 {v['demonstration']!r} 应为 true（演示数据）或 false")
            for key in ("notice", "number", "date"):
                if not v["source"].get(key):
                    raise _fail(p, f"版本 {vid} 的 source", f"缺少 {key}（政策依据的文件名、文号、日期）")
            scope = v["scope"]
            # full-width digits (３６０７０２) pass isdigit() but no request's code starts with them: the version
            # would be silently unused, its households weighed by a wider one
            region = unicodedata.normalize("NFKC", str(scope.get("region", ""))).strip()
            if not (region.isascii() and region.isdigit() and len(region) in (2, 4, 6)):
                raise _fail(p, f"版本 {vid} 的 scope.region", f"值 {region!r} 应为 2、4 或 6 位区划代码")
            region = region_prefix(region)
            if scope.get("urban_rural", "*") not in (*URBAN_RURAL, "*"):
                raise _fail(p, f"版本 {vid} 的 scope.urban_rural",
                            f"值 {scope.get('urban_rural')!r} 应为 城市、农村 或 *（与委托的城乡类别写法相同）")
            year = scope.get("year")
            if isinstance(year, str) and (digits := unicodedata.normalize("NFKC", year).strip()).isascii() \
                    and digits.isdigit():
                year = int(digits)  # year: "2026", quoted
            if not isinstance(year, int) or isinstance(year, bool) or not 1990 <= year <= 2100:
                raise _fail(p, f"版本 {vid} 的 scope.year", f"值 {year!r} 应为四位年份（如 2026）")
            # a misspelt program would match no request and leave the version silently unused
            if str(scope.get("program", "*")) not in (*_programs(), "*"):
                raise _fail(p, f"版本 {vid} 的 scope.program",
                            f"值 {scope.get('program')!r} 应为 * 或业务类型之一：{'、'.join(_programs())}")
            params = v["params"]
            for name, (kind, required) in PARAMS.items():
                if name not in params:
                    if required:
                        raise _fail(p, f"版本 {vid}", f"缺少参数 {name}（版本之间不继承参数；沿用另一版本的参数可写 <<: *锚点）")
                    continue
                _check_param(p, vid, name, kind, params[name])
            _check_values(p, vid, params)
            if params.get("financial_assets_basis") == "disposable_income" and "disposable_income_annual" not in params:
                raise _fail(p, f"版本 {vid}", "financial_assets_basis 为 disposable_income 时须给出参数 "
                            "disposable_income_annual（上年度人均可支配收入，元/年：{城市: …, 农村: …}）")
            unknown = set(params) - set(PARAMS)
            if unknown:
                raise _fail(p, f"版本 {vid}", f"未知参数 {sorted(unknown)}，允许的参数：{sorted(PARAMS)}")
            versions.append(
                PolicyVersion(
                    id=vid,
                    demonstration=bool(v.get("demonstration", False)),
                    source={k: str(x) for k, x in v["source"].items()},
                    region=region,
                    year=year,
                    urban_rural=str(scope.get("urban_rural", "*")),
                    program=str(scope.get("program", "*")),
                    params=params,
                )
            )
    if path is None and not versions:  # nothing could be weighed: the deployment's problem, said before a run
        raise PolicyError(f"政策目录 {folder} 中没有任何政策版本（.yaml 或 .yml 文件的 versions）；请放入本地区的政策文件，"
                          "写明各年度的保障标准和限额及其依据的文件")
    _refuse_same_scope(versions, paths)
    _refuse_unstated_params(versions, paths)
    return versions


def _refuse_unstated_params(versions: list[PolicyVersion], paths: list[Path]) -> None:
    """A version does not inherit from a wider one (most specific wins, whole): a parameter it leaves out takes
    its default.  Where a wider version of the same year covering it writes that parameter, the reader of the
    file cannot tell whether the narrower one meant the default or meant to inherit (a county leaving out
    `count_housing_fund_balance: true` of its province would stop counting the housing-fund balance): refused,
    naming both versions and the parameter, so the file says which.  A wider value equal to the default leaves
    nothing to choose."""
    for v in versions:
        for w in versions:
            if w is v or w.year != v.year or not v.region.startswith(w.region) or w.specificity() >= v.specificity():
                continue
            if w.urban_rural not in ("*", v.urban_rural) or w.program not in ("*", v.program):
                continue
            for name, default in UNSTATED_DEFAULTS.items():
                if name in w.params and name not in v.params and w.params[name] != default:
                    raise PolicyError(
                        f"政策文件（{'、'.join(p.name for p in paths)}）中版本 {v.id} 未写参数 {name}，而适用范围包含它的"
                        f"版本 {w.id} 写了 {name}: {w.params[name]!r}；各版本之间不继承参数，未写即取默认值。"
                        f"请在版本 {v.id} 中明确写出 {name}（沿用 {w.id} 的值或写出本地的值）")


def _check_values(path: Path, vid: str, params: dict) -> None:
    """Values that pass their type but could never mean what the deployment meant: refused, naming the key.

    A window of 0 months divides the income by nothing; a share of 8 (meant: 8 %) deducts eight times the
    contribution base and hides any income; a vehicle or entity type the departments never deliver (a
    misspelling: 个体户 for 个体工商户) exempts or reviews nothing, and an active 个体工商户 would pass unlisted.
    """
    if not 1 <= params["income_window_months"] <= MAX_WINDOW_MONTHS:
        raise _fail(path, f"版本 {vid} 的参数 income_window_months",
                    f"值 {params['income_window_months']!r} 不合法，收入计算期至少为 1 个月、至多 {MAX_WINDOW_MONTHS} 个月（通常为 12）")
    # figures no notice gives, each read the way that makes a household look eligible: an annual standard
    # written as the monthly one, "24 months of the standard" written as 24 × the annual standard
    high = {k: x for k, x in params["standard_monthly"].items() if x > MAX_STANDARD_MONTHLY}
    if high:
        raise _fail(path, f"版本 {vid} 的参数 standard_monthly",
                    f"{high} 超过每人每月 {MAX_STANDARD_MONTHLY:,} 元，像是年标准或以分计；standard_monthly 是每人每月"
                    "的元数（年标准请除以 12）")
    if params["financial_assets_multiple"] > MAX_ASSETS_MULTIPLE:
        raise _fail(path, f"版本 {vid} 的参数 financial_assets_multiple",
                    f"值 {params['financial_assets_multiple']!r} 超过 {MAX_ASSETS_MULTIPLE}：它是年保障标准（或上年度人均"
                    "可支配收入）的倍数；通知若写“N 个月的保障标准”，请写 N/12（如 24 个月写 2）")
    for scheme, rate in params.get("individual_si_rates", {}).items():
        if scheme not in SI_SHARE_SCHEMES:
            raise _fail(path, f"版本 {vid} 的参数 individual_si_rates",
                        f"险种“{scheme}”不是个人缴费从工资中扣除的险种之一：{'、'.join(SI_SHARE_SCHEMES)}")
        if not 0 <= rate < 1:
            raise _fail(path, f"版本 {vid} 的参数 individual_si_rates",
                        f"{scheme} 的个人缴费比例 {rate!r} 应为 0 到 1 之间的小数（8% 写作 0.08）")
    # a per-capita floor area (m²) written as a number of units; a vehicle price (15 万元 = 150000) written as the
    # multiple; a contribution in 万元 (the registry's unit: 10 for 100,000 yuan) — the first two hide findings
    if params["max_residential_units"] > MAX_RESIDENTIAL_UNITS:
        raise _fail(path, f"版本 {vid} 的参数 max_residential_units",
                    f"值 {params['max_residential_units']!r} 超过 {MAX_RESIDENTIAL_UNITS}：它是住房套数（超过即列为情形），"
                    "不是面积")
    if params["vehicle_price_multiple"] > MAX_VEHICLE_MULTIPLE:
        raise _fail(path, f"版本 {vid} 的参数 vehicle_price_multiple",
                    f"值 {params['vehicle_price_multiple']!r} 超过 {MAX_VEHICLE_MULTIPLE}：它是城市月保障标准的倍数，"
                    "不是金额；通知写的是金额时请写 金额 ÷ 城市月保障标准（0 表示任何非豁免车辆都列出）")
    if 0 < params["business_contribution_limit"] < MIN_CONTRIBUTION_LIMIT:
        raise _fail(path, f"版本 {vid} 的参数 business_contribution_limit",
                    f"值 {params['business_contribution_limit']!r} 不足 {MIN_CONTRIBUTION_LIMIT:,} 元：单位是元，"
                    "不是万元（10 万元写 100000；0 表示任何认缴出资都列出）")
    # an item that reads as a tax item or an insurance scheme but is neither (城乡居民养老保险 for 城乡居民基本养老保险)
    # would exclude nothing, and the income it meant would count; items no department delivers are kept as written
    vague = [x for x in params["excluded_income_items"]
             if _delivered_item(x) is None and any(w in x for w in ("所得", "保险", "养老", "失业"))]
    if vague:
        raise _fail(path, f"版本 {vid} 的参数 excluded_income_items",
                    f"{'、'.join(vague)} 不是税务所得项目或社会保险险种的名称，照写将什么也不排除；请写作部门交付的名称："
                    f"{'、'.join((*_enum('tax', 'income_item'), *_enum('social_insurance', 'scheme')))}")
    for name, source, column in (("exempt_vehicle_types", "vehicle", "vehicle_type"),
                                 ("business_always_review_types", "business_registry", "entity_type")):
        allowed = _enum(source, column)
        unknown = [x for x in params.get(name, []) if x not in allowed]
        if unknown:
            raise _fail(path, f"版本 {vid} 的参数 {name}",
                        f"{'、'.join(unknown)} 不是部门交付的取值，应为以下之一：{'、'.join(allowed)}")


def _refuse_same_scope(versions: list[PolicyVersion], paths: list[Path]) -> None:
    """Two versions of one scope (region, year, urban/rural, program) would leave which one applies to the
    order of the files: refused, naming both (a new notice replaces the old version, or takes a new year)."""
    seen: dict[tuple, str] = {}
    for v in versions:
        key = (v.region, v.year, v.urban_rural, v.program)
        if key in seen:
            raise PolicyError(
                f"政策文件（{'、'.join(p.name for p in paths)}）中版本 {seen[key]} 与 {v.id} 的适用范围相同"
                f"（区划 {v.region}、{v.year} 年、{v.urban_rural}、{v.program}），无法确定适用哪一个；"
                "请删除或修改其中一个版本")
        seen[key] = v.id
    # a block copied for another scope with its id left as it was: reports and auditors name the version by
    # its id, and two sets of figures would go by one name
    scopes: dict[str, PolicyVersion] = {}
    for v in versions:
        if v.id in scopes:
            w = scopes[v.id]
            raise PolicyError(
                f"政策文件（{'、'.join(p.name for p in paths)}）中有两个版本的 id 都是 {v.id}（区划 {w.region}、{w.year} 年 与 "
                f"区划 {v.region}、{v.year} 年）；报告和审计以 id 指明所用的版本，请给每个版本不同的 id")
        scopes[v.id] = v


def resolve(
    versions: list[PolicyVersion], region_code: str, year: int, urban_rural: str, program: str
) -> PolicyVersion:
    """The most specific version for a household; PolicyError when none applies.

    A year without a version of its own (next year's standard not yet published) keeps the
    latest earlier year's versions in force; the report names the version used.
    """
    found = [v for v in versions if v.matches(region_code, year, urban_rural, program)]
    if not found:
        earlier = [v for v in versions if v.year < year and v.matches(region_code, v.year, urban_rural, program)]
        latest = max((v.year for v in earlier), default=None)
        found = [v for v in earlier if v.year == latest]
    if not found:
        raise PolicyError(
            f"没有适用于 区划 {region_code}、{year} 年、{urban_rural}、{program} 的政策版本；"
            f"（也没有更早年度的版本）；请在 hedui/policies/ 中补充该地区该年度的政策参数"
        )
    return max(found, key=PolicyVersion.specificity)


def check_run_year(run_date: str, versions: list[PolicyVersion] | None = None) -> list[PolicyVersion]:
    """The policy versions (loaded when not given), after refusing a run date before every one of them: no
    household of that year could be assessed, and the run stopped only at the assessment, every source read and
    staged.  Raises InputError (Chinese: the earliest version's year, what to do); `hedui run` and the DAG's first
    task call it before anything is created."""
    from hedui.errors import InputError

    versions = load_policies() if versions is None else versions
    year = int(str(run_date)[:4])
    earliest = min((v.year for v in versions), default=None)
    if earliest is None or earliest > year:
        have = f"政策文件中最早的版本是 {earliest} 年的" if earliest else "政策文件中没有任何政策版本"
        raise InputError(f"批次日期 {run_date} 早于所有政策版本：{have}，{year} 年及以前没有适用的保障标准和限额，"
                         "无法核对，未创建任何文件。请检查日期是否写错（应为交付的业务日期）；确需核对该年度时，"
                         "请先在 hedui/policies/ 中补充该年度的政策参数")
    return versions


def region_regex(year: int, versions: list[PolicyVersion] | None = None) -> str:
    """A regex of the region codes some version in force in `year` covers (`^(?:36|3601)[0-9]*$`).

    The request list's suite quarantines a row whose 区划代码 it does not match: the household is
    answered INCOMPLETE naming that row, instead of the whole run stopping at `resolve`.
    """
    versions = load_policies() if versions is None else versions
    prefixes = sorted({v.region for v in versions if v.year <= year})
    # no version at all in force (a run date before every version): not one household's problem but
    # the deployment's; no row is quarantined for it and `resolve` stops the run saying so
    return "^(?:" + "|".join(prefixes) + ")[0-9]*$" if prefixes else "^[0-9]*$"


def policy_rows(versions: list[PolicyVersion], households: list[tuple[str, str, str, str]], run_date: str, *,
                delivered: tuple[str, ...] | None = None):
    """One flat parameter row per household (request_id, region, urban_rural, program) for SQL (`delivered`:
    see version_row)."""
    year = dt.datetime.strptime(run_date, "%Y%m%d").year
    for request_id, region, urban_rural, program in households:
        yield version_row(resolve(versions, region or "", year, urban_rural or "城市", program or "*"), request_id,
                          urban_rural, delivered=delivered)


def _delivered_items() -> tuple[str, ...]:
    """The tax 所得项目 and social-insurance 险种 the departments deliver (their header maps' enums)."""
    return (*_enum("tax", "income_item"), *_enum("social_insurance", "scheme"))


def _delivered_item(item: str, delivered: tuple[str, ...] | None = None) -> str | None:
    """The tax 所得项目 or social-insurance 险种 an excluded item names, as the departments deliver it: written
    without its 所得 (policy.md: 劳务报酬), or as the tax law writes it (利息、股息、红利所得); None if neither.
    `delivered`: _delivered_items(), when the caller has it (each reading opens two header maps)."""
    delivered = _delivered_items() if delivered is None else delivered
    bare = "".join(ch for ch in item if ch not in "、，, \u3000")
    return next((x for x in (bare, f"{bare}所得") if x in delivered), None)


def excluded_items(items: list[str], delivered: tuple[str, ...] | None = None) -> list[str]:
    """The items a version excludes, as the departments deliver them: policy.md names the tax items without
    their 所得 (劳务报酬, 经营所得), the tax records say 劳务报酬所得; an item written either way is excluded.
    `delivered`: _delivered_items(), when the caller has it."""
    delivered = _delivered_items() if delivered is None else delivered  # once, not once an item
    return list(dict.fromkeys([*items, *(d for x in items if (d := _delivered_item(x, delivered)))]))


def version_row(v: PolicyVersion, request_id: str, urban_rural: str | None, *,
                delivered: tuple[str, ...] | None = None) -> dict:
    """The flat parameter row of version `v` for a household of `urban_rural` (城市 when unknown).  `delivered`:
    _delivered_items(), read once by a caller making many rows (hedui.steps.assess: one a household's combination)."""
    p = v.params
    standard = float(p["standard_monthly"].get(urban_rural or "城市", p["standard_monthly"]["城市"]))
    # policy.md: × the annual standard, or × prior-year disposable income where that basis is chosen
    basis = (float(p["disposable_income_annual"].get(urban_rural or "城市", p["disposable_income_annual"]["城市"]))
             if p.get("financial_assets_basis") == "disposable_income" else standard * 12)
    return {
        "request_id": request_id,
        "policy_id": v.id,
        "policy_demonstration": v.demonstration,
        "policy_source_zh": v.source_zh(),
        "standard_monthly_yuan": standard,
        "urban_standard_monthly_yuan": float(p["standard_monthly"]["城市"]),
        "income_window_months": int(p["income_window_months"]),
        # limits in cents: 1.15 × 855 × 12 is 11,798.999999999998 in binary floating point, and a
        # household at exactly 11,799 would be "over" it
        "financial_assets_limit_yuan": round(float(p["financial_assets_multiple"]) * basis, 2),
        "count_housing_fund_balance": bool(p.get("count_housing_fund_balance", False)),
        "max_residential_units": int(p["max_residential_units"]),
        "vehicle_price_limit_yuan": round(float(p["vehicle_price_multiple"]) * float(p["standard_monthly"]["城市"]),
                                          2),
        "exempt_vehicle_types": list(p["exempt_vehicle_types"]),
        "business_contribution_limit_yuan": float(p["business_contribution_limit"]),
        # policy.md: "any active 个体工商户 is a finding to review" — the contract's rule, not left to a file that
        # does not name the parameter (a file may list other types, or none, by writing it)
        "business_always_review_types": list(p.get("business_always_review_types", ALWAYS_REVIEW_TYPES)),
        "excluded_income_items": excluded_items(p["excluded_income_items"], delivered),
        "si_rate_enterprise": float(p.get("individual_si_rates", {}).get("企业职工基本养老保险", 0)),
        "si_rate_public": float(p.get("individual_si_rates", {}).get("机关事业单位养老保险", 0)),
        "si_rate_unemployment": float(p.get("individual_si_rates", {}).get("失业保险", 0)),
    }
