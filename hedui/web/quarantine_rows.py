"""A run's quarantined rows as a user may see them (`hedui.web.quarantine_pages` lists them, the dashboard counts
them): one per delivered row, its failed checks together, with the user's households it concerns."""

from __future__ import annotations

from hedui import db
from hedui.audit.log import mask_free_text
from hedui.paths import report_file_stem

QUARANTINE_PAGE = 100

# rows of a run's quarantine (one per delivered row, its failed checks together) with the user's households
_ROWS = """
with concerns as (
    select source, file_name, row_no, request_id from {links} where run_date = $d
    union select source, file_name, row_no, request_id from quarantine_subjects
    where run_date = $d and source = 'requests' and request_id is not null
),
mine as (
    select c.* from concerns c where exists (select 1 from my_households h where h.run_date = $d
                                             and h.request_id = c.request_id)
),
bad as (
    select source, file_name, row_no, string_agg(distinct reason_zh, '；' order by reason_zh) as reasons,
        string_agg(distinct value_masked, '、' order by value_masked) as bad_values
    from quarantine where run_date = $d and ($src = '' or source = $src) group by all
)
select b.source, coalesce(any_value(st.source_zh), b.source) as source_zh, b.file_name, b.row_no, b.reasons,
    b.bad_values,
    any_value(s.id_masked) as id_masked,
    list(distinct m.request_id order by m.request_id) filter (where m.request_id is not null) as households
from bad b
left join mine m using (source, file_name, row_no)
left join quarantine_subjects s on s.run_date = $d and s.source = b.source and s.file_name = b.file_name
    and s.row_no = b.row_no
left join source_status st on st.run_date = $d and st.source = b.source
group by b.source, b.file_name, b.row_no, b.reasons, b.bad_values
having $whole or count(m.request_id) > 0
"""


def quarantined(con, run_date: str, whole: bool, source: str = "", limit: int | None = None, offset: int = 0
                ) -> tuple[list[dict], int]:
    """The run's quarantined rows the user may see (`con` scoped; `whole`: the user's regions cover the run),
    one page of them (`limit` 0: none, None: all): (rows, how many in all)."""
    links = "quarantine_links" if db.table_exists(con, "quarantine_links") else \
        "(select null::varchar as run_date, null::varchar as source, null::varchar as file_name, " \
        "null::integer as row_no, null::varchar as request_id where false)"
    sql = _ROWS.format(links=links)
    params = {"d": run_date, "src": source, "whole": whole}
    total = con.execute(f"select count(*) from ({sql})", params).fetchall()[0][0]
    if limit == 0:  # the count only (the dashboard's)
        return [], total
    page = f" limit {int(limit)} offset {int(offset)}" if limit else ""
    cur = con.execute(f"select * from ({sql}) order by source, file_name, row_no{page}", params)
    cols = [d[0] for d in cur.description]
    out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for r in out:  # the checks' own words quote the delivered value: no ID or account number shown whole
        r["reasons"], r["bad_values"] = mask_free_text(r["reasons"]), mask_free_text(r["bad_values"])
        r["file_name"] = mask_free_text(r["file_name"])  # a department may name a file for a person's ID
        r["households"] = [(rid, report_file_stem(rid)) for rid in r["households"] or []]
    return out, total
