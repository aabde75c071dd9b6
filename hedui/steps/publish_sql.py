"""The SQL of the auditor tables made from templates: evidence per department's source, findings' citations.

`hedui.steps.publish` runs them; they are here apart so that each file keeps to one job.
"""

from __future__ import annotations

from hedui import db
from hedui.settings import REQUESTS, sources


def evidence_parts() -> list[str]:
    """`auditor_evidence.sql` once per department's source, and once for the links of no source.

    Each source's links are joined to that source's staged records and figure
    lineage only (a record ID begins with its source), so no join holds all
    links against all records; together (`union all`) the same rows as one join
    against `source_records`.  Publication runs them one by one: a join's hash
    tables are one source's, not every source's at once.
    """
    template = db.sql_text("publish/auditor_evidence.sql")
    prefixes = {s: "'" + f"{s}:".replace("'", "''") + "'" for s in sources() if s != REQUESTS}
    parts = [template.format(records=f"stg_{s}", of_source=f"starts_with(record_id, {p})")
             for s, p in prefixes.items()]
    parts.append(template.format(  # links whose record ID names no source: no record to join
        records="(select * from source_records limit 0)",
        of_source="not coalesce(" + " or ".join(f"starts_with(record_id, {p})" for p in prefixes.values())
                  + ", false)"))
    return parts


def findings_sql() -> str:
    """`auditor_findings.sql` with its citations read per department's source, only where a finding cites it.

    A department's part keeps the staged records whose ID is a finding's ID beginning with that source (a
    record ID begins with its source — sql/staging/split.sql): the same citations the join meets, but a
    source no finding cites is never scanned (≈ 0.15 of 0.24 CPU-s at tenth: social insurance and tax).
    The text depends on the sources only, not on the data (it is in the table's digest).
    """
    parts = [f"select run_date, record_id, file_name, row_no, delivery_date from stg_{s} where record_id in "
             f"(select record_id from findings where starts_with(record_id, {_literal(s + ':')}))"
             for s in sources() if s != REQUESTS]
    return db.sql_text("publish/auditor_findings.sql").format(records="\n    union all\n    ".join(parts))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _links_of_their_source(con) -> bool:
    """True when every link's record ID begins with its own department source (``source:``): then the last part of
    `evidence_parts` (links of no source) has no rows and is not run (≈ 0.2 CPU-s at tenth; this check ≈ 0.03)."""
    departments = [s for s in sources() if s != REQUESTS]
    return not con.sql("select exists (select 1 from links where record_id is null or source is null "
                       "or not list_contains($d, source) or not starts_with(record_id, source || ':'))",
                       params={"d": departments}).fetchall()[0][0]


def _union(parts: list[str]) -> str:
    return "\nunion all\n".join(f"({part})" for part in parts)
