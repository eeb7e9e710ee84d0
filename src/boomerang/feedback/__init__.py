"""Feedback and feature requests ranked by the ARR asking, and customer groups."""
