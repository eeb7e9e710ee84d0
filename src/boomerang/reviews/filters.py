"""The status filters of the review list (standard library only, so that the CLI can name
them in its help without importing the service and SQLAlchemy)."""

from __future__ import annotations

STATUS_FILTERS = ("open", "overdue", "scheduled", "prepared", "held", "cancelled", "all")
