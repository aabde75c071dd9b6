-- Records under a requested member's ID whose own name is clearly someone else's (户名 刘建国 on an account under
-- 王平's ID: a bank typed one person's ID on another's account).  The ID alone does not make such a record his:
-- exact linkage leaves it out (links_exact.sql) and probabilistic linkage scores it (prob_left.sql), where a name
-- that disagrees sends the pair to a person (the review queue) — never linked on the ID unseen, never nobody's.
--
-- Clearly someone else's: both names plain Chinese characters (a middle dot aside), two characters or more apart
-- (a one-character slip, 张建国/章建国, is the same name mistyped; but another surname that reads otherwise, 李平 for
-- 王平, is another family's: surname_conflicts.sql, added by the link step), neither inside the other (阿依古丽 and
-- 阿依古丽·买买提), and not a name the registration gives that ID (then the record is the registered person's, as
-- the ID says, and the member's declared name is the question: MEMBER_REGISTRATION_MISMATCH).  A name with `*`,
-- pinyin or Latin letters could be the same name spelt otherwise and is never a conflict; traditional forms and
-- radicals are already the simplified characters in `name_norm`.  The registration itself is the authority on
-- the ID's name and is never left out here.
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
    select distinct r.source, r.record_id, m.request_id, m.member_id
    from records as r
    inner join members as m on m.member_id = r.id_norm
    where r.name <> m.name
      and regexp_full_match(r.name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and regexp_full_match(m.name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
      and levenshtein(r.name, m.name) >= 2
      and not contains(r.name, m.name) and not contains(m.name, r.name)
      and not exists (select 1 from registered as g where g.id_norm = r.id_norm and g.name = r.name)
)

select * from final
