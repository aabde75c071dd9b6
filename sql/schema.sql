-- Tables every run writes besides the staged and model tables.
create table if not exists quarantine (
    run_date varchar,
    source varchar,
    file_name varchar,
    row_no integer,
    column_name varchar,
    value_masked varchar,
    rule varchar,
    reason_zh varchar
);

create table if not exists delivered_files (
    run_date varchar,
    source varchar,
    file_name varchar,
    sha256 varchar,
    format varchar,
    encoding varchar,
    marker_count bigint,
    rows_delivered bigint,
    is_complete boolean,
    problems_zh varchar
);

create table if not exists source_status (
    run_date varchar,
    source varchar,
    source_zh varchar,
    status varchar,       -- passed | missing | incomplete | failed
    reasons_zh varchar
);

-- Staff decisions on probabilistic links; they apply on every later run.
create table if not exists review_decisions (
    decision_key varchar,     -- keyed pseudonym of (source, name, ID as delivered, member)
    decision varchar,         -- confirmed | rejected | deferred
    reviewer varchar,
    decided_at timestamp,
    reason varchar,
    run_date varchar,         -- the run whose queue the decision was made in
    record_id varchar,
    request_id varchar
);

create or replace view latest_decisions as
select decision_key,
    arg_max(decision, decided_at) as decision,
    arg_max(reviewer, decided_at) as reviewer,
    max(decided_at) as decided_at,
    arg_max(reason, decided_at) as reason
from review_decisions
group by decision_key;

-- Who each quarantined row may be about (hedui.quarantine_ids): the delivered ID encrypted,
-- masked, and the normalized name; duplicates and rows of incomplete files are left out.
create table if not exists quarantine_subjects (
    run_date varchar,
    source varchar,
    delivery_date varchar,
    file_name varchar,
    row_no integer,
    id_number varchar,    -- encrypted (a1:…)
    id_masked varchar,
    name_norm varchar,
    rules varchar,
    reason_zh varchar
);
alter table quarantine_subjects add column if not exists delivery_date varchar;
-- a quarantined row of the request list: the household (委托编号) it belongs to
alter table quarantine_subjects add column if not exists request_id varchar;
-- a quarantined row's own birth date (the registration's 出生日期), compared where its ID is not usable
alter table quarantine_subjects add column if not exists birth_date date;
