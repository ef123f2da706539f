"""Shared fixtures: the reference programs in ../shared (skipped with a reason if absent), the
benchmark scripts loaded as modules, and a compilation cache private to the test session."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"

# One compilation cache for the whole test session, shared by its subprocesses and Ray workers
# (so the quick replay's restarts load what the first process compiled), and never the user's.
os.environ.setdefault("OPTSEARCH_COMPILE_CACHE", tempfile.mkdtemp(prefix="optsearch-test-xla-"))


# The package ships the reference programs the tests read (``dsl/library``: the same statements,
# checked by ``tests/test_dsl_parse.py``), so without ``../shared`` these tests still run.
SHIPPED = {"discovered_pruned.train": "discovered.train", "adamw.train": "adamw.train", "lion.train": "lion.train"}


def reference_path(name: str) -> Path:
    """``../shared/reference/<name>`` (the project's shared material beside the repository), else
    the copy the package ships in ``dsl/library``; skips the test if neither exists."""
    path = REFERENCE / name
    if path.exists():
        return path
    if name in SHIPPED:
        return ROOT / "dsl" / "library" / SHIPPED[name]
    pytest.skip(f"{path} not found: ../shared beside the repository is needed for this test")


@pytest.fixture
def reference():
    return reference_path


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (the folder is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def benchmark_module():
    """``benchmark_module("search_speed")``: a script of ``benchmarks/`` loaded as a module."""
    return load_benchmark
