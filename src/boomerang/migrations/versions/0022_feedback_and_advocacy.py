"""no schema change (feedback and advocacy tables came in 0020 and 0021); kept so that
databases stamped 0022 while the work was in progress still find their revision

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
