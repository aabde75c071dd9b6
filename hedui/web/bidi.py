"""Unicode's bidirectional controls on the workspace's pages and exports, shown rather than obeyed (the invisible
characters of the free text staff type are taken out by `hedui.privacy.typed`, for the web and the CLI alike)."""

from __future__ import annotations

import re

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
