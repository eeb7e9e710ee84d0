"""The embedded event store: immutable, day-partitioned Parquet files under the data dir.

Two write paths: :meth:`EventStore.append` (the demo and the HTTP API) writes new files to a
temporary name, fsynced, then atomically renamed; :meth:`EventStore.adopt` (file imports)
makes a whole staged import live in one manifest commit. Readers in other processes
(server, worker, CLI) only ever see whole files and never need a lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from boomerang.crashpoints import crash_point
from boomerang.errors import Invalid
from boomerang.events.types import EVENT_TYPES

if TYPE_CHECKING:
    import pyarrow as pa

# PyArrow is imported by the methods that read or write files: listing the live files (what
# `boomerang status` and every DuckDB query need) does not load it.

MANIFEST = "_manifest.json"
STAGING = "_staging"


class EventStore:
    """Append-only event files under ``root`` (``root/date=YYYY-MM-DD/part-*.parquet``).

    Small files (the tracking API writes one per move) are merged by :meth:`compact` into
    ``compact-*.parquet`` files. Which files are live is decided by the regular files on
    disk plus a small manifest (``_manifest.json``, replaced atomically) that lists the
    compacted outputs and the files they replaced; readers take :meth:`live_files`, a
    consistent snapshot, so a query never counts an event twice or misses one while a
    compaction runs. Replaced files are deleted only after a grace period.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def glob(self) -> str:
        """The pattern that matches every regular event file (ignores compaction)."""
        return str(self.root / "date=*" / "part-*.parquet")

    def live_files(self) -> list[Path]:
        """The files that hold every event exactly once, as of now."""
        manifest = self._manifest()
        dead = set(manifest.dead)
        files = [
            path
            for path in self.root.glob("date=*/part-*.parquet")
            if _rel(self.root, path) not in dead
        ]
        files.extend(self.root / rel for rel in manifest.live)
        return sorted(files)

    def files(self) -> list[Path]:
        """Every live event file (temporary files are never matched)."""
        return self.live_files()

    def is_empty(self) -> bool:
        return not self.live_files()

    def append(self, events: pa.Table, *, tag: str | None = None) -> int:
        """Validate ``events`` against :data:`EVENT_SCHEMA` and store them durably; returns rows.

        ``tag`` goes into the file names, so that a writer that crashed half-way through
        an append can find and remove exactly what it wrote (:meth:`remove_tagged`).
        """
        import pyarrow.compute as pc

        table = _conform(events)
        if table.num_rows == 0:
            return 0
        days = pc.strftime(table.column("timestamp"), format="%Y-%m-%d")
        # Sorted by account inside a day, so each row group's min/max statistics let a
        # query for one account skip most of a file.
        table = table.append_column("_day", days).sort_by(
            [("_day", "ascending"), ("group_id", "ascending"), ("timestamp", "ascending")]
        )
        written = 0
        for day, part in _split_by(table, "_day"):
            written += self._write(day, part.drop_columns(["_day"]), tag=tag)
        return written

    def remove_tagged(self, tag: str) -> int:
        """Delete the files an append with ``tag`` wrote (and its temporary files)."""
        removed = 0
        for path in self.root.glob(f"date=*/*part-{tag}-*"):
            path.unlink()
            removed += 1
        return removed

    def _write(self, day: str, table: pa.Table, *, tag: str | None = None) -> int:
        import pyarrow.parquet as pq

        directory = self.root / f"date={day}"
        directory.mkdir(parents=True, exist_ok=True)
        prefix = f"part-{tag}-" if tag else "part-"
        name = f"{prefix}{uuid.uuid4().hex}.parquet"
        tmp = directory / f".{name}.tmp"
        with tmp.open("wb") as handle:
            pq.write_table(table, handle, compression="zstd", row_group_size=256_000)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("append.tmp")
        os.replace(tmp, directory / name)
        _fsync_dir(directory)
        crash_point("append.file")
        return int(table.num_rows)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive right to change the manifest (compaction, committing an import)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".manifest.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def staging_dir(self, name: str) -> Path:
        """A private directory for an import to write into before :meth:`adopt`."""
        path = self.root / STAGING / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def adopt(self, staging: Path, *, tag: str) -> int:
        """Make the Parquet files under ``staging/date=*/`` live, all at once; returns files.

        Each file is fsynced and moved into its day's directory as ``import-{tag}-*``,
        which readers ignore until the manifest lists it: the manifest's atomic
        replacement is the commit point, so a crash leaves the import all there or absent.
        """
        moved: list[str] = []
        for path in sorted(staging.glob("date=*/*.parquet")):
            day = path.parent.name
            directory = self.root / day
            directory.mkdir(parents=True, exist_ok=True)
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            target = directory / f"import-{tag}-{len(moved):05d}.parquet"
            os.replace(path, target)
            moved.append(_rel(self.root, target))
        for directory in {self.root / rel.split("/")[0] for rel in moved}:
            _fsync_dir(directory)
        if moved:
            with self.lock():
                manifest = self._manifest()
                manifest.live.extend(moved)
                self._save_manifest(manifest)
        shutil.rmtree(staging, ignore_errors=True)
        return len(moved)

    def clear(self) -> None:
        """Delete every event file (used by ``demo --reset``)."""
        for path in self.root.glob("date=*/*"):
            path.unlink()
        for directory in self.root.glob("date=*"):
            directory.rmdir()
        (self.root / MANIFEST).unlink(missing_ok=True)

    # -- compaction ----------------------------------------------------------------------

    def _manifest(self) -> Manifest:
        path = self.root / MANIFEST
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return Manifest()
        return Manifest(live=list(data["live"]), dead=dict(data["dead"]))

    def _save_manifest(self, manifest: Manifest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{MANIFEST}.tmp"
        with tmp.open("w") as handle:
            json.dump({"live": manifest.live, "dead": manifest.dead}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / MANIFEST)
        _fsync_dir(self.root)

    def compact(
        self,
        *,
        min_files: int = 8,
        small_bytes: int = 32 * 1024 * 1024,
        max_input_bytes: int = 256 * 1024 * 1024,
        grace_seconds: float = 3600,
        now: float | None = None,
        skip_tags: Collection[str] = (),
    ) -> int:
        """Merge each day's small files into one; returns how many files were merged.

        The caller guarantees that nothing else writes to the store meanwhile (the tracking
        API's mover holds its lock: :func:`boomerang.ingest.flush.compact`). Files of the
        appends tagged ``skip_tags`` (moves that have not committed, which recovery may
        delete) are never merged: merged, their events would outlive that deletion and be
        moved again. Safe to interrupt at any point: a crash leaves either the old files or
        the new one live, never both, and the leftovers are cleaned up by the next call.
        """
        with self.lock():
            return self._compact(
                min_files=min_files,
                small_bytes=small_bytes,
                max_input_bytes=max_input_bytes,
                grace_seconds=grace_seconds,
                now=time.time() if now is None else now,
                skip=tuple(f"part-{tag}-" for tag in skip_tags),
            )

    def _compact(
        self,
        *,
        min_files: int,
        small_bytes: int,
        max_input_bytes: int,
        grace_seconds: float,
        now: float,
        skip: tuple[str, ...],
    ) -> int:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from boomerang.events.schema import EVENT_SCHEMA

        manifest = self._manifest()
        self._collect_garbage(manifest, now=now, grace_seconds=grace_seconds)
        merged = 0
        live = [p for p in self.live_files() if not p.name.startswith(skip)]
        by_day: dict[Path, list[Path]] = {}
        for path in live:
            by_day.setdefault(path.parent, []).append(path)
        for directory, paths in sorted(by_day.items()):
            small = [p for p in paths if p.stat().st_size < small_bytes]
            if len(small) < min_files:
                continue
            chosen: list[Path] = []
            size = 0
            for path in small:
                if chosen and size + path.stat().st_size > max_input_bytes:
                    break
                chosen.append(path)
                size += path.stat().st_size
            table = pa.concat_tables(
                [pq.read_table(p, schema=EVENT_SCHEMA.with_metadata(None)) for p in chosen]
            ).sort_by([("group_id", "ascending"), ("timestamp", "ascending")])
            name = f"compact-{uuid.uuid4().hex}.parquet"
            tmp = directory / f".{name}.tmp"
            with tmp.open("wb") as handle:
                pq.write_table(table, handle, compression="zstd", row_group_size=256_000)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, directory / name)
            _fsync_dir(directory)
            crash_point("compact.merged")
            # The commit point: the manifest swaps the inputs for the output in one rename.
            output = _rel(self.root, directory / name)
            inputs = {_rel(self.root, p) for p in chosen}
            manifest.live = [r for r in manifest.live if r not in inputs] + [output]
            manifest.dead.update({r: now for r in inputs})
            self._save_manifest(manifest)
            crash_point("compact.swapped")
            merged += len(chosen)
        return merged

    def _collect_garbage(self, manifest: Manifest, *, now: float, grace_seconds: float) -> None:
        """Delete replaced files past the grace period, and debris of interrupted writes."""
        changed = False
        for rel, since in list(manifest.dead.items()):
            if now - since >= grace_seconds:
                (self.root / rel).unlink(missing_ok=True)
                del manifest.dead[rel]
                changed = True
        live = set(manifest.live)
        for path in self.root.glob("date=*/compact-*.parquet"):
            if _rel(self.root, path) not in live and _rel(self.root, path) not in manifest.dead:
                path.unlink()  # written by a compaction that crashed before its commit
        for path in self.root.glob("date=*/import-*.parquet"):
            rel = _rel(self.root, path)
            # Moved by an import that has not committed (yet, or ever: it crashed).
            stale = now - path.stat().st_mtime > grace_seconds
            if rel not in live and rel not in manifest.dead and stale:
                path.unlink(missing_ok=True)
        for path in (self.root / STAGING).glob("*"):
            if now - path.stat().st_mtime > grace_seconds:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob("date=*/.*.tmp"):
            # An import in another process may be writing one: only old ones are debris.
            if now - path.stat().st_mtime > grace_seconds:
                path.unlink(missing_ok=True)
        if changed:
            crash_point("compact.removed")
            self._save_manifest(manifest)


@dataclasses.dataclass
class Manifest:
    """Compacted outputs that are live, and replaced files with when they were replaced."""

    live: list[str] = dataclasses.field(default_factory=list)
    dead: dict[str, float] = dataclasses.field(default_factory=dict)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _conform(events: pa.Table) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    from boomerang.events.schema import EVENT_SCHEMA

    missing = [f.name for f in EVENT_SCHEMA if f.name not in events.column_names]
    required = {"message_id", "type", "timestamp"}
    if required & set(missing):
        raise Invalid(f"events lack required columns: {', '.join(sorted(required & set(missing)))}")
    columns = []
    for field in EVENT_SCHEMA:
        if field.name in events.column_names:
            try:
                columns.append(events.column(field.name).cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise Invalid(f"events column {field.name!r}: {exc}") from None
        else:
            columns.append(pa.nulls(events.num_rows, field.type))
    table = pa.Table.from_arrays(columns, schema=EVENT_SCHEMA.with_metadata(None))
    for name in ("message_id", "type", "timestamp", "received_at"):
        if table.column(name).null_count:
            raise Invalid(f"events column {name!r} has empty values")
    bad = pc.invert(pc.is_in(table.column("type"), value_set=pa.array(EVENT_TYPES)))
    if pc.any(bad).as_py():
        first = table.column("type").filter(bad)[0].as_py()
        raise Invalid(f"unknown event type {first!r}; expected one of {', '.join(EVENT_TYPES)}")
    return table


def _split_by(table: pa.Table, column: str) -> Iterator[tuple[str, pa.Table]]:
    """Consecutive runs of equal values in a table sorted by ``column``."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return
    runs = pc.run_end_encode(table.column(column).combine_chunks())
    start = 0
    for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist(), strict=True):
        yield value, table.slice(start, end - start)
        start = end


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
