"""Email templates: Jinja in a sandbox, strict about unknown names, HTML autoescaped.

A template is three strings: ``subject``, ``text`` (required) and ``html`` (optional; when
absent the HTML part is derived from the text). Templates are data that CS ops write, so
they render in Jinja's immutable sandbox (no ``__class__`` tricks, no unsafe calls, no
changing values) over plain values rather than database objects; a misspelt variable or
field is an :class:`~boomerang.errors.Invalid` naming the part, the line and the name.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from boomerang.errors import Invalid

if TYPE_CHECKING:
    from boomerang.accounts.models import Account, Contact
    from boomerang.users.models import User

PARTS = ("subject", "text", "html")
DEFAULT_SENDER_NAME = "Customer Success"
MAX_SUBJECT = 300


@dataclass(frozen=True)
class EmailTemplate:
    """The Jinja source of an email; ``html`` None derives the HTML part from the text."""

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class Rendered:
    """An email's subject and both parts, ready to enqueue."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Preview:
    """A rendered template and the variables it uses (for the author)."""

    rendered: Rendered
    variables: list[str]
    html_derived: bool


class Fields(dict[str, Any]):
    """A named record of template values, so that a wrong field is reported by its name."""

    def __init__(self, label: str, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.label = label


class _Undefined(StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Fields):
            return f"{obj.label} has no field {name!r} (it has: {', '.join(sorted(obj))})"
        message: str = super()._undefined_message
        return message


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=_Undefined, autoescape=autoescape, keep_trailing_newline=True
    )


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


@lru_cache(maxsize=256)
def _compile(part: str, source: str) -> tuple[Template, frozenset[str], dict[str, int]]:
    """The compiled part, the names it reads from the context and the line of each."""
    env = _HTML if part == "html" else _TEXT
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise Invalid(f"{part}: line {exc.lineno}: {exc.message}") from None
    names = frozenset(meta.find_undeclared_variables(tree))
    lines: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        if node.name in names and node.name not in lines:
            lines[node.name] = node.lineno
    return env.from_string(source), names, lines


def _line_of(exc: BaseException) -> int | None:
    """The template line a render error came from (Jinja rewrites the traceback to it)."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_part(part: str, source: str, context: Mapping[str, Any]) -> str:
    template, names, lines = _compile(part, source)
    for name in sorted(names, key=lambda n: lines.get(n, 0)):
        if name not in context:
            known = ", ".join(sorted(context))
            raise Invalid(
                f"{part}: line {lines.get(name, 1)}: unknown variable {name!r} "
                f"(the context has: {known})"
            )
    try:
        return template.render(**context)
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        line = _line_of(exc)
        where = f"line {line}: " if line else ""
        message = getattr(exc, "message", None) or str(exc)
        raise Invalid(f"{part}: {where}{message}") from None


def validate(template: EmailTemplate) -> None:
    """Check the template compiles; Invalid naming the part and line otherwise."""
    if not template.subject.strip():
        raise Invalid("subject: must not be empty")
    if not template.text.strip():
        raise Invalid("text: the plain-text part is required")
    for part in PARTS:
        source = getattr(template, part)
        if source is not None:
            _compile(part, source)


def render(template: EmailTemplate, context: Mapping[str, Any]) -> Rendered:
    """Render the three parts for ``context``; Invalid naming the part, line and name."""
    validate(template)
    subject = " ".join(_render_part("subject", template.subject, context).split())
    if not subject:
        raise Invalid("subject: renders empty")
    if len(subject) > MAX_SUBJECT:
        raise Invalid(f"subject: renders to {len(subject)} characters, at most {MAX_SUBJECT}")
    text = _render_part("text", template.text, context)
    html = (
        _render_part("html", template.html, context)
        if template.html is not None
        else html_from_text(text)
    )
    return Rendered(subject=subject, text=text, html=html)


def preview(template: EmailTemplate, context: Mapping[str, Any]) -> Preview:
    """Render as :func:`render` does, and list the variables the template reads."""
    rendered = render(template, context)
    used: set[str] = set()
    for part in PARTS:
        source = getattr(template, part)
        if source is not None:
            used |= _compile(part, source)[1]
    return Preview(rendered=rendered, variables=sorted(used), html_derived=template.html is None)


_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def html_from_text(text: str) -> str:
    """A plain HTML version of a text email: paragraphs, line breaks and links."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    out = []
    for paragraph in paragraphs:
        escaped = html_lib.escape(paragraph.strip(), quote=True)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        out.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    body = "\n".join(out)
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; line-height: 1.5">\n{body}\n</body></html>\n'
    )


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool, Decimal, date)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def first_name(name: str) -> str:
    """``"Peter Gibbons"`` -> ``"Peter"``."""
    parts = name.split()
    return parts[0] if parts else name


def context_for(
    *,
    account: Account | None,
    contact: Contact | None,
    owner: User | None,
    unsubscribe_url: str | None,
) -> dict[str, Any]:
    """The values a template sees: ``account``, ``contact``, ``owner`` (the CSM the email is
    from) and ``unsubscribe_url``; plain values, never database objects."""
    account_fields = Fields(
        "account",
        {
            "id": account.id if account else None,
            "name": account.name if account else "",
            "domain": account.domain if account else None,
            "industry": account.industry if account else None,
            "region": account.region if account else None,
            "tier": account.tier if account else None,
            "stage": account.stage.value if account else None,
            "arr": account.arr if account else None,
            "currency": account.currency if account else None,
            "renewal_date": account.renewal_date if account else None,
            "attributes": Fields(
                "account.attributes", _plain(account.attributes or {}) if account else {}
            ),
        },
    )
    contact_name = contact.name if contact else ""
    contact_fields = Fields(
        "contact",
        {
            "id": contact.id if contact else None,
            "name": contact_name,
            "first_name": first_name(contact_name),
            "email": contact.email if contact else None,
            "title": contact.title if contact else None,
        },
    )
    owner_fields = Fields(
        "owner",
        {
            "name": (owner.name if owner else None) or DEFAULT_SENDER_NAME,
            "first_name": first_name((owner.name if owner else None) or DEFAULT_SENDER_NAME),
            "email": owner.email if owner else None,
        },
    )
    return {
        "account": account_fields,
        "contact": contact_fields,
        "owner": owner_fields,
        "unsubscribe_url": unsubscribe_url or "",
    }


def load(path: Path) -> EmailTemplate:
    """Read a template file (YAML with ``subject``, ``text`` and optional ``html``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise Invalid(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise Invalid(f"{path}: {where}not valid YAML") from None
    return from_mapping(data, origin=str(path))


def from_mapping(data: object, *, origin: str = "template") -> EmailTemplate:
    """A template from ``{"subject": ..., "text": ..., "html": ...}``; Invalid otherwise."""
    if not isinstance(data, dict):
        raise Invalid(f"{origin}: must be a mapping with subject, text and optional html")
    unknown = sorted(set(map(str, data)) - set(PARTS))
    if unknown:
        raise Invalid(f"{origin}: unknown keys {', '.join(unknown)} (allowed: subject, text, html)")
    for key in ("subject", "text"):
        if not isinstance(data.get(key), str):
            raise Invalid(f"{origin}: {key} is required (a string)")
    html = data.get("html")
    if html is not None and not isinstance(html, str):
        raise Invalid(f"{origin}: html must be a string")
    template = EmailTemplate(subject=data["subject"], text=data["text"], html=html)
    validate(template)
    return template
