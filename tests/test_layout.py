"""The layout of python/sketchkit: its modules import each other without a cycle.

The graph is built from the source (``ast``), not by importing: every ``import`` and
``from ... import`` statement counts, wherever it stands (module level, inside a
function, under ``TYPE_CHECKING``), so a cycle hidden behind a lazy import fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "sketchkit"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """``module -> modules of the package it imports`` for every ``.py`` file.

    Compiled modules known only by their stub (``_native.pyi``) are leaves. Importing
    ``a.b`` also initializes the package ``a``; like Python's own notion of a
    circular import, that implicit parent edge is not counted.
    """
    files = {module_name(p, package): p for p in sorted(package.rglob("*.py"))}
    stubs = {module_name(p, package) for p in package.rglob("*.pyi")}
    modules = set(files) | stubs
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = graph[name]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package_name = here
                    for _ in range(node.level - 1):
                        package_name = package_name.rpartition(".")[0]
                    base = f"{package_name}.{base}" if base else package_name
                # ``from m import y``: the submodule m.y when there is one, else m
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                # ``import a.b.c`` names a.b.c; keep the deepest module of the package
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_graph_sees_the_package():
    graph = import_graph()
    assert "sketchkit._operator" in graph["sketchkit"]
    assert "sketchkit._validation" in graph["sketchkit._operator"]
    assert "sketchkit.selection._base" in graph["sketchkit.selection._graph"]
    assert "sketchkit._native" in graph["sketchkit.selection._graph"]  # from .. import


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_lazy_import_cycle_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from ._a import f\n")
    (pkg / "_a.py").write_text("from . import _native\nfrom ._b import g\n")
    (pkg / "_b.py").write_text("def g():\n    from ._a import f\n")
    (pkg / "_native.pyi").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .. import _native\nfrom ..sub import x\n")
    (pkg / "sub" / "x.py").write_text("import pkg._b\n")
    graph = import_graph(pkg)
    assert graph["pkg"] == {"pkg._a"}
    assert graph["pkg._a"] == {"pkg._native", "pkg._b"}
    assert graph["pkg.sub"] == {"pkg._native", "pkg.sub.x"}
    assert graph["pkg.sub.x"] == {"pkg._b"}
    assert find_cycle(graph) == ["pkg._a", "pkg._b", "pkg._a"]


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
