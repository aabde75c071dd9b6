"""The bad-input corpus (tests/bad_inputs/): every case through the real file-drop connector.

A case is a folder: ``case.yaml`` (the source, what it shows, the expected
verdict and message), ``delivery/`` (copied to ``inbox/<source>/<date>/``),
``outside/`` (copied beside the inbox: what a link may point at) and, in
``make``, what git cannot hold (links, a FIFO, a name with a newline, a zip
bomb).  Add a case by adding a folder; the test picks it up.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml

from connectors import load_map, read_delivery
from connectors.limits import REASON_MAX, InputLimits

CORPUS = Path(__file__).parent / "bad_inputs"
DATE = "20261128"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


def _make(step: dict, root: Path, folder: Path, source: str) -> None:
    if "symlink" in step:
        target = step["to"] if step["to"].startswith("/") else str(root / step["to"])
        os.symlink(target, folder / step["symlink"])
    elif "hardlink" in step:
        os.link(root / step["to"], folder / step["hardlink"])
    elif "fifo" in step:
        os.mkfifo(folder / step["fifo"])
    elif "copy" in step:
        shutil.copy(folder / step["copy"], folder / step["as"])
    elif "zip_bomb" in step:
        with zipfile.ZipFile(folder / step["zip_bomb"], "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("xl/worksheets/sheet1.xml", "<c/>" * (step["unpacked_bytes"] // 4))
    elif "parquet_bomb" in step:
        import pyarrow as pa
        import pyarrow.parquet as pq

        headers = ["机构名称", "户名", "证件号码", "账号", "账户类型", "余额", "查询日期"]
        pq.write_table(pa.table({h: ["某" * 50] * step["rows"] for h in headers}), folder / step["parquet_bomb"],
                       compression="zstd", use_dictionary=False)
        (folder / (step["parquet_bomb"] + ".ok")).write_text(str(step["rows"]))
    elif "link_date_folder" in step:
        shutil.rmtree(folder, ignore_errors=True)
        os.symlink(root / step["link_date_folder"], folder)
    elif "link_source_folder" in step:
        shutil.rmtree(folder.parent, ignore_errors=True)
        os.symlink(root / step["link_source_folder"], folder.parent)
    else:
        raise ValueError(f"unknown make step {step}")


def build_case(name: str, root: Path) -> tuple[dict, Path]:
    """Lay the case out under ``root`` (inbox/ and outside/); return its spec and the inbox."""
    case_dir = CORPUS / name
    spec = yaml.safe_load((case_dir / "case.yaml").read_text(encoding="utf-8"))
    inbox = root / "inbox"
    folder = inbox / spec["source"] / DATE
    folder.mkdir(parents=True)
    if (case_dir / "delivery").is_dir():
        shutil.copytree(case_dir / "delivery", folder, dirs_exist_ok=True)
    if (case_dir / "outside").is_dir():
        shutil.copytree(case_dir / "outside", root / "outside")
    for step in spec.get("make", []):
        _make(step, root, folder, spec["source"])
    return spec, inbox


def test_the_corpus_has_cases_and_each_names_a_verdict_and_a_message():
    assert len(CASES) >= 20
    for name in CASES:
        spec = yaml.safe_load((CORPUS / name / "case.yaml").read_text(encoding="utf-8"))
        assert spec["expect"]["verdict"] in ("delivered", "incomplete", "missing"), name
        assert {"message", "row_error", "problem"} & set(spec["expect"]), name
        assert spec.get("description"), name


@pytest.mark.parametrize("name", CASES)
def test_bad_input_case(name, tmp_path):
    spec, inbox = build_case(name, tmp_path)
    expect = spec["expect"]
    source = spec["source"]
    limits = InputLimits(**{**vars(InputLimits()), **spec.get("limits", {})})
    out = tmp_path / "raw.parquet"
    manifest = read_delivery(load_map(source), inbox / source / DATE, inbox, out, DATE, limits=limits)

    assert manifest.status == expect["verdict"], manifest.message_zh
    if "message" in expect:
        assert expect["message"] in manifest.message_zh, manifest.message_zh
    every_reason = manifest.problems + [p for f in manifest.files for p in f.problems]
    if "problem" in expect:
        assert any(expect["problem"] in p for p in every_reason), every_reason
    # short, capped reasons: nothing from a file is copied at length into a message
    assert all(len(p) <= REASON_MAX for p in every_reason), [len(p) for p in every_reason]
    assert len(manifest.message_zh) <= 10 * (REASON_MAX + 1) + 100
    for text in expect.get("not_in_message", []):
        assert text not in manifest.message_zh and not any(text in p for p in every_reason), text
    raw = pl.read_parquet(out)
    if "row_error" in expect:
        errors = raw["read_error"].drop_nulls().to_list()
        assert any(expect["row_error"] in e for e in errors), errors
        assert all(len(e) <= REASON_MAX for e in errors)
    if "rows_read" in expect:
        assert raw.height == expect["rows_read"] == manifest.rows_total
        assert manifest.files[0].marker_count == expect["rows_read"]  # the row is kept: counts still agree
    if "rows_with_errors" in expect:
        assert raw["read_error"].is_not_null().sum() == expect["rows_with_errors"]
    for text in expect.get("not_in_raw", []):
        assert not any(text in str(v) for row in raw.iter_rows() for v in row), text
    if manifest.status != "delivered":
        # a refused source contributes nothing from outside the delivery
        assert not any("赵秘密" in str(v) for row in raw.iter_rows() for v in row)
