-- findings: each finding with its evidence citation (source, delivery date, file, row, link method and weight).
with

citations as (
    select run_date, record_id, file_name, row_no, delivery_date from source_records
    union all
    select run_date, record_id, file_name, row_no, delivery_date from stg_requests
    union all
    -- a quarantined record a RECORD_QUARANTINED gap cites
    select run_date, source || ':' || file_name || ':' || row_no, file_name, row_no, delivery_date
    from quarantine_subjects
),

final as (
    select
        findings.run_date,
        findings.request_id,
        findings.code,
        findings.member_id as member_pseudonym,
        findings.source,
        findings.record_id,
        citations.delivery_date,
        citations.file_name,
        citations.row_no,
        findings.method,
        findings.match_weight,
        findings.is_confirmed,
        hd_audit_mask(findings.detail_zh) as detail_zh
    from findings
    left join citations
        on citations.run_date = findings.run_date
       and citations.record_id = findings.record_id
)

select * from final
order by run_date, request_id, code, record_id
