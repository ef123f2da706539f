"""The layers inside ``search/`` and the names of our modules.

``search/`` is layered so that imports point down only: cli -> experiments -> analysis -> core
(everything else: engine, mutations, run directories, config, backends). Every import counts,
function-level ones included. No module or package of ours is named like a standard-library
module, one of our top-level packages or a dependency we import: such a file shadows the real one
whenever its folder is on ``sys.path`` (a script run from it, ``python search/x.py``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ROOT / "search"
UPPER = ("cli", "experiments", "analysis")
# what each layer may not import (the layers above it)
FORBIDDEN = {
    "core": ("search.cli", "search.experiments", "search.analysis"),
    "analysis": ("search.cli", "search.experiments"),
    "experiments": ("search.cli",),
    "cli": (),
}
OURS = ("dsl", "search", "proxy_tasks", "simplify")
DEPENDENCIES = ("ray", "jax", "optax", "numpy", "yaml", "rich", "sympy", "matplotlib", "torch")
NAMED_TREES = ("dsl", "proxy_tasks", "simplify", "search", "benchmarks")


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(path: Path) -> str:
    top = path.relative_to(SEARCH).parts[0]
    return top if top in UPPER else "core"


def imported(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports anywhere in its body (``from a import b`` counts ``a`` and
    ``a.b``; relative imports resolved; ``importlib.import_module("...")`` with a literal too)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "import_module" and isinstance(node.args[0].value, str):
                out.add(node.args[0].value)
    return out


def _hits(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


SEARCH_MODULES = sorted(p for p in SEARCH.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_layer_of_search_is_present():
    layers = {_layer(p) for p in SEARCH_MODULES}
    assert layers == {"core", "analysis", "experiments", "cli"}


@pytest.mark.parametrize("path", SEARCH_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_only(path):
    layer = _layer(path)
    bad = sorted(m for m in imported(path) if _hits(m, FORBIDDEN[layer]))
    assert not bad, f"{path.relative_to(ROOT)} ({layer} layer) imports {bad}: imports must point down only"


def test_the_import_scan_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "search" / "x"
    pkg.mkdir(parents=True)
    mod = pkg / "m.py"
    mod.write_text("def f():\n    from search.cli import main\n    from ..analysis import runs\n"
                   "    from . import sibling\n    importlib.import_module('search.experiments.replay')\n")
    found = imported(mod, root=tmp_path)
    assert {"search.cli.main", "search.analysis.runs", "search.x.sibling", "search.experiments.replay"} <= found


def _names():
    """(path, name) of every module and package under our source trees (the trees themselves excepted)."""
    for tree in NAMED_TREES:
        for p in sorted((ROOT / tree).rglob("*")):
            if "__pycache__" in p.parts or p.name.startswith("."):
                continue
            if p.is_dir() and any(p.glob("*.py")):
                yield p, p.name
            elif p.suffix == ".py" and not p.stem.startswith("__"):
                yield p, p.stem


def test_no_module_shadows_the_standard_library_our_packages_or_a_dependency():
    taken = set(sys.stdlib_module_names) | set(OURS) | set(DEPENDENCIES)
    clashes = [str(p.relative_to(ROOT)) for p, name in _names() if name in taken]
    assert not clashes, f"named like a standard-library module, one of our packages or a dependency: {clashes}"


def test_python_m_search_cli_help():
    out = subprocess.run([sys.executable, "-m", "search.cli", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage: optsearch" in out.stdout and "replay" in out.stdout
