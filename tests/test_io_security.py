"""Every way data comes in or goes out, through the real CLI: a hostile inbox, bad dates, colliding
request ids, formula cells, oversized lines and fields."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import RUN_DATE

from hedui import cli
from hedui.ops.run_summary import EXIT_SOURCES
from hedui.paths import InvalidPathComponent, report_file_stem, validate_run_date
from hedui.safe_csv import neutralize

SECRET = "秘密银行,赵秘密,360102199001010042,6222999988887777,活期,9876543.21,2026-11-20\n"
FORMULA_ID = '=HYPERLINK("http://evil.example/x","点击")'
PAYLOAD = "<img src=x onerror=\"document.title='XSS'\">"


def _text(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError(path)


def _append_rows(path: Path, lines: list[str]) -> None:
    text, enc = _text(path)
    path.write_bytes((text.rstrip("\r\n") + "\n" + "\n".join(lines) + "\n").encode(enc.replace("-sig", "")))
    ok = path.with_name(path.name + ".ok")
    ok.write_text(str(int(ok.read_text()) + len(lines)))


def _only(inbox: Path, source: str) -> Path:
    [path] = (inbox / source / RUN_DATE).glob("*.csv")
    return path


@pytest.fixture(scope="module")
def hostile(world, tmp_path_factory):
    """The world with a hostile inbox, run once with `hedui run`: (workdir, report dir, exit code, stderr)."""
    root = tmp_path_factory.mktemp("hostile")
    inbox = root / "inbox"
    shutil.copytree(world, inbox)
    (root / "outside").mkdir()
    (root / "outside" / "secret.csv").write_text("机构名称,户名,证件号码,账号,账户类型,余额,查询日期\n" + SECRET,
                                                 encoding="utf-8")
    bank = inbox / "bank" / RUN_DATE
    os.symlink(root / "outside" / "secret.csv", bank / "bank_ZZZ.csv")
    (bank / "bank_ZZZ.csv.ok").write_text("1")
    os.symlink("/etc/passwd", bank / "bank_YYY.csv")
    (bank / "bank_YYY.csv.ok").write_text("30")
    vehicle = inbox / "vehicle" / RUN_DATE
    (vehicle / ".vehicle_20261128.csv.part").write_text("uploading")
    # tax: one line of 2 MiB (over the 1 MiB line limit), one field of 70 KiB (over the 64 KiB field limit)
    tax = _only(inbox, "tax")
    first = _text(tax)[0].splitlines()[1].split(",")
    long_field = first.copy()
    long_field[6] = "某" * 24_000
    _append_rows(tax, [",".join(first) + "," + "Q" * (2 << 20), ",".join(long_field)])
    # business registry: a script payload in a column checked against allowed values
    br = _only(inbox, "business_registry")
    row = _text(br)[0].splitlines()[1].split(",")
    row[3] = PAYLOAD
    _append_rows(br, [",".join(row)])
    # requests: two ids that a naive file name would merge, and one that is a spreadsheet formula
    req = _only(inbox, "requests")
    text, enc = _text(req)
    ids = sorted({line.split(",")[0] for line in text.splitlines()[1:]})
    for old, new in zip(ids[:3], ["WT#1", "WT@1", FORMULA_ID.replace('"', '""')], strict=True):
        text = text.replace(old + ",", (f'"{new}"' if '"' in new else new) + ",")
    req.write_bytes(text.encode(enc))

    workdir = root / "work"
    proc = subprocess.run([sys.executable, "-m", "hedui.cli", "run", "--inbox", str(inbox), "--date", RUN_DATE,
                           "--workdir", str(workdir)], capture_output=True, text=True, timeout=1200)
    return workdir, workdir / "reports" / RUN_DATE, proc.returncode, proc.stderr


def test_links_and_hidden_files_in_the_inbox_are_refused_and_nothing_from_them_leaks(hostile):
    workdir, reports, rc, stderr = hostile
    assert rc == EXIT_SOURCES, stderr[-2000:]  # the run finished and says sources were not delivered
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    status = {s: (st, r) for s, st, r in con.sql("select source, status, reasons_zh from source_status "
                                                 "where run_date = ?", params=[RUN_DATE]).fetchall()}
    con.close()
    assert status["bank"][0] == "incomplete" and "bank_ZZZ.csv是符号链接" in status["bank"][1]
    assert "bank_YYY.csv是符号链接" in status["bank"][1]
    assert status["vehicle"][0] == "incomplete" and "隐藏文件" in status["vehicle"][1]
    outputs = [p for p in reports.rglob("*") if p.is_file() and p.suffix in (".html", ".csv", ".json")]
    assert len(outputs) > 60
    for path in outputs:
        text = path.read_text(encoding="utf-8", errors="replace")
        for leaked in ("赵秘密", "9876543", "root:x:0:0", "/bin/bash"):
            assert leaked not in text, (path, leaked)


def test_an_oversized_line_and_field_are_quarantined_with_short_reasons_and_pages_stay_small(hostile):
    workdir, reports, rc, _ = hostile
    assert rc == EXIT_SOURCES
    con = duckdb.connect(str(workdir / "hedui.duckdb"), read_only=True)
    reasons = [r for (r,) in con.sql("select reason_zh from quarantine where run_date = ? and source = 'tax'",
                                     params=[RUN_DATE]).fetchall()]
    longest = con.sql("select max(length(reason_zh)), max(length(value_masked)) from quarantine").fetchall()[0]
    con.close()
    assert any("超过单行上限1 MiB" in r for r in reasons), reasons
    assert any("超过单个字段上限64 KiB" in r for r in reasons), reasons
    assert longest[0] <= 200 and (longest[1] or 0) <= 60
    pages = list((reports / "households").glob("*.html"))
    assert max(p.stat().st_size for p in pages) < 400_000
    assert (reports / "index.html").stat().st_size < 1_000_000


def test_request_ids_that_look_alike_get_their_own_report_files_and_links(hostile):
    _, reports, rc, _ = hostile
    assert rc == EXIT_SOURCES
    a, b = reports / "households" / f"{report_file_stem('WT#1')}.html", reports / "households" / f"{report_file_stem('WT@1')}.html"
    assert a != b and a.exists() and b.exists()
    assert "WT#1" in a.read_text(encoding="utf-8") and "WT@1" in b.read_text(encoding="utf-8")
    summary = (reports / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="households/([^"]+)\.html"', summary)
    assert len(links) == len(set(links)) == len(list((reports / "households").glob("*.html")))
    assert all((reports / "households" / f"{stem}.html").exists() for stem in links)
    formula_page = reports / "households" / f"{report_file_stem(FORMULA_ID)}.html"
    assert formula_page.exists() and "/" not in formula_page.name[:-5]


def test_csv_files_staff_open_neutralize_formulas(hostile, capsys):
    workdir, reports, rc, _ = hostile
    assert rc == EXIT_SOURCES
    with open(reports / "outcomes.csv", encoding="utf-8", newline="") as fh:
        ids = [r["request_id"] for r in csv.DictReader(fh)]
    assert "'" + FORMULA_ID in ids and FORMULA_ID not in ids
    with open(reports / "reconciliation.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(not r["file"].startswith(("=", "+", "-", "@")) for r in rows)
    capsys.readouterr()
    assert cli.main(["audit", "--workdir", str(workdir), "--csv", "-c",
                     "select request_id, -5 as n from outcomes order by request_id"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.reader(out.splitlines()))
    assert ["'" + FORMULA_ID, "-5"] in rows, rows[:5]
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_data_docs_pages_carry_no_delivered_markup(hostile):
    _, reports, rc, _ = hostile
    assert rc == EXIT_SOURCES
    pages = list((reports / "datadocs").rglob("*.html"))
    assert pages
    assert not any(PAYLOAD in p.read_text(encoding="utf-8") for p in pages)
    assert any("&lt;img src=x onerror=" in p.read_text(encoding="utf-8") for p in pages)


@pytest.mark.parametrize("date", ["../../x", "2026112", "20261128/..", "20260230", "２０２６１１２８", "", "20261128\n"])
def test_a_bad_date_is_refused_in_chinese_before_anything_is_created(tmp_path, capsys, date):
    inbox, workdir = tmp_path / "inbox", tmp_path / "a" / "b" / "work"
    inbox.mkdir()
    rc = cli.main(["run", "--inbox", str(inbox), "--date", date, "--workdir", str(workdir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("错误：") and ("--date" in err or "日期" in err), err  # in Chinese, naming the date
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["inbox"]  # nothing written, inside or outside


def test_other_commands_refuse_a_bad_date_too(tmp_path, capsys):
    for argv in (["generate", "--out", str(tmp_path / "g"), "--date", "../../x"],
                 ["pdf", "--workdir", str(tmp_path), "--date", "../x"],
                 ["review", "list", "--workdir", str(tmp_path), "--date", "x/../20261128"]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("错误：") and ("日期" in err or "--date" in err), err
    assert list(tmp_path.iterdir()) == []


def test_run_context_validates_the_date_however_it_is_built(tmp_path):
    from hedui.pipeline import RunContext

    assert validate_run_date("20240229") == "20240229"
    for bad in ("../x", "20230229", "2026-11-28", None):
        with pytest.raises(InvalidPathComponent):
            RunContext.of(tmp_path, tmp_path, bad)
    with pytest.raises(InvalidPathComponent):
        RunContext(tmp_path, tmp_path, "../../x")
    ctx = RunContext.of(tmp_path, tmp_path, "20261128")
    with pytest.raises(InvalidPathComponent):
        ctx.path("raw", "../bank")


def test_report_file_names_are_safe_and_distinct():
    assert report_file_stem("WT202611280000001") == "WT202611280000001"
    names = {report_file_stem(i) for i in ("WT#1", "WT@1", "WT_1", "WT 1", "../WT_1", "", "WT_1.x", "wt#1")}
    assert len(names) == 8
    for n in names:
        assert re.fullmatch(r"[0-9A-Za-z_\-]+(\.[0-9a-f]{12})?", n), n
    assert len(report_file_stem("x" * 5000)) < 100


def test_formula_cells_are_neutralized_and_numbers_stay_numbers():
    assert neutralize('=HYPERLINK("http://x","点击")') == '\'=HYPERLINK("http://x","点击")'
    for v in ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1+1"):
        assert neutralize(v) == "'" + v
    for v in (-5, -2.5, 0, "-50", "+3.5", "-1e3", "张三", "", None, "1=1"):
        assert neutralize(v) == v


def _peak_reading_one_line(tmp_path, mib: int) -> tuple[int, str]:
    """Peak RSS (MiB) of a fresh process reading a bank delivery that is one line of `mib` MiB."""
    inbox = tmp_path / f"inbox{mib}"
    folder = inbox / "bank" / RUN_DATE
    folder.mkdir(parents=True)
    with open(folder / "bank_1.csv", "wb") as fh:
        fh.write("机构名称,户名,证件号码,账号,账户类型,余额,查询日期\n".encode())
        block = b"A," * (4 << 20)  # 8 MiB
        for _ in range(mib // 8):
            fh.write(block)
    (folder / "bank_1.csv.ok").write_text("1")
    script = (
        "import resource, sys\n"
        "from connectors import load_map, read_delivery\n"
        f"m = read_delivery(load_map('bank'), {str(folder)!r}, {str(inbox)!r}, "
        f"{str(tmp_path / f'raw{mib}.parquet')!r}, {RUN_DATE!r})\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)\n"
        "print(m.status, m.rows_total, m.files[0].read_errors)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    peak_mib, verdict = proc.stdout.split("\n")[:2]
    return int(peak_mib), verdict


def test_a_200_mb_single_line_is_read_in_bounded_memory(tmp_path):
    # bounded = not growing with the line: a 200 MB line costs what a 40 MB one does (the process's
    # own baseline — libraries, thread arenas — differs from one machine state to another)
    small, verdict_small = _peak_reading_one_line(tmp_path, 40)
    big, verdict_big = _peak_reading_one_line(tmp_path, 200)
    assert verdict_small == verdict_big == "delivered 1 1"  # one quarantined row: the .ok count agrees
    assert big - small < 64, f"peak {small} MiB for 40 MB, {big} MiB for 200 MB"
    assert big < 1536, f"peak {big} MiB"  # before: 3.5 GB for one 200 MB line


def test_size_limits_are_set_by_environment_and_a_mistyped_one_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from connectors.limits import InputLimits

    monkeypatch.setenv("HEDUI_MAX_FIELD_BYTES", "16K")
    monkeypatch.setenv("HEDUI_MAX_LINE_BYTES", "2 MiB")
    monkeypatch.setenv("HEDUI_MAX_FILE_BYTES", "1000000")
    assert InputLimits.from_env() == InputLimits(16 << 10, 2 << 20, 1_000_000)
    monkeypatch.setenv("HEDUI_MAX_LINE_BYTES", "一兆")
    requests = tmp_path / "inbox" / "requests" / RUN_DATE
    requests.mkdir(parents=True)
    (requests / "requests_1.csv").write_text("委托编号\n", encoding="utf-8")  # a delivery: the run gets that far
    rc = cli.main(["run", "--inbox", str(tmp_path / "inbox"), "--date", RUN_DATE, "--workdir", str(tmp_path / "w")])
    assert rc == 2
    assert "HEDUI_MAX_LINE_BYTES" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_delivered_text_printed_to_a_terminal_carries_no_escape_sequences():
    from hedui.cli import _terminal_safe

    assert _terminal_safe("张三\x1b]0;owned\x07\x1b[2J\n") == "张三\ufffd]0;owned\ufffd\ufffd[2J\ufffd"
    assert _terminal_safe("欧阳·娜") == "欧阳·娜"
