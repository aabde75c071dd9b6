"""The read's line-view skip (BENCHMARKS session 35, "readgap"): a quote-free chunk of full lines parsed once.

CO01: hostile chunks read by ``parse_chunk`` as the general path (line view + field counts) reads them.
CO02: random chunks (ragged, blank, CRLF, trailing separators, every line full) likewise, at several widths.
CO03: ``uniform_values`` takes a clean chunk and refuses every chunk it cannot vouch for.
CO04: a chunk whose bytes are not UTF-8 still gets its bad line's read error (the general path raises for it).
"""

from __future__ import annotations

import copy
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from connectors import textfile
from connectors.raw import positional_names
from connectors.textfile import Chunk, parse_chunk
from connectors.uniform_chunk import uniform_values

HOSTILE = [
    b"a,b,c\nd,e,f\n",
    b"a,b,c\nd,e,f",  # no line end
    b"a,b,c\r\nd,e,f\r\n",
    b"a,b,c\nd,e\ng,h,i,j\n",  # a short and a long line: the separators add up, the lines do not
    b"a,b,c\n\nd,e,f,\n",  # a blank line made up by a trailing separator
    b"a,b,c\r\nd,e\r,f\n",  # a lone CR inside a field
    b"a,b,c\rd,e,f\n",  # a lone CR between two lines' worth of fields
    b"a,b,\n,,\n,,c\n",  # empty fields, the last one empty
    b"a,b,c\n \t, ,\u3000\n".replace(b"\\u3000", "\u3000".encode()),
    b"a,b,c\n\x1a\n",  # DOS end-of-file mark
    b"a,b\x00,c\nd,e,f\n",  # a NUL byte
    "甲,乙,丙\n丁,戊,己\n".encode(),
    "合计,,\n张三,110101199001011234,3000\n".encode(),
    b"a,b,c\nd,e,f\n\n",  # a blank last line
    b"a,b,c,d\ne,f\n",  # the first line long, the second short
    b"\n\n\n",
]


def _general(monkeypatch, chunk: Chunk, *args) -> tuple[pl.DataFrame | type, dict]:
    with monkeypatch.context() as m:  # neither fast path: the line view decides every chunk
        m.setattr(textfile, "quoted_values", lambda *a: None)
        m.setattr(textfile, "uniform_values", lambda *a: None)
        try:
            return parse_chunk(chunk, *args), chunk.bad
        except pl.exceptions.PolarsError as exc:
            return type(exc), chunk.bad


def _same(monkeypatch, data: bytes, ncols: int, sep: str = ",", first: int = 1, after: int = 0,
          width: int = 0) -> None:
    chunk = Chunk(data, first, data.count(b"\n") + (0 if data.endswith(b"\n") else 1))
    old, old_bad = _general(monkeypatch, copy.deepcopy(chunk), ncols, sep, after, width)
    if isinstance(old, type):
        with pytest.raises(old):
            parse_chunk(chunk, ncols, sep, after, width)
        return
    new = parse_chunk(chunk, ncols, sep, after, width)
    assert_frame_equal(new, old)
    assert chunk.bad == old_bad


@pytest.mark.parametrize("data", HOSTILE)
@pytest.mark.parametrize(("ncols", "width"), [(1, 0), (2, 0), (3, 0), (4, 0), (2, 3), (3, 4)])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_CO01_hostile_chunks_read_as_the_general_path(monkeypatch, data, ncols, width, sep) -> None:
    data = data.replace(b",", sep.encode()) if sep == "\t" else data
    _same(monkeypatch, data, ncols, sep, width=width)
    _same(monkeypatch, data, ncols, sep, first=7, after=7, width=width)  # the header's line dropped


def _random_chunk(rng: random.Random, width: int, full: bool) -> bytes:
    cells = ["", " ", "x", "张三", "110101199001011234", "3000.5", "\u3000", "\x1a", "合计", "制表人：王五", "a\rb"]
    lines = []
    for _ in range(rng.randint(1, 40)):
        n = width if full or rng.random() < 0.7 else rng.choice([0, 1, width - 1, width + 1, width + 2])
        line = ",".join(rng.choice(cells) for _ in range(n))
        lines.append(line + ("\r" if rng.random() < 0.2 else ""))
    return ("\n".join(lines) + ("\n" if rng.random() < 0.8 else "")).encode()


@pytest.mark.parametrize("seed", range(6))
def test_CO02_random_chunks_read_as_the_general_path(monkeypatch, seed) -> None:
    rng = random.Random(seed)
    for _ in range(25):
        width = rng.randint(2, 6)
        data = _random_chunk(rng, width, full=rng.random() < 0.5)
        ncols = rng.choice([width, width - 1])
        _same(monkeypatch, data, ncols, width=width if ncols < width else 0)
        _same(monkeypatch, data, width, first=3, after=3)


def test_CO03_uniform_values_only_where_every_line_is_full() -> None:
    names = positional_names(3)
    clean = uniform_values(b"a,b,c\r\nd,,\n", 2, names, ",")
    assert clean is not None and clean.rows() == [("a", "b", "c"), ("d", None, None)]
    refused = [
        b"a,b,c\nd,e\ng,h,i,j\n",  # separators add up, lines do not
        b'"a,b",c\nd,e,f\n',  # a quote
        b"a,b,c\n\nd,e,f,\n",  # a blank line and a trailing separator
        b"a,b\nc,d\n",  # short lines
        b"a,b,c,d\n",  # a long line
        b"a,b,c\xff\n",  # not UTF-8
        b"a,b\x00,c\n",  # a NUL
    ]
    for data in refused:
        assert uniform_values(data, data.count(b"\n"), names, ",") is None, data
    assert uniform_values(b"a\nb\n", 2, ["f0"], ",") is None  # one column: nothing to count


def test_CO04_bytes_not_utf8_get_their_read_error() -> None:
    data = "甲,乙,丙\n".encode() + b"\xff\xfe,b,c\n" + "丁,戊,己\n".encode()
    chunk = Chunk(data, 2, 3, {}, "utf-8", validated=False)
    frame = parse_chunk(chunk, 3, ",", 0)
    assert frame["_row_no"].to_list() == [2, 3, 4]
    assert frame["_err"].is_null().to_list() == [True, False, True]
    assert "UTF-8" in frame["_err"][1]
