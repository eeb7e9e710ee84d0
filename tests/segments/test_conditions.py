"""The condition language: what it accepts, what it refuses (and how it says so), and
what it selects on a small table of facts worked out by hand."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest

from boomerang.segments import conditions
from boomerang.segments.conditions import ConditionError
from boomerang.segments.facts import field_kinds

FACTS = pa.table(
    {
        "account_id": ["a", "b", "c", "d"],
        "tier": ["enterprise", "smb", "enterprise", None],
        "name": ["O'Brien Ltd", "Beta", "Gamma", "Delta"],
        "health": [40.0, 90.0, None, 60.0],
        "renewal_in_days": [100.0, 30.0, 400.0, None],
        "score.usage_trend": [20.0, 80.0, 50.0, None],
        "sso": [True, False, None, True],
    }
)
KINDS = field_kinds(FACTS)


def members(condition: str) -> list[str]:
    node = conditions.parse(condition, KINDS)
    t = ibis.memtable(FACTS)
    out = t.filter(conditions.to_ibis(node, t)).select("account_id").to_pyarrow()
    return sorted(out.column("account_id").to_pylist())


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tier = 'enterprise' and health < 50 and renewal_in_days <= 120", ["a"]),
        ("tier = 'enterprise'", ["a", "c"]),
        ("tier != 'enterprise'", ["b"]),  # a missing tier is neither equal nor unequal
        ("tier is null", ["d"]),
        ("tier is not null and health >= 60", ["b"]),
        ("health > 50 or score.usage_trend < 30", ["a", "b", "d"]),
        ("not (health > 50)", ["a", "c"]),  # c has no health: the comparison is false
        ("tier in ('smb', 'enterprise') and health is not null", ["a", "b"]),
        ("tier not in ('smb')", ["a", "c"]),
        ("name = 'O''Brien Ltd'", ["a"]),
        ("sso", ["a", "d"]),
        ("sso = false", ["b"]),
        ("not sso", ["b", "c"]),
        ("TIER = 'smb' OR Health < 45", ["a", "b"]),
        ("health < renewal_in_days", ["a"]),
        ("renewal_in_days <= -1", []),
        ("((health < 100))", ["a", "b", "d"]),
    ],
)
def test_selects(condition: str, expected: list[str]) -> None:
    assert members(condition) == expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("", "the condition is empty"),
        ("helth < 50", "column 1: unknown field 'helth'; known fields: health, name,"),
        ("tier = 5", "column 1: cannot compare a text with a number (tier = 5)"),
        ("health < 'high'", "column 1: cannot compare a number with a text"),
        ("tier = 'smb' and health", "column 18: health is a number, not a yes/no field"),
        ("tier = 'smb", "column 8: text starting here is not closed with '"),
        ("tier = 'smb' and (health < 5", "column 29: expected ')', found the end"),
        ("tier in ('smb', 3)", "column 17: tier is a text, and 3 is a number"),
        ("tier = 'smb' health < 5", "column 14: expected and, or or the end, found 'health'"),
        ("health < ", "column 10: expected a value, found the end"),
        ("health ~ 3", "column 8: unexpected '~ 3'"),
        ("5 is null", "column 1: is null needs a field on its left"),
        ("sso < true", "column 1: yes/no values compare only with = or !="),
        ("tier not 'smb'", "column 10: expected in after not, found \"'smb'\""),
        ("health; DROP TABLE accounts", "column 7: unexpected ';"),
        ("x" * 2001, "longer than 2000 characters"),
    ],
)
def test_refuses_with_the_column_and_the_reason(condition: str, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        conditions.parse(condition, KINDS)
    assert message in caught.value.message


def test_fields_used() -> None:
    node = conditions.parse("tier = 'smb' and (health < 5 or not sso)", KINDS)
    assert conditions.fields_used(node) == {"tier", "health", "sso"}
