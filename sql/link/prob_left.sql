-- Records a probabilistic link is sought for: no usable ID number (missing,
-- scientific notation, wrong check character, malformed).  A record with a
-- valid ID that matched nobody belongs to someone else and is never a candidate.
-- The delivered ID is encrypted in the staged tables: `_hd_plain_ids` (token,
-- plain), made by the link step for these records only, lives in the
-- connection's temporary memory and never reaches the database file; its `norm` is
-- the plain ID normalized in Python (`hd_id_norm`'s tested twin, free to plan).
with

-- the records (sql/link/prob_records.sql, made by the link step as `_hd_prob_records`: see there)
records as (
    select * from _hd_prob_records
),

-- an ID masked as banks deliver it (360702********1234): `mask` is the LIKE pattern of its visible characters
cleaned as (
    select records.*, plain_ids.norm as id_clean, plain_ids.mask as id_mask
    from records
    left join _hd_plain_ids as plain_ids on plain_ids.token = records.id_number
),

-- Jiangxi licence-plate prefixes and their city codes (GA 36): a vehicle with
-- no owner ID still says where it is registered.
plate_cities (prefix, city) as (
    values ('赣A', '3601'), ('赣M', '3601'), ('赣B', '3607'), ('赣C', '3609'), ('赣D', '3608'),
           ('赣E', '3611'), ('赣F', '3610'), ('赣G', '3604'), ('赣H', '3602'), ('赣J', '3603'),
           ('赣K', '3605'), ('赣L', '3606')
),

vehicle_cities as (
    select v.record_id, p.city
    from stg_vehicle as v
    inner join plate_cities as p on p.prefix = substr(v.plate_no, 1, 2)
    where v.run_date = $run_date
),

-- A registration record says itself when and where its person was born and is registered
-- (sources.md: records without a usable ID are linked by name, birth date and region).
registrations as (
    select record_id, birth_date, substr(region_code, 1, 4) as city
    from stg_public_security
    where run_date = $run_date and id_norm is null
),

final as (
    select
        record_id,
        source,
        name_conflict,
        legacy_id,
        near_id,
        id_norm as id_key,
        name_norm as name,
        case when length(id_clean) = 18 and not legacy_id and not near_id then id_clean end as idno,
        id_mask,
        coalesce(try_strptime(substr(id_clean, 7, 8), '%Y%m%d')::date,
                 try_strptime(substr(id_mask, 7, 8), '%Y%m%d')::date, ps.birth_date) as birth,
        coalesce(vc.city, case when length(id_clean) = 18 then substr(id_clean, 1, 4) end,
                 case when regexp_full_match(substr(id_mask, 1, 4), '[0-9]{4}') then substr(id_mask, 1, 4) end,
                 ps.city) as city
    from cleaned
    left join vehicle_cities as vc using (record_id)
    left join registrations as ps using (record_id)
)

select * from final
