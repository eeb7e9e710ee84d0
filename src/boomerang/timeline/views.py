"""UI: adding a note, call or meeting to an account's timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from boomerang.accounts import service as accounts_service
from boomerang.errors import Invalid
from boomerang.timeline import service as timeline_service
from boomerang.timeline.models import EntryKind
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser, require_writer

router = APIRouter(include_in_schema=False)

MANUAL_KINDS = (EntryKind.note, EntryKind.call, EntryKind.meeting)


@router.post("/accounts/{ref}/timeline", dependencies=[CSRFChecked])
def add_entry(
    ref: str,
    session: SessionDep,
    user: UIUser,
    body: Annotated[str, Form(max_length=timeline_service.MAX_BODY)],
    kind: Annotated[EntryKind, Form()] = EntryKind.note,
) -> Response:
    require_writer(user)
    if kind not in MANUAL_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(k.value for k in MANUAL_KINDS)}")
    account = accounts_service.get_by_ref(session=session, ref=ref)
    timeline_service.create(session=session, account=account, kind=kind, body=body, author=user)
    return RedirectResponse(f"/accounts/{account.id}#timeline", status_code=303)
