"""XLSX exports staff open in Excel/WPS: Chinese headers, names and region names, masked IDs, and no
cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import io

from hedui.safe_csv import neutralize  # the project's one formula neutralizer (= + - @, full-width too)
from hedui.steps.report.display import FINDING_ZH, OUTCOME_ZH
from hedui.web.bidi import show_bidi  # U+202E in a name shown as "[U+202E]", as on the pages


def _workbook(title: str, headers: list[str], rows: list[list]) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                   "strings_to_numbers": False})
    ws = wb.add_worksheet(title[:31])
    head = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    ws.write_row(0, 0, headers, head)
    widths = [max(6, len(h) * 2 + 2) for h in headers]
    for i, row in enumerate(rows, 1):
        for j, value in enumerate(row):
            value = neutralize(show_bidi(value))
            if value is None:
                ws.write_blank(i, j, None)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                ws.write_number(i, j, value)
            else:
                text = str(value)
                ws.write_string(i, j, text)
                widths[j] = min(60, max(widths[j], len(text) * 2 + 2))
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    ws.freeze_panes(1, 0)
    wb.close()
    return buf.getvalue()


def _findings_zh(codes: str | None) -> str:
    return "、".join(FINDING_ZH.get(c, c) for c in (codes or "").split(";") if c)


def outcomes_xlsx(found: list[dict]) -> bytes:
    headers = ["核对批次", "委托编号", "申请人", "身份证号（脱敏）", "所在区县", "业务类型", "核对结论", "情形"]
    return _workbook("核对结论", headers, [
        [r["run_date"], r["request_id"], r.get("applicant"), r.get("applicant_id"), r["region_zh"], r["program"],
         OUTCOME_ZH.get(r["outcome"], r["outcome"]), _findings_zh(r["findings"])] for r in found])


def queue_xlsx(items: list[dict]) -> bytes:
    headers = ["核对批次", "委托编号", "成员", "身份证号（脱敏）", "所在区县", "部门数据", "匹配权重", "状态", "决定人",
               "决定时间"]
    return _workbook("复核队列", headers, [
        [r["run_date"], r["request_id"], r.get("member_name"), r.get("member_masked"), r.get("region_zh"),
         r.get("source_zh"), round(float(r["match_weight"]), 2), r["status_zh"], r.get("decided_by"),
         r["decided_at"].strftime("%Y-%m-%d %H:%M") if r.get("decided_at") else None] for r in items])


def overdue_xlsx(items: list[dict]) -> bytes:
    headers = ["所在区县", "委托编号", "核对批次", "申请人", "异议登记日期", "登记人", "异议内容", "复查期限", "状态", "逾期工作日"]
    return _workbook("逾期复查", headers, [
        [r["region_zh"], r["request_id"], r["run_date"], r.get("applicant"), r["registered_on"], r["registered_by"],
         r["reason"], r["due_on"], r["status_zh"], r.get("overdue_days")] for r in items])
