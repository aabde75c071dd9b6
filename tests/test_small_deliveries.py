"""Small deliveries, as a county or a test writer sends them: a share rule of a suite (usable IDs, repeated
business keys) judged on a handful of rows, and a request list that fails validation.

A department's share rule fails its source only from the suite's `min_bad_rows` bad rows on: two broken
IDs in a bank answer of four rows are 50 %, yet each is weighed record by record, not a reason to set aside
every household's bank evidence.  A request list that fails validation keeps every household from CLEAR
(SOURCE_FAILED), as any failed source does (policy.md).
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, new_id, outcomes, query, run_world


def _broken(pid: str) -> str:
    """`pid` with a wrong check character (id_status bad_check)."""
    return pid[:-1] + ("0" if pid[-1] != "0" else "1")


@pytest.fixture(scope="module")
def few_rows(tmp_path_factory):
    w = World()
    a, _ = w.household("SD01", [("童一", "本人"), ("童二", "配偶")])
    w.bank(a, "1000")
    w.expect("SD01", "CLEAR", "")
    (b,) = w.household("SD02", [("童三", "本人")])
    w.bank(b, "500", account="6216000000000000777")
    w.add("bank", 机构名称="中国银行江西省分行", 户名="童三", 证件号码=b["id"], 账号="6216000000000000777",
          账户类型="活期", 余额="800", 查询日期="20261127")  # the same account answered again, a day later
    w.expect("SD02", "CLEAR", "")
    for name in ("路人甲", "路人乙"):  # nobody asked about, their IDs broken: 2 of the bank's 5 rows
        w.add("bank", 机构名称="中国银行江西省分行", 户名=name, 证件号码=_broken(new_id()),
              账号=f"62170000000000{len(w.rows['bank']):05d}", 账户类型="活期", 余额="50", 查询日期="20261126")
    return w, run_world(w, tmp_path_factory, "few_rows")


def test_a_few_broken_ids_and_a_repeated_account_do_not_fail_a_small_bank_answer(few_rows):
    w, ctx = few_rows
    status = dict(query(ctx, "select source, status from source_status where run_date = ?", [RUN]))
    assert status["bank"] == "passed", status
    assert outcomes(ctx) == w.expected


@pytest.fixture(scope="module")
def broken_request_list(tmp_path_factory):
    w = World()
    (a,) = w.household("SD10", [("童十", "本人")])
    w.bank(a, "1000")
    for k in range(11, 16):  # five households whose request rows carry an unreadable 授权日期
        w.household(f"SD{k}", [(f"童{k}", "本人")])
        w.rows["requests"][-1]["授权日期"] = "去年秋天"
    return w, run_world(w, tmp_path_factory, "broken_requests")


def test_a_request_list_that_fails_validation_keeps_every_household_from_clear(broken_request_list):
    _, ctx = broken_request_list
    status = dict(query(ctx, "select source, status from source_status where run_date = ?", [RUN]))
    assert status["requests"] == "failed", status
    got = outcomes(ctx)
    assert got["SD10"][0] == "INCOMPLETE" and "SOURCE_FAILED" in got["SD10"][1], got["SD10"]
    (reason,) = query(ctx, "select reason_zh from evidence_gaps where run_date = ? and request_id = 'SD10' "
                           "and code = 'SOURCE_FAILED'", [RUN])[0]
    assert "未通过校验" in reason, reason
