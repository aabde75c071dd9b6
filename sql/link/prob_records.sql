-- Records a probabilistic link is sought for (prob_left.sql reads them from `_hd_prob_records`, which the link step
-- makes from this file before it decrypts their IDs: the delivered IDs it decrypts for probabilistic linkage are
-- these records' own, so the run's records are scanned for them once, not once for the IDs and once for the rows):
-- no usable ID number (missing, scientific notation, wrong check character, malformed).  A record with a valid ID
-- that matched nobody belongs to someone else and is never a candidate.
with

-- and the records under a member's ID whose own name is clearly someone else's (`_hd_name_conflicts`, see
-- name_conflicts.sql): scored here, their name disagreeing sends them to review (link step)
-- and the records under a legacy 15-digit ID that is no member's: that form has no check character, so a mistyped
-- digit is another well-formed ID, never caught; compared without the ID (its birth date and region still count),
-- such a record under a member's name waits for a person (link step) — the registration excepted, whose own
-- question a member missing from it is (MEMBER_REGISTRATION_MISMATCH)
-- and the records under a valid ID two characters of a member's ID swapped (`_hd_near_ids`: digits ten places apart
-- weigh the same, so the check character does not catch the slip, whoever made it — the department or the agency):
-- compared without the ID, such a record under the member's name waits for a person (link step), the registration
-- excepted, as above
final as (
    select *, false as name_conflict, false as legacy_id, false as near_id from source_records
    where run_date = $run_date and id_norm is null and name_norm is not null
    union all by name
    select *, true as name_conflict, false as legacy_id, false as near_id from source_records
    where run_date = $run_date and id_norm is not null
      and exists (select 1 from _hd_name_conflicts as c
                  where c.source = source_records.source and c.record_id = source_records.record_id)
    union all by name
    select *, false as name_conflict, true as legacy_id, false as near_id from source_records
    where run_date = $run_date and id_status = 'converted_15' and name_norm is not null
      and source <> 'public_security'
      and id_norm not in (select id_norm from hd_authorized($run_date))
    union all by name
    select *, false as name_conflict, false as legacy_id, true as near_id from source_records
    where run_date = $run_date and id_norm in (select near_id from _hd_near_ids) and name_norm is not null
      and source <> 'public_security'
      and id_status <> 'converted_15'  -- a legacy 15-digit ID is the branch above's (one row per record)
)

select * from final
