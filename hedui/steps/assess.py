"""Assessment: each household's policy resolved, then the models of sql/assess/ in order.

figures → figure_lineage → finding_candidates → evidence_gaps → evidence_completeness →
findings → outcomes (CLEAR earned: the outcome rule reads gaps from evidence_gaps only),
then the facts, the previous verification and the changes since it.
"""

from __future__ import annotations

import pyarrow as pa

from hedui import db
from hedui.errors import PolicyError
from hedui.steps.policy import load_policies, policy_rows, version_row

#: the models, in the order they read each other (each replaces its table's rows of the run date)
MODELS = ("households", "pending_links", "figures", "figure_lineage", "finding_candidates", "evidence_gaps",
          "evidence_completeness", "findings", "outcomes", "facts", "previous_verification", "changes")


def resolve_policies(con, run_date: str) -> int:
    """Replace the run's `household_policy` rows: the policy version of each household (most specific wins).

    A household's version depends only on its applicant's region, urban/rural and program, so each
    distinct combination is resolved once in Python and the households take theirs in SQL.
    """
    con.execute(
        "create or replace temp table _hd_household_keys as "
        "select request_id, "
        # the applicant's row, else (his row quarantined) the least member's, as households.sql reads them
        # (min, not any_value: the same pick here and there, and on every run)
        + ", ".join(f"coalesce(min({c}) filter (where relation = '本人'), min({c})) as {c}"
                    for c in ("region_code", "urban_rural", "program"))
        + " from stg_requests where run_date = ? group by request_id", [run_date])
    combos = con.sql("select distinct region_code, urban_rural, program from _hd_household_keys").fetchall()
    versions = load_policies()
    # a combination stands in for its households: the request id of a row is the combination's number
    rows = []
    for i, c in enumerate(combos):
        try:
            rows.extend(policy_rows(versions, [(str(i), *c)], run_date))
        except PolicyError:
            # no version for its program, 城市/农村 (or county) in a year some version is in force: its households
            # get no policy row and are answered, the run goes on (evidence_gaps.sql: the limits are unknown).
            # No version in force at all is the deployment's problem: the run stops saying so.
            if not any(v.year <= int(run_date[:4]) for v in versions):
                raise
    if not versions:
        list(policy_rows(versions, [("", "36", "城市", "*")], run_date))  # raises: no policy file at all
    # with no household the table still gets its shape from a template row, and no rows
    con.register("_policy_rows", pa.Table.from_pylist(rows or [version_row(versions[0], "", "城市")]))
    con.register("_policy_keys", pa.table({
        "_hd_combo": pa.array([str(i) for i in range(len(combos))], pa.string()),
        **{name: pa.array([c[j] for c in combos], pa.string())
           for j, name in enumerate(("region_code", "urban_rural", "program"))}}))
    try:
        return db.replace_rows(
            con, "household_policy",
            "select $run_date as run_date, h.request_id, p.* exclude (request_id) "
            "from _hd_household_keys as h "
            "join _policy_keys as k on k.region_code is not distinct from h.region_code "
            "and k.urban_rural is not distinct from h.urban_rural and k.program is not distinct from h.program "
            "join _policy_rows as p on p.request_id = k._hd_combo",
            {"run_date": run_date}, run_date)
    finally:
        con.unregister("_policy_rows")
        con.unregister("_policy_keys")
        con.sql("drop table if exists _hd_household_keys")


def assess_run(con, run_date: str) -> dict:
    """Resolve the policies and run every model of sql/assess/ (inside the caller's transaction)."""
    counts = {"household_policy": resolve_policies(con, run_date)}
    for model in MODELS:
        counts[model] = db.replace_model(con, model, f"assess/{model}.sql", run_date)
    return counts
