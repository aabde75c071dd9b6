"""Repo-local Airflow environment: config path, home folder and per-installation secrets.

Airflow reads its configuration when first imported, so `configure()` must run
before any `airflow` import (the CLI and the test conftest call it first).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from hedui.resources import checkout_root, data_root

#: the folder holding airflow.cfg and dags/: the checkout, or the installed wheel's hedui/_data
ROOT = data_root()


def default_home() -> Path:
    """`.airflow/` in a checkout; `$HEDUI_HOME/airflow` (default ~/.hedui/airflow) when installed."""
    checkout = checkout_root()
    if checkout is not None:
        return checkout / ".airflow"
    return Path(os.environ.get("HEDUI_HOME") or Path.home() / ".hedui") / "airflow"


def _secrets(home: Path) -> dict[str, str]:
    """Return this installation's JWT secret and Fernet key, generating them once."""
    path = home / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "jwt_secret": secrets.token_urlsafe(64),
        "fernet_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def configure(home: Path | None = None) -> dict[str, str]:
    """Point Airflow at hedui's airflow.cfg and dags (checkout or installed) and a home; return the variables set.

    Values already in the environment win, so a deployment can inject its own.
    """
    home = Path(home or os.environ.get("AIRFLOW_HOME") or default_home()).resolve()
    keys = _secrets(home)
    wanted = {
        "HEDUI_ROOT": str(ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(ROOT / "airflow.cfg"),
        "AIRFLOW__API_AUTH__JWT_SECRET": keys["jwt_secret"],
        "AIRFLOW__CORE__FERNET_KEY": keys["fernet_key"],
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "GX_ANALYTICS_ENABLED": "False",
    }
    for key, value in wanted.items():
        os.environ.setdefault(key, value)
    from hedui.privacy.keys import install_local_keys

    keys = install_local_keys(home / "keys.json")  # developer/demo install only; deployments inject theirs
    return {**{k: os.environ[k] for k in wanted}, **keys}


def migrate() -> None:
    """Create or upgrade the Airflow metadata database (idempotent)."""
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL)
    ensure_pools()


INGEST_POOL = "hedui_ingest"


def ensure_pools() -> None:
    """Create (or resize) the pool that caps concurrent ingests: ``HEDUI_INGEST_POOL_SLOTS``, default 2.

    Each ingest holds up to ``HEDUI_SOURCE_MEMORY_LIMIT`` (1 GB) in DuckDB plus
    the pandas frame GX validates; two at a time keep a worker within ~4 GB.
    A deployment can do the same with
    ``airflow pools set hedui_ingest 2 "hedui: concurrent ingests"``.
    """
    from airflow.models.pool import Pool

    slots = int(os.environ.get("HEDUI_INGEST_POOL_SLOTS", "2"))
    Pool.create_or_update_pool(INGEST_POOL, slots, "hedui: concurrent ingests (memory budget)", False)
