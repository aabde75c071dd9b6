"""Who a quarantined record is about, without keeping a plain ID.

A quarantined row's content is unknown, but the row may still name a member
(policy.md: CLEAR is earned).  For every quarantined row of one source and run
— except exact duplicates of a staged row (``duplicate``) and rows of a file
the source already counts as not delivered (``incomplete_file``) — this module
writes one line to ``runs/<date>/quarantine_ids/<source>.parquet`` with:

- ``id_number``: the delivered ID, encrypted (``a1:…``), as the staged tables
  keep it; the link step decrypts it in memory to match members by ID or by
  name and the birth date a partial ID carries (`sql/link/quarantine_links.sql`);
- ``id_masked``: first 6 + last 4, for the report;
- ``name_norm``: the normalized name (as the staged tables keep it);
- ``birth_date``: the row's own birth date where the source delivers one (the registration's 出生日期),
  which linkage compares for a record without a usable ID;
- ``rules`` / ``reason_zh``: why it was quarantined (all lines of the row);
- ``request_id``: for a row of the request list, the household it belongs to (as staging writes it:
  stripped, an ID number inside masked — `hedui.privacy.request_ids`): a member whose request row was
  quarantined was not verified, so his household cannot be CLEAR.

合计 rows never reach quarantine (the connectors drop them).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from connectors import load_map
from matching.normalize import normalize_name

#: quarantine rules that say nothing about a member's evidence (a copy of a staged row; a file the
#: source counts as not delivered, reported as SOURCE_MISSING)
IGNORED_RULES = ("duplicate", "incomplete_file")

SCHEMA = pa.schema([
    ("run_date", pa.string()), ("source", pa.string()), ("delivery_date", pa.string()), ("file_name", pa.string()),
    ("row_no", pa.int32()),
    ("id_number", pa.string()), ("id_masked", pa.string()), ("name_norm", pa.string()),
    ("rules", pa.string()), ("reason_zh", pa.string()), ("request_id", pa.string()), ("birth_date", pa.date32()),
])


def _lit(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def identify_quarantine(raw: Path, quarantine_files: list[Path], source: str, run_date: str, out: Path,
                        keys) -> int:
    """Write the identity lines of `source`'s quarantined rows to `out`; return their number."""
    from hedui.steps.ingest import load_macros

    smap = load_map(source)
    id_spec, name_spec = smap.first_of_type("id"), smap.first_of_type("name")
    # files with rows only: most sources quarantine nothing, and the macros cost a bind each (all of macros.sql
    # was ≈ 0.7 CPU-s per source, whatever its rows; load_macros makes those the query calls)
    files = [q for q in quarantine_files if q.exists() and pq.ParquetFile(str(q)).metadata.num_rows]
    rows: list[dict] = []
    if files and raw.exists() and id_spec is not None:
        con = duckdb.connect(config={"threads": 1, "memory_limit": "512MB"})
        try:
            con.sql("set enable_progress_bar = false")
            name_col = f'r."{name_spec.column}"' if name_spec else "cast(null as varchar)"
            request_col = ("nullif(hd_strip_ws(r.request_id), '')" if "request_id" in smap.canonical_columns
                           else "cast(null as varchar)")
            birth_col = "hd_date(r.birth_date)" if "birth_date" in smap.canonical_columns else "cast(null as date)"
            union = " union all ".join(f"select file_name, row_no, rule, reason_zh from read_parquet({_lit(q)})"
                                       for q in files)
            sql = f"""
                with q as ({union}),
                per_row as (
                    select file_name, row_no, string_agg(distinct rule, ';' order by rule) as rules,
                        string_agg(distinct reason_zh, '；' order by reason_zh) as reason_zh
                    from q group by file_name, row_no
                    having not bool_or(rule in (select unnest($ignored::varchar[])))
                )
                select p.file_name, p.row_no::integer as row_no, p.rules, p.reason_zh, r.delivery_date,
                    nullif(hd_id_clean(r."{id_spec.column}"), '') as id_clean, {name_col} as name,
                    {request_col} as request_id, {birth_col} as birth_date
                from per_row as p
                join read_parquet({_lit(raw)}) as r on r.file_name = p.file_name and r.row_no = p.row_no
                order by p.file_name, p.row_no
            """
            load_macros(con, sql)
            rel = con.execute(sql, {"ignored": list(IGNORED_RULES)})
            found = rel.fetchall()
        finally:
            con.close()
        from hedui.privacy.masking import mask_id
        from hedui.privacy.request_ids import KEY_PURPOSE, carries_id, staged_request_id

        if any(carries_id(r[7]) for r in found):
            key = keys.derived_key(KEY_PURPOSE)
            found = [(*r[:7], staged_request_id(r[7], key), r[8]) for r in found]

        tokens = keys.encrypt_many([r[5] for r in found]) if found else []  # id_clean
        for (file_name, row_no, rules, reason, delivery, id_clean, name, request_id, birth), token in zip(
                found, tokens, strict=True):
            rows.append({"run_date": run_date, "source": source, "delivery_date": delivery,
                         "file_name": file_name, "row_no": row_no,
                         "id_number": token, "id_masked": mask_id(id_clean) or None,
                         "name_norm": normalize_name(name) if name else None, "rules": rules,
                         "reason_zh": reason, "request_id": request_id, "birth_date": birth})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp)
    tmp.replace(out)
    return len(rows)
