"""Import structure of dsl, proxy_tasks and simplify: no JAX on import, layers, no cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dsl", "proxy_tasks", "simplify")
LAYERS = {"dsl": set(), "proxy_tasks": {"dsl"}, "simplify": {"dsl", "proxy_tasks"}}
"""Package -> the packages of ours it may import (search sits on top and is not checked here)."""
OURS = (*PACKAGES, "search")


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (so nothing is imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("modules", [
    "dsl, dsl.library, dsl.printer, dsl.export",
    "proxy_tasks, proxy_tasks.registry, proxy_tasks.fitness, proxy_tasks.schedules",
    "simplify, simplify.exact, simplify.ablate, simplify.pipeline, simplify.recognize",
])
def test_importing_does_not_import_jax(modules):
    out = _fresh(f"import sys\nimport {modules}\nprint(sorted({{'jax', 'optax'}} & set(sys.modules)))")
    assert out == "[]", f"import {modules} imported {out}"


def test_metadata_without_jax():
    code = """
import sys
import proxy_tasks
from proxy_tasks import DEFAULT_TASKS, SCALES, TASKS, WORST_FITNESS, fitness_of, registry
from proxy_tasks.schedules import SCHEDULES
assert set(DEFAULT_TASKS) <= set(TASKS) and "proxy" in SCALES and registry.COMMON_DEFAULTS["schedule"] in SCHEDULES
assert WORST_FITNESS == -100.0 and fitness_of(float("nan"), 1.0) == WORST_FITNESS
print("jax" in sys.modules)
"""
    assert _fresh(code) == "False"


def test_evaluator_is_loaded_on_first_use():
    code = """
import sys
import proxy_tasks
assert "proxy_tasks.evaluate" not in sys.modules
from proxy_tasks import Evaluator
from proxy_tasks.evaluate import Evaluator as E2, WORST_FITNESS
assert Evaluator is E2 and WORST_FITNESS is proxy_tasks.WORST_FITNESS
print("jax" in sys.modules)
"""
    assert _fresh(code) == "True"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports, at any level (function-level imports included)."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    deps.add(sub if sub in files else base)
        graph[name] = {d for d in deps if d.split(".")[0] in OURS and d != name}
    return graph


def test_layers_point_down():
    for name, deps in _graph().items():
        pkg = name.split(".")[0]
        bad = {d for d in deps if d.split(".")[0] != pkg and d.split(".")[0] not in LAYERS[pkg]}
        assert not bad, f"{name} imports {sorted(bad)} (allowed: {sorted(LAYERS[pkg]) or 'nothing of ours'})"


def test_no_import_cycles():
    """No module of dsl, proxy_tasks or simplify reaches itself through imports.

    Function-level imports count: hiding a cycle inside a function is still a cycle. A package's
    ``__init__`` importing its own modules is not an edge back from them.
    """
    graph = _graph()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep in graph and dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
