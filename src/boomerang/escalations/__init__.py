"""Escalations: a customer problem moved up support, account manager and executive."""
