"""REST: ``GET /api/v1/accounts/{ref}/health``."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from boomerang.accounts import service as accounts_service
from boomerang.errors import NotFound
from boomerang.health import service
from boomerang.health.schemas import HealthOut
from boomerang.web.deps import APIUser, SessionDep

router = APIRouter(prefix="/api/v1/accounts", tags=["health"])


@router.get("/{ref}/health", response_model=HealthOut)
def account_health(
    ref: str,
    session: SessionDep,
    user: APIUser,
    scorecard: Annotated[str, Query(max_length=100)] = "default",
    as_of: Annotated[date | None, Query(description="The snapshot on or before this day")] = None,
) -> HealthOut:
    """The account's score, colour, scorecard version, every measure, trend and history."""
    account = accounts_service.get_by_ref(session=session, ref=ref)
    explained = service.explain(
        session=session, account=account, scorecard_name=scorecard, as_of=as_of
    )
    if explained is None:
        raise NotFound(f"account {ref!r} has no {scorecard} health score yet")
    return HealthOut.of(explained)
