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

ROOT = Path(__file__).resolve().parent.parent


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
    """Point Airflow at the repo's airflow.cfg and a git-ignored home; return the variables set.

    Values already in the environment win, so a deployment can inject its own.
    """
    home = Path(home or os.environ.get("AIRFLOW_HOME") or ROOT / ".airflow").resolve()
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
