"""deploy/: the compose file and systemd units name every component and share one environment;
the environment templates hold no secret and only settings that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import ROOT

DEPLOY = ROOT / "deploy"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker", "db migrate")
ENV_FILES = ["/etc/hedui/hedui.env", "/etc/hedui/secrets.env"]
SECRET_NAMES = re.compile(r"(KEY|SECRET|PASSWORD|_CONN|BROKER_URL|RESULT_BACKEND)$")


def _env_template(name: str) -> dict[str, str]:
    lines = (DEPLOY / name).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's `key: [values]` (keys may repeat)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_compose_file_runs_every_component_on_postgres_and_redis():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "redis"} <= set(services)
    commands = {name: " ".join(s.get("command", [])) for name, s in services.items()}
    for component in COMPONENTS:
        assert any(f"airflow {component}" in c for c in commands.values()), f"no service runs airflow {component}"
    for name, service in services.items():
        if name.startswith("airflow"):
            assert service["env_file"] == ENV_FILES, name
            assert service["image"] == "hedui:0.1.0"
            assert "/var/lib/hedui/work:/var/lib/hedui/work" in service["volumes"]


def test_systemd_units_run_every_component_from_the_installed_venv():
    units = {p.name: _unit(p) for p in sorted((DEPLOY / "systemd").glob("*.service"))}
    starts = " | ".join(u["ExecStart"][0] for u in units.values())
    for component in COMPONENTS:
        assert f"/opt/hedui/venv/bin/airflow {component}" in starts, component
    for name, unit in units.items():
        assert unit["EnvironmentFile"] == ENV_FILES, name
        assert unit["User"] == ["hedui"] and unit["UMask"] == ["0027"], name
        assert "PATH=/opt/hedui/venv/bin" in " ".join(unit["Environment"]), name
    migrate = units["hedui-db-migrate.service"]["ExecStart"]
    assert any("pools set hedui_ingest" in line for line in migrate), "the DAG's ingest pool is not created"
    wanted = _unit(DEPLOY / "systemd" / "hedui.target")["Wants"][0].split()
    assert {n.replace("@.", "@1.") for n in units} == set(wanted)


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        import pytest

        pytest.skip("systemd-analyze not installed")
    for unit in (DEPLOY / "systemd").iterdir():
        shutil.copy(unit, tmp_path / unit.name.replace("@.", "@1."))
    proc = subprocess.run([analyze, "verify", *sorted(map(str, tmp_path.iterdir()))], capture_output=True,
                          text=True, timeout=60)
    problems = [line for line in proc.stderr.splitlines()
                if line.strip() and "/opt/hedui/venv/bin/airflow is not executable" not in line
                and "hedui-db-migrate.service not found" not in line]
    assert not problems, "\n".join(problems)


def test_env_templates_hold_no_secret_and_only_real_settings():
    from airflow.configuration import conf

    env = {**_env_template("hedui.env.example"), **_env_template("secrets.env.example")}
    for name in _env_template("hedui.env.example"):
        assert not SECRET_NAMES.search(name), f"{name} is a secret: it belongs in secrets.env"
    for name, value in _env_template("secrets.env.example").items():
        assert "<" in value, f"{name} in secrets.env.example must be a placeholder, not a value"
    code = "\n".join(p.read_text(encoding="utf-8") for d in ("hedui", "dags", "connectors")
                     for p in (ROOT / d).rglob("*.py"))
    for name in env:
        if name.startswith("AIRFLOW__"):
            section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
            options = conf.configuration_description.get(section, {}).get("options", {})  # core and providers'
            assert key in options, f"{name} is not an Airflow setting"
        elif name.startswith("HEDUI_") and name != "HEDUI_ROOT":  # HEDUI_ROOT is expanded by airflow.cfg
            assert name in code, f"{name} is read by nothing in hedui"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
