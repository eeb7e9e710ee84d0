"""The kinds of survey and the triggers of a program (standard library only, so that the
CLI can offer them in its options without importing the models and SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class SurveyKind(StrEnum):
    nps = "nps"  # 0-10: how likely to recommend
    csat = "csat"  # 1-5: satisfaction
    ces = "ces"  # 1-7: customer effort (higher: easier)


class ProgramTrigger(StrEnum):
    """When a program surveys its contacts."""

    schedule = "schedule"  # every ``every_days`` days
    after_onboarding = "after_onboarding"  # ``delay_days`` after the first contract started
    after_ticket = "after_ticket"  # ``delay_days`` after a ticket was solved
    manual = "manual"  # only when sent by hand, the API or a playbook step
