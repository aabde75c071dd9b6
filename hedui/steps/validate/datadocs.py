"""Great Expectations Data Docs for a run, readable offline.

`validate_source` validates a source in chunks; `ResultMerger` sums the chunks'
GX results into one result per source, drops the per-row lists and masks
personal values, and saves it as `<docs_dir>/_results/stg_<source>.json`.
`build_data_docs(docs_dir)` renders every saved result of the run (and the
suites) into a GX Data Docs site in `docs_dir` (a source's task renders only its
own pages and the index: `only`), then makes the pages work
without the network: GX's pages load Bootstrap, jQuery, bootstrap-table,
Font Awesome … from CDNs; those files are vendored in `hedui/steps/validate/datadocs_vendor/`
(see its README for versions and licences), copied to `<docs_dir>/static/vendor/`
and every CDN address in the pages is rewritten to them. The Vega scripts (used
only for profiling charts, which these suites never produce) are dropped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from html import escape
from pathlib import Path
from typing import Any

from hedui.resources import package_path

log = logging.getLogger(__name__)

RESULTS_DIR = "_results"
VENDOR_DIR = package_path("steps", "validate", "datadocs_vendor")
PARTIAL = 20
_BIG_KEYS = ("unexpected_list", "unexpected_index_list", "unexpected_index_query")
_ROW_COUNT = ("expect_table_row_count_to_equal", "expect_table_row_count_to_be_between")

# CDN address (as GX 1.24 writes it) -> vendored file under static/vendor/, or None to drop the tag.
CDN_ASSETS: dict[str, str | None] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": None,
    "https://cdn.jsdelivr.net/npm/vega@5": None,
    "https://cdn.jsdelivr.net/npm/vega-lite@5": None,
    "https://cdn.jsdelivr.net/npm/vega-embed@6": None,
}
_GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z_-]+\.png(\?[^\"')]*)?")
# A resource the browser would fetch from the network (links people follow, <a href>, are fine).
_REMOTE_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*\b(?:src|href)\s*=\s*["'](?:https?:)?//[^"']*"""
    r"""|url\(\s*["']?(?:https?:)?//[^)]*""",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- merging chunk results


class ResultMerger:
    """Sums the GX results of a suite's chunks into one, per expectation.

    `expectations` are the suite's expectation dicts; `ids` maps GX's id of each
    expectation (in every validation definition it is part of) to its position
    there; `personal` maps column -> kind (`id`, `account`, `name`, and the date and
    amount kinds where a long number is masked) whose values `mask(value, kind)` masks
    in what is kept.
    """

    def __init__(self, suite_name: str, expectations: list[dict], ids: dict[str, int],
                 personal: dict[str, str], mask) -> None:
        self.suite_name = suite_name
        self.expectations = expectations
        self.personal = personal
        self.mask = mask
        self.chunks = 0
        self._index = ids  # the caller may add ids (definitions made on first use)
        self._configs: list[Any] = [None] * len(expectations)
        self._merged: list[dict | None] = [None] * len(expectations)
        self._success: list[bool] = [True] * len(expectations)
        self._meta: dict = {}

    def add(self, suite_result, skip: Collection[int] = ()) -> Iterator[tuple[int, Any]]:
        """Fold a chunk's result in, less the expectations at `skip` (run again for their full
        result, which is added instead); yield (expectation index, that chunk's expectation result).

        A chunk may come as several results (one per validation definition); the caller
        counts chunks in `chunks`."""
        from great_expectations.util import convert_to_json_serializable

        for r in suite_result.results:
            i = self._index[r.expectation_config.id]
            if i in skip:
                continue
            self._configs[i] = self._configs[i] or r.expectation_config
            self._success[i] = self._success[i] and bool(r.success)
            self._merged[i] = _fold(self._merged[i], r.result or {})
            yield i, r
        if not self._meta:
            self._meta = convert_to_json_serializable(dict(suite_result.meta))

    def outcomes(self) -> list[dict]:
        """Per expectation: rule, columns, on_fail, success, counts, observed value (plain dicts)."""
        out = []
        for i, exp in enumerate(self.expectations):
            merged = self._merged[i] or {}
            out.append({
                "rule": exp["type"],
                "columns": _columns(exp),
                "on_fail": exp.get("meta", {}).get("on_fail"),
                "success": self.success(i),
                "element_count": merged.get("element_count"),
                "unexpected_count": merged.get("unexpected_count"),
                "observed_value": merged.get("observed_value"),
                "kwargs": _plain(self._configs[i].kwargs) if self._configs[i] is not None else {},
            })
        return out

    def success(self, i: int) -> bool:
        """Success over all chunks: map expectations by their summed counts and `mostly`,
        row counts by the summed count, others only if every chunk succeeded."""
        merged, config = self._merged[i] or {}, self._configs[i]
        kwargs = config.kwargs if config is not None else {}
        kind = self.expectations[i]["type"]
        if kind in _ROW_COUNT:
            n = merged.get("observed_value", 0)
            if kind == "expect_table_row_count_to_equal":
                return n == kwargs.get("value")
            lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
            return (lo is None or n >= lo) and (hi is None or n <= hi)
        if "unexpected_count" in merged and "element_count" in merged:
            nonmissing = merged["element_count"] - merged.get("missing_count", 0)
            if nonmissing <= 0:
                return True
            mostly = kwargs.get("mostly") or 1.0
            return 1 - merged["unexpected_count"] / nonmissing >= mostly - 1e-12
        return self._success[i]

    def gx_result(self, hedui_meta: dict):
        """One ExpectationSuiteValidationResult for the whole source (masked, without row lists);
        its `success` is hedui's verdict (`hedui_meta["status"]`) when given."""
        from great_expectations.core.expectation_validation_result import (
            ExpectationSuiteValidationResult,
            ExpectationValidationResult,
        )

        results = []
        for i, _ in enumerate(self.expectations):
            if self._configs[i] is None:
                continue
            result = dict(self._merged[i] or {})
            self._mask_partials(result, self.expectations[i])
            results.append(ExpectationValidationResult(
                success=self.success(i), expectation_config=self._configs[i], result=result,
                exception_info={"raised_exception": False, "exception_traceback": None, "exception_message": None},
            ))
        n_ok = sum(r.success for r in results)
        stats = {
            "evaluated_expectations": len(results), "successful_expectations": n_ok,
            "unsuccessful_expectations": len(results) - n_ok,
            "success_percent": 100.0 * n_ok / len(results) if results else None,
        }
        meta = dict(self._meta)
        meta["hedui"] = hedui_meta
        meta.pop("batch_markers", None)
        # GX's page header shows batch_kwargs.data_asset_name as "Data asset".
        title = hedui_meta.get("title_zh")
        meta["batch_kwargs"] = {"data_asset_name": f"{self.suite_name}（{title}）" if title else self.suite_name}
        # The page's (and the index's) status is hedui's verdict on the source: rows quarantined by
        # a failed row-level rule do not fail it, a broken threshold does.
        success = hedui_meta["status"] == "passed" if "status" in hedui_meta else all(r.success for r in results)
        return ExpectationSuiteValidationResult(
            success=success, results=results, suite_name=self.suite_name,
            statistics=stats, meta=meta,
        )

    def save(self, docs_dir: Path, hedui_meta: dict) -> Path:
        """Write the merged result as `<docs_dir>/_results/<suite>.json`; return the path."""
        path = Path(docs_dir) / RESULTS_DIR / f"{self.suite_name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.gx_result(hedui_meta).to_json_dict(), ensure_ascii=False, indent=1),
                       encoding="utf-8")
        os.replace(tmp, path)
        return path

    def _mask_partials(self, result: dict, exp: dict) -> None:
        cols = [c for c in _columns(exp) if c in self.personal]
        if not cols:
            return
        kind = self.personal[cols[0]]
        if "partial_unexpected_list" in result:
            result["partial_unexpected_list"] = [self.mask(v, kind) for v in result["partial_unexpected_list"]]
        if "partial_unexpected_counts" in result:
            result["partial_unexpected_counts"] = [
                {"value": self.mask(c["value"], kind), "count": c["count"]}
                for c in result["partial_unexpected_counts"]
            ]
        if "partial_unexpected_index_list" in result:
            result["partial_unexpected_index_list"] = [
                {k: (self.mask(v, self.personal[k]) if k in self.personal else v) for k, v in row.items()}
                if isinstance(row, dict) else row  # SUMMARY results list bare row indexes
                for row in result["partial_unexpected_index_list"]
            ]


def _columns(exp: dict) -> list[str]:
    kw = exp.get("kwargs", {})
    return [kw[k] for k in ("column", "column_A", "column_B") if k in kw] + list(kw.get("column_list", []))


def _plain(value: Any) -> Any:
    from great_expectations.util import convert_to_json_serializable

    return convert_to_json_serializable(value)


def _fold(acc: dict | None, result: dict) -> dict:
    """Add one chunk's `result` dict to the running sum `acc`."""
    from great_expectations.util import convert_to_json_serializable

    slim = {k: v for k, v in result.items() if k not in _BIG_KEYS}
    slim = convert_to_json_serializable(slim)
    if acc is None:
        acc = slim
    else:
        for key in ("element_count", "missing_count", "unexpected_count"):
            if key in slim:
                acc[key] = acc.get(key, 0) + slim[key]
        if isinstance(slim.get("observed_value"), int) and isinstance(acc.get("observed_value"), int):
            acc["observed_value"] += slim["observed_value"]
        for key in ("partial_unexpected_list", "partial_unexpected_index_list"):
            if key in slim:
                acc[key] = (acc.get(key, []) + slim[key])[:PARTIAL]
        if slim.get("partial_unexpected_counts"):  # a full result without unexpected rows adds nothing
            counts = Counter()
            for c in acc.get("partial_unexpected_counts", []) + slim["partial_unexpected_counts"]:
                counts[json.dumps(c["value"], default=str)] += c["count"]
            acc["partial_unexpected_counts"] = [
                {"value": json.loads(v), "count": n} for v, n in counts.most_common(PARTIAL)
            ]
    n, missing, bad = acc.get("element_count"), acc.get("missing_count", 0), acc.get("unexpected_count")
    if n is not None and bad is not None:
        nonmissing = n - missing
        acc["unexpected_percent"] = 100.0 * bad / nonmissing if nonmissing else 0.0
        acc["unexpected_percent_nonmissing"] = acc["unexpected_percent"]
        acc["unexpected_percent_total"] = 100.0 * bad / n if n else 0.0
        if "missing_count" in acc:
            acc["missing_percent"] = 100.0 * missing / n if n else 0.0
    return acc


# --------------------------------------------------------------------------- the site


@contextmanager
def _locked(docs_dir: Path):
    """Per-source tasks run in parallel and each renders its pages and the index: one at a time."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    with open(docs_dir / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_data_docs(docs_dir: Path, suites: Path | None = None, only: Collection[str] | None = None) -> Path:
    """Render the results saved in `<docs_dir>/_results/` into GX Data Docs in `docs_dir`,
    readable offline; return the site's `index.html`.

    Without `only`, every page is rendered again (pages of an earlier build are replaced).
    With `only` (suite names, e.g. the source just validated), the pages of those suites
    are rendered, and those of any other saved result whose pages are missing or older
    than it (a build that did not finish); the other pages stay as built, and the index
    lists every saved result. A source's task thus renders its own two pages and the
    index, not the whole site again. Raises ConfigError when a saved result names a
    suite that does not exist.
    """
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from hedui.steps.validate.suites import gx_context, load_suite

    docs_dir = Path(docs_dir)
    with _locked(docs_dir):
        saved = {path.stem: path for path in sorted((docs_dir / RESULTS_DIR).glob("*.json"))}
        if only is None:
            for sub in ("validations", "expectations"):
                shutil.rmtree(docs_dir / sub, ignore_errors=True)
            render = set(saved)
        else:
            render = {name for name, path in saved.items() if name in only or _outdated(docs_dir, name, path)}
        page = {"module_name": "hedui.steps.validate.datadocs_views", "class_name": "PageView"}
        site = {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "view": {**page, "class_name": "IndexPageView"}},
            "site_section_builders": {name: {"view": page} for name in ("expectations", "validations", "profiling")},
        }
        context = gx_context(data_docs_sites={"hedui": site})
        rendered: list = []
        verdicts: dict[str, dict] = {}
        for name, path in saved.items():
            data = json.loads(path.read_text(encoding="utf-8"))
            suite_name = data["suite_name"]
            # The index shows a page's status and asset name only: a result whose pages stay as
            # built goes to GX without its expectation results, its suite without expectations.
            if name in render:
                data = sanitize_result(data)
                suite = load_suite(suite_name.removeprefix("stg_"), suites)
                expectations = [{k: e[k] for k in ("type", "kwargs", "meta", "severity") if k in e}
                                for e in suite.expectations]
                meta = suite.data.get("meta", {})
            else:
                data = {**data, "results": []}
                expectations, meta = [], {}
            context.suites.add(ExpectationSuite(name=suite_name, expectations=expectations, meta=meta))
            result = expectationSuiteValidationResultSchema.load(data)
            run_id = RunIdentifier(**data["meta"]["run_id"])
            batch = data["meta"].get("active_batch_definition", {})
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=run_id,
                batch_identifier=f"{batch.get('datasource_name', 'staged')}-{batch.get('data_asset_name', suite_name)}",
            )
            context.validation_results_store.set(key, result)
            if name in render:
                rendered += [key, ExpectationSuiteIdentifier(name=suite_name)]
                verdicts[suite_name] = data["meta"].get("hedui", {})
        if only is None or rendered:  # GX renders every page when given no identifiers
            for suite_name in verdicts:  # no page of an earlier build is left beside the new one
                shutil.rmtree(docs_dir / "validations" / suite_name, ignore_errors=True)
            context.build_data_docs(site_names=["hedui"], resource_identifiers=rendered or None)
        pages = [docs_dir / "index.html"]
        for suite_name, verdict in verdicts.items():
            pages.append(docs_dir / "expectations" / f"{suite_name}.html")
            for page in (docs_dir / "validations" / suite_name).rglob("*.html"):
                _add_verdict(page, verdict)
                pages.append(page)
        make_offline(docs_dir, pages=pages if only is not None else None)
    return docs_dir / "index.html"


def _outdated(docs_dir: Path, suite_name: str, result: Path) -> bool:
    """Whether a saved result's pages are missing or older than it."""
    pages = [docs_dir / "expectations" / f"{suite_name}.html", *(docs_dir / "validations" / suite_name).rglob("*.html")]
    if len(pages) < 2 or not pages[0].exists():
        return True
    saved = result.stat().st_mtime_ns
    return any(page.stat().st_mtime_ns < saved for page in pages)


# --------------------------------------------------------------------------- delivered values stay text

_MARKUP = re.compile(r"[<>&\"']")


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape(value, quote=True) if _MARKUP.search(value) else value
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {_escaped(k) if isinstance(k, str) else k: _escaped(v) for k, v in value.items()}
    return value


def sanitize_result(data: dict) -> dict:
    """A saved validation result made safe to hand GX's renderer.

    GX 1.24 writes the values of a result (unexpected values and their counts,
    observed values, row ids that carry file names) into the page unescaped: a
    delivered ``<img src=x onerror=…>`` would run in the browser.  Every string
    under each expectation's ``result`` is HTML-escaped here, so the page shows
    it as text.  The suite's own arguments and hedui's meta are not delivered
    data and are left as they are (hedui's verdict block escapes its reasons).
    """
    out = dict(data)
    out["results"] = [{**r, "result": _escaped(r.get("result") or {})} for r in data.get("results", [])]
    return out


def _add_verdict(page: Path, verdict: dict) -> None:
    """Put hedui's verdict on the source (in Chinese) above GX's overview."""
    if not verdict:
        return
    failed = verdict.get("status") == "failed"
    reasons = "".join(f"<li>{escape(r)}</li>" for r in verdict.get("reasons_zh", []))
    block = (
        f'<div id="hedui-verdict" class="alert {"alert-danger" if failed else "alert-success"}" role="alert">'
        f'<h5>{"本来源未通过校验：本次核对不能据此得出“未发现超出政策规定情形”的结论" if failed else "本来源通过校验"}</h5>'
        f'{_counts_notes(verdict)}'
        f'{f"<ul>{reasons}</ul>" if reasons else ""}</div>\n'
        f'{_warnings_notes(verdict)}'
    )
    html = page.read_text(encoding="utf-8")
    anchor = '<div id="section-1" '
    if "hedui-verdict" not in html and anchor in html:
        page.write_text(html.replace(anchor, block + anchor, 1), encoding="utf-8")


def _counts_notes(verdict: dict) -> str:
    """The delivery's rows, counted as the run summary and reconciliation.csv count them
    (delivered = staged + quarantined, duplicates among the quarantined), per file when
    there are several; GX's own figures below count the rows that reached validation."""
    from hedui.steps.validate.verdict import counts_zh

    counts = verdict.get("counts")
    if not counts:
        return (f'<p>共 {verdict.get("rows_in", 0)} 行：通过 {verdict.get("rows_passed", 0)} 行，'
                f'隔离 {verdict.get("rows_quarantined", 0)} 行（原因见隔离表）。</p>')
    files = verdict.get("files") or []
    rows = "".join(
        f'<tr><td>{escape(str(f["file_name"]).rsplit("/", 1)[-1])}</td><td>{f["delivered"]:,}</td>'
        f'<td>{f["staged"]:,}</td><td>{f["quarantined"]:,}</td><td>{f["duplicates"]:,}</td></tr>'
        for f in files) if len(files) > 1 else ""
    table = (f'<table id="hedui-counts-files" class="table table-sm"><thead><tr><th>文件</th><th>交付行数</th>'
             f'<th>入库行数</th><th>隔离行数</th><th>其中重复</th></tr></thead><tbody>{rows}</tbody></table>'
             if rows else "")
    see = "（逐行原因见隔离表）" if counts.get("quarantined") else ""
    return (f'<p id="hedui-counts">{escape(counts_zh(counts))}{see}。'
            f'下方 GX 各规则的行数只计进入校验的 {verdict.get("rows_in", 0):,} 行'
            f'（交付行中去掉暂存时已隔离的行）。</p>{table}')


def _warnings_notes(verdict: dict) -> str:
    """The failed warning rules (implausible values): listed, neither quarantined nor failing the source."""
    warnings = verdict.get("warnings_zh") or []
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return (f'<div id="hedui-warnings" class="alert alert-warning" role="alert"><h5>提示：以下数值不合理，'
            f'请核实（仅提示，相关记录照常入库，不影响本来源是否通过）</h5><ul>{items}</ul></div>\n')


def make_offline(docs_dir: Path, pages: list[Path] | None = None) -> None:
    """Copy the vendored CSS/JS/fonts into `<docs_dir>/static/vendor/` and point every
    page (or only `pages`, those just rendered) at them. Raises RuntimeError if a page
    still references a remote asset."""
    docs_dir = Path(docs_dir)
    vendor = docs_dir / "static" / "vendor"
    shutil.copytree(VENDOR_DIR, vendor, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README.md", "LICENSES"))
    for page in docs_dir.rglob("*.html") if pages is None else [p for p in pages if p.exists()]:
        html = page.read_text(encoding="utf-8")
        rel = os.path.relpath(docs_dir, page.parent).replace(os.sep, "/")
        html = _rewrite(html, rel)
        leftovers = [m.group(0)[-80:] for m in _REMOTE_ASSET.finditer(html)]
        if leftovers:
            raise RuntimeError(
                f"{page} still loads {leftovers[:3]} from the network: vendor it and add it to CDN_ASSETS "
                "(see hedui/steps/validate/datadocs_vendor/README.md)"
            )
        page.write_text(html, encoding="utf-8")


def _rewrite(html: str, rel: str) -> str:
    for url, local in CDN_ASSETS.items():
        if local is None:
            html = re.sub(r'<script[^>]*src="' + re.escape(url) + r'"[^>]*>\s*</script>\s*', "", html)
            html = re.sub(r'<link[^>]*href="' + re.escape(url) + r'"[^>]*>\s*', "", html)
        else:
            html = html.replace(f'"{url}"', f'"{rel}/static/vendor/{local}"')
    # Subresource-integrity and CORS attributes make Chromium refuse file:// scripts.
    html = re.sub(r'\s+integrity="[^"]*"', "", html)
    html = re.sub(r'\s+crossorigin="[^"]*"', "", html)
    return _GX_LOGO.sub(f"{rel}/static/images/logo-long.png", html)

