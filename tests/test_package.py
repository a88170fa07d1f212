"""The package's shape: no two modules import each other, directly or around a circle, at any level.

A circle of imports (even inside functions) ties modules that should change independently; this reads every
module's imports with ``ast`` and finds strongly connected components of the graph (Tarjan's algorithm).
"""

from __future__ import annotations

import ast
from pathlib import Path

import wganlab

PACKAGE = Path(wganlab.__file__).parent


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(("wganlab", *path.relative_to(PACKAGE).with_suffix("").parts))
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("wganlab"):
                submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                graph[name].update(submodules)
                if node.module in modules and len(submodules) < len(node.names):
                    graph[name].add(node.module)  # names from the module itself
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_package_imports_itself_around_a_circle():
    graph = import_graph()
    assert "wganlab.study.runner" in graph and "wganlab.metrics.augmentation" in graph  # the graph reads the package
    assert cycles(graph) == []


MAX_MODULE_LINES, MAX_CLASS_LINES = 400, 200  # beyond these a module or a class holds more than one job


def test_no_module_or_class_is_longer_than_one_job_needs():
    long = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long.append(f"{path.relative_to(PACKAGE)}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                long.append(f"{path.relative_to(PACKAGE)}: class {node.name}, {node.end_lineno - node.lineno + 1}")
    assert long == []


def test_reading_a_config_loads_no_torch():
    """Every part's settings sit in a module without torch, so the CLI validates a config in a blink."""
    import subprocess
    import sys

    code = ("import sys, wganlab; wganlab.load_config('wgan-gp', ['tricks.diffaugment.policy=color']); "
            "from wganlab.config import registered_sections; assert registered_sections(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
