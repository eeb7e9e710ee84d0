"""UI: adding a note, call or meeting to an account's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.timeline import events
from boomerang.timeline.models import EntryKind
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer

router = APIRouter(include_in_schema=False)


@router.post("/accounts/{ref}/timeline", dependencies=[CSRFChecked])
def add_entry(
    ref: str,
    session: SessionDep,
    user: UIUser,
    body: Annotated[str, Form(max_length=events.MAX_BODY)],
    kind: Annotated[EntryKind, Form()] = EntryKind.note,
) -> Response:
    require_writer(user)
    if kind not in events.MANUAL_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(k.value for k in events.MANUAL_KINDS)}")
    account = accounts_service.get_by_ref(session=session, ref=ref)
    events.note_logged(session=session, account_id=account.id, kind=kind, body=body, author=user)
    return RedirectResponse(f"/accounts/{account.id}#timeline", status_code=303)
