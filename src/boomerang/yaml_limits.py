"""Bounds on YAML text a user gives (playbooks, scorecards, journeys, rules, mappings).

PyYAML builds its tree recursively: ``[[[[...]]]]`` a few thousand levels deep ends in a
RecursionError, and a few aliases each repeating the one before stand for more data than
any memory holds once they are walked. :func:`check` scans the text's events (an iterative
parser) first and refuses both by name, with the line.

>>> check("a: [1, [2, 3]]", origin="x.yaml")
>>> check("[" * 100 + "]" * 100, origin="x.yaml")
Traceback (most recent call last):
...
boomerang.errors.Invalid: x.yaml:1: nested deeper than 64 levels
"""

from __future__ import annotations

import yaml

from boomerang.errors import Invalid

MAX_DEPTH = 64
MAX_ALIASES = 100


def check(text: str, *, origin: str) -> None:
    """Invalid naming ``origin`` and the line when ``text`` nests deeper than
    :data:`MAX_DEPTH` levels or uses more than :data:`MAX_ALIASES` aliases. Text that is not
    YAML raises ``yaml.YAMLError`` for the caller to report as it reports other YAML errors."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise Invalid(f"{origin}:{_line(event)}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise Invalid(f"{origin}:{_line(event)}: more than {MAX_ALIASES} aliases (*name)")


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 1
