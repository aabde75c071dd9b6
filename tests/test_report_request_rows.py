"""A member whose request row names another program, county or 城市/农村 than the household's (VALUE_UNKNOWN,
evidence_gaps.sql): the household page's 记录 column cites that row and the rows it disagrees with (the
applicant's among them), so staff can tell which rows of the request to correct.  A world written by hand
(tests/contract_world.py), run through the real pipeline; the rendered page is read as staff read it."""

from __future__ import annotations

import html
import re

import pytest
from contract_world import World, new_id, run_world

FILE = "requests/20261128/requests_20261128.csv"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    w = World()
    # rows 2–4: the spouse's row (3) names 农村 and another program than the applicant's (2) and the child's (4)
    rr1 = w.household("RR01", [("甲一", "本人"), ("甲二", "配偶"), ("甲三", "子女")])
    w.rows["requests"][-2].update(城乡类别="农村", 业务类型="特困人员供养")
    # rows 5–7: the applicant's own row (5) is the odd one; the household follows it, so rows 6 and 7 disagree
    rr2 = w.household("RR02", [("乙一", "本人"), ("乙二", "配偶"), ("乙三", "子女")])
    w.rows["requests"][-3].update(区划代码="360703")
    w.add("civil_affairs", 姓名="外人", 身份证号=new_id(), 死亡日期="2026-01-01",
          火化日期="2026-01-02", 殡仪馆="赣州市殡仪馆")  # a delivery is never empty
    return run_world(w, tmp_path_factory, "request_rows"), rr1 + rr2


def _cells(ctx, request_id: str) -> tuple[str, list[str]]:
    """The page, and the 记录 cells of its table 缺少核对所需数值的记录, as text (<br> as a new line)."""
    page = (ctx.report_dir / "households" / f"{request_id}.html").read_text(encoding="utf-8")
    table = page.split("缺少核对所需数值的记录", 1)[1].split("</table>", 1)[0]
    cells = re.findall(r'<td class="cite">(.*?)</td>', table, flags=re.S)
    return page, [html.unescape(c.replace("<br>", "\n")) for c in cells]


def test_a_disagreeing_request_row_cites_the_rows_it_disagrees_with(run):
    ctx, people = run
    page, cells = _cells(ctx, "RR01")
    assert cells == [f"文件 {FILE} 第 3 行\n与第 2 行（本人）、第 4 行（子女）不一致"]
    assert "业务类型“特困人员供养”、城乡类别“农村”与本户（申请人）的" in page  # what the rows say

    page, cells = _cells(ctx, "RR02")  # the applicant's row is the odd one: each other row names it
    assert cells == [f"文件 {FILE} 第 6 行\n与第 5 行（本人）不一致", f"文件 {FILE} 第 7 行\n与第 5 行（本人）不一致"]
    for p in people:  # row numbers and relations only: no name, no full ID number beside them
        assert p["id"] not in page
