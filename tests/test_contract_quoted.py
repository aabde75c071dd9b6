"""The read's line-view skip for quoted chunks (BENCHMARKS session 36, "quoted").

CT01: hostile quoted chunks read by ``parse_chunk`` as the general path (line view + field counts) reads them.
CT02: random chunks of plainly quoted full lines, mutated (a quote, separator, CR, LF added or a byte taken
      away), likewise; most of them take the new path.
CT03: ``quoted_values`` takes a plainly quoted chunk of full lines and refuses every chunk it cannot vouch for.
CT04: whole deliveries (GB18030 and UTF-8 with a BOM, CR LF, quoted separators, a ragged line) read into the
      same raw Parquet and manifest as by the general path, the clean ones through the new path.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_contract_readgap import _same  # parse_chunk against the general path (neither fast path)

from connectors import load_map, read_delivery, textfile
from connectors.raw import positional_names
from connectors.uniform_chunk import quoted_values

DATE = "20261128"
BOM = b"\xef\xbb\xbf"
HOSTILE = [
    b'"a","b,x","c"\n"d","e","f"\n',  # a quoted separator
    b'"a","b\nx","c"\n"d","e","f"\n',  # a quoted line break: one record over two lines
    b'"a","b""x","c"\n"d","e","f"\n',  # a doubled quote
    b'"a",b"x,"c"\n"d","e","f"\n',  # a stray quote inside an unquoted field
    b'x"a","b","c"\n',  # a quote after text
    b'"a"b,"c","d"\n',  # text after a closing quote
    b'"a"b"c","d","e"\n',  # quotes inside a quoted field (polars: "abc", the bytes add up; the line view: odd)
    b'"a" ,"b","c"\n',  # a space after a closing quote
    b'"a,"b","c"\n',  # a quote opening after a quoted separator
    b'"a","b","c\n"d","e","f"\n',  # an odd quote: the rest of the chunk would be one field
    b'"a","b"\n"c","d","e"\n',  # a short line
    b'"a","b","c","d"\n"e","f","g"\n',  # a long line
    b'"a","b"\n"c","d","e",""\n',  # a short first line and a long one
    b'"x","y","z"\n"a","b"\n"c","d","e",""\n',  # a short line made up by a long one (polars' strict parse fails)
    b'"a","b","c"\n\n"d","e","f"\n',  # an empty line
    b'"a","b","c"\r\n"d","e","f"\r\n',  # CR LF
    b'"a","b","c"\r"d","e","f"\n',  # a lone CR between two lines' worth of fields
    b'"a","b\r","c"\n',  # a lone CR inside a quoted field
    b'"a","b","c",\n"d","e","f",\n',  # a trailing separator
    b'"a","b",""\n"c",,""\n',  # empty fields, quoted and not
    b'"a","b","c"\n"d","e","f"',  # no line end at the end
    BOM + b'"a","b","c"\n"d","e","f"\n',  # a BOM (polars drops it: the bytes would not add up)
    BOM + b'x,"a"\n"b"\n"c"\n"d"\n',  # … and the BOM's three bytes must not stand in for missing separators
    b'"a","b","c"\n' + BOM + b'"d","e","f"\n',  # a BOM inside the chunk
    b'"a","b\x00","c"\n',  # a NUL byte
    '"𠮷","张三","3,630.00"\n"欧阳·娜仁","\u3000","\x1a"\n'.encode("gb18030").decode("gb18030").encode(),
    "合计,\"\",\"3,000\"\n张三,110101199001011234,\"3,000\"\n".encode(),
    b'"","",""\n"","",""\n',
]


@pytest.mark.parametrize("data", HOSTILE)
@pytest.mark.parametrize(("ncols", "width"), [(2, 0), (3, 0), (4, 0), (2, 3), (3, 4)])
@pytest.mark.parametrize("sep", [",", "\t"])
def test_CT01_hostile_quoted_chunks_read_as_the_general_path(monkeypatch, data, ncols, width, sep) -> None:
    data = data.replace(b",", sep.encode()) if sep == "\t" else data
    _same(monkeypatch, data, ncols, sep, width=width)
    _same(monkeypatch, data, ncols, sep, first=7, after=7, width=width)  # the header's line dropped


_PLAIN = ["v", '"v"', '""', "", '"1,2"', '"张"', '"3,630.00"', '"a,b,"', '",x"', "z z", "\u3000", '"\t"', "\x1a"]
_MUTATIONS = ['"', ",", "\n", "\r", "\r\n", "", "", "x", '""']


def _near_plain(rng: random.Random, width: int) -> bytes:
    lines = [",".join(rng.choice(_PLAIN) for _ in range(width)) + ("\r" if rng.random() < 0.2 else "")
             for _ in range(rng.randint(1, 10))]
    text = "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")
    for _ in range(rng.choice([0, 1, 1, 2])):
        at, put = rng.randint(0, len(text)), rng.choice(_MUTATIONS)
        text = text[:at] + put + text[at + (0 if put else 1):]  # "": a character taken away
    return text.encode()


@pytest.mark.parametrize("seed", range(4))
def test_CT02_mutated_plain_chunks_read_as_the_general_path(monkeypatch, seed) -> None:
    rng = random.Random(seed)
    taken = []
    real = textfile.quoted_values

    def spy(*args):
        values = real(*args)
        taken.append(values is not None)
        return values

    monkeypatch.setattr(textfile, "quoted_values", spy)
    for _ in range(150):
        width = rng.randint(2, 5)
        data = _near_plain(rng, width)
        sep = "\t" if rng.random() < 0.3 else ","
        data = data.replace(b",", sep.encode()) if sep == "\t" else data
        ncols = rng.choice([width, width - 1]) if width > 2 else width
        _same(monkeypatch, data, ncols, sep, width=width if ncols < width else 0)
    assert sum(taken) > len(taken) // 4  # the new path was taken, and refused too
    assert not all(taken)


def test_CT03_quoted_values_only_where_the_quoting_is_plain_and_every_line_full() -> None:
    names = positional_names(3)
    clean = quoted_values(b'"a","b,c",""\r\nd,,"e"\n', 2, names, ",")
    assert clean is not None and clean.rows() == [("a", "b,c", ""), ("d", None, "e")]
    refused = [
        b'"a","b""c","d"\n',  # a doubled quote
        b'"a",b"c,"d"\n',  # a quote inside an unquoted field
        b'"a"b,"c","d"\n',  # text after a closing quote
        b'"a","b\nc","d"\n',  # a value over two lines
        b'"a","b","c\n',  # an odd quote
        b'"a","b"\n"c","d","e"\n',  # a short line
        b'"x","y","z"\n"a","b"\n"c","d","e",""\n',  # a short line and a long one: the separators add up
        b'"a","b","c"\r"d","e","f"\n',  # a lone CR
        b'"a"b"c","d","e"\n',  # quotes inside a quoted field
        BOM + b'x,"a","b"\n"c",d,e\n"f",g\n"h"\n',  # polars drops a leading BOM: it would make up for 3 separators
        b'"a","b\x00","c"\n',  # a NUL
        b'"a","b","c\xff"\n',  # not UTF-8
    ]
    for data in refused:
        assert quoted_values(data, data.count(b"\n"), names, ",") is None, data
    assert quoted_values(b'"a"\n"b"\n', 2, ["f0"], ",") is None  # one column: nothing to count


_TAX = ["纳税人识别号", "姓名", "所得项目", "所属期", "收入额", "已缴税额", "扣缴义务人"]


def _tax_rows(n: int) -> list[list[str]]:
    return [[f"36042619850915{i:04d}", "付超丽", "工资薪金所得", "202511", f'"{i},630.00"', "0.00",
             '"上饶市鑫源矿业有限公司"'] for i in range(1, n + 1)]


def _deliver(root: Path, name: str, lines: list[str], encoding: str, rows: int) -> Path:
    folder = root / "tax" / DATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    (folder / f"{name}.ok").write_text(str(rows), encoding="ascii")
    return root


def _read(root: Path, out: Path) -> tuple[dict, pl.DataFrame]:
    manifest = dataclasses.asdict(read_delivery(load_map("tax"), root / "tax" / DATE, root, out, DATE))
    for file in manifest["files"]:
        file.pop("raw_parquet", None)
    manifest.pop("raw_parquet", None)
    return manifest, pl.read_parquet(out)


@pytest.mark.parametrize(("encoding", "ragged"), [("gb18030", False), ("utf-8-sig", False), ("gb18030", True)])
def test_CT04_deliveries_read_as_by_the_general_path(monkeypatch, tmp_path, encoding, ragged) -> None:
    lines = [",".join(_TAX)] + [",".join(r) for r in _tax_rows(40)]
    if ragged:
        lines[17] = lines[17].rsplit(",", 1)[0]  # line 18 one field short
    root = _deliver(tmp_path / "inbox", "tax.csv", lines, encoding, 40)
    taken = []
    real = textfile.quoted_values
    monkeypatch.setattr(textfile, "quoted_values", lambda *a: taken.append(real(*a) is not None) or real(*a))
    new_manifest, new = _read(root, tmp_path / "new.parquet")
    monkeypatch.setattr(textfile, "quoted_values", lambda *a: None)
    monkeypatch.setattr(textfile, "uniform_values", lambda *a: None)
    old_manifest, old = _read(root, tmp_path / "old.parquet")
    assert taken == [not ragged]
    assert_frame_equal(new, old)
    assert new_manifest == old_manifest
    assert new["income_yuan"][0] == "1,630.00" and new["withholder"][0] == "上饶市鑫源矿业有限公司"
    errors = new.filter(pl.col("read_error").is_not_null())
    assert errors["row_no"].to_list() == ([18] if ragged else [])
    if ragged:
        assert "第18行有6个字段，表头有7个字段" in errors["read_error"][0]
