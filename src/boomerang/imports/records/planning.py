"""What the record kinds share when they plan their writes: looking rows up by key in chunks,
resolving references to other records, and deciding insert / update / unchanged per row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.db import Base
from boomerang.imports.records.rows import Counts, Errors, Parsed, Resolved

CHUNK = 500


def chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    """``items`` in lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lookup(*, session: Session, column: Any, ident: Any, keys: Iterable[Any]) -> dict[Any, Any]:
    """``{key: ident}`` of the rows whose ``column`` holds one of ``keys`` (None skipped)."""
    wanted = sorted({k for k in keys if k is not None})
    found: dict[Any, Any] = {}
    for chunk in chunks(wanted):
        found.update(session.execute(select(column, ident).where(column.in_(chunk))).all())
    return found


def load_existing(
    *, session: Session, model: type[Base], column: Any, keys: list[Any]
) -> dict[Any, Any]:
    """The stored ``model`` objects whose ``column`` holds one of ``keys``, by that key."""
    found: dict[Any, Any] = {}
    for chunk in chunks(keys):
        for obj in session.scalars(select(model).where(column.in_(chunk))):
            found[getattr(obj, column.key)] = obj
    return found


def resolve_refs(
    rows: list[Parsed],
    name: str,
    table: dict[Any, Any],
    resolved: Resolved,
    errors: Errors,
    what: str,
) -> None:
    """Replace ``row.values[name]`` (an external key) with the id it names, or report it."""
    for row in rows:
        key = row.values.get(name)
        if key is None:
            continue
        if key not in table:
            errors.add(row.line, resolved.columns.get(name, name), f"no {what} {key!r}")
        row.values[name] = table.get(key)


def resolve_accounts(
    *, session: Session, rows: list[Parsed], resolved: Resolved, errors: Errors
) -> None:
    """Replace each row's ``account`` (an account's external id) by its id, or report it."""
    accounts = lookup(
        session=session,
        column=Account.external_id,
        ident=Account.id,
        keys=(r.values.get("account") for r in rows),
    )
    resolve_refs(rows, "account", accounts, resolved, errors, "account")


def resolve_contacts(
    *, session: Session, rows: list[Parsed], resolved: Resolved, errors: Errors
) -> None:
    """Replace each row's ``contact`` (a contact's external id or email) by its id."""
    refs = [r.values.get("contact") for r in rows]
    contacts = lookup(session=session, column=Contact.external_id, ident=Contact.id, keys=refs)
    contacts.update(
        lookup(
            session=session,
            column=Contact.email,
            ident=Contact.id,
            keys=(str(r).lower() for r in refs if r),
        )
    )
    for row in rows:
        ref = row.values.get("contact")
        if ref is not None:
            found = contacts.get(ref) or contacts.get(str(ref).lower())
            if found is None:
                errors.add(row.line, resolved.columns.get("contact"), f"no contact {ref!r}")
            row.values["contact"] = found


@dataclass
class Change:
    obj: Any | None  # None: a new record
    values: dict[str, Any]


def upsert(
    rows: list[tuple[Parsed, Any, dict[str, Any]]],
    existing: dict[Any, Any],
    counts: Counts,
    errors: Errors,
    resolved: Resolved,
    required_new: dict[str, str],
    merge: frozenset[str] = frozenset(),
) -> list[Change]:
    """Decide insert / update / unchanged for each row; nothing is written yet."""
    changes: list[Change] = []
    for row, key, attrs in rows:
        obj = existing.get(key)
        if obj is None:
            missing = [a for a in required_new if attrs.get(a) is None]
            for attr in missing:
                name = required_new[attr]
                errors.add(
                    row.line,
                    resolved.columns.get(name, name),
                    f"{name} is required for a new record",
                )
            if missing:
                continue
            counts.inserted += 1
            changes.append(Change(obj=None, values=attrs))
            continue
        diff: dict[str, Any] = {}
        for attr, value in attrs.items():
            current = getattr(obj, attr)
            if attr in merge:
                value = {**(current or {}), **value}
            if current != value:
                diff[attr] = value
        if diff:
            counts.updated += 1
            changes.append(Change(obj=obj, values=diff))
        else:
            counts.unchanged += 1
    return changes


def write(*, session: Session, model: type[Base], changes: list[Change]) -> None:
    """Insert the new records in bulk and set the changed attributes of the others."""
    new = [c.values for c in changes if c.obj is None]
    for chunk in chunks(new, 1000):
        session.execute(insert(model), chunk)
    for change in changes:
        if change.obj is not None:
            for attr, value in change.values.items():
                setattr(change.obj, attr, value)


def mapped(row: Parsed, names: dict[str, str]) -> dict[str, Any]:
    """Model attributes from the fields the file maps (``names``: field -> attribute)."""
    return {attr: row.values[name] for name, attr in names.items() if name in row.values}


def prefixed(row: Parsed, prefix: str) -> dict[str, Any]:
    """The row's ``PREFIX.NAME`` values that are not None, by NAME."""
    return {
        name.removeprefix(prefix): value
        for name, value in row.values.items()
        if name.startswith(prefix) and value is not None
    }
