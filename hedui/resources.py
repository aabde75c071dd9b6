"""Where hedui's shipped files are: sql/, expectations/, dags/, airflow.cfg and package data.

In a checkout these are the repository's top-level folders.  In an installed
wheel they are package data under ``hedui/_data/`` (``force-include`` in
pyproject.toml maps the same folders there), found with ``importlib.resources``.
The package must be installed as files (a wheel into a venv), not zipped.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE_DIR.parent


def _as_path(traversable) -> Path:
    path = Path(str(traversable))
    if not path.exists():
        raise FileNotFoundError(f"hedui data not found on disk: {traversable} (install hedui as files, not zipped)")
    return path


def checkout_root() -> Path | None:
    """The repository checkout hedui runs from, or None when it runs from an installed wheel."""
    if (resources.files("hedui") / "_data").is_dir():
        return None
    return _CHECKOUT if (_CHECKOUT / "sql").is_dir() and (_CHECKOUT / "pyproject.toml").is_file() else None


def data_root() -> Path:
    """The folder holding sql/, expectations/, dags/ and airflow.cfg (installed data, else the checkout)."""
    installed = resources.files("hedui") / "_data"
    if installed.is_dir():
        return _as_path(installed)
    root = checkout_root()
    if root is None:
        raise FileNotFoundError("hedui data folders (sql/, expectations/) not found: reinstall the hedui wheel")
    return root


def data_path(*parts: str) -> Path:
    """A shipped file or folder, e.g. ``data_path("sql", "macros.sql")``."""
    return data_root().joinpath(*parts)


def package_path(*parts: str) -> Path:
    """A file or folder inside the hedui package (policies/, templates/, ...)."""
    return _as_path(resources.files("hedui").joinpath(*parts))
