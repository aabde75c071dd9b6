-- Staging, step 1: the quarantine lines of duplicates among the rows no other rule keeps
-- out: rows whose canonical values all parse alike (12000 / 12,000.00 / 1.2万, 2026-01 /
-- 202601, an ID with a lowercase x: hedui.steps.dupkeys).  Only the rows of
-- _hd_dup_candidates (dup_candidates.sql: their hash of values two duplicates always share is
-- shared with another row) are parsed and compared column by column on their exact parsed
-- values (a hash collision is never taken for a duplicate); the first occurrence (in delivery
-- order) is staged, the later ones are kept out naming the row they copy.  A small table:
-- split.sql's rows are checked against it.  Rendered without the quarantine reasons (only
-- whether a rule keeps a row out counts here: hedui.steps.dupkeys.rule_only).
create or replace temp table _hd_dups as
with

{{parsed}},

eligible as (
    select
        ruled.*,
        {{dup_values}}
    from ruled
    where _rule is null
),

ranked as (
    select
        eligible.*,
        row_number() over same_values as _dup_rank,
        first_value(file_name) over same_values as _dup_file,
        first_value(row_no) over same_values as _dup_row
    from eligible
    window same_values as (partition by {{dup_partition}} order by file_row_number)
),

final as (
    select
        cast($run_date as varchar) as run_date,
        source,
        file_name,
        row_no,
        cast(null as varchar) as column_name,
        {{row_mask}} as value_masked,
        'duplicate' as rule,
        '与' || _dup_file || '第' || _dup_row || '行重复' as reason_zh,
        file_row_number
    from ranked
    where _dup_rank > 1
)

select * from final
