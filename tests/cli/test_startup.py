"""The guard that keeps the CLI instant: starting it imports no heavy library.

Each check runs in a fresh interpreter and reads ``sys.modules``, so what another test
imported cannot hide a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from boomerang.cli import COMMANDS

HEAVY = (
    "sklearn",
    "scipy",
    "pandas",
    "ibis",
    "duckdb",
    "weasyprint",
    "fastapi",
    "uvicorn",
    "alembic",
    "pyarrow",
    "numpy",
)
"""Never imported by starting the CLI, by ``--version`` or by any ``--help``."""

STARTUP_ALSO = ("sqlalchemy", "pydantic", "pydantic_settings", "rich", "jinja2")
"""Nor, for ``import boomerang.cli``, ``--version`` and ``--help``, these lighter ones."""

ENTRIES = {
    **{name: entry for name, entry in COMMANDS.items()},
    **{
        f"{name} {child}": sub
        for name, entry in COMMANDS.items()
        for child, sub in entry.children.items()
    },
}
"""Every lazy entry: the root's sub-commands and those added to a domain's group by a flow."""

DOMAIN_MODULES = sorted({entry.target.partition(":")[0] for entry in ENTRIES.values()})


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    return {name.partition(".")[0] for name in json.loads(last)}


def _cli(*args: str) -> str:
    return (
        "import sys\n"
        "from boomerang.cli import app\n"
        f"sys.argv = ['boomerang', *{list(args)!r}]\n"
        "try:\n"
        "    app(standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("import boomerang.cli", id="import"),
        pytest.param(_cli("--version"), id="--version"),
        pytest.param(_cli("--help"), id="--help"),
    ],
)
def test_starting_the_cli_imports_nothing_heavy(code: str) -> None:
    loaded = _modules_after(code)
    assert not loaded & {*HEAVY, *STARTUP_ALSO}, sorted(loaded & {*HEAVY, *STARTUP_ALSO})


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_domain_help_imports_nothing_heavy(name: str) -> None:
    """``boomerang <domain> --help`` builds every option of the domain's commands: neither
    the domain nor Typer may import a heavy library (or pydantic) to do it."""
    loaded = _modules_after(_cli(name, "--help"))
    assert not loaded & {*HEAVY, *STARTUP_ALSO}, sorted(loaded & {*HEAVY, *STARTUP_ALSO})


@pytest.mark.parametrize("module", DOMAIN_MODULES)
def test_a_domain_cli_module_imports_nothing_heavy(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert not loaded & {*HEAVY, *STARTUP_ALSO}, sorted(loaded & {*HEAVY, *STARTUP_ALSO})


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_the_listed_help_is_the_commands_own(name: str) -> None:
    """``boomerang --help`` shows the registry's line without importing the command: it must
    say what the command itself says."""
    entry = ENTRIES[name]
    command = entry.load(name.split()[-1])
    own = (command.help or "").strip().split("\n\n")[0].replace("\n", " ")
    assert own == entry.help


def test_shell_completion_lists_commands_without_importing_them() -> None:
    """Completing ``boomerang he<TAB>`` and ``boomerang health co<TAB>`` as bash asks it:
    the names come from the registry and the one domain named, nothing heavy is loaded."""
    code = (
        "import os, sys\n"
        "os.environ.update(_BOOMERANG_COMPLETE='complete_bash', COMP_WORDS=WORDS, "
        "COMP_CWORD=str(len(WORDS.split()) - 1))\n"
        "from boomerang.cli import app\n"
        "try:\n"
        "    app(prog_name='boomerang')\n"
        "except SystemExit:\n"
        "    pass\n"
        "import json\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    for words, expected in (("boomerang he", "health"), ("boomerang health co", "compute")):
        done = subprocess.run(
            [sys.executable, "-c", f"WORDS = {words!r}\n{code}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        *completions, modules = done.stdout.strip().splitlines()
        assert expected in completions
        loaded = {name.partition(".")[0] for name in json.loads(modules)}
        assert not loaded & {*HEAVY, *STARTUP_ALSO}, sorted(loaded & {*HEAVY, *STARTUP_ALSO})


def test_status_on_the_embedded_store_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    """``status`` is what monitoring runs: on a SQLite file it reads with the standard library
    (``boomerang.store_probe``); DuckDB counts the events, nothing heavier is loaded."""
    env = {**os.environ, "BOOMERANG_DATA_DIR": str(tmp_path)}
    subprocess.run(
        [sys.executable, "-m", "boomerang", "init"], env=env, check=True, capture_output=True
    )
    code = f"import os\nos.environ['BOOMERANG_DATA_DIR'] = {str(tmp_path)!r}\n" + _cli("status")
    loaded = _modules_after(code)
    assert "boomerang" in loaded and "sqlite3" in loaded
    unwanted = ({*HEAVY} - {"duckdb"}) | {"sqlalchemy", "alembic"}
    assert not loaded & unwanted, sorted(loaded & unwanted)


def test_a_show_command_reads_without_the_analytics_stack() -> None:
    """``health show`` prints a stored explanation: what it imports (accounts, the health
    explanation and its JSON schema) needs SQLAlchemy, never the libraries that compute."""
    loaded = _modules_after(
        "import boomerang.accounts.service, boomerang.health.explanations, "
        "boomerang.health.schemas, boomerang.health.cli"
    )
    assert not loaded & {*HEAVY}, sorted(loaded & {*HEAVY})
