"""The mutations, their table and the redraw loop."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import analyze, library, parse
from dsl.check import infer_kinds, input_kinds
from dsl.program import INPUTS, ProgramError
from search.config import MutationSection as Options  # what the mutations read
from search.mutate import (
    MutationFailed,
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
    s = Options(ops=("add", "mul", "sin", "interp"))
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
            child, _ = insert_statement(ADAMW, rng, Options())
        except ProgramError:
            continue
        extra = {st.dst for st in child.statements} - {st.dst for st in ADAMW.statements} - set(INPUTS)
        if extra:
            assert extra == {"t1"}  # the first free temporary name
            dsts_new += 1
        else:
            dsts_old += 1
    assert dsts_new > 50 and dsts_old > 50


def _inplace_share(settings: Options, draws: int = 300) -> float:
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
    assert _inplace_share(Options(inplace_prob=1.0)) == 1.0
    assert _inplace_share(Options()) < 0.15
    assert 0.3 < _inplace_share(Options(inplace_prob=0.5)) < 0.7


def test_delete_removes_exactly_one_statement():
    rng = np.random.default_rng(2)
    seen = set()
    for _ in range(100):
        try:
            child, detail = delete_statement(ADAMW, rng, Options())
        except ProgramError:
            continue
        assert len(child) == len(ADAMW) - 1
        removed = [st for st in ADAMW.statements if st not in child.statements]
        assert len(removed) <= 1
        seen.add(detail.split(":")[0])
    assert len(seen) >= 3
    with pytest.raises(ProgramError):
        delete_statement(parse("def train(w, g, m, v, lr):\n    return g, m, v\n"), rng, Options())


def test_modify_changes_one_argument_keeping_kind_or_scaling_constant():
    rng = np.random.default_rng(3)
    names = constants = 0
    for _ in range(300):
        try:
            child, _ = modify_argument(ADAMW, rng, Options())
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
    s = Options(insert=0.0, delete=1.0, modify=0.0)
    rng = np.random.default_rng(4)
    redraws = 0
    for _ in range(100):
        child = mutate(ADAMW, rng, s)
        analyze(child.program)  # does not raise
        assert len(child.program) == len(ADAMW) - 1
        redraws += child.redraws
    assert redraws > 0  # deleting g2 or sqrt_v breaks later statements: those draws are rejected


def test_mutate_respects_max_length_and_fails_clearly():
    s = Options(insert=1.0, delete=0.0, modify=0.0, max_length=len(ADAMW), max_redraws=20)
    with pytest.raises(MutationFailed, match="no valid child"):
        mutate(ADAMW, np.random.default_rng(5), s)


def test_mutate_is_deterministic_for_a_seed():
    def chain(seed):
        rng, p, out = np.random.default_rng(seed), ADAMW, []
        for _ in range(50):
            c = mutate(p, rng, Options())
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
    s = Options(max_length=40)
    p, checked, invalid = ADAMW, 0, 0
    for _ in range(400):
        kind = ("insert", "delete", "modify")[int(rng.integers(3))]
        try:
            cand, _ = MUTATIONS[kind].fn(p, rng, s)
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


def test_split_duplicates_a_shared_statement_and_keeps_the_function():
    """Gene duplication: the copy sits just before the original, exactly one read moves to it,
    and the child's fingerprint (its function) is the parent's."""
    from search.mutate import _uses, split_statement

    rng = np.random.default_rng(11)
    parent_fp = analyze(ADAMW).fingerprint
    details = set()
    for _ in range(100):
        child, detail = split_statement(ADAMW, rng, Options())
        details.add(detail)
        assert len(child) == len(ADAMW) + 1
        pos = next(i for i, (a, b) in enumerate(zip(child.statements, ADAMW.statements)) if a != b)
        copy, original = child.statements[pos], child.statements[pos + 1]
        assert copy.dst == "t1" and (copy.op, copy.args) == (original.op, original.args)
        assert original == ADAMW.statements[pos]
        assert len(_uses(child, pos)) == 1  # the copy has one reader: the read that moved
        assert analyze(child).fingerprint == parent_fp
    # Adam's m (read by the update and the return) and v can split, toward the update or the state
    assert any("interp(g, m, 0.9) (read by return)" in d for d in details)
    assert any("interp(g, m, 0.9) (read by statement" in d for d in details)


def test_split_needs_a_value_read_twice():
    from search.mutate import split_statement

    single = parse("def train(w, g, m, v, lr):\n    update = sign(g)\n    return update, m, v\n")
    with pytest.raises(ProgramError, match="read twice"):
        split_statement(single, np.random.default_rng(0), Options())


def test_split_weight_off_by_default_keeps_the_old_draws():
    """``split: 0`` draws the same children as before the mutation existed (old runs replay)."""
    from search.mutate import draw_kind, weights

    a, b = np.random.default_rng(3), np.random.default_rng(3)
    kinds = [draw_kind(a, weights(Options())) for _ in range(500)]
    assert "split" not in kinds
    assert [draw_kind(b, weights(Options(split=0.0))) for _ in range(500)] == kinds
    mixed = [draw_kind(np.random.default_rng(i), weights(Options(split=1.0))) for i in range(400)]
    assert 0.3 < mixed.count("split") / 400 < 0.7


def test_interp_logit_keeps_weights_in_the_unit_interval():
    """With ``interp_logit``, modifying Adam's 0.9 lands in [0.93, 0.97] about a quarter of the
    time (2**N(0, 1) scaling: a few percent) and never leaves (0, 1)."""
    from search.mutate import perturb_weight

    rng = np.random.default_rng(12)
    w = np.array([perturb_weight(0.9, rng) for _ in range(4000)])
    assert ((w > 0) & (w < 1)).all()
    assert 0.2 < ((w >= 0.93) & (w <= 0.97)).mean() < 0.3
    scaled = 0.9 * 2.0 ** rng.normal(size=4000)
    assert ((scaled >= 0.93) & (scaled <= 0.97)).mean() < 0.05

    s = Options(insert=0, delete=0, modify=1, interp_logit=True)
    weights = []
    for _ in range(400):
        try:
            child, _ = modify_argument(ADAMW, rng, s)
        except ProgramError:
            continue
        for before, after in zip(ADAMW.statements, child.statements):
            if before != after and before.op == "interp" and before.args[2] != after.args[2]:
                weights.append(after.args[2])
    assert len(weights) > 20 and all(0 < x < 1 for x in weights)


def test_every_mutation_of_the_table_has_a_config_weight_and_a_documented_key():
    """A new mutation is one table entry: the config section, its validation and the schema
    table follow from ``MUTATIONS``."""
    from search import config
    from search.mutate import MUTATIONS, weights

    section = config.Config().mutation
    assert weights(section) == {name: m.weight for name, m in MUTATIONS.items()}
    documented = {row[0]: row[3] for row in config.schema_rows()}
    for name, m in MUTATIONS.items():
        assert documented[f"mutation.{name}"].startswith(m.doc)
    with pytest.raises(config.ConfigError, match="mutation.split: must be >= 0"):
        config.from_dict({"mutation": {"split": -1}})
    zero = {name: 0 for name in MUTATIONS}
    with pytest.raises(config.ConfigError, match="must not all be 0"):
        config.from_dict({"mutation": zero})
    only_split = config.from_dict({"mutation": {**zero, "split": 1.0}})  # split alone counts (it did not)
    child = mutate(ADAMW, np.random.default_rng(0), only_split.mutation)
    assert child.mutation.startswith("split")


def test_a_registered_mutation_is_drawn_by_its_weight(monkeypatch):
    from search import mutate as mutate_mod

    def negate_update(program, rng, s):
        st = program.statements[-1]
        return program.replace(statements=[*program.statements, type(st)(st.dst, "negative", (st.dst,))]), "negate"

    monkeypatch.setitem(mutate_mod.MUTATIONS, "negate", mutate_mod.Mutation(negate_update, 0.0, "toy"))
    s = Options(insert=0.0, delete=0.0, modify=0.0)
    s.negate = 1.0  # what a config section built after the entry was added holds
    child = mutate(ADAMW, np.random.default_rng(0), s)
    assert child.mutation == "negate" and len(child.program.statements) == len(ADAMW.statements) + 1
