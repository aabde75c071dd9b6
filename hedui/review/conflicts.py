"""One pair decided twice at once (the web and `hedui review`, two tabs): the second is refused, never saved over
the first, and the refusal is on record in the audit log (`hedui.review.decisions.record_decision`'s `expect`)."""

from __future__ import annotations

from hedui.review.queue import DECISIONS, ReviewError


class DecidedMeanwhile(ReviewError):
    """Another decision on the pair was saved after the decider last saw it: this one is not saved."""

    def __init__(self, message: str, standing: dict):
        super().__init__(message)
        self.standing = standing


class AlreadyRecorded(DecidedMeanwhile):
    """The one decision saved since is this very one (same reviewer, decision and reason): a form sent twice."""


def standing_decisions(con, decision_key: str) -> list[dict]:
    """Every decision on the pair, oldest first (the last one stands)."""
    return [dict(zip(("decision", "reviewer", "decided_at", "reason"), r, strict=True)) for r in con.execute(
        "select decision, reviewer, decided_at, reason from review_decisions where decision_key = ? "
        "order by decided_at", [decision_key]).fetchall()]


def when(at) -> str:
    from hedui.steps.report.display import chinese_date

    return f"{chinese_date(at)} {at.strftime('%H:%M') if hasattr(at, 'strftime') else ''}".strip()


def meanwhile_message(last: dict, via: str = "", decision: str = "") -> str:
    said = DECISIONS.get(last["decision"], last["decision"])
    if via == "cli":
        return (f"该匹配对已由 {last['reviewer']} 于 {when(last['decided_at'])} 作出决定（{said}，理由：{last['reason']}），"
                f"本次“{DECISIONS.get(decision, decision)}”未保存：已有的决定不会被悄悄改判。请先用 hedui review list 查看该匹配对的最新状态；"
                "如确需改判，再加 --replace 重新提交（原决定保留在历史和审计日志中）。")
    return (f"该匹配对在您打开页面之后已由 {last['reviewer']} 于 {when(last['decided_at'])} 作出决定（{said}），"
            "您的决定未保存。请重新打开该匹配对，看过最新决定后如仍需更改再提交。")


def unchanged_since_seen(audit_log, run_date: str, decision_key: str, history: list[dict], expect: int,
                         decision: str, reviewer: str, reason: str, via: str = "") -> None:
    """Raise when the pair's decisions are not the `expect` ones the decider saw; a refusal is audited."""
    if len(history) == expect:
        return
    if expect > len(history):
        raise ReviewError("页面已过期：请重新打开该匹配对后再提交决定")
    last = history[-1]
    if (last["reviewer"] == reviewer and last["decision"] == decision
            and (last["reason"] or "").strip() == reason.strip()):  # the standing decision is this very one
        raise AlreadyRecorded("该决定已记录过，未重复记录", last)
    audit_log.append(actor=reviewer, action="review_refused",
                     subject=f"复核决定未保存：该匹配对已由 {last['reviewer']} 作出决定",
                     details={"decision": decision, "reason": reason, "run_date": run_date, "decision_key": decision_key,
                              "standing": {k: str(last[k]) for k in ("decision", "reviewer", "decided_at")},
                              "seen": expect, "found": len(history), **({"via": via} if via else {})})
    raise DecidedMeanwhile(meanwhile_message(last, via, decision), last)


def refused_busy(audit_log, run_date: str, decision_key: str, decision: str, reviewer: str, reason: str,
                 holder: dict, via: str) -> None:
    """A decision refused because another writer held the folder (a decision being saved: the web's and `hedui
    review`'s at once): on record, as the refusal of a decision made meanwhile is."""
    audit_log.append(actor=reviewer, action="review_refused",
                     subject=f"复核决定未保存：工作目录正在写入（{holder.get('command') or '另一个进程'}）",
                     details={"decision": decision, "reason": reason, "run_date": run_date, "decision_key": decision_key,
                              "busy": {k: str(holder[k]) for k in ("command", "pid", "started_at") if k in holder},
                              "via": via})
