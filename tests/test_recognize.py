"""Recognition names built-in optimizers by behaviour, robust to names, dead code and algebra."""

from __future__ import annotations

import random

import pytest

from dsl import library, parse
from dsl.program import Program, Statement
from simplify import simplify
from simplify.equiv import compare
from simplify.recognize import recognize, template

EXPECTED = {
    "sgd": ("sgd", {"lr_scale": 0.1, "weight_decay": 0.0}),
    "momentum": ("momentum", {"beta": 0.9, "lr_scale": 0.1, "weight_decay": 0.0}),
    "nesterov": ("nesterov", {"beta": 0.9, "lr_scale": 0.1, "weight_decay": 0.0}),
    "signsgd": ("signsgd", {"lr_scale": 0.001, "weight_decay": 0.0}),
    "signum": ("signum", {"beta": 0.9, "lr_scale": 0.001, "weight_decay": 0.0}),
    "adam": ("adam", {"beta1": 0.9, "beta2": 0.999, "weight_decay": 0.0, "lr_scale": 0.001,
                      "eps": 1e-8}),
    "adamw": ("adamw", {"beta1": 0.9, "beta2": 0.999, "weight_decay": 0.01, "lr_scale": 0.001,
                        "eps": 0.0}),
    "lion": ("lion", {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.01, "lr_scale": 1e-4}),
}


def check(result, name):
    family, params = EXPECTED[name]
    assert result is not None, name
    assert result.name == family
    assert set(result.params) == set(params)
    for key, value in params.items():
        assert result.params[key] == pytest.approx(value, rel=1e-6, abs=1e-12), (name, key)


def disguise(program: Program, seed: int) -> Program:
    """Rename temporaries, add dead statements and a few exact detours (x * 1, --x)."""
    rng = random.Random(seed)
    names = {st.dst for st in program.statements} - {"update", "m", "v", "w", "g", "lr"}
    rename = {n: f"tmp_{rng.randrange(10**6)}_{i}" for i, n in enumerate(sorted(names))}
    out: list[Statement] = []
    for st in program.statements:
        args = tuple(rename.get(a, a) if isinstance(a, str) else a for a in st.args)
        dst = rename.get(st.dst, st.dst)
        if rng.random() < 0.5:
            out.append(Statement(f"dead_{len(out)}", rng.choice(["cosh", "exp", "sin"]), ("g",)))
        if rng.random() < 0.5 and st.op not in ("interp",):
            # the same value through a detour: y = op(...); dst = y * 1
            tmp = f"detour_{len(out)}"
            out.append(Statement(tmp, st.op, args))
            out.append(Statement(dst, "mul", (tmp, 1.0)))
        else:
            out.append(Statement(dst, st.op, args))
    out.append(Statement("junk", "mul", ("w", 3.0)))
    return Program(tuple(out), program.returns)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_built_in_is_recognized_as_itself(name):
    check(recognize(library.get(name)), name)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recognized_after_renaming_and_dead_statements(name):
    for seed in range(2):
        program = disguise(library.get(name), seed)
        assert program != library.get(name)
        check(recognize(program), name)


def test_algebraically_equivalent_forms():
    # Lion spelled differently: m state moved to v, sign as x / sqrt(x * x), lr applied first
    lion = parse("""def train(w, g, m, v, lr):
    lr2 = 0.0001 * lr
    c = 0.9 * v
    d = g * 0.1
    c = c + d
    s = c * c
    s = sqrt(s)
    s = c / s
    v = interp(g, v, 0.99)
    wd = w * 0.01
    s = s + wd
    update = lr2 * s
    return update, m, v
""")
    check(recognize(lion), "lion")
    # Polyak momentum written as m <- b m + g, update = lr * c * m: EMA momentum with scale c/(1-b)
    heavy = parse("def train(w, g, m, v, lr):\n    a = m * 0.8\n    m = a + g\n"
                  "    update = m * lr\n    update = update * 0.05\n    return update, m, v\n")
    r = recognize(heavy)
    assert r.name == "momentum"
    assert r.params["beta"] == pytest.approx(0.8)
    assert r.params["lr_scale"] == pytest.approx(0.05 / 0.2)


def test_template_matches_the_program():
    for name in EXPECTED:
        r = recognize(library.get(name))
        assert compare(library.get(name), r.template, states_from="own", rtol=1e-9,
                       atol=1e-15) is None


@pytest.mark.parametrize("text", [
    "def train(w, g, m, v, lr):\n    update = g * g\n    return update, m, v\n",
    "def train(w, g, m, v, lr):\n    n = norm(w)\n    update = g * n\n    return update, m, v\n",
    "def train(w, g, m, v, lr):\n    m = interp(g, m, 0.9)\n    a = arcsin(m)\n"
    "    s = sign(a)\n    update = s + m\n    return update, m, v\n",
])
def test_unknown_programs_are_not_named(text):
    assert recognize(parse(text)) is None


def test_discovered_is_lion_on_a_transformed_gradient_before_ablation():
    # clip and arcsin change the update: only ablation may remove them, so the program is not
    # Lion; it is Lion applied to arcsin(clip(g, lr)), and the simplifier says so (#18)
    assert recognize(library.get("discovered")) is None
    rec = simplify(library.get("discovered")).recognition
    assert rec is not None and rec.name != "lion" and rec.family == "lion"
    assert rec.pretransform == "arcsin(clip(g, lr))"
    assert rec.describe() == ("lion (beta1=0.899, beta2=0.996991, weight_decay=0.4602, lr_scale=0.0002)"
                              " on arcsin(clip(g, lr))")
    assert compare(library.get("discovered"), rec.template, states_from="own", rtol=1e-9, atol=1e-12) is None


def test_simplified_lion_variants_keep_their_constants():
    program = template("lion", {"beta1": 0.899, "beta2": 0.899 * 1.109, "weight_decay": 0.4602,
                                "lr_scale": 0.0002})
    r = recognize(program)
    assert r.name == "lion"
    assert r.params["beta1"] == pytest.approx(0.899, rel=1e-9)
    assert r.params["beta2"] == pytest.approx(0.996991, rel=1e-9)
    assert r.params["weight_decay"] == pytest.approx(0.4602, rel=1e-9)


def test_general_lion_k_member_via_lionk_matcher():
    lionk = pytest.importorskip("simplify.lionk", reason="engineer E's Lion-K matcher is needed")
    from simplify.lionk.programs import lionk_program

    program = lionk_program(lionk.Huber(0.5), beta1=0.8, beta2=0.95, weight_decay=0.1,
                            lr_scale=1e-3)
    r = recognize(program)
    assert r is not None and r.name == "lion-k"
    assert "huber" in r.detail
    assert r.params["beta1"] == pytest.approx(0.8)
    assert r.params["beta2"] == pytest.approx(0.95)
    assert r.params["weight_decay"] == pytest.approx(0.1)
    # Lion itself is named by its own family first
    assert recognize(lionk_program(lionk.L1(), weight_decay=0.1)).name == "lion"
