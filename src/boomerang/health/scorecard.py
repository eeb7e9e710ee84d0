"""Scorecards are data: YAML validated into these models, with errors that name the file,
the line and the field.

A scorecard groups measures into weighted categories. Each measure has a kind (what is
measured, see :mod:`boomerang.health.measures`), a scoring function turning the raw value
into 0-100, a weight inside its category, and a policy for accounts without a value.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from boomerang import yaml_limits
from boomerang.errors import Invalid

KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureKind(StrEnum):
    active_days = "active_days"  # distinct days with events in the window
    active_users = "active_users"  # distinct users with events in the window
    adoption_breadth = "adoption_breadth"  # active users / licensed seats
    feature_depth = "feature_depth"  # share of the key features used in the window
    usage_trend = "usage_trend"  # events this window / events in the window before
    recency = "recency"  # days since the last event (up to a year back)
    support_burden = "support_burden"  # open tickets weighted by severity
    billing_overdue = "billing_overdue"  # days the oldest unpaid invoice is overdue
    engagement = "engagement"  # days since the last CSM touch on the timeline
    relationship = "relationship"  # active champions and sponsors (0, 1, 2)
    event_count = "event_count"  # events named in `events` within the window
    attribute = "attribute"  # a numeric custom attribute of the account (`attribute`)
    peer_percentile = "peer_percentile"  # percentile of measure `of` among `peers`
    manual = "manual"  # no data: set by a CSM with an override (CSM sentiment)
    survey_sentiment = "survey_sentiment"  # latest NPS/CSAT/CES answer, fading with age
    open_escalations = "open_escalations"  # open escalations by severity, critical x2
    plan_progress = "plan_progress"  # % of success plan milestones met and KPIs on track


class Band(_Strict):
    below: float
    score: float = Field(ge=0, le=100)


class Bands(_Strict):
    """``raw < below`` of the first band that matches gives its score; else ``otherwise``."""

    type: Literal["bands"]
    bands: list[Band] = Field(min_length=1)
    otherwise: float = Field(ge=0, le=100)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, bands: list[Band]) -> list[Band]:
        limits = [b.below for b in bands]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ValueError("bands must be in ascending order of 'below'")
        return bands


class Linear(_Strict):
    """0 at ``worst``, 100 at ``best``, straight in between, clipped (``worst`` may be the
    larger, when less is better)."""

    type: Literal["linear"]
    worst: float
    best: float

    @model_validator(mode="after")
    def _distinct(self) -> Linear:
        if self.worst == self.best:
            raise ValueError("worst and best must differ")
        return self


class Categorical(_Strict):
    type: Literal["categorical"]
    values: dict[str, float] = Field(min_length=1)
    otherwise: float = Field(default=0, ge=0, le=100)

    @field_validator("values")
    @classmethod
    def _in_range(cls, values: dict[str, float]) -> dict[str, float]:
        for key, score in values.items():
            if not 0 <= score <= 100:
                raise ValueError(f"score of {key!r} must be between 0 and 100")
        return values


Scoring = Annotated[Bands | Linear | Categorical, Field(discriminator="type")]


class Measure(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: str | None = None
    kind: MeasureKind
    weight: float = Field(gt=0)
    scoring: Scoring
    window_days: int = Field(default=30, ge=1, le=365)
    features: list[str] = Field(default_factory=list)  # feature_depth: the key features
    events: list[str] = Field(default_factory=list)  # event_count: the events counted
    attribute: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    of: str | None = Field(default=None, pattern=KEY_PATTERN)  # peer_percentile: measure
    peers: Literal["tier", "industry", "region", "employee_band", "all"] = "tier"
    survey: Literal["nps", "csat", "ces"] = "nps"  # survey_sentiment: which answers
    half_life_days: int = Field(default=90, ge=1, le=3650)  # ... fade halfway this often
    neutral: float | None = None  # ... toward this value (default: the scale's middle)
    missing: Literal["skip"] | float = "skip"  # skip and renormalise, or score as this value

    @field_validator("missing")
    @classmethod
    def _missing_score(cls, value: Literal["skip"] | float) -> Literal["skip"] | float:
        if value != "skip" and not 0 <= float(value) <= 100:
            raise ValueError("missing must be 'skip' or a score between 0 and 100")
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> Measure:
        if self.kind is MeasureKind.feature_depth and not self.features:
            raise ValueError("a feature_depth measure needs its list of features")
        if self.kind is MeasureKind.event_count and not self.events:
            raise ValueError("an event_count measure needs its list of events")
        if self.kind is MeasureKind.attribute and not self.attribute:
            raise ValueError("an attribute measure needs the attribute's name")
        if self.kind is MeasureKind.peer_percentile and not self.of:
            raise ValueError("a peer_percentile measure needs `of`: the measure to rank")
        return self

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()


class Category(_Strict):
    name: str = Field(min_length=1, max_length=100)
    weight: float = Field(gt=0)
    measures: list[Measure] = Field(min_length=1)


class Colours(_Strict):
    """Red below ``red``, yellow below ``yellow``, green from there."""

    red: float = Field(default=50, ge=0, le=100)
    yellow: float = Field(default=75, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Colours:
        if self.red > self.yellow:
            raise ValueError("red must not be above yellow")
        return self

    def of(self, score: float | None) -> str:
        if score is None:
            return "none"
        return "red" if score < self.red else "yellow" if score < self.yellow else "green"


class Scorecard(_Strict):
    name: str = Field(pattern=KEY_PATTERN)
    description: str = ""
    # Which accounts it scores: a segment condition; none: every account. A primary
    # scorecard gives the account's health (the first primary that applies, in file-name
    # order); a secondary one (primary: false) scores alongside, under its own name.
    applies_to: str | None = Field(default=None, max_length=2000)
    primary: bool = True
    colours: Colours = Colours()
    categories: list[Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> Scorecard:
        seen: set[str] = set()
        for measure in self.measures:
            if measure.key in seen:
                raise ValueError(f"measure key {measure.key!r} is used twice")
            seen.add(measure.key)
        for measure in self.measures:
            if measure.kind is MeasureKind.peer_percentile:
                base = next((m for m in self.measures if m.key == measure.of), None)
                if base is None:
                    raise ValueError(f"{measure.key}: `of` names no measure ({measure.of!r})")
                if base.kind in (MeasureKind.peer_percentile, MeasureKind.manual):
                    raise ValueError(f"{measure.key}: cannot rank a {base.kind} measure")
        return self

    @property
    def measures(self) -> list[Measure]:
        return [m for c in self.categories for m in c.measures]

    def category_of(self, key: str) -> Category:
        return next(c for c in self.categories if any(m.key == key for m in c.measures))


class LoadedScorecard(BaseModel):
    """A validated scorecard with the text it came from (versions are kept by text)."""

    model_config = ConfigDict(frozen=True)

    scorecard: Scorecard
    source: str
    origin: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def load_yaml(text: str, *, origin: str) -> tuple[Any, Any]:
    """The YAML document's node tree (for line numbers) and its data; Invalid naming
    ``origin`` and the line when it is not valid YAML."""
    try:
        yaml_limits.check(text, origin=origin)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise Invalid(f"{origin}{where}: not valid YAML ({problem})") from None
    return node, data


def parse(text: str, *, origin: str) -> LoadedScorecard:
    """Validate YAML ``text``; Invalid naming ``origin``, the line and the field at fault."""
    node, data = load_yaml(text, origin=origin)
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: a scorecard is a mapping with name, categories and colours")
    try:
        card = Scorecard.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if p not in ("bands", "linear", "categorical")] or list(
            err["loc"]
        )
        line = _line_of(node, list(err["loc"]))
        where = _dotted(loc)
        raise Invalid(f"{origin}:{line}: {where}: {err['msg']}") from None
    return LoadedScorecard(scorecard=card, source=text, origin=origin)


@lru_cache(maxsize=32)
def parsed(source: str, origin: str) -> Scorecard:
    """The scorecard of a stored version's text, parsed once (versions never change)."""
    return parse(source, origin=origin).scorecard


def load_file(path: Path) -> LoadedScorecard:
    try:
        text = path.read_text()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read the scorecard ({exc.strerror})") from None
    return parse(text, origin=str(path))


def load_set(directory: Path | None) -> list[LoadedScorecard]:
    """Every ``*.yaml`` scorecard of ``directory`` (file-name order), or the shipped one.

    Refused when two share a name, or when no primary scorecard applies to every account
    (some accounts would go unscored)."""
    if directory is None:
        return [default()]
    if not directory.is_dir():
        raise Invalid(f"{directory}: not a directory of scorecards")
    cards = [load_file(path) for path in sorted(directory.glob("*.yaml"))]
    if not cards:
        raise Invalid(f"{directory}: no scorecard (*.yaml) in it")
    seen: dict[str, str] = {}
    for card in cards:
        if card.scorecard.name in seen:
            raise Invalid(
                f"{card.origin}: name {card.scorecard.name!r} is also the name of "
                f"{seen[card.scorecard.name]}"
            )
        seen[card.scorecard.name] = card.origin
    if not any(c.scorecard.primary and not c.scorecard.applies_to for c in cards):
        raise Invalid(
            f"{directory}: no primary scorecard without applies_to: accounts that match no "
            "other one would have no health score"
        )
    return cards


def default() -> LoadedScorecard:
    """The scorecard shipped with Boomerang (``health/scorecards/default.yaml``)."""
    text = resources.files("boomerang.health").joinpath("scorecards/default.yaml").read_text()
    return parse(text, origin="boomerang/health/scorecards/default.yaml")


def _dotted(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _line_of(node: Any, loc: list[Any]) -> int:
    """The 1-based line of the deepest YAML node that ``loc`` reaches."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
            if child is None:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            child = node.value[part]
        else:
            continue  # a discriminator tag in the location: same node
        node = child
        line = node.start_mark.line + 1
    return line
