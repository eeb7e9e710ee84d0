"""NPS and feedback: the NPS, CSAT and CES answers of the period with their comments."""

from __future__ import annotations

import statistics

from boomerang.reviews.sections.base import Context, Point, Section, Stat
from boomerang.reviews.sections.facts import nps, survey_answers
from boomerang.surveys.models import SurveyKind


def nps_and_feedback(ctx: Context) -> Section:
    """NPS, CSAT and CES answers in the period, with what people wrote."""
    section = Section("feedback", "NPS and feedback")
    answers = survey_answers(ctx)
    by_kind: dict[SurveyKind, list[int]] = {}
    for r in answers:
        by_kind.setdefault(r.survey, []).append(r.score)
    score = nps(by_kind.get(SurveyKind.nps, []))
    ctx.facts["nps"] = score
    section.stats.append(
        Stat(
            "NPS",
            "—" if score is None else f"{score:+d}",
            f"{len(by_kind.get(SurveyKind.nps, []))} responses",
        )
    )
    if SurveyKind.csat in by_kind:
        section.stats.append(Stat("CSAT", f"{statistics.fmean(by_kind[SurveyKind.csat]):.1f} / 5"))
    if SurveyKind.ces in by_kind:
        section.stats.append(
            Stat("Ease of use (CES)", f"{statistics.fmean(by_kind[SurveyKind.ces]):.1f} / 7")
        )
    for r in answers:
        if r.comment and len(section.points) < 5:
            section.points.append(
                Point(f"“{r.comment.strip()[:280]}” ({r.survey.value.upper()} {r.score})")
            )
    section.lead = (
        f"{len(answers)} survey answers in {ctx.period.title}."
        if answers
        else "No survey answers in the period."
    )
    return section
