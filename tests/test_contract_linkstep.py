"""Session 34's link-step round (BENCHMARKS.md, Session 34: linkstep): what the cheaper ID handling leaves unchanged."""

from __future__ import annotations

import random

import duckdb
import pyarrow as pa
import pytest

from hedui.settings import REQUESTS, sources
from hedui.steps.link_ids import _masks, _normalized, _normalized_arrays, _plain_table
from matching.idnum import check_char, normalize_id
from tests.test_link_normalized import _values

RUN = "20261128"

HOSTILE = [None, "", " ", "一二三四五六",  # six CJK characters: 18 bytes, not 18 characters
           "１１０１０５１９４９１２３１００２Ｘ", "11010519491231002x", "11010519491231002X", "110105194912310021",
           "110105194913310021", "110105000012310021", "11010519491231002", "1101051949123100211",
           "11010519491231002Ｘ", "110105*********02X", "360702********1234", "3607**********123X",
           "36************1234", " 360702********1234", "360702********123", "11010519491231002X\n",
           "1101051949123100\u00e92", "110105491231002", "3.60102E+17", "ID 11010519491231002X", "a" * 18]


def _reference(values: list[str | None]) -> tuple[list, list, list]:
    """The per-value definition: `normalize_id` of each value (None: None, None) and `_masks` of the answers."""
    pairs = [normalize_id(v) if v is not None else (None, None) for v in values]
    return [p[0] for p in pairs], [p[1] for p in pairs], _masks(values, [p[1] for p in pairs])


def test_CJ01_batch_ids_answer_as_normalize_id_on_hostile_values():
    """CJ01: `_normalized_arrays` (18-byte values read from the Arrow buffer, the rest by `normalize_id`, put together
    by one `take`) gives each value's `normalize_id` and `_masks` answer: values of 18 bytes that are not 18 ASCII
    characters, a lower-case or full-width check character, impossible birth dates, masks, nulls; also for an
    Arrow array that is a slice of a longer one (its offset) and for no values at all."""
    values = HOSTILE + _values(3000)
    norm, status, mask = _normalized_arrays(pa.array(values, pa.string()))
    assert (norm.to_pylist(), status.to_pylist(), mask.to_pylist()) == _reference(values)
    assert {"valid", "bad_check", "malformed", "converted_15", "missing", "scientific"} <= set(status.to_pylist())
    assert sum(m is not None for m in mask.to_pylist()) >= 4
    sliced = pa.array(["x", *values], pa.string()).slice(1, len(values))
    assert [a.to_pylist() for a in _normalized_arrays(sliced)] == list(_reference(values))
    assert [a.to_pylist() for a in _normalized_arrays(pa.array([], pa.string()))] == [[], [], []]
    assert _normalized(values) == _reference(values)[:2] and _normalized([None]) == ([None], [None])


class _Keys:
    """Tokens are `a1:` + the value; counts the decryptions; pseudonyms are `p1:` + the value."""

    def __init__(self) -> None:
        self.decrypted: list[str] = []

    def decrypt(self, token: str | None) -> str | None:
        self.decrypted.append(token)
        return None if token is None else token[3:]

    def decrypt_array(self, tokens: pa.Array, *, plain_stands: bool = False) -> pa.Array:  # as Keys.decrypt_array
        return pa.array([t if t is None or (plain_stands and not t.startswith(("a1:", "s1:"))) else self.decrypt(t)
                         for t in tokens.to_pylist()], pa.string())

    def pseudonyms(self, values):
        return [None if v is None else "p1:" + v for v in values]


def test_CJ02_the_members_plain_ids_with_other_tokens_decrypt_only_the_others():
    """CJ02: `_with_members` looks the members' tokens up with Arrow's `is_in` (no Python set of them): the table is
    the members' rows, then one row per other token in the order given (a repeated token twice, a null as a null),
    as the set-based version made it; a member's token is never decrypted again."""
    from hedui.steps.link import _with_members

    rnd = random.Random(34)
    ids = [f"360102{rnd.randint(1950, 2005)}0{rnd.randint(1, 9)}1{rnd.randint(0, 9)}{rnd.randint(100, 999)}"
           for _ in range(50)]
    ids = [i + check_char(i) for i in ids]
    members = _plain_table(["a1:" + i for i in ids[:30]], _Keys())
    keys = _Keys()
    others = ["a1:" + ids[40], "a1:" + ids[3], None, "a1:" + ids[45], "a1:" + ids[40], "360702********1234"]
    for given in (others, pa.array(others, pa.string())):
        keys.decrypted.clear()
        got = _with_members(members, given, keys)
        want = pa.concat_tables([members, _plain_table([t for t in others if t != "a1:" + ids[3]], _Keys())])
        assert got.equals(want)
        assert keys.decrypted == ["a1:" + ids[40], "a1:" + ids[45], "a1:" + ids[40]]
    assert _with_members(members, [], keys).equals(members)


def _world(con, members: list[str], records: list[tuple[str, str, str | None, str, str | None]]) -> None:
    """A protected-like working database: stg_requests and every source's staged table (IDs as `a1:` tokens, the
    normalized ID as its own key) and the `source_records` view; `records` (source, raw ID, id_norm, status, name)."""
    con.sql("create table stg_requests (run_date varchar, request_id varchar, id_norm varchar, id_number varchar, "
            "name_norm varchar, authorization_no varchar, region_code varchar)")
    con.executemany("insert into stg_requests values (?, ?, ?, ?, '王平', 'SQ', '3601')",
                    [(RUN, f"R{i}", m, "a1:" + m) for i, m in enumerate(members)])
    parts = []
    for s in sources():
        if s == REQUESTS:
            continue
        extra = {"vehicle": ", plate_no varchar", "public_security": ", birth_date date, region_code varchar"}
        con.sql(f"create table stg_{s} (run_date varchar, source varchar, record_id varchar, id_norm varchar, "
                f"id_status varchar, name_norm varchar, id_number varchar, file_name varchar, row_no integer, "
                f"delivery_date varchar, id_masked varchar{extra.get(s, '')})")
        rows = [(RUN, s, f"{s}:{i}", norm, status, name, None if raw is None else "a1:" + raw, "f", i, RUN,
                 None if norm is None else norm[:6] + "*" * 8 + norm[-4:])  # staging's mask of the normalized ID
                for i, (src, raw, norm, status, name) in enumerate(records) if src == s]
        cols = "run_date, source, record_id, id_norm, id_status, name_norm, id_number, file_name, row_no, " \
               "delivery_date, id_masked"
        if rows:
            con.executemany(f"insert into stg_{s} ({cols}) values ({', '.join('?' * 11)})", rows)
        parts.append(f"select run_date, source, record_id, id_norm, id_status, name_norm, id_number, file_name, "
                     f"row_no, delivery_date from stg_{s}")
    con.sql("create view source_records as " + " union all ".join(parts))
    con.sql("create table latest_decisions (decision_key varchar, decision varchar, reviewer varchar, "
            "decided_at timestamp, reason varchar)")


def _id(body: str) -> str:
    return body + check_char(body)


def test_CJ03_probabilistic_linkage_decrypts_the_ids_of_its_own_records_once(monkeypatch):
    """CJ03: the records probabilistic linkage seeks a link for (`_hd_prob_records`, sql/link/prob_records.sql) are
    scanned once and their IDs are the ones decrypted besides the members': a record without a usable ID, one under
    a member's ID in another family's name, one under a legacy 15-digit ID that is no member's, one under a member's
    ID two digits swapped — with their flags, as prob_left.sql's own branches gave them; not a record under a legacy
    ID that is a member's (the old token query decrypted it for nothing), nor a valid ID of nobody's."""
    import matching.linkage as linkage
    from hedui.steps.link import probabilistic_pairs

    member, other = _id("36010219800101001"), _id("36010219750505002")
    swapped = member[:5] + member[15] + member[6:15] + member[5] + member[16:]  # places 6 and 16: equal weights
    assert swapped[-1] == member[-1] and swapped != member and normalize_id(swapped)[1] == "valid"
    legacy_member = member[:6] + member[8:17]  # the member's ID in its 15-digit form
    records = [("bank", "3601021980010100", None, "malformed", "王平"),  # no usable ID
               ("bank", None, None, "missing", "王平"),
               ("tax", member, member, "valid", "李四"),  # another family's name under the member's ID
               ("tax", member, member, "valid", "王平"),  # the member's own: an exact link
               ("social_insurance", "360102750505002", other, "converted_15", "王平"),  # legacy, nobody's
               ("social_insurance", legacy_member, member, "converted_15", "王平"),  # legacy, the member's
               ("vehicle", swapped, swapped, "valid", "王平"),  # two digits of the member's swapped
               ("insurance", _id("36070219900101003"), _id("36070219900101003"), "valid", "赵六"),  # nobody's
               ("bank", "3601021980010100", None, "malformed", None)]  # no name: nothing to compare
    con = duckdb.connect()
    _world(con, [member], records)
    from hedui import db

    con.sql(db.sql_text("macros.sql"))
    seen = {}
    real = linkage.link_tables

    def capture(con_, left, right, spec, out):
        seen["left"] = sorted(con_.sql(f"select record_id, name_conflict, legacy_id, near_id from {left}").fetchall())
        return real(con_, left, right, spec, out)

    monkeypatch.setattr(linkage, "link_tables", capture)
    keys = _Keys()
    probabilistic_pairs(con, RUN, keys)
    assert seen["left"] == [("bank:0", False, False, False), ("bank:1", False, False, False),
                            ("social_insurance:4", False, True, False), ("tax:2", True, False, False),
                            ("vehicle:6", False, False, True)]
    id_tokens = [t for t in keys.decrypted if t is not None and t.startswith("a1:")]
    assert set(id_tokens) == {"a1:" + member, "a1:3601021980010100", "a1:360102750505002", "a1:" + swapped}
    assert id_tokens.count("a1:" + member) == 1  # the member's, and the record under it: one token, decrypted once
    assert not {t for (t,) in con.sql("select table_name from duckdb_tables() where temporary").fetchall()} & {
        "_hd_prob_records", "_hd_plain_ids", "lk_left"}


@pytest.mark.parametrize("n", [0, 1, 7])
def test_CJ04_plain_table_of_few_tokens(n):
    """CJ04: `_plain_table` of a handful of tokens (the urgent path's) or none: the columns and types it always had,
    each value's `normalize_id` answer."""
    values = HOSTILE[:n]
    table = _plain_table(["a1:" + v if v else v for v in values], _Keys())
    assert table.schema == pa.schema([(c, pa.string()) for c in ("token", "plain", "norm", "status", "mask")])
    norm, status, mask = _reference(values)
    assert table.column("norm").to_pylist() == norm and table.column("status").to_pylist() == status
    assert table.column("mask").to_pylist() == mask
