"""The registry of domains is complete: every router, table module, job module and template
folder in the package is declared in ``boomerang.domains``, and every declaration resolves."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from boomerang import domains
from tools import structure

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "boomerang"


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


MODULES = _modules()


def _calls(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
        for node in ast.walk(tree)
    )


def test_every_router_is_registered() -> None:
    declared = {
        f"{module}:{target.id}"
        for module, tree in MODULES.items()
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "APIRouter"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert declared == set(domains.routers())


def test_every_table_module_is_registered() -> None:
    with_tables = {
        module
        for module, tree in MODULES.items()
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(item, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in item.targets)
            for item in node.body
        )
    }
    assert with_tables == set(domains.model_modules())


def test_every_job_module_is_registered() -> None:
    def registers(tree: ast.Module) -> bool:
        handlers = any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "handler"
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)
            for d in node.decorator_list
        )
        return handlers or _calls(tree, "periodic")

    registering = {
        module
        for module, tree in MODULES.items()
        if module != "boomerang.jobs.registry" and registers(tree)
    }
    assert registering == set(domains.job_modules())


def test_every_template_folder_is_registered() -> None:
    folders = {p.parent.name for p in PACKAGE.glob("*/templates") if p.parent.name != "web"}
    assert folders == set(domains.template_packages())


@pytest.mark.parametrize("target", domains.routers())
def test_routers_resolve(target: str) -> None:
    from fastapi import APIRouter

    module, _, attribute = target.partition(":")
    assert isinstance(getattr(importlib.import_module(module), attribute), APIRouter)


def test_names_are_packages_and_unique() -> None:
    names = [d.name for d in domains.DOMAINS]
    assert len(names) == len(set(names))
    for name in names:
        assert (PACKAGE / name / "__init__.py").exists(), name
    assert domains.DOMAINS[-1].name == "flows"  # the floor above every domain


def test_menu_entries_have_distinct_places() -> None:
    items = domains.navigation()
    assert len({i.order for i in items}) == len(items)
    assert len({i.href for i in items}) == len(items)


def test_structure_check_finds_long_functions_and_cycles() -> None:
    tree = ast.parse("def short():\n    pass\n\ndef long():\n" + "    x = 1\n" * 61)
    assert structure.long_functions(tree) == [("long", 62)]
    assert structure.find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        "a",
        "b",
        "c",
    ]
    assert structure.find_cycle({"a": {"b"}, "b": set()}) is None
    assert structure.domain_of("boomerang.health.service") == "health"
    assert structure.domain_of("boomerang.flows.daily") is None
    assert structure.domain_of("boomerang.db") is None
