"""`hedui` as an operator meets it: one Chinese line per input error, exit codes, nothing created."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, RUN_DATE

HEDUI = [sys.executable, "-m", "hedui.cli"]


def _hedui(*args, cwd, extra_env=None):
    from hedui.ops import airflow_env

    env = {**os.environ, **airflow_env.configure(), "HEDUI_PROGRESS": "1", **(extra_env or {})}
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_NOTIFY_WEBHOOK"):
        env.pop(var, None)
    return subprocess.run([*HEDUI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _one_chinese_line(res) -> str:
    assert "Traceback" not in res.stderr
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("错误：")
    return lines[0]


@pytest.mark.parametrize("case, expected", [
    ("missing_inbox", "收件箱目录"),
    ("empty_inbox", "没有 20261128 的委托名单"),
    ("other_date", "没有 20261201 的委托名单"),
    ("bad_date", "不是真实存在的日期"),
    ("slash_date", "格式不对"),
])
def test_input_errors_are_one_chinese_line_exit_2_and_create_nothing(tmp_path, world, case, expected):
    inbox, date = {
        "missing_inbox": (tmp_path / "nope", RUN_DATE),
        "empty_inbox": (tmp_path / "empty", "2026-11-28"),  # the dash form is accepted, normalized
        "other_date": (world, "20261201"),
        "bad_date": (world, "20261131"),
        "slash_date": (world, "28/11/2026"),
    }[case]
    (tmp_path / "empty").mkdir()
    before = sorted(tmp_path.rglob("*"))
    res = _hedui("run", "--inbox", str(inbox), "--date", date, "--workdir", str(tmp_path / "work"), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert expected in _one_chinese_line(res)
    assert res.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before  # no workdir, no runs/, no reports/


def test_verbose_after_the_subcommand_shows_the_traceback(tmp_path):
    res = _hedui("run", "--inbox", str(tmp_path / "nope"), "--date", RUN_DATE, "--workdir", str(tmp_path / "w"), "-v",
                 cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" in res.stderr and "InputError" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("错误：收件箱目录")


def test_usage_errors_are_chinese_with_exit_2(tmp_path):
    res = _hedui("run", "--inbox", "x", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "错误：命令行参数有误" in res.stderr


def test_a_run_with_a_missing_source_completes_with_exit_3_and_a_summary(tmp_path, world):
    inbox = tmp_path / "inbox"
    shutil.copytree(world, inbox)
    shutil.rmtree(inbox / "vehicle" / RUN_DATE)
    work = tmp_path / "work"
    res = _hedui("run", "--inbox", str(inbox), "--date", RUN_DATE, "--workdir", str(work), cwd=ROOT)
    assert res.returncode == 3, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert "核对批次 20261128 已完成，但有 1 个数据来源缺失或未通过校验" in res.stdout
    assert "公安 车管（vehicle）：未交付" in res.stdout
    # not a terminal: the progress is plain lines, one per source and step
    assert res.stderr.count("核对批次 20261128：") == 17 and "\r" not in res.stderr
    summary = json.loads((work / "reports" / RUN_DATE / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["sources_missing"] == ["vehicle"] and summary["sources_failed"] == []
    assert summary["outcomes"].get("INCOMPLETE", 0) > 0 and summary["households"] == 60
    assert summary["outcomes"].get("CLEAR", 0) == 0  # a missing source never makes a household look eligible
    assert summary["quarantined_rows"] == sum(s["rows_quarantined"] for s in summary["sources"])
    assert {"load", "link", "assess", "report", "publish", "ingest:vehicle"} <= set(summary["seconds"])
