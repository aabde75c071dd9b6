-- Tables of the working database that the audit step keeps (created if absent).
-- query_ledger: one row per run and authorized member (hedui.audit.ledger.ensure_query_ledger migrates the
-- earlier shape, one row per member and source).
create table if not exists query_ledger (
    run_date varchar,
    run_id varchar,
    request_id varchar,
    purpose varchar,              -- the program the agency asked for (purpose binding)
    authorization_no varchar,
    authorization_date date,
    member_pseudonym varchar,     -- p1:… (NULL when the member's ID could not be normalized)
    member_record_id varchar,     -- the member's row in the request file
    sources varchar[],            -- the delivered sources looked up (status: source_status of the run)
    queried_at timestamptz
);

create table if not exists audit_runs (
    run_date varchar,
    run_id varchar,
    code_version varchar,
    policy_versions varchar[],
    policy_files varchar,         -- JSON {file: sha256} of the policy files
    started_at timestamptz,
    finished_at timestamptz,
    published_at timestamptz,
    published_by varchar
);

create table if not exists audit_anchors (
    run_date varchar,
    seq bigint,                   -- the audit log's last entry when the run was published
    hash varchar,
    anchored_at timestamptz
);

-- outcome_history: every outcome a household's verification of a run date was published with, in order (a re-run,
-- a late delivery or a review decision re-assesses the date and replaces `outcomes`; the earlier outcome stays here)
create table if not exists outcome_history (
    run_date varchar,
    request_id varchar,
    outcome varchar,              -- NULL: the request is no longer in the run (a re-run without it)
    findings varchar,
    published_at timestamptz      -- the publication that first carried this outcome
);
