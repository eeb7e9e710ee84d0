"""The playbooks engine's public face: which playbooks are in force (``versions``), the
pause switch (``state``), evaluating them (``evaluation``: triggers, firings, runs), replays
(``replay``) and what they did (``report``). The code lives in those modules."""

from __future__ import annotations

from boomerang.playbooks.evaluation import Evaluation as Evaluation
from boomerang.playbooks.evaluation import Firing as Firing
from boomerang.playbooks.evaluation import describe as describe
from boomerang.playbooks.evaluation import evaluate as evaluate
from boomerang.playbooks.evaluation import held_out as held_out
from boomerang.playbooks.replay import replay as replay
from boomerang.playbooks.report import Arm as Arm
from boomerang.playbooks.report import effectiveness as effectiveness
from boomerang.playbooks.report import run_counts as run_counts
from boomerang.playbooks.report import runs_for as runs_for
from boomerang.playbooks.state import ALL as ALL
from boomerang.playbooks.state import paused as paused
from boomerang.playbooks.state import set_paused as set_paused
from boomerang.playbooks.versions import InForce as InForce
from boomerang.playbooks.versions import check_fields as check_fields
from boomerang.playbooks.versions import get as get
from boomerang.playbooks.versions import in_force as in_force
from boomerang.playbooks.versions import save_version as save_version
from boomerang.playbooks.versions import sync_files as sync_files

__all__ = [
    "ALL",
    "Arm",
    "Evaluation",
    "Firing",
    "InForce",
    "check_fields",
    "describe",
    "effectiveness",
    "evaluate",
    "get",
    "held_out",
    "in_force",
    "paused",
    "replay",
    "run_counts",
    "runs_for",
    "save_version",
    "set_paused",
    "sync_files",
]
