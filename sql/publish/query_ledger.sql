-- The query ledger: one row per lookup of an authorized member's records in a delivered source.
-- Members without an authorization on file are never looked up, so they have no rows here.
with

members as (
    select
        request_id,
        program as purpose,
        trim(authorization_no) as authorization_no,
        authorization_date,
        id_norm as member_pseudonym,
        record_id as member_record_id
    from stg_requests
    where run_date = $run_date
      and nullif(trim(authorization_no), '') is not null
),

sources as (
    select source, status
    from source_status
    where run_date = $run_date
      and source <> 'requests'
      and status <> 'missing'
),

final as (
    select
        cast($run_date as varchar) as run_date,
        cast($run_id as varchar) as run_id,
        members.request_id,
        members.purpose,
        members.authorization_no,
        members.authorization_date,
        members.member_pseudonym,
        members.member_record_id,
        sources.source,
        sources.status as source_status,
        cast($queried_at as timestamptz) as queried_at
    from members
    cross join sources
)

select * from final
order by request_id, member_record_id, source
