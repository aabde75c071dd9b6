"""Normalizers: the Python reference and its SQL twin (sql/macros.sql) give the same answers."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from matching.idnum import (
    BAD_CHECK,
    CONVERTED_15,
    MALFORMED,
    MISSING,
    SCIENTIFIC,
    VALID,
    check_char,
    clean_id,
    is_valid18,
    legacy15_to_18,
    normalize_id,
)
from matching.normalize import (
    UnparseableAmount,
    is_blank,
    name_sql_exceptions,
    normalize_name,
    parse_amount,
    parse_date,
    parse_month,
)

MACROS = Path(__file__).resolve().parent.parent / "sql" / "macros.sql"

VALID_ID = "11010519491231002X"  # the GB 11643 example


def _id(body17: str) -> str:
    return body17 + check_char(body17)


ID_VECTORS: list[tuple[object, str | None, str]] = [
    (VALID_ID, VALID_ID, VALID),
    ("11010519491231002x", VALID_ID, VALID),
    ("１１０１０５１９４９１２３１００２Ｘ", VALID_ID, VALID),
    ("１１０１０５１９４９１２３１００２ｘ", VALID_ID, VALID),
    (" 110105 19491231 002X\t", VALID_ID, VALID),
    ("\u00a011010519491231002X\u3000", VALID_ID, VALID),
    ("'11010519491231002X", VALID_ID, VALID),
    ('="11010519491231002X"', VALID_ID, VALID),
    ("110105491231002", VALID_ID, CONVERTED_15),
    ("１１０１０５４９１２３１００２", VALID_ID, CONVERTED_15),
    ("110105491331002", None, MALFORMED),  # month 13
    ("110105194912310021", "110105194912310021", BAD_CHECK),
    ("360102198502301234", None, MALFORMED),  # 30 February
    ("360102170001011234", None, MALFORMED),  # year 1700
    ("3.60102E+17", None, SCIENTIFIC),
    ("3.60102e17", None, SCIENTIFIC),
    ("360102E+17", None, SCIENTIFIC),
    ("", None, MISSING),
    ("   ", None, MISSING),
    (None, None, MISSING),
    ("无", None, MALFORMED),
    ("1101051949123100", None, MALFORMED),
    ("11010519491231002Y", None, MALFORMED),
    ("1101051949123100２X", VALID_ID, VALID),
    (_id("36010220000229123"), _id("36010220000229123"), VALID),  # leap day
    ("36010219000229123" + "0", None, MALFORMED),  # 1900 is not a leap year
]


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.sql("set enable_progress_bar = false")
    c.sql(MACROS.read_text(encoding="utf-8"))
    yield c
    c.close()


def _sql_column(con, expr: str, values: list, extra: dict | None = None) -> list:
    table = pa.table({"x": pa.array([None if v is None else str(v) for v in values], pa.string()), **(extra or {})})
    con.register("_vec", table)
    try:
        return [r[0] for r in con.sql(f"select {expr} from _vec").fetchall()]
    finally:
        con.unregister("_vec")


# -- ID numbers ---------------------------------------------------------------

def test_check_char_matches_the_standard_example():
    assert check_char("11010519491231002") == "X"
    assert is_valid18(VALID_ID)
    assert legacy15_to_18("110105491231002") == VALID_ID


@pytest.mark.parametrize(("raw", "value", "status"), ID_VECTORS)
def test_normalize_id_gives_value_and_status(raw, value, status):
    assert normalize_id(raw) == (value, status)


def test_sql_id_macros_agree_with_python(con):
    raws = [r for r, _, _ in ID_VECTORS]
    statuses = _sql_column(con, "hd_id_status(x)", raws)
    norms = _sql_column(con, "hd_id_norm(x)", raws)
    assert statuses == [s for _, _, s in ID_VECTORS]
    assert norms == [v for _, v, _ in ID_VECTORS]


def test_sql_id_macros_agree_on_random_ids(con):
    rng = random.Random(7)
    raws = []
    for _ in range(3000):
        body = f"36{rng.randrange(10000):04d}{rng.randrange(1890, 2030)}{rng.randrange(1, 14):02d}{rng.randrange(0, 32):02d}{rng.randrange(1000):03d}"
        last = rng.choice([check_char(body), rng.choice("0123456789X")])
        raws.append(body + last)
        raws.append(body[:6] + body[8:17])
    py = [normalize_id(r) for r in raws]
    assert _sql_column(con, "hd_id_status(x)", raws) == [s for _, s in py]
    assert _sql_column(con, "hd_id_norm(x)", raws) == [v for v, _ in py]


def test_clean_id_keeps_what_it_cannot_fix():
    assert clean_id(" 3601/02 ") == "3601/02"  # (a dash between digit groups is cleaned: test_contract_traps16)


# -- names ----------------------------------------------------------------------

NAME_VECTORS = [
    ("张三", "张三"),
    (" 张 三 ", "张三"),
    ("张\u3000三", "张三"),
    ("张\u00a0三\t", "张三"),
    ("买买提·艾力", "买买提·艾力"),
    ("买买提.艾力", "买买提·艾力"),
    ("买买提•艾力", "买买提·艾力"),
    ("买买提・艾力", "买买提·艾力"),
    ("买买提‧艾力", "买买提·艾力"),
    ("买买提．艾力", "买买提·艾力"),
    ("ＺＨＡＮＧ　ｓａｎ", "ZHANGsan"),
    ("王*", "王*"),
    ("陈𠮷", "陈𠮷"),
    ("", None),
    ("   ", None),
    (None, None),
]
TRADITIONAL = [("歐陽修", "欧阳修"), ("張 三豐", "张三丰"), ("劉德華", "刘德华"), ("陳\u3000國強", "陈国强")]


@pytest.mark.parametrize(("raw", "expected"), NAME_VECTORS + TRADITIONAL)
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


def test_sql_name_macro_agrees_with_python_except_traditional(con):
    raws = [r for r, _ in NAME_VECTORS]
    assert _sql_column(con, "hd_name_norm(x)", raws) == [e for _, e in NAME_VECTORS]


def test_traditional_names_are_flagged_as_sql_exceptions(con):
    pattern = "[" + name_sql_exceptions() + "]"
    flagged = _sql_column(con, "regexp_matches(x, $p)".replace("$p", "'" + pattern + "'"),
                          [r for r, _ in TRADITIONAL] + ["张三", "买买提·艾力", "陈𠮷"])
    assert flagged == [True] * len(TRADITIONAL) + [False, False, False]


# -- dates, months --------------------------------------------------------------------

DATE_VECTORS = [
    ("20230105", dt.date(2023, 1, 5)),
    ("2023-01-05", dt.date(2023, 1, 5)),
    ("2023/1/5", dt.date(2023, 1, 5)),
    ("2023.1.5", dt.date(2023, 1, 5)),
    ("2023年1月5日", dt.date(2023, 1, 5)),
    ("2023年01月05日", dt.date(2023, 1, 5)),
    ("2023-01-05 13:45:10", dt.date(2023, 1, 5)),
    ("2023-01-05T13:45", dt.date(2023, 1, 5)),
    ("2023-01-05 00:00:00.000", dt.date(2023, 1, 5)),
    (" ２０２３－０１－０５ ", dt.date(2023, 1, 5)),
    ("44931", dt.date(2023, 1, 5)),
    ("44931.5", dt.date(2023, 1, 5)),
    ("2024-02-29", dt.date(2024, 2, 29)),
    ("2023-02-29", None),
    ("2023-13-45", None),
    ("20231301", None),
    ("2023-1", None),
    ("1234", None),
    ("0999-01-01", None),
    ("20230105.0", dt.date(2023, 1, 5)),  # a date column a spreadsheet turned into floats, written back to CSV
    ("20230105.5", None),
    ("20231131.0", None),
    ("不详", None),
    ("", None),
    (None, None),
]
MONTH_VECTORS = [
    ("202303", dt.date(2023, 3, 1)),
    ("2023-03", dt.date(2023, 3, 1)),
    ("2023-3", dt.date(2023, 3, 1)),
    ("2023/3", dt.date(2023, 3, 1)),
    ("2023年3月", dt.date(2023, 3, 1)),
    ("2023-03-15", dt.date(2023, 3, 1)),
    ("20230315", dt.date(2023, 3, 1)),
    ("202313", None),
    ("202303.0", dt.date(2023, 3, 1)),  # Excel's float of 202303, as a CSV written from it holds it
    ("202303.5", None),
    ("2023-00", None),
    ("三月", None),
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("raw", "expected"), DATE_VECTORS)
def test_parse_date(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), MONTH_VECTORS)
def test_parse_month(raw, expected):
    assert parse_month(raw) == expected


def test_sql_date_and_month_macros_agree_with_python(con):
    assert _sql_column(con, "hd_date(x)", [r for r, _ in DATE_VECTORS]) == [e for _, e in DATE_VECTORS]
    assert _sql_column(con, "hd_month(x)", [r for r, _ in MONTH_VECTORS]) == [e for _, e in MONTH_VECTORS]


# -- amounts ---------------------------------------------------------------------------

AMOUNT_VECTORS: list[tuple[object, float, float | None | type]] = [
    ("1234.5", 1, 1234.5),
    ("1,234.50", 1, 1234.5),
    ("1,234.50元", 1, 1234.5),
    ("¥1,234.50", 1, 1234.5),
    ("￥1,234.50", 1, 1234.5),
    ("１２３４．５", 1, 1234.5),
    (" 1 234.5 ", 1, 1234.5),
    ("-12.5", 1, -12.5),
    ("+12", 1, 12.0),
    ("0", 1, 0.0),
    (".5", 1, 0.5),
    ("1.5E3", 1, 1500.0),
    ("1.1", 10000, 11000.0),
    ("12.3456", 10000, 123456.0),
    ("0.000001", 10000, 0.01),
    ("50", 10000, 500000.0),
    ("", 1, None),
    ("  ", 1, None),
    (None, 1, None),
    ("约3万", 1, UnparseableAmount),
    ("1.2.3", 1, UnparseableAmount),
    ("元", 1, UnparseableAmount),
    ("-", 1, UnparseableAmount),
    # a cell's own unit wins over the column's scale (sources.md)
    ("500万元", 1, 5000000.0),
    ("500万元", 10000, 5000000.0),
    ("500.000000万人民币", 1, 5000000.0),
    ("500.000000万人民币", 10000, 5000000.0),
    ("12万", 1, 120000.0),
    ("1.5万", 10000, 15000.0),
    ("1,234.50元", 10000, 1234.5),
    ("1234.5元", 10000, 1234.5),
    ("人民币500元", 10000, 500.0),
    ("人民币500", 1, 500.0),
    ("人民币500", 10000, 5000000.0),
    ("500人民币", 10000, 500.0),
    ("¥50万", 1, 500000.0),
    ("１２万元", 1, 120000.0),
    (" 3 000 万元 ", 1, 30000000.0),
    ("1,000万", 1, 10000000.0),
    ("-2万元", 1, -20000.0),
    ("0.0001万元", 1, 1.0),
    ("50", 1, 50.0),
    ("万元", 10000, UnparseableAmount),
    ("约500万元", 10000, UnparseableAmount),
    ("500万元元", 1, UnparseableAmount),
    ("500美元", 1, UnparseableAmount),
    ("500亿", 1, UnparseableAmount),
    ("人民币", 1, UnparseableAmount),
    ("5万5", 1, UnparseableAmount),
    # a comma is a thousands separator only between groups of three digits: else no amount, never 1234 or 1.0005
    ("-1,234", 1, -1234.0),
    ("1,234,567.8元", 1, 1234567.8),
    ("¥1,000万", 1, 10000000.0),
    ("12,34", 1, UnparseableAmount),
    ("1,2345", 1, UnparseableAmount),
    ("1.000,50", 1, UnparseableAmount),
    ("12,34元", 1, UnparseableAmount),
    ("¥1,2345", 1, UnparseableAmount),
    ("1,000,00万元", 1, UnparseableAmount),
]


@pytest.mark.parametrize(("raw", "scale", "expected"), AMOUNT_VECTORS)
def test_parse_amount(raw, scale, expected):
    if expected is UnparseableAmount:
        with pytest.raises(UnparseableAmount):
            parse_amount(raw, scale)
    else:
        assert parse_amount(raw, scale) == expected


def test_empty_amount_is_unknown_never_zero():
    assert parse_amount("") is None
    assert is_blank("\u3000") and not is_blank("0")


def test_sql_amount_macro_agrees_with_python(con):
    raws = [r for r, _, _ in AMOUNT_VECTORS]
    scales = pa.array([float(s) for _, s, _ in AMOUNT_VECTORS], pa.float64())
    got = _sql_column(con, "hd_amount(x, s)", raws, {"s": scales})
    blank = _sql_column(con, "hd_blank(x)", raws)
    for (raw, _, expected), value, is_empty in zip(AMOUNT_VECTORS, got, blank, strict=True):
        if expected is UnparseableAmount:
            assert value is None and not is_empty, raw
        else:
            assert value == expected, raw


def test_sql_amount_macro_agrees_on_random_decimals(con):
    rng = random.Random(3)
    raws, scales = [], []
    for _ in range(5000):
        digits = rng.choice([0, 1, 2, 3, 4, 6])
        raws.append(f"{rng.uniform(-1e8, 1e8):.{digits}f}")
        scales.append(rng.choice([1.0, 10000.0]))
    got = _sql_column(con, "hd_amount(x, s)", raws, {"s": pa.array(scales, pa.float64())})
    assert got == [parse_amount(r, s) for r, s in zip(raws, scales, strict=True)]


def test_sql_amount_macro_agrees_on_random_cells_with_units(con):
    rng = random.Random(5)
    raws, scales = [], []
    for _ in range(3000):
        number = f"{rng.uniform(-1e6, 1e6):,.{rng.choice([0, 2, 6])}f}"
        prefix = rng.choice(["", "", "¥", "人民币", " "])
        unit = rng.choice(["", "", "元", "万元", "万", "万人民币", "人民币", " 万元", "万元 "])
        raws.append(prefix + number + unit)
        scales.append(rng.choice([1.0, 10000.0]))
    got = _sql_column(con, "hd_amount(x, s)", raws, {"s": pa.array(scales, pa.float64())})
    assert got == [parse_amount(r, s) for r, s in zip(raws, scales, strict=True)]


def test_amount_scale_must_be_a_power_of_ten():
    with pytest.raises(ValueError, match="power of ten"):
        parse_amount("1", 3)


def test_sql_date_and_month_macros_agree_on_random_strings(con):
    rng = random.Random(11)
    forms = ["{y}{m:02d}{d:02d}", "{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日",
             "{y}-{m:02d}-{d:02d} 08:30:00", "{y}{m:02d}", "{y}-{m:02d}", "{y}/{m}", "{y}年{m}月", " {y}-{m}-{d}　",
             "{s}", "{s}.25"]
    raws = []
    for _ in range(4000):
        form = rng.choice(forms)
        raws.append(form.format(y=rng.choice([999, 1000, 1899, 1900, 2000, 2023, 2024, 2100, 9999]),
                                m=rng.randrange(0, 14), d=rng.randrange(0, 33), s=rng.randrange(1000, 120000)))
    assert _sql_column(con, "hd_date(x)", raws) == [parse_date(r) for r in raws]
    assert _sql_column(con, "hd_month(x)", raws) == [parse_month(r) for r in raws]
