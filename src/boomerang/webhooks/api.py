"""``POST /v1/hooks/{source}``: signed pushes from a support or billing system."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from boomerang.errors import BoomerangError
from boomerang.web.deps import SessionDep
from boomerang.webhooks import service

router = APIRouter(prefix="/v1/hooks", tags=["webhooks"])


class PayloadTooLarge(BoomerangError):
    status_code = 413


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > service.MAX_BODY:
        raise PayloadTooLarge(f"body is larger than {service.MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > service.MAX_BODY:
            raise PayloadTooLarge(f"body is larger than {service.MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{source}")
async def receive(source: str, request: Request, session: SessionDep) -> JSONResponse:
    """Verify the signature, then apply the delivery once (by its event id)."""
    body = await _body(request)
    now = datetime.now(UTC)
    # The session is synchronous: the short database work runs in the thread pool.
    from starlette.concurrency import run_in_threadpool

    def handle() -> service.Outcome:
        found = service.active_source(session=session, name=source)
        service.verify(found, request.headers.get(service.SIGNATURE_HEADER), body, now)
        return service.receive(session=session, source=found, body=body, now=now)

    outcome = await run_in_threadpool(handle)
    payload = {"status": outcome.status, "event_id": outcome.event_id, "type": outcome.event_type}
    if outcome.status == "rejected":
        return JSONResponse({**payload, "detail": outcome.error}, status_code=422)
    return JSONResponse(payload)
