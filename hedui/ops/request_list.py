"""Without its request list a run has nothing to verify: it stops before it replaces anything of the date.

The request list (`requests`) names the households of a date.  When it was not delivered whole — no file,
a file without its ``.ok``, a count in the ``.ok`` that differs from the rows read (a re-delivery still being
copied), a list of no row at all — every department's rows would still be ingested, and `load` would replace the date's outputs with
those of a run of no household: the outcomes emptied, every household's report page removed as "no longer in
the run", an empty run published to the auditors.  A re-run of a date that had completed thus wiped its
results (DESIGN.md: re-running replaces the run's outputs — with a run's, not with nothing; README: without the
request list there is nothing to verify, the run fails).  The nightly DAG failed at once only when the list
was missing at the cut-off, not when it was there but incomplete.

`refuse_without_request_list` is called by `pipeline.load` (the DAG's `load` task, `hedui run`, the late and
urgent paths): the run stops with the reason, exit 2 / a task failed without retries, and the date's earlier
outputs stay as they were.  `hedui run` also refuses an incomplete request folder before any source is read
(`hedui.ops.business_date.check_inbox`).
"""

from __future__ import annotations

import json

from hedui.errors import InputError

NOT_DELIVERED = ("missing", "incomplete")


def refuse_without_request_list(ctx) -> None:
    """Raise InputError (Chinese) when the run's request list was not delivered whole, before anything of the
    date is replaced."""
    from hedui.settings import REQUESTS

    path = ctx.path("status", REQUESTS, "json")
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no status: `load` says what is missing in its own words
    if status.get("status") not in NOT_DELIVERED:
        try:
            manifest = json.loads(ctx.path("manifests", REQUESTS, "json").read_text(encoding="utf-8"))["manifest"]
        except (OSError, ValueError, KeyError):
            return
        if manifest.get("rows_total") != 0 or manifest.get("status") != "delivered":
            return  # rows were delivered (quarantined ones too answer their household)
        raise InputError(f"批次 {ctx.run_date} 的委托名单没有任何数据行（只有表头）：没有可核对的家庭，本次运行在入库前停止，"
                         "该日期原有的核对结果与报告保持不变；请核对委托名单后重新交付再重跑本批次")
    from connectors.limits import cap

    reasons = cap("；".join(status.get("reasons_zh") or []) or "未交付", 300)
    raise InputError(f"批次 {ctx.run_date} 的委托名单没有完整交付（{reasons}）：没有委托名单就没有可核对的家庭，"
                     "本次运行在入库前停止，该日期原有的核对结果与报告保持不变；请待委托名单（连同 .ok 标记）"
                     "完整交付后重跑本批次")
