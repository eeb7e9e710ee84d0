"""Queueing many emails at once (a playbook step for every account it fired for).

A batch applies the rules of :func:`boomerang.mail.enqueue.enqueue`, the same functions, in
the same order: the content is checked, a dedupe key enqueued before gives None, the
recipient may be refused (no address, unsubscribed, inactive) or over its frequency cap,
approval holds the message. What the rules read (the dedupe keys, the emails counted by the
caps, the unsubscribed contacts of bare addresses) is loaded for every recipient the batch
is opened with in a few queries, and the messages the batch queues count for the caps of
the next ones, as they would one by one. :meth:`EmailBatch.flush` inserts them together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.db import new_id
from boomerang.errors import Invalid
from boomerang.mail.enqueue import (
    EmailRefused,
    bare_address,
    cap_since,
    check_cap,
    check_wanted,
    checked_content,
    contact_address,
    counted,
    insert_message,
    lock_contacts,
    new_message,
    unsubscribed_by_address,
)
from boomerang.mail.models import OutboxMessage
from boomerang.mail.templates import Rendered

CHUNK = 5000  # values per IN (...)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _address_or_none(contact: Contact | None, to_address: str | None) -> str | None:
    """The recipient's address; None when it has none or it is not one (``enqueue`` says
    so when it comes to it)."""
    try:
        return contact_address(contact, to_address) if contact else bare_address(to_address)
    except (Invalid, EmailRefused):
        return None


@dataclass
class EmailBatch:
    """Emails queued together in the caller's transaction (see the module)."""

    session: Session
    settings: Settings
    now: datetime
    _keys: set[str] = field(default_factory=set)  # enqueued: in the outbox or this batch
    _looked_up: set[str] = field(default_factory=set)  # dedupe keys read
    _by_address: dict[str, set[str]] = field(default_factory=dict)  # counted message ids
    _by_contact: dict[str, set[str]] = field(default_factory=dict)
    _addresses: set[str] = field(default_factory=set)  # addresses whose counts are read
    _contacts: set[str] = field(default_factory=set)  # contacts locked, their counts read
    _unsubscribed: dict[str, Contact] = field(default_factory=dict)
    _bare: set[str] = field(default_factory=set)  # bare addresses read
    _pending: list[OutboxMessage] = field(default_factory=list)

    def load(
        self,
        *,
        recipients: Iterable[tuple[Contact | None, str | None]] = (),
        dedupe_keys: Iterable[str] = (),
    ) -> None:
        """Read what the rules need for ``recipients`` ((contact, to_address) pairs, as
        ``enqueue`` takes them) and ``dedupe_keys``, but what was read already."""
        keys = sorted(set(dedupe_keys) - self._looked_up)
        for chunk in _chunks(keys):
            found = self.session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
            )
            self._keys.update(k for k in found if k is not None)
        self._looked_up.update(keys)
        contacts: dict[str, Contact] = {}
        addresses: set[str] = set()
        bare: set[str] = set()
        for contact, to_address in recipients:
            address = _address_or_none(contact, to_address)
            if contact is not None and contact.id not in self._contacts:
                contacts[contact.id] = contact
            if address is not None and address not in self._addresses:
                addresses.add(address)
            if contact is None and address is not None and address not in self._bare:
                bare.add(address)
        self._read_recipients(sorted(contacts), sorted(addresses), sorted(bare))

    def _read_recipients(
        self, contact_ids: list[str], addresses: list[str], bare: list[str]
    ) -> None:
        """Lock the contacts, read the emails their caps count and the unsubscribed
        contacts of the bare addresses."""
        for chunk in _chunks(contact_ids):
            lock_contacts(session=self.session, contact_ids=chunk)
        since = cap_since(self.settings, self.now)
        ids, addrs = list(_chunks(contact_ids)), list(_chunks(addresses))
        for i in range(max(len(ids), len(addrs))):
            who = or_(
                OutboxMessage.to_address.in_(addrs[i] if i < len(addrs) else []),
                OutboxMessage.contact_id.in_(ids[i] if i < len(ids) else []),
            )
            rows = self.session.execute(
                select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.contact_id).where(
                    who, counted(since)
                )
            )
            for message_id, address, contact_id in rows:
                self._count(message_id, address, contact_id)
        self._addresses.update(addresses)
        self._contacts.update(contact_ids)
        for chunk in _chunks(bare):
            self._unsubscribed.update(
                unsubscribed_by_address(session=self.session, addresses=chunk)
            )
        self._bare.update(bare)

    def _count(self, message_id: str, address: str, contact_id: str | None) -> None:
        self._by_address.setdefault(address, set()).add(message_id)
        if contact_id is not None:
            self._by_contact.setdefault(contact_id, set()).add(message_id)

    def _recent(self, address: str, contact: Contact | None) -> int:
        """Emails to this recipient the cap counts (``count_recent``), this batch's too."""
        ids = self._by_address.get(address, set())
        if contact is not None:
            ids = ids | self._by_contact.get(contact.id, set())
        return len(ids)

    def _recipient(
        self, to_contact: Contact | None, to_address: str | None
    ) -> tuple[Contact | None, str]:
        """(the contact, if known, and the address); EmailRefused as ``enqueue`` says."""
        contact = to_contact
        if contact is not None:
            address = contact_address(contact, to_address)
        else:
            address = bare_address(to_address)
        self.load(recipients=[(to_contact, to_address)])
        if contact is None:
            contact = self._unsubscribed.get(address)
        check_wanted(contact, address)
        return contact, address

    def enqueue(
        self,
        *,
        account: Account | None,
        to_contact: Contact | None = None,
        to_address: str | None = None,
        rendered: Rendered | None = None,
        subject: str | None = None,
        text: str | None = None,
        html: str | None = None,
        source: str,
        dedupe_key: str | None = None,
        require_approval: bool = False,
        from_name: str | None = None,
    ) -> OutboxMessage | None:
        """Queue one email as :func:`~boomerang.mail.enqueue.enqueue` does (the same
        arguments but images, the same None, refusals and errors), inserted by ``flush``."""
        if rendered is not None:
            subject, text, html = rendered.subject, rendered.text, rendered.html
        subject, text = checked_content(subject, text, source, ())
        if dedupe_key is not None:
            self.load(dedupe_keys=[dedupe_key])
            if dedupe_key in self._keys:
                return None
        contact, address = self._recipient(to_contact, to_address)
        check_cap(self.settings, address, self._recent(address, contact))
        message = new_message(
            settings=self.settings,
            account=account,
            contact=contact,
            address=address,
            subject=subject,
            text=text,
            html=html,
            source=source,
            dedupe_key=dedupe_key,
            require_approval=require_approval,
            from_name=from_name,
            when=self.now,
        )
        message.id = new_id("msg")
        self._pending.append(message)
        if dedupe_key is not None:
            self._keys.add(dedupe_key)
        self._count(message.id, address, message.contact_id)
        return message

    def flush(self) -> list[OutboxMessage]:
        """Insert the queued messages (one statement); returns those not inserted because
        a concurrent enqueue of the same dedupe key won (one by one, then)."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        try:
            with self.session.begin_nested():
                self.session.add_all(pending)
                self.session.flush()
        except IntegrityError:
            return [
                m
                for m in pending
                if insert_message(
                    session=self.session, message=m, images=(), dedupe_key=m.dedupe_key
                )
                is None
            ]
        return []


def open_batch(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    recipients: Iterable[tuple[Contact | None, str | None]] = (),
    dedupe_keys: Iterable[str] = (),
) -> EmailBatch:
    """A batch of emails queued at ``now``, what the rules read loaded for ``recipients``
    ((contact, to_address) pairs) and ``dedupe_keys``; others are read when they come."""
    batch = EmailBatch(session, settings, now)
    batch.load(recipients=recipients, dedupe_keys=dedupe_keys)
    return batch
