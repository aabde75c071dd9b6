-- Staging, step 2: exact duplicates among the rows no other rule keeps out.  Only rows
-- sharing a hash of their canonical values with another row are compared column by
-- column (a hash collision is never taken for a duplicate); the first occurrence
-- (in delivery order) is staged, the later ones are marked with the row they copy.
update _hd_parsed
set _rule = 'duplicate', _dup_file = copies._dup_file, _dup_row = copies._dup_row
from (
with

eligible as (
    select file_row_number, file_name, row_no, _dup_hash, {{dup_key}}
    from _hd_parsed
    where _rule is null
),

shared_hashes as (
    select _dup_hash
    from eligible
    group by _dup_hash
    having count(*) > 1
),

ranked as (
    select
        file_row_number,
        row_number() over same_values as _dup_rank,
        first_value(file_name) over same_values as _dup_file,
        first_value(row_no) over same_values as _dup_row
    from eligible
    semi join shared_hashes on shared_hashes._dup_hash = eligible._dup_hash
    window same_values as (partition by {{dup_key}} order by file_row_number)
),

final as (
    select * from ranked where _dup_rank > 1
)

select * from final
) as copies
where _hd_parsed.file_row_number = copies.file_row_number;
