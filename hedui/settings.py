"""Where a run reads and writes, and which sources it takes: the one place paths are built."""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Settings:
    """The resource settings every step reads, from the environment, with one default each.

    | variable | field | default |
    | --- | --- | --- |
    | ``HEDUI_THREADS`` | threads of every DuckDB connection; report page workers | 2 |
    | ``HEDUI_MEMORY_LIMIT`` | the working database's and staging's DuckDB memory | 4GB |
    | ``HEDUI_SOURCE_MEMORY_LIMIT`` | a per-source task's DuckDB memory (protection) | 1GB |
    | ``HEDUI_INGEST_WORKERS`` | sources ingested at a time by ``hedui run`` | min(2, CPUs) |
    | ``HEDUI_REPORT_PDF`` | ``auto`` / ``all`` / ``none`` | auto |
    | ``HEDUI_REPORT_POOL_MIN`` | fewer households than this render in-process | 2000 |
    | ``HEDUI_REPORT_BATCH`` | households per page batch (0: automatic) | 0 |
    | ``HEDUI_SHARDS`` | shards of link, assess and report (1–256; 1: not sharded) | 1 |
    """

    threads: int = 2
    memory_limit: str = "4GB"
    source_memory_limit: str = "1GB"
    ingest_workers: int = 2
    report_pdf: str = "auto"
    report_pool_min: int = 2000
    report_batch: int = 0
    shards: int = 1

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Raises ConfigError (in Chinese, naming the variable) for a value that is not a number or not allowed."""
        from hedui.errors import ConfigError

        env = os.environ if environ is None else environ

        def number(name: str, default: int, minimum: int) -> int:
            text = (env.get(name) or "").strip()
            if not text:
                return default
            if not text.isdigit() or int(text) < minimum:
                raise ConfigError(f"环境变量 {name}={text!r} 无效：应为不小于 {minimum} 的整数")
            return int(text)

        pdf = (env.get("HEDUI_REPORT_PDF") or "auto").strip()
        if pdf not in ("auto", "all", "none"):
            raise ConfigError(f"环境变量 HEDUI_REPORT_PDF={pdf!r} 无效：应为 auto、all 或 none")
        return cls(
            threads=_THREADS_OVERRIDE or number("HEDUI_THREADS", 2, 1),
            memory_limit=(env.get("HEDUI_MEMORY_LIMIT") or "4GB").strip(),
            source_memory_limit=(env.get("HEDUI_SOURCE_MEMORY_LIMIT") or "1GB").strip(),
            ingest_workers=number("HEDUI_INGEST_WORKERS", min(2, os.cpu_count() or 1), 1),
            report_pdf=pdf,
            report_pool_min=number("HEDUI_REPORT_POOL_MIN", 2000, 0),
            report_batch=number("HEDUI_REPORT_BATCH", 0, 0),
            shards=parse_shards(env.get("HEDUI_SHARDS")),
        )


MAX_SHARDS = 256


def parse_shards(text, name: str = "HEDUI_SHARDS", error: type[Exception] | None = None) -> int:
    """The shard count in `text` (an integer 1–256); None or empty is 1.

    Raises `error` (default ConfigError; the CLI passes InputError) naming `name` and the allowed range.
    """
    from hedui.errors import ConfigError

    if text is None or (isinstance(text, str) and not text.strip()):
        return 1
    s = str(text).strip()
    if not s.isdigit() or not 1 <= int(s) <= MAX_SHARDS:
        raise (error or ConfigError)(f"{name}={s!r} 无效：分片数应为 1 到 {MAX_SHARDS} 之间的整数（1 表示不分片）")
    return int(s)


_THREADS_OVERRIDE: int | None = None


def settings() -> Settings:
    """The current settings (read on every call: cheap, and a test's environment applies at once)."""
    return Settings.from_env()


def use_threads(threads: int) -> None:
    """In a worker process: its share of the cores, instead of HEDUI_THREADS (no change to os.environ)."""
    global _THREADS_OVERRIDE
    _THREADS_OVERRIDE = max(1, int(threads))
