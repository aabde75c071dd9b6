"""Page digests: what each household page says, so that a re-run renders only the pages whose content changed.

``reports/<date>/pages.parquet`` holds one row per page: request_id, digest (of everything the page states
but the day it was issued and its version number), version (the number the page shows), file (relative to
the report folder), outcome, findings, and template (a fingerprint of the templates that drew it).

The digests are computed by the page workers, batch by batch, from the rows they read to render; each
batch's rows go to ``<parts>/pages_<batch>.json`` and the report step writes pages.parquet once, after
every page is written (`write_index`).  On a re-run (`decide`):

- same digest, same templates, page on disk: not rendered again;
- same digest, other templates (a new hedui release), or no page on disk: rendered again in place, same version;
- no digest on record (the first run, or a folder from before digests): rendered, no version kept;
- other digest: the page on disk is kept as a version (`versions.keep_first`), the new page is rendered and
  kept as the next version (`versions.keep_new`, which records the digest), as a review decision does.

A step killed anywhere re-runs to the same pages: a kept version whose digest is the new page's says that
page was already issued (the kill came before pages.parquet was written), so no version is issued twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

INDEX = "pages.parquet"


def _values(rows) -> list[str]:
    # each row's `_h`: the md5 of its values, computed by the worker's query (batchrows.ROWS_HASHED)
    return [r._h for r in rows]


def page_digest(common: bytes, h, members, records: list[bytes], findings, previous, changes, unweighed,
                lineage, decisions) -> str:
    """The digest of one page's content: the rows it is drawn from (and `common`, the run-wide part).

    The household's row and the rows of its parts come with their values' hash (`_h`, made by the worker's
    DuckDB query); the previous verification (at most one row) is taken as it is. `records`: each member's
    record tables in UTF-8."""
    d = _common_state(common).copy()
    d.update(repr((h._h, _values(members), _values(findings), previous and tuple(vars(previous).values()),
                   _values(changes), _values(unweighed), _values(lineage), _values(decisions))).encode("utf-8"))
    if records:  # each member's record tables after a NUL: the bytes of b"\x00" + r, member by member, in one update
        d.update(b"\x00" + b"\x00".join(records))
    return d.hexdigest()


_COMMON: dict[bytes, object] = {}


def _common_state(common: bytes):
    """blake2b over `common` (the same for every page of a run), hashed once per process and copied per page."""
    state = _COMMON.get(common)
    if state is None:
        _COMMON.clear()
        state = _COMMON[common] = hashlib.blake2b(common, digest_size=16)
    return state


def common_part(statuses_html: str, source_names: dict, run_date: str, windows: dict) -> bytes:
    """What every page of a run states alike (the sources' statuses, the objection windows).

    A file among the windows (the working-day calendar) counts by its name and contents, not its
    path: where hedui is installed must not change a page's digest (a move would re-issue every page).
    """
    return repr((statuses_html, sorted(source_names.items()), run_date,
                 sorted((k, _file_print(v) if isinstance(v, Path) else str(v)) for k, v in windows.items()))
                ).encode("utf-8")


def _file_print(path: Path) -> str:
    return f"{path.name}:{hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()}"


@lru_cache(maxsize=1)
def template_fingerprint() -> str:
    """A fingerprint of the templates a household page is drawn with."""
    from hedui.steps.report.display import TEMPLATES

    d = hashlib.blake2b(digest_size=8)
    folder = Path(TEMPLATES)
    for p in sorted(folder.glob("*.html")):
        if p.name.startswith(("household", "_")):
            d.update(p.name.encode() + b"\x00" + p.read_bytes())
    return d.hexdigest()


def previous(con, index: str | None, request_ids: list[str]) -> dict[str, tuple]:
    """The recorded (digest, version, template, outcome, findings) of these households' pages."""
    if not index or not request_ids:
        return {}
    rows = con.execute("select request_id, digest, version, template, outcome, findings "
                       "from read_parquet(?) where request_id in (select unnest(?::varchar[]))",
                       [index, request_ids]).fetchall()
    return {r[0]: r[1:] for r in rows}


def decide(digest: str, template: str, prev: tuple | None, page_exists: bool, latest_kept: dict | None,
           explicit: bool) -> str:
    """What to do with one page: "skip", "render" (in place, no version), "reissue" (new version) or
    "issued" (a killed step already issued this content as a version: no new one).

    `explicit`: the caller named the households (a review decision, an objection): always rendered, the
    caller keeps its versions.
    """
    if explicit:
        return "render"
    if prev is None or not page_exists:
        return "render"
    if prev[0] == digest:
        return "skip" if prev[2] == template else "render"
    if latest_kept and latest_kept.get("digest") == digest:
        return "issued"
    return "reissue"


def latest_kept(report_dir: Path, request_id: str) -> dict | None:
    from hedui.steps.report.versions import list_versions

    kept = list_versions(report_dir, request_id)
    return kept[-1] if kept else None


def write_batch(parts: Path, batch: int, rows: list[dict]) -> None:
    tmp = parts / f"pages_{batch}.tmp"
    tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    tmp.replace(parts / f"pages_{batch}.json")


def batch_rows(parts: Path) -> list[dict]:
    rows: list[dict] = []
    for p in sorted(parts.glob("pages_*.json")):
        rows.extend(json.loads(p.read_text(encoding="utf-8")))
    return rows


def write_index(con, report_dir: Path, rows: list[dict], replace_all: bool) -> None:
    """Write pages.parquet: `rows` (this step's pages), plus, unless `replace_all`, the recorded rows of the
    households this step did not see (a re-render of a few households keeps the others' rows)."""
    import pyarrow as pa

    index = Path(report_dir) / INDEX
    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("request_id", pa.string()), ("digest", pa.string()), ("version", pa.int32()), ("file", pa.string()),
        ("outcome", pa.string()), ("findings", pa.string()), ("template", pa.string())]))
    tmp = index.with_suffix(".parquet.tmp")
    con.register("_pages_new", table)
    try:
        keep = ""
        if not replace_all and index.exists():
            keep = ("union all by name select * from read_parquet(?) "
                    "where request_id not in (select request_id from _pages_new)")
        con.execute(f"copy (select * from (select * from _pages_new {keep}) order by request_id) to ? "
                    "(format parquet)", ([str(index)] if keep else []) + [str(tmp)])
    finally:
        con.unregister("_pages_new")
    tmp.replace(index)
    if replace_all:
        remove_stale_pages(report_dir, rows)


def _stem_suffix(name: str) -> tuple[str, str]:
    """(Path(name).stem, Path(name).suffix) of a file name, without a Path."""
    i = name.rfind(".")
    return (name[:i], name[i:]) if 0 < i < len(name) - 1 else (name, "")


def remove_stale_pages(report_dir: Path, rows: list[dict]) -> int:
    """Remove the current pages (and prints) of households this run no longer has (a request withdrawn
    before a re-run of the date): a re-run replaces the run's outputs, it never leaves an earlier run's
    page beside them.  Kept versions (``households/versions/``) stay.  Returns the number of files removed."""
    import logging

    # names as text, not a Path per file (400,000 pages), split as Path.stem and Path.suffix do; a directory
    # entry knows whether it is a file (following a link, as Path.is_file) without a stat per page
    keep = {_stem_suffix(r["file"].rpartition("/")[2])[0] for r in rows}
    folder = Path(report_dir) / "households"
    with os.scandir(folder) as entries:
        stale = [e.path for e in entries if (split := _stem_suffix(e.name))[1] in (".html", ".pdf")
                 and split[0] not in keep and e.is_file()]
    for p in stale:
        Path(p).unlink(missing_ok=True)
    if stale:
        logging.getLogger(__name__).warning("removed %d report page(s) of households no longer in the run", len(stale))
    return len(stale)
