"""UI: the outbox page (approvals, dead letters, recent mail) for admins and managers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.errors import Forbidden
from boomerang.mail import service as mail_service
from boomerang.mail.models import MessageStatus
from boomerang.users.models import Role, User
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/outbox"
ROLES = (Role.admin, Role.manager)


def require_outbox_role(user: User) -> User:
    if user.role not in ROLES:
        raise Forbidden("only admins and managers manage the outbox")
    return user


@router.get(PAGE)
def outbox(request: Request, session: SessionDep, user: UIUser) -> Response:
    """Counts by status, emails waiting for approval, dead letters and recent sent mail."""
    require_outbox_role(user)
    return render(
        request,
        "mail/outbox.html",
        {
            "counts": mail_service.counts(session=session),
            "pending": mail_service.list_by_status(
                session=session, status=MessageStatus.pending_approval, limit=100
            ),
            "dead": mail_service.list_by_status(
                session=session, status=MessageStatus.dead, limit=100
            ),
            "failed": mail_service.list_by_status(
                session=session, status=MessageStatus.failed, limit=50
            ),
            "sent": mail_service.list_by_status(
                session=session, status=MessageStatus.sent, limit=50
            ),
        },
    )


@router.post(f"{PAGE}/{{message_id}}/approve", dependencies=[CSRFChecked])
def approve(message_id: str, session: SessionDep, user: UIUser) -> Response:
    require_outbox_role(user)
    message = mail_service.get(session=session, message_id=message_id)
    mail_service.approve(session=session, message=message, user=user)
    return RedirectResponse(f"{PAGE}#pending", status_code=303)


@router.post(f"{PAGE}/{{message_id}}/cancel", dependencies=[CSRFChecked])
def cancel(message_id: str, session: SessionDep, user: UIUser) -> Response:
    require_outbox_role(user)
    mail_service.cancel(
        session=session, message=mail_service.get(session=session, message_id=message_id)
    )
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/{{message_id}}/retry", dependencies=[CSRFChecked])
def retry(message_id: str, session: SessionDep, user: UIUser) -> Response:
    require_outbox_role(user)
    mail_service.retry_dead(
        session=session, message=mail_service.get(session=session, message_id=message_id)
    )
    return RedirectResponse(f"{PAGE}#dead", status_code=303)
