-- audit_anchors: the audit log's last entry (seq, hash) when each run was published; `hedui audit verify` checks them.
select run_date, seq, hash, anchored_at from audit_anchors
order by run_date
