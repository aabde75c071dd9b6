"""Linkage, round 8 (sources.md "ID numbers", "Names" and the records without a usable ID; policy.md "CLEAR is earned"):
an ID written with other marks between its digit groups, the separators of a minority name, and every household's
urgent verification against the nightly's.  Cases of tests/test_contract_linkage*.py and test_contract_links2–6.py
are not repeated.

One real `hedui run` over a small hand-made inbox (tests/contract_world.py) is shared by the assertions.
Policy of the run (jiangxi_demo, 2026, 城市): financial assets at most 19,200 yuan per person.
"""

from __future__ import annotations

import shutil

import pytest
from contract_world import RUN, World, outcomes, query
from test_contract_linkage import to15, wrong_check
from test_contract_linkage2 import make_id
from test_contract_links2 import bank, registration, request
from test_contract_links5 import masked

from matching.idnum import transpositions

OVER = "FINANCIAL_ASSETS_OVER_LIMIT"

# LO01–LO04: an account in a member's name under another person's valid ID written with marks between its groups
OTHERS = {"LO01": ("张伟", "/"), "LO02": ("李强", "."), "LO03": ("王芳", "、"), "LO04": ("赵磊", "|")}
# LO05/LO06: an account under the member's own ID written so
OWN = {"LO05": ("刘洋", "/"), "LO06": ("陈静", "_")}
LEGACY_OTHER = "LO07"  # 孙丽; an account in her name under another person's legacy 15-digit ID, written 110101/800101/123

#: the separators of a minority name's parts as departments write them (sources.md: `·`, `•`, `.` all used)
SEPARATORS = ["·", "", "•", "‧", "．", "・", ".", " "]
FIRSTS = ("阿依古丽 买买提 艾力 古丽娜 热依拉 吐尔洪 努尔兰 帕提古丽 迪丽拜尔 阿不都 米日古丽 祖力亚 克里木 依力哈木 麦麦提 "
          "卡德尔 玉苏甫 热娜 塔依尔 斯拉木 沙吾提 尼亚孜 吾守尔 哈斯木").split()
SECONDS = ("乌斯曼 喀斯木 吐逊 萨迪克 艾则孜 伊敏 卡哈尔 奥斯曼 苏里坦 热合曼 阿吉 多来提 排尔哈提 赛买提 吾甫尔 于山 海拉提 "
           "木拉提 纳扎尔 玉努斯 哈力克 吐拉克 努尔买买提 帕尔哈提").split()
BYSTANDER = make_id("19700101", 899)


def grouped(pid: str, sep: str) -> str:
    """`pid` written in its groups (region, year, month and day, sequence and check) joined by `sep`."""
    return sep.join((pid[:6], pid[6:10], pid[10:14], pid[14:]))


def minority_cases() -> list[tuple[str, str, str, bool]]:
    """(request id, member's name, record's name, record under the member's ID) of LO10–LO33: without an ID, the member
    written with `·` and the record with each separator (LO10–LO17), the member without one (LO18–LO25); under the
    member's ID, the member written with each separator and the record with `·` (LO26–LO33)."""
    out = []
    for n in range(24):
        first, second = FIRSTS[n], SECONDS[n]
        sep = SEPARATORS[n % 8]
        if n < 8:
            out.append((f"LO{10 + n}", f"{first}·{second}", first + sep + second, False))
        elif n < 16:
            out.append((f"LO{10 + n}", first + second, first + sep + second, False))
        else:
            out.append((f"LO{10 + n}", first + sep + second, f"{first}·{second}", True))
    return out


def build() -> World:
    w = World()
    for k, (rid, (name, sep)) in enumerate(OTHERS.items()):
        pid = make_id("19800101", 700 + k)
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
        bank(w, name, grouped(make_id("19810202", 710 + k, "110101"), sep), "300000")
        w.expect(rid, "CLEAR", "")
    for k, (rid, (name, sep)) in enumerate(OWN.items()):
        pid = make_id("19820303", 720 + k)
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
        bank(w, name, grouped(pid, sep), "300000")
        w.expect(rid, "FINDINGS", OVER)
    pid = make_id("19830404", 730)
    request(w, LEGACY_OTHER, "孙丽", pid)
    registration(w, "H" + LEGACY_OTHER, "孙丽", pid)
    legacy = to15(make_id("19800101", 731, "110101"))
    bank(w, "孙丽", "/".join((legacy[:6], legacy[6:12], legacy[12:])), "300000")
    w.expect(LEGACY_OTHER, "CLEAR", "")

    for n, (rid, member, record, under_id) in enumerate(minority_cases()):
        pid = make_id(f"1985{1 + n % 12:02d}{1 + n:02d}", 740 + n)
        request(w, rid, member, pid)
        registration(w, "H" + rid, member, pid)
        bank(w, record, pid if under_id else "", "300000")
        w.expect(rid, "FINDINGS", OVER) if under_id else w.expect(rid, "INCOMPLETE", f"{OVER};UNCONFIRMED_LINK")

    # LO40–LO49: the other traps the contract names, for the urgent-vs-nightly comparison
    traps = {
        "LO40": ("周杰", lambda p: wrong_check(p), "INCOMPLETE", f"{OVER};UNCONFIRMED_LINK"),  # a wrong check char
        "LO41": ("吴敏", lambda p: to15(p), "FINDINGS", OVER),                      # the legacy 15-digit form
        "LO42": ("郑浩", lambda p: masked(p), "INCOMPLETE", f"{OVER};UNCONFIRMED_LINK"),  # masked, with his name
        "LO43": ("冯雪", lambda p: "３６０７０２" + p[6:], "FINDINGS", OVER),      # full-width digits
        "LO44": ("陈建华", lambda p: p.lower() + " ", "FINDINGS", OVER),          # the name typed traditional below
        "LO45": ("黄勇", lambda p: "", "INCOMPLETE", f"{OVER};UNCONFIRMED_LINK"),  # no ID
        "LO46": ("何静", lambda p: make_id("19870707", 799), "CLEAR", ""),        # a namesake's own valid ID
    }
    for k, (rid, (name, record_id, outcome, findings)) in enumerate(traps.items()):
        pid = make_id(f"1986{1 + k:02d}{10 + k:02d}", 780 + k)
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
        bank(w, "陳建華" if name == "陈建华" else name, record_id(pid), "300000")
        w.expect(rid, outcome, findings)
    # LO47/LO48: two 王伟 of two households born on other days; an account in the name 王伟 without an ID: either's
    for k, rid in enumerate(("LO47", "LO48")):
        pid = make_id(f"1988080{1 + k}", 790 + k)
        request(w, rid, "王伟", pid)
        registration(w, "H" + rid, "王伟", pid)
        w.expect(rid, "INCOMPLETE", "UNCONFIRMED_LINK")
    bank(w, "王伟", "", "100000")

    # LO50–LO57: records of other sources (read from the working database by an urgent verification)
    extra = {}
    for k, (rid, name) in enumerate((("LO50", "钱坤"), ("LO51", "艾力·吐尔逊"), ("LO52", "孔明"), ("LO53", "曹阳"),
                                     ("LO54", "严华"), ("LO55", "金玉"), ("LO56", "魏东"), ("LO57", "姜岚"))):
        pid = make_id(f"1989{1 + k:02d}{10 + k:02d}", 800 + k)
        request(w, rid, name, pid)
        registration(w, "H" + rid, name, pid)
        extra[rid] = {"name": name, "id": pid}
    near = transpositions(extra["LO50"]["id"])[0]
    w.car({"name": "钱坤", "id": near}, "300000")                    # LO50: a valid ID, two digits swapped
    w.car({"name": "艾力吐尔逊", "id": ""}, "300000")                  # LO51: no ID, the name without its dot
    w.wages({"name": "孔明", "id": to15(extra["LO52"]["id"])}, ["202601", "202602"], "90000")  # LO52: legacy ID
    w.car({"name": "曹阳", "id": extra["LO53"]["id"]}, "abc")          # LO53: quarantined under his ID
    w.car({"name": "严华", "id": ""}, "abc")                           # LO54: quarantined, no ID, his name
    w.add("civil_affairs", 姓名="金玉", 身份证号="", 死亡日期="2026-10-01", 火化日期="2026-10-03", 殡仪馆="赣州市殡仪馆")
    w.car({"name": "魏东", "id": grouped(extra["LO56"]["id"], "/")}, "300000")  # LO56: his ID written with `/`
    w.car({"name": "姜岚", "id": masked(extra["LO57"]["id"])}, "300000")  # LO57: his masked ID, his name
    # LO58: a car row without 所有人, its price no number, under 杜鹃's ID written 360702/1990/1010/8590: quarantined,
    # and named by nobody's ID (a malformed one) until the marks were read
    pid = make_id("19901010", 859)
    request(w, "LO58", "杜鹃", pid)
    registration(w, "HLO58", "杜鹃", pid)
    w.car({"name": "", "id": grouped(pid, "/")}, "abc")
    w.expect("LO58", "INCOMPLETE", "RECORD_QUARANTINED")
    # LO59: an account of 300,000 under 潘婷's ID masked as banks deliver it, its check character X typed as the
    # sign ×, 户名 `*`: hers as likely as not (LN05's case), the mask unread while the × stood
    pid = next(p for p in (make_id("19911111", k) for k in range(860, 999)) if p.endswith("X"))
    request(w, "LO59", "潘婷", pid)
    registration(w, "HLO59", "潘婷", pid)
    bank(w, "*", masked(pid)[:17] + "×", "300000")
    w.expect("LO59", "INCOMPLETE", "UNCONFIRMED_LINK")
    for rid, want in (("LO50", ("INCOMPLETE", "UNCONFIRMED_LINK")), ("LO51", ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE")),
                      ("LO52", ("FINDINGS", "INCOME_OVER_STANDARD")), ("LO53", ("INCOMPLETE", "RECORD_QUARANTINED")),
                      ("LO54", ("INCOMPLETE", "RECORD_QUARANTINED")),
                      ("LO55", ("INCOMPLETE", "MEMBER_REGISTRATION_ENDED;UNCONFIRMED_LINK")),
                      ("LO56", ("FINDINGS", "VEHICLE")), ("LO57", ("INCOMPLETE", "UNCONFIRMED_LINK;VEHICLE"))):
        w.expect(rid, *want)

    w.in_every_source({"name": "路人", "id": BYSTANDER})
    for k in range(250):  # the bank answers for people nobody here asks about: the accounts above without a usable
        bank(w, "路人", make_id("19600101", k), "100")  # ID stay under the share a source may hold
    return w


@pytest.fixture(scope="module")
def lo_run(tmp_path_factory):
    from hedui.pipeline import RunContext, run

    world = build()
    inbox = tmp_path_factory.mktemp("lo") / "inbox"
    world.write(inbox)
    ctx = RunContext.of(inbox, tmp_path_factory.mktemp("lo_work"), RUN)
    run(ctx)
    return world, ctx


def test_LO00_every_household_has_the_outcome_the_contract_gives_it(lo_run):
    world, ctx = lo_run
    got = outcomes(ctx)
    wrong = {rid: (got.get(rid), want) for rid, want in world.expected.items() if got.get(rid) != want}
    assert not wrong, wrong


def _bank(ctx, rid: str) -> tuple[list[tuple], list[tuple]]:
    """(record name, method) of the bank links and (record name, band) of the bank pairs waiting, of request `rid`."""
    links = query(ctx, "select s.name, l.method from links l join stg_bank s using (run_date, record_id) "
                       "where l.run_date = ? and l.request_id = ? order by all", [RUN, rid])
    pending = query(ctx, "select s.name, q.band from review_queue q join stg_bank s using (run_date, record_id) "
                         "where q.run_date = ? and q.request_id = ? and q.status = 'pending' order by all", [RUN, rid])
    return links, pending


@pytest.mark.parametrize("sep", ["/", ".", "、", "|", "_", "\\", "／", "：", ",", "，", "。", "·", " / "])
def test_LO01_an_id_written_with_marks_between_its_groups_is_that_id(sep):
    """LO01 (the values): 110105/19491231/002X and its like (`/ . 、 | _ \\ ： ，` … between the groups, and the check
    character typed as the sign `×`) are the ID, in Python and in the SQL twin staging runs; a value that is no ID's
    shape keeps its marks (3601/02, 3.60102E+17)."""
    import duckdb

    from hedui import db
    from matching.idnum import normalize_id

    valid, legacy = "11010519491231002X", "110105491231002"
    raws = [grouped(valid, sep), grouped(valid.lower(), sep), grouped(valid[:17] + "×", sep),
            sep.join((legacy[:6], legacy[6:12], legacy[12:])), "3601" + sep + "02", "3.60102E+17", "360702800101001.0"]
    want = [(valid, "valid")] * 3 + [(valid, "converted_15"), (None, "malformed"), (None, "scientific"),
                                     ("360702198001010016", "converted_15")]
    assert [normalize_id(r) for r in raws] == want
    con = duckdb.connect()
    con.sql(db.sql_text("macros.sql"))
    assert [tuple(con.execute("select hd_id_norm(?), hd_id_status(?)", [r, r]).fetchone()) for r in raws] == want


def test_LO02_an_account_under_another_person_s_id_written_so_is_not_the_namesake_s(lo_run):
    """LO02: an account of 300,000 in the name 张伟 under another person's valid ID written 110101/1981/0202/7109
    (or with `.`, `、`, `|`; 孙丽's under another person's legacy ID 110101/800101/731): the marks made the ID
    malformed, the account had no usable ID, linkage paired it by the name alone and LO01–LO04, LO07 came out
    INCOMPLETE with FINANCIAL_ASSETS_OVER_LIMIT on a stranger's savings.  Now the marks are removed, the ID is
    another person's valid ID and the namesake's account is nobody's here (the veto of two valid IDs: CLEAR); an
    account under the member's own ID written so (LO05, LO06) is linked on the ID, certain."""
    world, ctx = lo_run
    got = outcomes(ctx)
    for rid in (*OTHERS, LEGACY_OTHER):
        assert got[rid] == world.expected[rid] == ("CLEAR", "")
        assert _bank(ctx, rid) == ([], []), rid
    for rid, (name, _) in OWN.items():
        assert got[rid] == world.expected[rid]
        assert _bank(ctx, rid) == ([(name, "exact_id")], []), rid


def test_LO04_the_separators_of_a_minority_name_compare_equal(lo_run):
    """LO04: 阿依古丽买买提 (no dot) against 阿依古丽·买买提 was another name at linkage's exact level (only the pinyin
    agreed): an account without an ID waited for review where the same name with a dot was linked, and the
    surname (阿依古丽 with the dot, 阿 without) differed, so a rule joining on it never met them.  Now the keys of a
    Chinese name are those of the name without its dot: `·`, `•`, `‧`, `．`, `・`, `.`, a space or none give one
    name, pinyin, surname and given name, and every account of LO10–LO25 (no ID) is linked as the dotted one is,
    LO26–LO33 (under the member's ID) on the ID."""
    from matching.linkage import name_keys

    keys = name_keys(["阿依古丽" + sep + "买买提" for sep in SEPARATORS])
    for column, values in keys.items():
        if column != "raw":
            assert len(set(values)) == 1, (column, values)
    world, ctx = lo_run
    got = outcomes(ctx)
    for rid, _, record, under_id in minority_cases():
        assert got[rid] == world.expected[rid], rid
        name = query(ctx, "select name from stg_bank where run_date = ? and name like ?", [RUN, record[:2] + "%"])
        if under_id:
            assert _bank(ctx, rid) == ([(name[0][0], "exact_id")], []), rid
        else:
            assert _bank(ctx, rid) == ([(name[0][0], "probabilistic")], [(name[0][0], "link")]), rid


def _links(database, run_date: str, rid: str) -> tuple[list[tuple], list[tuple]]:
    """(links, pairs waiting for a person) of request `rid` in a database: (source, record, member, method) and
    (source, record, member, band)."""
    from hedui import db

    con = db.connect(database, read_only=True)
    try:
        links = con.sql("select source, record_id, member_id, method from links where run_date = ? and request_id = ? "
                        "order by all", params=[run_date, rid]).fetchall()
        pending = con.sql("select source, record_id, member_id, band from review_queue where run_date = ? and "
                          "request_id = ? and status = 'pending' order by all", params=[run_date, rid]).fetchall()
    finally:
        con.close()
    return links, pending


def _urgent_vs_nightly(world, ctx, tmp_path, rid: str) -> tuple[tuple, tuple]:
    """(urgent, nightly): outcome, findings, links and pairs waiting for a person of household `rid`."""
    from hedui.urgent import verify_household

    answers = tmp_path / f"answers_{rid}"
    for source in ("bank", "insurance", "securities"):
        shutil.copytree(ctx.inbox / source / RUN, answers / source)
    rows = [dict(r, 委托编号=f"{rid}U") for r in world.rows["requests"] if r["委托编号"] == rid]
    got = verify_household(ctx.workdir, rows, answers=answers, run_date=RUN, keep_scratch=True)
    scratch = ctx.workdir / "urgent" / got["key"]
    try:
        urgent = (got["outcome"], got["findings"], *_links(scratch / "hedui.duckdb", RUN, f"{rid}U"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    nightly = (*outcomes(ctx)[rid], *_links(ctx.database, RUN, rid))
    return urgent, nightly


#: the households urgently verified in the default run (an urgent verification costs ≈ 5 s of CPU, the file's budget
#: is a minute): an ID of other marks (an answer, and a car read from the working database), a name without its
#: dot, a masked ID, namesakes.  The others (50 in all) run with `-m slow`: all equal when this file was written.
QUICK = ("LO01", "LO11", "LO42", "LO47", "LO56")


def _all_rids() -> list:
    return [rid if rid in QUICK else pytest.param(rid, marks=pytest.mark.slow) for rid in build().expected]


@pytest.mark.parametrize("rid", _all_rids())
def test_LO03_every_household_is_verified_urgently_as_the_nightly_verified_it(lo_run, tmp_path, rid):
    """LO03: each household of the world (IDs of other marks, of other people, legacy, masked, mistyped, transposed,
    full-width; minority names written every way; namesakes; quarantined records; other sources than the bank's
    answers) verified urgently, against the working database the nightly left,
    has the nightly's outcome, findings, links (source, record, member, method) and pairs waiting for a person."""
    world, ctx = lo_run
    urgent, nightly = _urgent_vs_nightly(world, ctx, tmp_path, rid)
    assert urgent == nightly
    assert nightly[:2] == world.expected[rid]


def test_LO05_a_quarantined_record_under_an_id_of_marks_or_a_masked_id_of_a_sign_names_the_member(lo_run):
    """LO05 (CLEAR is earned): a car row without 所有人 and a price that is no number under 杜鹃's ID written
    360702/1990/1010/8590 was quarantined and tied to nobody (the ID malformed, no name): LO58 came out CLEAR with
    a record about her unweighed.  An account under 潘婷's masked ID whose check character X was typed as the sign
    × (360702********859×), 户名 `*`, was no mask and no name: LO59 CLEAR on 300,000 that may be hers.  Now the marks
    and the sign are read: the quarantined row is hers by ID (RECORD_QUARANTINED), the account waits for a person
    as a question about the member whose ID has its visible characters."""
    world, ctx = lo_run
    got = outcomes(ctx)
    assert (got["LO58"], got["LO59"]) == (world.expected["LO58"], world.expected["LO59"])
    assert query(ctx, "select source, method from quarantine_links where run_date = ? and request_id = 'LO58'",
                 [RUN]) == [("vehicle", "exact_id")]
    assert _bank(ctx, "LO59") == ([], [("*", "review")])
