"""UI: the Feedback page (requests ranked by ARR, recent feedback, customer groups) and
its forms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import Contact
from boomerang.errors import Invalid
from boomerang.feedback import service
from boomerang.feedback.models import RequestStatus
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.params import Day
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE = "/feedback"


@router.get(PAGE)
def feedback_page(
    request: Request, session: SessionDep, user: UIUser, done: str | None = None
) -> Response:
    return render(
        request,
        "feedback/index.html",
        {
            "ranked": service.ranked(session=session),
            "items": service.list_feedback(session=session, limit=50),
            "groups": service.list_groups(session=session),
            "statuses": [s.value for s in RequestStatus],
            "done": (done or "")[:200],
        },
    )


def _back(done: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={done.replace(' ', '+')}", status_code=303)


def _contact(session: Session, contact_id: str) -> Contact | None:
    if not contact_id.strip():
        return None
    contact = session.get(Contact, contact_id.strip())
    if contact is None:
        raise Invalid(f"contact: no contact {contact_id!r}")
    return contact


@router.post(PAGE, dependencies=[CSRFChecked])
def add_feedback(
    session: SessionDep,
    user: UIUser,
    account: Annotated[str, Form(max_length=200)],
    text: Annotated[str, Form(max_length=service.MAX_TEXT)],
    request: Annotated[str, Form(max_length=300)] = "",
    contact: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    acc = accounts_service.get_by_ref(session=session, ref=account.strip())
    service.add_feedback(
        session=session,
        account=acc,
        text=text,
        channel="csm_note",
        contact=_contact(session, contact),
        request=service.get_request(session=session, ref=request.strip())
        if request.strip()
        else None,
        by=user,
    )
    return _back("feedback added")


@router.post(f"{PAGE}/from-source", dependencies=[CSRFChecked])
def from_source(
    session: SessionDep,
    user: UIUser,
    source: Annotated[str, Form(max_length=200)],
    request: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Feedback from a survey comment or a ticket (the Surveys page's button)."""
    found = service.get_request(session=session, ref=request.strip()) if request.strip() else None
    item = service.from_source(session=session, source=source.strip(), request=found, by=user)
    return _back(f"feedback {item.id} added from {item.source_ref}")


@router.post(f"{PAGE}/requests", dependencies=[CSRFChecked])
def create_request(
    session: SessionDep,
    user: UIUser,
    title: Annotated[str, Form(max_length=service.MAX_TITLE)],
    description: Annotated[str, Form(max_length=service.MAX_TEXT)] = "",
) -> Response:
    found = service.create_request(session=session, title=title, description=description, by=user)
    return _back(f"request {found.title} created")


@router.post(f"{PAGE}/requests/{{ref}}/status", dependencies=[CSRFChecked])
def set_status(
    ref: str,
    request: Request,
    session: SessionDep,
    user: UIUser,
    status: Annotated[str, Form(max_length=20)],
) -> Response:
    found = service.get_request(session=session, ref=ref)
    result = service.set_status(
        session=session, request=found, status=status, settings=request.app.state.settings, by=user
    )
    note = f"{found.title} is {found.status.value}"
    if result.queued or result.refused:
        note += f": {len(result.queued)} emails queued, {len(result.refused)} refused"
    return _back(note)


@router.post(f"{PAGE}/groups", dependencies=[CSRFChecked])
def create_group(
    session: SessionDep,
    user: UIUser,
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    description: Annotated[str, Form(max_length=service.MAX_TEXT)] = "",
) -> Response:
    group = service.create_group(
        session=session, name=name, kind=kind, description=description, by=user
    )
    return _back(f"group {group.name} created")


@router.post(f"{PAGE}/groups/{{ref}}/members", dependencies=[CSRFChecked])
def add_member(
    ref: str,
    session: SessionDep,
    user: UIUser,
    contact: Annotated[str, Form(max_length=40)],
) -> Response:
    group = service.get_group(session=session, ref=ref)
    found = _contact(session, contact)
    if found is None:
        raise Invalid("contact: give a contact id")
    service.add_member(session=session, group=group, contact=found, by=user)
    return _back(f"{found.name} joined {group.name}")


@router.post(f"{PAGE}/groups/{{ref}}/meetings", dependencies=[CSRFChecked])
def add_meeting(
    ref: str,
    session: SessionDep,
    user: UIUser,
    held_on: Annotated[Day, Form()],
    title: Annotated[str, Form(max_length=service.MAX_TITLE)],
    notes: Annotated[str, Form(max_length=service.MAX_TEXT)] = "",
) -> Response:
    group = service.get_group(session=session, ref=ref)
    service.add_meeting(
        session=session, group=group, held_on=held_on, title=title, notes=notes, by=user
    )
    return _back(f"meeting of {group.name} added")
