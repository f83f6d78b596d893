"""restly's imports point one way: no cycles, no upward imports, no hidden lazy imports.

An AST walk over ``restly/`` (no import is executed). Each rule failure names the file, the
line and the rule, e.g.::

    restly/query/_plan.py:122: function-level import of restly.query._sql (rule c: import at
    module top, or add the module to LAZY_ALLOWED with the reason)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "restly"

# The layers, top to bottom: a module may import from its own layer or any layer below it.
# Written once, here. The top layer is what users run (the package itself, the demo, the
# test helpers); then what answers requests (mount, views); then the class-definition layer
# (resource, which compiles a view class); then what it compiles with (query, then schemas);
# then runtime state (db, which owns the registry); then leaves that import nothing of
# restly but exc (facts about models, typing walkers, route specs, the HTTP-side helpers,
# the model mixins); exc is at the bottom.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"restly", "__main__", "_demo", "_new", "testing"}),
    frozenset({"mount", "_direct", "views"}),
    frozenset({"resource"}),
    frozenset({"query"}),
    frozenset({"schemas"}),
    frozenset({"db"}),
    frozenset({"registry"}),
    frozenset({"idempotency"}),
    frozenset(
        {
            "_introspect",
            "_annotations",
            "_caches",
            "_routing",
            "_limits",
            "_messages",
            "_methods",
            "_operation_ids",
            "_docs_ui",
            "_handlers",
            "_etags",
            "_prefer",
            "_spliced",
            "_problems",
            "_faults",
            "_integrity",
            "models",
            "migrations",
        }
    ),
    frozenset({"exc"}),
)

# Function-level imports of restly modules that are allowed, and why. Anything else is a
# cycle being dodged or an import that belongs at the top of the module.
LAZY_ALLOWED: dict[str, str] = {
    "restly/__main__.py": "each command's modules load only when it runs (the demo's optional dependencies for `restly demo`)",
    "restly/_demo/cli.py": "the demo app (uvicorn) loads only when the demo runs",
    "restly/testing/plugin.py": "test clients need httpx, an optional dependency",
}


@dataclass(frozen=True)
class Import:
    source: str  # module name, "restly.query._plan"
    path: str  # "restly/query/_plan.py"
    line: int
    target: str  # imported module, "restly.query._sql"
    lazy: bool  # inside a function


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports() -> Iterator[Import]:
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        shown = str(path.relative_to(ROOT.parent))
        tree = ast.parse(path.read_text(), filename=shown)
        lazy_nodes = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            lazy = id(node) in lazy_nodes
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "restly":
                        yield Import(name, shown, node.lineno, alias.name, lazy)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                if module.split(".")[0] != "restly":
                    continue
                for alias in node.names:
                    # `from . import _persistence` imports a module, not a name
                    submodule = f"{module}.{alias.name}"
                    target = submodule if submodule in MODULES else module
                    yield Import(name, shown, node.lineno, target, lazy)


IMPORTS = list(_imports())


def _component(module: str) -> str:
    """The layer name of a module: `restly.query._plan` -> `query`, `restly` -> `restly`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "restly"


def _layer(module: str) -> int:
    component = _component(module)
    for index, layer in enumerate(LAYERS):
        if component in layer:
            return index
    raise AssertionError(f"{module} is in no layer: add {component!r} to LAYERS")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def cycle_problems(imports: list[Import]) -> list[str]:
    """Rule (a): no import cycle between restly modules (lazy imports count too)."""
    edges: dict[str, set[str]] = {}
    where: dict[tuple[str, str], Import] = {}
    for item in imports:
        # Importing a submodule runs its package's __init__ first; a package importing its own
        # submodules is how packages re-export, not a cycle.
        if item.target != item.source and not item.source.startswith(item.target + "."):
            edges.setdefault(item.source, set()).add(item.target)
            where.setdefault((item.source, item.target), item)
    problems = []
    for cycle in _cycles(edges):
        members = set(cycle)
        links = [
            f"{found.path}:{found.line} imports {found.target}"
            for (source, target), found in sorted(where.items())
            if source in members and target in members
        ]
        problems.append(
            f"import cycle between {', '.join(cycle)} (rule a: move the shared piece into a "
            f"lower module): " + "; ".join(links)
        )
    return problems


def layer_problems(imports: list[Import]) -> list[str]:
    """Rule (b): no import of a higher layer."""
    return [
        f"{item.path}:{item.line}: {item.source} ({_component(item.source)}) imports "
        f"{item.target} ({_component(item.target)}), a higher layer (rule b: see LAYERS in "
        "tests/test_layers.py)"
        for item in imports
        if _layer(item.target) < _layer(item.source)
    ]


def lazy_problems(imports: list[Import]) -> list[str]:
    """Rule (c): restly modules are imported at module top, except LAZY_ALLOWED."""
    return [
        f"{item.path}:{item.line}: function-level import of {item.target} (rule c: import "
        "at module top, or add the file to LAZY_ALLOWED with the reason)"
        for item in imports
        if item.lazy and item.path not in LAZY_ALLOWED
    ]


def private_problems(imports: list[Import]) -> list[str]:
    """Rule (d): across packages, import the package, not its `_private` module."""
    problems = []
    for item in imports:
        parts = item.target.split(".")
        # restly.<package>._<module>: private to <package> (top-level restly._x are shared).
        if len(parts) < 3 or not parts[2].startswith("_") or parts[2].startswith("__"):
            continue
        target_package = ".".join(parts[:2])
        if item.source == target_package or item.source.startswith(target_package + "."):
            continue
        problems.append(
            f"{item.path}:{item.line}: {item.source} imports {item.target}, a private module "
            f"of {target_package} (rule d: import it from {target_package}, which re-exports "
            "internal names outside __all__)"
        )
    return problems


RULES = {
    "a: no cycles": cycle_problems,
    "b: layers": layer_problems,
    "c: no lazy imports": lazy_problems,
    "d: no private modules across packages": private_problems,
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_restly_imports_follow_the_rule(rule: str) -> None:
    problems = RULES[rule](IMPORTS)
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)  # raises naming the module


def test_the_rules_catch_what_they_are_for() -> None:
    """Each rule fails on a made-up import that breaks it."""

    def fake(source: str, target: str, *, lazy: bool = False) -> Import:
        return Import(source, source.replace(".", "/") + ".py", 1, target, lazy)

    assert cycle_problems(
        [fake("restly.query._plan", "restly.query._sql"), fake("restly.query._sql", "restly.query._plan")]
    )
    assert layer_problems([fake("restly.schemas._base", "restly.resource")])
    assert lazy_problems([fake("restly.views._rest", "restly.query", lazy=True)])
    assert private_problems([fake("restly.views._rest", "restly.query._params")])
    assert not private_problems([fake("restly.query._apply", "restly.query._params")])
