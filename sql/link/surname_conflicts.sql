-- Records under a requested member's ID whose plain Chinese name is the member's but for the surname: 李平 on an
-- account under 王平's ID.  name_conflicts.sql leaves a one-character difference alone (张建国/章建国, a slip of the
-- same name), and for a given name that holds (王平/王苹: the ID and the surname agree, a character of the given
-- name mistyped); a surname is what tells two families apart, so another surname is someone else's name unless it
-- reads the same (张/章, one sound typed with another character: the link step compares the surnames' pinyin and
-- keeps only the pairs whose surnames read otherwise).  A name the registration gives that ID is never a conflict
-- (the record is the registered person's), as in name_conflicts.sql.
-- Reads `_hd_named` and `_hd_registered`, as name_conflicts.sql does.
with

named as (
    select record_name, request_id, member_id,
        replace(record_name, '·', '') as r_name, replace(member_name, '·', '') as m_name
    from _hd_named
)

select n.record_name, n.request_id, n.member_id, n.r_name, n.m_name
from named as n
where n.r_name <> n.m_name
  and regexp_full_match(n.r_name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
  and regexp_full_match(n.m_name, '[\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}\x{20000}-\x{3134F}]+')
  and length(n.r_name) = length(n.m_name) and levenshtein(n.r_name, n.m_name) = 1
  and substr(n.r_name, 1, 1) <> substr(n.m_name, 1, 1)
  and not exists (select 1 from _hd_registered as g
                  where g.id_norm = n.member_id and replace(g.name_norm, '·', '') = n.r_name)
