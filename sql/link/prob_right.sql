-- The members a record may belong to: requested and authorized, with a valid ID.
with

members as (
    select distinct request_id, id_norm, name_norm, region_code
    from stg_requests
    where run_date = $run_date and id_norm is not null
      and nullif(trim(authorization_no), '') is not null
),

final as (
    select
        request_id || '|' || id_norm as member_key,
        request_id,
        id_norm as member_id,
        name_norm as name,
        id_norm as idno,
        try_strptime(substr(id_norm, 7, 8), '%Y%m%d')::date as birth,
        substr(coalesce(region_code, id_norm), 1, 4) as city
    from members
)

select * from final
