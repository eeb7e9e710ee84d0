"""``branch: {if: "health < 50", then: [...], else: [...]}``: the steps of ``then`` when the
condition holds for the account, else those of ``else``.

A branch compiles to a ``check`` (to the first op of ``else`` when the condition is false),
the ops of ``then``, a ``jump`` (past ``else``) and the ops of ``else``; so a run's position
in the program is one index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from boomerang.playbooks.steps.base import Op, Outcome, Result, Runtime, StepKind, only

if TYPE_CHECKING:
    from boomerang.playbooks.definition import Step


class BranchStep(StepKind):
    kind: ClassVar[str] = "branch"
    order: ClassVar[int] = 120

    if_: str = Field(alias="if", min_length=1, max_length=2000)
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    def compile(self, program: list[Op], emit: Callable[[list[Step]], None]) -> None:
        check = len(program)
        program.append(Check("check", condition=self.if_))
        emit(self.then)
        jump = len(program)
        program.append(Jump("jump"))
        program[check] = Check("check", condition=self.if_, target=len(program))
        emit(self.else_)
        program[jump] = Jump("jump", target=len(program))


@dataclass(frozen=True)
class Check(Op):
    """Go on when ``condition`` holds for the account, else go to ``target``."""

    def run(self, runtime: Runtime) -> Outcome:
        return only(self.run_many([runtime]))

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """The condition's members computed once for the runs at this check."""
        assert self.condition is not None
        if not runtimes:
            return []
        members = set(runtimes[0].ctx.evaluator.members(self.condition))
        out: list[Result] = []
        for runtime in runtimes:
            holds = runtime.run.account_id in members
            entry = {"if": self.condition, "holds": holds}
            out.append(Outcome(entry) if holds else Outcome(entry, goto=self.target))
        return out

    def describe(self, values: dict[str, Any]) -> str | None:
        return f"if {self.condition}:"


@dataclass(frozen=True)
class Jump(Op):
    """Go to ``target`` (past a branch's ``else``)."""

    def run(self, runtime: Runtime) -> Outcome:
        return Outcome(goto=self.target)

    def describe(self, values: dict[str, Any]) -> str | None:
        return None
