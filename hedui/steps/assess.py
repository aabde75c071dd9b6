"""Assessment: each household's policy resolved, then the models of sql/assess/ in order.

figures → figure_lineage → finding_candidates → evidence_gaps → evidence_completeness →
findings → outcomes (CLEAR earned: the outcome rule reads gaps from evidence_gaps only),
then the facts, the previous verification and the changes since it.
"""

from __future__ import annotations

import pyarrow as pa

from hedui import db
from hedui.errors import PolicyError
from hedui.steps.policy import _delivered_items, _programs, load_policies, policy_rows, resolve, version_row

#: the request's 业务类型 of a periodic re-check: it does not say which aid the household receives
RECHECK = "动态复核"

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
    # the header maps' enums the rows read, once a run, not once a combination (≈ 1,800 at tenth)
    delivered, programs = _delivered_items(), _programs()
    # a combination stands in for its households: the request id of a row is the combination's number
    rows = []
    for i, c in enumerate(combos):
        if unknown := _recheck_unknown(versions, c, int(run_date[:4]), programs):
            rows.append({"request_id": str(i), "policy_unknown_zh": unknown})  # no version: the limits are unknown
            continue
        try:
            rows.extend(policy_rows(versions, [(str(i), *c)], run_date, delivered=delivered))
        except PolicyError:
            # no version for its program, 城市/农村 (or county) in a year some version is in force: its households
            # get no policy row and are answered, the run goes on (evidence_gaps.sql: the limits are unknown).
            # No version in force at all is the deployment's problem: the run stops saying so.
            if not any(v.year <= int(run_date[:4]) for v in versions):
                raise
    if not versions:
        list(policy_rows(versions, [("", "36", "城市", "*")], run_date))  # raises: no policy file at all
    # with no household the table still gets its shape from a template row, and no rows
    template = {**version_row(versions[0], "", "城市", delivered=delivered), "policy_unknown_zh": ""}
    con.register("_policy_rows", pa.Table.from_pylist(rows or [template],
                                                      schema=pa.Table.from_pylist([template]).schema))
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


def _recheck_unknown(versions, combo: tuple, year: int,
                     programs: tuple[str, ...] | None = None) -> str | None:
    """For a 动态复核 household (the request does not say which aid it receives) weighed by no version written for
    动态复核: why its limits are unknown, where the version one of the aid programs would take differs from the one it
    would be weighed by (a county's own 最低生活保障 or 特困人员供养 standard beside the province's *).  None when
    every program takes the same version: nothing depends on which aid it is."""
    region, urban_rural, program = combo
    if program != RECHECK:
        return None
    try:
        used = resolve(versions, region or "", year, urban_rural or "城市", RECHECK)
    except PolicyError:
        return None  # no version at all: evidence_gaps.sql's no_policy says so
    others: dict[str, list[str]] = {}
    for aid in (_programs() if programs is None else programs):
        try:
            v = resolve(versions, region or "", year, urban_rural or "城市", aid)
        except PolicyError:
            continue
        if aid != RECHECK and v.id != used.id:
            others.setdefault(v.id, []).append(aid)
    if used.program == RECHECK or not others:
        return None
    differ = "；".join(f"{'、'.join(aids)}适用 {vid}" for vid, aids in others.items())
    return (f"业务类型为“{RECHECK}”，委托未写明本户享受的救助项目，而本地政策按救助项目适用不同的政策版本（{differ}，"
            f"其余适用 {used.id}），本户的保障标准和各项限额无法确定，收入和资产未与限额比较；请委托机关在业务类型中注明"
            f"救助项目，或在政策文件中设定适用于“{RECHECK}”的政策版本后重新核对")


#: the table macros several models read (hd_tax_rows five times, hd_si_rows, hd_benefit_rows and hd_bank_rows three,
#: hd_two_heads and hd_wage_months twice): computed once per run, in this order (hd_benefit_rows and hd_wage_months
#: read hd_si_rows)
MATERIALIZED = ("hd_tax_rows", "hd_si_rows", "hd_benefit_rows", "hd_wage_months", "hd_bank_rows", "hd_two_heads")


def create_macros(con, run_date: str | None = None) -> None:
    """Create the assessment's table macros (sql/assess/macros.sql) on `con`, whose staged and linked tables exist:
    DuckDB binds a table macro when it is created.  With `run_date`, the MATERIALIZED macros' rows of that run are
    computed once into temp tables and the macros then read those (for that run only: assess_run's models)."""
    con.sql(db.sql_text("assess/macros.sql"))
    if run_date is None:
        return
    for macro in MATERIALIZED:
        con.execute(f"create or replace temp table _{macro} as select * from {macro}($run_date)", {"run_date": run_date})
        con.sql(f"create or replace temp macro {macro}(rd) as table select * from _{macro}")


def drop_materialized(con) -> None:
    for macro in MATERIALIZED:
        con.sql(f"drop table if exists _{macro}")


def assess_run(con, run_date: str, *, whole_delivery: bool = True) -> dict:
    """Resolve the policies and run every model of sql/assess/ (inside the caller's transaction).

    `whole_delivery`: the staged tax and social-insurance rows are the departments' whole deliveries, whose own rows
    show where a small one ends or has months missing (evidence_gaps.sql); an urgent verification's slice of one
    household's rows (hedui.urgent) shows nothing of the kind."""
    counts = {"household_policy": resolve_policies(con, run_date)}
    try:
        for model in MODELS:
            if model == "figures":  # the first model to read them, once pending_links exists
                create_macros(con, run_date)
            if model == "figures" and not whole_delivery:
                con.sql("create or replace temp macro hd_whole_delivery() as false")
            counts[model] = db.replace_model(con, model, f"assess/{model}.sql", run_date)
    finally:
        drop_materialized(con)
    return counts
