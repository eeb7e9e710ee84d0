"""Recommendations and next steps, drawn from the other sections, and the agreed actions."""

from __future__ import annotations

from boomerang.reviews.sections.base import Context, Point, Section, format_day
from boomerang.tasks import service as tasks_service


def recommendations(ctx: Context, sections: list[Section]) -> Section:
    """Next steps drawn from the other sections, and the open actions already agreed."""
    section = Section("next", "Recommendations and next steps")
    f = ctx.facts
    if f.get("seat_use") is not None and f["seat_use"] < 0.6:
        section.points.append(
            Point("Run an enablement session for the teams that are licensed but not active yet.")
        )
    if f.get("late_milestones"):
        section.points.append(
            Point(f"Agree a date and an owner to reach {f['late_milestones'][0]}.")
        )
    if f.get("open_escalations") or f.get("severe_tickets"):
        section.points.append(
            Point("Review the open support issues together and agree how we close them.")
        )
    if f.get("usage_trend") is not None and f["usage_trend"] <= -0.15:
        section.points.append(Point("Find out why usage fell and who could champion it again."))
    expansion = next((s for s in sections if s.key == "expansion"), None)
    if expansion is not None and expansion.public_points():
        section.points.append(Point("Explore the expansion opportunities above with the sponsor."))
    if f.get("nps") is None:
        section.points.append(Point("Ask your team for feedback: an NPS survey next quarter."))
    section.points.append(
        Point("Confirm the outcomes you want for next period and how we will measure them.")
    )
    open_tasks = tasks_service.list_tasks(
        session=ctx.session,
        filters=tasks_service.Filters(account_id=ctx.account.id),
        today=ctx.as_of,
        limit=5,
    )
    for task in open_tasks:
        if task.source.startswith("review:"):
            section.table.append(
                [task.title, format_day(task.due_on), task.owner.name if task.owner else "—"]
            )
    if section.table:
        section.table_head = ["Agreed action", "Due", "Owner"]
    return section
