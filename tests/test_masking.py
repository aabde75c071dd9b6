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


def test_an_id_number_glued_to_letters_is_masked_and_digests_keep_their_digits():
    """`ID36010219900101123X`, `身份证号36010219900101123Xabc` (a log line, an error quoting a delivered cell)
    reached logs and messages whole: the ID-shaped number had to stand between non-alphanumerics."""
    from hedui.audit.log import mask_free_text

    assert mask_text("ID36010219900101123X") == "ID360102********123X"
    assert mask_free_text("row: id36010219900101123Xabc") == "row: id360102********123Xabc"
    assert mask_text("old ab360102900101123cd") == "old ab360102*****1123cd"  # the legacy 15-digit form
    # digits between letters that are no ID number (no province code, no real date, a wrong check character)
    # are a digest or a code, not personal data: kept
    for kept in ("sha 9ab00010219900101123Xf0", "h36010219901301123Xab", "WT202611280000001x", "U36010219900101123Y"):
        assert mask_text(kept) == kept


def test_a_long_number_in_a_date_or_amount_value_is_masked_in_every_form():
    """An ID or account typed into a date or amount column was quoted whole in the quarantine reason."""
    from hedui.privacy.masking import mask_long_numbers

    assert mask_long_numbers('"死亡日期"值"360404194507137186"无法识别为日期') == \
        '"死亡日期"值"360404********7186"无法识别为日期'
    assert mask_long_numbers("３６０１０２１９９００１０１１２３４") == "360102********1234"
    assert mask_long_numbers("'360102 19900101 123x") == "'360102********123X"
    assert mask_long_numbers("P2520710992650677") == "****0677"  # a policy number
    assert mask_long_numbers("0051277977") == "****7977"  # a securities account
    for kept in ("2026-11-28", "2026年5月24日", "1,234,567.00", "8O0.00", "202611", "第2行 12345"):
        assert mask_long_numbers(kept) == kept


def test_an_id_read_as_a_float_is_masked_not_shown_as_fifteen_digits_of_scientific_notation():
    """GX saw an ID typed into an amount column as 3.6042920030104723e+17: its first 15 digits were shown."""
    from hedui.steps.validate.reasons import docs_value, format_value, mask_value

    value = float("360429200301047244")
    assert format_value(value) == "360429200301047232"
    assert mask_value(value, "amount") == "360429********7232"
    assert docs_value(value, "amount") == "360429********7232"
    assert docs_value(1234.5, "amount") == 1234.5  # an ordinary amount stays a number in Data Docs
    assert mask_value("2026-13-01", "date") == "2026-13-01"


def test_a_header_row_that_is_a_data_row_and_a_file_named_after_an_id_are_masked():
    from connectors.filedrop import _shown_path
    from connectors.limits import cap, shown_name

    assert shown_name("0051277977") == "****7977"
    assert shown_name("6217006416780597997") == "****7997"
    assert cap("bank_360202193507287071.csv缺少完成标记") == "bank_360202********7071.csv缺少完成标记"
    taken: set[str] = set()
    first = _shown_path("bank/20261128/bank_360202193507287071.csv", taken)
    second = _shown_path("bank/20261128/bank_360202193507187071.csv", taken)  # masks alike: kept apart
    assert first == "bank/20261128/bank_360202********7071.csv" and second == first + "#2"
    assert _shown_path("bank/20261128/bank_CCB_20261128.csv", taken) == "bank/20261128/bank_CCB_20261128.csv"


def test_an_id_number_grouped_by_points_or_split_by_an_invisible_character_is_masked():
    """An ID typed with points (`360102.19900101.123X`) or pasted with a zero-width space inside (`…0101\\u200b123X`)
    was left whole by the masking of free text (a reason, a quoted cell): two numbers, neither an ID. Addresses and
    decimals grouped by points stay as they are."""
    from hedui.audit.log import mask_free_text

    assert mask_text("证件 360102.19900101.123X") == "证件 360102********123X"
    assert mask_text("身份证36010219900101\u200b123X号") == "身份证360102********123X号"
    assert mask_text("3601021990\u20600101\u00ad123X") == "360102********123X"
    assert mask_free_text("卡号 6222\u200b0202\u200b0011\u200b2233 已冻结") == "卡号 ****2233 已冻结"
    kept = "服务器 192.168.100.200 金额 1.234.567 元，2026.11.28 提交"
    assert mask_free_text(kept) == kept
