"""Assess's cost (issue #16, session 28): what the cuts must leave unchanged.  Pins (old and new code give the same
rows): the 户 of two heads (`hd_two_heads`, sql/assess/macros.sql), found now with cheap tests before the relation
and the 户号 are read, on any relation and 户号 text as the full reading found them; the month's wage row of figures
and figure_lineage, chosen once a run (`hd_wage_months`) where each model grouped the rows itself.
"""

from __future__ import annotations

import datetime as dt
import random

from tests.model_tables import RUN, add, connect, link, materialize, model

# hd_two_heads as it was before session 28: every row's relation read, every head's 户号 keyed, counted distinct
OLD_TWO_HEADS = """
    select hd_key(hukou_no) as hukou_key
    from main.stg_public_security
    where run_date = $rd and hd_relation_category(relation_to_head) = '本人'
    group by all
    having hukou_key is not null and count(distinct coalesce(id_norm, record_id)) > 1
"""

# relations as deliveries write them (sources.md): the words and codes of 本人, spaced, full-width, with a remark,
# the other categories' words and codes (some of them holding 0 or 本 or 户), empty and missing
RELATIONS = ["户主", "本人", "01", "02", "０１", "０２", " 户主 ", "户\u3000主", "户 主\u200b", "本 人", "0 1", "\u00a002",
             "户主（已故）", "原户主", "户主之妻", "10", "20", "30", "40", "50", "60", "70", "80", "90", "００",
             "配偶", "子", "女儿", "父亲", "孙子", "兄", "其他", "非亲属", "户", "主", "本", "0", "1", "03", "", " ",
             None]

# 户号 of one 户 written several ways (hd_key reads them as one), others of digits alone, and none
HUKOU = ["360702001", "３６０７０２００１", "360 702 001", "360-702-001", "360702001 ", "360·702·001", "360702002",
         "36070200l", "36070200L", "ab01", "AB01", "a-b-0-1", "ＡＢ０１", "", " ", "-", None, "360702003"]


def test_BJ01_two_heads_are_found_as_the_full_reading_finds_them():
    """Pin (equal on old and new code): on random rows of every kind of relation and 户号 text above, persons with
    and without an ID (one person's two rows are one head), hd_two_heads gives the keys the old query gives — and
    some, so the comparison is of a found 户 too."""
    rng = random.Random(28)
    for trial in range(6):
        c = connect()
        c.executemany("insert into stg_public_security (run_date, record_id, hukou_no, relation_to_head, id_norm) "
                      "values (?, ?, ?, ?, ?)",
                      [[RUN, f"ps:{trial}:{i}", rng.choice(HUKOU), rng.choice(RELATIONS),
                        rng.choice([None, *(f"ID{k}" for k in range(40))])] for i in range(400)])
        add(c, "stg_public_security", "ps:other-run", "public_security", "正常", None, "360702003", "户主", "X1",
            run_date="20261101")  # another run's head: not of this run's 户
        new = sorted(r[0] for r in c.sql(f"select * from hd_two_heads('{RUN}')").fetchall())
        old = sorted(r[0] for r in c.execute(OLD_TWO_HEADS, {"rd": RUN}).fetchall())
        assert new == old
        assert new  # a found 户 among them


def test_BJ01b_one_hukou_written_two_ways_with_two_heads_written_two_ways():
    """Pin: heads written `户 主` and `０１` under 户号 `３６０７０２-001` and `360702001` are one 户 of two heads; one
    person's two head rows, or a head beside a `原户主`, are not."""
    c = connect()
    add(c, "stg_public_security", "ps:1", "public_security", "正常", None, "３６０７０２-001", "户 主", "ID1")
    add(c, "stg_public_security", "ps:2", "public_security", "正常", None, "360702001", "０１", "ID2")
    add(c, "stg_public_security", "ps:3", "public_security", "正常", None, "360702002", "户主", "ID3")
    add(c, "stg_public_security", "ps:4", "public_security", "正常", None, "360702002", "户主", "ID3")
    add(c, "stg_public_security", "ps:5", "public_security", "正常", None, "360702003", "户主", "ID5")
    add(c, "stg_public_security", "ps:6", "public_security", "正常", None, "360702003", "原户主", "ID6")
    assert c.sql(f"select * from hd_two_heads('{RUN}')").fetchall() == [("360702001",)]


def _si(c, record_id, scheme, month, base, member="p1:a", **how):
    add(c, "stg_social_insurance", record_id, scheme, "缴费", dt.date.fromisoformat(month), None, base)
    link(c, "social_insurance", record_id, member, **how)


def test_BJ02_the_months_wage_row_as_each_model_chose_it():
    """Pin (equal on old and new code): months of two or three employee-scheme rows — bases alike to 6 decimals and
    not further (figures orders them as it sums them, hd_exact: a tie, the least scheme; figure_lineage as
    delivered), an unconfirmed higher base, rows waiting for review beside a counted one, unknown bases, a tax wage's
    month, a month of one waiting row, months before the window: every figure and every lineage row as before."""
    enterprise, public, unemployment = "企业职工基本养老保险", "机关事业单位养老保险", "失业保险"
    c = connect()
    _si(c, "si:01", unemployment, "2026-01-01", 3000.0000004)
    _si(c, "si:02", enterprise, "2026-01-01", 3000.0000001)
    _si(c, "si:03", enterprise, "2026-02-01", 4000.0, confirmed=False)
    _si(c, "si:04", unemployment, "2026-02-01", 3500.0)
    _si(c, "si:05", enterprise, "2026-03-01", 2500.0, pending=True, weight=0.9)
    _si(c, "si:06", unemployment, "2026-03-01", 2600.0, pending=True, weight=0.8)
    _si(c, "si:07", public, "2026-03-01", 2000.0)
    _si(c, "si:08", enterprise, "2026-04-01", None)
    _si(c, "si:09", unemployment, "2026-04-01", None, confirmed=False)
    _si(c, "si:10", enterprise, "2026-05-01", 1800.0, member="p1:b")
    _si(c, "si:11", enterprise, "2026-05-01", 1800.0, member="p1:b", pending=True, weight=0.7)
    _si(c, "si:12", enterprise, "2026-06-01", 1200.0, pending=True, weight=0.95)
    _si(c, "si:13", unemployment, "2024-06-01", 900.0)
    _si(c, "si:14", enterprise, "2024-06-01", 950.0)
    add(c, "stg_tax", "tax:1", "工资薪金所得", dt.date(2026, 5, 1), 5000.0, 100.0)
    link(c, "tax", "tax:1", "p1:b")
    materialize(c, "households")
    fig = [r for r in model(c, "figures") if r["request_id"] == "R1"][0]
    assert (fig["wage_estimate_yuan"], fig["si_individual_yuan"], fig["income_monthly_per_capita_yuan"],
            fig["income_monthly_per_capita_confirmed_yuan"], fig["income_monthly_per_capita_if_confirmed_yuan"]) == (
        9000.0, 896.5, 541.8125, 534.3125, 687.270833)
    one_wage, tax_wage = "该月已按另一险种的缴费基数估算工资，不重复计入", "该月已有计税工资，不按缴费基数估算"
    assert sorted((r["record_id"], r["is_counted"], r["is_excluded"], r["exclusion_zh"])
                  for r in model(c, "figure_lineage") if r["source"] == "social_insurance") == [
        ("si:01", True, False, None), ("si:02", False, True, one_wage), ("si:03", True, False, None),
        ("si:04", False, True, one_wage), ("si:07", True, False, None), ("si:08", False, False, None),
        ("si:09", False, True, one_wage), ("si:10", False, True, tax_wage), ("si:13", False, True, one_wage),
        ("si:14", False, False, None)]
