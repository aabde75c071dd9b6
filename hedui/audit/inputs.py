"""A re-run on other inputs than the run before it is noticed: the date's delivered files compared by hash."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def inputs_changed(workdir: Path, run_date: str, before: dict, after: dict) -> list[str]:
    """The files of the date whose content differs from the date's previous load (changed, added, gone),
    logged and recorded in the audit log: a re-run on other inputs than the run before it is noticed."""
    if not before:
        return []  # the date's first load
    zh = {"changed": "内容已变", "added": "新增", "removed": "已不在"}
    changed = sorted(
        [(f"{s}:{f}", "changed") for (s, f), h in after.items() if (s, f) in before and before[(s, f)] != h]
        + [(f"{s}:{f}", "added") for (s, f) in after.keys() - before.keys()]
        + [(f"{s}:{f}", "removed") for (s, f) in before.keys() - after.keys()])
    if changed:
        from hedui.audit.auditor import default_log_path
        from hedui.audit.log import AuditLog

        log.warning("inputs of %s differ from its previous load: %s", run_date, changed)
        AuditLog(default_log_path(workdir)).append(
            action="inputs_changed", subject=f"批次 {run_date} 的交付文件与上次运行不同",
            details={"files": "；".join(f"{name}（{zh[kind]}）" for name, kind in changed)})
    return [name for name, _ in changed]
