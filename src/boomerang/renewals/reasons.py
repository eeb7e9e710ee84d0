"""The reason codes of a renewal outcome (standard library only, so that the CLI can name
them in its help without importing the forecast, the models and SQLAlchemy)."""

from __future__ import annotations

# Why a renewal contracted or churned (recorded on the outcome, and as the account's
# churn reason when it leaves, which the revenue report's churn reasons read).
REASON_CODES: dict[str, str] = {
    "price": "price or budget",
    "product_fit": "product does not fit the need",
    "competitor": "moved to a competitor",
    "adoption": "low adoption, value not seen",
    "champion_left": "champion or sponsor left",
    "acquired": "acquired or merged",
    "service": "support or service quality",
    "downsizing": "company downsized",
    "other": "other (see the note)",
}
