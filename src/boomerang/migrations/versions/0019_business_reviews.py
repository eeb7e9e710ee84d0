"""business reviews

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "business_reviews",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "prepared",
                "held",
                "cancelled",
                name="review_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("internal_notes", sa.Text(), nullable=False),
        sa.Column("product_notes", sa.Text(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meeting_notes", sa.Text(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("prep_task_id", sa.String(length=32), nullable=True),
        sa.Column("meeting_task_id", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_business_reviews_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_business_reviews_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prep_task_id"],
            ["tasks.id"],
            name=op.f("fk_business_reviews_prep_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_task_id"],
            ["tasks.id"],
            name=op.f("fk_business_reviews_meeting_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_business_reviews_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_reviews")),
        sa.UniqueConstraint("account_id", "period", name=op.f("uq_business_reviews_account_id")),
    )
    with op.batch_alter_table("business_reviews", schema=None) as batch_op:
        batch_op.create_index(
            "ix_business_reviews_status_due_on", ["status", "due_on"], unique=False
        )
        batch_op.create_index(
            "ix_business_reviews_owner_id_status", ["owner_id", "status"], unique=False
        )

    op.create_table(
        "review_decks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("review_id", sa.String(length=32), nullable=False),
        sa.Column(
            "format",
            sa.Enum("html", "pdf", name="deck_format", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("generated_by_id", sa.String(length=32), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["business_reviews.id"],
            name=op.f("fk_review_decks_review_id_business_reviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["generated_by_id"],
            ["users.id"],
            name=op.f("fk_review_decks_generated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decks")),
    )
    with op.batch_alter_table("review_decks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decks_review_id"), ["review_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("review_decks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decks_review_id"))
    op.drop_table("review_decks")
    with op.batch_alter_table("business_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_business_reviews_owner_id_status")
        batch_op.drop_index("ix_business_reviews_status_due_on")
    op.drop_table("business_reviews")
