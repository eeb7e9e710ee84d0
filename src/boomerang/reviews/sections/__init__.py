"""The sections of a business review, one module per section (or per small group of them).

Each section function reads the operational store (and, for usage, the event source with
set-based queries over the one account's events) for one account and period and returns a
:class:`~boomerang.reviews.sections.base.Section`; :mod:`boomerang.reviews.content` puts
them together.
"""
