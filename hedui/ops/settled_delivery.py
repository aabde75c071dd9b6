"""A file-drop delivery read whole, or not at all: the folder listed before and after it is read.

The connector lists ``<inbox>/<source>/<date>/`` once, then reads the files it found.  A file (with its
``.ok``) that arrives while the first is read was never read nor named: its owner's 300,000-yuan car in a
second vehicle file stayed out of the assessment and the household came out CLEAR.  :func:`read_settled`
lists the folder's entries (name, size, modification time) before and after the read; any difference makes
the source's delivery incomplete (OS and Office
litter aside, as the connector leaves it aside) — its households INCOMPLETE, as for any incomplete delivery — with a reason
naming what appeared, changed or vanished and saying to re-run once the delivery is complete.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from connectors.limits import NAME_MAX, PATH_DIGITS, cap, mask_long_numbers

NAMES_SHOWN = 5  # names of each kind in the reason


def listing(folder: Path) -> dict[str, tuple[int, int]] | None:
    """``{name: (size, mtime_ns)}`` of the folder's entries (links not followed), or None when there is no
    folder to list."""
    try:
        with os.scandir(folder) as it:
            out = {}
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:  # vanished between the listing and its stat
                    continue
                if not _litter(Path(entry.path), entry.name, st):
                    out[entry.name] = (st.st_size, st.st_mtime_ns)
            return out
    except OSError:  # no folder (or none that can be listed: the read says why)
        return None


def _litter(path: Path, name: str, st: os.stat_result) -> bool:
    """What the connector neither reads nor counts (connectors.litter): Excel's ``~$`` owner file of a workbook a
    clerk opens while the nightly reads, a ``.DS_Store`` or ``Thumbs.db`` a file browser writes — no change of the
    delivery."""
    from connectors.litter import is_os_litter

    if name == "Icon\r" and stat.S_ISREG(st.st_mode):
        return True
    try:
        return stat.S_ISREG(st.st_mode) and is_os_litter(path, name, st.st_size)
    except OSError:  # an AppleDouble file gone before it could be opened
        return True


def changes(before: dict | None, after: dict | None) -> dict[str, list[str]]:
    """The entries that appeared, changed (size or modification time) and vanished between two listings."""
    before, after = before or {}, after or {}
    return {"appeared": sorted(set(after) - set(before)),
            "changed": sorted(n for n in set(after) & set(before) if after[n] != before[n]),
            "vanished": sorted(set(before) - set(after))}


def _names(names: list[str]) -> str:
    shown = [cap(mask_long_numbers(n, PATH_DIGITS), NAME_MAX) for n in names[:NAMES_SHOWN]]
    return "、".join(shown) + (f"等{len(names)}个" if len(names) > NAMES_SHOWN else "")


def change_reason(location: str, found: dict[str, list[str]]) -> str:
    """The Chinese reason a delivery that changed while it was read is not used, or ``""`` when none did."""
    kinds = (("appeared", "新出现"), ("changed", "被修改"), ("vanished", "消失"))
    parts = [f"{label}：{_names(found[k])}" for k, label in kinds if found.get(k)]
    if not parts:
        return ""
    return (f"交付目录{cap(location, NAME_MAX)}在读取过程中发生变化（{'；'.join(parts)}），交付可能尚未完成，"
            "本次读到的内容不完整，本来源本次按未交付处理；请待该交付全部传完（每个数据文件都有 .ok 完成标记）后重跑本批次")


def read_settled(smap, folder: Path, inbox: Path, out_parquet: Path, run_date: str):
    """:func:`connectors.read_delivery` of `folder`, made incomplete when the folder changed while it was read."""
    from connectors import read_delivery

    before = listing(folder)
    manifest = read_delivery(smap, folder, inbox, out_parquet, run_date)
    reason = change_reason(manifest.location, changes(before, listing(folder)))
    if reason:
        manifest.problems.append(reason)
        manifest.finish(smap.title_zh)  # delivered → incomplete; the reason in its message
    return manifest
