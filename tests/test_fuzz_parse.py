"""Fuzzing the parser and checker: any bytes or text give a Program or a ProgramError (never
another exception) quickly, and programs of the largest allowed size parse and check quickly."""

from __future__ import annotations

import random
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ProgramError, analyze, parse
from dsl.parse import MAX_STATEMENTS
from dsl.program import Program
from tests.strategies import programs

FAST = settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])

HEADER = "def train(w, g, m, v, lr):\n"


def _outcome(text):
    try:
        return parse(text)
    except ProgramError as exc:
        assert str(exc)
        return exc


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data):
    assert isinstance(_outcome(data), (Program, ProgramError))
    assert isinstance(_outcome(HEADER.encode() + data), (Program, ProgramError))


TOKENS = st.sampled_from(["x", "g", "m", "v", "w", "lr", "=", "+", "-", "*", "/", "(", ")", ",",
                          "sign(", "interp(", "clip(", "1e309", "0.9", "\n    ", "\n", "return ",
                          "lambda", "import os", "#", '"""', "\t", "\x00", "\ud800", "é", ":",
                          "**", "[", "]", "train", "def", "__x", "@d\n"])


@FAST
@given(st.text(max_size=300))
def test_random_text(text):
    assert isinstance(_outcome(text), (Program, ProgramError))
    assert isinstance(_outcome(HEADER + "    " + text), (Program, ProgramError))


@FAST
@given(st.lists(TOKENS, max_size=60))
def test_random_token_soup(tokens):
    body = "".join(tokens)
    assert isinstance(_outcome(HEADER + "    " + body + "\n    return g, m, v\n"), (Program, ProgramError))


@settings(max_examples=60, deadline=2000)
@given(programs(max_statements=20))
def test_printed_programs_parse_back(program):
    assert parse(str(program)) == program


def _huge(n: int, seed: int) -> str:
    """A valid program text of n statements: a chain over g, m, v with side reads."""
    rng = random.Random(seed)
    names, lines = ["g", "m", "v"], []
    for i in range(n):
        a, b = names[-1], rng.choice(names[-8:])
        op = rng.choice(["{a} + {b}", "{a} * 0.5", "sign({a})", "interp({a}, {b}, 0.9)",
                         "abs({a})", "{a} - {b}", "max({a}, {b})"])
        lines.append(f"    t{i} = " + op.format(a=a, b=b))
        names.append(f"t{i}")
    return HEADER + "\n".join(lines) + f"\n    return {names[-1]}, m, v\n"


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 10**6))
def test_largest_programs_parse_and_check_quickly(seed):
    start = time.perf_counter()
    program = parse(_huge(MAX_STATEMENTS, seed))
    info = analyze(program)
    assert len(program) == MAX_STATEMENTS and info.fingerprint
    assert time.perf_counter() - start < 5.0  # a generous bound: about 0.1 s on one core


@settings(max_examples=3, deadline=None)
@given(st.integers(0, 10**6))
def test_programs_over_the_limit_fail_cleanly_and_quickly(seed):
    start = time.perf_counter()
    try:
        parse(_huge(5 * MAX_STATEMENTS, seed))  # ~150 kB: over the byte limit too
    except ProgramError as exc:
        assert "too large" in str(exc) or "too many statements" in str(exc)
    else:
        raise AssertionError("5,000 statements should be over the limits")
    assert time.perf_counter() - start < 5.0
