"""A disk that fills up during a run: one Chinese line saying so, where, how much is left and what to do
(never "内部错误" with DuckDB's English); the batch files are whole or absent, never half written; the
same date re-run once there is room gives the run's full answer.

The working directory lives on a small tmpfs of its own (mounted here; skipped where this process may not
mount file systems)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest
from conftest import RUN_DATE

from hedui.ops.failures import disk_full_line, disk_full_path
from hedui.workdir import replaced_whole

HEDUI = [sys.executable, "-m", "hedui.cli"]


def _hedui(*args):
    from hedui.ops import airflow_env

    env = {**os.environ, **airflow_env.configure()}
    for var in ("HEDUI_NOTIFY_EMAIL", "HEDUI_NOTIFY_WEBHOOK", "HEDUI_PROGRESS"):
        env.pop(var, None)
    return subprocess.run([*HEDUI, *args], env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m,mode=0700", "tmpfs", str(mount)],
                         capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_run_that_fills_the_disk_says_so_and_a_rerun_with_room_completes(world, world_run, small_disk):
    work = small_disk / "work"
    res = _hedui("run", "--inbox", str(world), "--date", RUN_DATE, "--workdir", str(work))
    assert res.returncode == 1, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith("错误：磁盘空间不足："), line
    assert "剩余" in line and "--workdir" in line and "重跑同一日期" in line
    assert "内部错误" not in line and "Traceback" not in res.stderr and "No space" not in line

    reports = work / "reports" / RUN_DATE
    want = (world_run[0].report_dir / "outcomes.csv").read_text(encoding="utf-8")
    for name in ("outcomes.csv", "reconciliation.csv", "alerts.csv", "index.html"):
        assert not (reports / f"{name}.tmp").exists()
    if (reports / "outcomes.csv").exists():  # written whole before the disk filled, or not at all
        assert (reports / "outcomes.csv").read_text(encoding="utf-8") == want
    if (reports / "index.html").exists():
        assert (reports / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")

    subprocess.run(["mount", "-o", "remount,size=400m", str(small_disk)], check=True)
    res = _hedui("run", "--inbox", str(world), "--date", RUN_DATE, "--workdir", str(work))
    assert res.returncode == 0, res.stderr
    assert (reports / "outcomes.csv").read_text(encoding="utf-8") == want
    pages = sorted(p.name for p in (reports / "households").glob("*.html"))
    assert pages == sorted(p.name for p in (world_run[0].report_dir / "households").glob("*.html"))
    for page in pages:
        assert (reports / "households" / page).read_text(encoding="utf-8").rstrip().endswith("</html>"), page
    assert not list(work.rglob("*.tmp"))


def test_a_full_disk_is_told_apart_from_other_errors_in_python_and_duckdb_forms(tmp_path):
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "outcomes.csv"))
    assert disk_full_path(full) == str(tmp_path / "outcomes.csv")
    duck = RuntimeError('TransactionContext Error: Failed to commit: Could not write file '
                        f'"{tmp_path}/hedui.duckdb.wal": No space left on device')
    assert disk_full_path(duck) == f"{tmp_path}/hedui.duckdb.wal"
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = full
    assert disk_full_path(wrapped) == str(tmp_path / "outcomes.csv")
    assert disk_full_path(OSError(errno.EACCES, "Permission denied")) is None
    assert disk_full_path(ValueError("bad")) is None
    line = disk_full_line(OSError(errno.ENOSPC, "No space", f"{tmp_path}/360102199001011234.csv"), tmp_path)
    assert "360102********1234" in line and "360102199001011234" not in line


def test_a_file_written_whole_keeps_its_old_content_when_the_write_fails(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(OSError), replaced_whole(path, encoding="utf-8") as fh:
        fh.write("new, half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert not (tmp_path / "outcomes.csv.tmp").exists()
    with replaced_whole(path, encoding="utf-8") as fh:
        fh.write("new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
