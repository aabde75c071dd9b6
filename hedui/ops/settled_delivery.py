"""A delivery folder read whole or not at all: the folder looked at before and after it is read.

`connectors.read_delivery` lists the folder once, then reads each data file, checking that the file it read was
not replaced while it was read.  A department's transfer may still be writing the folder meanwhile: a second
file (with its ``.ok``) landing after the listing was never read and never named, and a file rewritten after
it was read (while the next one was) kept the rows of its old copy — the source counted as delivered on part
of what the department sent, and a household whose records were in the unread part could come out CLEAR.
Here the folder's entries (every data file, marker and refused entry, OS litter aside) are compared before and
after the read; any difference makes the delivery incomplete for this run (sources.md: an incomplete delivery
counts as not delivered, DESIGN.md: a missing source never makes a household look eligible), naming what
changed and what to do.
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors import DELIVERED, DeliveryManifest, SourceMap, read_delivery

SHOWN = 3


def _entries(folder: Path, smap: SourceMap) -> dict[str, tuple] | None:
    """``{name: (kind, identity)}`` of the folder's entries the connector would not just ignore; None when the
    folder cannot be listed (missing, a link, gone)."""
    from connectors.filedrop import MARKER_SUFFIX, _entry_kind, _identity

    if folder.is_symlink() or not folder.is_dir():
        return None
    out: dict[str, tuple] = {}
    try:
        with os.scandir(folder) as it:
            entries = list(it)
        marked = {e.name[: -len(MARKER_SUFFIX)] for e in entries if e.name.lower().endswith(MARKER_SUFFIX)}
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                kind, _ = _entry_kind(folder / entry.name, st, marked, smap)
            except OSError:
                out[entry.name] = ("gone", None)
                continue
            if kind != "ignored":
                out[entry.name] = (kind, _identity(st))
    except OSError:
        return None
    return out


def changed_entries(before: dict | None, after: dict | None) -> list[str]:
    """The names whose entry appeared, disappeared or changed between the two listings, sorted."""
    before, after = before or {}, after or {}
    return sorted(n for n in before.keys() | after.keys() if before.get(n) != after.get(n))


def read_settled_delivery(smap: SourceMap, folder: Path, inbox_root: Path, out_parquet: Path,
                          delivery_date: str) -> DeliveryManifest:
    """:func:`connectors.read_delivery`, the delivery incomplete when its folder changed while it was read."""
    from connectors.filedrop import _shown_path
    from connectors.limits import NAME_MAX, cap

    folder = Path(folder)
    before = _entries(folder, smap)
    manifest = read_delivery(smap, folder, inbox_root, out_parquet, delivery_date)
    if manifest.status != DELIVERED:
        return manifest  # not delivered already, with its own reasons
    changed = changed_entries(before, _entries(folder, smap))
    if changed:
        names = "、".join(cap(_shown_path(n), NAME_MAX) for n in changed[:SHOWN])
        more = f"等{len(changed)}个文件" if len(changed) > SHOWN else ""
        manifest.problems.append(
            f"交付目录{manifest.location}在读取过程中发生了变化（{names}{more}新增、删除或被改写），"
            "本次读到的可能不是完整的交付；请待部门传完后重跑本批次（或用 hedui late 补入）")
        manifest.finish(smap.title_zh)
    return manifest
