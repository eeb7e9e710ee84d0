"""Helpers tests share that are not fixtures."""

from __future__ import annotations

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
