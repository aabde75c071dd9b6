"""Daily operation, round 6 (WL): trust in the nightly when deliveries, dates and re-runs misbehave
(DESIGN.md: nothing lost, re-runs safe, a missing source never makes a household look eligible).

- WL01: a department's second file lands in the delivery folder while the first is read: the source is
  incomplete for the run (its households INCOMPLETE, naming the folder's change), never CLEAR on half a delivery.
- WL02: a path argument with a name over 255 bytes (or over 4095 bytes in all): one Chinese line naming the
  argument, exit 2, nothing written (was exit 1 with the system's English `File name too long` and the whole path).
- WL03: `hedui pdf --request` with a 5,000-character value (and 41 more unknown ids): the error shows each id short
  and a few of them, says what to do, exit 2 (the line was 5,000+ characters, every id listed, no next step).
- WL04: a re-run of a completed date while its request list is being re-delivered (the .ok's count not yet the
  file's) stops before load, exit 2, the date's outcomes and pages kept (it replaced them with a run of no
  household: outcomes.csv emptied, every page removed); a request folder with a file but no .ok (or only
  Thumbs.db) is refused before anything is created, as an empty one is.
- WL05: `hedui run` for a date whose request folder is empty said there was no request list for 20261128 and, in
  the same line, listed 20261128 among the dates that have one; now only dates whose list is there whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_world import RUN, WINDOW, World, new_id, outcomes, query

VEHICLE_HEADER = "号牌号码,号牌种类,车辆类型,所有人,证件号码,初次登记日期,使用性质,车辆状态,购置价格"


def _small_world() -> tuple[World, dict]:
    """C01 has nothing anywhere (CLEAR when every source is weighed); V01 will own a car; a filler person
    makes every department deliver a row."""
    w = World()
    w.household("C01", [("甲一", "本人")])
    (car_owner,) = w.household("V01", [("丁一", "本人")])
    o = {"name": "某某", "id": new_id()}
    w.in_every_source(o)
    w.bank(o, "5.00")
    w.add("civil_affairs", 姓名=o["name"], 身份证号=o["id"], 死亡日期="2026-01-01", 火化日期="2026-01-03",
          殡仪馆="某殡仪馆")
    w.wages(o, WINDOW[:1], "100")
    return w, car_owner


def _run(inbox: Path, work: Path, date: str = RUN):
    from hedui.pipeline import RunContext, run

    ctx = RunContext.of(inbox, work, date)
    run(ctx)
    return ctx


def test_wl01_a_file_landing_in_the_folder_while_it_is_read_makes_the_source_incomplete(tmp_path, monkeypatch):
    """WL01: vehicle's folder gets b.csv (V01's 300,000-yuan car, with its .ok) while vehicle_<date>.csv is read.
    The run read one file and called vehicle delivered: V01 came out CLEAR on half a delivery, b.csv named
    nowhere. Now the source is incomplete for the run (folder change named), V01 and C01 INCOMPLETE."""
    import connectors.filedrop as filedrop

    monkeypatch.setenv("HEDUI_INGEST_WORKERS", "1")  # the sources in this process, where the transfer is simulated
    w, owner = _small_world()
    inbox = tmp_path / "inbox"
    w.write(inbox)
    folder = inbox / "vehicle" / RUN
    real_read = filedrop._read_file

    def read_while_the_transfer_goes_on(path, *args, **kwargs):
        real_read(path, *args, **kwargs)
        if path.parent == folder and not (folder / "b.csv").exists():  # the department's second file lands
            (folder / "b.csv").write_text(f"{VEHICLE_HEADER}\n赣B99999,小型汽车,小型轿车,{owner['name']},{owner['id']},"
                                          "2020-05-01,非营运,正常,300000\n", encoding="utf-8")
            (folder / "b.csv.ok").write_text("1", encoding="utf-8")

    monkeypatch.setattr(filedrop, "_read_file", read_while_the_transfer_goes_on)
    ctx = _run(inbox, tmp_path / "work")
    got = outcomes(ctx)
    assert got["V01"][0] != "CLEAR" and got["C01"][0] != "CLEAR", got
    ((status, reasons),) = query(ctx, "select status, reasons_zh from source_status where source = 'vehicle'")
    assert status != "delivered" and "读取过程中发生了变化" in reasons and "b.csv" in reasons, (status, reasons)
    # the re-run the message asks for reads the whole delivery: V01's car is weighed
    monkeypatch.setattr(filedrop, "_read_file", real_read)
    got = outcomes(_run(inbox, tmp_path / "work"))
    assert got["V01"][0] != "CLEAR" and "VEHICLE" in got["V01"][1], got


LONG = "档案" * 50  # 300 bytes in UTF-8: one name over the system's 255
DEEP = "/".join(["b" * 200] * 30)  # every name fine, 6,029 bytes in all


@pytest.mark.parametrize("argv, label", [
    (["run", "--inbox", LONG, "--date", RUN, "--workdir", "w"], "--inbox"),
    (["run", "--inbox", "in", "--date", RUN, "--workdir", DEEP], "--workdir"),
    (["late", "--inbox", "in", "--workdir", f"w/{LONG}", "--date", RUN, "--source", "vehicle"], "--workdir"),
    (["status", "--workdir", LONG], "--workdir"),
    (["pdf", "--workdir", LONG, "--date", RUN], "--workdir"),
    (["generate", "--out", LONG, "--date", RUN], "--out"),
    (["keys", "check", "--workdir", LONG], "--workdir"),
    (["verify", "--workdir", "w", "--request-file", LONG], "--request-file"),
])
def test_wl02_a_path_too_long_for_the_system_is_refused_in_chinese_with_exit_2(argv, label, tmp_path, monkeypatch,
                                                                               capsys):
    """WL02: `hedui status --workdir <300-byte name>` ended with exit 1 and `错误：读写文件失败：[Errno 36] File name
    too long: '<the whole path>'`; now one Chinese line naming the argument and the limit, exit 2, nothing made."""
    from hedui.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in" / "requests" / RUN).mkdir(parents=True)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (rc, err)
    assert label in err and "路径过长" in err and "Errno" not in err and "File name too long" not in err, err
    assert len(err) < 400, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_wl03_unknown_request_ids_for_pdf_are_shown_short_and_few_with_what_to_do(tmp_path, monkeypatch, capsys):
    """WL03: an unknown --request was echoed whole (a 5,000-character paste made a 5,058-character line) and every
    one of 42 listed; now each is cut, five are shown with the count, and the line says where to look."""
    import base64

    from hedui.cli import main

    monkeypatch.setenv("HEDUI_PSEUDONYM_KEY", base64.b64encode(b"k" * 32).decode())
    monkeypatch.setenv("HEDUI_DATA_KEY", base64.b64encode(b"d" * 32).decode())
    (tmp_path / "w" / "reports" / RUN / "households").mkdir(parents=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    extra = [a for i in range(41) for a in ("--request", f"Q{i}")]
    rc = main(["pdf", "--workdir", str(tmp_path / "w"), "--date", RUN, "--request", "R" * 5000, *extra])
    err = capsys.readouterr().err
    assert rc == 2, (rc, err)
    assert len(err) < 400 and "R" * 41 not in err and "Q40" not in err, err[:500]
    assert "42" in err and "outcomes.csv" in err and "--request" in err, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_wl04_a_rerun_without_a_whole_request_list_keeps_the_dates_results(tmp_path, monkeypatch, capsys):
    """WL04: run 20261128 (C01, V01 CLEAR), then its request list re-delivered with the .ok not matching yet and
    the date re-run: exit 3 and `家庭：0 户`, outcomes.csv emptied and both pages deleted. Now exit 2 naming the
    request list, outcomes and pages as they were; a folder whose file has no .ok: refused, nothing created."""
    from hedui.cli import main

    monkeypatch.setenv("HEDUI_INGEST_WORKERS", "1")
    w, _ = _small_world()
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    w.write(inbox)
    argv = ["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work)]
    assert main(argv) == 0
    pages = work / "reports" / RUN / "households"
    kept = {p.name: p.read_bytes() for p in pages.iterdir()}
    table = (work / "reports" / RUN / "outcomes.csv").read_bytes()
    assert set(kept) >= {"C01.html", "V01.html"}, kept.keys()
    capsys.readouterr()
    marker = inbox / "requests" / RUN / f"requests_{RUN}.csv.ok"
    marker.write_text("7", encoding="utf-8")  # the department's new copy is still arriving
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "委托名单" in err and "保持不变" in err, (rc, err)
    assert (work / "reports" / RUN / "outcomes.csv").read_bytes() == table
    assert {p.name: p.read_bytes() for p in pages.iterdir()} == kept
    marker.unlink()  # a file without its .ok: refused before any source is read, nothing created
    fresh = tmp_path / "fresh"
    rc = main(["run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(fresh)])
    err = capsys.readouterr().err
    assert rc == 2 and "委托名单" in err and ".ok" in err and not fresh.exists(), (rc, err)


def test_wl05_the_refusal_of_an_empty_request_folder_points_only_to_dates_with_a_whole_list(tmp_path, capsys):
    """WL05: requests/20261128/ empty, 20261127 whole, 20261126 without its .ok: the refusal listed `20261126、
    20261127、20261128` as the dates having a request list, the refused date among them. Now only 20261127."""
    from hedui.cli import main

    for date, marked in ((RUN, None), ("20261127", True), ("20261126", False)):
        folder = tmp_path / "inbox" / "requests" / date
        folder.mkdir(parents=True)
        if marked is not None:
            (folder / f"requests_{date}.csv").write_text("委托编号\nR1\n", encoding="utf-8")
        if marked:
            (folder / f"requests_{date}.csv.ok").write_text("1", encoding="utf-8")
    rc = main(["run", "--inbox", str(tmp_path / "inbox"), "--date", RUN, "--workdir", str(tmp_path / "w")])
    err = capsys.readouterr().err
    assert rc == 2 and not (tmp_path / "w").exists(), (rc, err)
    listed = err.split("日期：")[-1]
    assert "20261127" in listed and RUN not in listed and "20261126" not in listed, err
