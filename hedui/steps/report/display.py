"""What a person reads in reports and pages: Chinese labels of codes, dates, masked display values, the Jinja environment."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from types import SimpleNamespace

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from hedui.paths import report_file_stem
from hedui.resources import package_path

TEMPLATES = package_path("templates")


OUTCOME_ZH = {
    "CLEAR": "未发现超出政策规定情形",
    "FINDINGS": "发现超出政策规定情形",
    "INCOMPLETE": "核对信息不完整，需人工复核",
}


FINDING_ZH = {
    "INCOME_OVER_STANDARD": "家庭月人均收入高于保障标准",
    "FINANCIAL_ASSETS_OVER_LIMIT": "家庭人均金融资产超过限额",
    "RESIDENTIAL_UNITS_OVER_LIMIT": "住宅套数超过规定",
    "NON_RESIDENTIAL_PROPERTY": "拥有非住宅类房产",
    "VEHICLE": "拥有非豁免机动车",
    "BUSINESS_ROLE": "在存续经营主体中任职或出资",
    "MEMBER_REGISTRATION_ENDED": "成员户籍已死亡、注销或迁出",
    "MEMBER_REGISTRATION_MISMATCH": "申报成员与户籍登记不符",
    "NO_AUTHORIZATION": "成员未签署授权书",
    "SOURCE_MISSING": "部门数据未交付",
    "SOURCE_FAILED": "部门数据未通过校验",
    "UNCONFIRMED_LINK": "所依据的记录为未确认的概率匹配",
    "RECORD_QUARANTINED": "涉及成员的记录被隔离，内容未能核对",
    "VALUE_UNKNOWN": "记录缺少核对所需的数值",
}


GAP_CODES = {"NO_AUTHORIZATION", "SOURCE_MISSING", "SOURCE_FAILED", "UNCONFIRMED_LINK", "RECORD_QUARANTINED",
             "VALUE_UNKNOWN"}


#: the gaps the section 待核实的信息 lists record by record (evidence_gaps.sql)
UNWEIGHED_CODES = ("UNCONFIRMED_LINK", "RECORD_QUARANTINED", "VALUE_UNKNOWN")


#: a member whose request row names another program, county or 城市/农村 than the household's (a VALUE_UNKNOWN
#: of source requests, evidence_gaps.sql): the request's rows it disagrees with — those that say what the
#: household's standard was taken from (the applicant's among them) — so staff see which rows to correct:
#: 与第 2 行（本人）、第 4 行（子女）不一致.  Row numbers and relations only: nothing personal.  A correlated
#: subquery of the unweighed export (`g` its evidence_gaps row); null for every other gap.
REQUEST_ROWS_SQL = (
    "(select '与' || string_agg(case when a.file_name is distinct from g.file_name then '文件 ' || a.file_name"
    " || ' ' else '' end || '第 ' || a.row_no || ' 行（' || coalesce(nullif(trim(a.relation), ''), '关系未填')"
    " || '）', '、' order by a.file_name, a.row_no) || '不一致'"
    " from stg_requests a join households x on x.run_date = a.run_date and x.request_id = a.request_id"
    " where g.code = 'VALUE_UNKNOWN' and g.source = 'requests' and a.run_date = $run_date"
    " and a.request_id = g.request_id and a.record_id is distinct from g.record_id"
    " and a.program is not distinct from x.program and a.region_code is not distinct from x.region_code"
    " and a.urban_rural is not distinct from x.urban_rural)")


_DECISION_ZH = {"confirmed": "确认", "rejected": "否决", "deferred": "暂缓"}


METHOD_ZH = {"exact_id": "身份证号精确匹配", "probabilistic": "概率匹配"}


HIDDEN_COLUMNS = {"name", "id_number"}


CHANGE_KIND_ZH = {
    "vehicle": "车辆", "property": "房产", "business": "企业任职或出资", "employer": "工作单位",
    "registration": "户籍状态", "death": "死亡（殡葬记录）",
}


ALERT_KINDS = {"vehicle": "新增车辆", "property": "新增房产", "business": "新增企业任职",
               "employer": "新增工作单位", "registration": "户籍状态变更", "death": "死亡或火化"}


def _finding_diff(previous: dict | None, findings: str) -> dict:
    """Finding codes added and gone since the previous verification."""
    if not previous:
        return {"added": [], "removed": []}
    before = set(filter(None, (previous.get("previous_findings") or "").split(";")))
    after = set(filter(None, (findings or "").split(";")))
    return {"added": sorted(after - before), "removed": sorted(before - after)}


@functools.cache
def _env() -> Environment:
    """The report templates' environment, made once per process (compiled templates stay cached)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["yuan"] = lambda v: "—" if v is None else f"{v:,.2f}"
    from hedui.regions import region_label

    env.filters["region"] = _cached(region_label)
    env.filters["cdate"] = _cached(chinese_date)
    return env


def page_renderer(tpl):
    """`tpl.render(**values)` less what it does per page that a household page never uses: a copy of the
    environment's globals (range, dict, lipsum, …) into each page's context, read from a ChainMap key by key."""
    concat, root, new_context, env = tpl.environment.concat, tpl.root_render_func, tpl.new_context, tpl.environment

    def render(**values) -> str:
        try:
            return concat(root(new_context(values, shared=True)))
        except Exception:
            env.handle_exception()

    return render


#: Unicode's bidirectional controls (embeddings, overrides, isolates, marks): a delivered name or address
#: holding U+202E would turn the text after it around on the page (a masked ID next to the name read
#: backwards), so a page shows each as its code point, e.g. "[U+202E]"
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def _bidi_label(match) -> str:
    return f"[U+{ord(match.group()):04X}]"


_NEEDS_ESCAPE = re.compile(f"[&<>\"'{BIDI_CONTROLS}]").search


def _escape(value, _needs=_NEEDS_ESCAPE, _str=str, _int=int, _float=float, _date=dt.date, _datetime=dt.datetime):
    """markupsafe.escape's text for a page's `{{ value }}` (what Jinja joins into the page), with less work
    per value (a third of the template's time was escape and the Markup it makes): a text without any of
    the five characters is itself, a number's text has none of them, Markup is already escaped."""
    kind = type(value)
    if kind is _str:
        return escape(_BIDI.sub(_bidi_label, value)) if _needs(value) else value
    if kind is _int or kind is _float:
        return _str(value)
    if kind is Markup:
        return value
    if kind is _date or kind is _datetime:  # digits, '-', ':' and ' ': nothing to escape
        return _str(value)
    if isinstance(value, str) and _BIDI.search(value):
        return escape(_BIDI.sub(_bidi_label, value))
    return escape(value)


def chinese_date(value) -> str:
    """2026年11月28日 from a date, datetime, ISO text or YYYYMMDD; '—' when empty."""
    if value is None or value == "":
        return "—"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    digits = text.replace("-", "")[:8]
    if len(digits) == 8 and digits.isdigit():
        return f"{int(digits[:4])}年{int(digits[4:6])}月{int(digits[6:8])}日"
    return text


def _cached(fn):
    """`fn` of one value, each distinct value (by type and value) worked out once per process: a filter a
    page applies to values that repeat across the run's pages (dates, region codes)."""
    known: dict = {}

    def cached(value):
        key = (type(value), value)
        try:
            return known[key]
        except KeyError:
            pass
        except TypeError:  # not hashable
            return fn(value)
        if len(known) > 100_000:
            known.clear()
        text = known[key] = fn(value)
        return text

    return cached


def safe_name(request_id: str) -> str:
    """The report file name (without extension) of a request id; distinct ids never share one
    (hedui.paths.report_file_stem: the id itself when it is safe, else safe characters + a hash)."""
    return report_file_stem(request_id)


def _rows(rel) -> list[dict]:
    cols = rel.columns
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def display_select(smap, alias: str = "t", hide: set[str] | frozenset[str] = frozenset()) -> str:
    """SELECT expressions for a staged table's displayable columns: an ID column shows the stored
    mask (`id_masked`), an account column its `<column>_masked`; never the encrypted value.  A free
    text (a name, a 扣缴义务人, a 坐落) may carry an ID or account number as delivered: it passes through
    `hd_audit_mask` (`register_text_mask` on the connection) where it holds a run of digits."""
    out = []
    for c in smap.columns:
        if c.column in hide:
            continue
        col = f"{alias}.{c.column}"
        if c.type == "id":
            out.append(f"{alias}.id_masked as {c.column}")
        elif c.type == "account":
            out.append(f"{alias}.{c.column}_masked as {c.column}")
        elif c.type in ("text", "name"):
            out.append(f"case when regexp_matches({col}, '[0-9０-９]{{6}}') then hd_audit_mask({col}) "
                       f"else {col} end as {c.column}")
        else:
            out.append(col)
    return ", ".join(out)


def display_fields(smap, row: dict, hide: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(header, text) of a row selected with `display_select` (IDs and accounts already masked)."""
    return [(c.header, display_value(c.type, row[c.column])) for c in smap.columns if c.column not in hide]


def display_value(kind: str, value) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m") if kind == "month" else value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


STATUS_ZH = {"passed": "已交付并通过校验", "missing": "未交付", "incomplete": "交付不完整", "failed": "未通过校验"}


def lineage_groups(rows: list) -> dict[str, list[SimpleNamespace]]:
    """A figure's cited rows summarized per member, item and status (计入 / 不计入（窗口外）/
    按政策不计入 / 金额未知), each group keeping its rows for the page's collapsible list."""
    out: dict[str, dict[tuple, SimpleNamespace]] = defaultdict(dict)
    for r in rows:
        status = ("计入" if r.is_counted else "不计入（窗口外）" if not r.is_in_window
                  else (r.exclusion_zh or "按政策不计入") if r.is_excluded else "金额未知，未计入")
        key = (r.member_name, r.member_relation, r.source, r.item, status)
        g = out[r.figure_code].get(key)
        if g is None:
            g = out[r.figure_code][key] = SimpleNamespace(
                member=r.member_name or "—", relation=r.member_relation or "", source=r.source, item=r.item,
                status=status, n=0, total=0.0, first=None, last=None, rows=[])
        g.n += 1
        g.total += r.amount_yuan or 0.0
        if r.period_month is not None:
            g.first = min(g.first or r.period_month, r.period_month)
            g.last = max(g.last or r.period_month, r.period_month)
        g.rows.append(r)
    return {code: list(groups.values()) for code, groups in out.items()}


def register_text_mask(con) -> None:
    """`hd_audit_mask(text)` on `con`: ID and account numbers inside a free text masked (`mask_free_text`).

    A reason or detail may quote a delivered value (an ID number typed into a balance column is quoted by
    its quarantine reason): every such text a person reads passes through it."""
    from hedui.steps.publish import _register_mask_udf

    _register_mask_udf(con)
