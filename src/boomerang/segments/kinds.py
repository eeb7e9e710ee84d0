"""The touch models of a tier (standard library only, so that the CLI can offer them in its
options without importing the models and SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class TouchModel(StrEnum):
    high_touch = "high_touch"
    low_touch = "low_touch"
    tech_touch = "tech_touch"
