"""A small company for the schema fuzz (tests/web/test_api_fuzz.py): one of each thing the
API's paths and bodies refer to, made through the API itself where it can be, and the ids
to hint to the fuzzer so that its requests reach past the 404."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.accounts import service as accounts_service
from boomerang.accounts.models import ContactRole
from boomerang.ingest import service as ingest_service
from boomerang.segments import service as segments_service
from boomerang.webhooks import service as webhooks_service
from tests.factories import add_line, make_account

PLAYBOOK = """\
name: fuzz-red
title: Health turned red
trigger:
  condition: "colour = 'red'"
steps:
  - task: {title: "Call {{ account.name }}", due_in_days: 2}
"""


@dataclass
class Company:
    """Real ids by path parameter (per path prefix where a name means several things), and
    real values for body and query fields that name something."""

    paths: dict[tuple[str, str], str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    write_key: str = ""

    def path_parameters(self, path: str, names: list[str]) -> dict[str, str]:
        """The real value of each of ``names`` on ``path`` that has one."""
        out: dict[str, str] = {}
        for name in names:
            matches = [
                (p, v) for (n, p), v in self.paths.items() if n == name and path.startswith(p)
            ]
            if matches:
                out[name] = max(matches, key=lambda m: len(m[0]))[1]
        return out


def _ok(response: Any, what: str) -> dict[str, Any]:
    assert response.status_code < 300, (what, response.status_code, response.text)
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def _accounts(session: Session, company: Company) -> None:
    account = make_account(session, name="Fuzz Co", external_id="fuzz-co")
    line = add_line(session, account, 24_000, date(2025, 1, 1), renewal=date(2026, 12, 1))
    contact = accounts_service.create_contact(
        session=session,
        account=account,
        name="Ada Fuzz",
        email="ada@fuzz.example",
        roles=[ContactRole.champion],
    )
    segment = segments_service.create(session=session, name="Fuzz list", condition=None)
    segments_service.add_member(session=session, segment=segment, account_id=account.id)
    webhooks_service.create_source(session=session, name="zendesk", kind="tickets")
    company.write_key = ingest_service.create_key(session=session, name="fuzz")[1]
    session.flush()
    company.fields |= {"account": account.id, "contact": contact.id, "segment": segment.name}
    company.paths |= {
        ("ref", "/api/v1/accounts/"): account.id,
        ("ref", "/api/v1/value/accounts/"): account.id,
        ("ref", "/api/v1/segments/"): segment.name,
        ("account", "/api/v1/segments/"): account.id,
        ("source", "/v1/hooks/"): "zendesk",
        ("subscription_id", "/api/v1/renewals/"): line.id,
    }


def seed(client: TestClient, session: Session, headers: dict[str, str], owner: str) -> Company:
    """Make the company; ``headers`` authenticate as an admin whose email is ``owner``."""
    company = Company()
    _accounts(session, company)
    account, contact = company.fields["account"], company.fields["contact"]
    company.fields["owner"] = owner

    def post(path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        return _ok(client.request(method, path, json=body, headers=headers), path)

    p = company.paths
    task = post("/api/v1/tasks", {"account": account, "title": "Call", "due_on": "2026-12-01"})
    p[("task_id", "/api/v1/tasks/")] = task["id"]
    post(
        "/api/v1/outbound-webhooks",
        {"name": "crm", "url": "https://crm.example.com/hook", "events": ["ping"]},
    )
    p[("name", "/api/v1/outbound-webhooks/")] = "crm"
    program = post("/api/v1/surveys/programs", {"name": "Fuzz NPS", "kind": "nps"})
    p[("ref", "/api/v1/surveys/programs/")] = program["id"]
    theme = post("/api/v1/surveys/themes", {"name": "speed", "keywords": ["slow"]}, "PUT")
    p[("ref", "/api/v1/surveys/themes/")] = theme.get("id", "speed")
    request = post("/api/v1/feedback/requests", {"title": "Dark mode"})
    p[("ref", "/api/v1/feedback/requests/")] = request["id"]
    company.fields["request"] = request["id"]
    item = post("/api/v1/feedback", {"account": account, "text": "Please add dark mode"})
    p[("item_id", "/api/v1/feedback/")] = item["id"]
    group = post("/api/v1/feedback/groups", {"name": "Board", "kind": "advisory_board"})
    p[("ref", "/api/v1/feedback/groups/")] = group["id"]
    post(f"/api/v1/feedback/groups/{group['id']}/members", {"contact": contact})
    p[("contact_id", "/api/v1/feedback/groups/")] = contact
    post(
        "/api/v1/value/metrics",
        {"key": "reports", "name": "Reports", "kind": "count", "event": "Report Run"},
    )
    p[("key", "/api/v1/value/metrics/")] = "reports"
    digest = post(f"/api/v1/value/accounts/{account}/digests", {"contact": contact})
    p[("subscription_id", "/api/v1/value/digests/")] = digest["id"]
    _plan(post, company)
    escalation = post(
        "/api/v1/escalations", {"account": account, "problem": "Outage", "severity": 2}
    )
    p[("escalation_id", "/api/v1/escalations/")] = escalation["id"]
    override = post(
        f"/api/v1/accounts/{account}/health/overrides", {"score": 40, "reason": "Churn call"}
    )
    p[("override_id", "/api/v1/accounts/")] = override["id"]
    opportunity = post(
        "/api/v1/expansion", {"account": account, "title": "More seats", "estimated_arr": 5000}
    )
    p[("opportunity_id", "/api/v1/expansion/")] = opportunity["id"]
    ask = post("/api/v1/advocacy/asks", {"contact": contact, "kind": "reference"})
    p[("ask_id", "/api/v1/advocacy/asks/")] = ask["id"]
    referral = post("/api/v1/advocacy/referrals", {"account": account, "prospect_name": "Acme"})
    p[("referral_id", "/api/v1/advocacy/referrals/")] = referral["id"]
    review = post("/api/v1/reviews", {"account": account, "due_on": "2026-12-15"})
    p[("review_id", "/api/v1/reviews/")] = review["id"]
    deck = post(f"/api/v1/reviews/{review['id']}/decks", {"format": "html"})
    p[("deck_id", "/api/v1/reviews/")] = deck["id"]
    saved = client.put(
        "/api/v1/playbooks/fuzz-red",
        content=PLAYBOOK,
        headers={**headers, "Content-Type": "text/yaml"},
    )
    _ok(saved, "playbook")
    p[("name", "/api/v1/playbooks/")] = "fuzz-red"
    p[("analysis", "/api/v1/lab/")] = "clv-fit"
    return company


def _plan(post: Any, company: Company) -> None:
    p = company.paths
    plan = post("/api/v1/plans", {"account": company.fields["account"], "title": "Adoption"})
    p[("plan_id", "/api/v1/plans/")] = plan["id"]
    plan = post(f"/api/v1/plans/{plan['id']}/objectives", {"title": "Roll out"})
    p[("objective_id", "/api/v1/plans/objectives/")] = plan["objectives"][0]["id"]
    plan = post(
        f"/api/v1/plans/{plan['id']}/milestones", {"title": "Live", "target_on": "2026-12-31"}
    )
    p[("milestone_id", "/api/v1/plans/milestones/")] = plan["milestones"][0]["id"]
    plan = post(f"/api/v1/plans/{plan['id']}/kpis", {"name": "Users", "baseline": 10, "target": 50})
    p[("kpi_id", "/api/v1/plans/kpis/")] = plan["kpis"][0]["id"]
