-- Quarantined rows that name a requested, authorized member (policy.md: a record about a
-- member that could not be weighed keeps the household from CLEAR): by the normalized ID,
-- by an ID whose check character is wrong, as linkage compares it, or — when the row's ID is
-- not usable (wrong check character, malformed, empty) — by the name and a birth date, the keys probabilistic linkage compares: the one its partial ID
-- carries, or the row's own (the registration's 出生日期); a row with neither an ID nor a
-- birth date by its name alone, as linkage pairs such a record by name for a person to
-- look at (a staged twin would wait for review and keep the household from CLEAR).  A row under a valid ID
-- two characters of a member's ID swapped (the check character cannot catch it: linkage scores its staged twin
-- without the ID) names the member by its name and the birth date that ID carries.  Names
-- are compared as linkage compares them (same_name below).
-- The delivered IDs are encrypted: `_hd_q_plain` (token, plain, and `norm`/`status`
-- normalized in Python, the tested twins of `hd_id_norm`/`hd_id_status`) lives in the
-- link step's temporary memory only.
with

quarantined as (
    select q.*, hd_id_clean(coalesce(p.plain, q.id_number)) as id_clean, p.norm, p.status, k.mask
    from quarantine_subjects as q
    left join _hd_q_plain as p on p.token = q.id_number
    left join _hd_q_masks as k on k.token = q.id_number
    -- a quarantined row of the request list is about its own household (evidence_gaps.sql,
    -- quarantined_requests), not about whoever else carries the same ID
    where q.run_date = $run_date and q.source <> 'requests'
),

parsed as (
    select *,
        case when status in ('valid', 'converted_15') then norm end as idno,
        try_strptime(substr(translate(id_clean, 'OIL', '011'), 7, 8), '%Y%m%d')::date as birth,
        -- an ID of 16 to 19 characters as a hand or a reader misreads it: the letters O, I, l read as 0, 1, 1
        case when status = 'malformed' and regexp_full_match(translate(id_clean, 'OIL', '011'), '[0-9]{14}[0-9X]{2,5}')
            then translate(id_clean, 'OIL', '011') end as id_misread,
        -- the IDs standing among other words in the cell (代理人360102…, two IDs in one cell: staging's bad_id)
        case when status = 'malformed' and hd_id_embedded(id_clean)
            then list_distinct(regexp_extract_all(id_clean, '[0-9]{17}[0-9X]')) end as embedded
    from quarantined
),

members as (
    select distinct m.request_id, m.id_norm as member_id, m.name_norm,
        p.norm as idno
    from stg_requests as m
    left join _hd_q_plain as p on p.token = m.id_number
    where m.run_date = $run_date and m.id_norm is not null
      and nullif(trim(m.authorization_no), '') is not null
),

by_id as (
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'exact_id' as method
    from parsed as q inner join members as m on m.idno = q.idno
    union all
    -- ('embedded_id') a member's ID among other words in the cell: the record may be the member's
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'embedded_id'
    from (select source, file_name, row_no, unnest(embedded) as eid from parsed where embedded is not null) as q
    inner join members as m on m.idno = q.eid
),

-- an ID of 18 characters whose check character is wrong (a digit mistyped): the member whose ID it is but for at
-- most two characters, as linkage compares it (its `hamming <= 2` level, the record blocked on the first 14); or the
-- 17 digits of a member's ID, the check character left off; or ('misread_id') an ID unreadable otherwise (16 to 19
-- characters: a digit dropped or doubled, a letter O, I or l for 0 or 1) whose first 14 characters — region and
-- birth date, the key linkage blocks on — are a member's once O, I, l are read as 0, 1, 1 (a member of another
-- household born the same day in the same county is named too: kept from CLEAR, never given a finding) — for a row
-- without a name (one with a name is matched by its name and the birth date below): quarantined for having no usable ID and no name, or for a value, it named nobody, and its
-- household came out CLEAR
by_partial_id as (
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'partial_id' as method
    from parsed as q inner join members as m
        on substr(m.idno, 1, 14) = substr(q.norm, 1, 14) and hamming(m.idno, q.norm) <= 2
    where q.status = 'bad_check' and q.name_norm is null
    union all
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'partial_id'
    from parsed as q inner join members as m on substr(m.idno, 1, 17) = q.id_clean
    where q.status = 'malformed' and regexp_full_match(q.id_clean, '[0-9]{17}') and q.name_norm is null
    union all
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'misread_id'
    from parsed as q inner join members as m on substr(m.idno, 1, 14) = substr(q.id_misread, 1, 14)
    where q.id_misread is not null and q.name_norm is null and substr(m.idno, 1, 17) is distinct from q.id_clean
    union all
    -- ('masked_id') an ID masked as banks deliver it (360702********1234, `mask` its LIKE pattern), eight characters
    -- or more visible, all of them the member's
    select q.source, q.file_name, q.row_no, m.request_id, m.member_id, 'masked_id'
    from parsed as q inner join members as m on m.idno like q.mask
    where q.mask is not null and q.name_norm is null and length(replace(q.mask, '_', '')) >= 8
),

-- the names linkage pairs (its blocking rules, matching.linkage.names): equal, of the same pinyin (a rare
-- character typed in pinyin: 王yao明) in any order, or one with a `*` for a character the other has (王*明, *晓燕); `_hd_q_names`
-- holds their keys (hedui.steps.link._quarantine_name_keys)
q_names as (select * from _hd_q_names where side = 'q'),

m_names as (select * from _hd_q_names where side = 'm'),

-- each an equi-join (an OR of them would compare every name with every member's)
same_name as (
    select q.name as q_name, m.name as m_name from q_names as q inner join m_names as m on m.name = q.name
    union
    -- the same syllables in any order (linkage's `name__bag`): the same pinyin, a name written surname last (Wei Wang
    -- for 王伟), the parts of a minority name swapped around the dot
    select q.name, m.name from q_names as q inner join m_names as m on m.bag = q.bag
    union
    select q.name, m.name from (select * from q_names where pat is not null) as q
    inner join m_names as m on m.surname_py = q.surname_py and m.nsyl = q.nsyl and m.py like q.pat
    union
    select q.name, m.name from q_names as q
    inner join (select * from m_names where pat is not null) as m
        on m.surname_py = q.surname_py and m.nsyl = q.nsyl and q.py like m.pat
    union
    -- a `*` in the surname (*晓燕): the given name, as linkage blocks it
    select q.name, m.name from (select * from q_names where pat is not null) as q
    inner join m_names as m on m.given_py = q.given_py and m.nsyl = q.nsyl and m.py like q.pat
    union
    select q.name, m.name from q_names as q
    inner join (select * from m_names where pat is not null) as m
        on m.given_py = q.given_py and m.nsyl = q.nsyl and q.py like m.pat
),

named as (
    select q.source, q.file_name, q.row_no, q.birth, q.birth_date, m.request_id, m.member_id,
        m.idno as member_idno
    from parsed as q
    inner join same_name as n on n.q_name = q.name_norm
    inner join members as m on m.name_norm = n.m_name
    where q.idno is null
       -- or a valid ID two characters of the member's swapped (`_hd_q_near`: the check character does not catch it)
       or exists (select 1 from _hd_q_near as near where near.idno = m.idno and near.near = q.idno)
),

by_name_birth as (
    select source, file_name, row_no, request_id, member_id, 'name_birth' as method
    from named
    where (birth is not null or birth_date is not null)
      and try_strptime(substr(member_idno, 7, 8), '%Y%m%d')::date in (birth, birth_date)
),

by_name as (
    select source, file_name, row_no, request_id, member_id, 'name' as method
    from named
    where birth is null and birth_date is null
),

final as (
    select $run_date as run_date, * from by_id
    union all
    select $run_date, * from by_partial_id
    union all
    select $run_date, * from by_name_birth
    union all
    select $run_date, * from by_name
)

select * from final
