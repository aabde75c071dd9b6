"""Free text staff type for colleagues to read (a review decision's reason, an objection, a supervisor's note):
its invisible characters taken out, its ID and account numbers masked, then held to what every form takes — one
set of rules for the workspace's forms and for `hedui review --reason`."""

from __future__ import annotations

import re
import unicodedata

# blank-looking letters (Hangul fillers) and variation selectors, beside the format (Cf) and control (Cc) characters
_FILLERS = {"\u115f", "\u1160", "\u3164", "\uffa0", *map(chr, range(0xFE00, 0xFE10))}
_FULL_WIDTH_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})

#: the most a reason, an objection or a note may hold (attachments are filed separately)
TEXT_LIMIT = 2000


class StaffTextError(ValueError):
    """A typed text that cannot be kept: blank once its invisible characters are out, or too long (Chinese)."""


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


def staff_text(text: str | None, what: str, limit: int = TEXT_LIMIT, hint: str = "每项决定都要说明依据") -> str:
    """The text to keep and show: `typed_text`, ID and account numbers masked (`mask_free_text`), stripped.

    Raises StaffTextError naming `what` (理由, 异议内容, 决定的理由) when nothing is left — blanks, zero-width
    spaces (U+200B, U+2060, U+FEFF), soft hyphens and Hangul fillers are no reason — or when it is over `limit`
    characters (`hint`: what to write, in the refusal of a blank one). `hedui review --reason` once took a reason of only U+200B (a decision "with its basis", blank
    in the household's history and report) and an ID number hidden by one (kept with its birth date readable)."""
    from hedui.audit.log import mask_free_text

    kept = mask_free_text(typed_text(text)).strip()
    if not kept:
        hidden = "（只有空格或不可见字符，如零宽空格，不算填写）" if (text or "").strip() else ""
        raise StaffTextError(f"请填写{what}{hidden}：{hint}")
    if len(kept) > limit:
        raise StaffTextError(f"{what}过长（{len(kept)} 字）：请控制在 {limit} 字以内，附件另行归档")
    return kept
