"""The manifest a connector writes beside its raw Parquet: what was delivered and read."""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from connectors.limits import REASONS_SHOWN, cap

DELIVERED = "delivered"
MISSING = "missing"
INCOMPLETE = "incomplete"
IGNORED_SHOWN = 10  # names of ignored entries shown in a delivery's message

#: a row count as people write it (after NFKC: ``：`` is ``:``, ``２`` is ``2``): ``12``, ``1,002``, ``行数=12``,
#: ``行数：12``, ``共12行``, ``12 条``, ``rows: 12``, ``12.00`` (a tool's decimal); anything else (``12/13``,
#: ``2026-11-28 12``, ``12 13``) states no count
_COUNT = re.compile(
    r"(?:(?:(?:数据|总|记录)?(?:行数|条数|记录数)|共|rows?|(?:row )?count)\s*(?:[:=]|为|是)?\s*)?"
    r"([0-9]{1,12}|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.0*)?\s*(?:行|条|条记录|笔|rows?)?",
    re.IGNORECASE,
)


def marker_text(raw: bytes) -> str:
    """A marker's text: UTF-8 (BOM or not), UTF-16 with a BOM (Notepad's “Unicode”), or GB18030;
    full-width digits folded, blanks around it and thousands separators (``1,234``) removed."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", "replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", "replace")
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "").strip()
    return text.replace(",", "") if re.fullmatch(r"[0-9]{1,3}(?:,[0-9]{3})+", text) else text  # 1,234


def parse_count(text: object) -> int | None:
    """The data-row count ``text`` states (a ``.ok`` marker's text, a ``<table>_ok`` 行数 cell as text), or None
    when it states none plainly: the count must then not be taken for any number."""
    m = _COUNT.fullmatch(unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip())
    return int(m.group(1).replace(",", "")) if m else None


@dataclass
class FileManifest:
    """One delivered file (or SQL table) and how it was read.

    ``rows_read`` counts the data rows written to the raw Parquet (rows with a
    ``read_error`` included; header, title, blank, 合计 and footer rows and repeated headers excluded) —
    the number the ``.ok`` marker must equal.  ``complete`` is False when the
    marker is missing or disagrees, the format is not readable or a column
    the source cannot do without (the ID column, a ``required`` column) is
    missing; ``problems`` says why, in Chinese, naming the file.
    """

    file_name: str
    format: str
    sha256: str | None = None
    size_bytes: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    marker_count: int | None = None
    rows_read: int = 0
    read_errors: int = 0
    summary_rows: int = 0
    footer_rows: int = 0  # 制表人/审核人/备注 rows under the data: not data, not counted
    header_rows: int = 0  # lines repeating the header below it, and their titles (two exports in one file): not data
    missing_headers: list[str] = field(default_factory=list)
    extra_headers: list[str] = field(default_factory=list)
    scales: dict[str, float] = field(default_factory=dict)
    complete: bool = True
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        """Mark the file incomplete for ``problem`` (cut to a short reason)."""
        self.complete = False
        self.problems.append(cap(problem))


def _joined(reasons: list[str]) -> str:
    """At most REASONS_SHOWN short reasons, then how many more there are."""
    shown = [cap(r) for r in reasons[:REASONS_SHOWN]]
    more = len(reasons) - len(shown)
    return "；".join(shown) + (f"；另有{more}项问题，详见交付清单" if more > 0 else "")


def ignored_note(names: list[str]) -> str:
    """``未读取的非数据文件：readme.txt、Thumbs.db`` (at most IGNORED_SHOWN names), or ``""`` for none."""
    if not names:
        return ""
    more = len(names) - IGNORED_SHOWN
    return "未读取的非数据文件：" + "、".join(names[:IGNORED_SHOWN]) + (f"等{len(names)}个" if more > 0 else "")


@dataclass
class DeliveryManifest:
    """One source's delivery for one date: ``status`` is delivered, missing or incomplete.

    ``ignored`` names the folder's entries that were not read and do not count against the
    delivery: OS litter and documents without a marker (:mod:`connectors.litter`).
    """

    source: str
    delivery_date: str
    location: str
    status: str = DELIVERED
    files: list[FileManifest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    message_zh: str = ""
    rows_total: int = 0
    raw_parquet: str = ""
    ignored: list[str] = field(default_factory=list)

    def finish(self, title_zh: str) -> DeliveryManifest:
        """Set ``status``, ``rows_total`` and ``message_zh`` from the files and problems."""
        self.rows_total = sum(f.rows_read for f in self.files)
        if not self.files and self.status == MISSING:
            self.message_zh = f"{title_zh}未交付：" + _joined(self.problems) + self._ignored_zh()
            return self
        bad = [f for f in self.files if not f.complete]
        if bad or self.problems:
            self.status = INCOMPLETE
            reasons = self.problems + [p for f in bad for p in f.problems]
            self.message_zh = f"{title_zh}交付不完整，本次按未交付处理：" + _joined(reasons)
        else:
            self.status = DELIVERED
            self.message_zh = f"{title_zh}已交付{len(self.files)}个文件，共{self.rows_total}行"
        self.message_zh += self._ignored_zh()
        return self

    def _ignored_zh(self) -> str:
        note = ignored_note(self.ignored)
        return "；" + note if note else ""

    def incomplete_files(self) -> dict[str, str]:
        """``{file_name: reason}`` of the files whose rows must not be used this run.

        One incomplete file (or a problem of the folder, such as a marker without its data file) makes the whole
        source not delivered (sources.md), so the rows of its complete files are not used either: they would be
        partial figures the missing rows could change (an account's later answer, a copy counted once)."""
        bad = {f.file_name: cap("；".join(f.problems)) or "文件不完整" for f in self.files if not f.complete}
        if not bad and not self.problems:
            return {}
        why = _joined(self.problems + [p for f in self.files if not f.complete for p in f.problems])
        sibling = cap("本文件完整，但同一交付中另有文件不完整，本来源本次按未交付处理，本文件的行未作为核对依据；"
                      f"请部门补齐后重跑。不完整之处：{why}")
        return {f.file_name: bad.get(f.file_name, sibling) for f in self.files}

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def from_dict(cls, data: dict) -> DeliveryManifest:
        data = dict(data)
        files = [FileManifest(**f) for f in data.pop("files", [])]
        return cls(files=files, **data)

    @classmethod
    def load(cls, path: Path) -> DeliveryManifest:
        """Read a manifest written by :meth:`write` (or the ``manifest`` key of a pipeline JSON)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if "manifest" in data and "source" not in data:
            data = data["manifest"]
        return cls.from_dict(data)
