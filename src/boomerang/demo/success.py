"""Success plans for the demo company: three plan templates (by journey stage) and a plan
for every live mid-market and enterprise account, started 30 to 150 days before ``today``,
with milestones met and KPI values that follow the account's health (green accounts meet
most milestones on time, red ones few), and KPIs bound to health measures refreshed.

Deterministic for a demo seed: start days, which milestones are met and KPI values come
from a hash of the account's external id and its health colour, never from the clock.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.analytics.source import EventSource
from boomerang.config import Settings
from boomerang.health.models import HealthScore
from boomerang.success import service
from boomerang.success.models import KpiSource, PlanKpi, PlanKpiValue
from boomerang.success.schemas import TemplatesFile

TEMPLATES = TemplatesFile.model_validate(
    {
        "templates": [
            {
                "key": "onboarding",
                "name": "Onboarding to first value",
                "stage": "onboarding",
                "outcomes": ["Every team works in the product, not in spreadsheets"],
                "objectives": [
                    {"title": "Connect the CRM and SSO", "due_days": 14},
                    {"title": "Train the team leads", "due_days": 30},
                ],
                "milestones": [
                    {"title": "Kick-off call held", "due_days": 7},
                    {"title": "Integrations connected", "due_days": 21},
                    {"title": "First workflow automated", "due_days": 45},
                    {"title": "Half of the seats active", "due_days": 75},
                ],
                "kpis": [
                    {
                        "name": "Active days in the last 30",
                        "baseline": 0,
                        "target": 15,
                        "due_days": 90,
                        "source": "measure",
                        "source_key": "active_days",
                    },
                    {"name": "Hours saved per week", "unit": "hours", "baseline": 0, "target": 10},
                ],
            },
            {
                "key": "adoption",
                "name": "Broad adoption",
                "stage": "adoption",
                "outcomes": ["Reporting takes hours, not days"],
                "objectives": [{"title": "Roll out to every region", "due_days": 60}],
                "milestones": [
                    {"title": "Adoption workshop", "due_days": 14},
                    {"title": "Second department live", "due_days": 45},
                    {"title": "Executive dashboard in use", "due_days": 90},
                ],
                "kpis": [
                    {
                        "name": "Share of key features used",
                        "baseline": 0.2,
                        "target": 0.8,
                        "due_days": 120,
                        "source": "measure",
                        "source_key": "feature_depth",
                    },
                    {"name": "Hours saved per week", "unit": "hours", "baseline": 5, "target": 25},
                ],
            },
            {
                "key": "performance",
                "name": "Measurable business results",
                "stage": "performance",
                "outcomes": ["Close the books in three days", "Cut manual data entry by half"],
                "objectives": [{"title": "Automate the month-end workflow", "due_days": 60}],
                "milestones": [
                    {"title": "Success criteria agreed with the sponsor", "due_days": 10},
                    {"title": "Month-end workflow automated", "due_days": 60},
                    {"title": "Results presented at the business review", "due_days": 100},
                ],
                "kpis": [
                    {
                        "name": "Days to close the books",
                        "unit": "days",
                        "baseline": 10,
                        "target": 3,
                        "due_days": 120,
                    },
                    {
                        "name": "Active days in the last 30",
                        "baseline": 10,
                        "target": 20,
                        "source": "measure",
                        "source_key": "active_days",
                    },
                ],
            },
        ]
    }
)
MET_CHANCE = {"green": 90, "yellow": 60, "red": 25}
PACE = {"green": 1.1, "yellow": 0.7, "red": 0.3}


def _hash(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def seed(*, session: Session, settings: Settings, source: EventSource, today: date) -> str:
    """Templates and a plan per live mid-market and enterprise account; one-line summary."""
    service.save_templates(session=session, templates=TEMPLATES)
    templates = {t.key: t for t in service.list_templates(session=session)}
    latest = (
        select(HealthScore.account_id, func.max(HealthScore.as_of).label("day"))
        .where(HealthScore.as_of <= today)
        .group_by(HealthScore.account_id)
        .subquery()
    )
    colour = dict(
        session.execute(
            select(HealthScore.account_id, HealthScore.colour).join(
                latest,
                (latest.c.account_id == HealthScore.account_id)
                & (latest.c.day == HealthScore.as_of),
            )
        ).all()
    )
    accounts = session.scalars(
        select(Account)
        .where(Account.churned_at.is_(None), Account.tier.in_(["mid_market", "enterprise"]))
        .order_by(Account.external_id)
    ).all()
    plans = met = milestones = 0
    for account in accounts:
        if service.current_plan(session=session, account_id=account.id) is not None:
            continue
        h = _hash(account.external_id)
        start = today - timedelta(days=30 + h % 121)
        template = service.template_for(session=session, account=account) or templates["adoption"]
        plan = service.create_plan(
            session=session,
            account=account,
            title=f"{account.name}: {template.name.lower()}",
            template=template,
            today=start,
        )
        health = colour.get(account.id, "yellow")
        for m in plan.milestones:
            milestones += 1
            roll = _hash(account.external_id, m.title)
            if m.target_on <= today and roll % 100 < MET_CHANCE.get(health, 60):
                m.achieved_on = min(today, m.target_on + timedelta(days=int(roll >> 8) % 9 - 4))
                met += 1
        for k in plan.kpis:
            if k.source is KpiSource.manual:
                _history(session, k, start, today, PACE.get(health, 0.7), h)
        plans += 1
    session.flush()
    refreshed = service.refresh_kpis(session=session, source=source, as_of=today)
    return (
        f"{plans} success plans from {len(templates)} templates, {met} of {milestones} "
        f"milestones met, {refreshed} KPIs refreshed from health measures"
    )


def _history(session: Session, kpi: PlanKpi, start: date, today: date, pace: float, h: int) -> None:
    """Weekly values moving from the baseline toward the target at ``pace`` (1: on time)."""
    span = (kpi.target_on or start + timedelta(days=120)) - start
    day, week = start, 0
    while day <= today:
        share = min(1.2, pace * (day - start).days / max(1, span.days))
        wobble = ((h >> (week % 40)) % 11 - 5) / 100
        value = kpi.baseline + (kpi.target - kpi.baseline) * (share + wobble)
        session.add(PlanKpiValue(kpi_id=kpi.id, as_of=day, value=round(value, 2), origin="manual"))
        day += timedelta(days=7)
        week += 1
