"""The module graph of bot/ and domain/, read with `ast` (nothing runs): no import circles,
and the shell's layers import only downwards (docs/architecture.md draws them).

Every import statement counts, wherever it stands: at the top, inside a function, under
`if TYPE_CHECKING:` or in a `try:`. An import moved into a function only delays the circle
to the first call (and hides it from a reader); one under TYPE_CHECKING still ties the two
modules' designs together. A module's edges go to the modules it names (`from a import b`
names `a.b` when that is a module, else `a`); the parent packages Python initialises on the
way are not edges, because every `__init__.py` here is empty of imports or holds what its
package's modules build on.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "domain")
Graph = dict[str, dict[str, int]]  # module → {imported module: line of the first import}
# The entry points that build the application; nothing else may import the composition root.
ENTRY_POINTS = frozenset({"bot.__main__", "bot.http.server", "bot.sandbox.chat"})
# What the storage adapter may import of bot/: itself, and the commit notes its transactions
# leave for the update in hand (bot/commits.py imports nothing).
STORAGE_MAY_IMPORT = ("bot.storage", "bot.commits")
# The core's use cases: async functions over a unit of work. Everything else in domain/ is
# rules and types, below the ports (domain/ports.py) and the use cases that read them.
USE_CASES = frozenset({"domain.services", "domain.closure_service", "domain.reminder_service",
                       "domain.drops", "domain.apply", "domain.jobs"})


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Every module under the packages, by dotted name (a package by its own name)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Each dotted name an import statement of the module names, with its line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)


def owner(name: str, modules: dict[str, Path]) -> str | None:
    """The module a dotted name lives in (its longest prefix that is a module), if ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, packages: tuple[str, ...] = PACKAGES) -> Graph:
    """Which of our modules each module imports, from the source alone (nothing runs)."""
    modules = module_files(root, packages)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        for imported, line in imported_names(name, path):
            target = owner(imported, modules)
            if target is not None and target != name:
                graph[name].setdefault(target, line)
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """One shortest circle through each tangle (strongly connected set) of modules."""
    found = []
    for tangle in strongly_connected(graph):
        start = min(tangle)
        found.append(shortest_path_back(graph, start, tangle))
    return sorted(found)


def strongly_connected(graph: Graph) -> list[set[str]]:
    """Tarjan's algorithm: the sets of two or more modules that all reach one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    tangles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            tangle = set()
            while True:
                member = stack.pop()
                tangle.add(member)
                if member == node:
                    break
            if len(tangle) > 1:
                tangles.append(tangle)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return tangles


def shortest_path_back(graph: Graph, start: str, tangle: set[str]) -> list[str]:
    """start → … → start, breadth first inside the tangle."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if nxt in tangle and nxt not in came_from:
                    came_from[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"{start} is in a tangle but reaches no way back")


def described(circle: list[str], graph: Graph) -> str:
    """`a (line 3) → b (line 9) → a`: each arrow with the line of the import."""
    steps = [f"{a} (line {graph[a][b]})" for a, b in pairwise(circle)]
    return " → ".join([*steps, circle[-1]])


def write_package(root: Path, files: dict[str, str]) -> Path:
    """A throwaway source tree: {relative path: source}."""
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def test_the_graph_covers_bot_and_domain_and_sees_their_imports() -> None:
    graph = import_graph(ROOT)

    assert len(graph) > 100
    assert "domain.services" in graph["bot.http.api"]
    assert "domain.ports" in graph["domain.services"]
    assert "bot.runner" in graph["bot.http.server"]


def test_no_module_of_bot_or_domain_imports_itself_through_others() -> None:
    graph = import_graph(ROOT)

    circles = [described(circle, graph) for circle in cycles(graph)]

    assert circles == [], "import circles:\n" + "\n".join(circles)


def test_the_storage_adapter_imports_nothing_of_the_shell_above_it() -> None:
    graph = import_graph(ROOT)

    upward = [f"{module} imports {imported}" for module, imports in graph.items()
              if module.startswith("bot.storage.") for imported in imports
              if imported.startswith("bot.") and not imported.startswith(STORAGE_MAY_IMPORT)]

    assert upward == []


def test_the_core_rules_import_no_port_and_the_ports_no_use_case() -> None:
    graph = import_graph(ROOT)
    core = [module for module in graph if module.startswith("domain.")]

    upward = [f"{module} imports {imported}" for module in core if module not in USE_CASES
              for imported in graph[module]
              if imported in USE_CASES or (imported == "domain.ports" != module)]

    assert upward == []
    assert {m for m in core if "domain.ports" in graph[m]} <= USE_CASES


def test_only_the_entry_points_import_the_composition_root() -> None:
    graph = import_graph(ROOT)

    importers = {module for module, imports in graph.items()
                 if {"bot.app", "bot.__main__"} & imports.keys()}

    assert importers <= ENTRY_POINTS
    assert not any("bot.__main__" in graph[module] for module in graph)


@pytest.mark.parametrize("files", [
    pytest.param({"p/__init__.py": "", "p/a.py": "import p.b\n", "p/b.py": "import p.a\n"},
                 id="plain imports"),
    pytest.param({"p/__init__.py": "", "p/a.py": "from p.b import f\n",
                  "p/b.py": "def f():\n    from p.a import g\n"}, id="inside a function"),
    pytest.param({"p/__init__.py": "", "p/a.py": "from p import b\n",
                  "p/b.py": "if TYPE_CHECKING:\n    from p.a import A\n"},
                 id="under TYPE_CHECKING"),
    pytest.param({"p/__init__.py": "", "p/q/__init__.py": "", "p/q/a.py": "from . import b\n",
                  "p/q/b.py": "from ..q.c import x\n", "p/q/c.py": "from .a import y\n"},
                 id="relative imports, three long"),
    pytest.param({"p/__init__.py": "from p.a import X\n", "p/a.py": "from p import Y\n"},
                 id="a package and its module"),
])
def test_the_checker_finds_a_circle(tmp_path: Path, files: dict[str, str]) -> None:
    graph = import_graph(write_package(tmp_path, files), ("p",))

    assert len(cycles(graph)) == 1


def test_the_checker_names_the_circle_with_its_lines(tmp_path: Path) -> None:
    graph = import_graph(write_package(tmp_path, {
        "p/__init__.py": "", "p/a.py": "import os\nimport p.b\n", "p/b.py": "import p.c\n",
        "p/c.py": "\n\nfrom p.a import f\n"}), ("p",))

    names = [described(circle, graph) for circle in cycles(graph)]

    assert names == ["p.a (line 2) → p.b (line 1) → p.c (line 3) → p.a"]


@pytest.mark.parametrize("files", [
    pytest.param({"p/__init__.py": "", "p/a.py": "import p.b\n", "p/b.py": "import p.c\n",
                  "p/c.py": "import os\n"}, id="a chain"),
    pytest.param({"p/__init__.py": "", "p/a.py": "import p.b\nimport p.c\n",
                  "p/b.py": "import p.c\n", "p/c.py": ""}, id="a diamond"),
    pytest.param({"p/__init__.py": "", "p/q/__init__.py": "", "p/q/a.py": "import p.q.b\n",
                  "p/q/b.py": "import decimal\n"}, id="a module beside another in a package"),
    pytest.param({"p/__init__.py": "", "p/a.py": "import p.a\nfrom p.a import x\n"},
                 id="a module naming itself"),
])
def test_the_checker_lets_a_graph_without_circles_through(tmp_path: Path,
                                                           files: dict[str, str]) -> None:
    graph = import_graph(write_package(tmp_path, files), ("p",))

    assert cycles(graph) == []
