"""Urgent verification (救急难): one household against the latest loaded copy of every source.

The working database is a copy of the session's nightly run of the generated world; the urgent
result for a household, once the per-request sources have answered (with the same files the
nightly had), must be the nightly's outcome and codes.  Before they answer, they are 待反馈 and
the household can only be INCOMPLETE.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from conftest import RUN_DATE

ON_REQUEST = ["bank", "insurance", "securities"]
VERIFY_DATE = "20261202"


def _truth(world: Path) -> dict[str, dict]:
    with open(world / "truth.csv", encoding="utf-8") as fh:
        return {r["scenario"]: r for r in csv.DictReader(fh)}


def _truth_rows(world: Path) -> list[dict]:
    with open(world / "truth.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _nightly(ctx) -> dict[str, tuple[str, str]]:
    with open(ctx.report_dir / "outcomes.csv", encoding="utf-8") as fh:
        return {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}


def _request_file(world: Path, request_id: str, out: Path) -> Path:
    from hedui.urgent import read_request_file

    rows = [r for r in read_request_file(world / "requests" / RUN_DATE / f"requests_{RUN_DATE}.csv")
            if r["委托编号"] == request_id]
    assert rows
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


def _answers(world: Path, out: Path) -> Path:
    for source in ON_REQUEST:
        shutil.copytree(world / source / RUN_DATE, out / source)
    return out


@pytest.fixture
def workdir(world_run, tmp_path) -> Path:
    ctx, _ = world_run
    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(ctx.database, work / "hedui.duckdb")
    return work


def test_verify_marks_per_request_sources_pending_then_reissues_with_their_answers(
        world, world_run, workdir, tmp_path, capsys):
    from hedui.cli import main
    from hedui.urgent import verify_household

    nightly = _nightly(world_run[0])
    fuzzy = _truth(world)["vehicle"]["request_id"]  # a vehicle linked by its owner's ID
    request = _request_file(world, fuzzy, tmp_path / "in" / "request.csv")

    assert main(["verify", "--workdir", str(workdir), "--request-file", str(request), "--date", VERIFY_DATE]) == 0
    out = capsys.readouterr().out
    assert f"委托 {fuzzy} 急难核对完成（第 2 版" in out  # the nightly's report was the first
    assert "待反馈：" in out
    folder = workdir / "reports" / "urgent" / fuzzy
    first_page = folder / f"v2_{VERIFY_DATE}.html"
    page = first_page.read_text(encoding="utf-8")
    assert "待反馈" in page and "（第 2 版报告，急难核对）" in page
    import json

    first = json.loads(first_page.with_suffix(".json").read_text(encoding="utf-8"))
    # the pending sources were not weighed: never CLEAR (a substantive finding still makes it FINDINGS)
    assert first["outcome"] == "FINDINGS"
    codes = set(first["findings"].split(";"))
    assert {"SOURCE_MISSING", "VEHICLE"} <= codes
    assert first["pending"] == ON_REQUEST
    assert first["sources"]["vehicle"] == RUN_DATE and first["sources"]["bank"] is None
    assert not (workdir / "urgent").exists() or not any((workdir / "urgent").iterdir())  # scratch removed

    # the banks, securities and insurers answer: a new version, and now the nightly's very result
    second = verify_household(workdir, request_file=request, answers=_answers(world, tmp_path / "answers"),
                              run_date=VERIFY_DATE)
    assert second["version"] == 3 and Path(second["report"]).name == f"v3_{VERIFY_DATE}.html"
    assert "（第 3 版报告，急难核对）" in Path(second["report"]).read_text(encoding="utf-8")
    assert second["pending"] == []
    assert (second["outcome"], second["findings"]) == nightly[fuzzy]
    assert first_page.exists()  # the earlier version stays
    log = (workdir / "audit" / "audit_log.jsonl").read_text(encoding="utf-8")
    assert log.count('"urgent_verify"') == 2


def test_verify_with_answers_gives_the_nightly_outcome(world, world_run, workdir, tmp_path):
    from hedui.urgent import verify_household

    nightly = _nightly(world_run[0])
    truth = _truth(world)
    answers = _answers(world, tmp_path / "answers")
    for scenario in ("financial_assets_over", "member_not_registered"):
        rid = truth[scenario]["request_id"]
        rows = list(csv.DictReader(open(_request_file(world, rid, tmp_path / f"{scenario}.csv"), encoding="utf-8")))
        got = verify_household(workdir, rows, answers=answers, run_date=VERIFY_DATE)
        assert (got["outcome"], got["findings"]) == nightly[rid], scenario
        assert got["version"] == 2


def test_bad_urgent_requests_are_refused_with_what_to_do(workdir, tmp_path, world):
    from hedui.urgent import VerifyError, verify_from_params

    with pytest.raises(VerifyError, match="不在允许的目录"):
        verify_from_params({"workdir": str(workdir), "request_file": str(world / "truth.csv")})
    with pytest.raises(VerifyError, match="不在允许的目录"):
        verify_from_params({"workdir": str(workdir), "request_file": "../../etc/passwd"})
    with pytest.raises(VerifyError, match="二者取一"):
        verify_from_params({"workdir": str(workdir)})
    two = [{"委托编号": "A", "姓名": "甲", "身份证号": "", "与申请人关系": "本人"},
           {"委托编号": "B", "姓名": "乙", "身份证号": "", "与申请人关系": "本人"}]
    with pytest.raises(VerifyError, match="一次只核对一户"):
        verify_from_params({"workdir": str(workdir), "request_rows": two})
    with pytest.raises(VerifyError, match="未知的列"):
        verify_from_params({"workdir": str(workdir), "request_rows": [{"委托编号": "A", "<script>": "x"}]})
    with pytest.raises(VerifyError, match="没有工作库"):
        verify_from_params({"workdir": str(tmp_path / "empty"), "request_rows": two[:1]})


def test_on_demand_dag_verifies_a_household(airflow_db, world, world_run, workdir, tmp_path, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from conftest import ROOT

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    dag = bag.dags["hedui_on_demand"]
    assert dag.schedule is None
    allowed = tmp_path / "requests_in"
    monkeypatch.setenv("HEDUI_REQUEST_DIR", str(allowed))
    rid = next(r["request_id"] for r in _truth_rows(world) if r["scenario"] == "clean")
    _request_file(world, rid, allowed / "urgent.csv")
    run = dag.test(run_conf={"workdir": str(workdir), "request_file": "urgent.csv", "run_date": VERIFY_DATE})
    assert "success" in str(run.state)
    page = workdir / "reports" / "urgent" / rid / f"v2_{VERIFY_DATE}.html"
    assert page.exists()
    import json

    got = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    assert (got["outcome"], got["findings"]) == ("INCOMPLETE", "SOURCE_MISSING")  # clean, but banks pending
    assert got["pending"] == ON_REQUEST
    # a file outside the allowed folder: the run fails, nothing is issued
    bad = dag.test(run_conf={"workdir": str(workdir), "request_file": str(world / "truth.csv")})
    assert "failed" in str(bad.state)
