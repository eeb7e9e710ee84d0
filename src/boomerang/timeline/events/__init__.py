"""The timeline's entries, one function per kind of entry: what each says lives here.

Domains call the function of what happened (``events.task_completed(...)``,
``events.ticket_opened(...)``) instead of building a :class:`TimelineEntry` themselves.
Each function takes plain values (ids, names, dates), never another domain's objects, so
the timeline imports none of the domains that write on it. The functions add (and, but for
:func:`email_sent` and the health overrides, flush) the entry; the caller owns the
transaction.

The functions live in modules by subject (:mod:`.activity`, :mod:`.changes`,
:mod:`.commercial`, :mod:`.escalations`); this package is their public face.
"""

from __future__ import annotations

from boomerang.timeline.events.activity import email_sent as email_sent
from boomerang.timeline.events.activity import group_meeting_held as group_meeting_held
from boomerang.timeline.events.activity import note_logged as note_logged
from boomerang.timeline.events.activity import review_held as review_held
from boomerang.timeline.events.activity import success_milestone_met as success_milestone_met
from boomerang.timeline.events.activity import success_plan_created as success_plan_created
from boomerang.timeline.events.activity import task_cancelled as task_cancelled
from boomerang.timeline.events.activity import task_completed as task_completed
from boomerang.timeline.events.activity import unsubscribed as unsubscribed
from boomerang.timeline.events.base import MANUAL_KINDS as MANUAL_KINDS
from boomerang.timeline.events.base import MAX_BODY as MAX_BODY
from boomerang.timeline.events.changes import StageMove as StageMove
from boomerang.timeline.events.changes import (
    account_created_from_product as account_created_from_product,
)
from boomerang.timeline.events.changes import contact_joined_account as contact_joined_account
from boomerang.timeline.events.changes import feature_shipped as feature_shipped
from boomerang.timeline.events.changes import health_overridden as health_overridden
from boomerang.timeline.events.changes import health_override_revoked as health_override_revoked
from boomerang.timeline.events.changes import journey_stages_entered as journey_stages_entered
from boomerang.timeline.events.changes import signal_received as signal_received
from boomerang.timeline.events.changes import stage_set_by_playbook as stage_set_by_playbook
from boomerang.timeline.events.changes import stages_set_by_playbook as stages_set_by_playbook
from boomerang.timeline.events.changes import subscription_cancelled as subscription_cancelled
from boomerang.timeline.events.changes import survey_answered as survey_answered
from boomerang.timeline.events.changes import ticket_opened as ticket_opened
from boomerang.timeline.events.changes import ticket_solved as ticket_solved
from boomerang.timeline.events.changes import vector_overridden as vector_overridden
from boomerang.timeline.events.changes import vectors_changed as vectors_changed
from boomerang.timeline.events.commercial import advocate_answered as advocate_answered
from boomerang.timeline.events.commercial import advocate_asked as advocate_asked
from boomerang.timeline.events.commercial import opportunity_lost as opportunity_lost
from boomerang.timeline.events.commercial import opportunity_opened as opportunity_opened
from boomerang.timeline.events.commercial import opportunity_won as opportunity_won
from boomerang.timeline.events.commercial import referral_made as referral_made
from boomerang.timeline.events.commercial import referral_moved as referral_moved
from boomerang.timeline.events.commercial import referral_reward_paid as referral_reward_paid
from boomerang.timeline.events.commercial import renewal_recorded as renewal_recorded
from boomerang.timeline.events.escalations import escalation_moved_up as escalation_moved_up
from boomerang.timeline.events.escalations import escalation_opened as escalation_opened
from boomerang.timeline.events.escalations import escalation_resolved as escalation_resolved
from boomerang.timeline.events.escalations import escalation_update_sent as escalation_update_sent

__all__ = [
    "MANUAL_KINDS",
    "MAX_BODY",
    "StageMove",
    "account_created_from_product",
    "advocate_answered",
    "advocate_asked",
    "contact_joined_account",
    "email_sent",
    "escalation_moved_up",
    "escalation_opened",
    "escalation_resolved",
    "escalation_update_sent",
    "feature_shipped",
    "group_meeting_held",
    "health_overridden",
    "health_override_revoked",
    "journey_stages_entered",
    "note_logged",
    "opportunity_lost",
    "opportunity_opened",
    "opportunity_won",
    "referral_made",
    "referral_moved",
    "referral_reward_paid",
    "renewal_recorded",
    "review_held",
    "signal_received",
    "stage_set_by_playbook",
    "stages_set_by_playbook",
    "subscription_cancelled",
    "success_milestone_met",
    "success_plan_created",
    "survey_answered",
    "task_cancelled",
    "task_completed",
    "ticket_opened",
    "ticket_solved",
    "unsubscribed",
    "vector_overridden",
    "vectors_changed",
]
