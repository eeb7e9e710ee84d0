"""Churn risk: a model trained on the company's own history, with reasons per account."""
