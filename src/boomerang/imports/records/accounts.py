"""Importing accounts: upserted by external id, with their owner (a user's email) and parent
(another account's external id, in the file or stored)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Stage
from boomerang.db import new_id
from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    Change,
    load_existing,
    lookup,
    mapped,
    prefixed,
    resolve_refs,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved
from boomerang.users.models import User

ACCOUNT_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the account's id in your systems"),
    Field("name", v.text(300), on_insert=True),
    Field("domain", v.text(253)),
    Field("industry", v.text(100)),
    Field("region", v.text(100)),
    Field("employee_band", v.text(20)),
    Field("owner", v.email, help="email of a Boomerang user"),
    Field("tier", v.text(50)),
    Field("stage", v.enum(Stage)),
    Field("parent", v.text(200), help="external id of the parent account"),
    Field("currency", v.currency),
    Field("created_at", v.timestamp),
    Field("churned_at", v.timestamp),
)
_ACCOUNT_ATTRS = {
    "external_id": "external_id",
    "name": "name",
    "domain": "domain",
    "industry": "industry",
    "region": "region",
    "employee_band": "employee_band",
    "owner": "owner_id",
    "tier": "tier",
    "stage": "stage",
    "currency": "currency",
    "created_at": "created_at",
    "churned_at": "churned_at",
}


def plan_accounts(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the account rows (owners, parents) and decide each one's change."""
    owners = lookup(
        session=session,
        column=User.email,
        ident=User.id,
        keys=(r.values.get("owner") for r in rows),
    )
    resolve_refs(rows, "owner", owners, resolved, errors, "Boomerang user with email")
    keys = [r.values["external_id"] for r in rows]
    existing = load_existing(session=session, model=Account, column=Account.external_id, keys=keys)
    items, ids = _items(rows, existing)
    _resolve_parents(session=session, items=items, ids=ids, resolved=resolved, errors=errors)
    changes = upsert(
        items,
        existing,
        counts,
        errors,
        resolved,
        {"name": "name"},
        merge=frozenset({"attributes"}),
    )
    return lambda: _apply(session=session, changes=changes)


def _items(
    rows: list[Parsed], existing: dict[Any, Any]
) -> tuple[list[tuple[Parsed, Any, dict[str, Any]]], dict[str, str]]:
    """Each row's attributes (a new account gets its id here), and the id of every account
    in the file by external id."""
    items = []
    ids: dict[str, str] = {k: obj.id for k, obj in existing.items()}
    for row in rows:
        attrs = mapped(row, _ACCOUNT_ATTRS)
        attributes = prefixed(row, "attributes.")
        if attributes:
            attrs["attributes"] = attributes
        key = row.values["external_id"]
        if key not in existing:
            attrs["id"] = ids[key] = new_id("acc")
            attrs.setdefault("attributes", {})
        items.append((row, key, attrs))
    return items, ids


def _resolve_parents(
    *,
    session: Session,
    items: list[tuple[Parsed, Any, dict[str, Any]]],
    ids: dict[str, str],
    resolved: Resolved,
    errors: Errors,
) -> None:
    """Set ``parent_id`` from the parent column; parents may be in the file (new) or stored."""
    parents = lookup(
        session=session,
        column=Account.external_id,
        ident=Account.id,
        keys=(
            row.values.get("parent") for row, _, _ in items if row.values.get("parent") not in ids
        ),
    )
    parents.update(ids)
    for row, key, attrs in items:
        parent = row.values.get("parent")
        if "parent" not in row.values:
            continue
        if parent is not None and parent not in parents:
            errors.add(row.line, resolved.columns.get("parent"), f"no account {parent!r}")
        elif parent == key:
            errors.add(row.line, resolved.columns.get("parent"), "an account cannot be its parent")
        else:
            attrs["parent_id"] = parents.get(parent) if parent is not None else None


def _apply(*, session: Session, changes: list[Change]) -> None:
    # Parents first: insert without them, then set them once every row exists.
    deferred = {}
    for change in changes:
        if change.obj is None and "parent_id" in change.values:
            deferred[change.values["id"]] = change.values.pop("parent_id")
    write(session=session, model=Account, changes=changes)
    session.flush()
    if deferred:
        stored = load_existing(
            session=session, model=Account, column=Account.id, keys=list(deferred)
        )
        for obj in stored.values():
            obj.parent_id = deferred[obj.id]


KIND = Kind(
    "accounts",
    ACCOUNT_FIELDS,
    key="external_id",
    plan=plan_accounts,
    prefixes=("attributes.",),
    description="customer companies",
)
