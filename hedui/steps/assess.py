"""Assessment: each household's policy resolved, then the models of sql/assess/ in order.

figures → figure_lineage → finding_candidates → evidence_gaps → evidence_completeness →
findings → outcomes (CLEAR earned: the outcome rule reads gaps from evidence_gaps only),
then the facts, the previous verification and the changes since it.
"""

from __future__ import annotations

import pyarrow as pa

from hedui import db
from hedui.steps.policy import load_policies, policy_rows

#: the models, in the order they read each other (each replaces its table's rows of the run date)
MODELS = ("households", "pending_links", "figures", "figure_lineage", "finding_candidates", "evidence_gaps",
          "evidence_completeness", "findings", "outcomes", "facts", "previous_verification", "changes")


def resolve_policies(con, run_date: str) -> int:
    """Replace the run's `household_policy` rows: the policy version of each household (most specific wins)."""
    households = con.sql(
        "select request_id, any_value(region_code) filter (where relation = '本人'), "
        "any_value(urban_rural) filter (where relation = '本人'), "
        "any_value(program) filter (where relation = '本人') "
        "from stg_requests where run_date = ? group by request_id", params=[run_date]
    ).fetchall()
    versions = load_policies()
    rows = list(policy_rows(versions, households, run_date))
    # with no household the table still gets its shape from a template row, and no rows
    con.register("_policy_rows", pa.Table.from_pylist(rows or list(policy_rows(
        versions, [("", "36", "城市", "*")], run_date))))
    try:
        keep = "true" if rows else "false"
        return db.replace_rows(con, "household_policy",
                               f"select $run_date as run_date, * from _policy_rows where {keep}",
                               {"run_date": run_date}, run_date)
    finally:
        con.unregister("_policy_rows")


def assess_run(con, run_date: str) -> dict:
    """Resolve the policies and run every model of sql/assess/ (inside the caller's transaction)."""
    counts = {"household_policy": resolve_policies(con, run_date)}
    for model in MODELS:
        counts[model] = db.replace_model(con, model, f"assess/{model}.sql", run_date)
    return counts
