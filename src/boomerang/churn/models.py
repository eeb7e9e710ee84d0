"""Trained churn models and the predictions they made."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from boomerang.db import Base, JSONType, UTCDateTime, new_id, utcnow


class ChurnModel(Base):
    """One trained model: its version, what it was trained on and how it did out of time.

    ``artifact`` is the fitted scikit-learn pipeline, pickled by Boomerang itself (never
    loaded from anywhere else).
    """

    __tablename__ = "churn_models"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cmd"))
    version: Mapped[int] = mapped_column(Integer, unique=True)
    horizon_days: Mapped[int] = mapped_column(Integer)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    trained_through: Mapped[date] = mapped_column(Date)
    features: Mapped[list[str]] = mapped_column(JSONType, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)


class ChurnPrediction(Base):
    """An account's probability of churning or contracting within the model's horizon."""

    __tablename__ = "churn_predictions"
    __table_args__ = (
        Index("ix_churn_predictions_account_id_as_of", "account_id", "as_of"),
        Index("ix_churn_predictions_as_of_probability", "as_of", "probability"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cpr"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    model_id: Mapped[str] = mapped_column(ForeignKey("churn_models.id", ondelete="CASCADE"))
    model_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    probability: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))
    # [{"feature": ..., "value": ..., "contribution": log-odds}], largest |contribution| first
    drivers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
