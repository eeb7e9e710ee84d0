"""Success vectors: positive, neutral or negative, by ordered rules that are data.

The rules (``vectors.yaml`` in this package by default) are conditions of the segment
language over account facts; they run over every account at once after each health
computation, and a change of vector is written on the account's timeline.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from boomerang import yaml_limits
from boomerang.errors import Invalid
from boomerang.health.models import GOALS as GOALS
from boomerang.health.models import HealthScore
from boomerang.health.overrides import active_overrides
from boomerang.segments import conditions
from boomerang.segments.facts import known_fields
from boomerang.segments.service import evaluator
from boomerang.timeline import events as timeline_events

Vector = Literal["positive", "neutral", "negative"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    vector: Vector
    name: str = Field(min_length=1, max_length=200)
    when: str = Field(min_length=1, max_length=2000)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule] = Field(min_length=1)
    otherwise: Vector = "neutral"


def parse(*, session: Session, text: str, origin: str) -> Rules:
    """Validate rules YAML, each condition against the known fields; Invalid naming
    ``origin`` and the rule at fault."""
    try:
        yaml_limits.check(text, origin=origin)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise Invalid(f"{origin}{where}: not valid YAML") from None
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise Invalid(f"{origin}: {where}: {err['msg']}") from None
    kinds = known_fields(session=session)
    for i, rule in enumerate(rules.rules):
        try:
            conditions.parse(rule.when, kinds)
        except conditions.ConditionError as exc:
            raise Invalid(f"{origin}: rules[{i}].when: {exc.message}") from None
    return rules


def load(*, session: Session, path: Path | None = None) -> Rules:
    """The vector rules of the file at ``path``, else the shipped ``vectors.yaml``."""
    if path is not None:
        try:
            text = path.read_text()
        except OSError as exc:
            raise Invalid(f"{path}: cannot read the vector rules ({exc.strerror})") from None
        return parse(session=session, text=text, origin=str(path))
    text = resources.files("boomerang.health").joinpath("vectors.yaml").read_text()
    return parse(session=session, text=text, origin="boomerang/health/vectors.yaml")


def assign(
    *,
    session: Session,
    rules: Rules,
    as_of: date,
    scorecard: str = "default",
    account_ids: list[str] | None = None,
) -> dict[str, int]:
    """Set the vector of every snapshot of ``as_of`` (or only of ``account_ids``) and note
    changes on the timeline; returns how many accounts got each vector."""
    everyone, snapshot, vector = _by_rules(
        session=session, rules=rules, as_of=as_of, scorecard=scorecard
    )
    for o in active_overrides(session=session, scorecard=scorecard, as_of=as_of, vectors=True):
        if o.vector is not None:  # a person's or a playbook's word wins over the rules
            vector[o.account_id] = (o.vector, f"override: {o.reason}"[:200])
    previous = _previous_vectors(session=session, as_of=as_of, scorecard=scorecard)
    counts = {"positive": 0, "neutral": 0, "negative": 0}
    changes = []
    now = datetime.now(UTC)
    by_value: dict[tuple[str, str | None], list[str]] = {}
    only = set(account_ids) if account_ids is not None else None
    for account_id in everyone:
        if account_id not in snapshot or (only is not None and account_id not in only):
            continue
        value, rule_name = vector.get(account_id, (rules.otherwise, None))
        counts[value] += 1
        by_value.setdefault((value, rule_name), []).append(account_id)
        before = previous.get(account_id)
        if before is not None and before != value:
            changes.append((account_id, before, value, rule_name, GOALS[value]))
    _store(session=session, snapshot=snapshot, by_value=by_value)
    timeline_events.vectors_changed(session=session, changes=changes, as_of=as_of, occurred_at=now)
    return counts


def _by_rules(
    *, session: Session, rules: Rules, as_of: date, scorecard: str
) -> tuple[list[str], dict[str, str], dict[str, tuple[str, str]]]:
    """Every account of the facts, the day's snapshot id of each scored one, and the vector
    and rule name of the first rule each account matches."""
    vector: dict[str, tuple[str, str]] = {}
    with evaluator(
        session=session, today=as_of, for_conditions=[r.when for r in rules.rules]
    ) as ev:
        everyone = ev.facts.column("account_id").to_pylist()
        # The day's snapshots: which accounts are scored, and the row to update for each.
        snapshot = dict(
            session.execute(
                select(HealthScore.account_id, HealthScore.id).where(
                    HealthScore.scorecard == scorecard, HealthScore.as_of == as_of
                )
            ).all()
        )
        for rule in rules.rules:
            for account_id in ev.members(rule.when):
                vector.setdefault(account_id, (rule.vector, rule.name))
    return everyone, snapshot, vector


def _store(
    *,
    session: Session,
    snapshot: dict[str, str],
    by_value: dict[tuple[str, str | None], list[str]],
) -> None:
    """Write each account's vector and rule on its snapshot."""
    rows = [
        {"sid": snapshot[a], "v": value, "r": rule_name}
        for (value, rule_name), ids in by_value.items()
        for a in ids
    ]
    if rows:  # one prepared UPDATE by primary key, executed for every row
        session.connection().execute(
            update(HealthScore.__table__)  # type: ignore[arg-type]
            .where(HealthScore.__table__.c.id == bindparam("sid"))
            .values(vector=bindparam("v"), vector_rule=bindparam("r")),
            rows,
        )


def _previous_vectors(*, session: Session, as_of: date, scorecard: str) -> dict[str, str]:
    day = session.scalar(
        select(HealthScore.as_of)
        .where(HealthScore.scorecard == scorecard, HealthScore.as_of < as_of)
        .order_by(HealthScore.as_of.desc())
        .limit(1)
    )
    if day is None:
        return {}
    return {
        a: v
        for a, v in session.execute(
            select(HealthScore.account_id, HealthScore.vector).where(
                HealthScore.scorecard == scorecard, HealthScore.as_of == day
            )
        ).all()
        if v is not None
    }
