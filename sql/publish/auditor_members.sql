-- members: every requested member, masked (pseudonym, ID first 6 + last 4, name), with the authorization on file.
select
    run_date,
    request_id,
    program,
    id_norm as member_pseudonym,
    _id_masked as id_masked,
    hd_mask_name(name) as name_masked,
    relation,
    id_status,
    nullif(trim(authorization_no), '') is not null as is_authorized,
    authorization_no,
    authorization_date,
    region_code,
    urban_rural,
    request_date,
    record_id
from _hd_requests
order by run_date, request_id, row_no
