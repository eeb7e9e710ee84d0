"""Every table, registered in one place so that Alembic, the ORM and tests see the whole schema.

Importing this module imports each domain's tables module named in :mod:`boomerang.domains`.
"""

from __future__ import annotations

import importlib

from boomerang.domains import model_modules

for _module in model_modules():
    importlib.import_module(_module)
