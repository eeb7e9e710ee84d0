"""What ``boomerang import`` can load, by name only, so the CLI can say so without
importing the models (:mod:`boomerang.imports.service` re-exports ``KINDS`` and checks it
against :data:`boomerang.imports.records.KINDS`)."""

from __future__ import annotations

RECORD_KINDS = ("accounts", "contacts", "subscriptions", "tickets", "invoices", "survey_responses")
"""The keys of :data:`boomerang.imports.records.KINDS`, in its order."""

KINDS = (*RECORD_KINDS, "events")
"""Every kind of file ``boomerang import`` takes."""
