"""The report step as it was before issue 7 (one process, everything in Python dicts), kept to check
that the batched, pooled report writes the same bytes.

A verbatim copy of `hedui/report.py`'s `write_reports` of that time, except: it writes to a given
folder, prints no PDFs, renders `household.html` and `summary.html` of this folder (the templates of that
time; `_style.html` is hedui's), and breaks the summary's ties as the report now does (bars of equal
length by code, equally frequent quarantine reasons by text) instead of leaving them to DuckDB.
"""

from __future__ import annotations

import csv
import re
import time
from collections import defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from connectors import load_map
from hedui.steps.report.display import (
    ALERT_KINDS,
    CHANGE_KIND_ZH,
    FINDING_ZH,
    GAP_CODES,
    HIDDEN_COLUMNS,
    METHOD_ZH,
    OUTCOME_ZH,
    TEMPLATES,
    UNWEIGHED_CODES,
    chinese_date,
    lineage_groups,
)
from hedui.steps.workdays import windows as objection_windows

HERE = Path(__file__).parent


def _finding_diff(previous: dict | None, findings: str) -> dict:
    """Finding codes added and gone since the previous verification."""
    if not previous:
        return {"added": [], "removed": []}
    before = set(filter(None, (previous.get("previous_findings") or "").split(";")))
    after = set(filter(None, (findings or "").split(";")))
    return {"added": sorted(after - before), "removed": sorted(before - after)}


def _write_alerts(path: Path, households: dict, previous: dict, changes: dict, members: dict) -> None:
    """alerts.csv: every fact that appeared since a household's previous verification."""
    names = {(rid, m["id_norm"]): m for rid, ms in members.items() for m in ms}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["request_id", "program", "previous_run_date", "previous_request_id", "alert",
                    "member_name", "member_id_masked", "detail_zh"])
        for request_id, items in sorted(changes.items()):
            p = previous[request_id]
            for c in items:
                if c["change"] != "added" or c["kind"] not in ALERT_KINDS:
                    continue
                m = names.get((request_id, c["member_id"]), {})
                w.writerow([request_id, households.get(request_id, {}).get("program", ""),
                            p["previous_run_date"], p["previous_request_id"], ALERT_KINDS[c["kind"]],
                            m.get("name", ""), m.get("id_masked", ""), c["detail_zh"]])


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader([HERE, TEMPLATES]), autoescape=select_autoescape(["html"]))
    env.filters["yuan"] = lambda v: "—" if v is None else f"{v:,.2f}"
    from hedui.regions import region_label

    env.filters["region"] = region_label
    env.filters["cdate"] = chinese_date
    return env


def safe_name(request_id: str) -> str:
    """A file name for a request id (keeps letters, digits, - and _)."""
    return re.sub(r"[^0-9A-Za-z_\-]", "_", request_id) or "_"


def _rows(rel) -> list[dict]:
    cols = rel.columns
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def display_select(smap, alias: str = "t", hide: set[str] | frozenset[str] = frozenset()) -> str:
    """SELECT expressions for a staged table's displayable columns: an ID column shows the stored
    mask (`id_masked`), an account column its `<column>_masked`; never the encrypted value."""
    out = []
    for c in smap.columns:
        if c.column in hide:
            continue
        if c.type == "id":
            out.append(f"{alias}.id_masked as {c.column}")
        elif c.type == "account":
            out.append(f"{alias}.{c.column}_masked as {c.column}")
        else:
            out.append(f"{alias}.{c.column}")
    return ", ".join(out)


def display_fields(smap, row: dict, hide: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """(header, text) of a row selected with `display_select` (IDs and accounts already masked)."""
    return [(c.header, display_value(c.type, row[c.column])) for c in smap.columns if c.column not in hide]


def display_value(kind: str, value) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m") if kind == "month" else value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _linked_records(con, run_date: str, sources: list[str]) -> dict[str, list[dict]]:
    """Every linked record of the run, grouped by request, with its displayable fields."""
    by_request: dict[str, list[dict]] = defaultdict(list)
    for source in sources:
        smap = load_map(source)
        rel = con.sql(
            "select l.request_id, l.member_id, l.method, l.match_weight, l.is_confirmed, "
            "t.record_id, t.file_name, t.row_no, t.delivery_date, "
            + display_select(smap, hide=HIDDEN_COLUMNS)
            + f" from links as l join stg_{source} as t on t.record_id = l.record_id "
            f"where l.run_date = $run_date and t.run_date = $run_date "
            f"order by l.request_id, l.member_id, t.file_name, t.row_no",
            params={"run_date": run_date},
        )
        for r in _rows(rel):
            by_request[r["request_id"]].append({
                "source": source,
                "source_zh": smap.title_zh,
                "member_id": r["member_id"],
                "method_zh": METHOD_ZH.get(r["method"], r["method"]),
                "match_weight": r["match_weight"],
                "is_confirmed": r["is_confirmed"],
                "record_id": r["record_id"],
                "file_name": r["file_name"],
                "row_no": r["row_no"],
                "delivery_date": r["delivery_date"],
                "fields": display_fields(smap, r, hide=HIDDEN_COLUMNS),
            })
    return by_request


def _by_request(cursor) -> dict:
    from types import SimpleNamespace

    cols = [d[0] for d in cursor.description]
    out: dict = defaultdict(list)
    for row in cursor.fetchall():
        r = SimpleNamespace(**dict(zip(cols, row, strict=True)))
        out[r.request_id].append(r)
    return out


def write_reports(con, run_date: str, out: Path, only: set[str] | None = None) -> dict:
    """Write every output of a run's report step; return counts.

    With `only`, re-render just those households' pages (after a review
    decision); the batch files (outcomes, reconciliation, alerts, summary) are
    always rewritten whole.
    """
    from hedui.pipeline import REQUESTS, sources

    (out / "households").mkdir(parents=True, exist_ok=True)
    params = {"run_date": run_date}

    outcomes = _rows(con.sql("select request_id, outcome, findings from outcomes where run_date = $run_date "
                             "order by request_id", params=params))
    with open(out / "outcomes.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["request_id", "outcome", "findings"])
        w.writerows((o["request_id"], o["outcome"], o["findings"]) for o in outcomes)

    recon = _rows(con.sql("select source, file, rows_delivered, rows_staged, rows_quarantined from reconciliation "
                          "where run_date = $run_date order by source, file", params=params))
    with open(out / "reconciliation.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "file", "rows_delivered", "rows_staged", "rows_quarantined"])
        w.writerows(tuple(r.values()) for r in recon)

    households = {h["request_id"]: h for h in _rows(con.sql(
        "select h.*, f.* exclude (run_date, request_id, n_members, standard_monthly_yuan, "
        "financial_assets_limit_yuan, max_residential_units), o.outcome, o.findings "
        "from households h join figures f using (run_date, request_id) "
        "join outcomes o using (run_date, request_id) where h.run_date = $run_date", params=params))}
    members: dict[str, list[dict]] = defaultdict(list)
    for m in _rows(con.sql("select request_id, id_norm, id_masked, name, relation, "
                           "nullif(trim(authorization_no), '') is not null as is_authorized, "
                           "authorization_no, authorization_date, row_no from stg_requests where run_date = $run_date "
                           "order by request_id, relation <> '本人', row_no", params=params)):
        members[m["request_id"]].append(m)
    findings: dict[str, list[dict]] = defaultdict(list)
    citations = {}
    for f in _rows(con.sql(
            "select f.*, r.file_name, r.row_no, r.delivery_date from findings f "
            "left join (select record_id, file_name, row_no, delivery_date from source_records "
            "           where run_date = $run_date union all "
            "           select record_id, file_name, row_no, delivery_date from stg_requests "
            "           where run_date = $run_date) r using (record_id) "
            "where f.run_date = $run_date order by f.request_id, f.code, r.file_name, r.row_no, f.member_id, "
            "f.record_id, f.detail_zh", params=params)):
        f["code_zh"] = FINDING_ZH.get(f["code"], f["code"])
        f["is_gap"] = f["code"] in GAP_CODES
        f["method_zh"] = METHOD_ZH.get(f["method"], "")
        findings[f["request_id"]].append(f)
    for rid, fs in findings.items():  # the member a finding or gap is about, as the page names it
        label = {m["id_norm"]: f"{m['name']}（{m['id_masked']}，{m['relation']}）" for m in reversed(members[rid])}
        for f in fs:
            f["member_label"] = label.get(f["member_id"])
    statuses = _rows(con.sql("select * from source_status where run_date = $run_date order by source",
                             params=params))
    previous = {p["request_id"]: p for p in _rows(con.sql(
        "select * from previous_verification where run_date = $run_date", params=params))}
    for p in previous.values():  # what could not be compared with it, named
        p["kinds_not_compared_zh"] = "、".join(CHANGE_KIND_ZH.get(k, k) for k in p["kinds_not_compared"])
        rows = sorted((m for m in members[p["request_id"]] if m["row_no"] in p["members_not_compared"]),
                      key=lambda m: m["row_no"])
        p["members_not_compared_zh"] = "、".join(
            f"{m['name']}（{'无可用身份证号' if m['id_masked'] is None else m['id_masked']}）" for m in rows)
        by_row = {m["row_no"]: m for m in members[p["request_id"]]}
        p["kinds_held_zh"] = "、".join(  # a member's kinds whose records were quarantined either time
            f"{by_row[h['row_no']]['name']}的{CHANGE_KIND_ZH.get(h['kind'], h['kind'])}"
            for h in sorted(p["kinds_held"], key=lambda h: (h["row_no"], h["kind"])) if h["row_no"] in by_row)
    versions = dict(con.sql(
        "select request_id, count(distinct run_date) from outcomes "
        "where run_date <= $run_date group by request_id", params=params).fetchall())
    masked = {(rid, m["id_norm"]): m["name"] + (f"（{m['id_masked']}）" if m["id_masked"] else "")
              for rid, ms in members.items() for m in ms}
    changes: dict[str, list[dict]] = defaultdict(list)
    for c in _rows(con.sql("select * from changes where run_date = $run_date "
                           "order by request_id, change, kind, fact_key", params=params)):
        c["member_label"] = masked.get((c["request_id"], c["member_id"]), "")
        changes[c["request_id"]].append(c)
    _write_alerts(out / "alerts.csv", households, previous, changes, members)
    records = _linked_records(con, run_date, [s for s in sources() if s != REQUESTS])
    unweighed = _by_request(con.execute(
        "select g.*, m.name, m.id_masked as member_id_masked, m.relation as member_relation, "
        "q.id_masked as record_id_masked from evidence_gaps g "
        "left join (select request_id, id_norm, name, id_masked, relation from stg_requests "
        "           where run_date = $run_date qualify row_number() over (partition by request_id, id_norm "
        "                                      order by row_no, rowid) = 1) m "
        "  on m.request_id = g.request_id and m.id_norm = g.member_id "
        "left join (select source, file_name, row_no, any_value(id_masked) as id_masked from quarantine_subjects "
        "           where run_date = $run_date group by all) q "
        "  on g.code = 'RECORD_QUARANTINED' and q.source = g.source and q.file_name = g.file_name "
        "     and q.row_no = g.row_no "
        "where g.run_date = $run_date order by g.request_id, g.code, g.source, g.file_name, g.row_no, g.rowid",
        params))
    for rows in unweighed.values():
        rows[:] = [r for r in rows if r.code in UNWEIGHED_CODES]
        for r in rows:
            r.member_name = r.name
            r.related_zh = FINDING_ZH.get(r.related_code, r.related_code) if r.related_code else None
    lineage = _by_request(con.execute(
        "select x.*, r.file_name, r.row_no, r.delivery_date, k.method, k.match_weight, "
        "coalesce(k.is_confirmed, true) as is_confirmed, m.name, m.relation as member_relation from figure_lineage x "
        "join (select distinct request_id, code from findings where run_date = $run_date "
        "      and record_id is null and code in ('INCOME_OVER_STANDARD', 'FINANCIAL_ASSETS_OVER_LIMIT')) f "
        "  on f.request_id = x.request_id and f.code = x.figure_code "
        "left join (select record_id, file_name, row_no, delivery_date from source_records "
        "           where run_date = $run_date) r on r.record_id = x.record_id "
        "left join (select request_id, member_id, record_id, any_value(method) as method, "
        "           max(match_weight) as match_weight, bool_and(is_confirmed) as is_confirmed from links "
        "           where run_date = $run_date group by all) k "
        "  on k.request_id = x.request_id and k.member_id = x.member_id and k.record_id = x.record_id "
        "left join (select request_id, id_norm, name, relation from stg_requests "
        "           where run_date = $run_date qualify row_number() over (partition by request_id, id_norm "
        "                                      order by row_no, rowid) = 1) m "
        "  on m.request_id = x.request_id and m.id_norm = x.member_id "
        "where x.run_date = $run_date order by x.request_id, x.figure_code, m.relation <> '本人', x.member_id, "
        "x.item, x.period_month, r.file_name, r.row_no", params))
    for rows in lineage.values():
        for r in rows:
            r.member_name = r.name
            r.method_zh = METHOD_ZH.get(r.method, "")
    names = {s["source"]: s["source_zh"] for s in statuses}

    env = _env()
    tpl = env.get_template("household.html")
    for request_id, h in households.items():
        if only is not None and request_id not in only:
            continue
        member_list = members[request_id]
        recs = records.get(request_id, [])
        per_member = []
        for m in member_list:
            mine = [r for r in recs if r["member_id"] == m["id_norm"]]
            by_source: dict[str, list[dict]] = defaultdict(list)
            for r in mine:
                by_source[r["source_zh"]].append(r)
            per_member.append({"member": m, "by_source": dict(by_source)})
        html = tpl.render(
            h=h, outcome_zh=OUTCOME_ZH[h["outcome"]], members=member_list, per_member=per_member,
            findings=[f for f in findings[request_id] if not f["is_gap"]],
            gaps=[f for f in findings[request_id] if f["is_gap"]],
            statuses=statuses, run_date=run_date, source_names=names,
            previous=previous.get(request_id), changes=changes.get(request_id, []),
            unweighed=unweighed.get(request_id, []), lineage=lineage_groups(lineage.get(request_id, [])),
            version=versions.get(request_id, 1), outcome_names=OUTCOME_ZH, kind_zh=CHANGE_KIND_ZH, finding_zh=FINDING_ZH,
            finding_diff=_finding_diff(previous.get(request_id), h["findings"]),
            decisions=[], reviewers=[], decision_zh={}, issued_on=chinese_date(time.strftime("%Y-%m-%d")),
            windows=objection_windows(),
        )
        (out / "households" / f"{safe_name(request_id)}.html").write_text(html, encoding="utf-8")
        citations[request_id] = len(recs)

    pdf = False
    per_source = {r["source"]: r for r in _rows(con.sql(
        "select source, sum(rows_delivered) rows_delivered, sum(rows_staged) rows_staged, "
        "sum(rows_quarantined) rows_quarantined from reconciliation where run_date = $run_date group by all",
        params=params))}
    for s in statuses:
        s.update({k: v for k, v in per_source.get(s["source"], {}).items() if k != "source"})
    n_alerts = sum(1 for _ in open(out / "alerts.csv", encoding="utf-8")) - 1
    summary = env.get_template("summary.html").render(
        pdf=pdf, n_alerts=n_alerts,
        demonstration=any(h.get("policy_demonstration") for h in households.values()),
        policies=_rows(con.sql(
            "select distinct policy_id, policy_source_zh, policy_demonstration from households "
            "where run_date = $run_date and policy_id is not null order by all", params=params)),
        by_county=_rows(con.sql(
            "select h.region_code, h.program, count(*) n, count(*) filter (where o.outcome = 'CLEAR') n_clear, "
            "count(*) filter (where o.outcome = 'FINDINGS') n_findings, "
            "count(*) filter (where o.outcome = 'INCOMPLETE') n_incomplete "
            "from households h join outcomes o using (run_date, request_id) where h.run_date = $run_date "
            "group by all order by all", params=params)),
        run_date=run_date, outcomes=outcomes, households=households, statuses=statuses, recon=recon,
        outcome_zh=OUTCOME_ZH, finding_zh=FINDING_ZH, safe_name=safe_name,
        by_outcome=_rows(con.sql("select outcome, count(*) n from outcomes where run_date = $run_date "
                                 "group by all order by n desc, outcome", params=params)),
        by_finding=_rows(con.sql("select code, count(distinct request_id) n from findings "
                                 "where run_date = $run_date group by all order by n desc, code", params=params)),
        quarantine_top=_rows(con.sql(
            "with c as (select source, reason_zh, count(*) n from quarantine where run_date = $run_date "
            "group by all) select source, reason_zh, n from c "
            "qualify row_number() over (partition by source order by n desc, reason_zh) <= 3 "
            "order by source, n desc, reason_zh",
            params=params)),
    )
    (out / "index.html").write_text(summary, encoding="utf-8")
    return {"households": len(households), "records_cited": sum(citations.values()), "pdf": pdf}
