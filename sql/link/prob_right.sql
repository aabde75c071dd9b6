-- The members a record may belong to: requested and authorized, with a valid ID.
-- `member_id` is the ID as the working tables hold it (a pseudonym); the plain
-- ID the comparisons need comes from `_hd_plain_ids` (token, plain), a
-- temporary table of the link step that never reaches the database file.
with

-- one row per member: one ID on rows of two names in one request (a clerk's copy error) was two members of one
-- key, and the linker stopped the whole run; such a member is a VALUE_UNKNOWN gap (assess/evidence_gaps.sql)
members as (
    select request_id, id_norm, min(id_number) as id_number, min(name_norm) as name_norm,
        min(region_code) as region_code
    from stg_requests
    where run_date = $run_date and id_norm is not null
      and nullif(trim(authorization_no), '') is not null
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
        request_id || '|' || id_norm as member_key,
        request_id,
        id_norm as member_id,
        name_norm as name,
        idno,
        try_strptime(substr(idno, 7, 8), '%Y%m%d')::date as birth,
        substr(coalesce(region_code, idno), 1, 4) as city
    from plain
)

select * from final
