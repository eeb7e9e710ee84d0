"""Playbook templates (``{{ account.name }}`` in a task title, an email's text ...): checked
when a playbook is parsed, rendered when a run executes its step, in one sandboxed
environment."""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from boomerang.errors import Invalid

TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_template(text: str) -> str:
    """``text`` when it parses as a template; ValueError naming the line otherwise."""
    try:
        TEMPLATES.parse(text)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on its line {exc.lineno}: {exc.message}") from None
    return text


@functools.lru_cache(maxsize=512)
def _template(text: str) -> Template:
    """Compiled once per text (compiling costs far more than rendering)."""
    return TEMPLATES.from_string(text)


def render(text: str, values: dict[str, Any]) -> str:
    """``text`` rendered with ``values``; Invalid saying the template's own error."""
    try:
        return _template(text).render(**values)
    except Exception as exc:  # a template's own error, said in the run log
        raise Invalid(f"template: {exc}") from None
