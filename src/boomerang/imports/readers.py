"""Reading import files: CSV, JSON Lines and Parquet, optionally gzip-compressed."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
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


def _text(source: Source) -> IO[str]:
    raw = cast(
        IO[bytes],
        gzip.open(source.path, "rb") if source.gzip else source.path.open("rb"),  # noqa: SIM115
    )
    # utf-8-sig: spreadsheets often write a byte-order mark before the header.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


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
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        return [], iter(())
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:  # EOFError: cut gzip
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
                except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
                    yield ReadError(line=line, reason=f"cannot read the line ({exc})")
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
    handle = _text(source)
    columns: dict[str, None] = {}
    records: list[Row | ReadError] = []
    with handle:
        number = 0
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    records.append(ReadError(line=number, reason=f"not valid JSON ({exc.msg})"))
                    continue
                if not isinstance(value, dict):
                    records.append(ReadError(line=number, reason="is not a JSON object"))
                    continue
                columns.update(dict.fromkeys(value))
                records.append(Row(line=number, values=value))
        except (UnicodeDecodeError, OSError, EOFError) as exc:  # EOFError: a cut gzip file
            records.append(ReadError(line=number + 1, reason=f"cannot read the line ({exc})"))
    return list(columns), iter(records)


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
