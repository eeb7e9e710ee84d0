"""Comment themes: keyword rules the team edits, and why a comment got its tags.

A theme is a name and a few keywords. A comment is tagged with a theme when it contains
one of its keywords (case-blind, as a substring: ``price`` matches "prices" and
"pricing" would need its own keyword). The tags are computed when read, so editing a rule
re-tags every comment at once, and each tag shows the keywords that matched. Searching and
counting run in SQL (``LIKE`` over the comments), one query for all themes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, false, func, or_, select
from sqlalchemy.orm import Session

from boomerang.errors import Invalid, NotFound
from boomerang.surveys.models import SurveyKind, SurveyResponse, SurveyTheme

MAX_KEYWORDS = 50
MAX_KEYWORD = 60


@dataclass(frozen=True)
class Tag:
    theme: str
    matched: list[str]

    @property
    def why(self) -> str:
        return f"contains {', '.join(repr(k) for k in self.matched)}"


def _keywords(keywords: Iterable[str]) -> list[str]:
    out = []
    for raw in keywords:
        word = " ".join(str(raw).split()).lower()
        if not word:
            continue
        if len(word) > MAX_KEYWORD:
            raise Invalid(f"keywords: {word[:20]!r}... is longer than {MAX_KEYWORD} characters")
        if word not in out:
            out.append(word)
    if not out:
        raise Invalid("keywords: give at least one keyword")
    if len(out) > MAX_KEYWORDS:
        raise Invalid(f"keywords: at most {MAX_KEYWORDS}")
    return out


def list_themes(*, session: Session) -> list[SurveyTheme]:
    """Every theme, by name."""
    return list(session.scalars(select(SurveyTheme).order_by(SurveyTheme.name)))


def get(*, session: Session, ref: str) -> SurveyTheme:
    """The theme with this id or name; NotFound otherwise."""
    found = session.scalar(
        select(SurveyTheme).where(or_(SurveyTheme.id == ref, SurveyTheme.name == ref))
    )
    if found is None:
        raise NotFound(f"no theme {ref!r}")
    return found


def save(*, session: Session, name: str, keywords: Iterable[str]) -> SurveyTheme:
    """Create the theme, or replace the keywords of the theme with this name."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise Invalid("name: 1 to 100 characters")
    words = _keywords(keywords)
    theme = session.scalar(select(SurveyTheme).where(SurveyTheme.name == name))
    if theme is None:
        theme = SurveyTheme(name=name, keywords=words)
        session.add(theme)
    else:
        theme.keywords = words
    session.flush()
    return theme


def delete(*, session: Session, theme: SurveyTheme) -> None:
    """Delete a theme (its comments lose the tag: tags are computed when read)."""
    session.delete(theme)
    session.flush()


def tag(comment: str | None, themes: Iterable[SurveyTheme]) -> list[Tag]:
    """The themes a comment falls under, each with the keywords that matched."""
    text = (comment or "").lower()
    tags = []
    for theme in themes:
        matched = [k for k in theme.keywords if str(k) in text]
        if matched:
            tags.append(Tag(theme.name, matched))
    return tags


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(word: str) -> ColumnElement[bool]:
    return func.lower(SurveyResponse.comment).like(f"%{_escape_like(word)}%", escape="\\")


def _matches(theme: SurveyTheme) -> ColumnElement[bool]:
    return or_(false(), *[_contains(str(k)) for k in theme.keywords])


@dataclass(frozen=True)
class Comment:
    response: SurveyResponse
    tags: list[Tag]


def search(
    *,
    session: Session,
    text: str | None = None,
    theme: str | None = None,
    kind: SurveyKind | None = None,
    limit: int = 100,
) -> list[Comment]:
    """Answers with a comment containing ``text`` and/or tagged ``theme``, newest first."""
    themes = list_themes(session=session)
    stmt = select(SurveyResponse).where(SurveyResponse.comment.is_not(None))
    if text and text.strip():
        if len(text) > 200:
            raise Invalid("q: at most 200 characters")
        stmt = stmt.where(_contains(text.strip().lower()))
    if theme:
        stmt = stmt.where(_matches(get(session=session, ref=theme)))
    if kind:
        stmt = stmt.where(SurveyResponse.survey == kind)
    rows = session.scalars(
        stmt.order_by(SurveyResponse.responded_at.desc(), SurveyResponse.id).limit(limit)
    )
    return [Comment(r, tag(r.comment, themes)) for r in rows]


def counts(
    *, session: Session, since: datetime | None = None, kind: SurveyKind | None = None
) -> dict[str, tuple[int, int]]:
    """Per theme: (comments tagged, of which detractors for NPS) in one query."""
    themes = list_themes(session=session)
    if not themes:
        return {}
    columns = []
    for i, t in enumerate(themes):
        columns.append(func.sum(case((_matches(t), 1), else_=0)).label(f"n{i}"))
        columns.append(
            func.sum(
                case(
                    (
                        _matches(t)
                        & (SurveyResponse.survey == SurveyKind.nps)
                        & (SurveyResponse.score <= 6),
                        1,
                    ),
                    else_=0,
                )
            ).label(f"d{i}")
        )
    stmt = select(*columns).where(SurveyResponse.comment.is_not(None))
    if since is not None:
        stmt = stmt.where(SurveyResponse.responded_at >= since)
    if kind is not None:
        stmt = stmt.where(SurveyResponse.survey == kind)
    row = session.execute(stmt).one()
    return {t.name: (int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i, t in enumerate(themes)}
