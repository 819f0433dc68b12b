"""The layout's rules, checked from the code itself (ast, no imports run):

- dependencies point one way: kernel <- ingest/simulator/devstack <- collector/projections <-
  learner_model/warehouse <- app; a package imports only its own modules and lower layers;
- no import cycles between modules;
- no ``importlib``/``runpy`` tricks in the packages that ship;
- the exception tree drawn in ``learnstream.errors`` is the tree of the classes.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: The layers, lowest first. A package may import its own modules and any lower layer's,
#: never a package of its own layer or a higher one.
LAYERS: dict[str, int] = {
    "learnstream": 0,
    "ingest": 1,
    "simulator": 1,
    "devstack": 1,
    "collector": 2,
    "projections": 2,
    "learner_model": 3,
    "warehouse": 3,
    "testing": 4,
    "app": 5,
}
#: Production packages: no dynamic imports.
SHIPPED = [name for name in LAYERS if name != "testing"]


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from pkg import module`` imports a module too.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


MODULES = _modules()


def test_every_package_is_in_a_layer() -> None:
    for path in ROOT.iterdir():
        if (path / "__init__.py").exists() and path.name not in {"tests", "bench", "migrations"}:
            assert path.name in LAYERS, f"{path.name}/ has no layer in this test"


def test_dependencies_point_one_way() -> None:
    back_edges = []
    for module, path in MODULES.items():
        own = module.split(".")[0]
        for line, target in _imports(path, module):
            top = target.split(".")[0]
            if top == own or top not in LAYERS:
                continue
            if LAYERS[top] >= LAYERS[own]:
                back_edges.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not back_edges, "\n".join(back_edges)


def _imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """The modules an import statement names (``import a.b``, ``from a.b import x``: a.b)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.append((node.lineno, node.module))
    return found


def test_every_import_of_our_packages_resolves() -> None:
    # Local (in-function) imports are not run by most tests: a moved or deleted module
    # would only fail in production. Every module of ours that is imported must exist.
    missing = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in MODULES.items()
        for line, target in _imported_modules(path, module)
        if target.split(".")[0] in LAYERS and target not in MODULES
    ]
    assert not missing, "\n".join(missing)


def test_each_read_model_has_one_owner_in_the_running_set() -> None:
    from app import running_projections
    from learnstream.settings import Settings

    owners: dict[str, list[str]] = {}
    for projection in running_projections(Settings()):
        for table in projection.tables:
            owners.setdefault(table.name, []).append(projection.name)
    shared = {table: names for table, names in owners.items() if len(names) > 1}
    assert not shared, shared
    assert "learner_model_state" in owners  # the learner model's, the only one


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = {t for _, t in _imports(path, module) if t in MODULES and t != module}
        # A package's __init__ re-exporting its modules is not a dependency of theirs on it.
        graph[module] = {t for t in targets if not module.startswith(t + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("package", SHIPPED)
def test_no_dynamic_imports(package: str) -> None:
    for module, path in MODULES.items():
        if module.split(".")[0] != package:
            continue
        for line, target in _imports(path, module):
            assert target.split(".")[0] not in {"importlib", "runpy"}, f"{path}:{line}"


def _drawn_tree() -> dict[str, str | None]:
    """class name -> parent name, from the docstring of learnstream.errors."""
    import learnstream.errors

    doc = learnstream.errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]\s*)*)(?:[├└]── )?([A-Z][A-Za-z]+)(\s|$)", line)
        if not match or not re.search(r"(Error|Rejected|Unavailable|Interrupted|Failed|"
                                      r"Projection|Job|Learner|Empty|Corrupt|Unhealthy|Key|Overloaded)\b",
                                      match.group(2)):
            continue
        depth = len(match.group(1)) + (4 if "──" in line else 0)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, match.group(2)))
    return parents


def _actual_tree() -> dict[str, str | None]:
    import learnstream.errors

    root = learnstream.errors.LearnstreamError
    classes: dict[str, type] = {}
    for package in SHIPPED:
        for module in (m for m in MODULES if m.split(".")[0] == package):
            if not module.endswith("errors"):
                continue
            for _, obj in inspect.getmembers(importlib.import_module(module), inspect.isclass):
                if issubclass(obj, root):
                    classes[obj.__name__] = obj
    return {
        name: (None if cls is root else cls.__mro__[1].__name__) for name, cls in classes.items()
    }


def test_the_drawn_exception_tree_is_the_real_one() -> None:
    drawn = _drawn_tree()
    assert "LearnstreamError" in drawn and len(drawn) > 5, drawn
    assert drawn == _actual_tree()


def test_errors_live_in_errors_modules() -> None:
    """Every exception class is defined in a module named ``errors`` (one tree, one place
    per stage)."""
    stray = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            bases = [b.id for b in getattr(node, "bases", []) if isinstance(b, ast.Name)]
            if (
                isinstance(node, ast.ClassDef)
                and any(b.endswith(("Error", "Exception")) for b in bases)
                and not module.endswith("errors")
            ):
                stray.append(f"{module}.{node.name}")
    assert not stray, stray


def test_test_modules_have_unique_names() -> None:
    """tests/unit and tests/integration are not packages: pytest refuses to collect two test
    modules of the same name in one run (the whole suite would stop before a test runs)."""
    root = Path(__file__).resolve().parents[1]
    seen: dict[str, list[str]] = {}
    for path in root.rglob("test_*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(root)))
    assert {n: p for n, p in seen.items() if len(p) > 1} == {}
