"""The ``soak`` mark: the short soak runs of ``bench/soak.py`` (one to a few minutes each)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "soak: a short run of bench/soak.py (slow: one to a few minutes each)"
    )
