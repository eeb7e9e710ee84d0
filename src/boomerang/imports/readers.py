"""Reading import files: CSV, JSON Lines and Parquet, optionally gzip-compressed.

Lines are the file's physical lines, counted as they are read: a CSV record whose quoted
cell spans lines has the line it starts on, blank lines count, and a byte that is not UTF-8
is reported on its own line (the text is decoded with ``surrogateescape`` and each line
checked, so a bad byte is not blamed on the line where a read buffer happened to start).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

import pyarrow.parquet as pq

from boomerang.errors import Invalid


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


_SUFFIXES = {
    ".csv": FileFormat.csv,
    ".txt": FileFormat.csv,
    ".jsonl": FileFormat.jsonl,
    ".ndjson": FileFormat.jsonl,
    ".json": FileFormat.jsonl,
    ".parquet": FileFormat.parquet,
    ".pq": FileFormat.parquet,
}

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Source:
    """A file to import: where it is, its format and whether it is gzip-compressed."""

    path: Path
    format: FileFormat
    gzip: bool


def detect(path: Path, fmt: str | None = None) -> Source:
    """Work out the format from ``fmt`` or the file name; gzip from the file's first bytes."""
    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    with path.open("rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    if fmt:
        try:
            file_format = FileFormat(fmt.lower())
        except ValueError:
            raise Invalid(f"--format: {fmt!r} is not one of csv, jsonl, parquet") from None
    else:
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        found = _SUFFIXES.get(suffixes[-1]) if suffixes else None
        if found is None:
            raise Invalid(
                f"{path}: cannot tell the format from the name; use --format csv|jsonl|parquet"
            )
        file_format = found
    if compressed and file_format is FileFormat.parquet:
        raise Invalid(f"{path}: Parquet is compressed inside; gzip around it is not supported")
    return Source(path=path, format=file_format, gzip=compressed)


READ_ERRORS = (csv.Error, OSError, EOFError, zlib.error)  # EOFError: a cut gzip file
_ESCAPED = re.compile("[\udc80-\udcff]")


class Undecodable(Exception):
    """Line ``line`` holds ``byte``, which is not UTF-8."""

    def __init__(self, line: int, byte: int) -> None:
        super().__init__(line, byte)
        self.line = line
        self.byte = byte

    @property
    def reason(self) -> str:
        return f"not valid UTF-8 (byte 0x{self.byte:02x}); save the file as UTF-8"


def _binary(source: Source) -> IO[bytes]:
    return cast(
        IO[bytes],
        gzip.open(source.path, "rb") if source.gzip else source.path.open("rb"),
    )


def _text(source: Source) -> IO[str]:
    # utf-8-sig: spreadsheets often write a byte-order mark before the header. Bytes that
    # are not UTF-8 become lone surrogates, found per line by _Lines.
    return io.TextIOWrapper(
        _binary(source), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )


class _Lines:
    """The physical lines of a text file; ``number`` is the last one read. With ``check``,
    a line holding a byte that is not UTF-8 raises :class:`Undecodable`."""

    def __init__(self, handle: IO[str], *, check: bool = True) -> None:
        self._handle = handle
        self._check = check
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        text = next(self._handle)
        self.number += 1
        if self._check and (bad := _ESCAPED.search(text)) is not None:
            raise Undecodable(self.number, ord(bad.group()) - 0xDC00)
        return text


def find_undecodable(source: Source) -> Undecodable | None:
    """The first byte of a CSV or JSON Lines file that is not UTF-8, with its line; None
    when it is all UTF-8. Reads the file in large blocks (for when DuckDB refused it)."""
    if source.format is FileFormat.parquet:
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    with _binary(source) as handle:
        while True:
            try:
                block = handle.read(1 << 20)
            except READ_ERRORS:
                return None
            pending = decoder.getstate()[0]
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # The error's data is the undecoded tail of the last block, then this one;
                # a tail is part of a multi-byte character, so never a newline.
                data = pending + block
                return Undecodable(lines + data[: exc.start].count(b"\n") + 1, data[exc.start])
            if not block:
                return None
            lines += block.count(b"\n")


@dataclass
class Row:
    """One record and where it is in the file (``line`` is 1-based; for Parquet, the row)."""

    line: int
    values: dict[str, Any]


@dataclass
class ReadError:
    line: int
    reason: str


def read_records(source: Source) -> tuple[list[str], Iterator[Row | ReadError]]:
    """The file's column names and its records; blank CSV cells read as None."""
    if source.format is FileFormat.parquet:
        return _parquet(source)
    if source.format is FileFormat.csv:
        return _csv(source)
    return _jsonl(source)


def _csv(source: Source) -> tuple[list[str], Iterator[Row | ReadError]]:
    handle = _text(source)
    lines = _Lines(handle)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        return [], iter(())
    except Undecodable as exc:
        handle.close()
        raise Invalid(f"{source.path}: line {exc.line}: {exc.reason}") from None
    except READ_ERRORS as exc:
        handle.close()
        raise Invalid(f"{source.path}: line 1: cannot read the header ({exc})") from None
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for name in header:
        if not name:
            raise Invalid(f"{source.path}: line 1: a column has no name")
        if name in seen:
            raise Invalid(f"{source.path}: line 1: column {name!r} appears twice")
        seen.add(name)

    def rows() -> Iterator[Row | ReadError]:
        with handle:
            line = reader.line_num + 1
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except Undecodable as exc:
                    yield ReadError(line=exc.line, reason=exc.reason)
                    return
                except READ_ERRORS as exc:
                    # A csv.Error is about the line just read; the others, the next one.
                    at = lines.number if isinstance(exc, csv.Error) else lines.number + 1
                    yield ReadError(line=at, reason=f"cannot read the line ({exc})")
                    return
                start, line = line, reader.line_num + 1
                if not cells or all(not c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    yield ReadError(
                        line=start,
                        reason=f"has {len(cells)} cells, the header has {len(header)}",
                    )
                    continue
                yield Row(
                    line=start,
                    values={
                        h: (c if c.strip() else None) for h, c in zip(header, cells, strict=True)
                    },
                )

    return header, rows()


def _jsonl(source: Source) -> tuple[list[str], Iterator[Row | ReadError]]:
    columns: dict[str, None] = {}
    records: list[Row | ReadError] = []
    with _text(source) as handle:
        lines = _Lines(handle)
        while True:
            try:
                text = next(lines)
            except StopIteration:
                break
            except Undecodable as exc:
                records.append(ReadError(line=exc.line, reason=exc.reason))
                continue
            except READ_ERRORS as exc:
                reason = f"cannot read the line ({exc})"
                records.append(ReadError(line=lines.number + 1, reason=reason))
                break
            if text.strip():
                records.append(_json_record(lines.number, text, columns))
    return list(columns), iter(records)


def _json_record(line: int, text: str, columns: dict[str, None]) -> Row | ReadError:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ReadError(line=line, reason=f"not valid JSON ({exc.msg})")
    except ValueError:  # an integer past Python's 4,300 digits
        return ReadError(line=line, reason="not valid JSON (a number with too many digits)")
    except RecursionError:
        return ReadError(line=line, reason="not valid JSON (nested too deeply)")
    if not isinstance(value, dict):
        return ReadError(line=line, reason="is not a JSON object")
    columns.update(dict.fromkeys(value))
    return Row(line=line, values=value)


def first_read_error(source: Source) -> ReadError | None:
    """The first line of a CSV or JSON Lines file that cannot be read (cut short, not
    UTF-8) or, for JSON Lines, is not a JSON object; None when every line reads. Reads the
    file line by line, as far as that line (for when DuckDB refused the file)."""
    if source.format is FileFormat.parquet:
        return None
    with _text(source) as handle:
        lines = _Lines(handle)
        try:
            if source.format is FileFormat.csv:
                for _ in csv.reader(lines):
                    pass
                return None
            for text in lines:
                if text.strip():
                    found = _json_record(lines.number, text, {})
                    if isinstance(found, ReadError):
                        return found
        except Undecodable as exc:
            return ReadError(line=exc.line, reason=exc.reason)
        except READ_ERRORS as exc:
            at = lines.number if isinstance(exc, csv.Error) else lines.number + 1
            return ReadError(line=at, reason=f"cannot read the line ({exc})")
    return None


def record_lines(
    source: Source, *, delimiter: str = ",", quotechar: str | None = '"'
) -> Iterator[int]:
    """The line each record starts on, records counted as DuckDB counts them: a CSV
    record after the header unless its line is empty, a JSON line unless it is blank, a
    Parquet row. Stops early at a line it cannot read. ``quotechar`` None: no quoting."""
    if source.format is FileFormat.parquet:
        yield from itertools.count(1)
        return
    with _text(source) as handle:
        lines = _Lines(handle, check=False)
        try:
            if source.format is FileFormat.jsonl:
                yield from (lines.number for text in lines if text.strip())
                return
            if quotechar is None:
                reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE)
            else:
                reader = csv.reader(lines, delimiter=delimiter, quotechar=quotechar)
            if next(reader, None) is None:
                return
            start = reader.line_num + 1
            for cells in reader:
                if cells:
                    yield start
                start = reader.line_num + 1
        except READ_ERRORS:
            return


def physical_lines(numbers: Iterable[int], starts: Iterator[int]) -> dict[int, int]:
    """``{record number: line}`` for the 1-based record ``numbers`` (at most a few
    hundred), from :func:`record_lines`; read only as far as the last one."""
    wanted = set(numbers)
    found: dict[int, int] = {}
    if not wanted:
        return found
    last = max(wanted)
    for number, line in enumerate(starts, start=1):
        if number in wanted:
            found[number] = line
        if number >= last:
            break
    return found


def _parquet(source: Source) -> tuple[list[str], Iterator[Row | ReadError]]:
    try:
        parquet = pq.ParquetFile(source.path)
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise Invalid(f"{source.path}: not a readable Parquet file ({exc})") from None
    header = list(parquet.schema_arrow.names)

    def rows() -> Iterator[Row | ReadError]:
        number = 0
        for batch in parquet.iter_batches(batch_size=10_000):
            for record in batch.to_pylist():
                number += 1
                yield Row(line=number, values=record)

    return header, rows()
