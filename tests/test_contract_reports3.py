"""The household report as staff and caseworkers read it, round 3 (DESIGN.md "Personal data stays protected":
ID and account numbers masked, names are not; "Every fact in a report cites its origin"), on a world written by
hand (tests/contract_world.py) run twice through the real pipeline (a 复核 of the same request a month later):

- RQ01: a member's name is written the same way in every table of the page (full name, masked ID): the tables of
  待核实的信息 and the lineage of a figure wrote 袁* while the members, findings and gaps wrote 袁待核;
- RQ02: the 复核 table of changes names the member by name and masked ID (it gave the masked ID alone);
- RQ03: the income window and the previous batch are dates written the Chinese way, as the page's header is;
- RQ04: a long 坐落 in the 不动产登记 table is readable at 1100 px and in the PDF (it was squeezed to one or two
  characters a line beside an unbreakable 不动产单元号)."""

from __future__ import annotations

import re
import subprocess

import contract_world
import pytest
from contract_world import RUN, WINDOW, World, fresh_ids

RUN2 = "20261228"
LOCATION = "江西省赣州市章贡区红旗大道某某小区某某栋某某单元某某层某某号房（含地下车位及附属储藏间）"


def build(second: bool) -> World:
    w = World()
    a, b = w.household("RQ01", [("袁待核", "本人"), ("袁有房", "配偶")])
    w.bank({"name": "袁代核", "id": ""}, "100000", account="6216000055550000501")  # waits for staff
    w.bank(a, "8O0.00", account="6216000055550000401")  # quarantined
    w.wages(a, WINDOW, "3000", tax="20")  # income over the standard: a figure with its lineage
    w.flat(b, "360702001001GB00101F00060001", location=LOCATION)
    w.flat(b, "360702001001GB00101F00060002", location=LOCATION + "二期", area="")  # value unknown
    _, spouse = w.household("RQ02", [("柏复核", "本人"), ("柏配偶", "配偶")])
    if second:
        w.car(spouse, "200000")  # bought between the two checks
    for _ in range(12):
        w.bank({"name": "路人", "id": contract_world.new_id()}, "10")
    return w


def text(html: str) -> str:
    """A page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    import html as h

    html = re.sub(r"(?s)<style.*?</style>", "", html)
    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", " ", html)))


def masked(pid: str) -> str:
    return f"{pid[:6]}********{pid[-4:]}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from hedui.pipeline import RunContext
    from hedui.pipeline import run as run_pipeline

    base = tmp_path_factory.mktemp("rq")
    ctxs, worlds = {}, {}
    for date, second in ((RUN, False), (RUN2, True)):
        with fresh_ids(930):  # the same people in both deliveries
            worlds[date] = w = build(second)
        w.write(base / "inbox", date)
        ctxs[date] = RunContext.of(base / "inbox", base / "work", date)
        run_pipeline(ctxs[date])
    return worlds, ctxs


def page(ctx, rid: str) -> str:
    return (ctx.report_dir / "households" / f"{rid}.html").read_text(encoding="utf-8")


def person(world: World, name: str) -> str:
    return next(r["身份证号"] for r in world.rows["requests"] if r["姓名"] == name)


def section(t: str, start: str, end: str) -> str:
    return t[t.index(start):t.index(end, t.index(start))]


def test_rq01_every_table_of_the_page_names_a_member_the_same_way(run):
    """RQ01: the waiting, quarantined and missing-value tables and the figure's lineage name the member as the
    members table does (full name, masked ID); no table shortens a name to 袁*."""
    worlds, ctxs = run
    t = text(page(ctxs[RUN], "RQ01"))
    a, b = (masked(person(worlds[RUN], n)) for n in ("袁待核", "袁有房"))
    assert "袁*" not in t
    assert f"袁待核 {a} 本人 已授权" in t  # the members table
    waiting = section(t, "待人工确认的可能匹配记录（1 条）", "被隔离的相关记录")
    assert f"银行 账户 文件 bank/20261128/bank_20261128.csv 第 2 行 袁待核（{a}，本人）" in waiting
    quarantined = section(t, "被隔离的相关记录（1 条）", "缺少核对所需数值的记录")
    assert f"第 3 行 袁待核（{a}） {a} 按身份证号关联到该成员的记录被隔离" in quarantined
    unknown = section(t, "缺少核对所需数值的记录（1 条）", "家庭指标与政策限额")
    assert f"real_estate_20261128.csv 第 3 行 袁有房（{b}） 记录缺少“建筑面积”" in unknown
    lineage = section(t, "家庭月人均收入高于保障标准", "逐条记录")
    assert "袁待核（本人） 税务 个人所得税 工资薪金所得" in lineage
    # the ID and account numbers stay masked everywhere
    assert person(worlds[RUN], "袁待核") not in t and "6216000055550000501" not in t


def test_rq02_a_recheck_lists_what_changed_naming_the_member_and_the_earlier_batch(run):
    """RQ02 and RQ03: the 复核 page says which earlier check it compares with (its batch as a Chinese date) and
    names the member whose vehicle is new by name and masked ID, as the rest of the page does."""
    worlds, ctxs = run
    t = text(page(ctxs[RUN2], "RQ02"))
    spouse = masked(person(worlds[RUN2], "柏配偶"))
    assert "与上次核对相比（复核：本委托的上一版报告）" in t
    assert "上次核对：批次 2026年11月28日，委托编号 RQ02，结论 “未发现超出政策规定情形”" in t
    assert re.search(rf"新增 车辆 柏配偶（{re.escape(spouse)}） [^ ]*车辆 赣B", t), t


def test_rq03_the_income_window_is_written_as_chinese_dates(run):
    """RQ03: the months income is averaged over, written as the header writes its dates (not 2025-11-01)."""
    _, ctxs = run
    t = text(page(ctxs[RUN], "RQ01"))
    assert "月人均收入（2025年11月1日至2026年11月1日前，12 个月平均）" in t
    assert "2025-11-01" not in t


def _cells(html_path, width: int, media: str, pattern: str) -> list[tuple[str, int]]:
    """(text, lines) of each cell of the page whose whole text matches `pattern`, laid out by Chromium at
    `width` px for `media`."""
    from hedui.steps.report.pdf import _page, browser

    with browser() as b:
        p = _page(b, width)
        p.emulate_media(media=media)
        p.goto(html_path.resolve().as_uri(), wait_until="load")
        cells = p.evaluate("""(pattern) => [...document.querySelectorAll('td')]
            .filter(td => td.children.length === 0 && new RegExp(pattern).test(td.textContent))
            .map(td => { const r = document.createRange(); r.selectNodeContents(td);
                         return [td.textContent,
                                 new Set([...r.getClientRects()].map(x => Math.round(x.top))).size]; })""",
                           pattern)
        p.close()
    return [tuple(c) for c in cells]


def test_rq04_a_long_location_is_readable_on_screen_and_in_print(run, tmp_path):
    """RQ04: the 不动产登记 table's 坐落 beside its 28-character 不动产单元号: at least 6 characters a line at
    1100 px and on A4 (it was 2 a line: 24 lines for 46 characters); the PDF's text shows the same."""
    from hedui.steps.report.pdf import to_pdf

    _, ctxs = run
    html = ctxs[RUN].report_dir / "households" / "RQ01.html"
    for width, media in ((1100, "screen"), (703, "print")):  # 703 px: A4 less the page's 12 mm margins
        cells = _cells(html, width, media, "^" + re.escape(LOCATION[:12]))
        assert len(cells) == 2 and all(len(t) / lines >= 6 for t, lines in cells), (width, cells)
        # the room is not taken from the figures: the household's income total is on one line
        assert _cells(html, width, media, "^36,000\\.00$") == [("36,000.00", 1)], width
    pdf = tmp_path / "RQ01.pdf"
    assert to_pdf([(html, pdf)]) == 1
    layout = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                            check=True).stdout
    records = layout[layout.index("各成员查得记录"):]
    pieces = [m for m in re.findall(r"[\u4e00-\u9fff（）]+", records) if m in LOCATION]
    assert max(map(len, pieces)) >= 6, pieces
