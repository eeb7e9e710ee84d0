"""Helpers tests share that are not fixtures."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
"""Reference data sets nobody here wrote (``../shared/data`` beside the project); tests that
read them skip, with one summary line for all of them, where the folder is absent."""

SKIP_PREFIX_SHARED = "reference data absent"


def shared_data(name: str) -> Path:
    """A file (or folder) of ``../shared/data``; the calling test skips when it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{SKIP_PREFIX_SHARED}: {path}")
    return path


def needs_shared_data(name: str) -> pytest.MarkDecorator:
    """A mark that skips the test when ``../shared/data/name`` is absent."""
    path = SHARED_DATA / name
    return pytest.mark.skipif(not path.exists(), reason=f"{SKIP_PREFIX_SHARED}: {path}")


def run_cli(
    args: Sequence[str], *, env: Mapping[str, str], input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``boomerang *args`` in this process, as if started with exactly ``env``: the same exit
    code, stdout and stderr a process would give, without paying the interpreter's start and
    the imports again for every command. The environment, the settings and the opened
    stores are the command's own for the call and restored afterwards. An exception no
    command handles is raised here (a process would have printed a traceback), so the test
    fails on it. Tests of the process boundary itself (signals, ``serve``, start-up imports)
    start a real process instead."""
    from typer.testing import CliRunner

    from boomerang.cli import app
    from boomerang.cli_support import reset_consoles, runtime

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    runtime.reset()
    reset_consoles()
    try:
        result = CliRunner().invoke(app, list(args), input=input or "", catch_exceptions=False)
    finally:
        runtime.reset()
        reset_consoles()
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(
        ["boomerang", *args], result.exit_code, result.stdout, result.stderr
    )
