"""Text files: encoding detection, line counting and delimiter sniffing for the CSV reader.

The encoding is chosen by reading the bytes once: a BOM wins; else UTF-8 if every byte decodes
(checked incrementally, one 1 MB block at a time); else cp1252, which is what Excel writes;
else latin-1 (which decodes anything) with a warning. Binary files and workbooks named .csv are
recognised from their first bytes so the message can say what the file really is.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from loaders.errors import ReadError

from .base import Source
from .header import Where

log = logging.getLogger(__name__)

DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 8 * 1024
SNIFF_BYTES = 64 * 1024
BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class TextFacts:
    """What the first pass found: the encoding to use and how many lines the file has."""

    encoding: str
    lines: int
    warnings: tuple[str, ...]
    longest: int = 0  # characters in the longest line, or an upper bound (a row has at most this + 1 cells)
    quoted: bool = True  # the text has a '"' (only then can a cell span lines)


def _signature_error(head: bytes, where: Where) -> ReadError | None:
    """A helpful error when the bytes are a spreadsheet or other binary file, not text."""
    if head.startswith(b"PK\x03\x04"):
        if b"opendocument.spreadsheet" in head[:100]:
            return ReadError(f"{where} is an OpenDocument spreadsheet, not CSV text. Set format = \"ods\" for this source.")
        return ReadError(
            f"{where} is a ZIP file (an Excel .xlsx workbook is one), not CSV text. "
            "If it is a workbook, set format = \"xlsx\" for this source."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ReadError(f"{where} is an old Excel .xls workbook, not CSV text. Save it as .xlsx and set format = \"xlsx\".")
    if b"\x00" in head:
        return ReadError(f"{where} looks like a binary file, not CSV text (it contains NUL bytes). Check that this is the "
                         "right file.")
    return None


def first_pass(source: Source, given: str | None, where: Where) -> TextFacts:
    """Choose the encoding and count lines, reading the bytes once per candidate encoding."""
    with source.open() as handle:
        head = handle.read(HEAD_BYTES)
    if not head:
        raise ReadError(f"{where} is empty (0 bytes). Check that the file was saved or downloaded completely.")
    bom = None
    if head.startswith(codecs.BOM_UTF8):
        bom = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom = "utf-16"
    if given:
        try:
            codecs.lookup(given)
        except LookupError:
            raise ReadError(f"Unknown encoding '{given}' for {where}. Use e.g. \"utf-8\" or \"cp1252\", or remove it to "
                            "detect.") from None
    wide = (given or bom or "").replace("_", "-").lower().startswith(("utf-16", "utf-32", "utf16", "utf32"))
    if not wide:
        error = _signature_error(head, where)
        if error:
            raise error
    for encoding in ([given] if given else [bom] if bom else ["utf-8", "cp1252", "latin-1"]):
        try:
            lines, longest, quoted = _count_lines(source, encoding)
        except _Undecodable as bad:
            if given:
                raise ReadError(
                    f"{where} is not valid {given} text: byte {bad.byte!r} at offset {bad.offset} cannot be "
                    "decoded. Remove encoding from the manifest to detect it, or set the right one."
                ) from None
            log.debug("%s is not %s (byte %r at %d); trying the next encoding", where, encoding, bad.byte, bad.offset)
            continue
        warnings: tuple[str, ...] = ()
        if encoding == "latin-1":
            warnings = (
                f"{where} is neither UTF-8 nor cp1252 text; read it as latin-1. "
                "Set encoding in the manifest if some characters look wrong.",
            )
        log.debug("%s: encoding %s, %d lines", where, encoding, lines)
        return TextFacts(encoding=encoding, lines=lines, warnings=warnings, longest=longest, quoted=quoted)
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


class _Undecodable(Exception):
    """A byte the candidate encoding cannot decode, with its offset in the file."""

    def __init__(self, offset: int, byte: bytes) -> None:
        super().__init__(offset, byte)
        self.offset, self.byte = offset, byte


def _count_lines(source: Source, encoding: str) -> tuple[int, int, bool]:
    """Decode the whole file incrementally (raising on bad bytes); count its lines, measure the longest
    one and note whether any '"' occurs.

    The longest line is measured in bytes when the encoding is ASCII-compatible (a byte 10 is then
    always a line feed, and bytes >= characters, so it is an upper bound), which numpy does at C
    speed; else in characters of the decoded text."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 0
    last = ""
    offset = 0
    longest = current = 0  # current: length of the line still open at the end of the last block
    quoted = False
    in_bytes = codecs.lookup(encoding).name in _ASCII_COMPATIBLE
    with source.open() as handle:
        while True:
            block = handle.read(BLOCK_BYTES)
            try:
                chunk = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise _Undecodable(max(0, offset + exc.start), exc.object[exc.start : exc.start + 1]) from None
            lines += chunk.count("\n")
            last = chunk[-1:] or last
            quoted = quoted or '"' in chunk
            if in_bytes and block:
                feeds = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10)
                if not len(feeds):
                    current += len(block)
                else:
                    inner = int((np.diff(feeds) - 1).max()) if len(feeds) > 1 else 0
                    longest = max(longest, current + int(feeds[0]), inner)
                    current = len(block) - int(feeds[-1]) - 1
            elif chunk and not in_bytes:
                if "\n" not in chunk:
                    current += len(chunk)
                else:
                    head, _, rest = chunk.partition("\n")
                    body, _, tail = rest.rpartition("\n")
                    inner = max(map(len, body.split("\n")), default=0) if body else 0
                    longest = max(longest, current + len(head), inner)
                    current = len(tail)
            if not block:
                break
            offset += len(block)
    longest = max(longest, current)
    return lines + (1 if last and last != "\n" else 0), longest, quoted


#: codecs names whose every byte 10 is a line feed and that use at least one byte per character.
_ASCII_COMPATIBLE = {"utf-8", "utf-8-sig", "cp1252", "iso8859-1", "latin-1", "ascii"}


def text_handle(source: Source, encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(source.open(), encoding=encoding, newline="")


def sniff(source: Source, encoding: str, where: Where) -> str:
    """Pick the delimiter that gives the most rows of one common width of 2 or more cells.

    At least two rows (a header and a data row) must share that width, so a stray ';' in one
    cell of a one-column file does not win over the default ','. Ties go to the earlier of
    ``, ; tab |``.
    """
    with text_handle(source, encoding) as handle:
        text = handle.read(SNIFF_BYTES)
        if len(text) == SNIFF_BYTES and "\n" in text:
            text = text[: text.rindex("\n")]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            widths = Counter(len(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter) if len(r) >= 2)
        except csv.Error:
            continue
        if widths:
            width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
            if count < 2:
                continue
            score = (count, width)
            if score > best_score:
                best, best_score = delimiter, score
    log.debug("%s: delimiter %r", where, best)
    return best
