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
