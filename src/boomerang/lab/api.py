"""REST: ``POST /api/v1/lab/{analysis}`` with a multipart file and the CLI's options."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from boomerang.lab import service
from boomerang.web.deps import APIUser

router = APIRouter(prefix="/api/v1/lab", tags=["lab"])


@router.post("/{analysis}")
async def run_analysis(analysis: str, request: Request, user: APIUser) -> dict[str, Any]:
    """``churn-evaluate`` (file, target, id, test_size, seed, model, positive), ``clv-fit``
    (file, customer, date, amount, calibration_end, model, unit, date_format),
    ``clv-predict`` (the same, horizon, discount_rate) or ``retention-fit`` (file, recency,
    T, cohort, periods, discount_rate): the same JSON as the CLI's ``--json``."""
    form = await request.form()
    return await run_in_threadpool(service.run, analysis, dict(form))
