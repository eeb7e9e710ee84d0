"""The step kinds of a playbook, one module each (its schema, how it compiles, runs and
describes itself; see ``base``). ``STEPS`` maps each kind to its class in the order of their
``order``: adding a step kind is adding a module here."""

from __future__ import annotations

import importlib
import pkgutil

from boomerang.playbooks.steps.base import StepKind


def _discover() -> dict[str, type[StepKind]]:
    """Import every module of this package (each defines its step kind)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    ordered = sorted(StepKind.kinds.values(), key=lambda cls: cls.order)
    return {cls.kind: cls for cls in ordered}


STEPS = _discover()
STEP_KINDS = tuple(STEPS)
