"""Amount units end to end: header maps' default unit, the header's unit, the cell's own unit.

Real files through the file-drop connector and real DuckDB staging (sql/macros.sql).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from connectors import load_map, read_delivery
from connectors.maps import MapError, _parse
from hedui.steps.ingest import stage_source
from matching.normalize import parse_amount

DATE = "20261128"
ID1 = "11010519491231002X"
BR_HEADER = ["统一社会信用代码", "主体名称", "主体类型", "登记状态", "注册资本", "人员姓名", "人员证件号", "人员角色",
             "认缴出资额", "成立日期"]
# (cell, in yuan when the column's unit is 万元, … when it is 元)
CELLS = [
    ("500", 5_000_000.0, 500.0),
    ("500万元", 5_000_000.0, 5_000_000.0),
    ("500.000000万人民币", 5_000_000.0, 5_000_000.0),
    ("1,234.50元", 1234.5, 1234.5),
    ("12万", 120_000.0, 120_000.0),
    ("人民币500元", 500.0, 500.0),
    ("3.5", 35_000.0, 3.5),
    ("", None, None),
]


def _br_rows(cells: list[str]) -> list[list[str]]:
    return [[f"91360100MA{i:08d}", f"某公司{i}", "有限责任公司", "存续", cell, "张三", ID1, "股东", cell, "2015/3/2"]
            for i, cell in enumerate(cells)]


def _write(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    (folder / name).write_bytes(buf.getvalue().encode("gb18030"))
    (folder / f"{name}.ok").write_text(str(len(rows)), encoding="ascii")


def _stage(tmp_path: Path, source: str, header: list[str], rows: list[list[str]]):
    inbox = tmp_path / "inbox"
    _write(inbox / source / DATE, f"{source}_{DATE}.csv", header, rows)
    smap = load_map(source)
    raw = tmp_path / "raw.parquet"
    manifest = read_delivery(smap, inbox / source / DATE, inbox, raw, DATE)
    staged, quarantine = tmp_path / "staged.parquet", tmp_path / "q.parquet"
    counts = stage_source(raw, smap, DATE, staged, quarantine, manifest=manifest, threads=1)
    return manifest, counts, pq.read_table(staged).to_pylist(), pq.read_table(quarantine).to_pylist()


@pytest.mark.parametrize(("header_suffix", "column"), [("", 1), ("（万元）", 1), ("(元)", 2)])
def test_business_registry_amounts_follow_cell_then_header_then_map_unit(tmp_path, header_suffix, column):
    header = [h + header_suffix if h in ("注册资本", "认缴出资额") else h for h in BR_HEADER]
    manifest, counts, staged, quarantine = _stage(tmp_path, "business_registry", header,
                                                  _br_rows([c for c, *_ in CELLS]))
    assert manifest.status == "delivered", manifest.message_zh
    assert quarantine == [] and counts.staged_rows == len(CELLS)
    expected = [row[column] for row in CELLS]
    assert [r["registered_capital_yuan"] for r in staged] == expected
    assert [r["subscribed_yuan"] for r in staged] == expected
    scale = 1.0 if column == 2 else 10000.0
    # the Python reference agrees with what staging's SQL produced
    assert [parse_amount(c, scale) for c, *_ in CELLS] == expected


def test_the_map_default_unit_is_recorded_in_the_manifest(tmp_path):
    manifest, *_ = _stage(tmp_path, "business_registry", BR_HEADER, _br_rows(["50"]))
    assert manifest.files[0].scales == {"registered_capital_yuan": 10000.0, "subscribed_yuan": 10000.0}


def test_other_sources_default_to_yuan_and_honour_cell_units(tmp_path):
    header = ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"]
    rows = [["某银行", "张三", ID1, f"62220000111122{i:02d}", "活期", cell, "2026-11-26"]
            for i, cell in enumerate(["500", "12万", "1.5万元", "1,234.50元", ""])]
    _, _, staged, quarantine = _stage(tmp_path, "bank", header, rows)
    assert quarantine == []
    assert [r["balance_yuan"] for r in staged] == [500.0, 120_000.0, 15_000.0, 1234.5, None]


def test_an_unparseable_amount_is_quarantined_with_a_chinese_reason_never_null_or_zero(tmp_path):
    _, counts, staged, quarantine = _stage(tmp_path, "business_registry", BR_HEADER,
                                           _br_rows(["约500万", "500", "五百万元"]))
    assert counts.staged_rows == 1 and counts.quarantined_rows == 2
    assert [r["registered_capital_yuan"] for r in staged] == [5_000_000.0]
    assert [(q["row_no"], q["rule"]) for q in quarantine] == [(2, "bad_amount"), (4, "bad_amount")]
    # an approximate amount's reason says it is one (STYLE.md: staff text says what was wrong and what to do;
    # test_contract_traps27 BC07)
    assert quarantine[0]["reason_zh"].startswith('"注册资本"值"约500万"是约数，不是确切的金额')
    assert "认缴出资额" in quarantine[0]["reason_zh"]


def test_a_map_unit_must_be_yuan_or_wan_and_only_on_amounts(tmp_path):
    with pytest.raises(MapError, match="单位"):
        _parse({"columns": [{"header": "余额", "column": "balance_yuan", "type": "amount", "unit": "亿元"}]},
               tmp_path / "x.yaml")
    with pytest.raises(MapError, match="单位"):
        _parse({"columns": [{"header": "面积", "column": "area", "type": "number", "unit": "万元"}]},
               tmp_path / "x.yaml")
