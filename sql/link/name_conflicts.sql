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
-- It reads the run's distinct (record name, member) pairs (`_hd_named`, named_pairs.sql) and the registration's
-- names of those members (`_hd_registered`); the link step finds the records of the pairs it returns.
with

named as (
    select record_name, request_id, member_id,
        replace(record_name, '·', '') as r_name, replace(member_name, '·', '') as m_name
    from _hd_named
)

select n.record_name, n.request_id, n.member_id
from named as n
where n.r_name <> n.m_name
  and regexp_full_match(n.r_name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
  and regexp_full_match(n.m_name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
  and levenshtein(n.r_name, n.m_name) >= 2
  and not contains(n.r_name, n.m_name) and not contains(n.m_name, n.r_name)
  and not exists (select 1 from _hd_registered as g
                  where g.id_norm = n.member_id and replace(g.name_norm, '·', '') = n.r_name)
