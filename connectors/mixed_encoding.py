"""Lines of a GB18030 file that are UTF-8: another export pasted into the file.

GB18030 decodes almost any byte string, so a UTF-8 line in a GB18030 file is no decoding error: it
comes out as mojibake (``李四`` read as ``鏉庡洓``) and would be staged as a name or an employer no one
delivered.  sources.md: undecodable bytes never drop or alter a row silently; the row goes to
quarantine with the reason — as a GB18030 line in a UTF-8 file does (``connectors.textfile``).

A line is taken for UTF-8 when it decodes as UTF-8 and its UTF-8 reading holds a Chinese character.
GB18030 text practically never passes: two bytes at or above 0xC0 in a row (most Chinese characters
in GB2312) never occur in UTF-8.  Cost: only lines holding a byte 0x80-0xA0 are looked at — GB2312
text never holds one (its bytes are 0xA1-0xFE), UTF-8 Chinese nearly always does (half its
continuation bytes): a chunk of plain GB2312 text costs one byte scan.
"""

from __future__ import annotations

import re

#: 1 for a byte GB2312 text never holds and a line of UTF-8 Chinese nearly always does (bytes.translate
#: and find: ten times faster than a regular expression's scan)
_NOT_GB2312 = bytes(1 if 0x80 <= b <= 0xA0 else 0 for b in range(256))
_CHINESE = re.compile("[\u3400-\u9fff]")


def _uncommon(text: str) -> int:
    """Non-ASCII characters of ``text`` outside GB2312 (the 6,763 common characters and their punctuation)."""
    n = 0
    for ch in text:
        if not ch.isascii():
            try:
                ch.encode("gb2312")
            except UnicodeEncodeError:
                n += 1
    return n


def _reads_as_utf8(text: str, line: bytes) -> bool:
    """True when ``text`` (``line`` read as UTF-8) is Chinese text and ``line`` read as GB18030 is mojibake: two
    Chinese characters or more, at most a third as many uncommon characters as the GB18030 reading holds (a
    line of rare GBK characters can be valid UTF-8 by chance; its UTF-8 reading is then as rare)."""
    if len(_CHINESE.findall(text)) < 2:
        return False
    mojibake = _uncommon(line.decode("gb18030", "replace"))
    return mojibake > 0 and 3 * _uncommon(text) <= mojibake


def utf8_lines(data: bytes, first_line: int) -> dict[int, str]:
    """``{line number: reason}`` of the lines of ``data`` (a GB18030 chunk whose first line is
    ``first_line``) written in UTF-8."""
    found: dict[int, str] = {}
    marks = data.translate(_NOT_GB2312)
    pos = counted = 0
    line_no = first_line
    while (at := marks.find(1, pos)) >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        line_no += data.count(b"\n", counted, start)
        counted = start
        try:
            text = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        if _reads_as_utf8(text, data[start:end]):
            found[line_no] = (
                f"第{line_no}行是UTF-8编码，与文件其余各行的GB18030编码不同，按GB18030读出的是乱码，"
                "该行隔离待查，原始内容以交付文件原件为准；请部门统一编码后重新交付"
            )
        pos = end + 1
    return found
