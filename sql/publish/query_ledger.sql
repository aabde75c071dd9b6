-- The query ledger: one row per authorized member looked up in a run, with the delivered sources looked up.
-- Members without an authorization on file are never looked up, so they have no rows here; nor has a run in
-- which no department delivered.  A source's status is `source_status` of the same run.
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

looked_up as (
    select list(source order by source) as sources
    from source_status
    where run_date = $run_date
      and source <> 'requests'
      and status <> 'missing'
    having count(*) > 0
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
        looked_up.sources,
        cast($queried_at as timestamptz) as queried_at
    from members
    cross join looked_up
)

select * from final
order by request_id, member_record_id
