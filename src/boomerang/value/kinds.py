"""How often a value digest is sent (standard library only, so that the CLI can offer it in
its options without importing the models and SQLAlchemy)."""

from __future__ import annotations

from enum import StrEnum


class DigestFrequency(StrEnum):
    weekly = "weekly"
    monthly = "monthly"
