"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from boomerang.accounts.models import Account, Contact, ContactRoleLink
from boomerang.billing.models import Invoice, Subscription
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.clv.tables import AccountValue
from boomerang.escalations.models import Escalation, EscalationContact, EscalationPerson
from boomerang.health.models import (
    HealthMeasure,
    HealthOverride,
    HealthScore,
    ScorecardVersion,
)
from boomerang.imports.models import ImportRun
from boomerang.ingest.models import IdentityAlias, WriteKey
from boomerang.jobs.models import Job
from boomerang.journey.models import MilestoneMet
from boomerang.mail.models import OutboxMessage
from boomerang.metrics.models import FxRate
from boomerang.playbooks.models import PlaybookMatch, PlaybookRun, PlaybookState, PlaybookVersion
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.support.models import Ticket
from boomerang.surveys.models import SurveyResponse
from boomerang.tasks.models import Task
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import ApiToken, User
from boomerang.webhooks.models import WebhookDelivery, WebhookSource

__all__ = [
    "Account",
    "AccountValue",
    "ApiToken",
    "ChurnModel",
    "ChurnPrediction",
    "Contact",
    "ContactRoleLink",
    "Escalation",
    "EscalationContact",
    "EscalationPerson",
    "FxRate",
    "HealthMeasure",
    "HealthOverride",
    "HealthScore",
    "IdentityAlias",
    "ImportRun",
    "Invoice",
    "Job",
    "MilestoneMet",
    "OutboxMessage",
    "PlaybookMatch",
    "PlaybookRun",
    "PlaybookState",
    "PlaybookVersion",
    "ScorecardVersion",
    "Segment",
    "SegmentMembership",
    "Subscription",
    "SurveyResponse",
    "Task",
    "Ticket",
    "TimelineEntry",
    "User",
    "WebhookDelivery",
    "WebhookSource",
    "WriteKey",
]
