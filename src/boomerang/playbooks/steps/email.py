"""``email: {to: [champion], subject: "...", text: "...", html: "...", approval: false}``:
an email to the account's contacts holding those roles, through the outbox (held for a
manager's approval with ``approval``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator
from sqlalchemy import select

from boomerang.accounts.models import Contact, ContactRole, ContactRoleLink
from boomerang.errors import Invalid
from boomerang.playbooks.rendering import check_template, render
from boomerang.playbooks.steps.base import Outcome, Runtime, StepKind


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
        from boomerang.mail import service as mail_service

        ctx, run, account = runtime.ctx, runtime.run, runtime.account
        holding = select(ContactRoleLink.contact_id).where(
            ContactRoleLink.role.in_([ContactRole(r) for r in self.to])
        )
        contacts = ctx.session.scalars(
            select(Contact)
            .where(Contact.account_id == account.id, Contact.id.in_(holding))
            .order_by(Contact.name, Contact.id)
        ).all()
        sent: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        if ctx.settings is None:
            raise Invalid("email steps need the settings (SMTP sender)")
        for contact in contacts:
            values = {**runtime.values(), "contact": {"name": contact.name}}
            try:
                queued = mail_service.enqueue(
                    session=ctx.session,
                    settings=ctx.settings,
                    account=account,
                    to_contact=contact,
                    subject=render(self.subject, values),
                    text=render(self.text, values),
                    html=render(self.html, values) if self.html else None,
                    source=runtime.source,
                    dedupe_key=f"{run.id}:{run.position}:{contact.id}",
                    require_approval=self.approval,
                    now=ctx.now,
                )
            except mail_service.EmailRefused as exc:
                skipped.append({"contact": contact.id, "why": exc.message})
                continue
            if queued is None:
                skipped.append({"contact": contact.id, "why": "already queued"})
            else:
                sent.append({"contact": contact.id, "message": queued.id})
        return Outcome({"emails": sent, "not_sent": skipped})

    def describe(self, values: dict[str, Any]) -> str:
        return f"email to {', '.join(self.to)}: {self.subject}"
