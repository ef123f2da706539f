"""match_lionk: members with their constants, non-members with the part of the form they break."""

from __future__ import annotations

import pytest

from dsl import library
from dsl.parse import parse, parse_file
from simplify.lionk.kfuncs import L1, HalfSquaredL2, Huber, Lp, ThresholdedL1
from simplify.lionk.match import match_lionk
from simplify.lionk.programs import lionk_program
from tests.test_analyze_cmd import LION_FOUND


def _prog(body: str):
    lines = "".join(f"    {x.strip()}\n" for x in body.strip().splitlines())
    return parse(f"def train(w, g, m, v, lr):\n{lines}    return update, m, v\n")


def test_builtin_lion():
    r = match_lionk(library.get("lion"))
    assert r.member and r.K == L1() and r.decay == "explicit" and r.momentum == "m"
    assert r.beta1 == pytest.approx(0.9, abs=1e-12) and r.beta2 == pytest.approx(0.99, abs=1e-12)
    assert r.weight_decay == pytest.approx(0.01, rel=1e-9) and r.lr_scale == pytest.approx(1e-4, rel=1e-9)


@pytest.mark.parametrize("name,K,beta1,beta2", [
    ("momentum", HalfSquaredL2(), 0.9, 0.9),
    ("nesterov", HalfSquaredL2(), 0.81, 0.9),
    ("signum", L1(), 0.9, 0.9),
    ("signsgd", L1(), 0.0, None),
    ("sgd", HalfSquaredL2(), 0.0, None),
])
def test_builtin_special_cases(name, K, beta1, beta2):
    r = match_lionk(library.get(name))
    assert r.member and r.K == K and r.weight_decay == 0.0
    assert r.beta1 == pytest.approx(beta1, abs=1e-9)
    assert r.beta2 == (None if beta2 is None else pytest.approx(beta2, abs=1e-12))


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_is_not_lionk(name):
    r = match_lionk(library.get(name))
    assert not r.member and r.part == "state" and "both m and v" in r.reason


@pytest.mark.parametrize("K", [L1(), Lp(3.0), Lp(1.5), Lp(2.0), ThresholdedL1(0.05), Huber(0.5), HalfSquaredL2()],
                         ids=lambda k: k.label)
@pytest.mark.parametrize("decay", ["explicit", "implicit"])
def test_generated_members_are_recovered(K, decay):
    prog = lionk_program(K, beta1=0.8, beta2=0.95, weight_decay=0.3, lr_scale=0.01, decay=decay)
    r = match_lionk(prog)
    assert r.member, r.reason
    assert type(r.K) is type(K) and r.decay == decay
    for a, b in zip(r.K.__dict__.values(), K.__dict__.values()):
        assert a == pytest.approx(b, rel=1e-6)
    assert r.beta1 == pytest.approx(0.8, abs=1e-9) and r.beta2 == pytest.approx(0.95, abs=1e-12)
    assert r.weight_decay == pytest.approx(0.3, rel=1e-9) and r.lr_scale == pytest.approx(0.01, rel=1e-9)


def test_momentum_in_v_and_rescaled_state():
    """State kept in v as 2 * the standard EMA (v' = 0.2 g + 0.9 v): still Lion with beta2 = 0.9."""
    prog = _prog("""
        a = v * 0.5
        c = interp(g, a, 0.7)
        s = sign(c)
        h = g * 0.2
        b = v * 0.9
        v = h + b
        wd = w * 0.25
        update = s + wd
        update = update * lr
    """)
    r = match_lionk(prog)
    assert r.member and r.momentum == "v" and r.momentum_scale == pytest.approx(2.0)
    assert r.beta1 == pytest.approx(0.7, abs=1e-9) and r.beta2 == pytest.approx(0.9, abs=1e-12)
    assert r.weight_decay == pytest.approx(0.25) and r.lr_scale == pytest.approx(1.0)


@pytest.mark.parametrize("body,part,words", [
    ("m = interp(g, m, 0.9)\nq = square(g)\nv = interp(q, v, 0.9)\nd = sqrt(v)\nupdate = m / d\nupdate = update * lr",
     "state", "both m and v"),
    ("q = square(g)\nm = interp(q, m, 0.9)\nupdate = sign(m)\nupdate = update * lr", "momentum", "not linear"),
    ("c = clip(g, lr)\nupdate = c * lr", "learning rate", "lr enters"),
    ("s = sign(g)\nq = square(w)\nupdate = s + q\nupdate = update * lr", "weight decay", "not lambda"),
    ("m = interp(g, m, 0.9)\na = sign(m)\nb = sign(g)\nupdate = a + b\nupdate = update * lr", "lookahead",
     "one interpolation"),
    ("update = sin(g)\nupdate = update * lr", "gradK", "not monotone"),
    ("update = tanh(g)\nupdate = update * lr", "gradK", "none of"),
    ("update = sign(g)\nupdate = update * lr\nupdate = -update", "gradK", "ascent"),
    ("s = sign(g)\nwd = w * -0.1\nupdate = s + wd\nupdate = update * lr", "weight decay", "negative"),
])
def test_non_members_say_which_part_breaks(body, part, words):
    r = match_lionk(_prog(body))
    assert not r.member
    assert r.part == part, r.reason
    assert words in r.reason
    assert r.describe().startswith("not Lion-K")


def test_sign_of_clipped_gradient_is_still_sign_descent():
    """Behaviour, not text: sign(clip(g, lr)) = sign(g), so this is signed gradient descent."""
    r = match_lionk(_prog("c = clip(g, lr)\nupdate = sign(c)\nupdate = update * lr"))
    assert r.member and r.K == L1() and r.beta1 == 0.0


def test_discovered_lion(reference):
    """discovered_pruned.train: as written, the gradient is preprocessed by arcsin(clip(g, lr)), which the
    matcher reports; with that preprocessing ablated (what the simplifier's ablation removes) it is
    Lion-K with K = l1 and the box ||x||_inf <= 1/0.4602 = 2.17."""
    raw = parse_file(reference("discovered_pruned.train"))
    r = match_lionk(raw)
    assert not r.member and r.part == "momentum"
    text = reference("discovered_pruned.train").read_text()
    ablated = text.replace("    g = clip(g, lr)\n", "").replace("    g = arcsin(g)\n", "")
    r = match_lionk(parse(ablated))
    assert r.member and r.K == L1() and r.momentum == "v"
    assert r.beta1 == pytest.approx(0.899, abs=1e-9)
    assert r.beta2 == pytest.approx(1.109 * 0.899, abs=1e-12)  # v' = -0.109 g + 1.109 (0.101 g + 0.899 v)
    assert r.weight_decay == pytest.approx(0.4602, rel=1e-9) and r.lr_scale == pytest.approx(2e-4, rel=1e-9)
    assert r.problem() == "minimize f(x) subject to ||x||_inf <= 1/lambda = 2.17"


def test_lion_with_found_constants():
    """The built-in lion with the constants found from discovered_pruned.train, as a DSL program."""
    r = match_lionk(parse(LION_FOUND))
    assert r.member and r.K == L1()
    assert (r.beta1, r.beta2) == (pytest.approx(0.899, abs=1e-9), pytest.approx(0.997, abs=1e-12))
    assert "||x||_inf <= 1/lambda = 2.17" in r.problem()


def test_simplified_program_matches_the_same(reference):
    """With the simplifier's exact passes (engineer C's code), the verdict does not change."""
    simplify = pytest.importorskip("simplify")
    if not hasattr(simplify, "simplify_exact"):
        pytest.skip("simplify.simplify_exact not available")
    prog = lionk_program(Huber(0.3), beta1=0.5, beta2=0.9, weight_decay=0.2, lr_scale=0.1)
    a, b = match_lionk(prog), match_lionk(simplify.simplify_exact(prog))
    assert a.member and b.member and a.K == b.K
    assert b.beta1 == pytest.approx(a.beta1) and b.weight_decay == pytest.approx(a.weight_decay)


def test_invalid_program_is_reported():
    from dsl.program import Program, Statement

    fixed = Program((Statement("update", "sign", ("g",)),), ("update", "m", "v"))
    r = match_lionk(fixed)  # ignores lr: a fixed step of 1
    assert r.member and not r.uses_lr and r.step_size(0.1) == pytest.approx(1.0)
    r = match_lionk(_prog("update = exp(g)\nupdate = update * 1000.0\nupdate = exp(update)"))
    assert not r.member and r.part in ("program", "gradK")
