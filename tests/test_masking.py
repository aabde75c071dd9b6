from hedui.privacy.masking import mask_account, mask_id, mask_text


def test_an_id_number_shows_only_its_first_six_and_last_four():
    assert mask_id("360102199001011234") == "360102********1234"


def test_an_account_number_shows_only_its_last_four():
    assert mask_account("6222 0212 3456 7890") == "****7890"


def test_ids_inside_free_text_are_masked():
    assert mask_text("bad id 36010219900101123X in row 3") == "bad id 360102********123X in row 3"
    assert "199001011234" not in mask_text("x 360102199001011234 y")


def test_a_logged_traceback_is_masked_too():
    """The masking filter masked only the message: a traceback quoting a delivered ID reached the log whole."""
    import logging
    import sys

    from hedui.logs import MaskedFormatter

    try:
        raise ValueError("bad row: 360102199001011234")
    except ValueError:
        record = logging.LogRecord("hedui", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    line = MaskedFormatter("%(message)s").format(record)
    assert "ValueError" in line and "360102199001011234" not in line and "360102********1234" in line


def test_numbers_written_in_groups_are_masked_and_dates_are_not():
    """An ID or a card number typed with spaces or hyphens (staff reasons, quoted delivered values) was shown whole."""
    from hedui.audit.log import mask_free_text

    assert mask_text("成员 360102 19900101 1234 号") == "成员 360102********1234 号"
    assert mask_text("3601-0219-9001-0112-3X") == "360102********123X"
    assert mask_free_text("卡号 6222 0202 0011 2233 445，请核实") == "卡号 ****3445，请核实"
    assert mask_free_text("卡号 6222-0202-0011-2233") == "卡号 ****2233"
    kept = "2026-11-28 至 2026-11-29 金额 1,234.50 元 电话 138 0013 8000 单元号 360102 001001 GB00001 F00010001"
    assert mask_free_text(kept) == kept
