"""Importing records (accounts, contacts, subscriptions, tickets, invoices): validate, then upsert.

The whole file is validated before anything is written: a file with any bad row changes
nothing, and the report names each bad row's line, column and reason. Rows are upserted by
their external id (contacts: external id, else email); only the fields the file maps are
written, so a file with three columns updates three fields and leaves the rest alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink, Stage
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.billing.service import refresh_rollups
from boomerang.db import Base, new_id
from boomerang.errors import Invalid
from boomerang.imports import values as v
from boomerang.imports.mapping import Mapping
from boomerang.imports.readers import ReadError, Row, Source, read_records
from boomerang.support.models import Ticket, TicketPriority, TicketStatus
from boomerang.surveys.models import SCALES as SURVEY_SCALES
from boomerang.surveys.models import SurveyKind, SurveyResponse
from boomerang.users.models import User

MAX_REPORTED = 100
CHUNK = 500


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


@dataclass(frozen=True)
class Kind:
    name: str
    fields: tuple[Field, ...]
    key: str
    prefixes: tuple[str, ...] = ()
    description: str = ""
    plan: Callable[[Session, list[Parsed], Resolved, Errors, Counts, date], Callable[[], None]] = (
        lambda *a: lambda: None
    )

    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


# -- reading and validating -----------------------------------------------------------------


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


def run(
    *,
    session: Session,
    kind: Kind,
    source: Source,
    mapping: Mapping,
    dry_run: bool,
    today: date,
) -> tuple[Counts, Errors, Resolved]:
    """Validate the whole file, then (unless ``dry_run`` or any error) write it."""
    header, rows = read_records(source)
    resolved = resolve(kind, header, mapping)
    errors, counts = Errors(), Counts()
    parsed = parse_rows(kind, rows, resolved, mapping, errors, counts)
    apply = kind.plan(session, parsed, resolved, errors, counts, today)
    if errors.count == 0 and not dry_run:
        apply()
        session.flush()
    return counts, errors, resolved


# -- shared planning helpers ----------------------------------------------------------------


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lookup(session: Session, column: Any, ident: Any, keys: Iterable[Any]) -> dict[Any, Any]:
    wanted = sorted({k for k in keys if k is not None})
    found: dict[Any, Any] = {}
    for chunk in _chunks(wanted):
        found.update(session.execute(select(column, ident).where(column.in_(chunk))).all())
    return found


def _existing(session: Session, model: type[Base], column: Any, keys: list[Any]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for chunk in _chunks(keys):
        for obj in session.scalars(select(model).where(column.in_(chunk))):
            found[getattr(obj, column.key)] = obj
    return found


def _resolve_refs(
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


@dataclass
class _Change:
    obj: Any | None  # None: a new record
    values: dict[str, Any]


def _upsert(
    session: Session,
    model: type[Base],
    rows: list[tuple[Parsed, Any, dict[str, Any]]],
    existing: dict[Any, Any],
    counts: Counts,
    errors: Errors,
    resolved: Resolved,
    required_new: dict[str, str],
    merge: frozenset[str] = frozenset(),
) -> list[_Change]:
    """Decide insert / update / unchanged for each row; nothing is written yet."""
    changes: list[_Change] = []
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
            changes.append(_Change(obj=None, values=attrs))
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
            changes.append(_Change(obj=obj, values=diff))
        else:
            counts.unchanged += 1
    return changes


def _write(session: Session, model: type[Base], changes: list[_Change]) -> None:
    new = [c.values for c in changes if c.obj is None]
    for chunk in _chunks(new, 1000):
        session.execute(insert(model), chunk)
    for change in changes:
        if change.obj is not None:
            for attr, value in change.values.items():
                setattr(change.obj, attr, value)


def _mapped(row: Parsed, names: dict[str, str]) -> dict[str, Any]:
    """Model attributes from the fields the file maps (``names``: field -> attribute)."""
    return {attr: row.values[name] for name, attr in names.items() if name in row.values}


def _prefixed(row: Parsed, prefix: str) -> dict[str, Any]:
    return {
        name.removeprefix(prefix): value
        for name, value in row.values.items()
        if name.startswith(prefix) and value is not None
    }


# -- accounts -------------------------------------------------------------------------------

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


def _plan_accounts(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    owners = _lookup(session, User.email, User.id, (r.values.get("owner") for r in rows))
    _resolve_refs(rows, "owner", owners, resolved, errors, "Boomerang user with email")
    keys = [r.values["external_id"] for r in rows]
    existing = _existing(session, Account, Account.external_id, keys)
    items = []
    ids: dict[str, str] = {k: obj.id for k, obj in existing.items()}
    for row in rows:
        attrs = _mapped(row, _ACCOUNT_ATTRS)
        attributes = _prefixed(row, "attributes.")
        if attributes:
            attrs["attributes"] = attributes
        key = row.values["external_id"]
        if key not in existing:
            attrs["id"] = ids[key] = new_id("acc")
            attrs.setdefault("attributes", {})
        items.append((row, key, attrs))
    # Parents may be in the file (new) or already stored.
    parents = _lookup(
        session,
        Account.external_id,
        Account.id,
        (r.values.get("parent") for r in rows if r.values.get("parent") not in ids),
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
    changes = _upsert(
        session,
        Account,
        items,
        existing,
        counts,
        errors,
        resolved,
        {"name": "name"},
        merge=frozenset({"attributes"}),
    )

    def apply() -> None:
        # Parents first: insert without them, then set them once every row exists.
        deferred = {}
        for change in changes:
            if change.obj is None and "parent_id" in change.values:
                deferred[change.values["id"]] = change.values.pop("parent_id")
        _write(session, Account, changes)
        session.flush()
        if deferred:
            for obj in _existing(session, Account, Account.id, list(deferred)).values():
                obj.parent_id = deferred[obj.id]

    return apply


# -- contacts -------------------------------------------------------------------------------


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


def _plan_contacts(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    if "external_id" not in resolved.columns and "email" not in resolved.columns:
        raise Invalid("contacts need an external_id or an email column to match on")
    by_email = "external_id" not in resolved.columns
    accounts = _lookup(
        session, Account.external_id, Account.id, (r.values.get("account") for r in rows)
    )
    _resolve_refs(rows, "account", accounts, resolved, errors, "account")
    key_name = "email" if by_email else "external_id"
    column = Contact.email if by_email else Contact.external_id
    good = []
    for row in rows:
        if row.values.get(key_name) is None:
            errors.add(row.line, resolved.columns.get(key_name), f"{key_name} is required")
        else:
            good.append(row)
    existing = _existing(session, Contact, column, [r.values[key_name] for r in good])
    current_roles: dict[str, set[ContactRole]] = {}
    ids = [obj.id for obj in existing.values()]
    for chunk in _chunks(ids):
        stmt = select(ContactRoleLink.contact_id, ContactRoleLink.role).where(
            ContactRoleLink.contact_id.in_(chunk)
        )
        for contact_id, role in session.execute(stmt):
            current_roles.setdefault(contact_id, set()).add(role)
    items = []
    role_sets: dict[str, frozenset[ContactRole]] = {}
    for row in good:
        key = row.values[key_name]
        attrs = _mapped(row, _CONTACT_ATTRS)
        traits = _prefixed(row, "traits.")
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
    changes = _upsert(
        session, Contact, items, existing, counts, errors, resolved, {}, merge=frozenset({"traits"})
    )
    # A role change alone is an update too.
    existing_ids = {obj.id for obj in existing.values()}
    changed_ids = {c.obj.id for c in changes if c.obj is not None}
    for contact_id in role_sets:
        if contact_id in existing_ids and contact_id not in changed_ids:
            counts.unchanged -= 1
            counts.updated += 1

    def apply() -> None:
        _write(session, Contact, changes)
        session.flush()
        for chunk in _chunks(list(role_sets)):
            session.execute(delete(ContactRoleLink).where(ContactRoleLink.contact_id.in_(chunk)))
        links = [
            {"contact_id": contact_id, "role": role}
            for contact_id, roles in role_sets.items()
            for role in sorted(roles)
        ]
        for chunk in _chunks(links, 1000):
            session.execute(insert(ContactRoleLink), chunk)

    return apply


# -- subscriptions --------------------------------------------------------------------------

SUBSCRIPTION_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the contract line's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("product", v.text(200)),
    Field("plan", v.text(200)),
    Field("arr", v.money, help="annual recurring revenue of the line"),
    Field("mrr", v.money, help="monthly recurring revenue (ARR = 12 x MRR when no arr)"),
    Field("currency", v.currency),
    Field("seats", v.integer(0, 10_000_000)),
    Field("start_date", v.day, on_insert=True),
    Field("end_date", v.day),
    Field("renewal_date", v.day),
    Field("status", v.enum(SubscriptionStatus, {"canceled": "cancelled", "expired": "ended"})),
    Field("trial", v.boolean, help="a trial line (status trial when no status column)"),
    Field("auto_renew", v.boolean),
)
_SUBSCRIPTION_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "product": "product",
    "plan": "plan",
    "arr": "arr",
    "currency": "currency",
    "seats": "seats",
    "start_date": "start_date",
    "end_date": "end_date",
    "renewal_date": "renewal_date",
    "status": "status",
    "auto_renew": "auto_renew",
}


def _plan_subscriptions(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    accounts = _lookup(
        session, Account.external_id, Account.id, (r.values.get("account") for r in rows)
    )
    _resolve_refs(rows, "account", accounts, resolved, errors, "account")
    existing = _existing(
        session, Subscription, Subscription.external_id, [r.values["external_id"] for r in rows]
    )
    items = []
    for row in rows:
        values = row.values
        attrs = _mapped(row, _SUBSCRIPTION_ATTRS)
        if values.get("arr") is None and values.get("mrr") is not None:
            attrs["arr"] = values["mrr"] * 12
        start, end = values.get("start_date"), values.get("end_date")
        if start is not None and end is not None and end < start:
            errors.add(row.line, resolved.columns.get("end_date"), "end_date is before start_date")
            continue
        if "status" not in resolved.columns and ("end_date" in values or "trial" in values):
            if values.get("trial"):
                attrs["status"] = SubscriptionStatus.trial
            elif end is not None and end <= today:
                attrs["status"] = SubscriptionStatus.ended
            else:
                attrs["status"] = SubscriptionStatus.active
        if values["external_id"] not in existing:
            if attrs.get("product") is None:
                attrs["product"] = attrs.get("plan") or "Subscription"
            if attrs.get("status") is None:
                attrs["status"] = SubscriptionStatus.active
        items.append((row, values["external_id"], attrs))
    changes = _upsert(
        session,
        Subscription,
        items,
        existing,
        counts,
        errors,
        resolved,
        {"start_date": "start_date", "arr": "arr"},
    )

    def apply() -> None:
        _write(session, Subscription, changes)
        session.flush()
        touched = {c.values.get("account_id") or c.obj.account_id for c in changes if c.obj}
        touched |= {c.values["account_id"] for c in changes if c.obj is None}
        if touched:
            refresh_rollups(session=session, today=today, account_ids=touched)

    return apply


# -- tickets --------------------------------------------------------------------------------

_PRIORITY_ALIASES = {"medium": "normal", "critical": "urgent", "p1": "urgent", "p2": "high"}
_SEVERITY_BY_PRIORITY = {
    TicketPriority.urgent: 1,
    TicketPriority.high: 2,
    TicketPriority.normal: 3,
    TicketPriority.low: 4,
}


def _resolve_contacts(
    session: Session, rows: list[Parsed], resolved: Resolved, errors: Errors
) -> None:
    """Replace each row's ``contact`` (a contact's external id or email) by its id."""
    refs = [r.values.get("contact") for r in rows]
    contacts = _lookup(session, Contact.external_id, Contact.id, refs)
    contacts.update(
        _lookup(session, Contact.email, Contact.id, (str(r).lower() for r in refs if r))
    )
    for row in rows:
        ref = row.values.get("contact")
        if ref is not None:
            found = contacts.get(ref) or contacts.get(str(ref).lower())
            if found is None:
                errors.add(row.line, resolved.columns.get("contact"), f"no contact {ref!r}")
            row.values["contact"] = found


TICKET_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the ticket's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("contact", v.text(320), help="requester: contact email or external id"),
    Field("subject", v.text(500)),
    Field("severity", v.integer(1, 4), help="1 (critical) to 4; from priority when absent"),
    Field("priority", v.enum(TicketPriority, _PRIORITY_ALIASES)),
    Field("status", v.enum(TicketStatus)),
    Field("opened_at", v.timestamp, on_insert=True),
    Field("first_response_at", v.timestamp),
    Field("first_response_minutes", v.minutes, help="minutes from opened_at to first response"),
    Field("solved_at", v.timestamp),
)
_TICKET_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "contact": "contact_id",
    "subject": "subject",
    "severity": "severity",
    "priority": "priority",
    "status": "status",
    "opened_at": "opened_at",
    "first_response_at": "first_response_at",
    "solved_at": "solved_at",
}


def _plan_tickets(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    accounts = _lookup(
        session, Account.external_id, Account.id, (r.values.get("account") for r in rows)
    )
    _resolve_refs(rows, "account", accounts, resolved, errors, "account")
    _resolve_contacts(session, rows, resolved, errors)
    existing = _existing(
        session, Ticket, Ticket.external_id, [r.values["external_id"] for r in rows]
    )
    items = []
    for row in rows:
        values = row.values
        attrs = _mapped(row, _TICKET_ATTRS)
        opened = values.get("opened_at")
        delay = values.get("first_response_minutes")
        if delay is not None and opened is not None and attrs.get("first_response_at") is None:
            attrs["first_response_at"] = opened + delay
        solved = values.get("solved_at")
        if opened is not None and solved is not None and solved < opened:
            errors.add(row.line, resolved.columns.get("solved_at"), "solved_at is before opened_at")
            continue
        if values.get("severity") is None and values.get("priority") is not None:
            attrs["severity"] = _SEVERITY_BY_PRIORITY[values["priority"]]
        if "status" not in resolved.columns and "solved_at" in values:
            attrs["status"] = TicketStatus.solved if solved is not None else TicketStatus.open
        if values["external_id"] not in existing:
            if attrs.get("subject") is None:
                attrs["subject"] = f"Ticket {values['external_id']}"
            attrs.setdefault("status", TicketStatus.open)
            if attrs.get("priority") is None:
                attrs["priority"] = TicketPriority.normal
            if attrs.get("severity") is None:
                attrs["severity"] = _SEVERITY_BY_PRIORITY[attrs["priority"]]
        items.append((row, values["external_id"], attrs))
    changes = _upsert(
        session, Ticket, items, existing, counts, errors, resolved, {"opened_at": "opened_at"}
    )
    return lambda: _write(session, Ticket, changes)


# -- invoices -------------------------------------------------------------------------------

INVOICE_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the invoice's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("subscription", v.text(200), help="external id of the contract line"),
    Field("amount", v.money, on_insert=True),
    Field("currency", v.currency),
    Field("issued_on", v.day, on_insert=True),
    Field("due_on", v.day, help="defaults to issued_on"),
    Field("paid_on", v.day),
)
_INVOICE_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "subscription": "subscription_id",
    "amount": "amount",
    "currency": "currency",
    "issued_on": "issued_on",
    "due_on": "due_on",
    "paid_on": "paid_on",
}


def _plan_invoices(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    accounts = _lookup(
        session, Account.external_id, Account.id, (r.values.get("account") for r in rows)
    )
    _resolve_refs(rows, "account", accounts, resolved, errors, "account")
    lines = _lookup(
        session,
        Subscription.external_id,
        Subscription.id,
        (r.values.get("subscription") for r in rows),
    )
    _resolve_refs(rows, "subscription", lines, resolved, errors, "subscription")
    existing = _existing(
        session, Invoice, Invoice.external_id, [r.values["external_id"] for r in rows]
    )
    items = []
    for row in rows:
        values = row.values
        attrs = _mapped(row, _INVOICE_ATTRS)
        issued, paid = values.get("issued_on"), values.get("paid_on")
        if issued is not None and paid is not None and paid < issued:
            errors.add(row.line, resolved.columns.get("paid_on"), "paid_on is before issued_on")
            continue
        due = values.get("due_on")
        if issued is not None and due is not None and due < issued:
            errors.add(row.line, resolved.columns.get("due_on"), "due_on is before issued_on")
            continue
        if values["external_id"] not in existing and attrs.get("due_on") is None:
            attrs["due_on"] = issued
        items.append((row, values["external_id"], attrs))
    changes = _upsert(
        session,
        Invoice,
        items,
        existing,
        counts,
        errors,
        resolved,
        {"amount": "amount", "issued_on": "issued_on"},
    )
    return lambda: _write(session, Invoice, changes)


# -- survey responses -----------------------------------------------------------------------

SURVEY_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the response's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("contact", v.text(320), help="who answered: contact email or external id"),
    Field("survey", v.enum(SurveyKind), on_insert=True, help="nps (0-10), csat (1-5), ces (1-7)"),
    Field("score", v.integer(0, 10), on_insert=True, help="the answer on the survey's scale"),
    Field("comment", v.text(10_000)),
    Field("responded_at", v.timestamp, on_insert=True),
)
_SURVEY_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "contact": "contact_id",
    "survey": "survey",
    "score": "score",
    "comment": "comment",
    "responded_at": "responded_at",
}


def _plan_surveys(
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    accounts = _lookup(
        session, Account.external_id, Account.id, (r.values.get("account") for r in rows)
    )
    _resolve_refs(rows, "account", accounts, resolved, errors, "account")
    _resolve_contacts(session, rows, resolved, errors)
    existing = _existing(
        session, SurveyResponse, SurveyResponse.external_id, [r.values["external_id"] for r in rows]
    )
    items = []
    for row in rows:
        values = row.values
        kind, score = values.get("survey"), values.get("score")
        if kind is not None and score is not None:
            low, high = SURVEY_SCALES[kind]
            if not low <= score <= high:
                errors.add(
                    row.line,
                    resolved.columns.get("score"),
                    f"{score} is outside the {kind.value} scale {low}-{high}",
                )
                continue
        items.append((row, values["external_id"], _mapped(row, _SURVEY_ATTRS)))
    changes = _upsert(
        session,
        SurveyResponse,
        items,
        existing,
        counts,
        errors,
        resolved,
        {"survey": "survey", "score": "score", "responded_at": "responded_at"},
    )
    return lambda: _write(session, SurveyResponse, changes)


KINDS: dict[str, Kind] = {
    "accounts": Kind(
        "accounts",
        ACCOUNT_FIELDS,
        key="external_id",
        prefixes=("attributes.",),
        description="customer companies",
        plan=_plan_accounts,
    ),
    "contacts": Kind(
        "contacts",
        CONTACT_FIELDS,
        key="external_id",
        prefixes=("traits.",),
        description="people at customer companies",
        plan=_plan_contacts,
    ),
    "subscriptions": Kind(
        "subscriptions",
        SUBSCRIPTION_FIELDS,
        key="external_id",
        description="contract lines (ARR)",
        plan=_plan_subscriptions,
    ),
    "tickets": Kind(
        "tickets",
        TICKET_FIELDS,
        key="external_id",
        description="support tickets",
        plan=_plan_tickets,
    ),
    "invoices": Kind(
        "invoices", INVOICE_FIELDS, key="external_id", description="invoices", plan=_plan_invoices
    ),
    "survey_responses": Kind(
        "survey_responses",
        SURVEY_FIELDS,
        key="external_id",
        description="NPS, CSAT and CES answers",
        plan=_plan_surveys,
    ),
}
