"""The three mutations and the redraw loop."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import analyze, library, parse
from dsl.check import infer_kinds, input_kinds
from dsl.program import INPUTS, ProgramError
from search.mutate import (
    MutationFailed,
    MutationSettings,
    delete_statement,
    insert_statement,
    modify_argument,
    mutate,
)

ADAMW = library.get("adamw")


def visible_before(program, index):
    names = set(INPUTS)
    for st in program.statements[:index]:
        names.add(st.dst)
    return names


def test_insert_adds_one_statement_reading_visible_names():
    s = MutationSettings(ops=("add", "mul", "sin", "interp"))
    rng = np.random.default_rng(0)
    for _ in range(200):
        try:
            child, detail = insert_statement(ADAMW, rng, s)
        except ProgramError:
            continue
        assert len(child) == len(ADAMW) + 1
        pos = next(i for i, (a, b) in enumerate(zip(child.statements, ADAMW.statements + (None,))) if a != b)
        new = child.statements[pos]
        assert new.op in s.ops
        assert detail.startswith(f"insert {pos + 1}:")
        for a in new.args:
            assert isinstance(a, float) or a in visible_before(child, pos)
        assert any(isinstance(a, str) for a in new.args)
        assert tuple(st for i, st in enumerate(child.statements) if i != pos) == ADAMW.statements


def test_insert_uses_fresh_temporaries_and_existing_names():
    rng = np.random.default_rng(1)
    dsts_new, dsts_old = 0, 0
    for _ in range(300):
        try:
            child, _ = insert_statement(ADAMW, rng, MutationSettings())
        except ProgramError:
            continue
        extra = {st.dst for st in child.statements} - {st.dst for st in ADAMW.statements} - set(INPUTS)
        if extra:
            assert extra == {"t1"}  # the first free temporary name
            dsts_new += 1
        else:
            dsts_old += 1
    assert dsts_new > 50 and dsts_old > 50


def _inplace_share(settings: MutationSettings, draws: int = 300) -> float:
    """Fraction of inserts (after a statement, with arguments) that read and overwrite the
    previous statement's destination."""
    rng = np.random.default_rng(3)
    hits = total = 0
    for _ in range(draws):
        child, desc = insert_statement(ADAMW, rng, settings)
        pos = int(desc.split()[1].rstrip(":")) - 1
        st = child.statements[pos]
        if pos == 0 or not st.args:
            continue
        prev = child.statements[pos - 1].dst
        total += 1
        hits += st.dst == prev and st.args[0] == prev
    return hits / total


def test_inplace_insert_transforms_the_previous_result():
    assert _inplace_share(MutationSettings(inplace_prob=1.0)) == 1.0
    assert _inplace_share(MutationSettings()) < 0.15
    assert 0.3 < _inplace_share(MutationSettings(inplace_prob=0.5)) < 0.7


def test_delete_removes_exactly_one_statement():
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(100):
        try:
            child, detail = delete_statement(ADAMW, rng, MutationSettings())
        except ProgramError:
            continue
        assert len(child) == len(ADAMW) - 1
        removed = [st for st in ADAMW.statements if st not in child.statements]
        assert len(removed) <= 1
        seen.add(detail.split(":")[0])
    assert len(seen) >= 3
    with pytest.raises(ProgramError):
        delete_statement(parse("def train(w, g, m, v, lr):\n    return g, m, v\n"), rng, MutationSettings())


def test_modify_changes_one_argument_keeping_kind_or_scaling_constant():
    rng = np.random.default_rng(3)
    names = constants = 0
    for _ in range(300):
        try:
            child, _ = modify_argument(ADAMW, rng, MutationSettings())
        except ProgramError:  # 'lr' is the only scalar name: nothing to swap it for
            continue
        diffs = [(a, b) for a, b in zip(ADAMW.statements, child.statements) if a != b]
        assert len(diffs) == 1
        before, after = diffs[0]
        assert before.op == after.op and before.dst == after.dst
        changed = [(x, y) for x, y in zip(before.args, after.args) if x != y]
        if not changed:  # a constant scaled by a factor that rounds back to itself
            continue
        assert len(changed) == 1
        x, y = changed[0]
        if isinstance(x, str):
            names += 1
            i = ADAMW.statements.index(before)
            env = input_kinds()
            for st, kind in zip(ADAMW.statements[:i], infer_kinds(ADAMW)):
                env[st.dst] = kind
            assert isinstance(y, str) and env[y] == env[x]
        else:
            constants += 1
            assert isinstance(y, float) and 2 ** -6 < y / x < 2 ** 6
    assert names > 50 and constants > 20


def test_mutate_returns_valid_children_and_counts_redraws():
    s = MutationSettings(insert=0.0, delete=1.0, modify=0.0)
    rng = np.random.default_rng(4)
    redraws = 0
    for _ in range(100):
        child = mutate(ADAMW, rng, s)
        analyze(child.program)  # does not raise
        assert len(child.program) == len(ADAMW) - 1
        redraws += child.redraws
    assert redraws > 0  # deleting g2 or sqrt_v breaks later statements: those draws are rejected


def test_mutate_respects_max_length_and_fails_clearly():
    s = MutationSettings(insert=1.0, delete=0.0, modify=0.0, max_length=len(ADAMW), max_redraws=20)
    with pytest.raises(MutationFailed, match="no valid child"):
        mutate(ADAMW, np.random.default_rng(5), s)


def test_mutate_is_deterministic_for_a_seed():
    def chain(seed):
        rng, p, out = np.random.default_rng(seed), ADAMW, []
        for _ in range(50):
            c = mutate(p, rng, MutationSettings())
            out.append(c.mutation)
            p = c.program
        return out

    assert chain(7) == chain(7)
    assert chain(7) != chain(8)


def test_mutations_yield_both_valid_and_scalar_returning_candidates():
    """The checker (one kind pass, `dsl.analyze`) accepts most raw mutations and rejects the rest
    only for returning a scalar; the search redraws those."""
    from search.mutate import MUTATIONS

    rng = np.random.default_rng(9)
    s = MutationSettings(max_length=40)
    p, checked, invalid = ADAMW, 0, 0
    for _ in range(400):
        kind = ("insert", "delete", "modify")[int(rng.integers(3))]
        try:
            cand, _ = MUTATIONS[kind](p, rng, s)
        except ProgramError:
            continue
        try:
            analyze(cand)
        except ProgramError as exc:
            invalid += 1
            assert "scalar, not a tensor" in str(exc)
            continue
        checked += 1
        if len(cand) <= 25:
            p = cand
    assert checked > 200 and invalid > 0
