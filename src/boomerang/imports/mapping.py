"""Column mappings: which column of a file feeds which Boomerang field.

A mapping comes from ``--map field=Column,...`` flags, a saved YAML file, or both (the
flags win). Example file (``examples/mappings/ravenstack_accounts.yaml``)::

    kind: accounts
    columns:              # Boomerang field: column in the file
      external_id: account_id
      name: account_name
      attributes.seats: seats
    defaults:             # value used when the column is absent or the cell is blank
      currency: USD
    values:               # translate cell values, per field
      tier: {Basic: Starter}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from boomerang import yaml_limits
from boomerang.errors import Invalid


@dataclasses.dataclass
class Mapping:
    """``columns`` maps a Boomerang field to a file column; unmapped fields map to themselves."""

    columns: dict[str, str] = dataclasses.field(default_factory=dict)
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    values: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    kind: str | None = None

    def merged(self, other: Mapping) -> Mapping:
        """This mapping with ``other``'s entries on top."""
        values = {k: dict(v) for k, v in self.values.items()}
        for key, table in other.values.items():
            values.setdefault(key, {}).update(table)
        return Mapping(
            columns={**self.columns, **other.columns},
            defaults={**self.defaults, **other.defaults},
            values=values,
            kind=other.kind or self.kind,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "defaults": self.defaults, "values": self.values}


def parse_flags(specs: list[str]) -> Mapping:
    """``["external_id=AccountID,name=Company", "tier=Plan"]`` -> a mapping."""
    columns: dict[str, str] = {}
    for spec in specs:
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            field, sep, column = item.partition("=")
            if not sep or not field.strip() or not column.strip():
                raise Invalid(f"--map: {item!r} is not FIELD=COLUMN")
            columns[field.strip()] = column.strip()
    return Mapping(columns=columns)


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    columns: dict[str, str] = {}
    defaults: dict[str, Any] = {}
    values: dict[str, dict[str, Any]] = {}


def load_file(path: Path) -> Mapping:
    """Read a saved mapping; Invalid naming the file (and line or key) when it is wrong."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read the mapping file ({exc.strerror})") from None
    try:
        yaml_limits.check(text, origin=str(path))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise Invalid(f"{path}{where}: not valid YAML ({problem})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise Invalid(f"{path}: a mapping file holds keys kind, columns, defaults and values")
    try:
        parsed = _MappingFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise Invalid(f"{path}: {where}: {err['msg']}") from None
    return Mapping(
        columns={k: str(v) for k, v in parsed.columns.items()},
        defaults=parsed.defaults,
        values={k: {str(a): b for a, b in v.items()} for k, v in parsed.values.items()},
        kind=parsed.kind,
    )
