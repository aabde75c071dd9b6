-- Staging, step 3: the rows that passed, typed (docs/internals.md, stg_<source>).
select
    {{staged_columns}}
    case when _id_status in ('valid', 'converted_15') then hd_id_norm_k(_id_clean, _id_kind, _id_body) end as id_norm,
    _id_status as id_status,
    _name_norm as name_norm,
    cast($run_date as varchar) as run_date,
    source,
    delivery_date,
    file_name,
    row_no,
    source || ':' || file_name || ':' || row_no as record_id
from _hd_parsed
where _rule is null
-- no ORDER BY: a filtered scan keeps the table's (delivery) order (preserve_insertion_order)
