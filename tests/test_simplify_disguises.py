"""Disguised built-ins (#18): every disguise is the same optimizer, and the simplifier names it and
prints the family's canonical program; a built-in on f(g) is named with its pre-transform; the
new algebra rules (sign through the magnitude, the common step size, clips that never bind) are
exact. A sample runs here; ``benchmarks/simplify_disguises.py`` measures thousands."""

from __future__ import annotations

import numpy as np
import pytest

from dsl import execute, library, parse
from search.cli import main
from simplify import exact_steps, simplify, simplify_exact
from simplify.algebra import clip_notes
from simplify.equiv import compare
from simplify.recognize import recognize, snap, template
from simplify.ssa import to_ssa
from tests.disguise import (
    APPROXIMATIONS,
    BUILT_INS,
    PRETRANSFORMS,
    TRANSFORMS,
    apply_to_gradient,
    approximate,
    disguise,
    pretransform,
    reuse_names,
    verify,
)
from tests.test_recognize import EXPECTED, check


def _same_updates(a, b) -> bool:
    return all(compare(a, b, steps=30, seed=s, states_from="own", rtol=1e-7, atol=1e-9,
                       relative_atol=True) is None for s in (0, 1, 2))


@pytest.mark.parametrize("name", BUILT_INS)
def test_every_transformation_keeps_the_optimizer(name):
    rng = np.random.default_rng(0)
    base = library.get(name)
    for label, fn in TRANSFORMS.items():
        for _ in range(3):
            out = fn(to_ssa(base), rng)
            if out is None:
                continue
            assert _same_updates(base, out), f"{label} on {name}:\n{out}"
            again = reuse_names(out, rng)
            if again is not None:
                assert _same_updates(base, again), f"{label} + reuse names on {name}:\n{again}"


@pytest.mark.parametrize("name", BUILT_INS)
def test_disguises_are_verified_equivalent_and_named_canonically(name):
    family, params = EXPECTED[name]
    canonical = str(template(family, params))
    rng = np.random.default_rng(18)
    for depth in (1, 3, 6):
        for _ in range(3):
            d = disguise(name, depth, rng)
            assert len(d.chain) == depth and d.stages[-1] == d.program
            # checked by the generator, and again here on other inputs
            assert verify(library.get(name), d.program)
            assert _same_updates(library.get(name), d.program)
            result = simplify(d.program)
            for step in result.steps:  # every exact step keeps behaviour, statement for statement
                if step.name != "canonical form":
                    assert compare(step.before, step.after, steps=20, rtol=1e-7, atol=1e-9,
                                   relative_atol=True) is None, (step.name, step.detail)
            check(result.recognition, name)
            assert str(result.program) == canonical, (d.chain, str(d.program))
            assert result.steps[-1].name == "canonical form" or str(d.program) == canonical


def test_generator_rejects_a_transformation_that_changes_the_optimizer():
    def wrong(p, rng):  # "sign" of nothing: not a disguise
        return p.replace(statements=[s if s.op != "sign" else s.__class__(s.dst, "tanh", s.args)
                                     for s in p.statements])

    with pytest.raises(ValueError, match="changed the optimizer"):
        disguise("lion", 1, np.random.default_rng(0), transforms={"wrong": wrong})


@pytest.mark.parametrize("name", BUILT_INS)
def test_pretransformed_built_ins_are_named_with_their_pretransform(name):
    rng = np.random.default_rng(7)
    family, params = EXPECTED[name]
    for _ in range(4):
        d = pretransform(name, rng, depth=1)
        rec = simplify(d.program).recognition
        assert rec is not None and rec.family == family, (d.pretransform, str(d.program))
        truth = apply_to_gradient(template(family, params), dict(PRETRANSFORMS)[d.pretransform])
        assert _same_updates(truth, rec.template)
        for key, value in params.items():
            assert rec.params[key] == pytest.approx(value, rel=1e-6, abs=1e-12)


def test_lion_papers_raw_program_is_lion_on_arcsin_clip():
    result = simplify(library.get("discovered"))
    rec = result.recognition
    assert rec.describe() == ("lion (beta1=0.899, beta2=0.996991, weight_decay=0.4602, lr_scale=0.0002)"
                              " on arcsin(clip(g, lr))")
    assert result.steps[-1].name == "canonical form" and "state v -> m" in result.steps[-1].detail
    assert str(result.program).splitlines()[1:4] == ["    g = clip(g, lr)", "    g = arcsin(g)",
                                                     "    c = interp(g, m, 0.899)"]
    assert _same_updates(library.get("discovered"), result.program)


def test_approximate_disguises_change_behaviour_only_slightly():
    rng = np.random.default_rng(0)
    seen = set()
    for name in BUILT_INS:
        for _ in range(4):
            d = approximate(name, rng)
            seen.add(d.chain[0])
            base = library.get(name)
            w, g = rng.normal(size=16) * 0.1, rng.normal(size=16) * 1e-3
            u1, _, _ = execute(base, w, g, np.zeros(16), np.zeros(16), 0.5)
            u2, _, _ = execute(d.program, w, g, np.zeros(16), np.zeros(16), 0.5)
            assert np.allclose(u1, u2, rtol=1e-3, atol=1e-9 * max(1.0, np.abs(u1).max())), (d.chain, name)
    assert seen <= set(APPROXIMATIONS) and len(seen) >= 3


# --- the new rules ------------------------------------------------------------------------------

SIGN_FORMS = [
    "n = x * lr\n    n = n * 0.5\n    d = abs(x)\n    s = n / d",
    "q = square(x)\n    d = sqrt(q)\n    n = x * 3.0\n    s = n / d",
    "q = x * x\n    d = sqrt(q)\n    n = lr * x\n    s = n / d",
    "d = abs(x)\n    d = d * 4.0\n    n = x * 2.0\n    s = n / d",
]


@pytest.mark.parametrize("body", SIGN_FORMS)
def test_sign_through_the_magnitude_becomes_sign_and_agrees_at_zero(body):
    text = f"def train(w, g, m, v, lr):\n    x = interp(g, m, 0.9)\n    {body}\n    update = s * 0.1\n" \
           "    m = interp(g, m, 0.99)\n    return update, m, v\n"
    program = parse(text)
    steps = exact_steps(program)
    final = steps[-1].after
    assert [s.op for s in final.statements].count("sign") == 1
    assert "div" not in [s.op for s in final.statements] and "abs" not in [s.op for s in final.statements]
    assert any("sign(x) * k" in s.detail or "sign(x)" in s.detail for s in steps if s.name == "algebra")
    for step in steps:
        assert compare(step.before, step.after, steps=30, rtol=1e-9, atol=1e-12) is None
    # the zero case: safe division gives 0 / 0 = 0, which is sign(0) * k
    g = np.array([0.0, 1.0, -2.0, 0.0, 3.0])
    m = np.array([0.0, -1.0, 5.0, 0.0, 0.0])
    for lr in (0.0, 0.3, 1.0):
        u0, m0, _ = execute(program, np.ones(5), g, m, np.zeros(5), lr)
        u1, m1, _ = execute(final, np.ones(5), g, m, np.zeros(5), lr)
        assert u0[0] == 0.0 and u0[3] == 0.0
        np.testing.assert_allclose(u0, u1, rtol=1e-12, atol=0)
        np.testing.assert_array_equal(m0, m1)


def test_common_step_size_is_factored_out_of_update_and_weight_decay():
    program = parse("def train(w, g, m, v, lr):\n    k = lr * 0.001\n    s = sign(g)\n    a = s * k\n"
                    "    wd = w * 0.1\n    b = wd * k\n    update = a + b\n    return update, m, v\n")
    steps = exact_steps(program)
    assert any("common factor" in s.detail for s in steps)
    final = steps[-1].after
    assert [s.op for s in final.statements].count("mul") == 3  # k, w * 0.1, (s + wd) * k
    assert compare(program, final, rtol=1e-12, atol=1e-15) is None
    assert str(simplify(program).program) == str(template("signsgd", {"lr_scale": 0.001, "weight_decay": 0.1}))


def test_a_clip_that_cannot_bind_goes_and_inert_clips_are_flagged():
    bounded = parse("def train(w, g, m, v, lr):\n    s = sign(g)\n    c = clip(s, 2.0)\n"
                    "    update = c * lr\n    return update, m, v\n")
    final = simplify_exact(bounded)
    assert "clip" not in str(final)
    assert compare(bounded, final) is None
    inert = parse("def train(w, g, m, v, lr):\n    c = clip(g, 1000.0)\n    t = tanh(g)\n    k = lr + 1.0\n"
                  "    d = clip(t, k)\n    u = c + d\n    update = u * lr\n    return update, m, v\n")
    notes = clip_notes(simplify_exact(inert))
    assert any("binds only where" in n and "1000" in n for n in notes)
    assert any("never binds for lr in [0, 1]" in n for n in notes)
    assert simplify(inert).notes == tuple(notes)


def test_snapped_constants_are_short_decimals():
    assert snap(0.8999999999999997) == 0.9
    assert snap(0.0010000000000180) == 0.001
    assert snap(0.123456789) == 0.123456789
    assert snap(0.0) == 0.0
    r = recognize(template("lion", {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0, "lr_scale": 1e-4}))
    assert r.params == {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0, "lr_scale": 1e-4}


def test_simplify_command_prints_the_new_rewrites(tmp_path, capsys):
    path = tmp_path / "lion.train"
    path.write_text("def train(w, g, m, v, lr):\n    k = lr * 0.0001\n    c = interp(g, m, 0.9)\n"
                    "    n = c * k\n    d = abs(c)\n    s = n / d\n    wd = w * 0.01\n    b = wd * k\n"
                    "    update = s + b\n    m = interp(g, m, 0.99)\n    return update, m, v\n")
    assert main(["simplify", str(path)]) == 0
    text = capsys.readouterr().out
    assert "(x * k) / |x| = sign(x) * k" in text
    assert "common factor" in text
    assert "canonical form" in text
    assert text.rstrip().endswith("recognized: lion (beta1=0.9, beta2=0.99, weight_decay=0.01, lr_scale=0.0001)")


def test_benchmark_runs_and_ends_with_json(benchmark_module, capsys):
    import json

    bench = benchmark_module("simplify_disguises")
    out = bench.main(["--n", "2", "--depths", "1", "2", "--pretransformed", "1", "--built-in", "signum"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last)["by_depth"] == {str(k): v for k, v in out["by_depth"].items()}
    assert out["by_depth"][1]["named"] == 1.0 and out["by_depth"][2]["canonical"] == 1.0
    assert out["pretransformed_named"] == 1.0
