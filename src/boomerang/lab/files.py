"""Uploaded files: spooled to a private temporary directory, size-capped, removed after."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.datastructures import UploadFile

from boomerang.errors import Invalid

MAX_BYTES = 100 * 1024 * 1024
SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson", ".csv.gz", ".txt")


@contextmanager
def spooled(upload: object, *, field: str = "file") -> Iterator[Path]:
    """The upload as a file on disk (keeping its suffix, which says its format)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid(f"{field}: choose a file to upload")
    name = Path(upload.filename).name.lower()
    suffix = next((s for s in SUFFIXES if name.endswith(s)), None)
    if suffix is None:
        raise Invalid(f"{field}: {upload.filename!r} is not a .csv, .parquet or .jsonl file")
    folder = Path(tempfile.mkdtemp(prefix="boomerang-lab-"))
    try:
        path = folder / f"upload{suffix}"
        written = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(1024 * 1024):
                written += len(chunk)
                if written > MAX_BYTES:
                    raise Invalid(f"{field}: larger than {MAX_BYTES // 2**20} MB")
                out.write(chunk)
        if written == 0:
            raise Invalid(f"{field}: the file is empty")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
