"""A re-run of a date that has results needs the whole request list, or it replaces nothing.

A re-run of a date whose request list is still being copied (its ``.ok`` says 7 rows, the file holds 2)
verified 2 households, or none, and its outputs replaced the date's: outcomes.csv emptied, report pages
deleted.  :func:`check_request_list` reads the request list before anything is replaced — only when the date
already has results (a first run of a date goes on as before: it says the request list was not delivered
and verifies no one) — and refuses the run with the reason when the list is not whole: a count that differs
from its ``.ok``, a missing ``.ok``, a file that cannot be read.  `hedui run` exits 2; in the nightly DAG the
requests' ingest task fails at once, without retries (load never runs), so the earlier results stay.
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path

from hedui.errors import InputError


class RequestListNotWhole(InputError):
    """The request list of a date that already has results is incomplete: the run replaces nothing."""


def previous_households(ctx) -> int:
    """How many households the date's earlier results hold (outcomes.csv's rows, else its report pages)."""
    n = 0
    with contextlib.suppress(OSError, csv.Error, UnicodeDecodeError):
        with open(ctx.report_dir / "outcomes.csv", encoding="utf-8", newline="") as fh:
            n = sum(1 for _ in csv.DictReader(fh))
    if not n:
        with contextlib.suppress(OSError):
            n = sum(1 for _ in (ctx.report_dir / "households").glob("*.html"))
    return n


def _read_requests(ctx, out: Path):
    """The request list's delivery manifest, read as the ingest reads it (into `out`, removed by the caller)."""
    from connectors import load_map, read_table
    from hedui.ops.settled_delivery import read_settled
    from hedui.ops.sources_config import load_sources_config
    from hedui.settings import REQUESTS

    smap = load_map(REQUESTS)
    delivery = load_sources_config().delivery(REQUESTS)
    if delivery.is_sql:
        return read_table(smap, delivery.conn_id, delivery.table, out, ctx.run_date)
    return read_settled(smap, ctx.inbox / REQUESTS / ctx.run_date, ctx.inbox, out, ctx.run_date)


def check_request_list(ctx) -> None:
    """Raise RequestListNotWhole when the date has results and its request list is not whole; else nothing."""
    households = previous_households(ctx)
    if not households:
        return
    from hedui.workdir import private_umask

    private_umask()
    scratch = ctx.workdir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    out = scratch / f"requests_check_{os.getpid()}.parquet"  # plain IDs: private, removed at once
    try:
        manifest = _read_requests(ctx, out)
    finally:
        with contextlib.suppress(OSError):
            out.unlink()
    if manifest.status == "delivered":
        return
    from hedui.logs import mask_text

    raise RequestListNotWhole(
        f"批次 {ctx.run_date} 的委托名单（requests/{ctx.run_date}/）不完整：{mask_text(manifest.message_zh)}。"
        f"该日期已有核对结果（{households} 户），用不完整的名单重跑会覆盖这些结论和报告，本次未运行，"
        f"原有结论（{ctx.report_dir / 'outcomes.csv'}）和报告保持不变；"
        "请待委托名单全部传完、完成标记 .ok 中的行数与文件一致后，再重跑该日期")
