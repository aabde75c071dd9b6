"""GB 11643 normalization checked against an independent implementation (python-stdnum's cn.ric).

stdnum also checks that the region code existed at the birth date, so the IDs here use codes
and years it knows."""

from __future__ import annotations

import random

import pytest
from stdnum.cn import ric

from matching.idnum import VALID, check_char, legacy15_to_18, normalize_id


def _ids(n: int, seed: int = 7, years: tuple[int, int] = (1990, 2015)) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = f"{rng.choice(['360102', '110105', '360103', '110101'])}{rng.randint(*years)}" \
               f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        out.append(body + check_char(body))
    return out


@pytest.mark.parametrize("id18", _ids(300))
def test_a_valid_id_is_valid_for_both(id18):
    assert normalize_id(id18) == (id18, VALID)
    assert ric.is_valid(id18)


@pytest.mark.parametrize("id18", _ids(100, seed=8))
def test_a_wrong_check_character_is_refused_by_both(id18):
    wrong = id18[:17] + ("0" if id18[17] != "0" else "1")
    assert normalize_id(wrong)[1] != VALID
    assert not ric.is_valid(wrong)


@pytest.mark.parametrize("id18", _ids(100, seed=9, years=(1990, 1999)))
def test_the_legacy_15_digit_form_converts_as_stdnum_computes_it(id18):
    id15 = id18[:6] + id18[8:17]
    assert legacy15_to_18(id15) == id18
    assert ric.calc_check_digit(id18) == id18[17]
