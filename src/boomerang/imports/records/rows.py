"""The rows of a record file: the fields a kind takes, which column feeds each (the mapping
resolved against the header), every row parsed and checked, and the report of bad rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy.orm import Session

from boomerang.errors import Invalid
from boomerang.imports import values as v
from boomerang.imports.mapping import Mapping
from boomerang.imports.readers import ReadError, Row

MAX_REPORTED = 100


@dataclass(frozen=True)
class Field:
    name: str
    parse: v.Parser
    required: bool = False  # a value in every row
    on_insert: bool = False  # a value for every new record
    help: str = ""


@dataclass
class Errors:
    """Bad rows: the first MAX_REPORTED in full, then only counted."""

    items: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    lines: set[int] = field(default_factory=set)

    def add(self, line: int, column: str | None, reason: str) -> None:
        self.count += 1
        self.lines.add(line)
        if len(self.items) < MAX_REPORTED:
            self.items.append({"line": line, "column": column, "reason": reason})


@dataclass
class Counts:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Parsed:
    line: int
    values: dict[str, Any]


@dataclass
class Resolved:
    """The file's columns per field, after applying the mapping."""

    columns: dict[str, str]  # field -> column in the file
    ignored: list[str]  # file columns nothing reads


class Planner(Protocol):
    """Checks a kind's parsed rows against the database, reporting what is wrong in ``errors``
    and counting the changes in ``counts``; returns the function that writes them."""

    def __call__(
        self,
        *,
        session: Session,
        rows: list[Parsed],
        resolved: Resolved,
        errors: Errors,
        counts: Counts,
        today: date,
    ) -> Callable[[], None]: ...


@dataclass(frozen=True)
class Kind:
    name: str
    fields: tuple[Field, ...]
    key: str
    plan: Planner
    prefixes: tuple[str, ...] = ()
    description: str = ""

    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


def resolve(kind: Kind, header: list[str], mapping: Mapping) -> Resolved:
    """Which column feeds which field; Invalid when the mapping names what is not there."""
    fields = kind.field_map()
    columns: dict[str, str] = {}
    for target, column in mapping.columns.items():
        if target not in fields and not any(target.startswith(p) for p in kind.prefixes):
            known = ", ".join([*fields, *(p + "NAME" for p in kind.prefixes)])
            raise Invalid(f"--map: {kind.name} have no field {target!r}; fields: {known}")
        if column not in header:
            raise Invalid(
                f"--map {target}={column}: the file has no column {column!r} "
                f"(its columns: {', '.join(header) or 'none'})"
            )
        columns[target] = column
    for name in fields:
        if name not in columns and name in header and name not in mapping.columns.values():
            columns[name] = name
    for name in mapping.defaults:
        if name not in fields and not any(name.startswith(p) for p in kind.prefixes):
            raise Invalid(f"defaults: {kind.name} have no field {name!r}")
    for name, spec in fields.items():
        if spec.required and name not in columns and name not in mapping.defaults:
            raise Invalid(
                f"no column for {name!r} ({spec.help or 'required'}): the file's columns are "
                f"{', '.join(header) or 'none'}; map one with --map {name}=COLUMN"
            )
    used = set(columns.values())
    return Resolved(columns=columns, ignored=[c for c in header if c not in used])


def parse_rows(
    kind: Kind,
    rows: Iterable[Row | ReadError],
    resolved: Resolved,
    mapping: Mapping,
    errors: Errors,
    counts: Counts,
) -> list[Parsed]:
    """Every good row parsed, counted in ``counts``; each bad one (a cell that does not
    parse, a required value missing, a key seen before in the file) reported in ``errors``."""
    fields = kind.field_map()
    parsed: list[Parsed] = []
    seen: dict[Any, int] = {}
    for row in rows:
        counts.rows += 1
        if isinstance(row, ReadError):
            errors.add(row.line, None, row.reason)
            continue
        out: dict[str, Any] = {}
        ok = True
        targets = list(resolved.columns) + [
            d for d in mapping.defaults if d not in resolved.columns
        ]
        for target in targets:
            column = resolved.columns.get(target)
            raw = row.values.get(column) if column is not None else None
            if isinstance(raw, str) and not raw.strip():
                raw = None
            if raw is not None and target in mapping.values:
                raw = mapping.values[target].get(str(raw), raw)
            if raw is None:
                raw = mapping.defaults.get(target)
            spec = fields.get(target)
            if raw is None:
                if spec is not None and spec.required:
                    errors.add(row.line, column or target, f"{target} is required")
                    ok = False
                out[target] = None
                continue
            try:
                out[target] = spec.parse(raw) if spec is not None else v.loose(raw)
            except ValueError as exc:
                errors.add(row.line, column or target, f"{target}: {exc}")
                ok = False
        if not ok:
            continue
        key = out.get(kind.key)
        if key is not None:
            if key in seen:
                errors.add(
                    row.line,
                    resolved.columns.get(kind.key),
                    f"{kind.key} {key!r} is also on line {seen[key]}",
                )
                continue
            seen[key] = row.line
        parsed.append(Parsed(line=row.line, values=out))
    return parsed
