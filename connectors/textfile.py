"""CSV/TSV files: encoding detection, streaming transcoding to UTF-8, field splitting.

The file is read in large chunks cut at a line end.  Fast path: the whole chunk
decodes strictly, is handed to polars as UTF-8 and split there (a line view for exact
line numbers and field counts, a CSV parse for the values).  Slow paths, per chunk and
only when needed: a chunk that fails to decode is decoded line by line so that only the
bad line(s) get a ``read_error`` (their text decoded with U+FFFD replacements so the row
keeps its place and most of its content; a UTF-8 line of a GB18030 file gets one too:
:mod:`connectors.mixed_encoding`); a chunk with quoting polars and the field count check
cannot agree on (a quote inside a field, a quoted value spanning lines) is split with
Python's ``csv`` module.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

import polars as pl

from connectors.csv_head import UTF8, UTF8_BOM, preview_records, preview_rows
from connectors.limits import (
    MAX_COLUMNS,
    blank_long_lines,
    first_long_line,
    open_regular,
    read_past_line,
    too_long_message,
)
from connectors.mixed_encoding import utf8_lines
from connectors.raw import positional_names
from connectors.uniform_chunk import quoted_values, uniform_values

log = logging.getLogger(__name__)

GB18030 = "gb18030"
CHUNK_BYTES = 8 << 20  # below glibc's mmap threshold: the chunks' buffers are reused, not faulted in afresh
SNIFF_BYTES = 1 << 20
SEPARATORS = (",", "\t")
_LINE_SCHEMA = {"l": pl.String}


def detect_encoding(head: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030``, by the non-ASCII lines of the head (behind a BOM too).

    A Chinese line in GB18030 practically never decodes as UTF-8, so a line that
    does is strong evidence: the head is UTF-8 unless more of its non-ASCII lines
    fail to decode than decode.  A few bad lines do not turn a UTF-8 file into
    GB18030 (they become ``read_error`` rows instead), however small the file;
    :func:`sniff` settles a tie by which encoding gives the better header.
    """
    if head.startswith(codecs.BOM_UTF8):
        # a claim, not proof: a BOM before GB18030 text must not make every header and value mojibake
        return UTF8_BOM if detect_encoding(head[len(codecs.BOM_UTF8):]) == UTF8 else GB18030
    lines = head.split(b"\n")
    if len(head) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # possibly cut inside a character
    try:
        b"\n".join(lines).decode(UTF8)
        return UTF8  # every line decodes (or none holds a non-ASCII byte)
    except UnicodeDecodeError:
        pass
    # the verdict is settled once either side holds half the non-ASCII lines: a GB18030 head (each of its
    # lines an exception) stops halfway
    wide = [line for line in lines if not line.isascii()]
    ok = failed = 0
    for line in wide:
        try:
            line.decode(UTF8)
            ok += 1
        except UnicodeDecodeError:
            failed += 1
        if 2 * ok > len(wide) or 2 * failed >= len(wide):
            break
    return UTF8 if ok > failed else GB18030


def cr_only(path: Path) -> bool:
    """True when the file's lines end with a lone CR (old Mac Excel's “CSV (Macintosh)”): no LF at all."""
    with open_regular(path) as fh:
        head = fh.read(1 << 16)
    return b"\n" not in head and head.rstrip(b"\r").count(b"\r") >= 1


def codec_label(encoding: str) -> str:
    return {UTF8: "UTF-8", UTF8_BOM: "UTF-8", GB18030: "GB18030"}.get(encoding, encoding)


@dataclass
class Chunk:
    """Lines ``first_line … first_line + n_lines - 1`` as UTF-8 bytes, with bad lines noted.

    ``validated`` is False for UTF-8 input handed on as is: polars validates it
    while splitting (faster than decoding in Python) and a failure sends the
    chunk through :func:`_decode_slow`.
    """

    data: bytes
    first_line: int
    n_lines: int
    bad: dict[int, str] = field(default_factory=dict)
    encoding: str = UTF8
    validated: bool = True


def _decode_slow(data: bytes, encoding: str, first_line: int) -> tuple[bytes, dict[int, str]]:
    """Decode ``data`` strictly where possible; a line with bad bytes is decoded with U+FFFD."""
    codec = UTF8 if encoding == UTF8_BOM else encoding
    view = memoryview(data)
    parts: list[str] = []
    bad: dict[int, str] = {}
    pos = 0
    line_no = first_line
    while pos < len(data):
        try:
            parts.append(str(view[pos:], codec))
            break
        except UnicodeDecodeError as exc:
            at = pos + exc.start
            start = max(data.rfind(b"\n", pos, at) + 1 if at > pos else pos, pos)
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end
            good = str(view[pos:start], codec)
            parts.append(good)
            line_no += good.count("\n")
            bad_bytes = data[at:at + max(1, exc.end - exc.start)]
            parts.append(str(view[start:end], codec, "replace"))
            bad[line_no] = (
                f"第{line_no}行含无法按{codec_label(encoding)}解码的字节（0x{bad_bytes.hex().upper()}），"
                "已按替换字符读入，该行隔离待查，原始内容以交付文件原件为准"
            )
            if end < len(data):
                parts.append("\n")
                line_no += 1
            pos = end + 1
    log.info("slow decode: %d bad line(s) in a chunk starting at line %d", len(bad), first_line)
    return "".join(parts).encode(UTF8), bad


def iter_chunks(fh: BinaryIO, encoding: str, hasher: hashlib._Hash, chunk_bytes: int | None = None,
                max_line_bytes: int | None = None) -> Iterator[Chunk]:
    """Read ``fh`` to the end in chunks cut after a newline, hashing every byte read.

    A line longer than ``max_line_bytes`` is never held whole: it is read past
    (and hashed) and handed on as an empty line with a read error, so memory
    stays near ``chunk_bytes`` whatever the file holds.
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    codec = UTF8 if encoding == UTF8_BOM else encoding
    carry = b""
    line = 1
    first = True
    skipping = False  # inside a line already known to be too long
    while True:
        if skipping:
            rest = read_past_line(fh, hasher)
            skipping = False
            yield Chunk(b"\n", line, 1, {line: too_long_message(line, max_line_bytes)}, encoding)
            line += 1
            if rest is None:
                return
            block = rest
            if not block:
                continue
        else:
            block = fh.read(chunk_bytes)
            hasher.update(block)
        data = carry + block if carry else block
        if block:
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data
                if max_line_bytes and len(carry) > max_line_bytes:
                    carry, skipping = b"", True
                continue
            data, carry = data[:cut + 1], data[cut + 1:]
            if max_line_bytes and len(carry) > max_line_bytes:
                carry, skipping = b"", True
        else:
            carry = b""
        if first:
            first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
        if data:
            n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            data, long_lines = blank_long_lines(data, line, max_line_bytes)  # and NUL bytes
            if codec == UTF8:
                yield Chunk(data, line, n_lines, long_lines, encoding, validated=False)
            else:
                try:
                    chunk = Chunk(data.decode(codec).encode(UTF8), line, n_lines, {}, encoding)
                except UnicodeDecodeError:
                    utf8, bad = _decode_slow(data, encoding, line)
                    chunk = Chunk(utf8, line, n_lines, bad, encoding)
                chunk.bad = {**chunk.bad, **utf8_lines(data, line), **long_lines}  # a UTF-8 line: mojibake
                yield chunk
            line += n_lines
        if not block:
            return


def prefetch(items: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    """Run ``items`` (reading, hashing, decoding) in a thread, ``depth`` chunks ahead.

    Decoding holds the GIL while polars, splitting the previous chunk, does
    not: on two cores the two overlap.  An error in the thread is re-raised here.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def run() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=run, name="hedui-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()


def _field_counts(lines: pl.Series, sep: str) -> tuple[pl.DataFrame, bool]:
    """Per line: number of fields and whether it ends with an empty field; False if quoting is odd.

    Most lines are *simple*: each field either quoted with neither a quote nor the separator
    inside, or unquoted with neither: every separator then separates fields and one DFA match
    per line settles it.  Only the other lines (a separator or an escaped quote inside a quoted
    field, a stray quote) have their quoted fields removed by the slower capturing regex.
    """
    q = '"'
    esc = "\\t" if sep == "\t" else sep
    field = f'(?:"[^"{esc}]*"|[^"{esc}]*)'
    frame = pl.DataFrame({"l": lines.fill_null("")})
    counts = frame.select(
        nf=pl.col("l").str.count_matches(sep, literal=True) + 1,
        trailing=pl.col("l").str.ends_with(sep) | pl.col("l").str.ends_with(sep + q + q),
    )
    quoted = frame["l"].str.contains(q, literal=True)
    if not quoted.any():  # most GB18030 exports: every line is simple, no regex needed
        return counts, True
    # a line without a quote is simple: the regex looks only at the others
    candidates = frame.with_row_index("_i")
    if not quoted.all():
        candidates = candidates.filter(quoted)
    others = candidates.filter(~pl.col("l").str.contains(f"^{field}(?:{esc}{field})*$")).select(
        "_i",
        reduced=pl.col("l").str.replace_all(f'(^|{esc})"(?:[^"]|"")*"', "${1}"),
    )
    if others.height == 0:
        return counts, True
    if others["reduced"].str.contains(q, literal=True).any():
        return frame, False
    fixed = others.select(
        "_i",
        nf=pl.col("reduced").str.count_matches(sep, literal=True) + 1,
        trailing=pl.col("reduced").str.ends_with(sep),
    )
    counts = counts.with_columns(
        nf=counts["nf"].scatter(fixed["_i"], fixed["nf"]),
        trailing=counts["trailing"].scatter(fixed["_i"], fixed["trailing"]),
    )
    return counts, True


def _parse_fast(chunk: Chunk, ncols: int, sep: str) -> pl.DataFrame | None:
    names = positional_names(ncols)
    values = (quoted_values if b'"' in chunk.data else uniform_values)(chunk.data, chunk.n_lines, names, sep)
    if values is not None:  # every line ncols fields (no quote: it ends with sep where its last one is empty)
        nf, trailing = pl.lit(ncols, dtype=pl.Int32), pl.col(names[-1]).is_null()
    else:
        lines = pl.read_csv(chunk.data, has_header=False, separator="\x00", quote_char=None,
                            schema=_LINE_SCHEMA, truncate_ragged_lines=True)["l"]
        if lines.len() != chunk.n_lines:
            return None
        counts, ok = _field_counts(lines, sep)
        if not ok:
            return None
        lead_needed = counts.height == 0 or counts["nf"][0] != ncols
        values = _parse_values(chunk.data, names, sep, lead_needed=lead_needed)
        if values.height != chunk.n_lines:
            return None
        nf, trailing = counts["nf"].cast(pl.Int32), counts["trailing"]
    rows = pl.int_range(chunk.first_line, chunk.first_line + chunk.n_lines, dtype=pl.Int32)
    return values.with_columns(_row_no=rows, _nf=nf, _trailing=trailing)


def _parse_values(data: bytes, names: list[str], sep: str, lead_needed: bool = True) -> pl.DataFrame:
    """``data``'s fields as ``names``.  polars takes the width from the first line: a line of exactly that many
    (empty) fields leads ``data``, unless its first line has them (``lead_needed`` False: no copy of ``data``);
    where polars counts that line otherwise (any error) the lead is put before it after all: the same rows."""
    read = partial(pl.read_csv, has_header=False, separator=sep, quote_char='"',
                   schema=dict.fromkeys(names, pl.String), truncate_ragged_lines=True)
    if not lead_needed and len(names) > 1:
        with contextlib.suppress(pl.exceptions.PolarsError):  # polars counted the first line otherwise
            return read(data)
    lead = (sep * (len(names) - 1) + "\n").encode(UTF8) if len(names) > 1 else b"x\n"
    return read(lead + data).slice(1)


MAX_RECORD_LINES = 20  # a quoted value may span lines, but not more than this


def _split_line(line: str, sep: str) -> tuple[list[str], bool]:
    """One physical line as fields; False when its quoting is broken (then split plainly)."""
    try:
        return next(csv.reader([line], delimiter=sep, strict=True), []), True
    except csv.Error:
        return line.split(sep), False


def _parse_slow(chunk: Chunk, ncols: int, sep: str) -> pl.DataFrame:
    """Python's csv module over the chunk; row_no is the record's first line.

    A quoted value may span lines (up to :data:`MAX_RECORD_LINES`, with the
    right number of fields); otherwise — a stray quote that would swallow the
    following lines — every physical line of the span is split on its own and
    the broken one gets a read error, so no line is lost.
    """
    text = chunk.data.decode(UTF8)
    lines = text.split("\n")
    cols: list[list[str | None]] = [[] for _ in range(ncols)]
    row_nos: list[int] = []
    nfs: list[int] = []
    trailing: list[bool] = []
    errs: dict[int, str] = {}

    def add(idx: int, rec: list[str]) -> None:
        row_nos.append(chunk.first_line + idx)
        nfs.append(len(rec) if rec else 1)
        trailing.append(len(rec) > 1 and rec[-1] == "")
        for i in range(ncols):
            cols[i].append(rec[i] if i < len(rec) else None)

    def add_lines(start: int, stop: int) -> None:
        for idx in range(start, min(stop, chunk.n_lines)):
            rec, ok = _split_line(lines[idx].rstrip("\r"), sep)
            if not ok:
                errs[chunk.first_line + idx] = f"第{chunk.first_line + idx}行引号不成对，无法可靠拆分字段"
            add(idx, rec)

    def fits(rec: list[str]) -> bool:
        return len(rec) == ncols or (len(rec) == ncols + 1 and rec[-1] == "")

    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=sep)
    prev = 0
    try:
        for rec in reader:
            start, prev = prev, reader.line_num
            if prev - start > 1 and (prev - start > MAX_RECORD_LINES or not fits(rec)):
                add_lines(start, prev)
            else:
                add(start, rec)
    except csv.Error:
        add_lines(prev, chunk.n_lines)
    frame = pl.DataFrame({name: pl.Series(vals, dtype=pl.String) for name, vals in
                          zip(positional_names(ncols), cols, strict=True)})
    frame = frame.with_columns(
        _row_no=pl.Series(row_nos, dtype=pl.Int32),
        _nf=pl.Series(nfs, dtype=pl.Int32),
        _trailing=pl.Series(trailing, dtype=pl.Boolean),
    )
    for line_no, message in errs.items():
        chunk.bad.setdefault(line_no, message)
    return frame


def parse_chunk(chunk: Chunk, ncols: int, sep: str, after_line: int, width: int = 0) -> pl.DataFrame:
    """Positional rows (``f0…``, ``_row_no``, ``_err``) of the chunk's lines after ``after_line``; a line's fields
    past the ``ncols`` named ones must be empty: one, or up to the header line's ``width`` (Excel's used range)."""
    wide = max(ncols, width)
    try:
        frame = _parse_fast(chunk, wide, sep)
    except pl.exceptions.ComputeError as exc:
        if chunk.validated or "utf-8" not in str(exc):
            raise
        chunk.data, bad = _decode_slow(chunk.data, chunk.encoding, chunk.first_line)
        chunk.bad = {**bad, **chunk.bad}
        chunk.validated = True
        frame = _parse_fast(chunk, wide, sep)
    if frame is None:
        log.info("slow CSV split for the chunk starting at line %d", chunk.first_line)
        frame = _parse_slow(chunk, wide, sep)
    extra = positional_names(wide)[ncols:]
    tail_empty = pl.all_horizontal([pl.col(c).is_null() | (pl.col(c) == "") for c in extra] or [pl.lit(True)])
    nf_ok = (pl.col("_nf") == ncols) | ((pl.col("_nf") > ncols) & (pl.col("_nf") <= wide) & tail_empty) | (
        (pl.col("_nf") == wide + 1) & pl.col("_trailing") & tail_empty)
    count_err = pl.format("第{}行有{}个字段，表头有" + str(ncols) + "个字段", pl.col("_row_no"), pl.col("_nf"))
    if not chunk.bad and frame.select(nf_ok.all()).item():
        # the usual chunk: no line has an error (no message is formatted for every row only to be dropped)
        frame = frame.with_columns(_err=pl.lit(None, dtype=pl.String))
        if after_line >= chunk.first_line:
            frame = frame.filter(pl.col("_row_no") > after_line)
        return frame.drop("_nf", "_trailing", *extra)
    if chunk.bad:
        bad = pl.DataFrame({"_row_no": list(chunk.bad), "_bad": list(chunk.bad.values())},
                           schema={"_row_no": pl.Int32, "_bad": pl.String})
        frame = frame.join(bad, on="_row_no", how="left")
    else:
        frame = frame.with_columns(_bad=pl.lit(None, dtype=pl.String))
    frame = frame.with_columns(_err=pl.coalesce(pl.col("_bad"), pl.when(nf_ok).then(None).otherwise(count_err)))
    # a line holding nothing (empty, or whitespace only) is never a field-count error
    rest_null = [pl.col(c).is_null() for c in positional_names(wide)[1:]] or [pl.lit(True)]
    blank_line = pl.all_horizontal(rest_null) & pl.col("_bad").is_null() & (
        pl.col("f0").is_null() | pl.col("f0").str.contains(r"^[\s\u00a0\u3000\ufeff\x1a]*$"))
    frame = frame.with_columns(_err=pl.when(blank_line).then(None).otherwise(pl.col("_err")))
    frame = frame.filter(pl.col("_row_no") > after_line)
    return frame.drop("_nf", "_trailing", "_bad", *extra)


@dataclass
class CsvLayout:
    encoding: str
    sep: str
    header_line: int  # 1-based; 0 when the file is empty (or no header stands before a too-long line)
    header: list[str]
    long_line: int = 0  # the first line (1-based) of the head longer than the line limit, if any
    title: list[list[str]] = field(default_factory=list)  # the lines above the header (title rows)
    width: int = 0  # fields of the header line, the empty ones ending it included


def sniff(path: Path, find_header, max_line_bytes: int | None = None) -> CsvLayout:
    """Encoding, separator and header line of a CSV (``find_header(rows) -> (index, score)``).

    Only the lines before the first one longer than ``max_line_bytes`` are
    looked at, and at most ``MAX_COLUMNS + 1`` fields of each.
    """
    with open_regular(path) as fh:
        head = fh.read(SNIFF_BYTES)
        complete = not fh.read(1)
    long_line = first_long_line(head, complete, max_line_bytes or SNIFF_BYTES)
    if long_line:
        head = b"\n".join(head.split(b"\n")[:long_line - 1])
    encoding = detect_encoding(head)
    # the other encoding is tried too when the head holds text in neither for sure (its header
    # then decides: a small UTF-8 file with one GBK line still reads as UTF-8); it wins only
    # with a strictly better header
    encodings = [encoding] if encoding == UTF8_BOM or head.isascii() else [encoding, GB18030 if encoding == UTF8 else UTF8]
    best: tuple[int, int, str, str, list[list[str]], int | None] | None = None
    looked: list[tuple[list[list[str]], tuple[int | None, int]]] = []  # rows → find_header's verdict on them
    for enc in encodings:
        for sep in SEPARATORS:
            for preview in (preview_rows, preview_records):  # records: a header cell holding a line break
                rows = [r[:MAX_COLUMNS + 1] for r in preview(head, enc, sep)]
                if best is not None and max(map(len, rows), default=0) < best[0]:
                    continue  # a row matches at most one column per cell: these rows cannot beat the header found
                # the two previews agree unless a quoted cell spans lines: the same rows are not matched again
                found = next((verdict for seen, verdict in looked if seen == rows), None)
                if found is None:
                    found = find_header(rows)
                    looked.append((rows, found))
                idx, score = found
                width = len(rows[idx]) if idx is not None else 0
                key = (score, width)
                if best is None or key > best[:2]:
                    best = (score, width, enc, sep, rows, idx)
    assert best is not None
    _, _, encoding, sep, rows, idx = best
    if idx is None:
        return CsvLayout(encoding, sep, 0, [], long_line)
    header = list(rows[idx])
    while len(header) > 1 and not header[-1].strip():
        header.pop()  # a separator ending the header line only (rows ending with one are accepted too)
    return CsvLayout(encoding, sep, idx + 1, header, long_line, rows[:idx], len(rows[idx]))
