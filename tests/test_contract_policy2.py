"""A deployment's policy file as an outsider writes it, round 2 (policy.md "Limits"): the way an editor saves it,
the way YAML reads it, and figures the notice never meant — each refused with a Chinese message naming the file,
the key and what to do, never a traceback, a hang or a silent choice that could make a household look eligible.

The deployment of the run (20261128, county 360702): a file `ganzhou.yml` (not .yaml) holding the province's
version (standard 城市 800, financial assets at most 2 × the annual standard, the housing-fund balance counted)
and the county's 最低生活保障 version built on it with a YAML merge key (`<<: *province`) and its own standard
(城市 900: assets at most 2 × 900 × 12 = 21,600 per head).
"""

from __future__ import annotations

import time

import pytest
from contract_world import RUN, WINDOW, World, outcomes, query

from hedui.errors import PolicyError

PROVINCE = """\
    standard_monthly: {城市: 800, 农村: 650}
    income_window_months: 12
    financial_assets_basis: annual_standard
    financial_assets_multiple: 2
    count_housing_fund_balance: true
    max_residential_units: 1
    vehicle_price_multiple: 15
    exempt_vehicle_types: [普通二轮摩托车, 三轮汽车, 低速货车, 残疾人专用车]
    business_contribution_limit: 100000
    excluded_income_items: [城乡居民基本养老保险, 优待抚恤金, 利息、股息、红利所得]
"""


def _source(vid: str) -> str:
    return f"    source: {{notice: 关于调整{vid}城乡低保标准的通知, number: 赣民字〔2025〕{len(vid)}号, date: 2025-12-20}}\n"


def deployment_yaml() -> str:
    """As a deployment writes it by hand: the county's version takes the province's parameters by a merge key."""
    return ("# 赣州市章贡区 2026 年救助标准\nversions:\n"
            "  - id: JX-2026\n" + _source("JX-2026")
            + "    scope: {region: '360000', year: 2026, urban_rural: '*', program: '*'}\n"
            "    params: &province\n" + PROVINCE.replace("    ", "      ")
            + "  - id: ZG-2026-DB\n" + _source("ZG-2026-DB")
            + "    scope: {region: '360702', year: 2026, urban_rural: '*', program: 最低生活保障}\n"
            "    params:\n      <<: *province\n      standard_monthly: {城市: 900, 农村: 700}\n")


def _run(tmp_path_factory, name: str, files: dict[str, str], world: World):
    from hedui.pipeline import RunContext, run
    from hedui.steps import policy

    folder = tmp_path_factory.mktemp(f"{name}_policies")
    for file_name, text in files.items():
        (folder / file_name).write_text(text, encoding="utf-8")
    inbox = tmp_path_factory.mktemp(name) / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp(f"{name}_work"), RUN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(policy, "POLICY_DIR", folder)
        run(ctx)
    return ctx


def _fund(w: World, p: dict, balance: str) -> None:
    w.add("housing_fund", 证件号码=p["id"], 姓名=p["name"], 单位名称="某单位", 月缴存基数="3000", 月缴存额="360",
          账户余额=balance, 账户状态="正常", 截至日期="2026-10-31")


@pytest.fixture(scope="module")
def yml_run(tmp_path_factory):
    w = World()
    (a,) = w.household("PV01", [("规一", "本人")])
    w.wages(a, WINDOW, "850")  # under the county's 900 (over the province's 800)
    w.expect("PV01", "CLEAR", "")
    (a,) = w.household("PV02", [("规二", "本人")])
    _fund(w, a, "25000")  # counted, as the province's version merged into the county's says: over 21,600
    w.expect("PV02", "FINDINGS", "FINANCIAL_ASSETS_OVER_LIMIT")
    (a,) = w.household("PV03", [("规三", "本人")], program="动态复核")
    # a re-check: the county wrote 最低生活保障 only (900), the province * (800); which aid the household receives is
    # not said, so which standard applies is not known (test_contract_clear5.py CM03): not weighed by a guess
    w.wages(a, WINDOW, "850")
    w.expect("PV03", "INCOMPLETE", "VALUE_UNKNOWN")
    (a,) = w.household("PV04", [("规四", "本人")])
    w.wages(a, WINDOW, "1000", item="利息股息红利所得")  # excluded as the tax law writes it (利息、股息、红利所得)
    w.expect("PV04", "CLEAR", "")
    return w, _run(tmp_path_factory, "policy2_yml", {"ganzhou.yml": deployment_yaml()}, w)


def test_a_policy_file_ending_in_yml_with_merge_keys_is_read_and_weighs_its_households(yml_run):
    world, ctx = yml_run
    got = outcomes(ctx)
    assert {rid: got.get(rid) for rid in world.expected} == world.expected
    used = dict(query(ctx, "select request_id, policy_id from households where run_date = ?", [RUN]))
    assert used == {"PV01": "ZG-2026-DB", "PV02": "ZG-2026-DB", "PV03": None, "PV04": "ZG-2026-DB"}
    (files,) = query(ctx, "select policy_files from audit_runs where run_date = ?", [RUN])[0]
    assert "ganzhou.yml" in files  # the run records the file it was weighed by


def test_a_version_leaving_out_a_parameter_a_wider_version_writes_stops_the_run_naming_both(tmp_path_factory):
    """Decided: versions do not inherit (most specific wins, whole). The county's version written in full but
    without `count_housing_fund_balance` would take its default (not counted): PV11's 30,000 in the fund,
    over 2 × 900 × 12 per head, would pass unseen. Whether the county meant that cannot be read from the file."""
    county = ("  - id: ZG-2026-DB\n" + _source("ZG-2026-DB")
              + "    scope: {region: '360702', year: 2026, program: 最低生活保障}\n    params:\n"
              + PROVINCE.replace("    ", "      ").replace("      count_housing_fund_balance: true\n", "")
              .replace("{城市: 800, 农村: 650}", "{城市: 900, 农村: 700}"))
    text = deployment_yaml().split("  - id: ZG-2026-DB")[0] + county
    w = World()
    (a,) = w.household("PV11", [("规十一", "本人")])
    _fund(w, a, "30000")
    with pytest.raises(PolicyError) as err:
        _run(tmp_path_factory, "policy2_unstated", {"ganzhou.yaml": text}, w)
    message = str(err.value)
    assert "ganzhou.yaml" in message and "版本 ZG-2026-DB 未写参数 count_housing_fund_balance" in message
    assert "版本 JX-2026 写了 count_housing_fund_balance: True" in message and "请在版本 ZG-2026-DB 中明确写出" in message


# --- how the file is read: refused in Chinese, naming the file, the line and what to do ----------------------


def _load(tmp_path, text: str | bytes, name: str = "p.yaml"):
    from hedui.steps.policy import load_policies

    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return load_policies(path)


def test_an_alias_bomb_is_refused_at_once_not_expanded(tmp_path):
    lines = ['a0: &a0 ["甲", "甲", "甲", "甲", "甲", "甲", "甲", "甲", "甲"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = "\n".join(lines) + "\n" + deployment_yaml().replace("  - id: JX-2026\n", "  - id: *a8\n", 1)
    started = time.monotonic()
    with pytest.raises(PolicyError, match=r"政策文件 p\.yaml 展开后超过 100,000 个值"):
        _load(tmp_path, bomb)
    assert time.monotonic() - started < 5
    loop = deployment_yaml().replace("excluded_income_items: [", "excluded_income_items: &loop [*loop, ", 1)
    with pytest.raises(PolicyError, match="锚点 & 与别名 \\* 层层引用或引用自身"):
        _load(tmp_path, loop)


def test_a_python_tag_is_refused_in_chinese_and_nothing_runs(tmp_path):
    made = tmp_path / "made_by_the_policy_file"
    text = deployment_yaml().replace("id: JX-2026\n", f"id: !!python/object/apply:os.mkdir [{str(made)!r}]\n", 1)
    with pytest.raises(PolicyError, match="政策文件 p.yaml 第 3 行第 9 列：含有不允许的 YAML 标签 "
                                          "!!python/object/apply:os.mkdir；政策文件只能写数值、文字、列表和映射"):
        _load(tmp_path, text)
    assert not made.exists()


def test_a_key_written_twice_is_refused_not_the_last_one_silently_taken(tmp_path):
    # a copied line edited in its first copy only: YAML would keep the unedited 800
    text = deployment_yaml().replace("      standard_monthly: {城市: 900, 农村: 700}\n",
                                     "      standard_monthly: {城市: 900, 农村: 700}\n"
                                     "      standard_monthly: {城市: 800, 农村: 650}\n")
    with pytest.raises(PolicyError, match="政策文件 p.yaml 第 23 行：键“standard_monthly”在同一层中写了两次"
                                          "（第 22 行已有）"):
        _load(tmp_path, text)


def test_a_file_saved_in_gbk_is_refused_saying_to_save_it_as_utf8(tmp_path):
    with pytest.raises(PolicyError, match="政策文件 p.yaml 不是 UTF-8 编码（第 1 行起无法解码.*另存为 UTF-8"):
        _load(tmp_path, deployment_yaml().encode("gb18030"))


def test_a_yaml_syntax_error_says_where_in_chinese(tmp_path):
    text = deployment_yaml().replace("    params: &province\n", "    params: &province\n   bad: [\n", 1)
    with pytest.raises(PolicyError, match="政策文件 p.yaml 第 \\d+ 行第 \\d+ 列：YAML 格式错误.*请检查该处的缩进"):
        _load(tmp_path, text)


@pytest.mark.parametrize(("old", "new", "message"), [
    # a version, its source or scope written as one line of text
    ("  - id: JX-2026\n", "  - 赣州2026\n  - id: JX-2026\n", "versions 的第 1 项：应为一个版本"),
    (_source("JX-2026"), "    source: 赣民字〔2025〕7号\n", "版本 JX-2026 的 source：应为映射.*notice: 文件名"),
    ("    scope: {region: '360000', year: 2026, urban_rural: '*', program: '*'}\n", "    scope: 江西省\n",
     "版本 JX-2026 的 scope：应为映射"),
    # a number YAML reads that no notice gives
    ("    financial_assets_multiple: 2\n", "    financial_assets_multiple: .inf\n",
     "参数 financial_assets_multiple：值 inf 不合法"),
    ("    standard_monthly: {城市: 800, 农村: 650}\n", "    standard_monthly: {城市: true, 农村: 650}\n",
     "参数 standard_monthly：值 .* 不合法"),
    # the annual standard written as the monthly one; "24 months of the standard" as 24 × the annual standard
    ("    standard_monthly: {城市: 800, 农村: 650}\n", "    standard_monthly: {城市: 9600, 农村: 12000}\n",
     "参数 standard_monthly：\\{'农村': 12000\\} 超过每人每月 10,000 元，像是年标准"),
    ("    financial_assets_multiple: 2\n", "    financial_assets_multiple: 24\n",
     "参数 financial_assets_multiple：值 24 超过 10.*24 个月写 2"),
    ("    income_window_months: 12\n", "    income_window_months: 120\n", "收入计算期至少为 1 个月、至多 36 个月"),
    # a per-capita floor area as the number of units, a price (15 万元) as the multiple, 10 万元 written as 10
    ("    max_residential_units: 1\n", "    max_residential_units: 40\n", "参数 max_residential_units：值 40 超过 10.*不是面积"),
    ("    vehicle_price_multiple: 15\n", "    vehicle_price_multiple: 150000\n",
     "参数 vehicle_price_multiple：值 150000 超过 1000：它是城市月保障标准的倍数，不是金额"),
    ("    business_contribution_limit: 100000\n", "    business_contribution_limit: 10\n",
     "参数 business_contribution_limit：值 10 不足 1,000 元：单位是元，不是万元"),
    # the basic pension under a name no department delivers: it would be counted as income
    ("[城乡居民基本养老保险, ", "[城乡居民养老保险, 基本养老金, ",
     "参数 excluded_income_items：城乡居民养老保险、基本养老金 不是税务所得项目或社会保险险种的名称.*城乡居民基本养老保险"),
    # the county's version written with its own standard only, as if the province's figures carried over
    ("      <<: *province\n", "", "版本 ZG-2026-DB：缺少参数 income_window_months（版本之间不继承参数；.*<<: \\*锚点"),
    # one figure for town and country, or the urban/rural words of another notice
    ("    standard_monthly: {城市: 800, 农村: 650}\n", "    standard_monthly: 800\n",
     "参数 standard_monthly：值 800 不合法.*城乡统一的标准也分别写出"),
    ("    standard_monthly: {城市: 800, 农村: 650}\n", "    standard_monthly: {城镇: 800, 乡村: 650}\n",
     "参数 standard_monthly：值 .* 不合法，应为\\{城市: 正数, 农村: 正数\\}"),
    # a list written as one line of text
    ("    exempt_vehicle_types: [普通二轮摩托车, 三轮汽车, 低速货车, 残疾人专用车]\n",
     "    exempt_vehicle_types: 普通二轮摩托车，三轮汽车\n",
     "参数 exempt_vehicle_types：值 '普通二轮摩托车，三轮汽车' 不合法，应为列表，写作 \\[甲, 乙\\]"),
    # the county's block copied from the province's, its id left as it was
    ("  - id: ZG-2026-DB\n", "  - id: JX-2026\n",
     "有两个版本的 id 都是 JX-2026（区划 36、2026 年 与 区划 360702、2026 年）.*请给每个版本不同的 id"),
    # "否" is text, which Python would read as true: the reports would say 演示数据 for official figures
    ("  - id: JX-2026\n", "  - id: JX-2026\n    demonstration: 否\n",
     "版本 JX-2026 的 demonstration：值 '否' 应为 true（演示数据）或 false"),
])
def test_a_value_written_the_way_an_outsider_might_is_refused_naming_the_key(tmp_path, old, new, message):
    text = deployment_yaml().replace(old, new, 1)  # (a parameter's line is found inside its deeper indent)
    assert text != deployment_yaml()
    with pytest.raises(PolicyError, match=message):
        _load(tmp_path, text)


def test_a_scope_written_in_full_width_digits_or_a_quoted_year_is_the_scope_it_says(tmp_path):
    """３６０７０２ passes isdigit() but no request's code starts with it: the county's version was silently unused
    (its households weighed by the province's); a year written "2026" was refused as not a year."""
    from hedui.steps.policy import resolve

    text = deployment_yaml().replace("region: '360702', year: 2026", "region: '３６０７０２ ', year: '2026'")
    versions = _load(tmp_path, text)
    assert [(v.id, v.region, v.year) for v in versions] == [("JX-2026", "36", 2026), ("ZG-2026-DB", "360702", 2026)]
    assert resolve(versions, "360702", 2026, "城市", "最低生活保障").id == "ZG-2026-DB"
    with pytest.raises(PolicyError, match="scope.urban_rural：值 '城镇' 应为 城市、农村 或 \\*"):
        _load(tmp_path, deployment_yaml().replace("urban_rural: '*'", "urban_rural: 城镇", 1))


def test_a_version_leaving_out_a_parameter_whose_wider_value_is_the_default_is_weighed_as_written(tmp_path):
    from hedui.steps.policy import resolve, version_row

    province = PROVINCE + "    business_always_review_types: [个体工商户]\n"
    text = deployment_yaml().replace(PROVINCE.replace("    ", "      "), province.replace("    ", "      "))
    county = ("  - id: ZG-2026-DB\n" + _source("ZG-2026-DB")
              + "    scope: {region: '360702', year: 2026, program: 最低生活保障}\n    params:\n"
              + PROVINCE.replace("    ", "      "))
    versions = _load(tmp_path, text.split("  - id: ZG-2026-DB")[0] + county)
    row = version_row(resolve(versions, "360702", 2026, "城市", "最低生活保障"), "R", "城市")
    assert (row["policy_id"], row["business_always_review_types"]) == ("ZG-2026-DB", ["个体工商户"])


@pytest.mark.parametrize(("files", "message"), [
    ({"ganzhou.yaml": deployment_yaml().encode("gb18030")}, "政策文件 ganzhou.yaml 不是 UTF-8 编码"),
    ({}, "中没有任何政策版本（.yaml 或 .yml 文件的 versions）；请放入本地区的政策文件"),
    ({"ganzhou.yaml": b"versions: []\n"}, "中没有任何政策版本"),
])
def test_hedui_run_with_a_refused_policy_file_stops_before_creating_anything(tmp_path, monkeypatch, capsys, files,
                                                                             message):
    from hedui.cli import main
    from hedui.steps import policy

    folder = tmp_path / "policies"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    monkeypatch.setattr(policy, "POLICY_DIR", folder)
    w = World()
    w.household("PV21", [("规二一", "本人")])
    w.write(tmp_path / "inbox")
    work = tmp_path / "work"
    assert main(["run", "--inbox", str(tmp_path / "inbox"), "--date", RUN, "--workdir", str(work)]) == 2
    assert message in capsys.readouterr().err
    assert not work.exists()
