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
steps:                             # each kind is a module of playbooks/steps/
  - task: {title: "Call {{ account.name }}", due_in_days: 2}
  - wait: {days: 7}
  - branch: {if: "health < 50", then: [...], else: [...]}
  - stop: {}
```
The step kinds (task, email, chat, stage, escalate, vector, segment, review, survey, webhook,
wait, branch, stop ...) are the classes of ``playbooks.steps`` (``STEPS``), one module each
with its YAML in its docstring. Steps compile to a flat program with jumps
(``branch``), so a run's position is one index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError, create_model, model_validator

from boomerang.errors import Invalid
from boomerang.health.scorecard import _dotted, _line_of, load_yaml
from boomerang.playbooks.steps import STEP_KINDS, STEPS
from boomerang.playbooks.steps.base import Op, StepKind
from boomerang.playbooks.steps.base import Strict as _Strict

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


class _OneStep(_Strict):
    """A step: exactly one of the kinds' keys, its value that kind's mapping."""

    @model_validator(mode="after")
    def _one(self) -> _OneStep:
        given = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step is exactly one of {', '.join(STEP_KINDS)}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def chosen(self) -> StepKind:
        """The step of the kind given."""
        step: StepKind = next(v for k in STEP_KINDS if (v := getattr(self, k)) is not None)
        return step


if TYPE_CHECKING:

    class Step(_OneStep):
        pass

else:
    Step = create_model(
        "Step",
        __base__=_OneStep,
        __module__=__name__,
        **{kind: (cls | None, None) for kind, cls in STEPS.items()},
    )
for _cls in STEPS.values():  # the kinds holding steps (a branch) refer to Step
    _cls.model_rebuild(_types_namespace={"Step": Step})
Step.model_rebuild()


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
class Loaded:
    """A validated playbook, its text, where the text came from and its program."""

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
    """The flat program of ``steps`` (see ``playbooks.steps.base.Op``)."""
    program: list[Op] = []

    def emit(items: list[Step]) -> None:
        for s in items:
            s.chosen.compile(program, emit)

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
    """The playbook of the YAML file at ``path``; Invalid as ``parse`` says."""
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
