"""sources.md read as an outsider writing hidden test deliveries would read it, round 26: what round 25 left — amounts
as a cheque or a receipt writes them, dates in Chinese numerals or with a time after an English date, a quarter written
before its year, a weekday that is not the date's, a status word with a remark in brackets — and what a different
department's hand writes besides.

Decided where the contract is silent:
- ``25000元整`` (整: "exactly", as a cheque closes an amount) is 25000 yuan; the currency or the unit in brackets after
  the number (``1,234.00元（人民币）``, ``25000(人民币)``, ``12(万元)``) is the number and its unit — a bracketed
  currency after a bare number is the unit 元, as a trailing ``人民币`` is (sources.md: a cell's own unit wins).  In
  Python, SQL and the parts reader (polars) alike.
- A date in Chinese numerals (``二〇二六年十一月二十八日``, ``二零二六年十一月``; 〇, 零 and ○ are zero) is that date or
  month; a time after a date with an English month name (``Nov 28, 2026 10:00``) is no part of it, as after a date in
  digits.
- ``Q1 2026``, ``Q1-2026``, ``H1 2026`` are periods over several months (round 24's reason), as ``2026Q1`` is.
- A long date whose weekday is not the date's stays no date (round 25), and the reason now says so: which weekday was
  written and which the date is.
- An enum word with a remark in brackets (``正常（在用）``, ``正常(已年检)``, ``死亡(已火化)``) is the word where the remark
  is a word of the same value or names no other value of the column; ``正常（查封）`` or ``正常(已封存)`` says two things
  and stays as delivered (rejected by validation, as any word not in sources.md's vocabulary).
"""

from __future__ import annotations

import datetime as dt

import pytest
from contract_world import HEADERS
from test_contract_deliveries import ID_A, ID_B, ID_C, _deliver
from test_contract_traps25 import _csv


@pytest.fixture(scope="module")
def con(macros):
    """conftest's `macros`: a connection with sql/macros.sql."""
    return macros


def _bank(tmp_path, cells: list[tuple[str, str]], headers: list[str] | None = None):
    """A bank delivery of one account per row of cells (余额, 查询日期 — or the cells of ``headers``' last columns)."""
    head = headers or HEADERS["bank"]
    rows = [head, *[["工商银行", "张三", ID_A, f"62220{k:05d}", "活期", *c] for k, c in enumerate(cells)]]
    return _deliver(tmp_path, "bank", {"b.csv": _csv(rows), "b.csv.ok": str(len(cells)).encode()})


def _civil(tmp_path, deaths: list[str]):
    rows = [HEADERS["civil_affairs"], *[[f"张{k}", ID_A, w, "", "赣州市殡仪馆"] for k, w in enumerate(deaths)]]
    return _deliver(tmp_path, "civil_affairs", {"c.csv": _csv(rows), "c.csv.ok": str(len(deaths)).encode()})


def _tax(tmp_path, periods: list[str]):
    rows = [HEADERS["tax"], *[[(ID_A, ID_B, ID_C)[k % 3], "张三", "工资薪金所得", p, str(9000 + k), "0", "赣州某某有限公司"]
                              for k, p in enumerate(periods)]]
    return _deliver(tmp_path, "tax", {"t.csv": _csv(rows), "t.csv.ok": str(len(periods)).encode()})


# -- 1. amounts as a cheque or a receipt writes them --------------------------------------------------------------

RECEIPT = {"25000元整": 25000.0, "25,000.00元整": 25000.0, "2.5万元整": 25000.0, "1,234.00元（人民币）": 1234.0,
           "25000.00元(人民币)": 25000.0, "25000(人民币)": 25000.0, "1234元(RMB)": 1234.0, "12(万元)": 120000.0,
           "12万元（人民币）": 120000.0, "人民币25000元整": 25000.0}


def test_ay01_an_amount_closed_with_zheng_or_a_bracketed_currency_is_that_amount(tmp_path, con):
    """AY01: a balance written ``25000元整`` or ``1,234.00元（人民币）`` (as a cheque or a receipt writes it) was quarantined
    as “无法识别为金额”: the account unweighed.  Now it is the amount, in Python and SQL alike; ``25000整`` (no unit
    before 整) and ``12(美元)`` stay unreadable / foreign."""
    from matching.normalize import UnparseableAmount, parse_amount

    for written, yuan in RECEIPT.items():
        assert parse_amount(written) == yuan == con.execute("select hd_amount(?, 1)", [written]).fetchone()[0], written
    assert con.execute("select hd_amount('12(人民币)', 10000)").fetchone()[0] == 12.0  # its own unit wins: 元
    for written in ("25000整", "12(美元)", "(25000)整"):
        with pytest.raises(UnparseableAmount):
            parse_amount(written)
        assert con.execute("select hd_amount(?, 1)", [written]).fetchone()[0] is None, written
    manifest, staged, quarantined = _bank(tmp_path, [(b, "20261126") for b in RECEIPT])
    assert not quarantined and [r["balance_yuan"] for r in staged] == list(RECEIPT.values()), quarantined


def test_ay02_a_balance_s_parts_written_as_a_receipt_writes_them_are_summed(tmp_path):
    """AY02: the parts reader (polars) read ``100元整`` or ``30,000.00元（人民币）`` in 活期余额/定期余额 as unreadable: the
    row quarantined (“无法识别为金额”) where staging reads the same cell.  Now it reads them as staging does: the empty
    余额 is their sum, 30,100; and a 余额 ``100元整`` below its parts ``100元整`` + ``5000元整`` is still caught."""
    head = [*HEADERS["bank"][:6], "活期余额", "定期余额", "查询日期"]
    cells = [("", "100元整", "30,000.00元（人民币）", "20261126"), ("100元整", "100元整", "5000元整", "20261126")]
    manifest, staged, quarantined = _bank(tmp_path, cells, head)
    assert [r["balance_yuan"] for r in staged] == [30100.0], (staged, quarantined)
    [q] = quarantined
    assert "“余额”值“100元整”小于“活期余额”、“定期余额”之和5100.0元" in q["reason_zh"], q


# -- 2. dates in Chinese numerals, a time after an English date -----------------------------------------------------

CN_DATES = {"二〇二六年十一月二十八日": dt.date(2026, 11, 28), "二零二六年十一月二十八日": dt.date(2026, 11, 28),
            "二〇二六年三月九日": dt.date(2026, 3, 9), "二〇二六年十月三十一日": dt.date(2026, 10, 31),
            "2026年十一月二十八日": dt.date(2026, 11, 28), "二○二六年十一月二十八日": dt.date(2026, 11, 28),
            "二〇二六年十一月二十八日星期六": dt.date(2026, 11, 28), "二〇二六年十一月二十八号": dt.date(2026, 11, 28)}


def test_ay03_a_date_in_chinese_numerals_is_that_date(tmp_path, con):
    """AY03: 死亡日期 ``二〇二六年十一月二十八日`` (as a death certificate or a letter writes it) was quarantined as no
    date: the death unread.  Now it is 2026-11-28 in Python and SQL; ``二〇二六年二月三十日`` stays no date, and a month
    ``二零二六年十一月`` is 2026-11 (所属期 staged)."""
    from matching.normalize import parse_date, parse_month

    for written, day in CN_DATES.items():
        assert parse_date(written) == day == con.execute("select hd_date(?)", [written]).fetchone()[0], written
    for written in ("二〇二六年二月三十日", "二〇二六年十十月一日"):
        assert parse_date(written) is None and con.execute("select hd_date(?)", [written]).fetchone()[0] is None
    nov = dt.date(2026, 11, 1)
    for written in ("二零二六年十一月", "二〇二六年十一月份", "2026年十一月"):
        assert parse_month(written) == nov == con.execute("select hd_month(?)", [written]).fetchone()[0], written
    manifest, staged, quarantined = _civil(tmp_path, list(CN_DATES))
    assert not quarantined and [r["death_date"] for r in staged] == list(CN_DATES.values()), quarantined
    manifest, staged, quarantined = _tax(tmp_path / "t", ["二零二六年十一月", "二〇二六年十一月份"])
    assert not quarantined and [r["period_month"] for r in staged] == [nov, nov], quarantined


WITH_TIME = ["Nov 28, 2026 10:00", "Nov 28, 2026 10:00 AM", "28-Nov-2026 10:00:00", "November 28, 2026, 3:15 PM",
             "Saturday, November 28, 2026 10:00 AM"]


def test_ay04_a_time_after_an_english_date_is_no_part_of_it(tmp_path, con):
    """AY04: 查询日期 ``Nov 28, 2026 10:00`` (an English export's date and time) was quarantined as no date, though
    ``Nov 28, 2026`` and ``2026-11-28 10:00`` were read.  Now the time is dropped as after a date in digits."""
    from matching.normalize import parse_date

    day = dt.date(2026, 11, 28)
    for written in WITH_TIME:
        assert parse_date(written) == day == con.execute("select hd_date(?)", [written]).fetchone()[0], written
    manifest, staged, quarantined = _bank(tmp_path, [("100", d) for d in WITH_TIME])
    assert not quarantined and [r["query_date"] for r in staged] == [day] * len(WITH_TIME), quarantined


# -- 3. a weekday not the date's; a quarter written before its year --------------------------------------------------

def test_ay05_a_weekday_that_is_not_the_date_s_is_said_to_be_so(tmp_path):
    """AY05: 死亡日期 ``2026年11月28日星期五`` (November 28 is a Saturday) was quarantined with the generic
    “无法识别为日期”, leaving staff to guess what was wrong.  Now the reason names the weekday written and the date's."""
    wrong = ["2026年11月28日星期五", "Friday, November 28, 2026", "二〇二六年十一月二十八日周日"]
    manifest, staged, quarantined = _civil(tmp_path, wrong)
    assert not staged
    said = [("星期五", "星期六"), ("星期五", "星期六"), ("星期日", "星期六")]
    for q, written, (was, day) in zip(quarantined, wrong, said, strict=True):
        assert q["rule"] == "bad_date", q
        assert q["reason_zh"].startswith(f'"死亡日期"值"{written}"中写的{was}与日期不符：2026年11月28日是{day}'), q
        assert "请部门核对后按年月日（如2026-11-28）填写" in q["reason_zh"], q


QUARTER_FIRST = ["Q1 2026", "Q1-2026", "q1/2026", "Q4 2026", "H1 2026", "H2-2026", "Q2 2026年"]


def test_ay06_a_quarter_or_half_written_before_its_year_is_a_period_over_months(tmp_path, con):
    """AY06: 所属期 ``Q1 2026`` was quarantined as “无法识别为月份” while ``2026Q1`` got round 24's reason (a period over
    several months, asking for monthly rows).  Now ``Q1 2026``, ``Q1-2026``, ``H1 2026`` are periods too, in SQL and
    Python (period_ends); ``Q5 2026`` stays no month."""
    from matching.normalize import parse_month, period_ends

    for written in QUARTER_FIRST:
        ends = period_ends(written)
        assert ends and ends[0] < ends[1] and parse_month(written) is None, written
        assert con.execute("select hd_month(?), hd_month_span(?)", [written, written]).fetchone() == (None, True), written
    assert period_ends("Q1 2026") == (dt.date(2026, 1, 1), dt.date(2026, 3, 1))
    assert period_ends("H2 2026") == (dt.date(2026, 7, 1), dt.date(2026, 12, 1))
    assert period_ends("Q5 2026") is None and con.execute("select hd_month_span('Q5 2026')").fetchone()[0] is False
    manifest, staged, quarantined = _tax(tmp_path, QUARTER_FIRST)
    assert not staged
    for q, written in zip(quarantined, QUARTER_FIRST, strict=True):
        assert q["reason_zh"].startswith(f'"所属期"值"{written}"是跨越多个月的期间，不是一个月份'), q


# -- 4. a status word with a remark in brackets ----------------------------------------------------------------------

def test_ay07_a_status_with_a_remark_in_brackets_is_the_status_unless_the_remark_says_another(tmp_path):
    """AY07: 车辆状态 ``正常（在用）`` (the status and, in brackets, the export's own word for it) was kept as delivered and
    rejected, the vehicle unweighed, where ``正常`` and ``在用`` alone are read.  Now a remark that is a word of the same
    value or names no other value leaves the word (正常); ``正常（查封）`` or ``正常(注销登记)`` says two things and stays
    as delivered for validation to reject."""
    statuses = ["正常（在用）", "正常(在用)", "正常 【已年检】", "查封(已查封)", "正常（查封）", "正常(注销登记)"]
    rows = [HEADERS["vehicle"], *[[f"赣B{k:05d}", "小型汽车", "小型轿车", "张三", ID_A, "20200101", "非营运", s, "100000"]
                                  for k, s in enumerate(statuses)]]
    manifest, staged, quarantined = _deliver(tmp_path, "vehicle", {"v.csv": _csv(rows),
                                                                   "v.csv.ok": str(len(statuses)).encode()})
    assert [r["vehicle_status"] for r in staged] == ["正常", "正常", "正常", "查封", "正常（查封）", "正常(注销登记)"]
    rows = [HEADERS["housing_fund"], [ID_A, "张三", "某单位", "5000", "600", "30000", "正常（在用）", "20261126"],
            [ID_B, "李四", "某单位", "5000", "600", "30000", "正常(已封存)", "20261126"]]
    manifest, staged, quarantined = _deliver(tmp_path / "hf", "housing_fund", {"h.csv": _csv(rows), "h.csv.ok": b"2"})
    assert [r["account_status"] for r in staged] == ["正常", "正常(已封存)"]


# -- 5. an amount in Chinese numerals; a day with 廿/卅 and a time in 时 and 分 -------------------------------------------

HANZI = ["贰万伍仟元整", "人民币叁拾万元整", "二万五千元", "¥贰佰元"]


def test_ay08_an_amount_written_in_chinese_numerals_is_quarantined_saying_so(tmp_path):
    """AY08: a balance written ``贰万伍仟元整`` (a cheque's 大写) or ``二万五千元`` was quarantined as “无法识别为金额”, as if
    garbled.  It is not read (no digits); the reason now says it is written in Chinese characters and asks for digits."""
    manifest, staged, quarantined = _bank(tmp_path, [(b, "20261126") for b in HANZI])
    assert not staged and {q["rule"] for q in quarantined} == {"bad_amount"}, quarantined
    for q, written in zip(quarantined, HANZI, strict=True):
        assert q["reason_zh"].startswith(f'"余额"值"{written}"是用汉字写的金额，没有可读的数字，该行未计入'), q
        assert "请部门改用阿拉伯数字（如25000.00）填写后重新交付" in q["reason_zh"], q


CN_DAYS = {"二〇二六年十一月廿八日": dt.date(2026, 11, 28), "二〇二六年十月卅一日": dt.date(2026, 10, 31),
           "2026年11月28日10时30分": dt.date(2026, 11, 28), "2026年11月28日 上午10点": dt.date(2026, 11, 28),
           "2026年11月28日00时00分00秒": dt.date(2026, 11, 28), "二〇二六年十一月二十八日 10时": dt.date(2026, 11, 28)}


def test_ay09_a_day_in_nian_sa_or_a_time_in_shi_and_fen_after_the_date_is_read(tmp_path, con):
    """AY09: 死亡日期 ``二〇二六年十一月廿八日`` (廿 is 20, 卅 30) or ``2026年11月28日10时30分`` (a Chinese system's date and
    time) was quarantined as no date.  Now each is its day, in Python and SQL; ``二〇二六年十一月卅一日`` (no such day)
    and ``2026年11月2810时`` (no 日 before the time: which digits are the day?) stay no date."""
    from matching.normalize import parse_date

    for written, day in CN_DAYS.items():
        assert parse_date(written) == day == con.execute("select hd_date(?)", [written]).fetchone()[0], written
    for written in ("二〇二六年十一月卅一日", "2026年11月2810时"):
        assert parse_date(written) is None and con.execute("select hd_date(?)", [written]).fetchone()[0] is None
    manifest, staged, quarantined = _civil(tmp_path, list(CN_DAYS))
    assert not quarantined and [r["death_date"] for r in staged] == list(CN_DAYS.values()), quarantined


def test_ay10_the_parts_reader_reads_an_amount_s_tail_as_staging_does():
    """AY10: the parts reader (polars, connectors/amount_columns.py) keeps its own copy of the amount's tails (connectors
    do not import matching): the same patterns as matching.normalize.AMOUNT_TAILS, the same values for the same cells."""
    import polars as pl

    from connectors.amount_columns import AMOUNT_TAILS as POLARS_TAILS
    from connectors.amount_columns import _yuan
    from matching.normalize import AMOUNT_TAILS, parse_amount

    assert [p for p, _ in POLARS_TAILS] == [p for p, _ in AMOUNT_TAILS]
    read = pl.DataFrame({"a": list(RECEIPT)}).select(_yuan("a", 1.0)).to_series().to_list()
    assert read == [parse_amount(w) for w in RECEIPT] == list(RECEIPT.values())
