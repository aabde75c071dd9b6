"""Which way each department delivers in this deployment: file drop or SQL exchange table.

Read from ``$HEDUI_SOURCES_CONFIG`` or the packaged ``hedui/sources.yaml``
(every source by file drop).  Validated as a whole before a run starts: an
unknown source, a missing connection id or a bad table name is a
:class:`~hedui.errors.ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from connectors import list_sources
from hedui.errors import ConfigError
from hedui.paths import shown

ENV = "HEDUI_SOURCES_CONFIG"
FILE_DROP = "file_drop"
SQL_TABLE = "sql_table"
KINDS = (FILE_DROP, SQL_TABLE)
#: sources that can come from an exchange table (the requests come from the asking agency, as files)
NOT_SQL = ("requests",)
CONN_ID_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}")  # fullmatch: `$` also matches before a final line break
TABLE_PART = r"[A-Za-z_\u4e00-\u9fff][A-Za-z0-9_\u4e00-\u9fff]{0,62}"
TABLE_RE = re.compile(rf"{TABLE_PART}(\.{TABLE_PART})?")


@dataclass(frozen=True)
class Delivery:
    """How one source delivers: ``kind`` file_drop, or sql_table with ``conn_id`` and ``table``."""

    source: str
    kind: str = FILE_DROP
    conn_id: str | None = None
    table: str | None = None

    @property
    def is_sql(self) -> bool:
        return self.kind == SQL_TABLE


@dataclass(frozen=True)
class SourcesConfig:
    path: str
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    on_request: tuple[str, ...] = ()

    def delivery(self, source: str) -> Delivery:
        return self.deliveries.get(source) or Delivery(source)


def config_path() -> Path | None:
    """The deployment's file (``$HEDUI_SOURCES_CONFIG``), or None for the packaged default."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def load_sources_config(path: str | Path | None = None) -> SourcesConfig:
    """Read and validate the sources configuration (``path``, ``$HEDUI_SOURCES_CONFIG`` or the default)."""
    path = Path(path) if path else config_path()
    return _load(str(path) if path else "")


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> SourcesConfig:
    if path:
        text = Path(path).read_text(encoding="utf-8")
    else:
        text = resources.files("hedui").joinpath("sources.yaml").read_text(encoding="utf-8")
    return parse(text, path or "hedui/sources.yaml")


def _load(path: str) -> SourcesConfig:
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"数据来源配置文件 {path} 不存在（环境变量 {ENV}）：请检查路径，或删除该变量以使用默认配置（全部文件交付）")
        return _cached(str(p.resolve()), p.stat().st_mtime)
    return _cached("", 0.0)


def parse(text: str, where: str) -> SourcesConfig:
    """Validate the YAML ``text`` of the file ``where``; every problem is named with its key."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"数据来源配置 {where} 不是合法的YAML：{exc}") from exc
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"数据来源配置 {where} 应为键值结构（sources、on_request）")
    unknown_keys = sorted(set(map(str, data)) - {"sources", "on_request"})
    if unknown_keys:
        raise ConfigError(f"数据来源配置 {where} 中有未知的键 {'、'.join(unknown_keys)}；允许的键：sources、on_request")
    known = list_sources()
    allowed = "、".join(known)
    problems: list[str] = []
    deliveries: dict[str, Delivery] = {}
    section = data.get("sources") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"数据来源配置 {where} 的 sources 应为“来源: 设置”的键值结构")
    for source, spec in section.items():
        key = f"sources.{source}"
        if source not in known:
            problems.append(f"{key}：未知的数据来源，允许的来源：{allowed}")
            continue
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            problems.append(f"{key}：应为设置（kind、conn_id、table）")
            continue
        extra = sorted(set(map(str, spec)) - {"kind", "conn_id", "table"})
        if extra:
            problems.append(f"{key}：未知的设置 {'、'.join(extra)}，允许：kind、conn_id、table")
        kind = spec.get("kind", SQL_TABLE if ("conn_id" in spec or "table" in spec) else FILE_DROP)
        if kind not in KINDS:
            problems.append(f"{key}.kind：“{kind}”不是可用的交付方式，允许：{'、'.join(KINDS)}")
            continue
        if kind == FILE_DROP:
            if "conn_id" in spec or "table" in spec:
                problems.append(f"{key}：文件交付（file_drop）不需要 conn_id、table；要用交换表请写 kind: {SQL_TABLE}")
            deliveries[source] = Delivery(source)
            continue
        if source in NOT_SQL:
            problems.append(f"{key}：核对委托只能以文件交付（kind: {FILE_DROP}）")
            continue
        conn_id, table = spec.get("conn_id"), spec.get("table")
        if not conn_id:
            problems.append(f"{key}.conn_id：交换表交付必须写明Airflow连接编号（conn_id）")
        elif not isinstance(conn_id, str) or not CONN_ID_RE.fullmatch(conn_id):
            problems.append(f"{key}.conn_id：“{shown(conn_id)}”不合法，只允许字母、数字、_ . -")
        if not table:
            problems.append(f"{key}.table：交换表交付必须写明表名（table，“表”或“模式.表”）")
        elif not isinstance(table, str) or not TABLE_RE.fullmatch(table):
            problems.append(f"{key}.table：“{shown(table)}”不是合法的表名，应为“表”或“模式.表”，只含字母、数字、汉字和下划线")
        deliveries[source] = Delivery(source, SQL_TABLE, conn_id if isinstance(conn_id, str) else None,
                                      table if isinstance(table, str) else None)
    on_request = data.get("on_request", [])
    if on_request is None:
        on_request = []
    if not isinstance(on_request, list):
        problems.append("on_request：应为来源列表，如 [bank, securities, insurance]")
        on_request = []
    for source in on_request:
        if source not in known or source in NOT_SQL:
            problems.append(f"on_request：“{source}”不是可按次查询的数据来源，允许的来源：{allowed}")
    if problems:
        raise ConfigError(f"数据来源配置 {where} 有误：" + "；".join(problems) + "。请改正后重试。")
    return SourcesConfig(where, deliveries, tuple(s for s in on_request if s in known))


def check_connections(config: SourcesConfig | None = None) -> None:
    """Every exchange-table source's Airflow connection exists and has a supported type (no network)."""
    from connectors.sqltable import MYSQL, POSTGRES, SourceUnavailable, connection_info

    config = config or load_sources_config()
    problems = []
    for d in config.deliveries.values():
        if not d.is_sql:
            continue
        try:
            info = connection_info(d.conn_id)
        except SourceUnavailable as exc:
            problems.append(f"sources.{d.source}.conn_id：{exc}")
            continue
        if info.conn_type not in POSTGRES + MYSQL:
            problems.append(f"sources.{d.source}.conn_id：连接{d.conn_id}的类型“{info.conn_type}”不受支持，"
                            "允许：postgres、mysql")
    if problems:
        raise ConfigError(f"数据来源配置 {config.path} 有误：" + "；".join(problems) + "。")
