-- Staging, step 0 (before duplicates.sql): the rows that may be duplicates, cheaply — those whose
-- hash of values two duplicates always share ({{dup_hash}}: cheap parses, hedui.steps.dupkeys) is
-- shared with another row.  Most deliveries of a small source have none: then duplicates.sql, whose
-- plan (every column's parse and rules) costs ≈ 0.2–0.5 CPU-s whatever the rows, is not run.
create or replace temp table _hd_dup_candidates as
with

hashed as (
    select file_row_number, hash({{dup_hash}}) as _dup_hash
    from read_parquet($raw_parquet, file_row_number = true)
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
