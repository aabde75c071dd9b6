"""The read's CPU cuts (BENCHMARKS session 30, "readgb"): the same rows as before on tricky inputs.

BN01–BN03: a chunk's values parsed without the lead line where its first line already has the width.
BN04–BN06: the blank / 合计 / footer rows told apart by one pass of the three patterns, then the three.
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors import raw, textfile
from connectors.raw import _BLANK_RE, _FOOTER_RE, _SUMMARY_RE, _drop_blank_and_summary, positional_names
from connectors.textfile import Chunk, _parse_fast, _parse_values, parse_chunk


def _with_lead(data: bytes, names: list[str], sep: str) -> pl.DataFrame:
    """The old parse: always a lead line of ``len(names)`` empty fields before the data."""
    ncols = len(names)
    lead = (sep * (ncols - 1) + "\n").encode() if ncols > 1 else b"x\n"
    return pl.read_csv(lead + data, has_header=False, separator=sep, quote_char='"',
                       schema=dict.fromkeys(names, pl.String), truncate_ragged_lines=True).slice(1)


TRICKY = [
    b"a,b,c\nd,e,f\n",
    b"a,b,c\nd,e\ng,h,i,j\n\n,,\n",
    b'"a,b",c,d\ne,f,g\n',  # the first line's quoted separator: polars counts 3 fields
    b'"a\nb",c,d\ne,f,g\n',  # the first record spans two lines
    b'"a",b,"c""d"\n"x,y",,\n',
    b"a,b,c,\nd,e,f\n",  # a trailing separator: 4 fields by polars
    b'a,"b,c\nd,e,f\n',  # an unclosed quote on the first line
    b"a,b,c",  # no line end
    b"a,b,c\r\nd,e,f\r\n",
    b",,\n1,2,3\n",
    "甲,乙,丙\n丁,戊,己\n".encode(),
]


@pytest.mark.parametrize("data", TRICKY)
@pytest.mark.parametrize("ncols", [1, 2, 3, 4])
def test_BN01_values_without_lead_equal_with_lead(data: bytes, ncols: int) -> None:
    names = positional_names(ncols)
    try:
        expected = _with_lead(data, names, ",")
    except pl.exceptions.PolarsError as exc:
        with pytest.raises(type(exc)):
            _parse_values(data, names, ",", lead_needed=False)
        return
    assert_frame_equal(_parse_values(data, names, ",", lead_needed=False), expected)
    assert_frame_equal(_parse_values(data, names, ",", lead_needed=True), expected)


def test_BN02_parse_fast_skips_the_copy_only_where_the_first_line_has_the_width(monkeypatch) -> None:
    seen: list[bool] = []
    real = textfile._parse_values

    def spy(data, names, sep, lead_needed=True):
        seen.append(lead_needed)
        return real(data, names, sep, lead_needed)

    monkeypatch.setattr(textfile, "_parse_values", spy)
    # a doubled quote keeps the chunks on the general path (full lines quoted plainly, or not at all:
    # connectors.uniform_chunk)
    full = _parse_fast(Chunk(b'"1""x"\t2\t3\n4\t5\t6\n', 2, 2), 3, "\t")
    short = _parse_fast(Chunk(b'"1"\t2\n4\t5\t6\n', 2, 2), 3, "\t")
    assert seen == [False, True]
    assert full["f2"].to_list() == ["3", "6"] and short["f2"].to_list() == [None, "6"]
    assert full["_row_no"].to_list() == [2, 3] and short["_nf"].to_list() == [2, 3]


@pytest.mark.parametrize("data", [
    b"1,2,3\n4,5\n6,7,8,9\n\n",
    b'"1,x",2,3\n4,5,6\n',
    b"1,2,3\n\"4\n5\",6,7\n",
    b"1,2,3,\n4,5,6\n",
])
def test_BN03_parse_chunk_rows_and_errors_as_with_the_lead(monkeypatch, data: bytes) -> None:
    new = parse_chunk(Chunk(data, 5, data.count(b"\n")), 3, ",", 0)
    monkeypatch.setattr(textfile, "_parse_values", lambda d, n, s, lead_needed=True: _with_lead(d, n, s))
    old = parse_chunk(Chunk(data, 5, data.count(b"\n")), 3, ",", 0)
    assert_frame_equal(new, old)


def _three_passes(batch: pl.DataFrame, fcols: list[str]):
    """The old flags: the three patterns over every first cell."""
    first = pl.col(fcols[0])
    return batch.select(
        first_blank=(first.is_null() | first.str.contains(_BLANK_RE)).fill_null(True),
        summary=first.str.contains(_SUMMARY_RE).fill_null(False),
        footer=first.str.contains(_FOOTER_RE).fill_null(False),
    )


FIRST_CELLS = [
    "360426198509150313", "付超丽", "合计", " 合 计", "总计", "总 合计", "小计：", "共计", "汇总", "汇 总", '"合计"',
    "\u3000合计", "制表人：王五", "审核人", "（以下空白）", "(以下空白)", "备注：无", "注1：金额单位：万元", "注:", "打印时间：2026",
    "", " ", "\u3000", "\ufeff", "\x1a", "\t", None, "合", "计", "总", "注", "x合计", "1合计", "制表", "以下空白 ", "以下空白x",
    "数据截止：2026-11", "单位负责人（签字）：", "制表人：王五 360426198509150313", "\u00a0", "A123", "　付超丽",
]


@pytest.mark.parametrize("cells", [
    FIRST_CELLS,
    ["360426198509150313"] * 5,  # none matches: no per-kind pass
    ["合计", None, "", "制表人：王五"],  # all match
    ["360426198509150313", "合计", "付超丽", None],
])
def test_BN04_one_pass_flags_equal_the_three_passes(cells) -> None:
    n = len(cells)
    batch = pl.DataFrame({"f0": pl.Series(cells, dtype=pl.String),
                          "f1": pl.Series([None if i % 3 else "v" for i in range(n)], dtype=pl.String),
                          "_err": pl.Series([None if i % 4 else "e" for i in range(n)], dtype=pl.String)})
    old = _three_passes(batch, ["f0", "f1"])
    any_kind = batch.select(pl.col("f0").str.contains(raw._ANY_KIND_RE).fill_null(True)).to_series()
    assert any_kind.to_list() == (old["first_blank"] | old["summary"] | old["footer"]).to_list()


def test_BN05_drop_blank_and_summary_as_before(monkeypatch) -> None:
    n = len(FIRST_CELLS)
    rows = {"f0": FIRST_CELLS * 3 + ["360426198509150313"] * 10,
            "f1": ([None, "", "合计", "x", " "] * (3 * n + 10))[:3 * n + 10],
            "f2": (["制表人：王五", None, "360426198509150313"] * (3 * n + 10))[:3 * n + 10]}
    batch = pl.DataFrame(rows, schema=dict.fromkeys(rows, pl.String)).with_columns(
        _err=pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("e")).otherwise(None))
    new = _drop_blank_and_summary(batch, ["f0", "f1", "f2"])
    # the old code: the three patterns over every row, i.e. every row a candidate
    monkeypatch.setattr(raw, "_ANY_KIND_RE", r"^|$")
    old = _drop_blank_and_summary(batch, ["f0", "f1", "f2"])
    assert_frame_equal(new[0], old[0])
    assert new[1:] == old[1:]
    assert new[1] > 0 and new[2] > 0


def test_BN06_no_candidate_batch_keeps_every_row() -> None:
    batch = pl.DataFrame({"f0": ["360426198509150313", "付超丽"], "f1": [None, None], "_err": [None, None]},
                         schema=dict.fromkeys(["f0", "f1", "_err"], pl.String))
    out, n_summary, n_footer, units = _drop_blank_and_summary(batch, ["f0", "f1"])
    assert_frame_equal(out, batch)
    assert (n_summary, n_footer, units) == (0, 0, frozenset())
