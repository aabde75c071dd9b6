-- Exact linkage: every staged source record whose normalized ID equals the ID
-- of a requested member WITH an authorization on file.  Members without an
-- authorization are never looked up (先授权后核对).
with

members as (
    select distinct
        request_id,
        id_norm as member_id
    from stg_requests
    where run_date = $run_date
      and id_norm is not null
      and nullif(trim(authorization_no), '') is not null
),

records as (
    select source, record_id, id_norm
    from source_records
    where run_date = $run_date
      and id_norm is not null
),

final as (
    select
        $run_date as run_date,
        records.source,
        records.record_id,
        members.request_id,
        members.member_id,
        'exact_id' as method,
        cast(null as double) as match_weight,
        true as is_confirmed
    from records
    inner join members on members.member_id = records.id_norm
)

select * from final
