"""One pipeline step alone, timed in CPU-s of this process and its children (getrusage).

    python -m bench.step_cpu WORKDIR read|stage|validate|sources|load|link|assess|report|publish [SOURCE …]

WORKDIR is a copy of a bench run's workdir (``bench/cache/<size>-<seed>/work-hedui``): the step reads
and rewrites its files there, as ``hedui run`` would.  Imports and GX's first context are made
before the clock starts (a run's source workers have them preloaded).  Prints one JSON line per
source (or one for load): step, source, cpu (user + system s), sys (system s alone), wall.  ``sources`` is
stage and validate in one pass, as ``ingest_and_validate`` does them (GX fed by the staging pass; the
delivery's manifest read from disk, as ``stage`` does).  The machine is shared: judge
a change by CPU-s of old and new code alternated on the same inputs, not by wall time.
Run from another checkout's folder (``cd OTHER && /path/.venv/bin/python -m bench.step_cpu …``) to time that
checkout's code: ``python -m`` puts the current folder first on ``sys.path``, before ``PYTHONPATH`` (which
therefore does NOT select the code, as this docstring once said).
``read`` is the connector alone, as ``hedui.pipeline.ingest_source`` runs it (``read_settled`` of the delivery in
``$HEDUI_BENCH_INBOX``, default ``bench/cache/tenth-1/inbox``, into ``raw/<source>.parquet``); its line adds
``bound``: the read-once bound's readers (``bench.pipeline``) on the same files, timed alike, so the gap shows per
source and format (``bound_fmt``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

DATE = "20261128"
INBOX = Path(__file__).resolve().parent / "cache" / "tenth-1" / "inbox"


def _bound(inbox: Path, source: str) -> dict:
    """CPU-s of the read-once bound's readers on one source's delivered files, per format."""
    from bench import pipeline as bp
    from connectors import load_map
    from connectors.raw import find_header
    from connectors.textfile import GB18030, sniff

    smap = load_map(source)
    out: dict[str, float] = {}
    for path in sorted(p for p in (inbox / source / DATE).glob("*") if p.is_file() and not p.name.endswith(".ok")):
        fmt = path.suffix.lstrip(".").lower()
        cpu = _cpu()
        if fmt == "csv":
            layout = sniff(path, lambda r, m=smap: find_header(r, m))
            skip = max(layout.header_line - 1, 0)
            fmt = "csv-gb18030" if layout.encoding == GB18030 else "csv-utf8"
            (bp._read_csv_gb18030 if fmt == "csv-gb18030" else bp._read_csv_utf8)(path, layout.sep, skip)
        elif fmt == "xlsx":
            bp._read_xlsx(path)
        elif fmt == "parquet":
            bp._read_parquet(path)
        else:
            continue
        out[fmt] = round(out.get(fmt, 0.0) + _cpu() - cpu, 3)
    return out


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _sys() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_stime + kids.ru_stime


def main(argv: list[str]) -> int:
    workdir, step, *only = argv
    import hedui.pipeline as p
    from connectors import load_map
    from hedui.privacy.protect import staging_protector
    from hedui.settings import sources
    from hedui.steps import preload  # noqa: F401  (GX and the step modules, as a source worker has them)
    from hedui.steps.ingest import stage_source
    from hedui.steps.validate.check import read_columns

    ctx = p.RunContext.of(os.environ.get("HEDUI_BENCH_INBOX") or INBOX, workdir, DATE)
    names = only or [s for s in sources()]
    if step == "read":  # the readers' first-call set-up (pyarrow's dataset layer, fastexcel) is no reading
        from bench import pipeline as bp

        for suffix, reader in ((".xlsx", bp._read_xlsx), (".parquet", bp._read_parquet)):
            files = [f for f in ctx.inbox.glob(f"*/{DATE}/*{suffix}")]
            if files:
                reader(min(files, key=lambda f: f.stat().st_size))
    if step in ("validate", "sources"):
        from hedui.steps.validate.suites import gx_context

        gx_context()
    results = []
    if step == "load":
        ctx.database.unlink(missing_ok=True)
    if step in ("load", "link", "assess", "report", "publish"):
        names = ["*"]
    for source in names:
        started, cpu, sys_ = time.perf_counter(), _cpu(), _sys()
        if step == "read":
            from hedui.ops.settled_delivery import read_settled
            from hedui.ops.sources_config import load_sources_config

            smap = load_map(source)
            if load_sources_config().delivery(source).is_sql:
                continue
            manifest = read_settled(smap, ctx.inbox / source / ctx.run_date, ctx.inbox, ctx.path("raw", source),
                                    ctx.run_date)
            # beside the raw file, for comparing two checkouts' reads (the run's manifests/ holds staging's too)
            ctx.path("raw", source).with_suffix(".manifest.json").write_text(
                json.dumps(p._as_dict(manifest), ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        elif step in ("stage", "sources"):
            manifest = json.loads(ctx.path("manifests", source, "json").read_text(encoding="utf-8"))["manifest"]
            plain = ctx.path("staged_pre", source)
            stream = None
            if step == "sources":
                from hedui.steps.validate.stream import StreamValidation, stage_writer

                plain.unlink(missing_ok=True)
                stream = StreamValidation(source, plain, ctx.run_date, ctx.path("staged", source),
                                          ctx.path("quarantine_gx", source))
            stage_source(ctx.path("raw", source), load_map(source), ctx.run_date, plain,
                         ctx.path("quarantine_stage", source), manifest=manifest,
                         protect=staging_protector(source, plain, read_columns(source)),
                         plain=stage_writer(stream) if stream else None)
            if stream is not None:
                p.validate_source(ctx, source, stream=stream)
        elif step == "validate":
            p.validate_source(ctx, source)
        elif step in ("load", "link", "assess", "report", "publish"):
            getattr(p, step)(ctx)
        else:
            raise SystemExit(f"unknown step {step}")
        results.append({"step": step, "source": source, "cpu": round(_cpu() - cpu, 3), "sys": round(_sys() - sys_, 3),
                        "wall": round(time.perf_counter() - started, 3)})
        if step == "read":
            bound = _bound(ctx.inbox, source)
            results[-1].update(bound=round(sum(bound.values()), 3), bound_fmt=bound)
        print(json.dumps(results[-1]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
