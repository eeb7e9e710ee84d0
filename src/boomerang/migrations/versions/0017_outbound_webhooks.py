"""outbound webhooks; inbound deliveries remember their account and signal data; list
segments

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = ("tickets", "billing")
KINDS_AFTER = ("tickets", "billing", "signals")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="webhook_kind", native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "outbound_endpoints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_endpoints")),
        sa.UniqueConstraint("name", name=op.f("uq_outbound_endpoints_name")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_webhook_deliveries_account_id_accounts"),
            "accounts",
            ["account_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _kinds(KINDS_BEFORE, KINDS_AFTER)
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manual", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("health_overrides", schema=None) as batch_op:
        batch_op.alter_column("score", existing_type=sa.Float(), nullable=True)
        batch_op.add_column(sa.Column("vector", sa.String(length=10), nullable=True))


def _kinds(before: tuple[str, ...], after: tuple[str, ...]) -> None:
    """Swap the CHECK constraint that lists the webhook kinds."""
    if op.get_bind().dialect.name == "sqlite":  # SQLite: the table is copied
        with op.batch_alter_table("webhook_sources", recreate="always") as batch_op:
            batch_op.alter_column("kind", existing_type=_kind(before), type_=_kind(after))
        return
    op.drop_constraint(op.f("ck_webhook_sources_webhook_kind"), "webhook_sources", type_="check")
    listed = ", ".join(f"'{k}'" for k in after)
    op.create_check_constraint("webhook_kind", "webhook_sources", f"kind IN ({listed})")


def downgrade() -> None:
    op.execute("DELETE FROM health_overrides WHERE score IS NULL")
    with op.batch_alter_table("health_overrides", schema=None) as batch_op:
        batch_op.drop_column("vector")
        batch_op.alter_column("score", existing_type=sa.Float(), nullable=False)
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_column("manual")
    _kinds(KINDS_AFTER, KINDS_BEFORE)
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_webhook_deliveries_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_account_id"))
        batch_op.drop_column("data")
        batch_op.drop_column("account_id")
    op.drop_table("outbound_endpoints")
