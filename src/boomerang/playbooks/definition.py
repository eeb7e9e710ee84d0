"""A playbook is data: YAML with a trigger, conditions and steps, validated with errors that
point at the line and the field.

```yaml
name: health-turned-red            # lowercase letters, digits and dashes
title: Health turned red
trigger:                           # exactly one kind
  condition: "colour = 'red'"      # data: fires when an account starts matching
  # segment: {enters: "Enterprise at risk"}    (or leaves:)
  # event: {kind: nps_detractor}  (ticket_urgent, invoice_overdue, champion_left,
  #                                product_event with name:, webhook with source: and
  #                                optionally type: "usage.*")
  # date: {field: renewal_date, days_before: 120}   (or created_at with days_after:)
conditions: "tier != 'smb'"        # optional: over the same account facts as segments
cooldown_days: 30                  # no new run for an account within N days of the last
control_group: 0.1                 # share of firings held out (recorded, nothing done)
steps:
  - task: {title: "Call {{ account.name }}", due_in_days: 2, type: risk, priority: high,
           assignee: owner}        # owner, manager, {user: EMAIL}, {team: NAME}
  - email: {to: [champion], subject: "...", text: "...", html: "...", approval: false}
  - chat: {text: "{{ account.name }} needs a look"}   # Slack-compatible webhook
  - stage: {to: adoption}          # the journey stage, noted on the timeline
  - escalate: {problem: "...", severity: 1, mission_critical: true}
  - vector: {to: negative, reason: "...", days: 30}   # overrides the computed vector
  - segment: {add: "Watch list"}   # (or remove:) a list segment: members by hand/playbook
  - review: {in_days: 14}          # schedule a business review (see Business reviews)
  - survey: {program: "Quarterly NPS"}   # invite the program's contacts of the account now
  - webhook: {type: account.at_risk, endpoint: crm}  # a signed event to other systems
  - wait: {days: 7}
  - branch: {if: "health < 50", then: [...], else: [...]}
  - stop: {}
```
Steps compile to a flat program with jumps (``branch``), so a run's position is one index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jinja2 import StrictUndefined, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from boomerang.errors import Invalid
from boomerang.health.scorecard import _dotted, _line_of, load_yaml
from boomerang.tasks.models import Priority, TaskType

NAME = r"^[a-z0-9][a-z0-9-]{0,79}$"
EVENT_KINDS = (
    "nps_detractor",
    "ticket_urgent",
    "invoice_overdue",
    "champion_left",
    "product_event",
    "webhook",
)
CONTACT_ROLES = ("champion", "sponsor", "decision_maker", "admin", "user")
TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_template(text: str) -> str:
    try:
        TEMPLATES.parse(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on its line {exc.lineno}: {exc.message}") from None
    return text


class SegmentTrigger(_Strict):
    enters: str | None = Field(default=None, max_length=100)
    leaves: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> SegmentTrigger:
        if (self.enters is None) == (self.leaves is None):
            raise ValueError("give exactly one of enters or leaves")
        return self


class EventTrigger(_Strict):
    kind: Literal[
        "nps_detractor",
        "ticket_urgent",
        "invoice_overdue",
        "champion_left",
        "product_event",
        "webhook",
    ]
    name: str | None = Field(default=None, max_length=200)  # the tracked event, product_event
    # webhook: the inbound source's name and (optional) the delivery type or a pattern
    source: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=100, pattern=r"^[a-z*][a-z0-9_.*-]*$")

    @model_validator(mode="after")
    def _named(self) -> EventTrigger:
        if self.kind == "product_event" and not self.name:
            raise ValueError("product_event needs name: the tracked event's name")
        if self.kind == "webhook" and not self.source:
            raise ValueError("webhook needs source: the inbound webhook source's name")
        if self.kind != "webhook" and (self.source or self.type):
            raise ValueError("source and type belong to kind: webhook")
        return self


class DateTrigger(_Strict):
    field: Literal["renewal_date", "created_at"]
    days_before: int | None = Field(default=None, ge=0, le=3650)
    days_after: int | None = Field(default=None, ge=0, le=3650)

    @model_validator(mode="after")
    def _one(self) -> DateTrigger:
        if (self.days_before is None) == (self.days_after is None):
            raise ValueError("give exactly one of days_before or days_after")
        return self

    @property
    def offset_days(self) -> int:
        """Days from the date field to the firing day (negative: before)."""
        return -self.days_before if self.days_before is not None else self.days_after or 0


class Trigger(_Strict):
    condition: str | None = Field(default=None, max_length=2000)
    segment: SegmentTrigger | None = None
    event: EventTrigger | None = None
    date: DateTrigger | None = None

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        given = [k for k in ("condition", "segment", "event", "date") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one trigger kind: condition, segment, event or date"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("condition", "segment", "event", "date") if getattr(self, k))


class Assignee(_Strict):
    user: str | None = Field(default=None, max_length=320)
    team: str | None = Field(default=None, max_length=100)


class TaskStep(_Strict):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=20_000)
    type: TaskType = TaskType.activity
    priority: Priority = Priority.normal
    due_in_days: int = Field(default=3, ge=0, le=365)
    assignee: Literal["owner", "manager"] | Assignee = "owner"

    _t = field_validator("title", "body")(_check_template)


class EmailStep(_Strict):
    to: list[Literal["champion", "sponsor", "decision_maker", "admin", "user"]] = Field(
        min_length=1
    )
    subject: str = Field(min_length=1, max_length=300)
    text: str = Field(min_length=1, max_length=50_000)
    html: str | None = Field(default=None, max_length=200_000)
    approval: bool = False

    _t = field_validator("subject", "text", "html")(
        lambda v: None if v is None else _check_template(v)
    )


class ChatStep(_Strict):
    """A message to a Slack-compatible incoming webhook (``{"text": ...}``); without ``url``
    the one of ``BOOMERANG_CHAT_WEBHOOK_URL``."""

    text: str = Field(min_length=1, max_length=4000)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")

    _t = field_validator("text")(_check_template)


class StageStep(_Strict):
    """Move the account to a journey stage (written on its timeline)."""

    to: Literal["onboarding", "adoption", "performance", "transformation", "advocacy", "churned"]


class EscalateStep(_Strict):
    """Open an escalation (see Escalations) for the account."""

    problem: str = Field(min_length=1, max_length=2000)
    severity: int = Field(default=2, ge=1, le=4)
    mission_critical: bool = False
    level: Literal["support", "account_manager", "executive"] = "support"

    _t = field_validator("problem")(_check_template)


class VectorStep(_Strict):
    """Override the account's success vector for ``days`` (the computed one returns after)."""

    to: Literal["positive", "neutral", "negative"]
    reason: str = Field(default="", max_length=2000)
    days: int = Field(default=30, ge=1, le=365)

    _t = field_validator("reason")(_check_template)


class SegmentStep(_Strict):
    """Add the account to, or remove it from, a list segment (one without a condition)."""

    add: str | None = Field(default=None, min_length=1, max_length=100)
    remove: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one(self) -> SegmentStep:
        if (self.add is None) == (self.remove is None):
            raise ValueError("give exactly one of add or remove")
        return self

    @property
    def segment(self) -> str:
        return self.add or self.remove or ""


class ReviewStep(_Strict):
    """Schedule a business review for the account, due in ``in_days`` days."""

    in_days: int = Field(default=14, ge=0, le=365)


class SurveyStep(_Strict):
    """Invite the account's contacts that a survey program targets (its roles, segment and
    throttle apply), now."""

    program: str = Field(min_length=1, max_length=200)


class WebhookStep(_Strict):
    """Send a signed event of ``type`` to the outbound endpoints subscribed to it (only to
    ``endpoint`` when named)."""

    type: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,99}$")
    endpoint: str | None = Field(default=None, max_length=64)


class WaitStep(_Strict):
    days: int = Field(ge=1, le=365)


class BranchStep(_Strict):
    if_: str = Field(alias="if", min_length=1, max_length=2000)
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")


STEP_KINDS = (
    "task",
    "email",
    "chat",
    "stage",
    "escalate",
    "vector",
    "segment",
    "review",
    "survey",
    "webhook",
    "wait",
    "branch",
    "stop",
)


class Step(_Strict):
    task: TaskStep | None = None
    email: EmailStep | None = None
    chat: ChatStep | None = None
    stage: StageStep | None = None
    escalate: EscalateStep | None = None
    vector: VectorStep | None = None
    segment: SegmentStep | None = None
    review: ReviewStep | None = None
    survey: SurveyStep | None = None
    webhook: WebhookStep | None = None
    wait: WaitStep | None = None
    branch: BranchStep | None = None
    stop: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one(self) -> Step:
        given = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step is exactly one of {', '.join(STEP_KINDS)}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


BranchStep.model_rebuild()


class Playbook(_Strict):
    name: str = Field(pattern=NAME)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    enabled: bool = True
    trigger: Trigger
    conditions: str | None = Field(default=None, max_length=2000)
    cooldown_days: int = Field(default=30, ge=0, le=3650)
    control_group: float = Field(default=0.0, ge=0.0, le=0.5)
    steps: list[Step] = Field(min_length=1, max_length=50)


# -- the compiled program ------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One instruction: ``task``, ``email``, ``wait``, ``stop``, ``check`` (jump to ``target``
    when ``condition`` is false) or ``jump``."""

    kind: str
    step: (
        TaskStep
        | EmailStep
        | ChatStep
        | StageStep
        | EscalateStep
        | VectorStep
        | SegmentStep
        | ReviewStep
        | SurveyStep
        | WebhookStep
        | WaitStep
        | None
    ) = None
    condition: str | None = None
    target: int = -1


@dataclass(frozen=True)
class Loaded:
    playbook: Playbook
    source: str
    origin: str
    program: list[Op] = field(default_factory=list)

    @property
    def conditions(self) -> list[str]:
        """Every condition the playbook uses (checked against the fact fields)."""
        found = [c for c in (self.playbook.trigger.condition, self.playbook.conditions) if c]
        return found + [op.condition for op in self.program if op.condition]


def compile_steps(steps: list[Step]) -> list[Op]:
    program: list[Op] = []

    def emit(items: list[Step]) -> None:
        for s in items:
            if s.branch is not None:
                check = len(program)
                program.append(Op("check", condition=s.branch.if_))
                emit(s.branch.then)
                jump = len(program)
                program.append(Op("jump"))
                program[check] = Op("check", condition=s.branch.if_, target=len(program))
                emit(s.branch.else_)
                program[jump] = Op("jump", target=len(program))
            elif s.task is not None:
                program.append(Op("task", step=s.task))
            elif s.email is not None:
                program.append(Op("email", step=s.email))
            elif s.chat is not None:
                program.append(Op("chat", step=s.chat))
            elif s.stage is not None:
                program.append(Op("stage", step=s.stage))
            elif s.escalate is not None:
                program.append(Op("escalate", step=s.escalate))
            elif s.vector is not None:
                program.append(Op("vector", step=s.vector))
            elif s.segment is not None:
                program.append(Op("segment", step=s.segment))
            elif s.review is not None:
                program.append(Op("review", step=s.review))
            elif s.survey is not None:
                program.append(Op("survey", step=s.survey))
            elif s.webhook is not None:
                program.append(Op("webhook", step=s.webhook))
            elif s.wait is not None:
                program.append(Op("wait", step=s.wait))
            else:
                program.append(Op("stop"))

    emit(steps)
    return program


def parse(text: str, *, origin: str) -> Loaded:
    """Validate YAML ``text``; Invalid naming ``origin``, the line and the field at fault."""
    node, data = load_yaml(text, origin=origin)
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a playbook is a mapping with name, title, trigger and steps")
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and "[" in p)]
        line = _line_of(node, [p.rstrip("_") if isinstance(p, str) else p for p in loc])
        message = re.sub(r"^Value error, ", "", err["msg"])
        raise Invalid(f"{origin}:{line}: {_dotted(loc)}: {message}") from None
    return Loaded(playbook, text, origin, compile_steps(playbook.steps))


def load_file(path: Path) -> Loaded:
    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read it ({exc.strerror})") from None
    return parse(text, origin=str(path))


SHIPPED = Path(__file__).resolve().parent / "defaults"


def load_dir(directory: Path | None) -> list[Loaded]:
    """Every ``*.yaml`` of ``directory`` (default: the shipped playbooks), by file name;
    two playbooks with one name are refused."""
    folder = directory or SHIPPED
    if not folder.is_dir():
        raise Invalid(f"{folder}: not a directory of playbooks")
    loaded = [load_file(p) for p in sorted(folder.glob("*.yaml"))]
    seen: dict[str, str] = {}
    for item in loaded:
        name = item.playbook.name
        if name in seen:
            raise Invalid(f"{item.origin}: the name {name!r} is already used by {seen[name]}")
        seen[name] = item.origin
    return loaded
