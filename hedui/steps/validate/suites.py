"""The expectation suites: loading `expectations/stg_<source>.json`, checking it, and the
ephemeral GX context the suites run in. The suite format is in `expectations/README.md`."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hedui.errors import ConfigError
from hedui.resources import data_path

if TYPE_CHECKING:
    import pyarrow as pa

# GX logs at INFO from import on (decorator registration, store setup): keep it to warnings.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

ON_FAIL = ("quarantine", "reject_source", "report")
# GX's expectation severities; a "warning" (an implausible value) is shown in Data Docs only.
SEVERITIES = ("critical", "warning", "info")
KNOWN_THRESHOLDS = {"max_quarantined_share", "max_unreadable_share", "min_bad_rows"}
# Labels of the staged contract's own columns (the map gives the department's headers).
EXTRA_LABELS = {
    "record_id": "记录编号", "id_norm": "证件号码（规范化）", "name_norm": "姓名（规范化）",
    "id_status": "证件号码状态", "run_date": "运行日期", "source": "来源", "delivery_date": "交付日期",
    "file_name": "文件", "row_no": "行号",
}


@dataclass(frozen=True)
class Suite:
    """A suite JSON plus what its source's header map says about the columns."""

    name: str
    source: str
    data: dict
    thresholds: dict
    labels: dict[str, str]
    kinds: dict[str, str]
    id_column: str | None

    @property
    def expectations(self) -> list[dict]:
        return self.data["expectations"]


def suites_dir() -> Path:
    """`$HEDUI_EXPECTATIONS_DIR`, else `expectations/` (shipped in the wheel; the repository folder in a checkout)."""
    env = os.environ.get("HEDUI_EXPECTATIONS_DIR")
    return Path(env) if env else data_path("expectations")


def maps_dir() -> Path:
    """`connectors/maps/` (found without importing the connectors package)."""
    spec = importlib.util.find_spec("connectors")
    if spec is None or spec.origin is None:
        raise ConfigError("package 'connectors' not found: run from the repository or install hedui")
    return Path(spec.origin).parent / "maps"


def expectation_columns(expectation: dict) -> list[str]:
    """Columns an expectation names in its kwargs (not those inside a row_condition)."""
    kw = expectation.get("kwargs", {})
    cols = [kw[k] for k in ("column", "column_A", "column_B") if k in kw]
    return cols + list(kw.get("column_list", []))


def load_suite(source: str, directory: Path | None = None) -> Suite:
    """Load and check `stg_<source>.json`.

    Raises ConfigError when the file is missing, is not valid JSON, or an
    expectation has an unknown `on_fail` (or asks to quarantine rows for an
    expectation that is not row-level), or the thresholds are unknown.
    """
    path = (directory or suites_dir()) / f"stg_{source}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no expectation suite for source {source!r}: add {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    hedui_meta = data.get("meta", {}).get("hedui", {})
    thresholds = hedui_meta.get("thresholds", {})
    unknown = set(thresholds) - KNOWN_THRESHOLDS
    if unknown:
        raise ConfigError(f"{path}: unknown thresholds {sorted(unknown)}; known: {sorted(KNOWN_THRESHOLDS)}")
    for i, exp in enumerate(data.get("expectations", [])):
        on_fail = exp.get("meta", {}).get("on_fail")
        if on_fail not in ON_FAIL:
            raise ConfigError(f"{path}: expectation {i} ({exp.get('type')}) needs meta.on_fail in {ON_FAIL}")
        severity = exp.get("severity", "critical")
        if severity not in SEVERITIES or (severity == "warning" and on_fail != "report"):
            raise ConfigError(f"{path}: expectation {i} ({exp.get('type')}) has severity {severity!r}: use one of "
                              f"{SEVERITIES}; a 'warning' only reports (meta.on_fail 'report')")
        if on_fail == "quarantine" and not _is_row_level(exp["type"]):
            raise ConfigError(
                f"{path}: expectation {i} ({exp['type']}) is not row-level and cannot quarantine rows; "
                "use on_fail 'reject_source' or 'report'"
            )
    labels, kinds, id_column = dict(EXTRA_LABELS), {"id_norm": "id", "name_norm": "name"}, None
    map_path = maps_dir() / f"{source}.yaml"
    if map_path.exists():
        for col in yaml.safe_load(map_path.read_text(encoding="utf-8"))["columns"]:
            labels[col["column"]] = col["header"]
            kinds[col["column"]] = col["type"]
            if col["type"] == "id" and id_column is None:
                id_column = col["column"]
    if id_column:
        labels["id_status"] = labels[id_column]
    return Suite(data["name"], source, data, thresholds, labels, kinds, id_column)


def _is_row_level(expectation_type: str) -> bool:
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    impl = get_expectation_impl(expectation_type)
    return issubclass(impl, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation)


def gx_context(data_docs_sites: dict | None = None):
    """An ephemeral GX context: in-memory stores, no analytics, no progress bars, quiet logs."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch by hashing all its values (about 0.15 s per column
    # per 500k rows) only to put the hash in the result's metadata; chunks are identified by
    # their record_ids here, so skip it.
    pandas_execution_engine.HASH_THRESHOLD = 0
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites=data_docs_sites or {},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _parse_run_date(run_date: str) -> dt.date:
    try:
        return dt.date.fromisoformat(run_date if "-" in run_date else f"{run_date[:4]}-{run_date[4:6]}-{run_date[6:]}")
    except ValueError:
        raise ConfigError(f"run_date {run_date!r} is not a date: use YYYY-MM-DD or YYYYMMDD") from None


def read_columns(source: str, suites: Path | None = None) -> set[str]:
    """The staged columns `hedui.steps.validate.check.validate_source` reads for `source` (what GX checks, what a quarantine
    line shows): a staged file for validation alone needs no others."""
    suite = load_suite(source, suites)
    return _checked(suite) | _shown(suite)


def _checked(suite: Suite) -> set[str]:
    """Columns the suite's expectations check (and their row conditions refer to)."""
    wanted = {"record_id"}
    for exp in suite.expectations:
        wanted.update(expectation_columns(exp))
        wanted.update(_condition_columns(exp.get("kwargs", {}).get("row_condition")))
    return wanted


def _gx_columns(suite: Suite, schema: pa.Schema) -> list[str]:
    wanted = _checked(suite)
    missing = sorted(wanted - set(schema.names))
    if missing:
        raise ConfigError(f"staged rows for {suite.source} lack columns {missing} that {suite.name} checks")
    return [n for n in schema.names if n in wanted]


def _condition_columns(condition: Any) -> set[str]:
    """Columns a GX row condition (JSON form: `{"type": "comparison", "column": {"name": ...}, ...}`,
    possibly nested in `and`/`or` conditions) refers to."""
    if isinstance(condition, dict):
        found = {condition["column"]["name"]} if isinstance(condition.get("column"), dict) else set()
        return found.union(*(_condition_columns(v) for v in condition.values()))
    if isinstance(condition, list):
        return set().union(*(_condition_columns(v) for v in condition))
    return set()


def _shown(suite: Suite) -> set[str]:
    """Columns a quarantine line takes values from besides the checked ones: lineage, the ID."""
    wanted = {"row_no", "file_name", "run_date"}
    if suite.id_column:
        wanted.add(suite.id_column)
    for exp in suite.expectations:
        if exp.get("kwargs", {}).get("column_B"):
            wanted.add(exp["kwargs"]["column_B"])
    return wanted


def _line_columns(suite: Suite, schema: pa.Schema) -> set[str]:
    return _shown(suite) & set(schema.names)
