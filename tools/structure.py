"""The structure check: how big the files and functions are, and how the domains import.

Run by ``make test`` (``python tools/structure.py``); prints the figures and exits 1 when a
limit is passed. Limits (issue 15):

- files over 500 lines in ``src/`` (migrations and the demo generator aside): at most 5;
- functions over 60 lines: at most 30;
- pairs of domains that import each other both ways: at most 3;
- no import cycle between modules at module level (imports inside functions and under
  ``if TYPE_CHECKING:`` are not module-level).

``--verbose`` lists what is over each limit.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = "boomerang"

MAX_LONG_FILES = 5
LONG_FILE = 500
MAX_LONG_FUNCTIONS = 30
LONG_FUNCTION = 60
MAX_MUTUAL_PAIRS = 3
EXEMPT_PARTS = ("migrations", "demo")

# Packages under boomerang that are not domains (infrastructure and floors).
NOT_DOMAINS = {"web", "flows", "analytics", "migrations", "demo", "jobs"}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(p for p in (SRC / PACKAGE).rglob("*.py"))


def exempt(path: Path) -> bool:
    rel = path.relative_to(SRC / PACKAGE).parts
    return rel[0] in EXEMPT_PARTS


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, tree: ast.Module, *, module_level: bool) -> set[str]:
    """Modules imported by the file: at module level only, or anywhere."""
    module = module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = resolve(module, node, is_package)
                found.add(target)
                for alias in node.names:
                    found.add(f"{target}.{alias.name}")
            elif isinstance(node, ast.If):
                if module_level and is_type_checking(node):
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif not module_level and isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.With
            ):
                visit(node.body)
            elif not module_level:
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.stmt):
                        visit([child])

    if module_level:
        visit(tree.body)
    else:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = resolve(module, node, is_package)
                found.add(target)
                for alias in node.names:
                    found.add(f"{target}.{alias.name}")
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 3 or parts[0] != PACKAGE:
        return None  # top-level modules (app, cli, db, config ...) are not domains
    return None if parts[1] in NOT_DOMAINS else parts[1]


def long_functions(tree: ast.Module) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                assert child.end_lineno is not None
                start = min([child.lineno] + [d.lineno for d in child.decorator_list])
                length = child.end_lineno - start + 1
                if length > LONG_FUNCTION:
                    found.append((f"{prefix}{child.name}", length))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among modules, or None (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    components: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def strong(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return min(components, key=len) if components else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list what is over")
    args = parser.parse_args()

    files = source_files()
    modules = {module_name(p): p for p in files}
    long_files: list[tuple[str, int]] = []
    functions: list[tuple[str, int]] = []
    graph: dict[str, set[str]] = defaultdict(set)
    domain_imports: dict[str, set[str]] = defaultdict(set)
    for path in files:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        module = module_name(path)
        rel = str(path.relative_to(ROOT))
        lines = len(text.splitlines())
        if not exempt(path):
            if lines > LONG_FILE:
                long_files.append((rel, lines))
            functions.extend((f"{rel}:{name}", n) for name, n in long_functions(tree))
        for target in imports_of(path, tree, module_level=True):
            if target in modules and target != module:
                graph[module].add(target)
        source_domain = domain_of(module)
        if source_domain is None:
            continue
        for target in imports_of(path, tree, module_level=False):
            target_domain = domain_of(target)
            if target_domain and target_domain != source_domain:
                domain_imports[source_domain].add(target_domain)

    mutual = sorted(
        (a, b)
        for a, targets in domain_imports.items()
        for b in targets
        if a < b and a in domain_imports.get(b, set())
    )
    cycle = find_cycle(graph)

    failures = []
    print(f"files over {LONG_FILE} lines: {len(long_files)} (at most {MAX_LONG_FILES})")
    if len(long_files) > MAX_LONG_FILES:
        failures.append("files")
    if args.verbose or len(long_files) > MAX_LONG_FILES:
        for rel, lines in sorted(long_files, key=lambda item: -item[1]):
            print(f"  {lines:5d} {rel}")
    print(f"functions over {LONG_FUNCTION} lines: {len(functions)} (at most {MAX_LONG_FUNCTIONS})")
    if len(functions) > MAX_LONG_FUNCTIONS:
        failures.append("functions")
    if args.verbose or len(functions) > MAX_LONG_FUNCTIONS:
        for name, lines in sorted(functions, key=lambda item: -item[1]):
            print(f"  {lines:5d} {name}")
    print(f"domain pairs importing each other: {len(mutual)} (at most {MAX_MUTUAL_PAIRS})")
    if len(mutual) > MAX_MUTUAL_PAIRS:
        failures.append("domain pairs")
    if args.verbose or len(mutual) > MAX_MUTUAL_PAIRS:
        for a, b in mutual:
            print(f"  {a} <-> {b}")
    print(f"module-level import cycles: {'none' if cycle is None else 'yes'}")
    if cycle is not None:
        failures.append("import cycle")
        print("  smallest cycle among: " + ", ".join(cycle))
    if failures:
        print("structure check FAILED: " + ", ".join(failures))
        return 1
    print("structure check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
