"""``email: {to: [champion], subject: "...", text: "...", html: "...", approval: false}``:
an email to the account's contacts holding those roles, through the outbox (held for a
manager's approval with ``approval``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from boomerang.accounts.models import Contact, ContactRole, ContactRoleLink
from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template, render
from boomerang.playbooks.steps.base import Outcome, Result, Runtime, StepKind, chunked, only

if TYPE_CHECKING:
    from boomerang.mail.batch import EmailBatch
    from boomerang.mail.models import OutboxMessage
    from boomerang.playbooks.context import Context


class EmailStep(StepKind):
    kind: ClassVar[str] = "email"
    order: ClassVar[int] = 20

    to: list[Literal["champion", "sponsor", "decision_maker", "admin", "user"]] = Field(
        min_length=1
    )
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=50_000)
    html: str | None = Field(default=None, max_length=200_000)
    approval: bool = False

    _t = field_validator("subject", "text", "html")(
        lambda v: None if v is None else check_template(v)
    )

    def run(self, runtime: Runtime) -> Outcome:
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """The emails of every run through one outbox batch: the contacts holding the roles
        read in one query, the caps and dedupe keys of all their emails in two."""
        from boomerang.mail import service as mail_service

        if not runtimes:
            return []
        ctx = runtimes[0].ctx
        if ctx.settings is None:
            return [Invalid("email steps need the settings (SMTP sender)") for _ in runtimes]
        holding = self._holding(ctx, [r.account.id for r in runtimes])
        batch = mail_service.open_batch(
            session=ctx.session,
            settings=ctx.settings,
            now=ctx.now,
            recipients=[(c, None) for contacts in holding.values() for c in contacts],
            dedupe_keys=[_key(r, c) for r in runtimes for c in holding.get(r.account.id, [])],
        )
        sent: list[list[tuple[str, OutboxMessage | str | None]] | Invalid] = []
        for runtime in runtimes:
            try:
                sent.append(self._send(batch, runtime, holding.get(runtime.account.id, [])))
            except Invalid as exc:
                sent.append(exc)
        lost = {m.id for m in batch.flush()}
        return [s if isinstance(s, Invalid) else _outcome(s, lost) for s in sent]

    def _holding(self, ctx: Context, account_ids: list[str]) -> dict[str, list[Contact]]:
        """The accounts' contacts holding the step's roles, by name."""
        holding = select(ContactRoleLink.contact_id).where(
            ContactRoleLink.role.in_([ContactRole(r) for r in self.to])
        )
        out: dict[str, list[Contact]] = {}
        for chunk in chunked(sorted(set(account_ids))):
            for contact in ctx.session.scalars(
                select(Contact)
                .options(lazyload(Contact.role_links))
                .where(Contact.account_id.in_(chunk), Contact.id.in_(holding))
                .order_by(Contact.account_id, Contact.name, Contact.id)
            ):
                out.setdefault(contact.account_id or "", []).append(contact)
        return out

    def _send(
        self, batch: EmailBatch, runtime: Runtime, contacts: list[Contact]
    ) -> list[tuple[str, OutboxMessage | str | None]]:
        """(contact id, its message, None when queued before, or why it was not sent)."""
        from boomerang.mail import service as mail_service

        out: list[tuple[str, OutboxMessage | str | None]] = []
        for contact in contacts:
            values = {**runtime.values(), "contact": {"name": contact.name}}
            try:
                queued = batch.enqueue(
                    account=runtime.account,
                    to_contact=contact,
                    subject=render(self.subject, values, kind="text"),
                    text=render(self.text, values, kind="text"),
                    html=render(self.html, values, kind="html") if self.html else None,
                    source=runtime.source,
                    dedupe_key=_key(runtime, contact),
                    require_approval=self.approval,
                )
            except mail_service.EmailRefused as exc:
                out.append((contact.id, exc.message))
                continue
            out.append((contact.id, queued))
        return out

    def describe(self, values: dict[str, Any]) -> str:
        return f"email to {', '.join(self.to)}: {self.subject}"


def _key(runtime: Runtime, contact: Contact) -> str:
    """The dedupe key of the run's email to ``contact`` at this step."""
    return f"{runtime.run.id}:{runtime.run.position}:{contact.id}"


def _outcome(sent: list[tuple[str, OutboxMessage | str | None]], lost: set[str]) -> Outcome:
    """The run-log entry: the messages queued, and why the others were not."""
    emails: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for contact_id, queued in sent:
        if isinstance(queued, str):
            skipped.append({"contact": contact_id, "why": queued})
        elif queued is None or queued.id in lost:
            skipped.append({"contact": contact_id, "why": "already queued"})
        else:
            emails.append({"contact": contact_id, "message": queued.id})
    return Outcome({"emails": emails, "not_sent": skipped})
