"""Shared fixtures: the reference programs in ../shared (skipped with a reason if absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "reference"


def reference_path(name: str) -> Path:
    """Path of ``../shared/reference/<name>``; skips the test if the folder is absent."""
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{path} not found: ../shared beside the repository is needed for this test")
    return path


@pytest.fixture
def reference():
    return reference_path
