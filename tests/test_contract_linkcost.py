"""Session 27's link-cost round (BENCHMARKS.md, Session 27): what a cheaper computation must leave unchanged."""

from __future__ import annotations

from matching.linkage import names


def test_BF01_syllable_set_is_every_toneless_reading_of_every_character():
    """BF01 (pin): the pinyin syllable set is now made from the dictionary's distinct toned readings (≈ 1,500), each
    made toneless once, where every character's readings (≈ 42,000 characters) were: the same set, which splits
    a run of Latin letters into syllables (`zhangsanfeng` → zhang san feng) for linkage's name keys, so its F1."""
    from pypinyin.contrib.tone_convert import to_normal

    want = set()
    for readings in names._pinyin_dict().values():  # the definition as it was, character by character
        for r in readings.split(","):
            s = to_normal(r, v_to_u=False)
            if s.isascii() and s.isalpha() and any(v in s for v in "aeiouv"):
                want.add(s)
    got = names._syllable_set()
    assert got == frozenset(want)
    assert {"zhang", "lv", "chuang", "a"} <= got and not {"m", "n", "ng", "hm"} & got
    assert names._syllables("zhangsanfeng") == ("zhang", "san", "feng")


def test_BF02_link_run_turns_the_cycle_collector_back_on_even_when_it_fails():
    """BF02: the link step runs with Python's cycle collector off (its objects are freed by reference counting;
    each full collection walked every live object for nothing) and must leave the process as it found it: on,
    also after an error; off when the caller had it off."""
    import gc

    import pytest

    from hedui.steps import link

    assert gc.isenabled()
    with link.cycles_uncollected():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(AttributeError):  # no connection: the step's first query fails
        link.link_run(None, "20261128", None)
    assert gc.isenabled()
    gc.disable()
    try:
        with link.cycles_uncollected():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
