"""Unicode's bidirectional controls on the workspace's pages and exports, shown rather than obeyed; and the
invisible characters of the free text staff type (a decision's reason, an objection), taken out before it is
checked, masked and kept."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup

from hedui.steps.report.display import BIDI_CONTROLS

_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def show_bidi(value):
    """A text with its bidirectional controls shown as their code points ("[U+202E]"), as the reports show
    them: a delivered name holding U+202E would turn around what follows it on a page (the masked ID beside
    the name in the review queue read backwards). Autoescaping leaves these characters alone."""
    if isinstance(value, str) and not isinstance(value, Markup) and _BIDI.search(value):
        return _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", value)
    return value


# blank-looking letters (Hangul fillers) and variation selectors, beside the format (Cf) and control (Cc) characters
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", *map(chr, range(0xFE00, 0xFE10))}
_FULL_WIDTH_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})


def typed_text(text: str | None) -> str:
    """Free text typed by staff, before it is checked, masked and kept: zero-width, bidi and other invisible
    characters (Unicode Cf, controls but line breaks and tabs) taken out, full-width digits written as ASCII ones
    (an ID number's check letter after them too).

    A reason of only U+200B passed "请填写理由" and a decision was kept with a blank reason; an ID number typed or
    pasted with a zero-width space inside (`36010219900101\\u200b123X`) passed the masking as two numbers and was
    shown to every colleague and in the report with its birth date; full-width digits were masked as a 15-digit
    ID, the birth date left readable."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(c for c in text if c in "\n\t" or not (unicodedata.category(c) in ("Cf", "Cc") or c in _FILLERS))
    kept = kept.translate(_FULL_WIDTH_DIGITS)
    return re.sub(r"(?<=[0-9])[Ｘｘ]", "X", kept)
