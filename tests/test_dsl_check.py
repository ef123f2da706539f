"""The checker: kinds, cross-step redundancy and the fingerprint."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from dsl import ProgramError, analyze, execute, library, parse, parse_file, prune
from dsl.check import SCALAR, TENSOR, infer_kinds
from tests.strategies import programs

HEADER = "def train(w, g, m, v, lr):\n"


def test_cosh_in_discovered_program_is_redundant(reference):
    program = parse_file(reference("discovered_pruned.train"))
    info = analyze(program)
    redundant = [str(program.statements[i]) for i in info.redundant]
    assert len(info.redundant) == 1
    st = program.statements[info.redundant[0]]
    assert (st.dst, st.op, st.args) == ("m", "cosh", ("update",))
    assert info.state_live == (False, True), redundant


def test_kinds_by_abstract_execution():
    program = parse(HEADER + "    a = lr * 2\n    b = norm(g)\n    c = b * g\n    d = pi()\n"
                    "    update = c * a\n    return update, m, v\n")
    assert infer_kinds(program) == (SCALAR, SCALAR, TENSOR, SCALAR, TENSOR)


@pytest.mark.parametrize("ret", ["a, m, v", "g, a, v", "g, m, a"])
def test_scalar_returns_are_rejected(ret):
    program = parse(HEADER + f"    a = lr * 2\n    return {ret}\n")
    with pytest.raises(ProgramError, match="scalar, not a tensor"):
        analyze(program)


def test_state_read_before_overwrite_is_live():
    # v is read (into u) before it is overwritten: the returned v matters.
    program = parse(HEADER + "    u = g + v\n    v = g * 2\n    update = u * lr\n    return update, m, v\n")
    info = analyze(program)
    assert info.redundant == ()
    assert info.state_live == (False, True)


def test_chain_feeding_only_a_dead_state_is_redundant():
    program = parse(HEADER + "    a = g * 3\n    b = a + 1\n    m = b * w\n    update = g * lr\n"
                    "    return update, m, v\n")
    assert analyze(program).redundant == (0, 1, 2)
    assert analyze(program).state_live == (False, False)


def test_fingerprint_ignores_dead_statements_renames_and_order():
    base = library.get("adamw")
    fp = analyze(base).fingerprint
    dead = parse(str(base).replace("    wd = w * 0.01\n", "    junk = cosh(g)\n    wd = w * 0.01\n"))
    renamed = parse(str(base).replace("sqrt_v", "denominator").replace("wd", "decay"))
    reordered = parse(str(base).replace(
        "    g2 = square(g)\n    m = interp(g, m, 0.9)\n",
        "    m = interp(g, m, 0.9)\n    g2 = square(g)\n"))
    swapped = parse(str(base).replace("update = update + wd", "update = wd + update"))
    assert dead != base and renamed != base and reordered != base
    for other in (dead, renamed, reordered, swapped):
        assert analyze(other).fingerprint == fp
    changed = parse(str(base).replace("0.999", "0.99"))
    assert analyze(changed).fingerprint != fp
    assert len({analyze(library.get(n)).fingerprint for n in library.NAMES}) == len(library.NAMES)


def test_fingerprint_of_dead_state_ignores_what_feeds_it(reference):
    program = parse_file(reference("discovered_pruned.train"))
    other = parse(str(program).replace("m = cosh(update)", "m = sinh(update)"))
    assert analyze(other).fingerprint == analyze(program).fingerprint


@settings(max_examples=150, deadline=None)
@given(programs(max_statements=10, op_names=("add", "mul", "interp", "sign", "sqrt", "div", "sub", "cosh")))
def test_pruning_never_changes_behaviour(program):
    """Dropping the statements the checker calls redundant leaves updates and live states unchanged."""
    info = analyze(program)
    pruned = prune(program)
    rng = np.random.default_rng(0)
    w = rng.normal(size=5)
    m1 = v1 = m2 = v2 = np.zeros(5)
    for _ in range(4):
        g = rng.normal(size=5)
        u1, m1, v1 = execute(program, w, g, m1, v1, 0.5)
        u2, m2, v2 = execute(pruned, w, g, m2, v2, 0.5)
        np.testing.assert_array_equal(u1, u2)
        if info.state_live[0]:
            np.testing.assert_array_equal(m1, m2)
        if info.state_live[1]:
            np.testing.assert_array_equal(v1, v2)
        w = w - np.nan_to_num(u1)
