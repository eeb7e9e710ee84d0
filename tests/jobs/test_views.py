"""The admin Jobs page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.jobs import service
from boomerang.jobs.models import Job, JobStatus
from boomerang.users.models import Role
from tests.factories import make_user
from tests.web.test_ui import csrf, login, soup


def _dead_job(session: Session) -> Job:
    job = service.enqueue(
        session=session, kind="outbox.deliver", payload={"message": "msg_1"}, max_attempts=1
    )
    assert job is not None
    claimed = service.claim(session=session, worker_id="host:1:1", kinds=["outbox.deliver"])
    assert claimed is not None
    service.fail(
        session=session,
        job=claimed,
        error="Traceback ...\nSMTPConnectError: mail.example.com refused",
    )
    session.refresh(job)
    return job


def test_admins_see_the_queue_and_retry_a_dead_job(client: TestClient, session: Session) -> None:
    admin = make_user(session, Role.admin)
    dead = _dead_job(session)
    service.enqueue(session=session, kind="health.daily")
    login(client, admin)
    r = client.get("/admin/jobs")
    assert r.status_code == 200
    page = soup(r.text)
    nav = [a.get_text(strip=True) for a in page.select("nav a")]
    assert "Jobs" in nav
    assert page.select_one('#by-status dd[data-status="dead"]').get_text() == "1"  # type: ignore[union-attr]
    assert page.select_one('#by-status dd[data-status="queued"]').get_text() == "1"  # type: ignore[union-attr]
    row = page.select_one(f"#job-{dead.id}")
    assert row is not None and row["data-status"] == "dead"
    assert "SMTPConnectError: mail.example.com refused" in row.get_text()
    assert row.select_one("form button") is not None
    assert len(page.select("#jobs form")) == 1  # only the dead job can be retried

    refused = client.post(f"/admin/jobs/{dead.id}/retry", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    r = client.post(
        f"/admin/jobs/{dead.id}/retry",
        data={"csrf_token": csrf(client, "/admin/jobs")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/admin/jobs#job-{dead.id}"
    session.refresh(dead)
    assert dead.status is JobStatus.queued and dead.attempts == 0
    only_dead = soup(client.get("/admin/jobs?status=dead").text)
    assert only_dead.select("#jobs tbody tr[data-status]") == []


def test_a_csm_may_not_see_the_jobs_page(client: TestClient, session: Session) -> None:
    login(client, make_user(session, Role.csm))
    assert client.get("/admin/jobs").status_code == 403
    nav = [a.get_text(strip=True) for a in soup(client.get("/accounts").text).select("nav a")]
    assert "Jobs" not in nav
