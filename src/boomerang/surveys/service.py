"""Survey programs, invitations and answers: the public face of the surveys domain.

The code lives in modules named by what they hold; this module re-exports their public
names for other domains:

* :mod:`~boomerang.surveys.programs`: the programs (what is asked, of whom, when);
* :mod:`~boomerang.surveys.due`: who a program invites, by its trigger;
* :mod:`~boomerang.surveys.sending`: the invitations and reminders, through the outbox;
* :mod:`~boomerang.surveys.tokens`: the signed links of an invitation;
* :mod:`~boomerang.surveys.responses`: the answers (to an invitation, or recorded);
* :mod:`~boomerang.surveys.rollup`: answers grouped, NPS and response rates;
* :mod:`~boomerang.surveys.account`: the surveys panel of the account page.
"""

from __future__ import annotations

from boomerang.surveys.account import AccountSurveys as AccountSurveys
from boomerang.surveys.account import account_summary as account_summary
from boomerang.surveys.due import TICKET_LOOKBACK_DAYS as TICKET_LOOKBACK_DAYS
from boomerang.surveys.due import due as due
from boomerang.surveys.due import schedule_wave as schedule_wave
from boomerang.surveys.programs import MAX_DAYS as MAX_DAYS
from boomerang.surveys.programs import MAX_QUESTION as MAX_QUESTION
from boomerang.surveys.programs import create_program as create_program
from boomerang.surveys.programs import get_program as get_program
from boomerang.surveys.programs import list_programs as list_programs
from boomerang.surveys.programs import set_active as set_active
from boomerang.surveys.responses import MAX_COMMENT as MAX_COMMENT
from boomerang.surveys.responses import answer_state as answer_state
from boomerang.surveys.responses import check_score as check_score
from boomerang.surveys.responses import find_response as find_response
from boomerang.surveys.responses import list_responses as list_responses
from boomerang.surveys.responses import record as record
from boomerang.surveys.responses import respond as respond
from boomerang.surveys.rollup import DIMENSIONS as DIMENSIONS
from boomerang.surveys.rollup import Rollup as Rollup
from boomerang.surveys.rollup import day_start as day_start
from boomerang.surveys.rollup import overall as overall
from boomerang.surveys.rollup import rollup as rollup
from boomerang.surveys.sending import SendResult as SendResult
from boomerang.surveys.sending import remind_due as remind_due
from boomerang.surveys.sending import run_due as run_due
from boomerang.surveys.sending import send as send
from boomerang.surveys.tokens import PATH as PATH
from boomerang.surveys.tokens import SALT as SALT
from boomerang.surveys.tokens import recipient_for_token as recipient_for_token
from boomerang.surveys.tokens import response_url as response_url
from boomerang.surveys.tokens import token_for as token_for

__all__ = [
    "DIMENSIONS",
    "MAX_COMMENT",
    "MAX_DAYS",
    "MAX_QUESTION",
    "PATH",
    "SALT",
    "TICKET_LOOKBACK_DAYS",
    "AccountSurveys",
    "Rollup",
    "SendResult",
    "account_summary",
    "answer_state",
    "check_score",
    "create_program",
    "day_start",
    "due",
    "find_response",
    "get_program",
    "list_programs",
    "list_responses",
    "overall",
    "recipient_for_token",
    "record",
    "remind_due",
    "respond",
    "response_url",
    "rollup",
    "run_due",
    "schedule_wave",
    "send",
    "set_active",
    "token_for",
]
