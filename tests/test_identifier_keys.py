"""What identifies a flat, a car, a company role and an employer when a department writes it its own way.

- A residential unit counts once for the household (co-owners' rows of one flat are one unit), by its
  不动产单元号.  A hand-entered record without one cannot be counted once and only once: it is quarantined
  (the household INCOMPLETE, never CLEAR on the flats that have a number) — pinned here.
- The same number written with spaces, full-width or lower-case letters is the same unit, car or company:
  co-owners' rows of one flat with the number spaced differently were two units (a false finding), and a
  re-check (动态复核) whose vehicle delivery wrote the plate `赣B·00001` instead of `赣B00001` listed the car as
  new and as gone, an employer written with full-width brackets as a new employer.
- An account answered twice (two query dates) counts its latest answer once — but only when both answers wrote
  the number alike: `6222 0202 0011 2233 445` and `'6222020200112233445` were two accounts, both balances
  counted (a false FINANCIAL_ASSETS_OVER_LIMIT).  Account, securities account and policy numbers are staged
  without spaces, hyphens or an Excel apostrophe, full-width folded, upper-case (`hd_account`).
"""

from __future__ import annotations

import pytest
from contract_world import RUN, World, fresh_ids, outcomes, query, run_world

LATER = "20261228"
FULL_WIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


@pytest.fixture(scope="module")
def units(tmp_path_factory):
    w = World()
    (a,) = w.household("UK01", [("甲一", "本人")])
    w.flat(a, "361002000000GB00002F00000001")
    w.flat(a, "", location="章贡区另一路8号 3栋201室", area="75.0")  # a second flat, hand-entered without a number
    w.expect("UK01", "INCOMPLETE", "RECORD_QUARANTINED")
    b, c = w.household("UK02", [("乙一", "本人"), ("乙二", "配偶")])
    for p in (b, c):  # one flat owned jointly, neither row with a number
        w.flat(p, "", share="共同共有", location="章贡区某路20号1栋101室", area="88.0")
    w.expect("UK02", "INCOMPLETE", "RECORD_QUARANTINED")
    d, e = w.household("UK03", [("丙一", "本人"), ("丙二", "配偶")])
    w.flat(d, "361002000000GB00002F00000003", share="共同共有", location="章贡区某路30号")
    w.flat(e, "361002 000000 GB00002 F00000003", share="共同共有", location="章贡区某路30号")
    w.expect("UK03", "CLEAR", "")
    (f,) = w.household("UK04", [("戊一", "本人")])  # one account answered on two days, its number written two ways
    w.bank(f, "15000", account="6222 0202 0011 2233 445")
    w.rows["bank"][-1]["查询日期"] = "20261120"
    w.bank(f, "15000", account="'6222020200112233445")
    w.expect("UK04", "CLEAR", "")  # 15,000 once ≤ 19,200 a person; twice would be over
    return run_world(w, tmp_path_factory, "unit_keys"), w


@pytest.mark.parametrize("rid", ["UK01", "UK02", "UK03", "UK04"])
def test_residential_units_are_counted_once_each_and_never_missed(units, rid):
    ctx, w = units
    assert outcomes(ctx)[rid] == w.expected[rid]


def test_one_flat_whose_number_is_spaced_differently_on_its_co_owners_rows_is_one_unit(units):
    ctx, _ = units
    got = query(ctx, "select n_residential_units from figures where run_date = ? and request_id = 'UK03'", [RUN])
    assert got == [(1,)]


@pytest.fixture(scope="module")
def recheck(tmp_path_factory):
    """One household checked twice; the second deliveries write the plate, the unit number, the credit code
    and the employer in other forms of the same values."""
    from hedui.pipeline import RunContext, run

    def world(later: bool) -> World:
        w = World()
        (p,) = w.household("UK10", [("丁一", "本人")], program="动态复核")
        w.add("vehicle", 号牌号码="赣b·00001" if later else "赣B00001", 号牌种类="小型汽车", 车辆类型="小型轿车",
              所有人="丁一", 证件号码=p["id"], 初次登记日期="2020-05-01", 使用性质="非营运", 车辆状态="正常",
              购置价格="9000")
        w.flat(p, "361002 000000 gb00002 f00000010" if later else "361002000000GB00002F00000010",
               location="章贡区某路10号")
        w.company(p, "有限责任公司", "存续", "1", capital="10")
        if later:
            code = w.rows["business_registry"][-1]["统一社会信用代码"]  # full-width, lower-case
            w.rows["business_registry"][-1]["统一社会信用代码"] = code.lower().translate(FULL_WIDTH)
        employer = "赣州某某（江西）有限公司" if later else "赣州某某(江西)有限公司"
        for m in ("202609", "202610", "202611") if later else ("202608", "202609", "202610"):
            w.add("tax", 纳税人识别号=p["id"], 姓名="丁一", 所得项目="工资薪金所得", 所属期=m, 收入额="1000",
                  已缴税额="0", 扣缴义务人=employer)
        return w

    root = tmp_path_factory.mktemp("unit_keys_recheck")
    work = root / "work"
    for day, later in ((RUN, False), (LATER, True)):
        with fresh_ids(900):  # the same ID numbers both times
            w = world(later)
        for rows in w.rows["requests"]:
            rows["委托日期"] = f"{day[:4]}-{day[4:6]}-{day[6:]}"
        w.write(root / "inbox", day)
        run(RunContext.of(root / "inbox", work, day))
    return RunContext.of(root / "inbox", work, LATER)


def test_a_recheck_sees_no_change_where_only_the_writing_changed(recheck):
    changes = query(recheck, "select change, kind, fact_key from changes where run_date = ? order by all", [LATER])
    assert changes == []


def test_the_same_answer_delivered_twice_with_its_account_number_written_two_ways_is_one_row(tmp_path_factory):
    """A bank's answer repeated in one delivery, the copy's account number written with hyphens: a duplicate of the
    first (quarantined as `duplicate`), not a second account of the same day whose balance counts again."""
    w = World()
    (p,) = w.household("UK05", [("己一", "本人")])
    w.bank(p, "15000", account="6222020200112233445")
    w.bank(p, "15000", account="6222-0202-0011-2233-445")
    w.expect("UK05", "CLEAR", "")
    ctx = run_world(w, tmp_path_factory, "account_copy")
    assert outcomes(ctx)["UK05"] == w.expected["UK05"]
    assert query(ctx, "select rule from quarantine where run_date = ? and source = 'bank'", [RUN]) == [("duplicate",)]
