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
