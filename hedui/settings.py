"""Where a run reads and writes, and which sources it takes: the one place paths are built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connectors import list_sources
from hedui.paths import validate_run_date, validate_source_name

REQUESTS = "requests"


@dataclass(frozen=True)
class RunContext:
    """Where one run reads and writes: inbox, working folder and the logical date (YYYYMMDD)."""

    inbox: Path
    workdir: Path
    run_date: str

    def __post_init__(self) -> None:
        # the date becomes a folder name: refused before anything is created (hedui.paths)
        validate_run_date(self.run_date)

    @classmethod
    def of(cls, inbox: str | Path, workdir: str | Path, run_date: str) -> RunContext:
        """Raises InvalidPathComponent (a HeduiError, in Chinese) for a date that is not a real YYYYMMDD."""
        return cls(Path(inbox).resolve(), Path(workdir).resolve(), validate_run_date(run_date))

    @property
    def run_dir(self) -> Path:
        return self.workdir / "runs" / self.run_date

    @property
    def report_dir(self) -> Path:
        return self.workdir / "reports" / self.run_date

    @property
    def database(self) -> Path:
        return self.workdir / "hedui.duckdb"

    def path(self, kind: str, source: str, ext: str = "parquet") -> Path:
        validate_source_name(kind)
        validate_source_name(source)
        p = self.run_dir / kind / f"{source}.{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def sources() -> list[str]:
    """Every source the run ingests: the requests first, then the departments."""
    return [REQUESTS] + [s for s in list_sources() if s != REQUESTS]
