-- Staging, step 0 (before duplicates.sql): the rows that may be duplicates, cheaply — those whose
-- hash of values two duplicates always share ({{dup_hash}}: cheap parses, hedui.steps.dupkeys) is
-- shared with another row.  Most deliveries of a small source have none: then duplicates.sql, whose
-- plan (every column's parse and rules) costs ≈ 0.2–0.5 CPU-s whatever the rows, is not run.
-- A monthly series (an ID and a month column: social insurance, tax) is narrowed first
-- (dup_narrowed): only the rows whose hash of the ID's and the month's cheap values
-- (dup_key) is shared with another row are hashed on every value — two duplicates share
-- those too, and a person's month is nearly always one row, so the amounts and enums are
-- parsed on ≈ 1 % of the rows, not on all (hedui.steps.dupkeys.dup_slots).
create or replace temp table _hd_dup_candidates as
with

{{dup_narrowed}}

hashed as (
    select file_row_number, hash({{dup_hash}}) as _dup_hash
    from {{dup_rows}}
),

shared_hashes as (
    select _dup_hash
    from hashed
    group by _dup_hash
    having count(*) > 1
)

select file_row_number
from hashed
semi join shared_hashes on shared_hashes._dup_hash = hashed._dup_hash
