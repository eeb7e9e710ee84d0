"""What a step kind is, and the compiled program it becomes.

A step kind is one class: a frozen pydantic model (the step's YAML mapping, validated), that
compiles to ops (one op running the step, by default), runs for an account (``run``: what
the run log says, where the run goes next) and says in words what it would do (``describe``,
in a dry run). Defining a subclass with ``kind`` registers it (``StepKind.kinds``).

The runs of a playbook at one op run it together (``run_many``: one result per run, its
outcome or the Invalid that failed it). By default that is ``run`` for each in turn; a
kind whose work is set-based does it for them all in a few statements (and its ``run`` is
``run_many`` of one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from boomerang.errors import Invalid
from boomerang.playbooks.rendering import Kind, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from boomerang.accounts.models import Account
    from boomerang.config import Settings
    from boomerang.playbooks.context import Context
    from boomerang.playbooks.definition import Step
    from boomerang.playbooks.models import PlaybookRun


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Runtime:
    """What a running step sees: the evaluation's context, the run and its account."""

    ctx: Context
    run: PlaybookRun
    account: Account

    @property
    def session(self) -> Session:
        return self.ctx.session

    @property
    def now(self) -> datetime:
        return self.ctx.now

    @property
    def today(self) -> date:
        return self.ctx.today

    @property
    def settings(self) -> Settings | None:
        return self.ctx.settings

    @property
    def source(self) -> str:
        """What the run's records say they come from (``playbook:NAME``)."""
        return f"playbook:{self.run.playbook}"

    def values(self) -> dict[str, Any]:
        """What the step's templates see (the account, its owner and facts, the reason)."""
        return self.ctx.values(self.account, self.run.reason)

    def render(self, text: str, *, kind: Kind) -> str:
        """``text`` rendered with ``values()`` for a part of ``kind``; Invalid on a
        template's error."""
        return render(text, self.values(), kind=kind)


@dataclass(frozen=True)
class Outcome:
    """What one op did: the fields of its run-log entry (None: no entry), where the run goes
    next (None: the next op), whether the run waits (until ``waits_until``) or stops there."""

    entry: dict[str, Any] | None = None
    goto: int | None = None
    waits_until: datetime | None = None
    stops: bool = False


Result = Outcome | Invalid
"""What one op did for one run of a batch: its outcome, or the Invalid that failed it."""


def one_by_one(run: Callable[[Runtime], Outcome], runtimes: Sequence[Runtime]) -> list[Result]:
    """``run`` for each runtime in turn; an Invalid fails that run only."""
    out: list[Result] = []
    for runtime in runtimes:
        try:
            out.append(run(runtime))
        except Invalid as exc:
            out.append(exc)
    return out


CHUNK = 5000  # ids per IN (...), as ``Context.load_accounts`` reads them


def chunked(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    """``ids`` in chunks of ``CHUNK``."""
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def only(results: list[Result]) -> Outcome:
    """The outcome of a batch of one (raising its Invalid)."""
    (result,) = results
    if isinstance(result, Invalid):
        raise result
    return result


class StepKind(Strict):
    """The base of every step kind: ``kind`` is its YAML key, ``order`` its place in the
    list of kinds (the step schema, error messages)."""

    kind: ClassVar[str]
    order: ClassVar[int]
    kinds: ClassVar[dict[str, type[StepKind]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            StepKind.kinds[cls.kind] = cls

    def compile(self, program: list[Op], emit: Callable[[list[Step]], None]) -> None:
        """Append the step's ops to ``program`` (``emit`` compiles nested steps)."""
        program.append(Op(self.kind, step=self))

    def run(self, runtime: Runtime) -> Outcome:
        """Do the step for the run's account."""
        raise NotImplementedError(f"{self.kind} steps compile to other ops")

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """Do the step for each run's account (by default ``run`` for each in turn)."""
        return one_by_one(self.run, runtimes)

    def describe(self, values: dict[str, Any]) -> str:
        """What the step would do, in words (templates rendered with ``values``)."""
        raise NotImplementedError(f"{self.kind} steps compile to other ops")

    def urls(self) -> tuple[str, ...]:
        """The URLs the step sends to (checked by the outbound policy when it is saved)."""
        return ()


@dataclass(frozen=True)
class Op:
    """One instruction of the compiled program: run ``step`` (of kind ``kind``). A branch
    compiles to a ``check`` (go to ``target`` when ``condition`` is false) and a ``jump``
    (go to ``target``); see the branch step."""

    kind: str
    step: StepKind | None = None
    condition: str | None = None
    target: int = -1

    def run(self, runtime: Runtime) -> Outcome:
        """Execute the op for one run."""
        assert self.step is not None
        return self.step.run(runtime)

    def run_many(self, runtimes: Sequence[Runtime]) -> list[Result]:
        """Execute the op for several runs at once (one result each, in their order)."""
        if self.step is None:
            return one_by_one(self.run, runtimes)
        return self.step.run_many(runtimes)

    def describe(self, values: dict[str, Any]) -> str | None:
        """The op in words (None: nothing to say)."""
        assert self.step is not None
        return self.step.describe(values)
