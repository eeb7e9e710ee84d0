"""success plans and value

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "value_metrics",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("count", "sum", name="value_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("property", sa.String(length=100), nullable=True),
        sa.Column("factor", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_value_metrics")),
        sa.UniqueConstraint("key", name=op.f("uq_value_metrics_key")),
    )
    op.create_table(
        "plan_templates",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("segment_id", sa.String(length=32), nullable=True),
        sa.Column(
            "stage",
            sa.Enum(
                "onboarding",
                "adoption",
                "performance",
                "transformation",
                "advocacy",
                "churned",
                name="plan_template_stage",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=True,
        ),
        sa.Column(
            "definition",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_plan_templates_segment_id_segments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_templates")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_templates_key")),
    )
    op.create_index(
        op.f("ix_plan_templates_segment_id"), "plan_templates", ["segment_id"], unique=False
    )
    op.create_table(
        "success_plans",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "active",
                "completed",
                "archived",
                name="plan_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("template_key", sa.String(length=64), nullable=True),
        sa.Column("share_nonce", sa.String(length=32), nullable=False),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_success_plans_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_success_plans_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plans")),
    )
    op.create_index(
        "ix_success_plans_account_id_status",
        "success_plans",
        ["account_id", "status"],
        unique=False,
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column(
            "frequency",
            sa.Enum(
                "weekly",
                "monthly",
                name="digest_frequency",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_digest_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_digest_subscriptions_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_digest_subscriptions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
        sa.UniqueConstraint("contact_id", name=op.f("uq_digest_subscriptions_contact_id")),
    )
    op.create_index(
        op.f("ix_digest_subscriptions_account_id"),
        "digest_subscriptions",
        ["account_id"],
        unique=False,
    )
    op.create_table(
        "plan_kpis",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "increase",
                "decrease",
                name="kpi_direction",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "manual",
                "measure",
                "value_metric",
                name="kpi_source",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_plan_kpis_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_kpis")),
    )
    op.create_index(op.f("ix_plan_kpis_plan_id"), "plan_kpis", ["plan_id"], unique=False)
    op.create_table(
        "plan_outcomes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_plan_outcomes_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_outcomes")),
    )
    op.create_index(op.f("ix_plan_outcomes_plan_id"), "plan_outcomes", ["plan_id"], unique=False)
    op.create_table(
        "outbox_images",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("outbox_id", sa.String(length=32), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name=op.f("fk_outbox_images_outbox_id_outbox"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_images")),
    )
    op.create_index(
        op.f("ix_outbox_images_outbox_id"), "outbox_images", ["outbox_id"], unique=False
    )
    op.create_table(
        "plan_kpi_values",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kpi_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("origin", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kpi_id"],
            ["plan_kpis.id"],
            name=op.f("fk_plan_kpi_values_kpi_id_plan_kpis"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_plan_kpi_values_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_kpi_values")),
        sa.UniqueConstraint("kpi_id", "as_of", name="uq_plan_kpi_values_kpi_id_as_of"),
    )
    op.create_table(
        "plan_objectives",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("outcome_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("customer_owner_id", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "dropped",
                name="objective_status",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_owner_id"],
            ["contacts.id"],
            name=op.f("fk_plan_objectives_customer_owner_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outcome_id"],
            ["plan_outcomes.id"],
            name=op.f("fk_plan_objectives_outcome_id_plan_outcomes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_plan_objectives_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_plan_objectives_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_objectives")),
    )
    op.create_index(
        op.f("ix_plan_objectives_plan_id"), "plan_objectives", ["plan_id"], unique=False
    )
    op.create_table(
        "plan_milestones",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("objective_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("target_on", sa.Date(), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_id"],
            ["plan_objectives.id"],
            name=op.f("fk_plan_milestones_objective_id_plan_objectives"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_plan_milestones_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_milestones")),
    )
    op.create_index(
        op.f("ix_plan_milestones_plan_id"), "plan_milestones", ["plan_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_milestones_plan_id"), table_name="plan_milestones")
    op.drop_table("plan_milestones")
    op.drop_index(op.f("ix_plan_objectives_plan_id"), table_name="plan_objectives")
    op.drop_table("plan_objectives")
    op.drop_table("plan_kpi_values")
    op.drop_index(op.f("ix_outbox_images_outbox_id"), table_name="outbox_images")
    op.drop_table("outbox_images")
    op.drop_index(op.f("ix_plan_outcomes_plan_id"), table_name="plan_outcomes")
    op.drop_table("plan_outcomes")
    op.drop_index(op.f("ix_plan_kpis_plan_id"), table_name="plan_kpis")
    op.drop_table("plan_kpis")
    op.drop_index(op.f("ix_digest_subscriptions_account_id"), table_name="digest_subscriptions")
    op.drop_table("digest_subscriptions")
    op.drop_index("ix_success_plans_account_id_status", table_name="success_plans")
    op.drop_table("success_plans")
    op.drop_index(op.f("ix_plan_templates_segment_id"), table_name="plan_templates")
    op.drop_table("plan_templates")
    op.drop_table("value_metrics")
