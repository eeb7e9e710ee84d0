"""The statuses, channels and group kinds of feedback (standard library only, so that the
CLI can offer them in its options without importing the models and SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class RequestStatus(StrEnum):
    new = "new"
    planned = "planned"
    shipped = "shipped"
    declined = "declined"


class Channel(StrEnum):
    csm_note = "csm_note"
    ticket = "ticket"
    survey = "survey"
    api = "api"
    other = "other"


class GroupKind(StrEnum):
    advisory_board = "advisory_board"
    focus_group = "focus_group"
