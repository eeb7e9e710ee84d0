"""Playbook files: validation errors point at the line and field; branches compile."""

from __future__ import annotations

import pytest

from boomerang.errors import Invalid
from boomerang.playbooks import definition

GOOD = """\
name: demo
title: Demo
trigger:
  condition: "tier = 'enterprise'"
steps:
  - task: {title: "Call {{ account.name }}"}
  - branch:
      if: "health < 50"
      then:
        - task: {title: "Escalate", assignee: manager}
      else:
        - wait: {days: 3}
  - stop: {}
"""


def test_shipped_playbooks_are_valid() -> None:
    names = {loaded.playbook.name for loaded in definition.load_dir(None)}
    assert names == {
        "onboarding-checklist",
        "renewal-120-days",
        "health-turned-red",
        "detractor-follow-up",
        "expansion-signal",
        "urgent-ticket-escalation",
    }


def test_branches_compile_to_jumps() -> None:
    loaded = definition.parse(GOOD, origin="demo.yaml")
    kinds = [(op.kind, op.target) for op in loaded.program]
    # 0 task, 1 check (false -> 4), 2 task, 3 jump (-> 5), 4 wait, 5 stop
    assert kinds == [
        ("task", -1),
        ("check", 4),
        ("task", -1),
        ("jump", 5),
        ("wait", -1),
        ("stop", -1),
    ]
    assert loaded.conditions == ["tier = 'enterprise'", "health < 50"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("name: demo", "name: Demo Book"), r"demo.yaml:1: name: String should match"),
        (
            GOOD.replace(
                "  condition: \"tier = 'enterprise'\"",
                "  condition: x\n  event: {kind: nps_detractor}",
            ),
            r"demo.yaml:4: trigger: give exactly one trigger kind: condition, segment, event or date \(got condition, event\)",
        ),
        (
            GOOD.replace("  - stop: {}", "  - dance: {}"),
            r"demo.yaml:13: steps\[2\]\.dance: Extra inputs",
        ),
        (
            GOOD.replace('"Call {{ account.name }}"', '"Call {{ account.name "'),
            r"demo.yaml:6: steps\[0\]\.task\.title: template error",
        ),
        (
            GOOD.replace("wait: {days: 3}", "wait: {days: 0}"),
            r"demo.yaml:12: .*days: Input should be greater than or equal to 1",
        ),
        ("name: [", r"demo.yaml:1: not valid YAML"),
        ("- a\n- b\n", r"demo.yaml: a playbook is a mapping"),
    ],
)
def test_errors_name_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        definition.parse(text, origin="demo.yaml")


def test_each_step_kind_is_one_class_of_the_registry() -> None:
    from boomerang.playbooks.steps import STEPS
    from boomerang.playbooks.steps.base import StepKind

    assert list(STEPS) == [
        "task",
        "email",
        "chat",
        "stage",
        "escalate",
        "vector",
        "segment",
        "review",
        "survey",
        "webhook",
        "wait",
        "branch",
        "stop",
    ]
    assert list(definition.Step.model_fields) == list(STEPS)
    assert all(issubclass(cls, StepKind) and cls.kind == kind for kind, cls in STEPS.items())
    loaded = definition.parse(GOOD, origin="demo.yaml")
    assert [type(op.step).__name__ for op in loaded.program if op.step] == [
        "TaskStep",
        "TaskStep",
        "WaitStep",
        "StopStep",
    ]
