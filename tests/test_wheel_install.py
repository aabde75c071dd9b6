"""The built wheel installs into a fresh venv outside the checkout and runs a small world from there.

sql/, expectations/, dags/ and airflow.cfg ship inside the wheel as hedui/_data/ (pyproject's
force-include), the packages' own data (policies, templates, connectors' maps, ...) as package data;
everything is found through importlib.resources (hedui/resources.py), never through the checkout.
The venv gets the locked dependencies from uv's cache (hard links: seconds, no download).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, RUN_DATE, skip_or_fail

pytestmark = pytest.mark.ops

SHIPPED = ("hedui/_data/sql/macros.sql", "hedui/_data/sql/schema.sql", "hedui/_data/expectations/stg_tax.json",
           "hedui/_data/dags/hedui_nightly.py", "hedui/_data/airflow.cfg", "connectors/maps/tax.yaml",
           "hedui/templates/household.html", "hedui/linkage.yaml")
#: variables that would point the installed hedui back at the checkout
_CHECKOUT_VARS = ("PYTHONPATH", "VIRTUAL_ENV", "HEDUI_ROOT", "HEDUI_EXPECTATIONS_DIR", "AIRFLOW_CONFIG",
                  "AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")


def _uv() -> str:
    uv = ROOT / ".tools" / "bin" / "uv"
    found = str(uv) if uv.exists() else shutil.which("uv")
    if not found:
        skip_or_fail("uv not found (make setup installs it into .tools/)")
    return found


def _sh(args: list, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=kw.pop("timeout", 600),
                          **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-5000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv outside the checkout with the built hedui wheel and the locked dependencies."""
    uv, tmp = _uv(), tmp_path_factory.mktemp("wheel")
    assert not tmp.resolve().is_relative_to(ROOT)
    _sh([uv, "build", "--wheel", "--out-dir", tmp / "dist", ROOT], cwd=ROOT)
    (wheel,) = (tmp / "dist").glob("hedui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in SHIPPED if n not in names]
    assert not missing, f"not in the wheel: {missing}"
    venv = tmp / "venv"
    _sh([uv, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp)  # a new venv on the same Python
    req = _sh([uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--quiet"], cwd=ROOT).stdout
    (tmp / "requirements.txt").write_text(req)
    install = [uv, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-r", tmp / "requirements.txt",
               wheel]
    if subprocess.run([str(a) for a in [*install, "--offline"]], capture_output=True, cwd=tmp).returncode != 0:
        _sh(install, cwd=tmp)  # something not in uv's cache yet: fetch it
    return venv


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _CHECKOUT_VARS}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not Path(p).resolve().is_relative_to(ROOT))
    env["HOME"] = str(home)
    return env  # the keys (HEDUI_PSEUDONYM_KEY / HEDUI_DATA_KEY) come from conftest's environment


def test_the_installed_wheel_finds_its_data_in_the_venv_not_in_the_checkout(installed, tmp_path):
    probe = ("import json, connectors, connectors.maps as m, hedui, matching, hedui.db as db, hedui.steps.validate.suites as s\n"
             "from hedui import resources as r\n"
             "from hedui.ops import airflow_env\n"
             "v = airflow_env.configure()\n"
             "from airflow.dag_processing.dagbag import DagBag\n"
             "bag = DagBag(dag_folder=v['AIRFLOW__CORE__DAGS_FOLDER'])\n"
             "print(json.dumps({'files': [hedui.__file__, connectors.__file__, matching.__file__, str(m.MAPS_DIR),"
             " str(db.SQL_DIR), str(s.suites_dir()), v['AIRFLOW_CONFIG'], v['AIRFLOW__CORE__DAGS_FOLDER']],"
             " 'home': v['AIRFLOW_HOME'], 'checkout': str(r.checkout_root()),"
             " 'dags': sorted(bag.dags), 'errors': {k: str(e) for k, e in bag.import_errors.items()},"
             " 'macros': db.sql_text('macros.sql')[:20]}))\n")
    out = _sh([installed / "bin" / "python", "-c", probe], cwd=tmp_path, env=_env(tmp_path / "home")).stdout
    got = json.loads(out.strip().splitlines()[-1])
    for f in got["files"]:
        assert Path(f).resolve().is_relative_to(installed.resolve()), f"{f} is not in the installed venv"
    assert got["checkout"] == "None"
    assert Path(got["home"]).is_relative_to(tmp_path / "home")  # ~/.hedui/airflow by default when installed
    assert got["errors"] == {} and "hedui_nightly" in got["dags"]
    assert got["macros"].strip()


def test_the_installed_hedui_runs_a_small_world_outside_the_checkout(installed, tmp_path):
    env, hedui = _env(tmp_path / "home"), installed / "bin" / "hedui"
    # the 60-household world of conftest: every scenario of the generator, linkage on enough names to score
    _sh([hedui, "generate", "--out", "inbox", "--households", "60", "--seed", "11", "--date", RUN_DATE],
        cwd=tmp_path, env=env)
    proc = _sh([hedui, "run", "--inbox", "inbox", "--date", RUN_DATE, "--workdir", "work"], cwd=tmp_path, env=env)
    assert "完成" in proc.stdout
    reports = tmp_path / "work" / "reports" / RUN_DATE
    with open(tmp_path / "inbox" / "truth.csv", encoding="utf-8") as fh:
        truth = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    with open(reports / "outcomes.csv", encoding="utf-8") as fh:
        got = {r["request_id"]: (r["outcome"], r["findings"]) for r in csv.DictReader(fh)}
    assert len(truth) == 60 and got == truth
    assert len(list((reports / "households").glob("*.html"))) == 60
    assert (reports / "index.html").read_text(encoding="utf-8").count("<html") == 1
