-- The members a record may belong to: requested and authorized, with a valid ID.
-- `member_id` is the ID as the working tables hold it (a pseudonym); the plain
-- ID the comparisons need comes from `_hd_plain_ids` (token, plain), a
-- temporary table of the link step that never reaches the database file.
with

-- one row per member: one ID on rows of two names in one request (a clerk's copy error) was two members of one
-- key, and the linker stopped the whole run; such a member is a VALUE_UNKNOWN gap (assess/evidence_gaps.sql)
members as (
    select request_id, id_norm, min(id_number) as id_number, min(name_norm) as name_norm,
        min(region_code) as region_code, false as competitor
    from hd_authorized($run_date)
    group by request_id, id_norm
    union all
    -- competing candidates (`_hd_competitors`: an urgent verification's copy of the members of the working
    -- database's other requests who could be paired with the same records): a record that is as likely theirs
    -- waits for a person, as in the nightly; they are ranked against, never linked, assessed nor reported
    select request_id, id_norm, min(id_number), min(name_norm), min(region_code), true
    from _hd_competitors
    where id_norm not in (select id_norm from hd_authorized($run_date))
    group by request_id, id_norm
),

plain as (
    select
        members.*,
        case when starts_with(members.id_norm, 'p1:')
             then plain_ids.norm else members.id_norm end as idno
    from members
    left join _hd_plain_ids as plain_ids on plain_ids.token = members.id_number
),

final as (
    select
        if(competitor, 'competitor|', '') || request_id || '|' || id_norm as member_key,
        request_id,
        id_norm as member_id,
        name_norm as name,
        idno,
        try_strptime(substr(idno, 7, 8), '%Y%m%d')::date as birth,
        substr(coalesce(region_code, idno), 1, 4) as city,
        competitor
    from plain
)

select * from final
