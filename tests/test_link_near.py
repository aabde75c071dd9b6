"""The near IDs (two characters swapped) found from the records' side: the same pairs as from the members' side."""

import random

import pyarrow as pa

from hedui.steps.link_near import swapped_onto
from matching.idnum import check_char, transpositions


def _valid_ids(rnd: random.Random, n: int, regions: tuple[str, ...] = ("360102", "110101", "360702")) -> list[str]:
    ids = []
    for _ in range(n):
        body = (f"{rnd.choice(regions)}{rnd.randint(1930, 2020)}"
                f"{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{rnd.randint(0, 999):03d}")
        ids.append(body + check_char(body))
    return ids


def test_LQ12_near_ids_from_the_records_side_are_the_members_transpositions_present_there():
    """LQ12: the link step no longer pseudonymizes every member's near IDs (≈ 4 HMACs per member); it takes the
    transpositions of the delivered IDs that matched no member and looks them up among the members' IDs. The pairs
    are exactly {(member, other): other ∈ transpositions(member)} for the others delivered — transpositions are
    symmetric — whatever else the others hold (members' own IDs, invalid IDs, None)."""
    rnd = random.Random(12)
    members = _valid_ids(rnd, 2000)
    near = [v for m in members[:300] for v in transpositions(m)]
    others = rnd.sample(near, 400) + _valid_ids(rnd, 2000) + members[:50] + ["36010219900101123Y", "", None]
    got_member, got_other = swapped_onto(pa.array(members), pa.array(others))
    want = {(m, v) for m in members for v in transpositions(m) if v in set(others)}
    assert set(zip(got_member.to_pylist(), got_other.to_pylist(), strict=True)) == want
    assert len(want) >= 400
    empty = swapped_onto(pa.array(members), pa.array([], pa.string()))
    assert empty[0].to_pylist() == [] and empty[1].to_pylist() == []
