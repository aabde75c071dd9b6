"""The pipeline steps — the same functions the Airflow DAG's tasks and `hedui run` call.

ingest_source (per source: file drop or exchange table, hedui/sources.yaml) → validate_source (per source;
the rows it passes are written with IDs pseudonymized and raw values encrypted)
→ load (into the working DuckDB) → link → assess → report
→ publish (audit log entry, auditor database).

Per-source steps write Parquet/JSON under runs/<date>/ and never open the
working database, so that Airflow can run them in parallel; `load` is the
single writer.  Every step replaces its own outputs, so re-running a logical
date is safe.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import time
from pathlib import Path

from connectors import load_map
from connectors.limits import REASON_MAX, REASONS_SHOWN, cap
from connectors.manifest import ignored_note
from hedui import db
from hedui.errors import ReconciliationError
from hedui.ops.killpoint import kill_point
from hedui.settings import REQUESTS, RunContext, settings, sources

__all__ = ["REQUESTS", "RunContext", "sources"]  # re-exported for the DAGs and the CLI


log = logging.getLogger(__name__)


@contextlib.contextmanager
def writing(ctx: RunContext, command: str):
    """Hold the working folder's writer lock, with private file modes and the keys checked.

    Raises WorkdirBusyError when another process writes, KeyMismatchError when
    the keys differ from the folder's (before anything is written).
    """
    from hedui.privacy.keyring import check_keys
    from hedui.workdir import private_umask, writer_lock

    private_umask()
    with writer_lock(ctx.workdir, command, run_date=ctx.run_date) as holder:
        check_keys(ctx.workdir)
        yield holder


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


def _as_dict(obj) -> dict:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return dict(obj)


def ingest_source(ctx: RunContext, source: str, *, stream=None) -> dict:
    """Read one source's delivery (file drop or exchange table, per the sources configuration),
    decode it and stage its rows; with `stream` (a `StreamValidation`) GX takes the staged rows
    as they come, instead of a plain `staged_pre` file."""
    from hedui.ops.sources_config import load_sources_config
    from hedui.privacy.keyring import check_keys
    from hedui.privacy.protect import staging_protector
    from hedui.steps.ingest import stage_source
    from hedui.steps.stage_db import use_system_allocator
    from hedui.steps.validate.check import read_columns
    from hedui.steps.validate.stream import stage_writer
    from hedui.workdir import private_umask

    private_umask()
    use_system_allocator()
    check_keys(ctx.workdir)  # other keys than the folder's: stop before any work
    started_at = dt.datetime.now().astimezone()
    started = time.perf_counter()
    smap = load_map(source)
    raw = ctx.path("raw", source)
    delivery = load_sources_config().delivery(source)
    if delivery.is_sql:
        from connectors import read_table

        manifest = read_table(smap, delivery.conn_id, delivery.table, raw, ctx.run_date)
    else:
        from hedui.ops.settled_delivery import read_settled

        manifest = read_settled(smap, ctx.inbox / source / ctx.run_date, ctx.inbox, raw, ctx.run_date)
    plain = ctx.path("staged_pre", source)  # the columns GX reads, plain; all protected in the same pass
    plain.unlink(missing_ok=True)  # an earlier run's: never read with this run's protected twin
    counts = stage_source(raw, smap, ctx.run_date, plain, ctx.path("quarantine_stage", source), manifest=manifest,
                          protect=staging_protector(source, plain, read_columns(source)),
                          plain=stage_writer(stream) if stream is not None else None)
    out = {"source": source, "manifest": _as_dict(manifest), "staging": _as_dict(counts),
           "started_at": started_at.isoformat(), "seconds": round(time.perf_counter() - started, 3)}
    _write_json(ctx.path("manifests", source, "json"), out)
    log.info("ingested %s: status %s", source, out["manifest"].get("status"))
    return out


def validate_source(ctx: RunContext, source: str, *, data_docs: bool = True, stream=None) -> dict:
    """Validate one source's staged rows with its GX suite; write passed rows (protected) and quarantine.

    The passed rows go to ``staged/<source>.parquet`` with the source's ID
    columns pseudonymized, raw IDs and accounts encrypted and masked copies
    added (`hedui.privacy.protect.protect_parquet`): nothing after this step sees a
    plain ID but the link step's temporary tables.  With `stream` (given to `ingest_source`)
    GX has seen the rows already: its verdict is finished here.
    """
    from hedui.privacy.keyring import check_keys
    from hedui.privacy.keys import load_keys
    from hedui.privacy.protect import passed_rows, source_columns
    from hedui.steps.validate.check import validate_source as gx_validate
    from hedui.workdir import private_umask

    private_umask()
    keys = load_keys()
    check_keys(ctx.workdir, keys)
    started = time.perf_counter()
    protected: dict = {}

    def write_protected(staged: Path, bad_positions, out: Path) -> None:
        protected.update(passed_rows(  # staging's protected twin less GX's quarantine (protected here without one)
            staged, bad_positions, out, keys=keys, **source_columns(source),
            threads=settings().threads, memory_limit=settings().source_memory_limit,
            temp_directory=ctx.run_dir / "tmp"))

    ingested = json.loads(ctx.path("manifests", source, "json").read_text(encoding="utf-8"))
    manifest = ingested["manifest"]
    announced = [f.get("marker_count") for f in manifest.get("files", [])]
    expected = (sum(announced) - ingested["staging"]["quarantined_rows"]
                if announced and None not in announced else None)
    finish = dict(docs_dir=ctx.report_dir / "datadocs" if data_docs else None, expected_rows=expected,
                  write_passed=write_protected, manifest=manifest, stage_quarantine=ctx.path("quarantine_stage", source))
    result = stream.finish(**finish) if stream is not None else gx_validate(
        source, ctx.path("staged_pre", source), ctx.run_date, ctx.path("staged", source),
        ctx.path("quarantine_gx", source), **finish)
    result = _as_dict(result)
    result["protected"] = protected
    from hedui.steps.validate.quarantine_ids import identify_quarantine

    result["quarantine_ids"] = identify_quarantine(  # the request list's too: its household is not CLEAR
        ctx.path("raw", source), [ctx.path("quarantine_stage", source), ctx.path("quarantine_gx", source)],
        source, ctx.run_date, ctx.path("quarantine_ids", source), keys)
    delivery_status = manifest.get("status", "missing")
    if delivery_status != "delivered":
        status = delivery_status  # missing / incomplete: counts as not delivered
        reasons = [manifest.get("message_zh") or "未交付"]
    else:
        status = "failed" if result.get("status") == "failed" else "passed"
        reasons = list(result.get("reasons_zh") or [])
        if note := ignored_note(manifest.get("ignored") or []):  # litter beside the data: listed, not read
            reasons.append(note)
    out = {"source": source, "status": status, "reasons_zh": reasons, "counts": result.get("counts"),
           "validation": result,
           "seconds": round(time.perf_counter() - started, 3)}
    _write_json(ctx.path("status", source, "json"), out)
    return out


def ingest_and_validate(ctx: RunContext, source: str, *, data_docs: bool = True) -> dict:
    """Ingest and validate one source; `data_docs=False` (the urgent path) skips rebuilding GX's Data Docs."""
    from hedui.ops.status import mark_attempt
    from hedui.steps.validate.stream import StreamValidation

    mark_attempt(ctx)  # a run of the date began: `hedui status` tells whether it completed
    # GX fed by the staging pass: no plain staged file written and read back (issue 16)
    stream = StreamValidation(source, ctx.path("staged_pre", source), ctx.run_date, ctx.path("staged", source),
                              ctx.path("quarantine_gx", source))
    ingest_source(ctx, source, stream=stream)
    result = validate_source(ctx, source, data_docs=data_docs, stream=stream)
    kill_point(f"ingest:{source}")
    return result


def _open(ctx: RunContext):
    ctx.workdir.mkdir(parents=True, exist_ok=True)
    s = settings()
    return db.connect(ctx.database, threads=s.threads, memory_limit=s.memory_limit,
                      temp_directory=ctx.workdir / "tmp", stored_macros=True)


def _parquet(path: Path) -> str:
    return "read_parquet(" + "'" + str(path).replace("'", "''") + "')"


def load(ctx: RunContext) -> dict:
    """Move the run's staged rows, quarantine, manifests and statuses into the working database."""
    from hedui.workdir import clean_leftovers

    with writing(ctx, "load"):
        clean_leftovers(ctx.workdir, ctx.run_date)  # a DAG run's first writing step: what a killed one left
        return _load(ctx)


def _load(ctx: RunContext) -> dict:
    con = _open(ctx)
    try:
        con.sql("begin transaction")
        files_rows, status_rows = [], []
        for source in sources():
            smap = load_map(source)
            staged = ctx.path("staged", source)
            db.replace_staged(con, f"stg_{source}", _parquet(staged), ctx.run_date, db.staged_compression(staged, source))
            man = json.loads(ctx.path("manifests", source, "json").read_text(encoding="utf-8"))
            st = json.loads(ctx.path("status", source, "json").read_text(encoding="utf-8"))
            for f in man["manifest"].get("files", []):
                files_rows.append((ctx.run_date, source, f.get("file_name"), f.get("sha256"), f.get("format"),
                                   f.get("encoding"), f.get("marker_count"), f.get("rows_read"),
                                   bool(f.get("complete")), _short_list(f.get("problems") or [])))
            status_rows.append((ctx.run_date, source, smap.title_zh, st["status"],
                                _short_list(st["reasons_zh"], MESSAGE_MAX)))
        con.sql(db.sql_text("schema.sql"))
        con.execute("delete from quarantine where run_date = ?", [ctx.run_date])
        for source in sources():
            for kind in ("quarantine_stage", "quarantine_gx"):
                q = ctx.path(kind, source)
                if q.exists():  # reasons and shown values short, whatever a file held
                    con.sql(f"insert into quarantine by name select * replace ({_capped_sql('reason_zh')} as reason_zh, "
                            f"{_capped_sql('value_masked', 60)} as value_masked) from {_parquet(q)}")
        con.execute("delete from quarantine_subjects where run_date = ?", [ctx.run_date])
        for source in sources():
            q = ctx.path("quarantine_ids", source)
            if q.exists():
                con.sql(f"insert into quarantine_subjects by name select * from {_parquet(q)}")
        before = {(s, f): h for s, f, h in con.execute(
            "select source, file_name, sha256 from delivered_files where run_date = ?", [ctx.run_date]).fetchall()}
        con.execute("delete from delivered_files where run_date = ?", [ctx.run_date])
        if files_rows:  # executemany refuses an empty list (a run where nothing was delivered)
            con.executemany("insert into delivered_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", files_rows)
        con.execute("delete from source_status where run_date = ?", [ctx.run_date])
        if status_rows:
            con.executemany("insert into source_status values (?, ?, ?, ?, ?)", status_rows)
        _create_source_records_view(con)
        n = db.replace_model(con, "reconciliation", "staging/reconciliation.sql", ctx.run_date)
        bad = db.query(con, "staging/reconciliation_broken.sql", run_date=ctx.run_date).fetchall()
        if bad:
            con.sql("rollback")
            raise ReconciliationError(
                "对账不平（交付行数 ≠ 入库行数 + 隔离行数）："
                + "；".join(f"{s} {f}: 交付 {d}，入库 {st}，隔离 {q}" for s, f, d, st, q in bad)
                + "。请检查该文件并重跑本批次。"
            )
        con.sql("commit")
    finally:
        con.close()
    from hedui.audit.inputs import inputs_changed

    changed = inputs_changed(ctx.workdir, ctx.run_date, before, {(r[1], r[2]): r[3] for r in files_rows})
    return {"files": n, "inputs_changed": changed}


MESSAGE_MAX = (REASON_MAX + 1) * REASONS_SHOWN + 100  # a source's message: a few short reasons


def _short_list(reasons: list[str], each: int = REASON_MAX) -> str:
    """Reasons for a table people read: each cut to `each` characters, at most REASONS_SHOWN of them."""
    shown = [cap(r, each) for r in reasons[:REASONS_SHOWN]]
    more = len(reasons) - len(shown)
    return "；".join(shown) + (f"；另有{more}项" if more > 0 else "")


def _capped_sql(column: str, limit: int = REASON_MAX) -> str:
    return (f"case when length({column}) > {int(limit)} then left({column}, {int(limit) - 1}) || '…' "
            f"else {column} end")


def _create_source_records_view(con) -> None:
    """A view over every department's staged records with their identity columns (schema, not data)."""
    parts = [
        f"select run_date, source, record_id, id_norm, id_status, name_norm, id_number, file_name, row_no, "
        f"delivery_date "
        f"from stg_{s}"
        for s in sources() if s != REQUESTS
    ]
    con.sql("create or replace view source_records as " + " union all ".join(parts))


def link(ctx: RunContext) -> dict:
    """Link every staged record to the requested, authorized members: exact ID, then probabilistic."""
    from hedui.audit.ledger import check_authorization_gate, write_query_ledger
    from hedui.privacy.keys import load_keys
    from hedui.privacy.protect import protect_working_tables
    from hedui.steps.link import link_run

    keys = load_keys()
    with writing(ctx, "link"), contextlib.closing(_open(ctx)) as con:
        con.sql("begin transaction")
        counts = link_run(con, ctx.run_date, keys)
        kill_point("link")
        # from here on the working database holds only pseudonyms, encrypted and masked values
        protect_working_tables(con, keys, sources())
        check_authorization_gate(con, ctx.run_date)
        counts["ledger"] = write_query_ledger(con, ctx.run_date)
        con.sql("commit")
    return counts


def assess(ctx: RunContext, *, whole_delivery: bool = True) -> dict:
    """Resolve each household's policy, compute the figures, findings and outcomes (hedui.steps.assess;
    `whole_delivery` false for an urgent verification's slice of the deliveries)."""
    from hedui.steps.assess import assess_run

    with writing(ctx, "assess"), contextlib.closing(_open(ctx)) as con:
        con.sql("begin transaction")
        counts = assess_run(con, ctx.run_date, whole_delivery=whole_delivery)
        con.sql("commit")
    return counts


def report(ctx: RunContext, only: set[str] | None = None) -> dict:
    """Write outcomes.csv, reconciliation.csv and the household reports (or just `only`'s pages)."""
    from hedui.steps.report.outputs import write_reports

    with writing(ctx, "report"), contextlib.closing(_open(ctx)) as con:
        return write_reports(con, ctx, only)


def shard_plan(ctx: RunContext, shards: int | None = None) -> list[int]:
    """Split the run's households into `shards` (default HEDUI_SHARDS) and link what cannot be split
    (hedui.steps.shard.plan); return the shard numbers, for one `shard_work` each."""
    from hedui.privacy.keys import load_keys
    from hedui.steps import shard

    n = settings().shards if shards is None else shard.parse_shards(shards, "shards")
    keys = load_keys()
    with writing(ctx, "shard_plan"):
        with contextlib.closing(_open(ctx)) as con:
            con.sql("begin transaction")
            result = shard.plan(con, ctx, n, keys)
            con.sql("commit")
        shard.write_plan(ctx, result)  # with the snapshot the shards copy, still under the lock
    log.info("shards: %d, households per shard %s", n, result["households"])
    return list(range(n))


def shard_work(ctx: RunContext, shard_no: int) -> dict:
    """Link, assess and render one shard on its own DuckDB file (no writer lock: shards run side by side)."""
    from hedui.steps import shard

    return shard.work_unlocked(ctx, shard_no)


def shard_merge(ctx: RunContext) -> dict:
    """Union the shards' link and assess rows into the working database, write the batch report files."""
    from hedui.steps import shard
    from hedui.steps.report.outputs import write_reports

    with writing(ctx, "shard_merge"), contextlib.closing(_open(ctx)) as con:
        with shard.attached(con, ctx) as aliases:
            con.sql("begin transaction")
            counts = shard.merge(con, ctx, aliases)
            con.sql("commit")
        write_reports(con, ctx, only=set())  # the pages are the shards'; the batch files are whole-run
    shard.remove_shards(ctx)
    return counts


def publish(ctx: RunContext, run_id: str | None = None) -> dict:
    """Log the run in the hash-chained audit log and publish the auditor database; `run_id` (the Airflow
    run's, else ``hedui-<date>``) is recorded in ``audit_runs``."""
    from hedui.audit.auditor import default_audit_db, default_log_path
    from hedui.audit.log import AuditLog
    from hedui.steps.publish import publish_audit_db

    with writing(ctx, "publish"):
        log_ = AuditLog(default_log_path(ctx.workdir))
        con = _open(ctx)
        try:
            n = con.sql("select count(*) from outcomes where run_date = ?", params=[ctx.run_date]).fetchall()[0][0]
        finally:
            con.close()
        log_.append(action="run", subject=f"核对批次 {ctx.run_date}",
                    details={"households": n, "workdir": str(ctx.workdir)})
        log_.append(action="report_render", subject=f"批次 {ctx.run_date} 报告",
                    details={"folder": str(ctx.report_dir), "households": n})
        return publish_audit_db(ctx.database, default_audit_db(ctx.workdir), ctx.run_date, audit_log=log_,
                                run_id=run_id, started_at=_run_started_at(ctx),
                                finished_at=dt.datetime.now().astimezone())


def _run_started_at(ctx: RunContext) -> dt.datetime | None:
    """When the run's first source was read (the manifests' `started_at`)."""
    times = []
    for p in (ctx.run_dir / "manifests").glob("*.json") if (ctx.run_dir / "manifests").is_dir() else []:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            times.append(dt.datetime.fromisoformat(json.loads(p.read_text(encoding="utf-8"))["started_at"]))
    return min(times) if times else None


def _source_bytes(ctx: RunContext, source: str) -> int:
    folder = ctx.inbox / source / ctx.run_date
    if not folder.is_dir() or folder.is_symlink():
        return 0
    return sum(f.lstat().st_size for f in folder.iterdir() if not f.is_symlink() and f.is_file())


def _timed_source(ctx: RunContext, source: str) -> float:
    t = time.perf_counter()
    with failing_step("sources", source):
        ingest_and_validate(ctx, source)
    return time.perf_counter() - t


@contextlib.contextmanager
def failing_step(step: str, source: str | None = None):
    """Mark an error raised in the block with the step (and source) it stopped the run in, for the operator's
    error line and failure notice (`hedui.ops.failures.failed_where_zh`); the innermost mark wins.  The marks
    travel with the error from a source worker's process (an exception's attributes are pickled with it)."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "hedui_step", None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                exc.hedui_step, exc.hedui_source = step, source
        raise


def ingest_all(ctx: RunContext, workers: int | None = None, progress=None) -> dict:
    """Ingest and validate every source, `workers` at a time (largest delivery first); return timings.

    `workers` defaults to ``HEDUI_INGEST_WORKERS`` or min(2, CPUs); with more than
    one, the sources run in worker processes that share the cores'
    ``HEDUI_THREADS`` between them.  A failing source fails the call after the
    others have finished.
    """
    if workers is None:
        workers = settings().ingest_workers
    order = sorted(sources(), key=lambda s: _source_bytes(ctx, s), reverse=True)
    if progress is not None:
        progress.expect(len(order))
    if workers <= 1 or len(order) <= 1:
        timings = {}
        for s in sources():
            timings[f"ingest:{s}"] = _timed_source(ctx, s)
            if progress is not None:
                progress.advance(f"导入 {s}")
        return timings
    from hedui.steps.source_pool import run_sources

    timings = run_sources(_timed_source, ctx, order, workers, settings().threads, progress)
    return {f"ingest:{s}": timings[s] for s in sources()}


_STEPS_ZH = {"load": "入库", "link": "关联", "assess": "评估", "report": "出报告", "publish": "发布",
             "shard_plan": "分片计划", "shard_work": "分片处理", "shard_merge": "分片合并"}


def run(ctx: RunContext, progress=None, shards: int | None = None) -> dict:
    """Every step in order, without Airflow (`hedui run`); the per-source steps two at a time.

    Holds the working folder's writer lock throughout; removes what a killed
    earlier run left behind first.  `progress` (hedui.ops.progress.Progress) hears
    of every finished source and step.  With `shards` (default HEDUI_SHARDS) > 1,
    link, assess and report run as shard_plan, one shard_work per shard (one
    after the other here) and shard_merge.
    """
    from hedui.ops.whole_requests import check_request_list

    n = settings().shards if shards is None else shards
    with writing(ctx, "run"):
        check_request_list(ctx)  # a date with results is never re-run on a request list still being copied
        return _run(ctx, progress, n)


def _run(ctx: RunContext, progress=None, shards: int = 1) -> dict:
    from hedui.workdir import clean_leftovers, secure_workdir

    clean_leftovers(ctx.workdir)
    secure_workdir(ctx.workdir, deep=True)
    middle = ((("link", link), ("assess", assess), ("report", report)) if shards <= 1 else (
        ("shard_plan", lambda c: shard_plan(c, shards)),
        ("shard_work", lambda c: [shard_work(c, i) for i in range(shards)]), ("shard_merge", shard_merge)))
    if progress is not None:
        progress.expect(2 + len(middle))
    t = time.perf_counter()
    timings = ingest_all(ctx, progress=progress)
    timings["sources"] = time.perf_counter() - t
    for name, step in (("load", load), *middle, ("publish", publish)):
        t = time.perf_counter()
        with failing_step(name):
            step(ctx)
        timings[name] = time.perf_counter() - t
        if progress is not None:
            progress.advance(_STEPS_ZH[name])
        kill_point(f"after:{name}")
    return timings
