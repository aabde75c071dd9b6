"""Daily operation, round 7: nothing lost, no false CLEAR (test IDs BA01–BA06).

BA01 a delivery folder that changes while it is read (a second vehicle file arrives with its `.ok` while the first
is read) makes that source's delivery incomplete, naming the file, and its households INCOMPLETE — never CLEAR.
BA02 a re-run of a date that has results, on a request list still being copied (`.ok` says 4 rows, the file holds
2, or no `.ok` yet), replaces nothing: `hedui run` exits 2 with the reason, the nightly DAG's requests task fails
without retries; outcomes.csv and the report pages stay as they were.  (A date without results runs as before:
tests/test_contract_traps12.py and tests/test_privacy_sweep.py pin it.)
BA03 a path over the system's limits given to a command is refused in Chinese, exit 2, before anything runs.
BA04 `hedui pdf --request` with unknown ids shows at most 5, each cut to 40 characters, and how many more.
BA05 the refusal of a date without a request list does not list that date among the complete deliveries.
BA06 the DAGs' `run_date` param and `--date` accept the same forms.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from contract_world import HEADERS, RUN, World, outcomes

MIDNIGHT = dt.datetime(2026, 11, 28, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _csv(header: list[str], rows: list[list]) -> bytes:
    return ("\n".join(",".join(str(c) for c in r) for r in [header, *rows]) + "\n").encode("utf-8")


def _hedui(capsys, *argv: str) -> tuple[int, str, str]:
    from hedui.cli import main

    capsys.readouterr()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


# ------------------------------------------------------------------ BA01


def test_BA01_a_vehicle_file_arriving_while_the_first_is_read_keeps_its_owner_from_clear(tmp_path, monkeypatch):
    """A 300,000-yuan car in a second vehicle file that lands (with its `.ok`) while the first vehicle file is
    being read: the connector listed the folder before, so the file was never read nor named and its owner came
    out CLEAR.  The read itself is real; the hook only drops the file once the first read has begun."""
    import connectors.filedrop as filedrop
    from hedui.pipeline import RunContext, run

    w = World()
    (a,) = w.household("BA01A", [("甘车一", "本人")])
    w.household("BA01B", [("甘车二", "本人")])  # nothing anywhere: CLEAR when every source is read whole
    inbox = tmp_path / "inbox"
    w.write(inbox)
    folder = inbox / "vehicle" / RUN
    second = _csv(HEADERS["vehicle"], [["赣B99999", "小型汽车", "小型轿车", a["name"], a["id"], "2024-05-01", "非营运",
                                        "正常", "300000"]])
    real_read = filedrop._read_file
    dropped = []

    def read_while_the_second_arrives(path, fmt, *args, **kwargs):
        if path.parent == folder and not dropped:
            (folder / "vehicle_补充.csv").write_bytes(second)
            (folder / "vehicle_补充.csv.ok").write_bytes(b"1")
            dropped.append(path.name)
        return real_read(path, fmt, *args, **kwargs)

    monkeypatch.setattr(filedrop, "_read_file", read_while_the_second_arrives)
    monkeypatch.setenv("HEDUI_INGEST_WORKERS", "1")  # the sources in this process, where the hook is
    ctx = RunContext.of(inbox, tmp_path / "work", RUN)
    run(ctx)
    assert dropped == [f"vehicle_{RUN}.csv"]
    got = outcomes(ctx)
    assert got["BA01A"][0] == "INCOMPLETE", got  # not CLEAR: its car was delivered, never read
    assert got["BA01B"][0] == "INCOMPLETE", got  # the vehicle source as a whole is not delivered this run
    import json

    status = json.loads(ctx.path("status", "vehicle", "json").read_text(encoding="utf-8"))
    assert status["status"] == "incomplete"
    reason = "；".join(status["reasons_zh"])
    assert "读取过程中发生变化" in reason and "vehicle_补充.csv" in reason and "重跑" in reason, reason
    assert "SOURCE_MISSING" in got["BA01A"][1], got


def test_BA01_litter_appearing_while_the_delivery_is_read_is_no_change_of_it(tmp_path, monkeypatch):
    """A clerk opens the workbook (Excel writes its `~$` owner file) and a file browser writes `.DS_Store` while the
    nightly reads the folder: the connector neither reads nor counts such files, so the delivery is still whole."""
    import connectors.filedrop as filedrop
    from hedui.pipeline import RunContext, run

    w = World()
    w.household("BA01C", [("甘车三", "本人")])
    inbox = tmp_path / "inbox"
    w.write(inbox)
    folder = inbox / "vehicle" / RUN
    real_read = filedrop._read_file
    dropped = []

    def read_while_litter_arrives(path, fmt, *args, **kwargs):
        if path.parent == folder and not dropped:
            (folder / f"~$vehicle_{RUN}.xlsx").write_bytes(b"\x05clerk" + b"\x00" * 150)
            (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 64)
            dropped.append(path.name)
        return real_read(path, fmt, *args, **kwargs)

    monkeypatch.setattr(filedrop, "_read_file", read_while_litter_arrives)
    monkeypatch.setenv("HEDUI_INGEST_WORKERS", "1")
    ctx = RunContext.of(inbox, tmp_path / "work", RUN)
    run(ctx)
    assert dropped == [f"vehicle_{RUN}.csv"]
    assert outcomes(ctx)["BA01C"] == ("CLEAR", ""), outcomes(ctx)


# ------------------------------------------------------------------ BA02


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """A date run once, whole: 3 households, 4 request rows."""
    from hedui.pipeline import RunContext, run

    w = World()
    w.household("BA02A", [("甘名一", "本人"), ("甘名二", "配偶")])
    w.household("BA02B", [("甘名三", "本人")])
    w.household("BA02C", [("甘名四", "本人")])
    base = tmp_path_factory.mktemp("ba02")
    w.write(base / "inbox")
    ctx = RunContext.of(base / "inbox", base / "work", RUN)
    run(ctx)
    assert len(outcomes(ctx)) == 3
    return base


def _copy(first_run: Path, dest: Path) -> tuple[Path, Path]:
    shutil.copytree(first_run / "inbox", dest / "inbox")
    shutil.copytree(first_run / "work", dest / "work", ignore=shutil.ignore_patterns("*.lock", "tmp"))
    return dest / "inbox", dest / "work"


def _still_copying(inbox: Path, keep_marker: bool = True) -> None:
    """The request list as a copy still running leaves it: 2 of its 4 rows, its `.ok` (4) already there or not."""
    req = inbox / "requests" / RUN / f"requests_{RUN}.csv"
    req.write_bytes(b"\n".join(req.read_bytes().split(b"\n")[:3]) + b"\n")
    if not keep_marker:
        (req.parent / f"{req.name}.ok").unlink()


def _results(work: Path) -> tuple[bytes, list[str]]:
    folder = work / "reports" / RUN
    return (folder / "outcomes.csv").read_bytes(), sorted(p.name for p in (folder / "households").iterdir())


@pytest.mark.parametrize("keep_marker", [True, False], ids=["count", "no_marker"])
def test_BA02_a_rerun_on_a_request_list_still_being_copied_replaces_nothing(first_run, tmp_path, capsys,
                                                                            keep_marker):
    inbox, work = _copy(first_run, tmp_path)
    before = _results(work)
    assert before[0].count(b"\n") == 4
    _still_copying(inbox, keep_marker)
    rc, out, err = _hedui(capsys, "run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(work))
    assert rc == 2, (out, err)
    assert "家庭：0 户" not in out and "家庭：" not in out
    assert f"requests_{RUN}.csv" in err and "已有核对结果（3 户）" in err and "重跑" in err, err
    if keep_marker:
        assert "完成标记写明4行，实际读到2行" in err, err
    else:
        assert "缺少完成标记" in err, err
    assert _results(work) == before  # outcomes.csv and every page as they were


def test_BA02_the_nightly_dags_requests_task_fails_without_retries_and_the_results_stay(
        airflow_db, first_run, tmp_path):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from conftest import ROOT

    inbox, work = _copy(first_run, tmp_path)
    before = _results(work)
    _still_copying(inbox)
    dag = DagBag(dag_folder=str(ROOT / "dags")).dags["hedui_nightly"]
    dagrun = dag.test(logical_date=MIDNIGHT, run_conf={"inbox": str(inbox), "workdir": str(work),
                                                       "cutoff": "06:00"})
    assert "failed" in str(dagrun.state)
    with create_session() as session:
        tis = {(ti.task_id, ti.rendered_map_index): ti for ti in
               session.query(TaskInstance).filter_by(dag_id=dagrun.dag_id, run_id=dagrun.run_id).all()}
        req = tis[("ingest", "requests")]
        assert str(req.state) == "failed" and req.try_number == 1  # failed at once, no retry
        assert str(tis[("load", None)].state) != "success"
    assert _results(work) == before


# ------------------------------------------------------------------ BA03


@pytest.mark.parametrize("case", ["name", "path"])
@pytest.mark.parametrize("arg", ["--inbox", "--workdir"])
def test_BA03_a_path_over_the_systems_limits_is_refused_in_chinese_before_anything_runs(tmp_path, capsys,
                                                                                         case, arg):
    long = str(tmp_path / ("收" * 90)) if case == "name" else str(tmp_path / "/".join(["d" * 200] * 22))
    args = {"--inbox": str(tmp_path / "inbox"), "--workdir": str(tmp_path / "work")}
    (tmp_path / "inbox" / "requests" / RUN).mkdir(parents=True)
    args[arg] = long
    rc, out, err = _hedui(capsys, "run", "--inbox", args["--inbox"], "--date", RUN, "--workdir", args["--workdir"])
    assert rc == 2, err
    assert arg in err and "超过系统上限" in err and ("255" in err if case == "name" else "4095" in err), err
    assert "Traceback" not in err and len(err) < 600
    assert not (tmp_path / "work").exists()


# ------------------------------------------------------------------ BA04


def test_BA04_pdf_with_unknown_request_ids_shows_five_cut_and_says_how_many_more(first_run, capsys):
    ids = ["X" * 5000] + [f"NOPE{n}" for n in range(6)]
    argv = ["pdf", "--workdir", str(first_run / "work"), "--date", RUN]
    for r in ids:
        argv += ["--request", r]
    rc, out, err = _hedui(capsys, *argv)
    assert rc == 2
    assert "X" * 41 not in err and "X" * 40 in err
    assert "NOPE3" in err and "NOPE4" not in err and "另有 2 个" in err, err
    assert len(err) < 800


# ------------------------------------------------------------------ BA05


def test_BA05_the_refusal_for_a_missing_request_list_does_not_list_that_date_as_complete(tmp_path, capsys):
    w = World()
    w.household("BA05A", [("甘日一", "本人")])
    inbox = tmp_path / "inbox"
    w.write(inbox, "20261127")
    folder = inbox / "requests" / RUN
    folder.mkdir(parents=True)
    (folder / f"requests_{RUN}.csv.ok").write_bytes(b"4")  # the marker came first; the list is not there
    rc, out, err = _hedui(capsys, "run", "--inbox", str(inbox), "--date", RUN, "--workdir", str(tmp_path / "w"))
    assert rc == 2 and f"没有 {RUN} 的委托名单" in err, err
    listed = err.rsplit("日期：", 1)[-1]
    assert "20261127" in listed and RUN not in listed, err


# ------------------------------------------------------------------ BA06


def test_BA06_the_dag_param_and_the_cli_take_the_same_date_forms():
    from airflow.dag_processing.dagbag import DagBag
    from conftest import ROOT

    from hedui.errors import InputError
    from hedui.ops.business_date import parse_business_date

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    params = [bag.dags[d].params.get_param("run_date") for d in ("hedui_nightly", "hedui_late_delivery")]

    def dag_takes(text: str) -> bool:
        try:
            for p in params:
                p.resolve(text)
        except Exception:
            return False
        return True

    def cli_takes(text: str) -> bool:
        try:
            parse_business_date(text, "--date")
        except InputError:
            return False
        return True

    for text in ["20261128", "2026-11-28", "2026-1128", "202611-28", " 20261128 "]:
        assert cli_takes(text) and dag_takes(text), text
    for text in ["2026/11/28", "26-11-28", "2026-11-2", "2026--1128"]:
        assert not cli_takes(text) and not dag_takes(text), text
