"""UI: the admin Jobs page (the queue by status and kind, the latest jobs, retries)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from boomerang.errors import Forbidden
from boomerang.jobs import service
from boomerang.jobs.models import JobStatus
from boomerang.users.models import Role, User
from boomerang.web.deps import CSRFChecked, SessionDep, UIUser
from boomerang.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE = "/admin/jobs"
LATEST = 100


def require_admin(user: User) -> User:
    if user.role is not Role.admin:
        raise Forbidden("only admins see the job queue")
    return user


@router.get(PAGE)
def jobs_page(
    request: Request, session: SessionDep, user: UIUser, status: JobStatus | None = None
) -> Response:
    """Counts by status and kind, and the latest jobs with their errors."""
    require_admin(user)
    return render(
        request,
        "jobs/index.html",
        {
            "counts": service.counts(session=session),
            "jobs": service.list_jobs(session=session, status=status, limit=LATEST),
            "statuses": list(JobStatus),
            "status": status,
        },
    )


@router.post(f"{PAGE}/{{job_id}}/retry", dependencies=[CSRFChecked])
def retry_job(job_id: str, session: SessionDep, user: UIUser) -> Response:
    """Queue a dead (or failed) job again now."""
    require_admin(user)
    service.retry(session=session, job_id=job_id)
    return RedirectResponse(f"{PAGE}#job-{job_id}", status_code=303)
