"""UI: the model lab, one form per analysis, the result shown under it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from boomerang.errors import Invalid
from boomerang.lab import service
from boomerang.web.deps import CSRFChecked, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/lab")
def lab_page(request: Request, user: UIUser) -> Response:
    return render(
        request, "lab/index.html", {"result": None, "analysis": None, "error": None, "form": {}}
    )


@router.post("/lab/{analysis}", dependencies=[CSRFChecked])
async def lab_run(analysis: str, request: Request, user: UIUser) -> Response:
    form = dict(await request.form())
    result: dict[str, Any] | None = None
    error = None
    try:
        result = await run_in_threadpool(service.run, analysis, form)
    except Invalid as exc:
        error = exc.message
    shown = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    return render(
        request,
        "lab/index.html",
        {"result": result, "analysis": analysis, "error": error, "form": shown},
        status_code=422 if error else 200,
    )
