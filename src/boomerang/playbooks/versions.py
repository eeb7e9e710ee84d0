"""Which playbooks are in force: every saved text is a version (from the files or the
editor), the newest version of each name is the one that runs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.errors import Invalid
from boomerang.playbooks import definition
from boomerang.playbooks.definition import Loaded
from boomerang.playbooks.models import PlaybookVersion
from boomerang.segments import conditions
from boomerang.users.models import User


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def save_version(
    *, session: Session, loaded: Loaded, author: User | None = None
) -> PlaybookVersion | None:
    """Store ``loaded`` as the newest version of its playbook unless it is already the
    newest text; returns the new version (None: unchanged). Invalid when a step sends to a
    URL the outbound policy refuses."""
    check_urls(loaded)
    name = loaded.playbook.name
    newest = session.scalars(
        select(PlaybookVersion)
        .where(PlaybookVersion.name == name)
        .order_by(PlaybookVersion.version.desc())
        .limit(1)
    ).first()
    digest = _digest(loaded.source)
    if newest is not None and newest.digest == digest:
        return None
    row = PlaybookVersion(
        name=name,
        version=(newest.version + 1) if newest else 1,
        source=loaded.source,
        digest=digest,
        origin=loaded.origin,
        author_id=author.id if author else None,
    )
    session.add(row)
    session.flush()
    return row


def check_urls(loaded: Loaded) -> None:
    """Every URL a step sends to must be one the outbound policy accepts (``boomerang.egress``;
    it is checked again when sent): Invalid naming the step's kind and URL otherwise."""
    from boomerang import egress

    for op in loaded.program:
        for url in op.step.urls() if op.step is not None else ():
            egress.validate(url, field=f"{loaded.origin}: {op.kind} url {url[:100]!r}")


def sync_files(*, session: Session, directory: Path | None) -> list[str]:
    """Store each file playbook whose text was never stored before (a file edited in git
    becomes the newest version; an unchanged file leaves later editor versions alone)."""
    added = []
    for loaded in definition.load_dir(directory):
        known = session.scalar(
            select(PlaybookVersion.id).where(
                PlaybookVersion.name == loaded.playbook.name,
                PlaybookVersion.digest == _digest(loaded.source),
            )
        )
        if known is None and save_version(session=session, loaded=loaded) is not None:
            added.append(loaded.playbook.name)
    return added


@dataclass(frozen=True)
class InForce:
    loaded: Loaded
    version: int

    @property
    def name(self) -> str:
        return self.loaded.playbook.name


def in_force(*, session: Session) -> list[InForce]:
    """The newest version of every stored playbook, by name."""
    newest = (
        select(PlaybookVersion.name, func.max(PlaybookVersion.version).label("v"))
        .group_by(PlaybookVersion.name)
        .subquery()
    )
    rows = session.scalars(
        select(PlaybookVersion)
        .join(
            newest,
            (PlaybookVersion.name == newest.c.name) & (PlaybookVersion.version == newest.c.v),
        )
        .order_by(PlaybookVersion.name)
    ).all()
    return [InForce(definition.parse(r.source, origin=r.origin), r.version) for r in rows]


def get(*, session: Session, name: str) -> InForce:
    """The playbook ``name`` in force; Invalid when there is none."""
    for item in in_force(session=session):
        if item.name == name:
            return item
    raise Invalid(f"no playbook named {name!r}")


def check_fields(loaded: Loaded, kinds: dict[str, conditions.Kind]) -> None:
    """Every condition must parse against the fact fields: Invalid naming it otherwise."""
    for cond in loaded.conditions:
        try:
            conditions.parse(cond, kinds)
        except conditions.ConditionError as exc:
            raise Invalid(f"{loaded.origin}: condition {cond!r}: {exc}") from None
