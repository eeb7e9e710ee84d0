"""Success plan templates: a YAML file of them validated and saved, and the template that
fits an account (by segment, else journey stage)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account
from boomerang.errors import Invalid, NotFound
from boomerang.health.scorecard import load_yaml
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.success.models import (
    PlanTemplate,
)
from boomerang.success.schemas import (
    TemplatesFile,
)


def parse_templates(text: str, *, origin: str) -> TemplatesFile:
    """Validate a YAML file of plan templates; Invalid naming the file, line and field."""
    from boomerang.value.service import validated

    node, data = load_yaml(text, origin=origin)
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a templates file is a mapping with 'templates: [...]'")
    return validated(TemplatesFile, data, node, origin)


def save_templates(*, session: Session, templates: TemplatesFile) -> tuple[int, int]:
    """Create or replace templates by key. Returns (created, updated)."""
    created = updated = 0
    for definition in templates.templates:
        segment_id = None
        if definition.segment:
            segment_id = session.scalar(
                select(Segment.id).where(Segment.name == definition.segment)
            )
            if segment_id is None:
                raise Invalid(
                    f"template {definition.key}: segment: no segment {definition.segment!r}"
                )
        row = session.scalar(select(PlanTemplate).where(PlanTemplate.key == definition.key))
        if row is None:
            row = PlanTemplate(key=definition.key)
            session.add(row)
            created += 1
        else:
            updated += 1
        row.name, row.segment_id, row.stage = definition.name, segment_id, definition.stage
        row.definition = definition.model_dump(mode="json")
    session.flush()
    return created, updated


def list_templates(*, session: Session) -> list[PlanTemplate]:
    return list(session.scalars(select(PlanTemplate).order_by(PlanTemplate.key)))


def get_template(*, session: Session, key: str) -> PlanTemplate:
    row = session.scalar(select(PlanTemplate).where(PlanTemplate.key == key))
    if row is None:
        raise NotFound(f"no plan template {key!r}")
    return row


def template_for(*, session: Session, account: Account) -> PlanTemplate | None:
    """The template for the account: one for a segment it is in, else one for its journey
    stage, else None (first by key when several match)."""
    by_segment = session.scalar(
        select(PlanTemplate)
        .join(SegmentMembership, SegmentMembership.segment_id == PlanTemplate.segment_id)
        .where(SegmentMembership.account_id == account.id, SegmentMembership.left_at.is_(None))
        .order_by(PlanTemplate.key)
        .limit(1)
    )
    if by_segment is not None:
        return by_segment
    return session.scalar(
        select(PlanTemplate)
        .where(PlanTemplate.stage == account.stage, PlanTemplate.segment_id.is_(None))
        .order_by(PlanTemplate.key)
        .limit(1)
    )
