"""Policy versions: loading, validation messages, most-specific resolution."""

from __future__ import annotations

import pytest
import yaml

from hedui.errors import PolicyError
from hedui.steps.policy import POLICY_DIR, load_policies, resolve


def test_the_shipped_demo_policy_loads_and_is_marked_as_demonstration():
    versions = load_policies()
    assert versions
    assert all(v.demonstration for v in versions if v.id.startswith("JX-DEMO"))


def test_a_county_version_wins_over_the_province_version(tmp_path):
    doc = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    county = dict(doc["versions"][0])
    county = {**county, "id": "COUNTY", "scope": {**county["scope"], "region": "360102"}}
    doc["versions"].append(county)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    versions = load_policies(path)
    assert resolve(versions, "360102", 2026, "城市", "最低生活保障").id == "COUNTY"
    assert resolve(versions, "360702", 2026, "城市", "最低生活保障").id == "JX-DEMO-2026"


def test_a_year_without_its_own_version_keeps_the_latest_earlier_one_in_force(tmp_path):
    doc = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    base = dict(doc["versions"][0])
    doc["versions"] = [{**base, "id": "P2024", "scope": {**base["scope"], "year": 2024}},
                       {**base, "id": "P2025", "scope": {**base["scope"], "year": 2025}},
                       {**base, "id": "C2024", "scope": {**base["scope"], "year": 2024, "region": "360102"}}]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    versions = load_policies(path)
    assert resolve(versions, "360702", 2027, "城市", "最低生活保障").id == "P2025"
    assert resolve(versions, "360102", 2027, "城市", "最低生活保障").id == "P2025"  # the newer year wins
    assert resolve(versions, "360102", 2024, "城市", "最低生活保障").id == "C2024"
    assert resolve(versions, "360702", 2024, "城市", "最低生活保障").id == "P2024"
    with pytest.raises(PolicyError, match="没有适用于"):
        resolve(versions, "360702", 2023, "城市", "最低生活保障")


def test_no_version_for_the_year_is_a_clear_error():
    with pytest.raises(PolicyError, match="没有适用于"):
        resolve(load_policies(), "360102", 1999, "城市", "最低生活保障")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_residential_units", -1, "max_residential_units"),
        ("standard_monthly", {"城市": 800}, "standard_monthly"),
        ("exempt_vehicle_types", "摩托车", "exempt_vehicle_types"),
    ],
)
def test_a_bad_parameter_names_the_key_and_what_is_allowed(tmp_path, key, value, message):
    doc = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    doc["versions"][0]["params"][key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyError, match=message) as err:
        load_policies(path)
    assert "应为" in str(err.value)


def test_the_regions_a_policy_covers_decide_which_request_rows_can_be_verified():
    import re

    from hedui.steps.policy import region_regex

    covered = re.compile(region_regex(2026))
    assert covered.match("360702") and covered.match("361102")
    assert not covered.match("440305") and not covered.match("")
    # before every version: the deployment's problem, stopped by `resolve`, no row quarantined for it
    assert re.compile(region_regex(2020)).match("440305")


def test_a_deployments_policy_folder_is_an_environment_setting(tmp_path, monkeypatch):
    """HEDUI_POLICY_DIR: a deployment's local policy without editing the installed package; a folder that is not
    there stops with a Chinese error naming it; the run's record of policy files hashes that folder's files."""
    from hedui.steps.publish import policy_files

    doc = yaml.safe_load((POLICY_DIR / "jiangxi_demo.yaml").read_text(encoding="utf-8"))
    doc["versions"] = [{**v, "id": f"LOCAL-{v['id']}"} for v in doc["versions"]]
    (tmp_path / "local.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HEDUI_POLICY_DIR", str(tmp_path))
    assert {v.id.split("-")[0] for v in load_policies()} == {"LOCAL"}
    assert list(policy_files()) == ["local.yml"]
    monkeypatch.setenv("HEDUI_POLICY_DIR", str(tmp_path / "missing"))
    with pytest.raises(PolicyError, match="HEDUI_POLICY_DIR 指向的政策目录 .*missing 不存在"):
        load_policies()
    monkeypatch.delenv("HEDUI_POLICY_DIR")
    assert "jiangxi_demo.yaml" in policy_files()
