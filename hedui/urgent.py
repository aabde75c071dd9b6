"""Urgent verification (救急难): one household, now, against the latest loaded copy of every source.

`verify_household` is what `hedui verify`, the `hedui_on_demand` DAG and the staff
workspace call.  It never writes into the working database (which the nightly
batch may hold) and never waits for a batch:

1. the request rows are staged and validated like a delivery of requests
   (same connector, staging, GX suite and protection), in a scratch folder
   ``<workdir>/urgent/<key>/`` with the business date of today as run date;
2. from the working database (opened read-only), for every department, the
   staged records of the latest delivery that passed its checks are copied —
   only those that can belong to this household: the members' ID pseudonyms,
   and the records without a usable ID that the nightly's probabilistic linkage
   could pair with a member (`hedui.urgent_candidates`: its blocking rules pair
   a name by its pinyin, an ID of a wrong check character by its first
   characters — the name alone cannot choose them); the household's previous
   verifications and the staff's link decisions come along, so changes and
   confirmed links are the nightly's.
   Names' term frequencies in probabilistic linkage are computed over the
   candidates at hand, so a weight can differ from the nightly's: a record
   the nightly linked may come out for review (``review_pending`` in the
   result says how many pairs wait for a person);
3. sources that answer only per request (``on_request`` in the sources
   configuration: banks, securities, insurance) are 待反馈 unless their
   answer files are given (``answers``: a folder ``<source>/`` of files with
   ``.ok`` markers); a pending source can never make the household look
   eligible (SOURCE_MISSING: INCOMPLETE, or FINDINGS when a finding already stands);
4. the pipeline's own load, link, assess and report steps run on the scratch
   database; the household's page is issued as a new version under
   ``<workdir>/reports/urgent/<request>/`` and the verification is logged in
   the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from hedui.urgent_request import (  # noqa: F401 — the request's names, as callers import them
    REQUEST_FILE_MAX,
    REQUEST_HEADERS,
    VerifyError,
    check_rows,
    read_request_file,
    refuse_unverifiable,
    write_request_delivery,
)

log = logging.getLogger(__name__)

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
PENDING = "pending"


def business_today() -> str:
    return dt.datetime.now(BUSINESS_TZ).strftime("%Y%m%d")


def _business_date(value: object, what: str) -> str | None:
    """`value` as a business date YYYYMMDD (YYYY-MM-DD accepted, as for `hedui run`), None when not given;
    a VerifyError naming `what` for anything else (a day that does not exist, a path, not text)."""
    if value is None or value == "":
        return None
    from hedui.errors import InputError
    from hedui.ops.business_date import parse_business_date

    if not isinstance(value, str):
        raise VerifyError(f"{what} 应为文本形式的日期 YYYYMMDD，例如 20261202")
    try:
        return parse_business_date(value, what)
    except InputError as exc:
        raise VerifyError(str(exc)) from None


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def _sq(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _exists(con, table: str) -> bool:
    return bool(con.sql("select count(*) from duckdb_tables() where table_name = ? and not temporary",
                        params=[table]).fetchall()[0][0])


def _copy_sources(ctx, working: Path, departments: list[str], answered: set[str], on_request: set[str]) -> dict:
    """Write the scratch run's staged files, manifests and statuses of the departments; return {source: used}."""
    from connectors import load_map
    from hedui import db
    from hedui.privacy.keys import load_keys
    from hedui.urgent_candidates import Candidates, competitors

    try:  # waits while a step of the nightly batch writes it (each step holds it a while, then lets go)
        con = db.connect_read(working, threads=2, memory_limit="1GB")
    except Exception as exc:  # db.DatabaseBusyError: held by a writer (the nightly batch) all that time
        raise VerifyError(f"工作库 {working} 暂时无法读取（可能正被夜间批次写入）：请稍后重试") from exc
    used: dict[str, dict] = {}
    try:
        staged_requests = ctx.path("staged", "requests")
        candidates = Candidates(con, staged_requests, load_keys())
        for source in departments:
            if source in answered:
                continue
            smap = load_map(source)
            table = f"stg_{source}"
            out = ctx.path("staged", source)
            latest = con.execute("select max(run_date) from source_status where source = ? and status = 'passed'",
                                 [source]).fetchall()[0][0] if _exists(con, "source_status") else None
            if not _exists(con, table):
                raise VerifyError(f"工作库 {working} 中没有{smap.title_zh}的数据表：请先运行一次夜间批次（hedui run）")
            if source in on_request:
                status, reasons = PENDING, [f"待反馈：已按次查询，{smap.title_zh}反馈后重新出具报告"]
                latest = None
            elif latest is None:
                status, reasons = "missing", [f"工作库中没有{smap.title_zh}通过校验的交付"]
            else:
                status, reasons = "passed", [f"使用{latest}交付的数据"]
            # the records of a member's ID, and those without a usable ID that the nightly's blocking rules could
            # pair with a member (hedui.urgent_candidates: by pinyin, an ID's first characters — not the name alone)
            where = "false" if latest is None else (
                f"run_date = $latest and ({candidates.id_in} or ((id_norm is null or id_status = 'converted_15') "
                "and name_norm is not null))")  # a legacy 15-digit ID: a mistyped digit passes (prob_left.sql)
            con.execute(f"create or replace temp table _uc_rows as select * from {table} where {where}",
                        {"latest": latest} if latest is not None else {})
            try:
                con.execute(f"copy (select * replace (cast($today as varchar) as run_date) from _uc_rows "
                            f"where {candidates.keep(con, '_uc_rows')}) to {_sq(out)} (format parquet)",
                            {"today": ctx.run_date})
            finally:
                candidates.release(con)
                con.sql("drop table _uc_rows")
            # the delivery's quarantined rows come along: one naming a member keeps the household from CLEAR,
            # as in the nightly (policy.md); the link step matches them to members, the page shows the reason
            quarantined = ""
            for table, kind in (("quarantine_subjects", "quarantine_ids"), ("quarantine", "quarantine_stage")):
                if latest is not None and _exists(con, table):
                    q = ctx.path(kind, source)
                    con.execute(f"copy (select * replace (cast($today as varchar) as run_date) from {table} "
                                f"where run_date = $latest and source = $source) to {_sq(q)} (format parquet)",
                                {"today": ctx.run_date, "latest": latest, "source": source})
                    if table == "quarantine":  # its rows are part of what the files delivered (reconciliation)
                        quarantined = (f" union all select file_name, count(distinct row_no) from read_parquet({_sq(q)})"
                                       " group by all")
            # the copied rows, per file of their delivery: what this verification took in (reconciled by load)
            files = [{"file_name": f, "format": "working", "marker_count": n, "rows_read": n, "complete": True,
                      "problems": []}
                     for f, n in con.sql(f"select file_name, sum(n) from (select file_name, count(*) as n from "
                                         f"read_parquet({_sq(out)}) group by all{quarantined}) group by all "
                                         "order by all").fetchall()]
            manifest = {"source": source, "delivery_date": latest or "", "location": f"working:{latest or ''}",
                        "status": "delivered" if status == "passed" else status, "files": files, "problems": [],
                        "message_zh": "；".join(reasons), "rows_total": sum(f["rows_read"] for f in files)}
            _write_json(ctx.path("manifests", source, "json"),
                        {"source": source, "manifest": manifest, "staging": {"quarantined_rows": 0}})
            _write_json(ctx.path("status", source, "json"),
                        {"source": source, "status": status, "reasons_zh": reasons, "validation": {}})
            used[source] = {"status": status, "delivery_date": latest}
        history = ctx.run_dir / "history"
        history.mkdir(parents=True, exist_ok=True)
        # the members of the working database's other requests whom the nightly ranks against this household's for
        # the same records (hedui.urgent_candidates.competitors): a record as likely theirs waits for a person
        staged = [str(p) for s in departments if (p := ctx.path("staged", s)).exists()]
        if (rivals := competitors(con, candidates, staged, ctx.run_date)) is not None:
            con.sql(f"copy ({rivals}) to {_sq(history / 'link_competitors.parquet')} (format parquet)")
        # the household's earlier verifications (by its applicant), for previous_verification / changes
        con.sql(f"create temp table _applicants as select distinct id_norm from read_parquet({_sq(staged_requests)}) "
                "where relation = '本人' and id_norm is not null")
        con.execute("create temp table _earlier as select distinct run_date, request_id from stg_requests "
                    "where run_date < $today and relation = '本人' and id_norm in (select id_norm from _applicants)",
                    {"today": ctx.run_date})
        for table in ("stg_requests", "households", "outcomes", "facts", "quarantine_links"):
            if _exists(con, table):
                con.sql(f"copy (select t.* from {table} t join _earlier using (run_date, request_id)) "
                        f"to {_sq(history / (table + '.parquet'))} (format parquet)")
        if _exists(con, "review_decisions"):
            con.sql(f"copy (select * from review_decisions) to {_sq(history / 'review_decisions.parquet')} "
                    "(format parquet)")
    finally:
        con.close()
    return used


def _restore_history(ctx) -> None:
    """Put the household's earlier verifications and the link decisions into the scratch database."""
    from hedui import db

    history = ctx.run_dir / "history"
    con = db.connect(ctx.database, threads=2, memory_limit="1GB")
    try:
        for table in ("stg_requests", "households", "outcomes", "facts", "quarantine_links", "review_decisions",
                      "link_competitors"):
            f = history / (table + ".parquet")
            if not f.exists():
                continue
            if _exists(con, table):
                con.sql(f"insert into {table} by name select * from read_parquet({_sq(f)})")
            else:
                con.sql(f"create table {table} as select * from read_parquet({_sq(f)})")
    finally:
        con.close()


def _stage_answers(ctx, answers: Path | None, on_request: set[str]) -> set[str]:
    """Copy the answer files of per-request sources into the scratch inbox; return the sources answered."""
    if answers is None:
        return set()
    answers = Path(answers)
    if not answers.is_dir():
        raise VerifyError(f"反馈文件目录 {answers} 不存在：请给出含 bank/、securities/、insurance/ 等子目录的目录")
    out = set()
    for sub in sorted(answers.iterdir()):
        if not sub.is_dir() or sub.name.startswith("."):
            continue
        if sub.name not in on_request:
            raise VerifyError(f"反馈目录中的 {sub.name}/ 不是按次查询的数据来源；允许：{'、'.join(sorted(on_request))}")
        if sub.is_symlink():  # as a linked source folder of the inbox: never followed
            raise VerifyError(f"反馈目录中的 {sub.name}/ 是符号链接，出于安全不读取（链接可能指向别处的文件）："
                              "请把该部门的反馈文件直接放在这个子目录中后重试")
        dest = ctx.inbox / sub.name / ctx.run_date
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(sub.iterdir()):
            _mirror(f, dest, ctx.workdir / ".links")
        out.add(sub.name)
    return out


def _mirror(entry: Path, dest: Path, links: Path) -> None:
    """`entry` of an answer folder into the scratch delivery `dest`, so that the connector judges it as it judges
    the nightly inbox: a file copied (a hidden or temporary one too), a link, a folder or a pipe made again as
    such, empty, never followed nor read, and a file with other hard links copied with a second name outside
    the delivery.  Skipping them instead hid, say, a hidden file still being transferred: the answer counted as
    complete and the household could come out CLEAR on a part of what the bank answered."""
    import stat

    st = entry.lstat()
    target = dest / entry.name
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(entry), target)
    elif stat.S_ISDIR(st.st_mode):
        target.mkdir()
    elif not stat.S_ISREG(st.st_mode):
        os.mkfifo(target)
    else:
        shutil.copyfile(entry, target, follow_symlinks=False)
        if st.st_nlink > 1:  # a second name for the copy, outside the delivery: the connector sees the hard link
            links.mkdir(parents=True, exist_ok=True)
            os.link(target, links / f"{sum(1 for _ in links.iterdir())}")


def _issue(workdir: Path, ctx, request_id: str) -> tuple[int, Path]:
    """Issue the household's page (and PDF) under reports/urgent/<request>/ as its next version.

    The version counts the household's earlier nightly verifications and the
    urgent reports already issued; the page says so (核对批次 … 第 N 版报告，急难核对).
    """
    from hedui import db
    from hedui.steps.report.display import safe_name
    from hedui.steps.report.outputs import write_pdfs

    folder = workdir / "reports" / "urgent" / safe_name(request_id)
    folder.mkdir(parents=True, exist_ok=True)
    con = db.connect(ctx.database, read_only=True)
    try:
        nightly, page_version = con.execute(
            "select count(distinct run_date) filter (where run_date < $d), count(distinct run_date) "
            "from outcomes where request_id = $r and run_date <= $d", {"d": ctx.run_date, "r": request_id}
        ).fetchall()[0]
    finally:
        con.close()
    version = nightly + 1 + sum(1 for _ in folder.glob("v*.json"))
    page = ctx.report_dir / "households" / f"{safe_name(request_id)}.html"
    html = page.read_text(encoding="utf-8")
    stamp = f"（第 {page_version} 版报告）"
    if stamp in html:
        html = html.replace(stamp, f"（第 {version} 版报告，急难核对）", 1)
        page.write_text(html, encoding="utf-8")
    target = folder / f"v{version}_{ctx.run_date}.html"
    shutil.copyfile(page, target)
    pdf = page.with_suffix(".pdf")
    if pdf.exists():  # printed again from the page that carries the issued version
        write_pdfs(ctx.report_dir, [request_id])
        shutil.copyfile(pdf, target.with_suffix(".pdf"))
    return version, target


def verify_household(workdir: str | Path, request_rows: list[dict] | None = None, *,
                     request_file: str | Path | None = None, answers: str | Path | None = None,
                     run_date: str | None = None, actor: str | None = None, keep_scratch: bool = False) -> dict:
    """Verify one household now; return its request id, outcome, findings, pending sources and report path.

    `request_rows` are dicts with the headers of ``requests_*.csv`` (one per
    member, one 委托编号), or `request_file` such a file.  `answers` holds the
    answers of per-request sources (``<source>/`` folders).  `run_date`
    (YYYYMMDD) defaults to today in Asia/Shanghai.
    """
    from hedui import pipeline
    from hedui.audit.auditor import default_log_path
    from hedui.audit.log import AuditLog
    from hedui.ops.sources_config import load_sources_config

    started, cpu_started = time.perf_counter(), time.process_time()
    workdir = Path(workdir).resolve()
    working = workdir / "hedui.duckdb"
    if not working.exists():
        raise VerifyError(f"工作目录 {workdir} 中没有工作库 hedui.duckdb：请先运行一次夜间批次（hedui run）")
    from hedui.privacy.keyring import check_keys
    from hedui.privacy.request_ids import as_staged

    check_keys(workdir)  # other keys than the working folder's: no pseudonym would match, stop now
    if (request_rows is None) == (request_file is None):
        raise VerifyError("请给出委托文件（--request-file）或委托行，二者取一")
    rows = read_request_file(request_file) if request_file is not None else [dict(r) for r in request_rows]
    request_id = check_rows(rows)
    rows = [{**r, "委托编号": request_id} for r in rows]  # the id as checked (trimmed) is the id staged and looked up
    request_id = as_staged(request_id)  # as staging writes it (an ID number inside masked, hedui.privacy.request_ids)
    run_date = _business_date(run_date, "--date") or business_today()
    config = load_sources_config()
    on_request = set(config.on_request)
    key = f"{run_date}-{dt.datetime.now(BUSINESS_TZ).strftime('%H%M%S%f')}"
    scratch = workdir / "urgent" / key
    from hedui.workdir import clean_dead_scratch, hold_scratch

    clean_dead_scratch(workdir)  # what killed verifications left (plain ID numbers in their raw rows)
    scratch_fd = hold_scratch(scratch)
    ctx = pipeline.RunContext.of(scratch / "inbox", scratch, run_date)
    steps: dict[str, float] = {}
    cpu_steps: dict[str, float] = {}
    mark = [time.perf_counter(), time.process_time()]

    def step(name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        steps[name], cpu_steps[name] = round(now - mark[0], 3), round(cpu - mark[1], 3)
        mark[:] = [now, cpu]

    try:
        write_request_delivery(ctx.inbox / pipeline.REQUESTS / run_date, rows)
        status = pipeline.ingest_and_validate(ctx, pipeline.REQUESTS, data_docs=False)
        step("request")
        if status["status"] != "passed":
            raise VerifyError("委托未通过校验：" + "；".join(status["reasons_zh"]))
        refuse_unverifiable(request_id, ctx.path("staged", pipeline.REQUESTS),
                            [ctx.path(k, pipeline.REQUESTS) for k in ("quarantine_stage", "quarantine_gx")])
        answered = _stage_answers(ctx, Path(answers) if answers else None, on_request)
        for source in sorted(answered):
            pipeline.ingest_and_validate(ctx, source, data_docs=False)
        departments = [s for s in pipeline.sources() if s != pipeline.REQUESTS]
        step("answers")
        used = _copy_sources(ctx, working, departments, answered, on_request)
        step("copy")
        pipeline.load(ctx)
        _restore_history(ctx)
        step("load")
        pipeline.link(ctx)
        step("link")
        pipeline.assess(ctx, whole_delivery=False)  # one household's slice: no delivery's extent
        step("assess")
        pipeline.report(ctx)
        step("report")
        from hedui import db

        con = db.connect(ctx.database, read_only=True)
        try:
            found = con.sql("select outcome, findings from outcomes where run_date = ? and request_id = ?",
                            params=[run_date, request_id]).fetchall()
            review = con.sql("select count(*) from review_queue where run_date = ? and request_id = ? "
                             "and status = 'pending'", params=[run_date, request_id]).fetchall()[0][0]
        finally:
            con.close()
        if not found:
            raise VerifyError(f"委托 {request_id} 未得出结论：请检查委托内容（申请人“本人”行是否齐全）")
        outcome, findings = found[0]
        version, page = _issue(workdir, ctx, request_id)
        pending = sorted(s for s, u in used.items() if u["status"] == PENDING)
        from connectors import load_map

        result = {"request_id": request_id, "run_date": run_date, "key": key, "outcome": outcome,
                  "findings": findings, "pending": pending, "review_pending": review,
                  "pending_zh": [load_map(s).title_zh for s in pending], "version": version, "report": str(page),
                  "sources": {s: u["delivery_date"] for s, u in used.items()} | {s: run_date for s in answered},
                  "seconds": round(time.perf_counter() - started, 3),
                  "cpu_seconds": round(time.process_time() - cpu_started, 3), "steps": steps,
                  "cpu_steps": cpu_steps}
        _write_json(page.with_suffix(".json"), result)
        AuditLog(default_log_path(workdir)).append(
            actor=actor, action="urgent_verify", subject=f"急难核对 委托 {request_id}",
            details={"outcome": outcome, "findings": findings, "version": version, "pending": ",".join(pending),
                     "report": str(page)})
        log.info("urgent verification %s: %s %s (v%d, %.2f s)", request_id, outcome, findings, version,
                 result["seconds"])
        return result
    finally:
        if not keep_scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        os.close(scratch_fd)


def _inside(path: str, folder: Path, what: str) -> Path:
    """`path` resolved, refused unless it lies inside `folder` (no `..`, no symlink out)."""
    p = Path(path)
    resolved = (p if p.is_absolute() else folder / p).resolve()
    root = folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise VerifyError(f"{what} {path} 不在允许的目录 {root} 内：请把文件放入该目录（HEDUI_REQUEST_DIR）后重试")
    return resolved


def verify_from_params(params: dict) -> dict:
    """`verify_household` from trigger params (the hedui_on_demand DAG, a web form), validated first.

    `request_file` and `answers` must lie inside ``$HEDUI_REQUEST_DIR`` (default
    ``<workdir>/requests_in``); `request_rows` must be objects of text cells.
    Returns the result without personal data (request id, outcome, codes,
    pending sources, version, report path).
    """
    import os

    workdir = params.get("workdir") or os.environ.get("HEDUI_WORKDIR")
    if not workdir:
        raise VerifyError("未指定工作目录：请在参数 workdir 或环境变量 HEDUI_WORKDIR 中给出")
    allowed = Path(os.environ.get("HEDUI_REQUEST_DIR") or Path(workdir) / "requests_in")
    rows, file_ = params.get("request_rows"), params.get("request_file")
    if (rows is None) == (file_ is None):
        raise VerifyError("请给出 request_file（委托文件）或 request_rows（委托行），二者取一")
    if rows is not None:
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise VerifyError("request_rows 应为对象列表，每个对象是一位成员的一行（表头同 requests_*.csv）")
        for i, r in enumerate(rows, 1):
            bad = [k for k, v in r.items() if not isinstance(k, str) or not isinstance(v, (str, int, type(None)))]
            if bad:
                raise VerifyError(f"request_rows 第{i}行的 {'、'.join(map(str, bad))} 不是文本值")
            unknown = sorted(set(r) - set(REQUEST_HEADERS))
            if unknown:
                raise VerifyError(f"request_rows 第{i}行有未知的列 {'、'.join(unknown)}；允许：{'、'.join(REQUEST_HEADERS)}")
        rows = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows]
    run_date = _business_date(params.get("run_date"), "run_date")
    result = verify_household(
        workdir, rows,
        request_file=_inside(file_, allowed, "委托文件") if file_ is not None else None,
        answers=_inside(params["answers"], allowed, "反馈目录") if params.get("answers") else None,
        run_date=run_date, actor=params.get("actor"))
    return {k: result[k] for k in ("request_id", "run_date", "outcome", "findings", "pending", "version", "report",
                                   "seconds")}
