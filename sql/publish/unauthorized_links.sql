-- The authorization gate: links of the run to a member without an authorization on file (must be none).
with

authorized as (
    select distinct request_id, id_norm as member_id
    from stg_requests
    where run_date = $run_date
      and id_norm is not null
      and nullif(trim(authorization_no), '') is not null
),

final as (
    select links.request_id, links.source, links.record_id
    from links
    where links.run_date = $run_date
      and not exists (
          select 1 from authorized
          where authorized.request_id = links.request_id
            and authorized.member_id = links.member_id
      )
)

select * from final
order by request_id, source, record_id
