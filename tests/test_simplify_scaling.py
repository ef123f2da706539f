"""The simplifier's work grows about linearly with the program's length: counted, not timed.

Wall time is left to ``benchmarks/simplify_scaling.py``; these counts are deterministic, so the
tests cannot be flaky.
"""

from __future__ import annotations

from collections import Counter

import pytest

from dsl.program import Program, Statement
from simplify import algebra, passes
from simplify.exact import exact_steps


def _count(monkeypatch, module, name: str, counter: Counter) -> None:
    inner = getattr(module, name)

    def counted(*args, **kwargs):
        counter[name] += 1
        return inner(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


@pytest.fixture
def long_program(benchmark_module):
    return benchmark_module("simplify_scaling").long_program


def test_rewrite_attempts_grow_linearly_and_kind_scans_once_per_round(monkeypatch, long_program):
    counts = []
    for n in (150, 300):
        c: Counter = Counter()
        for name in ("rewrite_statement", "algebra_step", "infer_kinds"):
            _count(monkeypatch, algebra, name, c)
        steps = exact_steps(long_program(n))
        monkeypatch.undo()
        assert steps and c["rewrite_statement"] > n / 2
        # the program's kinds are scanned once per algebra round, never once per attempt
        assert c["infer_kinds"] == c["algebra_step"]
        counts.append(c)
    assert counts[1]["rewrite_statement"] <= 2.4 * counts[0]["rewrite_statement"]
    assert counts[1]["algebra_step"] <= 2.6 * counts[0]["algebra_step"]


def _duplicates(n: int) -> Program:
    """n statements, every second one a copy of the one before (merging cascades down the chain)."""
    statements, prev = [], "g"
    for i in range(n // 2):
        statements.append(Statement(f"a{i}", "add", (prev, float(i))))
        statements.append(Statement(f"b{i}", "add", (float(i), prev)))
        prev = f"b{i}"
    statements.append(Statement("update", "sign", (prev,)))
    return Program(tuple(statements), ("update", "m", "v"))


def test_merging_duplicates_is_one_pass(monkeypatch):
    for n in (200, 400):
        c: Counter = Counter()
        _count(monkeypatch, passes, "_key", c)
        program = _duplicates(n)
        new, detail = passes.canonical_names(program)
        monkeypatch.undo()
        assert len(new) == n // 2 + 1 and detail.count("duplicates") == n // 2
        assert c["_key"] == len(program)  # each statement keyed once (was once per merge)
