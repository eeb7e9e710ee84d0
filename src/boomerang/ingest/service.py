"""Write keys, and what identify / group / alias calls do to contacts and accounts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRoleLink
from boomerang.db import utcnow
from boomerang.errors import Conflict, Invalid, NotFound
from boomerang.ingest.models import IdentityAlias, WriteKey
from boomerang.security import generate_token, hash_token
from boomerang.timeline import events as timeline_events
from boomerang.users.models import User

KEY_PREFIX = "bwk"
_CHUNK = 500

# Traits with a column of their own; the rest go to contacts.traits / accounts.attributes.
_CONTACT_COLUMNS = ("email", "name", "firstName", "lastName", "first_name", "last_name", "title")
_ACCOUNT_COLUMNS = ("name", "industry", "employees", "website", "domain", "region")


# -- write keys ----------------------------------------------------------------------------


def create_key(
    *, session: Session, name: str, created_by: User | None = None
) -> tuple[WriteKey, str]:
    """A new write key; returns the row and the key itself, which is never stored."""
    name = name.strip()
    if not name:
        raise Invalid("write key name: must not be empty")
    if len(name) > 100:
        raise Invalid("write key name: at most 100 characters")
    secret = generate_token(KEY_PREFIX)
    key = WriteKey(
        name=name,
        key_hash=hash_token(secret),
        prefix=secret[:10],
        created_by_id=created_by.id if created_by else None,
    )
    session.add(key)
    session.flush()
    return key, secret


def list_keys(*, session: Session, include_revoked: bool = True) -> list[WriteKey]:
    query = select(WriteKey).order_by(WriteKey.created_at, WriteKey.id)
    if not include_revoked:
        query = query.where(WriteKey.revoked_at.is_(None))
    return list(session.scalars(query))


def get_key(*, session: Session, ref: str) -> WriteKey:
    """A write key by id (``wk_...``) or by its name when that is unambiguous."""
    key = session.get(WriteKey, ref)
    if key is not None:
        return key
    matches = list(session.scalars(select(WriteKey).where(WriteKey.name == ref)))
    if not matches:
        raise NotFound(f"no write key with id or name {ref!r}")
    if len(matches) > 1:
        raise Conflict(f"{len(matches)} write keys are named {ref!r}: use the id")
    return matches[0]


def revoke_key(*, session: Session, ref: str) -> WriteKey:
    key = get_key(session=session, ref=ref)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def key_for_secret(*, session: Session, secret: str) -> WriteKey | None:
    """The active write key whose secret is ``secret``, or None."""
    key = session.scalar(select(WriteKey).where(WriteKey.key_hash == hash_token(secret)))
    return key if key is not None and key.revoked_at is None else None


def touch_keys(*, session: Session, last_used: dict[str, datetime]) -> None:
    """Record when each key was last used (batched by the ingest worker)."""
    for key_id, when in last_used.items():
        session.execute(
            update(WriteKey)
            .where(WriteKey.id == key_id)
            .where((WriteKey.last_used_at.is_(None)) | (WriteKey.last_used_at < when))
            .values(last_used_at=when)
        )


# -- identities ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IdentityReport:
    contacts_created: int = 0
    contacts_updated: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    links: int = 0
    aliases: int = 0
    resolved: int = 0


def apply_identities(*, session: Session, events: pa.Table) -> tuple[pa.Table, IdentityReport]:
    """Apply the batch's identify, group and alias calls; fill in missing ``group_id``s.

    Safe to run twice over the same batch (a crash between this and the move to the event
    store replays it): every change is an upsert. Events without an account get the account
    their user (or aliased anonymous id) belongs to. Returns the events and what changed.
    """
    types = events.column("type")
    calls = events.filter(pc.is_in(types, pa.array(["identify", "group", "alias"])))
    calls = calls.sort_by([("timestamp", "ascending")])

    def of_type(kind: str) -> pa.Table:
        return calls.filter(pc.equal(calls.column("type"), kind))

    aliases = _apply_aliases(session=session, calls=of_type("alias"))
    ident = _apply_identifies(session=session, calls=of_type("identify"))
    groups = _apply_groups(session=session, calls=of_type("group"))
    links = _link_from_context(session=session, events=events)
    events, resolved = _resolve_groups(session=session, events=events)
    _mark_seen(session=session, events=events)
    return events, IdentityReport(
        contacts_created=ident[0] + groups[2],
        contacts_updated=ident[1],
        accounts_created=groups[0],
        accounts_updated=groups[1],
        links=groups[3] + links,
        aliases=aliases,
        resolved=resolved,
    )


def _rows(table: pa.Table, columns: Sequence[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.select(list(columns)).to_pylist()
    return rows


def _load(obj: str | None) -> dict[str, Any]:
    if not obj:
        return {}
    value = orjson.loads(obj)
    return value if isinstance(value, dict) else {}


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = list(dict.fromkeys(values))
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _contacts_by_external_id(*, session: Session, ids: Iterable[str]) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    for chunk in _chunks(ids):
        for contact in session.scalars(select(Contact).where(Contact.external_id.in_(chunk))):
            assert contact.external_id is not None
            found[contact.external_id] = contact
    return found


def _accounts_by_external_id(*, session: Session, ids: Iterable[str]) -> dict[str, Account]:
    found: dict[str, Account] = {}
    for chunk in _chunks(ids):
        for account in session.scalars(select(Account).where(Account.external_id.in_(chunk))):
            found[account.external_id] = account
    return found


def _canonical(*, session: Session, ids: Iterable[str]) -> dict[str, str]:
    """previous id -> user id for every aliased id among ``ids``."""
    mapping: dict[str, str] = {}
    for chunk in _chunks(ids):
        for previous_id, user_id in session.execute(
            select(IdentityAlias.previous_id, IdentityAlias.user_id).where(
                IdentityAlias.previous_id.in_(chunk)
            )
        ):
            mapping[previous_id] = user_id
    return mapping


def _apply_aliases(*, session: Session, calls: pa.Table) -> int:
    applied = 0
    for row in _rows(calls, ["previous_id", "user_id"]):
        previous, user_id = row["previous_id"], row["user_id"]
        if not previous or not user_id or previous == user_id:
            continue
        alias = session.get(IdentityAlias, previous)
        if alias is None:
            session.add(IdentityAlias(previous_id=previous, user_id=user_id))
        elif alias.user_id != user_id:
            alias.user_id = user_id
        applied += 1
        found = _contacts_by_external_id(session=session, ids=[previous, user_id])
        old, new = found.get(previous), found.get(user_id)
        if old is not None and new is None:
            old.external_id = user_id
        elif old is not None and new is not None and old is not new:
            _merge_contact(session=session, keep=new, drop=old)
        session.flush()
    return applied


def _merge_contact(*, session: Session, keep: Contact, drop: Contact) -> None:
    """``alias`` said two contacts are one person: keep one, fill its gaps from the other."""
    keep.email = keep.email or drop.email
    keep.title = keep.title or drop.title
    if keep.account_id is None:
        keep.account_id = drop.account_id
    keep.traits = {**(drop.traits or {}), **(keep.traits or {})}
    roles = {link.role for link in keep.role_links}
    for link in list(drop.role_links):
        if link.role not in roles:
            keep.role_links.append(ContactRoleLink(role=link.role))
    session.delete(drop)


def _contact_fields(traits: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    email = traits.get("email")
    if isinstance(email, str) and "@" in email and len(email) <= 320:
        fields["email"] = email.strip().lower()
    name = traits.get("name")
    if not isinstance(name, str) or not name.strip():
        first = traits.get("firstName", traits.get("first_name"))
        last = traits.get("lastName", traits.get("last_name"))
        name = " ".join(str(p).strip() for p in (first, last) if isinstance(p, str) and p.strip())
    if name:
        fields["name"] = name.strip()[:200]
    title = traits.get("title")
    if isinstance(title, str) and title.strip():
        fields["title"] = title.strip()[:200]
    return fields


def _apply_identifies(*, session: Session, calls: pa.Table) -> tuple[int, int]:
    merged: dict[str, dict[str, Any]] = {}
    for row in _rows(calls, ["user_id", "traits"]):
        if row["user_id"] and row["user_id"].strip():
            merged.setdefault(row["user_id"], {}).update(_load(row["traits"]))
    if not merged:
        return 0, 0
    aliases = _canonical(session=session, ids=merged)
    canonical: dict[str, dict[str, Any]] = {}
    for user_id, traits in merged.items():
        canonical.setdefault(aliases.get(user_id, user_id), {}).update(traits)
    existing = _contacts_by_external_id(session=session, ids=canonical)
    created = updated = 0
    for user_id, traits in canonical.items():
        fields = _contact_fields(traits)
        extra = {k: v for k, v in traits.items() if k not in _CONTACT_COLUMNS}
        contact = existing.get(user_id)
        if contact is None:
            session.add(
                Contact(
                    external_id=user_id,
                    name=fields.pop("name", None) or fields.get("email") or user_id,
                    traits=extra,
                    **fields,
                )
            )
            created += 1
            continue
        changed = False
        for key, value in fields.items():
            if getattr(contact, key) != value:
                setattr(contact, key, value)
                changed = True
        if extra and {**(contact.traits or {}), **extra} != contact.traits:
            contact.traits = {**(contact.traits or {}), **extra}
            changed = True
        updated += changed
    session.flush()
    return created, updated


def _employee_band(value: Any) -> str | None:
    try:
        count = int(value)
    except (TypeError, ValueError):
        return None
    for upper, band in ((10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000")):
        if count <= upper:
            return band
    return "1000+"


def _domain(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower().removeprefix("https://").removeprefix("http://")
    return text.removeprefix("www.").split("/")[0][:253] or None


def _account_fields(traits: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in ("name", "industry", "region"):
        value = traits.get(key)
        if isinstance(value, str) and value.strip():
            fields[key] = value.strip()[: 300 if key == "name" else 100]
    band = _employee_band(traits.get("employees"))
    if band:
        fields["employee_band"] = band
    domain = _domain(traits.get("domain") or traits.get("website"))
    if domain:
        fields["domain"] = domain
    return fields


def _apply_groups(*, session: Session, calls: pa.Table) -> tuple[int, int, int, int]:
    """Upsert the accounts the group calls name and link their users; returns accounts
    created and updated, contacts created and links made."""
    merged: dict[str, dict[str, Any]] = {}
    members: dict[str, str] = {}  # user id -> group id, the latest call wins
    for row in _rows(calls, ["group_id", "user_id", "traits"]):
        group_id = row["group_id"]
        if not group_id or not group_id.strip():  # refused at intake; older inboxes may hold one
            continue
        merged.setdefault(group_id, {}).update(_load(row["traits"]))
        if row["user_id"] and row["user_id"].strip():
            members[row["user_id"]] = group_id
    if not merged:
        return 0, 0, 0, 0
    accounts, created, updated = _upsert_accounts(session=session, merged=merged)
    new_contacts, links = _link_members(session=session, members=members, accounts=accounts)
    session.flush()
    return created, updated, new_contacts, links


def _upsert_accounts(
    *, session: Session, merged: dict[str, dict[str, Any]]
) -> tuple[dict[str, Account], int, int]:
    """Group id -> account for every group (new ones created), and how many were created
    and updated."""
    accounts = _accounts_by_external_id(session=session, ids=merged)
    created = updated = 0
    for group_id, traits in merged.items():
        fields = _account_fields(traits)
        extra = {k: v for k, v in traits.items() if k not in _ACCOUNT_COLUMNS}
        account = accounts.get(group_id)
        if account is None:
            account = Account(
                external_id=group_id,
                name=fields.pop("name", None) or group_id,
                attributes=extra,
                **fields,
            )
            session.add(account)
            session.flush()
            accounts[group_id] = account
            timeline_events.account_created_from_product(
                session=session, account_id=account.id, group_id=group_id
            )
            created += 1
            continue
        changed = False
        for key, value in fields.items():
            if getattr(account, key) != value:
                setattr(account, key, value)
                changed = True
        if extra and {**(account.attributes or {}), **extra} != account.attributes:
            account.attributes = {**(account.attributes or {}), **extra}
            changed = True
        updated += changed
    return accounts, created, updated


def _link_members(
    *, session: Session, members: dict[str, str], accounts: dict[str, Account]
) -> tuple[int, int]:
    """Link each user to its group's account (creating unknown contacts); returns the
    contacts created and the links made."""
    aliases = _canonical(session=session, ids=members)
    canonical = {aliases.get(user, user): group for user, group in members.items()}
    contacts = _contacts_by_external_id(session=session, ids=canonical)
    new_contacts = links = 0
    for user_id, group_id in canonical.items():
        account = accounts[group_id]
        contact = contacts.get(user_id)
        if contact is None:
            contact = Contact(external_id=user_id, name=user_id, account_id=account.id, traits={})
            session.add(contact)
            new_contacts += 1
            links += 1
        elif contact.account_id != account.id:
            contact.account_id = account.id
            links += 1
        else:
            continue
        session.flush()
        timeline_events.contact_joined_account(
            session=session,
            account_id=account.id,
            account=account.name,
            contact_id=contact.id,
            contact=contact.name,
            who=contact.email or user_id,
        )
    return new_contacts, links


def _link_from_context(*, session: Session, events: pa.Table) -> int:
    """An identify or track with ``context.groupId`` links a contact that has no account yet."""
    has_both = pc.and_(
        pc.is_valid(events.column("user_id")), pc.is_valid(events.column("group_id"))
    )
    pairs = events.filter(has_both).select(["user_id", "group_id"])
    if pairs.num_rows == 0:
        return 0
    latest = {row["user_id"]: row["group_id"] for row in pairs.to_pylist()}
    contacts = {
        uid: c
        for uid, c in _contacts_by_external_id(session=session, ids=latest).items()
        if c.account_id is None
    }
    if not contacts:
        return 0
    accounts = _accounts_by_external_id(session=session, ids=(latest[uid] for uid in contacts))
    links = 0
    for user_id, contact in contacts.items():
        account = accounts.get(latest[user_id])
        if account is not None:
            contact.account_id = account.id
            links += 1
    session.flush()
    return links


def _resolve_groups(*, session: Session, events: pa.Table) -> tuple[pa.Table, int]:
    group = events.column("group_id")
    missing = pc.is_null(group)
    if not pc.any(missing).as_py():
        return events, 0
    users = events.column("user_id").filter(missing).drop_null().unique().to_pylist()
    anonymous = events.column("anonymous_id").filter(missing).drop_null().unique().to_pylist()
    aliases = _canonical(session=session, ids=[*users, *anonymous])
    wanted = {aliases.get(i, i) for i in (*users, *anonymous)}
    account_of: dict[str, str] = {}
    for chunk in _chunks(wanted):
        for contact_id, account_id in session.execute(
            select(Contact.external_id, Account.external_id)
            .join(Account, Account.id == Contact.account_id)
            .where(Contact.external_id.in_(chunk))
        ):
            if contact_id is not None:
                account_of[contact_id] = account_id
    by_id = {i: account_of.get(aliases.get(i, i)) for i in (*users, *anonymous)}
    by_id = {k: v for k, v in by_id.items() if v is not None}
    if not by_id:
        return events, 0
    keys = pa.array(list(by_id), pa.string())
    values = pa.array(list(by_id.values()), pa.string())
    from_user = pc.take(values, pc.index_in(events.column("user_id"), value_set=keys))
    from_anon = pc.take(values, pc.index_in(events.column("anonymous_id"), value_set=keys))
    filled = pc.coalesce(group, from_user, from_anon)
    resolved = int(pc.sum(pc.and_(missing, pc.is_valid(filled))).as_py() or 0)
    index = events.schema.get_field_index("group_id")
    return events.set_column(index, events.schema.field("group_id"), filled), resolved


def _mark_seen(*, session: Session, events: pa.Table) -> None:
    """contacts.last_seen_at: the latest event of each known user in the batch."""
    with_user = events.filter(pc.is_valid(events.column("user_id")))
    if with_user.num_rows == 0:
        return
    latest = with_user.group_by("user_id").aggregate([("timestamp", "max")])
    newest = dict(
        zip(
            latest.column("user_id").to_pylist(),
            latest.column("timestamp_max").to_pylist(),
            strict=True,
        )
    )
    table = cast(Table, Contact.__table__)
    params = []
    for chunk in _chunks(newest):
        for external_id, seen in session.connection().execute(
            select(table.c.external_id, table.c.last_seen_at).where(table.c.external_id.in_(chunk))
        ):
            if seen is None or seen < newest[external_id]:
                params.append({"uid": external_id, "ts": newest[external_id]})
    if params:
        session.connection().execute(
            update(table)
            .where(table.c.external_id == bindparam("uid"))
            .values(last_seen_at=bindparam("ts")),
            params,
        )
