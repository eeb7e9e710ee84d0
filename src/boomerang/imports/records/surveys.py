"""Importing survey responses (NPS, CSAT, CES): upserted by external id, with their account
and contact; each score checked against its survey's scale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from boomerang.imports import values as v
from boomerang.imports.records.planning import (
    load_existing,
    mapped,
    resolve_accounts,
    resolve_contacts,
    upsert,
    write,
)
from boomerang.imports.records.rows import Counts, Errors, Field, Kind, Parsed, Resolved
from boomerang.surveys.models import SCALES as SURVEY_SCALES
from boomerang.surveys.models import SurveyKind, SurveyResponse

SURVEY_FIELDS = (
    Field("external_id", v.text(200), required=True, help="the response's id"),
    Field("account", v.text(200), required=True, help="external id of the account"),
    Field("contact", v.text(320), help="who answered: contact email or external id"),
    Field("survey", v.enum(SurveyKind), on_insert=True, help="nps (0-10), csat (1-5), ces (1-7)"),
    Field("score", v.integer(0, 10), on_insert=True, help="the answer on the survey's scale"),
    Field("comment", v.text(10_000)),
    Field("responded_at", v.timestamp, on_insert=True),
)
_SURVEY_ATTRS = {
    "external_id": "external_id",
    "account": "account_id",
    "contact": "contact_id",
    "survey": "survey",
    "score": "score",
    "comment": "comment",
    "responded_at": "responded_at",
}


def plan_surveys(
    *,
    session: Session,
    rows: list[Parsed],
    resolved: Resolved,
    errors: Errors,
    counts: Counts,
    today: date,
) -> Callable[[], None]:
    """Check the survey answers (account, contact, scale) and decide each one's change."""
    resolve_accounts(session=session, rows=rows, resolved=resolved, errors=errors)
    resolve_contacts(session=session, rows=rows, resolved=resolved, errors=errors)
    existing = load_existing(
        session=session,
        model=SurveyResponse,
        column=SurveyResponse.external_id,
        keys=[r.values["external_id"] for r in rows],
    )
    items = []
    for row in rows:
        values = row.values
        kind, score = values.get("survey"), values.get("score")
        if kind is not None and score is not None:
            low, high = SURVEY_SCALES[kind]
            if not low <= score <= high:
                errors.add(
                    row.line,
                    resolved.columns.get("score"),
                    f"{score} is outside the {kind.value} scale {low}-{high}",
                )
                continue
        items.append((row, values["external_id"], mapped(row, _SURVEY_ATTRS)))
    changes = upsert(
        items,
        existing,
        counts,
        errors,
        resolved,
        {"survey": "survey", "score": "score", "responded_at": "responded_at"},
    )
    return lambda: write(session=session, model=SurveyResponse, changes=changes)


KIND = Kind(
    "survey_responses",
    SURVEY_FIELDS,
    key="external_id",
    plan=plan_surveys,
    description="NPS, CSAT and CES answers",
)
