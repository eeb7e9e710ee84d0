"""renewals and expansion

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "advocacy_asks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "reference",
                "review",
                "case_study",
                "referral",
                name="advocacy_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "asked",
                "agreed",
                "declined",
                "completed",
                name="advocacy_ask_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("asked_by_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_advocacy_asks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["asked_by_id"],
            ["users.id"],
            name=op.f("fk_advocacy_asks_asked_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_advocacy_asks_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advocacy_asks")),
    )
    with op.batch_alter_table("advocacy_asks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_advocacy_asks_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "ix_advocacy_asks_contact_id_asked_at", ["contact_id", "asked_at"], unique=False
        )

    op.create_table(
        "expansion_opportunities",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column(
            "signal",
            sa.Enum(
                "seat_utilisation",
                "positive_vector",
                "feature_limits",
                "new_teams",
                "manual",
                name="expansion_signal",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("open_signal", sa.String(length=30), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("estimated_arr", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "identified",
                "qualified",
                "proposed",
                "won",
                "lost",
                name="opportunity_stage",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=True),
        sa.Column("won_arr", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("subscription_id", sa.String(length=32), nullable=True),
        sa.Column("lost_reason", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "estimated_arr >= 0", name=op.f("ck_expansion_opportunities_estimated_arr_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_expansion_opportunities_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_expansion_opportunities_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_expansion_opportunities_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_expansion_opportunities_subscription_id_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expansion_opportunities")),
        sa.UniqueConstraint(
            "account_id", "open_signal", name="uq_expansion_opportunities_open_per_signal"
        ),
    )
    with op.batch_alter_table("expansion_opportunities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_expansion_opportunities_stage_detected_at", ["stage", "detected_at"], unique=False
        )

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=True),
        sa.Column("prospect_name", sa.String(length=300), nullable=False),
        sa.Column("prospect_email", sa.String(length=320), nullable=True),
        sa.Column("referred_account_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "referred",
                "contacted",
                "qualified",
                "won",
                "lost",
                name="referral_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("incentive", sa.String(length=300), nullable=True),
        sa.Column("reward_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "reward_status",
            sa.Enum(
                "none",
                "due",
                "paid",
                name="referral_reward_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("referred_on", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reward_paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "reward_amount IS NULL OR reward_amount >= 0",
            name=op.f("ck_referrals_reward_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_referrals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_referrals_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_referrals_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referred_account_id"],
            ["accounts.id"],
            name=op.f("fk_referrals_referred_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_account_id"), ["account_id"], unique=False)
        batch_op.create_index(
            "ix_referrals_status_referred_on", ["status", "referred_on"], unique=False
        )

    op.create_table(
        "renewals",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("probability_override", sa.Float(), nullable=True),
        sa.Column(
            "category_override",
            sa.Enum(
                "commit",
                "best_case",
                "at_risk",
                name="forecast_category",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("override_by_id", sa.String(length=32), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum(
                "renewed",
                "expanded",
                "contracted",
                "churned",
                name="renewal_outcome",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column("reason_code", sa.String(length=50), nullable=True),
        sa.Column("new_arr", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("new_subscription_id", sa.String(length=32), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("outcome_by_id", sa.String(length=32), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "probability_override IS NULL OR (probability_override >= 0 AND probability_override <= 1)",
            name=op.f("ck_renewals_probability_range"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_renewals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["new_subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_renewals_new_subscription_id_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outcome_by_id"],
            ["users.id"],
            name=op.f("fk_renewals_outcome_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["override_by_id"],
            ["users.id"],
            name=op.f("fk_renewals_override_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_renewals_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewals")),
        sa.UniqueConstraint("subscription_id", name=op.f("uq_renewals_subscription_id")),
    )
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renewals_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewals_account_id"))

    op.drop_table("renewals")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_status_referred_on")
        batch_op.drop_index(batch_op.f("ix_referrals_account_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("expansion_opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_expansion_opportunities_stage_detected_at")

    op.drop_table("expansion_opportunities")
    with op.batch_alter_table("advocacy_asks", schema=None) as batch_op:
        batch_op.drop_index("ix_advocacy_asks_contact_id_asked_at")
        batch_op.drop_index(batch_op.f("ix_advocacy_asks_account_id"))

    op.drop_table("advocacy_asks")
