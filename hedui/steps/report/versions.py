"""Report versions of a household within a run: a decision issues a new version, the old one is kept.

Kept as files beside the current page: reports/<date>/households/versions/<request>/v<N>.html (and
.pdf when printed) with v<N>.json saying who issued it, when, why, and the outcome it states.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from hedui.steps.report.display import safe_name


def _dir(report_dir: Path, request_id: str) -> Path:
    return Path(report_dir) / "households" / "versions" / safe_name(request_id)


def list_versions(report_dir: Path, request_id: str) -> list[dict]:
    """Every kept version, oldest first; [] when the household never had a decision."""
    folder = _dir(report_dir, request_id)
    out = []
    for meta in folder.glob("v*.json"):
        data = json.loads(meta.read_text(encoding="utf-8"))
        data["html"] = meta.with_suffix(".html")
        out.append(data)
    return sorted(out, key=lambda v: v["version"])


def version_file(report_dir: Path, request_id: str, version: int) -> Path | None:
    p = _dir(report_dir, request_id) / f"v{int(version)}.html"
    return p if p.exists() else None


def _keep(report_dir: Path, request_id: str, meta: dict) -> dict:
    folder = _dir(report_dir, request_id)
    folder.mkdir(parents=True, exist_ok=True)
    current = Path(report_dir) / "households" / f"{safe_name(request_id)}.html"
    shutil.copyfile(current, folder / f"v{meta['version']}.html")
    pdf = current.with_suffix(".pdf")
    if pdf.exists() and pdf.stat().st_mtime >= current.stat().st_mtime:
        shutil.copyfile(pdf, folder / f"v{meta['version']}.pdf")
    tmp = folder / f"v{meta['version']}.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(folder / f"v{meta['version']}.json")
    return meta


def keep_first(report_dir: Path, request_id: str, outcome: str, findings: str, *, digest: str | None = None) -> None:
    """Before the first decision (or re-issue): keep the nightly page as version 1 (`digest`: its content's,
    `hedui.steps.report.digests`)."""
    if list_versions(report_dir, request_id):
        return
    current = Path(report_dir) / "households" / f"{safe_name(request_id)}.html"
    if not current.exists():
        return
    issued = dt.datetime.fromtimestamp(current.stat().st_mtime).isoformat(timespec="seconds")
    _keep(report_dir, request_id, {"version": 1, "issued_at": issued, "issued_by": "夜间批次核对",
                                   "kind": "batch", "reason": "", "outcome": outcome, "findings": findings,
                                   **({"digest": digest} if digest else {})})


def keep_new(report_dir: Path, request_id: str, *, actor: str, kind: str, what: str, reason: str,
             outcome: str, findings: str, digest: str | None = None) -> dict:
    """After a decision (or a re-run whose content changed) re-rendered the page: keep it as the next version."""
    n = max((v["version"] for v in list_versions(report_dir, request_id)), default=0) + 1
    return _keep(report_dir, request_id, {
        "version": n, "issued_at": dt.datetime.now().isoformat(timespec="seconds"), "issued_by": actor,
        "kind": kind, "what": what, "reason": reason, "outcome": outcome, "findings": findings,
        **({"digest": digest} if digest else {})})


def keep_pdf(report_dir: Path, request_id: str) -> None:
    """The current page's PDF, printed after the page was kept as the latest version, kept beside it."""
    kept = list_versions(report_dir, request_id)
    pdf = Path(report_dir) / "households" / f"{safe_name(request_id)}.pdf"
    if kept and pdf.exists():
        shutil.copyfile(pdf, _dir(report_dir, request_id) / f"v{kept[-1]['version']}.pdf")


def diff(older: dict, newer: dict) -> dict:
    """What changed between two versions: outcome and finding codes."""
    a = set(filter(None, (older.get("findings") or "").split(";")))
    b = set(filter(None, (newer.get("findings") or "").split(";")))
    return {"outcome_changed": older.get("outcome") != newer.get("outcome"),
            "added": sorted(b - a), "removed": sorted(a - b)}
