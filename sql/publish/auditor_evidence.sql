-- evidence: every record linked to a member (the facts a report may cite): source, delivery date, file, row, method, weight.
with

final as (
    select
        links.run_date,
        links.request_id,
        links.member_id as member_pseudonym,
        links.source,
        links.record_id,
        records.delivery_date,
        records.file_name,
        records.row_no,
        links.method,
        links.match_weight,
        links.is_confirmed
    from links
    left join source_records as records
        on records.run_date = links.run_date
       and records.record_id = links.record_id
)

select * from final

