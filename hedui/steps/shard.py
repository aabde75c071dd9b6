"""Shards: link, assess and report households in N parts, each on its own DuckDB file, then merge.

The path for ``HEDUI_SHARDS`` / ``hedui run --shards`` / the DAG param ``shards`` > 1
(N = 1 is today's path, unchanged):

1. **plan** (working database, writer lock) — each household's shard is
   ``HMAC-SM3(pseudonym key, "hedui-shard|" + request_id) mod N`` (a household's
   members share its request id, so they share its shard; keyed, so the split
   says nothing without the key, and stable for a key). What cannot be split
   is done here, once, over the whole run: probabilistic linkage *scores*
   every record without a usable ID against every member (the term
   frequencies of names are those of the whole data) and *ranks* each
   record's candidates across all households (one-to-one choice and the
   ambiguity margin). The pairs (without the plain ID) and the shard map are
   stored in the working database as ``shard_plan_pairs`` / ``shard_plan_households``,
   and a snapshot of the database is taken for the shards (under the writer lock).
2. **work** (one per shard, in parallel, e.g. on different Celery workers) —
   copies the snapshot to ``runs/<date>/shards/<i>/hedui.duckdb``,
   keeps only the shard's requests of the run, and there runs the link step
   (exact links, the shard's share of the planned pairs, review queue,
   decisions, quarantine links), the assessment, and renders the shard's
   household pages into the run's report folder (pages of different
   households never collide).
3. **merge** (working database, writer lock) — replaces the run's rows of
   every table the link and assess steps write by the union of the shards',
   checks the authorization gate, writes the query ledger once, writes the
   batch files of the report (outcomes.csv, summary…) and removes the shard
   files. Publication then runs once, as on the one-shard path.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from pathlib import Path

import pyarrow as pa

from hedui import db
from hedui.errors import InputError
from hedui.settings import MAX_SHARDS, parse_shards

log = logging.getLogger(__name__)

SHARD_LABEL = "hedui-shard|"
#: the tables the link and assess steps replace per run, which the merge takes from the shards
LINK_TABLES = ("links", "review_queue", "quarantine_links")
PLAN_TABLES = ("shard_plan_households", "shard_plan_pairs")
PAGES_ROWS = "pages.json"  # a shard's rows of the report's pages.parquet, beside its database
__all__ = ["MAX_SHARDS", "merge", "parse_shards", "plan", "shard_of", "work"]


def shard_of(keys, request_ids: list[str], n: int) -> list[int]:
    """Each request's shard: the first 8 bytes of HMAC-SM3(pseudonym key, label + id), big-endian, mod n."""
    digests = keys.pseudonym_digests([SHARD_LABEL + r for r in request_ids])
    return [int.from_bytes(d[:8], "big") % n for d in digests]


def shards_dir(ctx) -> Path:
    return ctx.run_dir / "shards"


def shard_database(ctx, shard: int) -> Path:
    return shards_dir(ctx) / f"{int(shard):03d}" / "hedui.duckdb"


def _plan_file(ctx) -> Path:
    return shards_dir(ctx) / "plan.json"


def assess_tables() -> tuple[str, ...]:
    from hedui.steps.assess import MODELS

    return ("household_policy", *MODELS)


# -- plan ---------------------------------------------------------------------------


def plan(con, ctx, n: int, keys) -> dict:
    """Decide every household's shard and score and rank the probabilistic pairs globally.

    Runs inside the caller's transaction on the working database (after `load`).
    Returns {"shards": n, "households": [count per shard], "pairs": n}.
    """
    from hedui.privacy.protect import protect_working_tables
    from hedui.settings import sources
    from hedui.steps.link import probabilistic_pairs

    run_date = ctx.run_date
    request_ids = [r for (r,) in con.sql(  # with the households every request row of which was quarantined
        "select request_id from stg_requests where run_date = $d union select request_id from quarantine_subjects "
        "where run_date = $d and source = 'requests' and request_id is not null order by request_id",
        params={"d": run_date}).fetchall()]
    table = pa.table({"request_id": pa.array(request_ids, pa.string()),
                      "shard": pa.array(shard_of(keys, request_ids, n), pa.int32())})
    con.register("_hd_shards", table)
    try:
        db.replace_rows(con, "shard_plan_households",
                        "select $run_date as run_date, request_id, shard from _hd_shards", {"run_date": run_date},
                        run_date)
    finally:
        con.unregister("_hd_shards")
    # score and rank once, over every record and every member (prob_pairs: a temp table)
    probabilistic_pairs(con, run_date, keys)
    n_pairs = db.replace_rows(con, "shard_plan_pairs",
                              "select $run_date as run_date, * exclude (idno) from prob_pairs",
                              {"run_date": run_date}, run_date)  # the plain ID never reaches the file
    con.sql("drop table if exists prob_pairs")
    protect_working_tables(con, keys, sources())  # the copies the shards take hold protected tables only
    per_shard = dict(con.sql("select shard, count(*) from shard_plan_households where run_date = ? group by shard",
                             params=[run_date]).fetchall())
    return {"shards": n, "households": [int(per_shard.get(i, 0)) for i in range(n)], "pairs": n_pairs}


def write_plan(ctx, result: dict) -> None:
    """Write the plan and a snapshot of the (closed) working database for the shards to copy.

    Call it holding the writer lock: the shards copy the snapshot, never the working
    database, which a review decision may write meanwhile.
    """
    folder = shards_dir(ctx)
    if folder.exists():
        shutil.rmtree(folder)  # an earlier plan's shard files
    folder.mkdir(parents=True)
    _copy_database(ctx.database, _snapshot(ctx))
    tmp = _plan_file(ctx).with_suffix(".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(_plan_file(ctx))


def _snapshot(ctx) -> Path:
    return shards_dir(ctx) / "snapshot.duckdb"


def _copy_database(source: Path, target: Path) -> None:
    """Copy a closed DuckDB file (and its WAL, if one was left) to `target`, atomically."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    wal = Path(str(source) + ".wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(target) + ".wal"))
    tmp.replace(target)


def read_plan(ctx) -> dict:
    """The run's shard plan. Raises InputError when `plan` did not run for this date."""
    path = _plan_file(ctx)
    if not path.exists():
        raise InputError(f"批次 {ctx.run_date} 没有分片计划（{path}）：请先运行分片计划步骤（shard_plan）")
    return json.loads(path.read_text(encoding="utf-8"))


# -- work ---------------------------------------------------------------------------


def work(ctx, shard: int, keys) -> dict:
    """Link, assess and render the pages of one shard on its own copy of the working database."""
    from hedui.audit.ledger import check_authorization_gate
    from hedui.privacy.protect import protect_working_tables
    from hedui.settings import settings, sources
    from hedui.steps.assess import assess_run
    from hedui.steps.link import apply_decisions, name_conflicts, quarantine_links

    n = read_plan(ctx)["shards"]
    if not 0 <= int(shard) < n:
        raise InputError(f"分片编号 {shard} 无效：本批次共 {n} 个分片（0 到 {n - 1}）")
    timings: dict[str, float] = {}
    t = time.perf_counter()
    path = shard_database(ctx, shard)
    if path.parent.exists():
        shutil.rmtree(path.parent)  # a killed attempt's copy
    path.parent.mkdir(parents=True)
    _copy_database(_snapshot(ctx), path)  # the working database as the plan left it
    timings["copy"] = time.perf_counter() - t
    s = settings()
    run_date = ctx.run_date
    con = db.connect(path, threads=s.threads, memory_limit=s.memory_limit, temp_directory=path.parent / "tmp",
                     stored_macros=True)
    try:
        t = time.perf_counter()
        con.sql("begin transaction")
        con.execute("delete from stg_requests where run_date = $run_date and request_id not in "
                    "(select request_id from shard_plan_households where run_date = $run_date and shard = $shard)",
                    {"run_date": run_date, "shard": int(shard)})
        con.execute("delete from quarantine_subjects where run_date = $run_date and source = 'requests' "
                    "and request_id not in (select request_id from shard_plan_households "
                    "                       where run_date = $run_date and shard = $shard)",
                    {"run_date": run_date, "shard": int(shard)})
        name_conflicts(con, run_date)  # the records exact linkage leaves to the plan's probabilistic pairs
        counts = {"exact": db.replace_model(con, "links", "link/links_exact.sql", run_date)}
        con.sql("drop table _hd_name_conflicts")
        con.execute("create or replace temp table prob_pairs as "
                    "select * exclude (run_date) from shard_plan_pairs where run_date = $run_date "
                    "and request_id in (select request_id from shard_plan_households "
                    "                   where run_date = $run_date and shard = $shard)",
                    {"run_date": run_date, "shard": int(shard)})
        counts["review_queue"] = db.replace_model(con, "review_queue", "link/review_queue.sql", run_date)
        con.sql("drop table prob_pairs")
        apply_decisions(con, run_date)
        counts["quarantine_links"] = quarantine_links(con, run_date, keys)
        protect_working_tables(con, keys, sources())
        check_authorization_gate(con, run_date)
        timings["link"] = time.perf_counter() - t
        t = time.perf_counter()
        counts.update(assess_run(con, run_date))
        con.sql("commit")
        timings["assess"] = time.perf_counter() - t
        t = time.perf_counter()
        counts["pages"] = render_pages(con, ctx, path.parent)
        timings["report"] = time.perf_counter() - t
    finally:
        con.close()
    log.info("shard %d of %d: %s", shard, n, {k: round(v, 2) for k, v in timings.items()})
    return {"shard": int(shard), "counts": counts, "seconds": timings}


def work_unlocked(ctx, shard: int) -> dict:
    """`work` with private file modes and the keys checked against the working folder's (no writer lock)."""
    from hedui.privacy.keyring import check_keys
    from hedui.privacy.keys import load_keys
    from hedui.workdir import private_umask

    private_umask()
    keys = load_keys()
    check_keys(ctx.workdir, keys)
    return work(ctx, shard, keys)


def render_pages(con, ctx, scratch: Path) -> int:
    """Render the household pages of the shard's database into the run's report folder (no batch files).

    The report step's rendering (hedui.steps.report.outputs.render_households), for the households
    this database holds; the shard's rows of pages.parquet go to `scratch`/pages.json, for the merge
    to write the index once. PDFs follow HEDUI_REPORT_PDF for the batch's total household count.
    """
    from hedui.steps.report.outputs import pdf_wanted, render_households, write_pdfs

    params = {"run_date": ctx.run_date}
    n_batch_total = con.sql("select count(*) from shard_plan_households where run_date = $run_date",
                            params=params).fetchall()[0][0]
    n_pages, _, rows = render_households(con, ctx, scratch, reissue={})
    # the shard's rows of pages.parquet: merge writes the index once, from every shard's
    (scratch / PAGES_ROWS).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    if rows and pdf_wanted(n_batch_total):
        ids = [r for (r,) in con.sql("select request_id from outcomes where run_date = $run_date "
                                     "order by request_id", params=params).fetchall()]
        write_pdfs(ctx.report_dir, ids)
    return n_pages


# -- merge --------------------------------------------------------------------------


@contextlib.contextmanager
def attached(con, ctx):
    """The shards' databases attached read-only to `con` (outside a transaction: DuckDB attaches there only).

    Yields their aliases. Raises InputError when a shard's database is missing (its work did not finish).
    """
    n = read_plan(ctx)["shards"]
    paths = [shard_database(ctx, i) for i in range(n)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if missing:
        raise InputError(f"批次 {ctx.run_date} 的分片 {missing} 尚未完成（缺少分片数据库）：请先完成这些分片再合并")
    aliases = []
    try:
        for i, p in enumerate(paths):
            alias = f"hd_shard_{i}"
            con.execute(f"attach '{_sql_path(p)}' as {alias} (read_only)")
            aliases.append(alias)
        yield aliases
    except BaseException:
        with contextlib.suppress(Exception):  # detaching needs the failed transaction gone
            con.sql("rollback")
        raise
    finally:
        for a in aliases:
            con.sql(f"detach {a}")


def merge(con, ctx, aliases: list[str]) -> dict:
    """Replace the run's link and assess rows by the union of the shards' `aliases` (`attached`),
    in the caller's transaction; then the authorization gate and the query ledger, once."""
    from hedui.audit.ledger import check_authorization_gate, write_query_ledger
    from hedui.steps.report import digests

    run_date = ctx.run_date
    counts: dict[str, int] = {}
    for table in (*LINK_TABLES, *assess_tables()):
        have = [a for a in aliases if _attached_table(con, a, table)]
        if not have:
            continue
        union = " union all ".join(f"select * from {a}.main.{table} where run_date = $run_date" for a in have)
        here = con.sql("select current_database()").fetchall()[0][0]
        if not _attached_table(con, here, table):
            con.sql(f"create table {table} as select * from {have[0]}.main.{table} limit 0")
        con.execute(f"delete from {table} where run_date = ?", [run_date])
        counts[table] = int(con.execute(f"insert into {table} by name {union}",
                                        {"run_date": run_date}).fetchall()[0][0])
    check_authorization_gate(con, run_date)
    counts["ledger"] = write_query_ledger(con, run_date)
    rows = [r for f in sorted(shards_dir(ctx).glob(f"*/{PAGES_ROWS}"))
            for r in json.loads(f.read_text(encoding="utf-8"))]
    digests.write_index(con, ctx.report_dir, rows, replace_all=True)
    for table in PLAN_TABLES:
        con.execute(f"delete from {table} where run_date = ?", [run_date])
    return counts


def remove_shards(ctx) -> None:
    """The shard files of a merged run (copies of the working database) go."""
    shutil.rmtree(shards_dir(ctx), ignore_errors=True)


def _attached_table(con, alias: str, table: str) -> bool:
    return bool(con.sql("select count(*) from duckdb_tables() where database_name = ? and table_name = ? "
                        "and not temporary", params=[alias, table]).fetchall()[0][0])


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
