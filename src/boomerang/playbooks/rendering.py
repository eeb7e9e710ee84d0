"""Playbook templates (``{{ account.name }}`` in a task title, an email's text ...): checked
when a playbook is parsed, rendered when a run executes its step, in a sandbox.

What a value may become depends on where the part goes, and :func:`render` is the one
place that decides it, by the part's ``kind``:

- ``"html"`` (an email's HTML part): autoescaped, so an account named
  ``<img src=x onerror=...>`` (names come from anyone holding a write key) reaches the
  customer as text, never as markup;
- ``"chat"`` (a Slack-compatible message): the values have ``&``, ``<`` and ``>`` escaped
  as Slack asks (no ``<!channel>``, no ``<url|disguised link>`` from data), the template's
  own text is kept as written;
- ``"text"`` (subjects, plain-text parts, task titles, reasons): as written; whatever
  shows it later (the web UI, an email's derived HTML part) escapes it there.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from boomerang.errors import Invalid

Kind = Literal["text", "html", "chat"]


def chat_escape(value: Any) -> str:
    """A value as chat text: ``&``, ``<`` and ``>`` escaped (Slack's mrkdwn control
    characters; Microsoft Teams shows the entities as the characters too)."""
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


ENVIRONMENTS: dict[Kind, SandboxedEnvironment] = {
    "text": SandboxedEnvironment(undefined=StrictUndefined, autoescape=False),
    "html": SandboxedEnvironment(undefined=StrictUndefined, autoescape=True),
    "chat": SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=chat_escape),
}


def check_template(text: str) -> str:
    """``text`` when it parses as a template; ValueError naming the line otherwise."""
    try:
        ENVIRONMENTS["text"].parse(text)  # one syntax, whatever the kind
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on its line {exc.lineno}: {exc.message}") from None
    return text


@functools.lru_cache(maxsize=512)
def _template(kind: Kind, text: str) -> Template:
    """Compiled once per kind and text (compiling costs far more than rendering)."""
    return ENVIRONMENTS[kind].from_string(text)


def render(text: str, values: dict[str, Any], *, kind: Kind) -> str:
    """``text`` rendered with ``values`` for a part of ``kind`` (escaped as that kind
    needs); Invalid saying the template's own error."""
    try:
        return _template(kind, text).render(**values)
    except Exception as exc:  # a template's own error, said in the run log
        raise Invalid(f"template: {exc}") from None
