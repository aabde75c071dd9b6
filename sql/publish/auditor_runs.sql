-- runs: one row per run: code and policy versions, times, input and outcome counts, the audit log's head when published.
with

counts as (
    select
        run_date,
        count(*) as n_households,
        count(*) filter (where outcome = 'CLEAR') as n_clear,
        count(*) filter (where outcome = 'FINDINGS') as n_findings,
        count(*) filter (where outcome = 'INCOMPLETE') as n_incomplete
    from outcomes
    group by run_date
),

files as (
    select run_date, count(*) as n_input_files, sum(rows_delivered) as n_input_rows
    from delivered_files
    group by run_date
),

final as (
    select
        runs.run_date,
        runs.run_id,
        runs.code_version,
        runs.policy_versions,
        runs.policy_files,
        runs.started_at,
        runs.finished_at,
        runs.published_at,
        runs.published_by,
        files.n_input_files,
        files.n_input_rows,
        counts.n_households,
        counts.n_clear,
        counts.n_findings,
        counts.n_incomplete,
        anchors.seq as audit_log_seq,
        anchors.hash as audit_log_hash
    from audit_runs as runs
    left join counts using (run_date)
    left join files using (run_date)
    left join audit_anchors as anchors using (run_date)
)

select * from final
order by run_date
