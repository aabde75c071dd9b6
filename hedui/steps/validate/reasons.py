"""What a failed expectation means to staff: Chinese reasons per row and per source, masked values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hedui.privacy.masking import mask_account, mask_id, mask_long_numbers
from hedui.steps.validate.suites import (
    Suite,
)
from hedui.steps.validate.verdict import FileCounts, over_limit, threshold_reasons

ID_STATUS_ZH = {
    "valid": "有效",
    "converted_15": "由15位旧号码转换",
    "bad_check": "校验位错误",
    "malformed": "格式错误",
    "scientific": "被 Excel 转成了科学计数法，无法恢复",
    "missing": "缺失",
}



# Column kinds whose values are personal and never shown in full.
PERSONAL_KINDS = {"id", "account", "name"}
# Column kinds that never hold a long number: one there (an ID number or an account typed into the
# wrong column) is masked like one (`hedui.privacy.masking.mask_long_numbers`).
NUMBER_FREE_KINDS = {"date", "month", "amount", "number"}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation of the suite, summed over all chunks."""

    rule: str
    columns: list[str]
    on_fail: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    observed_value: Any = None
    kwargs: dict = field(default_factory=dict)



def mask_value(value: Any, kind: str | None) -> str:
    """Text of a value for people to read: IDs `360102********1234`, accounts `****1234`,
    names `张**`; other values as they are (dates ISO, whole numbers without `.0`)."""
    text = format_value(value)
    if text and kind in NUMBER_FREE_KINDS:  # an ID or account typed into a date or amount column
        return mask_long_numbers(text)
    if not text or kind not in PERSONAL_KINDS:
        return text
    if kind == "id":
        return mask_id(text)
    if kind == "account":
        return mask_account(text)
    return text[0] + "*" * (len(text) - 1)


def docs_value(value: Any, kind: str | None) -> Any:
    """A failing value as Data Docs keep it: personal ones masked (`mask_value`), a long number in a
    date or amount column (an ID or account typed there) masked too, every other value unchanged."""
    if kind in PERSONAL_KINDS:
        return mask_value(value, kind)
    if kind in NUMBER_FREE_KINDS and (text := format_value(value)) and (masked := mask_long_numbers(text)) != text:
        return masked
    return value


def format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float | np.floating):
        value = float(value)
        if value.is_integer():  # all digits, not 3.6042920030104723e+17: a long number is masked as one
            return str(int(value)) if abs(value) < 1e16 else f"{value:.0f}"
        return repr(value)
    return str(value).strip()


def reason_zh(exp: dict, kwargs: dict, label: str, raw: Any, shown: str,
              other: tuple[str, str] | None = None) -> str:
    """Chinese reason for one failing value of one expectation.

    `raw` is the staged value, `shown` the text to show (masked where personal);
    `kwargs` are the expectation's arguments as GX ran them. An expectation's
    `meta.reason_zh` template (with `{label}` and `{value}`) wins.
    """
    meta = exp.get("meta", {})
    if meta.get("reason_zh"):
        return meta["reason_zh"].format(label=label, value=shown)
    kind = exp["type"]
    if kind == "expect_column_values_to_not_be_null":
        return f'"{label}"为空，此项必填'
    if kind == "expect_column_values_to_be_in_set":
        return f'"{label}"值"{shown}"不在允许范围（{"/".join(map(str, kwargs["value_set"]))}）内'
    if kind == "expect_column_values_to_be_between":
        return _between_reason(exp, kwargs, label, raw, shown)
    if kind == "expect_column_values_to_match_regex":
        return f'"{label}"值"{shown}"格式不正确（应为{meta.get("format_zh", kwargs.get("regex"))}）'
    if kind == "expect_column_values_to_be_unique":
        return f'"{label}"值"{shown}"重复'
    if kind == "expect_column_pair_values_a_to_be_greater_than_b" and other:
        return f'"{label}"（{shown}）早于"{other[0]}"（{other[1]}）'
    return f'"{label}"值"{shown}"不符合规则 {kind}'


def _between_reason(exp: dict, kwargs: dict, label: str, raw: Any, shown: str) -> str:
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if raw is None:
        return f'"{label}"值无效'
    if isinstance(raw, dt.date):
        value, lo, hi = _as_date(raw), _as_date(lo), _as_date(hi)
        if lo is not None and (value < lo or (kwargs.get("strict_min") and value == lo)):
            return f'"{label}"值"{shown}"早于 {lo.isoformat()}，不合理'
        if exp["kwargs"].get("max_value") == {"$PARAMETER": "run_date"}:
            return f'"{label}"值"{shown}"晚于核对日期 {hi.isoformat()}，日期不能在未来'
        return f'"{label}"值"{shown}"晚于 {hi.isoformat()}，不合理'
    value = float(raw)
    if lo is not None and (value < lo or (kwargs.get("strict_min") and value == lo)):
        if value < 0 <= lo:
            return f'"{label}"值"{shown}"为负数，不能为负'
        if kwargs.get("strict_min"):
            return f'"{label}"值"{shown}"须大于 {format_value(float(lo))}'
        return f'"{label}"值"{shown}"小于下限 {format_value(float(lo))}'
    if value != value:  # NaN
        return f'"{label}"值不是有效数值'
    return f'"{label}"值"{shown}"超过合理上限 {format_value(float(hi))}'


def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, str):
        return dt.date.fromisoformat(v[:10])
    if isinstance(v, np.datetime64):
        v = v.astype("datetime64[D]").item()
    if isinstance(v, dt.datetime):
        return v.date()
    return v


def _rejects(o: ExpectationOutcome, min_bad: int) -> bool:
    """Whether a `reject_source` outcome fails the source.  A rule on a share (`mostly` below 1: usable
    IDs, repeated business keys) fails it only from `min_bad` unexpected rows on, as a file's shares
    do (`verdict.py`): in a delivery of a few dozen rows two bad IDs are 10 %, yet each is weighed
    member by member (linked by name, or its household kept from CLEAR), not a reason to set aside
    every household's evidence from the department."""
    if o.on_fail != "reject_source" or o.success:
        return False
    share_rule = (o.kwargs.get("mostly") or 1.0) < 1.0 and o.unexpected_count is not None
    return not (share_rule and o.unexpected_count < min_bad)


def _reject_reasons(expectations: list[dict], outcomes: list[ExpectationOutcome], min_bad: int = 1) -> list[str]:
    """Chinese reasons for the `reject_source` expectations that fail the source (`_rejects`): the rule's
    `meta.reject_zh` (what is wrong) with the numbers (share and allowed share, or rows expected and found)."""
    reasons = []
    for exp, o in zip(expectations, outcomes, strict=True):
        if not _rejects(o, min_bad):
            continue
        text = exp["meta"].get("reject_zh") or f"规则 {o.rule} 未通过"
        if o.rule == "expect_table_row_count_to_equal":
            reasons.append(f"{text}：应为 {o.kwargs.get('value')} 行，实际 {o.observed_value} 行")
        elif o.rule == "expect_table_row_count_to_be_between":
            reasons.append(f"{text}：实际 {o.observed_value} 行")
        elif o.unexpected_count is not None and o.element_count:
            shown, allowed = over_limit(o.unexpected_count / o.element_count, 1 - (o.kwargs.get("mostly") or 1.0))
            reasons.append(f"{text}占 {shown}（{o.unexpected_count}/{o.element_count} 行），超过允许的 {allowed}")
        else:
            reasons.append(text)
    return reasons


def _delivery_reasons(expectations: list[dict], outcomes: list[ExpectationOutcome], files: list[FileCounts], counts: dict, thresholds: dict) -> list[str]:
    """The reasons judged over the whole delivery: the files over a share of `thresholds` first
    (they name the real cause); an empty staged table is "交付为空" only when nothing was delivered."""
    out = threshold_reasons(files, thresholds)
    emptied = counts["delivered"] > 0 and counts["staged"] == 0
    min_bad = thresholds.get("min_bad_rows", 1)
    for exp, o in zip(expectations, outcomes, strict=True):
        if not _rejects(o, min_bad):
            continue
        text = _reject_reasons([exp], [o], min_bad)[0]
        if emptied and o.rule in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"):
            if not out:
                out.append(f"交付 {counts['delivered']:,} 行，全部被隔离（逐行原因见隔离表），没有可用的行")
            continue
        out.append(text)
    return out


def _warnings(expectations: list[dict], outcomes: list[ExpectationOutcome]) -> list[str]:
    """Chinese warnings for the failed `report` rules of severity warning (e.g. a limited company's
    registered capital under 1 元): `meta.warn_zh` with the number of rows."""
    out = []
    for exp, o in zip(expectations, outcomes, strict=True):
        if o.on_fail != "report" or o.success or exp.get("severity") != "warning":
            continue
        text = exp["meta"].get("warn_zh") or f"规则 {o.rule} 未通过"
        out.append(f"{text}：{o.unexpected_count:,} 行" if o.unexpected_count else text)
    return out


def _threshold_reasons(suite: Suite, rows_in: int, rows_quarantined: int) -> list[str]:
    """Without the delivery's manifest: the quarantined share of the rows validated (the
    pipeline passes the manifest and `hedui.steps.validate.verdict` judges each delivered file instead)."""
    limit = suite.thresholds.get("max_quarantined_share")
    if limit is None or rows_in == 0:
        return []
    share = rows_quarantined / rows_in
    if share <= limit:
        return []
    shown, allowed = over_limit(share, limit)
    return [f"被隔离的记录占 {shown}（{rows_quarantined}/{rows_in} 行），超过允许的 {allowed}"]
