-- Staging, the ID parse: id_norm and id_status of each distinct ID of a batch of staged rows
-- (_hd_ids.v: the staged ID column, trimmed, NULL for empty; its order is kept).
-- hedui.steps.ingest runs it per batch and maps the answers back to the rows: the parse is the
-- macros' (hd_id_*), each part once per value (a macro would re-evaluate its arguments in each
-- CASE branch, and DuckDB does not share common subexpressions inside CASE).
with

ids as (
    select v, regexp_full_match(v, '[0-9]{17}[0-9X]') as _id_fast
    from _hd_ids
),

cleaned as (
    select ids.*, case when _id_fast then v else hd_id_clean_slow(v) end as _id_clean
    from ids
),

kinds as (
    select cleaned.*, case when _id_fast then 18 else hd_id_kind(_id_clean) end as _id_kind
    from cleaned
),

bodies as (
    select kinds.*, hd_id_body(_id_clean, _id_kind) as _id_body
    from kinds
),

id_parts as (
    select
        bodies.*,
        hd_id_birth_ok(_id_body) as _id_birth_ok,
        hd_id_check(_id_body) as _id_check
    from bodies
),

checked as (
    select
        id_parts.*,
        hd_id_status_v(_id_kind, _id_birth_ok, _id_check = substr(_id_clean, 18, 1)) as _id_status
    from id_parts
),

final as (
    select
        case when _id_status in ('valid', 'converted_15') then
            hd_id_norm_v(_id_clean, _id_kind, _id_body, _id_birth_ok, _id_check) end as id_norm,
        _id_status as id_status
    from checked
)

select * from final
