-- Records under a requested member's ID whose plain Chinese name is the member's but for the surname: 李平 on an
-- account under 王平's ID.  name_conflicts.sql leaves a one-character difference alone (张建国/章建国, a slip of the
-- same name), and for a given name that holds (王平/王苹: the ID and the surname agree, a character of the given
-- name mistyped); a surname is what tells two families apart, so another surname is someone else's name unless it
-- reads the same (张/章, one sound typed with another character: the link step compares the surnames' pinyin and
-- keeps only the pairs whose surnames read otherwise).  A name the registration gives that ID is never a conflict
-- (the record is the registered person's), as in name_conflicts.sql.
with

members as (
    select request_id, id_norm as member_id, replace(min(name_norm), '·', '') as name
    from stg_requests
    where run_date = $run_date and id_norm is not null and name_norm is not null
      and nullif(trim(authorization_no), '') is not null
    group by request_id, id_norm
),

records as (
    select source, record_id, id_norm, replace(name_norm, '·', '') as name
    from source_records
    where run_date = $run_date and id_norm is not null and name_norm is not null and source <> 'public_security'
),

registered as (
    select distinct id_norm, replace(name_norm, '·', '') as name
    from stg_public_security
    where run_date = $run_date and id_norm is not null and name_norm is not null
),

final as (
    select distinct r.source, r.record_id, m.request_id, m.member_id, r.name as record_name, m.name as member_name
    from records as r
    inner join members as m on m.member_id = r.id_norm
    where r.name <> m.name
      and regexp_full_match(r.name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and regexp_full_match(m.name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and length(r.name) = length(m.name) and levenshtein(r.name, m.name) = 1
      and substr(r.name, 1, 1) <> substr(m.name, 1, 1)
      and not exists (select 1 from registered as g where g.id_norm = r.id_norm and g.name = r.name)
)

select * from final
