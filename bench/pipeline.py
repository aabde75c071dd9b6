"""Pipeline benchmark: ``hedui run`` end to end at province scale, against the read-once bound.

    python -m bench.pipeline --size small|tenth|third|province|<households> [--seed 1]
    make bench SIZE=province

A world of the given size is generated once and cached under
``bench/cache/<size>-<seed>/inbox`` (``world.json`` beside it marks it
complete).  The whole pipeline then runs as a subprocess — ``hedui -v run``
with ``HEDUI_REPORT_PDF=none`` (PDFs are made on demand at scale),
``HEDUI_THREADS=2`` — while the RSS of its whole process tree is sampled
every 0.2 s.  Per stage (read = connectors, stage = ``hedui.steps.ingest``,
validate = GX, load, link, assess, report) the harness reports wall time,
rows delivered per second and peak memory: stage times come from the run's
own records (``runs/<date>/manifests`` and ``status`` JSON, and the
``hedui.run: <step>: <s> s`` lines), and each stage's window in the RSS
samples is placed by them.

The **read-once bound** is measured in the same invocation, after the run
(so both see a warm page cache): every delivered file read and decoded once
by the fastest reader available here — UTF-8 CSV: polars' multi-threaded
parser on the file; GB18030 CSV: glibc ``iconv`` transcoding in its own
process, streamed into polars chunk by chunk; XLSX: fastexcel (calamine);
Parquet: pyarrow — files one after another, summed.  The harness prints
end-to-end ÷ bound and appends a row to the "Pipeline" section of
``BENCHMARKS.md``.  It is a benchmark, not a test: nothing asserts a time.

``--driver parallel`` measures an alternative design without touching the
pipeline: the per-source steps (``ingest_and_validate``) in a pool of two
processes, largest source first, then load → link → assess → report.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import hashlib
import json
import os
import platform
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
BENCHMARKS = ROOT / "BENCHMARKS.md"
DATE = "20261128"
SIZES = {"small": 20_000, "tenth": 40_000, "third": 133_334, "province": 400_000}
STAGES = ("read", "stage", "validate", "load", "link", "assess", "report")
#: keys a run needs (base64 of 32 bytes); the bench sets fixed ones for its synthetic worlds
BENCH_KEYS = ("HEDUI_PSEUDONYM_KEY", "HEDUI_DATA_KEY")
#: the steps after the per-source ones, in `hedui run` order (the parallel driver calls those that exist)
LATER_STEPS = ("load", "link", "assess", "report", "publish")
SAMPLE_SECONDS = 0.2
SECTION = "## Pipeline"
ROWS_MARKER = "<!-- bench.pipeline: new rows go above this line -->"
GB = 1e9


def log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# -- the world ------------------------------------------------------------------------------


def households_of(size: str) -> int:
    if size in SIZES:
        return SIZES[size]
    try:
        return int(size.replace("_", ""))
    except ValueError:
        raise SystemExit(f"--size must be one of {', '.join(SIZES)} or a number of households, not {size!r}") from None


def data_files(inbox: Path) -> list[Path]:
    """Every delivered data file of the run date (markers and truth.csv excluded)."""
    return sorted(p for p in inbox.glob(f"*/{DATE}/*") if p.is_file() and not p.name.endswith(".ok"))


def generator_version() -> str:
    """A digest of the generator's source: a cached world made by other code is made again."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "hedui" / "generate").glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def ensure_world(size: str, households: int, seed: int) -> tuple[Path, dict]:
    """The cached inbox of ``size`` (generated when absent, incomplete or made by another generator)."""
    base = CACHE / f"{size}-{seed}"
    inbox, info_path = base / "inbox", base / "world.json"
    version = generator_version()
    if info_path.is_file() and inbox.is_dir():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("households") == households and info.get("generator") == version:
            return inbox, info
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    log(f"generating {households:,} households (seed {seed}) into {inbox} …")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hedui.generate", "--out", str(inbox), "--households", str(households),
                    "--seed", str(seed), "--date", DATE], check=True, stdout=subprocess.DEVNULL)
    files = data_files(inbox)
    rows: dict[str, int] = {}
    formats: dict[str, int] = {}
    for f in files:
        marker = f.with_name(f.name + ".ok")
        source = f.relative_to(inbox).parts[0]
        rows[source] = rows.get(source, 0) + int(marker.read_text().strip())
        formats[f.suffix.lstrip(".")] = formats.get(f.suffix.lstrip("."), 0) + 1
    info = {"households": households, "seed": seed, "date": DATE, "generator": version, "rows": rows, "rows_total": sum(rows.values()),
            "files": len(files), "formats": formats, "bytes": sum(f.stat().st_size for f in files),
            "generate_seconds": round(time.perf_counter() - started, 1)}
    info_path.write_text(json.dumps(info, indent=1), encoding="utf-8")
    log(f"generated {info['rows_total']:,} rows in {info['files']} files in {info['generate_seconds']} s")
    return inbox, info


# -- memory of a process tree ----------------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


def tree_usage(root_pid: int) -> tuple[int, float]:
    """Resident set size (bytes) and CPU seconds so far of ``root_pid`` and all its live descendants.

    The CPU is each live process's user + system time plus its waited-for children's (``/proc/PID/stat``
    fields 14–17): a child that ended and was reaped is in its parent's figure, one still running in its own."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()  # fields from the third (state) on
        stats[int(entry.name)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    rss, ticks, todo = 0, 0, [root_pid]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is not None:
            ticks += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss += int(fh.read().split()[1]) * _PAGE
        except OSError:
            pass
        todo.extend(children.get(pid, ()))
    return rss, ticks / _TICK


class Sampler(threading.Thread):
    """Samples the tree RSS and CPU seconds of a process and the load average until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []
        self.cpu: list[tuple[float, float]] = []  # (monotonic time, the tree's CPU seconds so far)
        self.loads: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            t = time.monotonic()
            rss, cpu = tree_usage(self.pid)
            self.samples.append((t, rss))
            self.cpu.append((t, max(cpu, self.cpu[-1][1] if self.cpu else 0.0)))  # a reaped grandchild may dip
            self.loads.append(os.getloadavg()[0])
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def peak(self, start: float = float("-inf"), end: float = float("inf")) -> int:
        inside = [r for t, r in self.samples if start - SAMPLE_SECONDS <= t <= end + SAMPLE_SECONDS]
        return max(inside, default=0)

    def cpu_between(self, start: float, end: float) -> float:
        """The tree's CPU seconds between two times (the samples nearest inside them; 0 with fewer than two)."""
        inside = [c for t, c in self.cpu if start <= t <= end + SAMPLE_SECONDS]
        return inside[-1] - inside[0] if len(inside) >= 2 else 0.0


# -- running the pipeline --------------------------------------------------------------------


@dataclass
class Run:
    driver: str
    wall: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # the run's own step timings, in order
    run_end: float = 0.0  # monotonic time the last step finished
    started: float = 0.0
    sources: dict[str, dict] = field(default_factory=dict)
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> seconds, peak_rss
    peak_rss: int = 0
    load_start: float = 0.0
    load_max: float = 0.0
    rows: int = 0
    log_tail: list[str] = field(default_factory=list)
    failed: str = ""  # '<step>: <exception>' when the run failed
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, tree RSS bytes)


def _command(driver: str, inbox: Path, workdir: Path) -> list[str]:
    if driver == "hedui":
        hedui = Path(sys.executable).with_name("hedui")
        exe = [str(hedui)] if hedui.exists() else [sys.executable, "-m", "hedui.cli"]
        return [*exe, "-v", "run", "--inbox", str(inbox), "--date", DATE, "--workdir", str(workdir)]
    return [sys.executable, "-m", "bench.pipeline", "--child-parallel", str(inbox), str(workdir)]


def run_pipeline(driver: str, inbox: Path, workdir: Path, env_extra: dict[str, str]) -> Run:
    # the previous run's workdir is moved aside and deleted after this run: for a minute or two after 40,000
    # files are deleted, this file system creates files several times slower (session 32: 17.9 s of system
    # CPU for 40,000 pages against 1.8 s), and the report step of a tenth run started within that window
    previous = workdir.with_name(workdir.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if workdir.exists():
        workdir.rename(previous)
    workdir.mkdir(parents=True)
    env = dict(os.environ, HEDUI_REPORT_PDF="none", HEDUI_THREADS="2", **env_extra)
    for key in BENCH_KEYS:  # synthetic data: fixed bench keys unless the caller set real ones
        env.setdefault(key, base64.b64encode(hashlib.sha256(f"hedui bench {key}".encode()).digest()).decode())
    cmd = _command(driver, inbox, workdir)
    run = Run(driver, load_start=os.getloadavg()[0])
    lines: queue.Queue[tuple[float, str]] = queue.Queue()
    run.started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace")
    sampler = Sampler(proc.pid)
    sampler.start()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    rc = proc.wait()
    reader.join()
    run.wall = time.monotonic() - run.started
    sampler.stop()
    shutil.rmtree(previous, ignore_errors=True)
    got = []
    while not lines.empty():
        got.append(lines.get())
    run.log_tail = [line for _, line in got[-30:]]
    log_path = workdir.parent / f"{workdir.name}.log"
    log_path.write_text("\n".join(line for _, line in got) + "\n", encoding="utf-8")
    for t, line in got:
        if " hedui.run: " in line and line.endswith(" s"):
            step, seconds = line.split(" hedui.run: ", 1)[1].rsplit(": ", 1)
            if not run.steps:
                run.run_end = t
            run.steps[step] = float(seconds[:-2])
    if rc != 0:
        for _, line in got:  # the parallel driver logs its sources phase as soon as it ends
            if " bench.phase: sources: " in line and not run.steps:
                run.steps["sources"] = float(line.rsplit(": ", 1)[1][:-2])
        run.failed = _failure([line for _, line in got])
        log(f"{' '.join(cmd)} failed ({rc}) in {run.failed}; the whole log is {log_path}; "
            "reporting the stages that finished")
    elif not run.steps:
        raise SystemExit("the run logged no step timings (hedui.run lines):\n" + "\n".join(run.log_tail))
    run.peak_rss = sampler.peak()
    run.samples = sampler.samples
    run.load_max = max(sampler.loads, default=0.0)
    _read_records(run, workdir, time.monotonic() - time.time())
    _place_stages(run, sampler)
    return run


def _failure(lines: list[str]) -> str:
    """``<step>: <exception line>`` of a failed run's traceback."""
    step = "?"
    for line in lines:
        m = re.search(r'hedui/pipeline\.py", line \d+, in (\w+)', line)
        if m and m.group(1) not in ("run", "ingest_and_validate"):
            step = m.group(1)
    errors = [line.strip() for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line.strip())]
    return f"{step}: {errors[0][:160] if errors else 'see the log'}"


def _read_records(run: Run, workdir: Path, mono_minus_wall: float) -> None:
    """Per source: rows delivered, connector / staging / validation seconds (the run's own JSON) and
    when each ended (the JSON files' modification times, on this process's monotonic clock)."""
    base = workdir / "runs" / DATE
    for path in sorted((base / "manifests").glob("*.json")):
        status_path = base / "status" / path.name
        if not status_path.is_file():
            continue
        ingested = json.loads(path.read_text(encoding="utf-8"))
        status = json.loads(status_path.read_text(encoding="utf-8"))
        source = ingested["source"]
        stage_s = float(ingested["staging"].get("seconds") or 0.0)
        run.sources[source] = {
            "rows": int(ingested["manifest"].get("rows_total") or 0),
            "files": len(ingested["manifest"].get("files") or []),
            "read": max(float(ingested["seconds"]) - stage_s, 0.0),
            "stage": stage_s,
            "validate": float(status["seconds"]),
            "ingest_end": path.stat().st_mtime + mono_minus_wall,
            "validate_end": status_path.stat().st_mtime + mono_minus_wall,
        }
    run.rows = sum(s["rows"] for s in run.sources.values())


def _place_stages(run: Run, sampler: Sampler) -> None:
    """Stage seconds and the peak RSS inside each stage's time windows: per source from when its
    records were written, the later steps back from the end of the run (they ran in the logged order)."""
    windows: dict[str, list[tuple[float, float]]] = {s: [] for s in ("read", "stage", "validate")}
    seconds = dict.fromkeys(("read", "stage", "validate"), 0.0)
    for src in run.sources.values():
        stage_start = src["ingest_end"] - src["stage"]
        windows["read"].append((stage_start - src["read"], stage_start))
        windows["stage"].append((stage_start, src["ingest_end"]))
        windows["validate"].append((src["validate_end"] - src["validate"], src["validate_end"]))
        for stage in seconds:
            seconds[stage] += src[stage]
    sources_end = max((s["validate_end"] for s in run.sources.values()), default=run.started)
    sources_start = min((s["ingest_end"] - s["stage"] - s["read"] for s in run.sources.values()),
                        default=run.started)
    if "sources" in run.steps:  # the parallel driver: one phase, both workers busy
        windows = {"sources": [(sources_end - run.steps["sources"], sources_end)]}
        seconds = {"sources": run.steps["sources"]}
    later = {k: v for k, v in run.steps.items() if not k.startswith("ingest:") and k != "sources"}
    if later:
        t = run.run_end - sum(later.values())
        for step, secs in later.items():
            windows[step] = [(t, t + secs)]
            seconds[step] = secs
            t += secs
    end = run.run_end if later else sources_end
    if run.failed:  # no step timing was logged after the sources: one stage up to the failure
        step = run.failed.split(":", 1)[0]
        done = [s for s in LATER_STEPS if s in later]
        todo = LATER_STEPS[len(done):LATER_STEPS.index(step) + 1] if step in LATER_STEPS else (step,)
        name = "+".join(todo) + " (failed)"
        end = run.started + run.wall
        windows[name] = [(sources_end + sum(later.values()), end)]
        seconds[name] = max(end - sources_end - sum(later.values()), 0.0)
    for stage, secs in seconds.items():
        if "sources" in seconds and stage in ("read", "stage", "validate"):
            continue
        peak = max((sampler.peak(a, b) for a, b in windows.get(stage, [])), default=0)
        cpu = sum(sampler.cpu_between(a, b) for a, b in windows.get(stage, []))
        run.stages[stage] = {"seconds": secs, "peak_rss": peak, "cpu": cpu}
    run.stages["startup/other"] = {"seconds": max(run.wall - sum(seconds.values()), 0.0),
                                   "peak_rss": sampler.peak(run.started, sources_start),
                                   "cpu": sampler.cpu_between(run.started, sources_start)}


# -- the read-once bound ----------------------------------------------------------------------


def _read_csv_utf8(path: Path, sep: str, skip: int) -> int:
    import polars as pl

    df = pl.read_csv(path, separator=sep, has_header=False, skip_rows=skip, infer_schema=False,
                     truncate_ragged_lines=True, encoding="utf8-lossy")
    return df.height


def _read_csv_gb18030(path: Path, sep: str, skip: int) -> int:
    """glibc iconv in its own process; its UTF-8 output parsed by polars in ~32 MB pieces as it comes."""
    import polars as pl

    proc = subprocess.Popen(["iconv", "-f", "GB18030", "-t", "UTF-8", "-c", str(path)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    pieces: queue.Queue[bytes | None] = queue.Queue(maxsize=2)

    def drain() -> None:
        carry = b""
        while block := proc.stdout.read(32 << 20):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            pieces.put(data[:cut])
        pieces.put(carry)
        pieces.put(None)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    rows, first = 0, True
    ncols = None
    while (piece := pieces.get()) is not None:
        if not piece:
            continue
        if first:
            lines = piece.split(b"\n", skip + 1)
            ncols = lines[skip].count(sep.encode()) + 1
            piece = lines[-1] if len(lines) > skip + 1 else b""
            first = False
        lead = (sep * (ncols - 1) + "\n").encode()
        rows += pl.read_csv(lead + piece, separator=sep, has_header=False, infer_schema=False,
                            truncate_ragged_lines=True).height - 1
    thread.join()
    proc.wait()
    return rows


def _read_xlsx(path: Path) -> int:
    import fastexcel

    return fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_arrow().num_rows


def _read_parquet(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_table(path).num_rows


def read_once_bound(inbox: Path) -> dict:
    """Seconds the fastest readers here need to read and decode every delivered file once (sequentially)."""
    from connectors import load_map
    from connectors.raw import find_header
    from connectors.textfile import GB18030, sniff

    files = data_files(inbox)
    # libraries' first-call set-up (pyarrow's dataset layer takes seconds) is not reading:
    # read the smallest file of each format once before the clock starts
    for suffix, reader in ((".xlsx", _read_xlsx), (".parquet", _read_parquet)):
        smallest = min((f for f in files if f.suffix == suffix), key=lambda f: f.stat().st_size, default=None)
        if smallest is not None:
            reader(smallest)
    per_format: dict[str, float] = {}
    total = 0.0
    rows = 0
    for path in files:
        smap = load_map(path.relative_to(inbox).parts[0])
        fmt = path.suffix.lstrip(".").lower()
        started = time.perf_counter()
        if fmt == "csv":
            layout = sniff(path, lambda r, m=smap: find_header(r, m))
            skip = max(layout.header_line - 1, 0)
            if layout.encoding == GB18030:
                fmt = "csv-gb18030"
                rows += _read_csv_gb18030(path, layout.sep, skip)
            else:
                fmt = "csv-utf8"
                rows += _read_csv_utf8(path, layout.sep, skip)
        elif fmt == "xlsx":
            rows += _read_xlsx(path)
        elif fmt == "parquet":
            rows += _read_parquet(path)
        else:
            continue
        took = time.perf_counter() - started
        per_format[fmt] = per_format.get(fmt, 0.0) + took
        total += took
    return {"seconds": total, "per_format": per_format, "rows": rows}


# -- the parallel driver (an alternative design, measured here) --------------------------------


def child_parallel(inbox: str, workdir: str) -> int:
    """Run the pipeline with the per-source steps in two processes; log timings like ``hedui -v run``."""
    import logging
    from concurrent.futures import ProcessPoolExecutor

    from hedui import pipeline as p

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # imported once before the workers fork (else each pays GX's ~6 s import), as a worker pool
    # that lives across runs would
    import great_expectations  # noqa: F401

    import hedui.steps.ingest  # noqa: F401
    import hedui.steps.validate.check  # noqa: F401

    ctx = p.RunContext.of(inbox, workdir, DATE)
    size = {s: sum(f.stat().st_size for f in (ctx.inbox / s / DATE).glob("*") if f.is_file())
            if (ctx.inbox / s / DATE).is_dir() else 0 for s in p.sources()}
    timings = {}
    t = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        for f in [pool.submit(p.ingest_and_validate, ctx, s) for s in sorted(size, key=size.get, reverse=True)]:
            f.result()
    timings["sources"] = time.perf_counter() - t
    logging.getLogger("bench.phase").warning("sources: %.2f s", timings["sources"])
    for name in LATER_STEPS:
        if not hasattr(p, name):
            continue
        t = time.perf_counter()
        getattr(p, name)(ctx)
        timings[name] = time.perf_counter() - t
    for step, seconds in timings.items():
        logging.getLogger("hedui.run").warning("%s: %.2f s", step, seconds)
    return 0


# -- reporting ---------------------------------------------------------------------------------


def sampler_samples(run: Run) -> list[tuple[float, int]]:
    """The RSS samples, seconds from the start of the run."""
    return [(round(t - run.started, 2), r) for t, r in run.samples]


def machine() -> str:
    cpu, mem_kb = platform.processor() or platform.machine(), 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return f"{os.cpu_count()} cores {cpu}, {mem_kb / 1024 / 1024:.0f} GiB"


def _rate(rows: int, seconds: float) -> str:
    if seconds <= 0:
        return "–"
    r = rows / seconds
    return f"{r / 1e6:.2f} M/s" if r >= 1e6 else f"{r / 1e3:.0f} k/s"


def _gb(n: int) -> str:
    return f"{n / GB:.2f} GB"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+" if dirty else "")
    except OSError:
        return "?"


def print_report(size: str, info: dict, run: Run, bound: dict | None) -> None:
    out = [f"\nhedui pipeline benchmark — {size}: {info['households']:,} households, {run.rows:,} rows delivered "
           f"in {info['files']} files ({info['bytes'] / GB:.2f} GB; {info['formats']}), driver {run.driver}",
           f"machine: {machine()}; load average {run.load_start:.2f} at start, {run.load_max:.2f} max during the run",
           "", f"{'stage':<15}{'seconds':>10}{'rows/s':>12}{'peak RSS':>12}{'CPU s':>10}{'cores':>7}"]
    for stage, s in run.stages.items():
        cpu = s.get("cpu", 0.0)
        out.append(f"{stage:<15}{s['seconds']:>10.1f}{_rate(run.rows, s['seconds']):>12}{_gb(s['peak_rss']):>12}"
                   f"{cpu:>10.1f}{cpu / s['seconds'] if s['seconds'] else 0.0:>7.2f}")
    cpu = sum(s.get("cpu", 0.0) for s in run.stages.values())
    out.append(f"{'end-to-end':<15}{run.wall:>10.1f}{_rate(run.rows, run.wall):>12}{_gb(run.peak_rss):>12}"
               f"{cpu:>10.1f}{cpu / run.wall if run.wall else 0.0:>7.2f}")
    if run.failed:
        out += ["", f"THE RUN FAILED in {run.failed}"]
    if bound:
        fmts = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(bound["per_format"].items()))
        out += ["", f"read-once bound: {bound['seconds']:.1f} s ({fmts}); "
                f"end-to-end ÷ bound = {run.wall / bound['seconds']:.2f}"]
    out += ["", f"{'source':<18}{'files':>6}{'rows':>12}{'read s':>9}{'stage s':>9}{'valid. s':>9}"]
    for src, s in sorted(run.sources.items(), key=lambda kv: -kv[1]["rows"]):
        out.append(f"{src:<18}{s['files']:>6}{s['rows']:>12,}{s['read']:>9.1f}{s['stage']:>9.1f}{s['validate']:>9.1f}")
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()


def markdown_row(size: str, info: dict, run: Run, bound: dict | None, command: str, note: str) -> str:
    def cell(stage: str) -> str:
        s = run.stages.get(stage)
        if not s:
            return "–"
        return f"{s['seconds']:.1f} s · {_rate(run.rows, s['seconds'])} · {_gb(s['peak_rss'])}"

    ratio = f"{run.wall / bound['seconds']:.2f}" if bound and not run.failed else "–"
    if run.failed:
        note = f"**failed** in {run.failed}" + (f"; {note}" if note else "")
    bound_s = f"{bound['seconds']:.1f} s" if bound else "–"
    first = "sources" if "sources" in run.stages else "read"
    stages = [first, "stage", "validate"] if first == "read" else [first]
    cells = " / ".join(cell(s) for s in stages) + (" (2 processes)" if first == "sources" else "")
    others = [s for s in run.stages if s not in STAGES and s not in ("sources", "startup/other")]
    other_cells = "; ".join(f"{s} {cell(s)}" for s in others) or "–"
    return (f"| {dt.datetime.now():%Y-%m-%d %H:%M} | {_commit()} | {size} | {info['households']:,} | {run.rows:,} | "
            f"{info['files']} ({info['bytes'] / GB:.1f} GB) | {run.load_start:.1f} / {run.load_max:.1f} | {cells} | "
            f"{cell('load')} | {cell('link')} | {cell('assess')} | {cell('report')} | {other_cells} | "
            f"**{run.wall:.0f} s** · {_rate(run.rows, run.wall)} | **{_gb(run.peak_rss)}** | {bound_s} | **{ratio}** | "
            f"`{command}`{' — ' + note if note else ''} |")


SECTION_HEAD = f"""{SECTION}

`make bench SIZE=…` (`python -m bench.pipeline --size small|tenth|third|province|<households>`): a
cached synthetic world (`hedui generate`, seed 1, run date {DATE}; ≈107 rows per household; most
sources GB18030 CSV, banks as many small files, some XLSX and Parquet) through `hedui -v run` with
`HEDUI_REPORT_PDF=none` and `HEDUI_THREADS=2` (DuckDB's default `memory_limit` 4GB). Each stage cell
is *wall time · rows delivered per second · peak RSS of the whole process tree during that stage*
(sampled every 0.2 s); read = connectors, stage = `hedui.steps.ingest`, validate = GX. The read-once
bound is the time the fastest readers here need to read and decode every delivered file once
(polars for UTF-8 CSV, glibc iconv streamed into polars for GB18030, fastexcel for XLSX, pyarrow for
Parquet), measured in the same invocation after the run. Load avg is the 1-minute load average at
start / the highest during the run (other jobs share the machine). Rows are appended, newest last; the
machine is {{machine}}.

| date | commit | size | households | rows | files | load avg | read / stage / validate | load | link | assess | report | later steps | end-to-end | peak RSS | bound | ÷ bound | command |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{ROWS_MARKER}
"""


def append_markdown(row: str) -> None:
    """Insert ``row`` at the end of the Pipeline table; create the section (before any later one) if absent."""
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    if ROWS_MARKER not in text:
        section = SECTION_HEAD.replace("{machine}", machine())
        # put it before the first other section, so sections that append at the file's end stay last
        idx = text.find("\n## ")
        text = (text.rstrip("\n") + "\n\n" + section) if idx < 0 else (text[:idx + 1] + section + "\n" + text[idx + 1:])
    text = text.replace(ROWS_MARKER, row + "\n" + ROWS_MARKER, 1)
    BENCHMARKS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="small", help=f"{', '.join(f'{k} ({v:,})' for k, v in SIZES.items())} "
                    "or a number of households")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--driver", choices=("hedui", "parallel"), default="hedui",
                    help="hedui: `hedui -v run`; parallel: the per-source steps in two processes (bench only)")
    ap.add_argument("--no-bound", action="store_true", help="skip the read-once bound")
    ap.add_argument("--no-append", action="store_true", help="do not append a row to BENCHMARKS.md")
    ap.add_argument("--note", default="", help="a note for the BENCHMARKS.md row")
    ap.add_argument("--memory-limit", help="HEDUI_MEMORY_LIMIT for the run (DuckDB's memory_limit; default 4GB)")
    ap.add_argument("--child-parallel", nargs=2, metavar=("INBOX", "WORKDIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_parallel:
        return child_parallel(*args.child_parallel)
    households = households_of(args.size)
    inbox, info = ensure_world(args.size, households, args.seed)
    workdir = CACHE / f"{args.size}-{args.seed}" / f"work-{args.driver}"
    log(f"running the pipeline ({args.driver}) on {info['rows_total']:,} rows …")
    env = {"HEDUI_MEMORY_LIMIT": args.memory_limit} if args.memory_limit else {}
    run = run_pipeline(args.driver, inbox, workdir, env)
    bound = None
    if not args.no_bound:
        log("measuring the read-once bound …")
        bound = read_once_bound(inbox)
    print_report(args.size, info, run, bound)
    details = CACHE / f"{args.size}-{args.seed}" / f"result-{args.driver}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    details.write_text(json.dumps({"info": info, "bound": bound, "run": {k: v for k, v in dataclasses.asdict(run).items() if k != "samples"},
                                   "samples": sampler_samples(run)}, indent=1, default=str), encoding="utf-8")
    command = f"make bench SIZE={args.size}" if args.seed == 1 and args.driver == "hedui" else \
        f"python -m bench.pipeline --size {args.size} --seed {args.seed} --driver {args.driver}"
    if args.memory_limit:
        command = f"HEDUI_MEMORY_LIMIT={args.memory_limit} {command}" if command.startswith("make") else \
            f"{command} --memory-limit {args.memory_limit}"
    if not args.no_append:
        append_markdown(markdown_row(args.size, info, run, bound, command, args.note))
        log(f"appended to {BENCHMARKS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
