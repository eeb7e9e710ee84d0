"""Customer email: the outbox and its delivery through an SMTP server; the public face of
the mail domain.

The code lives in modules named by what they hold; this module re-exports their public
names for other domains:

* :mod:`~boomerang.mail.enqueue`: queueing an email (checks, refusals, frequency cap);
* :mod:`~boomerang.mail.batch`: queueing many at once (the same rules, a few queries);
* :mod:`~boomerang.mail.messages`: managing messages (approve, cancel, retry, counts);
* :mod:`~boomerang.mail.delivery`: the delivery passes and their at-least-once contract;
* :mod:`~boomerang.mail.smtp`: the SMTP connection, the MIME message, a test email.
"""

from __future__ import annotations

from boomerang.mail.batch import EmailBatch as EmailBatch
from boomerang.mail.batch import open_batch as open_batch
from boomerang.mail.delivery import BACKOFF_CAP_SECONDS as BACKOFF_CAP_SECONDS
from boomerang.mail.delivery import BACKOFF_SECONDS as BACKOFF_SECONDS
from boomerang.mail.delivery import LEASE_SECONDS as LEASE_SECONDS
from boomerang.mail.delivery import MAX_ATTEMPTS as MAX_ATTEMPTS
from boomerang.mail.delivery import MAX_ERROR as MAX_ERROR
from boomerang.mail.delivery import OUTAGE_RETRY_SECONDS as OUTAGE_RETRY_SECONDS
from boomerang.mail.delivery import RECORD_EVERY as RECORD_EVERY
from boomerang.mail.delivery import DeliveryResult as DeliveryResult
from boomerang.mail.delivery import backoff as backoff
from boomerang.mail.delivery import claim as claim
from boomerang.mail.delivery import default_worker_id as default_worker_id
from boomerang.mail.delivery import deliver_due as deliver_due
from boomerang.mail.delivery import snapshot as snapshot
from boomerang.mail.enqueue import MAX_IMAGE_BYTES as MAX_IMAGE_BYTES
from boomerang.mail.enqueue import EmailRefused as EmailRefused
from boomerang.mail.enqueue import InlineImage as InlineImage
from boomerang.mail.enqueue import RefusalReason as RefusalReason
from boomerang.mail.enqueue import count_recent as count_recent
from boomerang.mail.enqueue import enqueue as enqueue
from boomerang.mail.enqueue import new_message_id as new_message_id
from boomerang.mail.enqueue import normalise_address as normalise_address
from boomerang.mail.messages import approve as approve
from boomerang.mail.messages import cancel as cancel
from boomerang.mail.messages import counts as counts
from boomerang.mail.messages import get as get
from boomerang.mail.messages import list_by_status as list_by_status
from boomerang.mail.messages import retry_dead as retry_dead
from boomerang.mail.smtp import MESSAGE_POLICY as MESSAGE_POLICY
from boomerang.mail.smtp import SMTP_TIMEOUT as SMTP_TIMEOUT
from boomerang.mail.smtp import Claimed as Claimed
from boomerang.mail.smtp import build_message as build_message
from boomerang.mail.smtp import close_smtp as close_smtp
from boomerang.mail.smtp import describe_error as describe_error
from boomerang.mail.smtp import describe_smtp as describe_smtp
from boomerang.mail.smtp import open_smtp as open_smtp
from boomerang.mail.smtp import send_test as send_test

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "BACKOFF_SECONDS",
    "LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "MAX_ERROR",
    "MAX_IMAGE_BYTES",
    "MESSAGE_POLICY",
    "OUTAGE_RETRY_SECONDS",
    "RECORD_EVERY",
    "SMTP_TIMEOUT",
    "Claimed",
    "DeliveryResult",
    "EmailBatch",
    "EmailRefused",
    "InlineImage",
    "RefusalReason",
    "approve",
    "backoff",
    "build_message",
    "cancel",
    "claim",
    "close_smtp",
    "count_recent",
    "counts",
    "default_worker_id",
    "deliver_due",
    "describe_error",
    "describe_smtp",
    "enqueue",
    "get",
    "list_by_status",
    "new_message_id",
    "normalise_address",
    "open_batch",
    "open_smtp",
    "retry_dead",
    "send_test",
    "snapshot",
]
