"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from boomerang.accounts.models import Account, Contact, ContactRoleLink
from boomerang.advocacy.models import AdvocacyAsk, Referral
from boomerang.billing.models import Invoice, Subscription
from boomerang.churn.models import ChurnModel, ChurnPrediction
from boomerang.clv.tables import AccountValue
from boomerang.escalations.models import Escalation, EscalationContact, EscalationPerson
from boomerang.expansion.models import Opportunity
from boomerang.feedback.models import (
    CustomerGroup,
    CustomerGroupMeeting,
    CustomerGroupMember,
    FeatureRequest,
    FeedbackItem,
)
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
from boomerang.mail.models import OutboxImage, OutboxMessage
from boomerang.metrics.models import FxRate
from boomerang.playbooks.models import PlaybookMatch, PlaybookRun, PlaybookState, PlaybookVersion
from boomerang.renewals.models import Renewal
from boomerang.reviews.models import BusinessReview, ReviewDeck
from boomerang.segments.models import Segment, SegmentMembership
from boomerang.success.models import (
    PlanKpi,
    PlanKpiValue,
    PlanMilestone,
    PlanObjective,
    PlanOutcome,
    PlanTemplate,
    SuccessPlan,
)
from boomerang.support.models import Ticket
from boomerang.surveys.models import (
    SurveyProgram,
    SurveyRecipient,
    SurveyResponse,
    SurveyTheme,
)
from boomerang.tasks.models import Task
from boomerang.timeline.models import TimelineEntry
from boomerang.users.models import ApiToken, User
from boomerang.value.models import DigestSubscription, ValueMetric
from boomerang.webhooks.models import OutboundEndpoint, WebhookDelivery, WebhookSource

__all__ = [
    "Account",
    "AccountValue",
    "AdvocacyAsk",
    "ApiToken",
    "BusinessReview",
    "ChurnModel",
    "ChurnPrediction",
    "Contact",
    "ContactRoleLink",
    "CustomerGroup",
    "CustomerGroupMeeting",
    "CustomerGroupMember",
    "DigestSubscription",
    "Escalation",
    "EscalationContact",
    "EscalationPerson",
    "FeatureRequest",
    "FeedbackItem",
    "FxRate",
    "HealthMeasure",
    "HealthOverride",
    "HealthScore",
    "IdentityAlias",
    "ImportRun",
    "Invoice",
    "Job",
    "MilestoneMet",
    "Opportunity",
    "OutboundEndpoint",
    "OutboxImage",
    "OutboxMessage",
    "PlanKpi",
    "PlanKpiValue",
    "PlanMilestone",
    "PlanObjective",
    "PlanOutcome",
    "PlanTemplate",
    "PlaybookMatch",
    "PlaybookRun",
    "PlaybookState",
    "PlaybookVersion",
    "Referral",
    "Renewal",
    "ReviewDeck",
    "ScorecardVersion",
    "Segment",
    "SegmentMembership",
    "Subscription",
    "SuccessPlan",
    "SurveyProgram",
    "SurveyRecipient",
    "SurveyResponse",
    "SurveyTheme",
    "Task",
    "Ticket",
    "TimelineEntry",
    "User",
    "ValueMetric",
    "WebhookDelivery",
    "WebhookSource",
    "WriteKey",
]
