"""connectors: read what the departments deliver into raw Parquet rows plus a manifest.

One adapter per delivery kind — :func:`read_delivery` (file drop: CSV, XLSX,
Parquet) and :func:`read_table` (SQL exchange table) — and one header map per
source (``maps/<source>.yaml``).  Never imports ``hedui`` or ``matching``.
"""

from connectors.filedrop import delivery_ready, read_delivery
from connectors.manifest import DELIVERED, INCOMPLETE, MISSING, DeliveryManifest, FileManifest
from connectors.maps import ColumnSpec, MapError, SourceMap, list_sources, load_map
from connectors.raw import raw_schema
from connectors.sqltable import SourceUnavailable, read_table

__all__ = [
    "DELIVERED",
    "INCOMPLETE",
    "MISSING",
    "ColumnSpec",
    "DeliveryManifest",
    "FileManifest",
    "MapError",
    "SourceMap",
    "SourceUnavailable",
    "delivery_ready",
    "list_sources",
    "load_map",
    "raw_schema",
    "read_delivery",
    "read_table",
]
