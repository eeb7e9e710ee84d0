"""Importing contacts: upserted by external id, else by email, with their account, traits
(``traits.NAME`` columns, merged) and roles (the file's set replaces the stored one). The
key matched on appears once in a file: a second row with it is refused, naming the first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Contact, ContactRole, ContactRoleLink
from boomerang.db import new_id
from boomerang.errors import Invalid
from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    Change,
    chunks,
    load_existing,
    mapped,
    prefixed,
    resolve_accounts,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved


def _roles(value: Any) -> frozenset[ContactRole]:
    parse = v.enum(ContactRole, {"economic_buyer": "decision_maker", "executive": "sponsor"})
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    return frozenset(parse(item) for item in items if str(item).strip())


CONTACT_FIELDS = (
    Field("external_id", v.text(200), help="the contact's id (or user id) in your systems"),
    Field("email", v.email),
    Field("account", v.text(200), help="external id of the contact's account"),
    Field("name", v.text(200)),
    Field("title", v.text(200)),
    Field("active", v.boolean),
    Field("roles", _roles, help="comma-separated: champion, sponsor, decision_maker, ..."),
    Field("unsubscribed_at", v.timestamp),
)
_CONTACT_ATTRS = {
    "external_id": "external_id",
    "email": "email",
    "account": "account_id",
    "name": "name",
    "title": "title",
    "active": "active",
    "unsubscribed_at": "unsubscribed_at",
}


def plan_contacts(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the contact rows (match key, account) and decide each one's change and roles."""
    if "external_id" not in resolved.columns and "email" not in resolved.columns:
        raise Invalid("contacts need an external_id or an email column to match on")
    by_email = "external_id" not in resolved.columns
    resolve_accounts(session=session, rows=rows, resolved=resolved, errors=errors)
    key_name = "email" if by_email else "external_id"
    column = Contact.email if by_email else Contact.external_id
    good = []
    seen: dict[str, int] = {}  # the file's external ids are checked as they are parsed
    for row in rows:
        key = row.values.get(key_name)
        if key is None:
            errors.add(row.line, resolved.columns.get(key_name), f"{key_name} is required")
        elif by_email and key in seen:
            errors.add(
                row.line,
                resolved.columns.get(key_name),
                f"email {key!r} is also on line {seen[key]}",
            )
        else:
            seen[key] = row.line
            good.append(row)
    existing = load_existing(
        session=session, model=Contact, column=column, keys=[r.values[key_name] for r in good]
    )
    current_roles = _current_roles(session=session, ids=[obj.id for obj in existing.values()])
    items, role_sets = _items(good, key_name, existing, current_roles, resolved)
    changes = upsert(items, existing, counts, errors, resolved, {}, merge=frozenset({"traits"}))
    # A role change alone is an update too.
    existing_ids = {obj.id for obj in existing.values()}
    changed_ids = {c.obj.id for c in changes if c.obj is not None}
    for contact_id in role_sets:
        if contact_id in existing_ids and contact_id not in changed_ids:
            counts.unchanged -= 1
            counts.updated += 1
    return lambda: _apply(session=session, changes=changes, role_sets=role_sets)


def _current_roles(*, session: Session, ids: list[str]) -> dict[str, set[ContactRole]]:
    """The stored roles of these contacts."""
    current_roles: dict[str, set[ContactRole]] = {}
    for chunk in chunks(ids):
        stmt = select(ContactRoleLink.contact_id, ContactRoleLink.role).where(
            ContactRoleLink.contact_id.in_(chunk)
        )
        for contact_id, role in session.execute(stmt):
            current_roles.setdefault(contact_id, set()).add(role)
    return current_roles


def _items(
    rows: list[Parsed],
    key_name: str,
    existing: dict[Any, Any],
    current_roles: dict[str, set[ContactRole]],
    resolved: Resolved,
) -> tuple[list[tuple[Parsed, Any, dict[str, Any]]], dict[str, frozenset[ContactRole]]]:
    """Each row's attributes (a new contact gets its id and name here), and the role sets
    to write, by contact id: where the file gives roles that differ from the stored ones."""
    items = []
    role_sets: dict[str, frozenset[ContactRole]] = {}
    for row in rows:
        key = row.values[key_name]
        attrs = mapped(row, _CONTACT_ATTRS)
        traits = prefixed(row, "traits.")
        if traits:
            attrs["traits"] = traits
        obj = existing.get(key)
        if obj is None:
            attrs["id"] = new_id("con")
            attrs.setdefault("traits", {})
            if attrs.get("name") is None:
                attrs["name"] = attrs.get("email") or key
        contact_id = obj.id if obj is not None else attrs["id"]
        if row.values.get("roles") is not None or "roles" in resolved.columns:
            wanted = row.values.get("roles") or frozenset()
            if obj is None or current_roles.get(contact_id, set()) != set(wanted):
                role_sets[contact_id] = wanted
        items.append((row, key, attrs))
    return items, role_sets


def _apply(
    *, session: Session, changes: list[Change], role_sets: dict[str, frozenset[ContactRole]]
) -> None:
    write(session=session, model=Contact, changes=changes)
    session.flush()
    for chunk in chunks(list(role_sets)):
        session.execute(delete(ContactRoleLink).where(ContactRoleLink.contact_id.in_(chunk)))
    links = [
        {"contact_id": contact_id, "role": role}
        for contact_id, roles in role_sets.items()
        for role in sorted(roles)
    ]
    for chunk in chunks(links, 1000):
        session.execute(insert(ContactRoleLink), chunk)


KIND = Kind(
    "contacts",
    CONTACT_FIELDS,
    key="external_id",
    plan=plan_contacts,
    prefixes=("traits.",),
    description="people at customer companies",
)
