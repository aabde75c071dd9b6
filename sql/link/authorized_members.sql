-- The requested members a run's records are linked to: with a normalized ID and an authorization on file (先授权后核对:
-- a member without one is never looked up).  One definition for the link step's SQL (links_exact.sql, named_pairs.sql,
-- prob_left.sql, prob_right.sql) and its Python (hedui/steps/link.py, link_near.py), which call
-- `hd_authorized($run_date)` where each spelt the condition out.  A table macro binds stg_requests when it is made:
-- `hedui.steps.link_near.authorized_members` makes it on the link step's connection, once stg_requests is there.
create or replace temp macro hd_authorized(rd) as table
select * from stg_requests
where run_date = rd and id_norm is not null and nullif(trim(authorization_no), '') is not null
