"""Operations round 5: what an operator meets when a nightly `hedui run` stops midway.

One small hand-built world (ids OP5xx), its inbox written once; each check runs `hedui run` (the CLI's
`main`, in this process) over it into a working folder of its own, with a real webhook server listening.
"""

from __future__ import annotations

import re

import pytest
from contract_world import RUN, World, fresh_ids
from notify_servers import webhook_server

from hedui.cli import main

_ID = re.compile(r"\d{17}[\dXx]")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    world = World()
    with fresh_ids(951):
        a = world.household("OP501", [("钱进", "本人"), ("李芳", "配偶")])
        world.household("OP502", [("周全", "本人")])
    world.bank(a[0], "1200")
    world.ids = [p["id"] for p in a]
    folder = tmp_path_factory.mktemp("op5") / "inbox"
    world.write(folder)
    return folder, world


def _run(monkeypatch, capsys, inbox, work) -> tuple[int, str, list]:
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_WEBHOOK_CONN_ID", "HEDUI_WEBHOOK_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HEDUI_PROGRESS", "0")
    with webhook_server() as (url, posts):
        monkeypatch.setenv("HEDUI_NOTIFY_WEBHOOK", url)
        code = main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)])
    return code, capsys.readouterr().err, posts


def test_op501_a_run_stopping_midway_notifies_the_failure_naming_its_step(inbox, tmp_path, monkeypatch, capsys):
    """OP501: the audit folder is not a folder (a volume mounted wrong): the run stops in publish; the operator's
    line and the webhook's failure notice name the date and the step, without personal data."""
    folder, world = inbox
    work = tmp_path / "work"
    work.mkdir()
    (work / "audit").write_text("not a folder", encoding="utf-8")
    code, err, posts = _run(monkeypatch, capsys, folder, work)
    assert code == 1, err
    lines = [x for x in err.splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, err
    assert lines[0].endswith("（失败步骤：发布（publish））"), lines[0]
    (_path, body), = posts
    text = body["text"]["content"]
    assert f"核对批次 {RUN} 失败" in text and "失败步骤：发布（publish）" in text and "重跑同一日期" in text, text
    assert not _ID.search(text) and not _ID.search(err)


def test_op502_a_source_that_cannot_be_read_names_the_source_in_the_line_and_the_notice(
        inbox, tmp_path, monkeypatch, capsys):
    """OP502: social insurance answers through an exchange database that is down tonight: the run stops while
    the sources are read (exit 1); the line and the notice name the step and the department, so the operator
    knows whom to call."""
    folder, _world = inbox
    config = tmp_path / "sources.yaml"
    config.write_text("sources:\n  social_insurance: {kind: sql_table, conn_id: hedui_op5_down, table: si_jiaofu}\n",
                      encoding="utf-8")
    monkeypatch.setenv("HEDUI_SOURCES_CONFIG", str(config))
    monkeypatch.setenv("AIRFLOW_CONN_HEDUI_OP5_DOWN", "postgresql://hedui@127.0.0.1:1/exchange")
    code, err, posts = _run(monkeypatch, capsys, folder, tmp_path / "work")
    assert code == 1, err
    lines = [x for x in err.splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, err
    where = "失败步骤：接收与校验数据（sources），数据来源：人社 社会保险（social_insurance）"
    assert lines[0].endswith(f"（{where}）"), err  # one line, though the driver's message has two
    assert lines[0].startswith("错误：无法连接PostgreSQL 127.0.0.1:1") and "读写文件" not in lines[0], lines[0]
    (_path, body), = posts
    assert where in body["text"]["content"], body
