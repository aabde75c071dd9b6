-- Each (record name, member) under the member's ID where the record's name is not the member's, once however many
-- records repeat it (a monthly source repeats one name a dozen times): what name_conflicts.sql, surname_conflicts.sql
-- and the spelt-otherwise rule (link step) judge.  The link step then finds the records of the pairs judged someone
-- else's by one join: one scan of the run's records for the three rules, not one each.
with

members as (
    select request_id, id_norm as member_id, min(name_norm) as member_name
    from hd_authorized($run_date)
    where name_norm is not null
    group by request_id, id_norm
)

select distinct r.name_norm as record_name, m.request_id, m.member_id, m.member_name
from source_records as r
inner join members as m on m.member_id = r.id_norm
where r.run_date = $run_date and r.id_norm is not null and r.name_norm is not null and r.source <> 'public_security'
  and r.name_norm <> m.member_name
