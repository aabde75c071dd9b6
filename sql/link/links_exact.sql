-- Exact linkage: every staged source record whose normalized ID equals the ID
-- of a requested member WITH an authorization on file.  Members without an
-- authorization are never looked up (先授权后核对).  A record under the member's ID whose own name is clearly
-- someone else's (`_hd_name_conflicts`, made by the link step from name_conflicts.sql) is not linked on the ID:
-- probabilistic linkage scores it and a person decides.
with

members as (
    select distinct
        request_id,
        id_norm as member_id
    from hd_authorized($run_date)  -- sql/link/authorized_members.sql
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
    where not exists (
        select 1 from _hd_name_conflicts as c
        where c.record_id = records.record_id and c.source = records.source
          and c.request_id = members.request_id and c.member_id = members.member_id)
)

select * from final
