"""Progress: a redrawn bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import io

from hedui.ops.progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_terminal_lines_otherwise(monkeypatch):
    monkeypatch.delenv("HEDUI_PROGRESS", raising=False)
    tty, plain = _Tty(), io.StringIO()
    for stream in (tty, plain):
        with Progress("核对批次 20261128", stream) as p:
            p.expect(4)
            p.advance("导入 tax")
            p.advance("导入 bank")
    assert tty.getvalue().count("\r") == 2 and "[############············] 2/4 导入 bank" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    assert plain.getvalue().splitlines()[1].startswith("核对批次 20261128：2/4 导入 bank 完成")
    assert "\r" not in plain.getvalue() and "#" not in plain.getvalue()


def test_silenced(monkeypatch):
    monkeypatch.setenv("HEDUI_PROGRESS", "0")
    out = _Tty()
    with Progress("x", out) as p:
        p.expect(1)
        p.advance("y")
    assert out.getvalue() == ""
