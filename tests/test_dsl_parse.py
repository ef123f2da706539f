"""Parser and printer: round trips, the whitelist, and errors naming the line."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import Program, ProgramError, Statement, library, parse, parse_file
from tests.strategies import programs

REFERENCE_FILES = ("adamw.train", "lion.train", "discovered_pruned.train")
HEADER = "def train(w, g, m, v, lr):\n"


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_reference_programs_round_trip(reference, name):
    program = parse_file(reference(name))
    again = parse(str(program))
    assert again == program
    assert hash(again) == hash(program)
    assert parse(str(again)) == again
    assert str(again) == str(program)


def test_discovered_reference_has_expected_statements(reference):
    program = parse_file(reference("discovered_pruned.train"))
    assert len(program) == 12
    assert program.statements[0] == Statement("g", "clip", ("g", "lr"))
    assert program.statements[2] == Statement("m", "interp", ("g", "v", 0.899))
    assert program.returns == ("update", "m", "v")


@pytest.mark.parametrize("name", library.NAMES)
def test_builtins_round_trip(name):
    program = library.get(name)
    assert parse(str(program)) == program


def test_program_is_immutable_and_hashable():
    program = library.get("lion")
    with pytest.raises(AttributeError):
        program.statements = ()  # type: ignore[misc]
    assert {program: 1}[library.get("lion")] == 1
    assert program != library.get("adamw")


def test_infix_unary_and_literals():
    text = HEADER + (
        "    a = g + 1\n    b = a - -2.5\n    c = -a\n    d = b * c\n    e2 = d / 3e-3\n"
        "    k = pi()\n    update = interp(e2, w, -0.5)  # comment\n    return update, m, v\n")
    program = parse(text)
    ops_used = [s.op for s in program.statements]
    assert ops_used == ["add", "sub", "negative", "mul", "div", "pi", "interp"]
    assert program.statements[1].args == ("a", -2.5)
    assert program.statements[6].args == ("e2", "w", -0.5)
    assert parse(str(program)) == program


def test_inputs_may_be_reassigned_and_docstring_allowed():
    program = parse(HEADER + '    """doc"""\n    lr = lr * 0.001\n    update = g * lr\n    return update, m, v\n')
    assert program.statements[0] == Statement("lr", "mul", ("lr", 0.001))


BAD = {
    "import": ("    import os\n", 2, "import"),
    "attribute": ("    x = os.path(g)\n", 2, "attribute"),
    "attribute arg": ("    x = sign(g.real)\n", 2, "attribute"),
    "subscript": ("    x = sign(g[0])\n", 2, "subscript"),
    "lambda": ("    x = (lambda: 1)()\n", 2, "lambda"),
    "keyword": ("    x = clip(g, c=1.0)\n", 2, "keyword"),
    "unknown function": ("    x = relu(g)\n", 2, "unknown function 'relu'"),
    "dunder import": ("    x = __import__(g)\n", 2, "unknown function '__import__'"),
    "wrong arity": ("    x = interp(g, m)\n", 2, "interp takes 3"),
    "undefined": ("    x = sign(q)\n", 2, "'q' is not defined"),
    "nested": ("    x = sign(g + m)\n", 2, "argument must be a name or a number"),
    "two ops": ("    x = g + m * v\n", 2, "argument must be a name or a number"),
    "power operator": ("    x = g ** 2\n", 2, "not allowed"),
    "string": ("    x = sign('a')\n", 2, "name or a number"),
    "tuple target": ("    x, y = g, m\n", 2, "one plain name"),
    "if": ("    if g:\n        x = g\n", 2, "only assignments"),
    "augmented": ("    g += 1\n", 2, "only assignments"),
    "assign op name": ("    sign = g * 2\n", 2, "is an op"),
    "op as argument": ("    x = g * sign\n", 2, "is an op"),
    "bool literal": ("    x = g * True\n", 2, "name or a number"),
    "huge literal": ("    x = g * 1e999\n", 2, "not finite"),
    "return in middle": ("    return g, m, v\n    x = g * 2\n", 2, "last statement"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_programs_raise_program_error_with_line(case):
    body, line, fragment = BAD[case]
    text = HEADER + body + "    return g, m, v\n"
    with pytest.raises(ProgramError) as info:
        parse(text)
    assert info.value.line == line, str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize("text, fragment", [
    ("", "exactly one"),
    ("x = 1\n", "exactly one"),
    ("import os\n" + HEADER + "    return g, m, v\n", "exactly one"),
    ("def step(w, g, m, v, lr):\n    return g, m, v\n", "called 'train'"),
    ("def train(w, g, m, v):\n    return g, m, v\n", "signature"),
    ("def train(w, g, m, v, lr=1):\n    return g, m, v\n", "signature"),
    ("@dec\ndef train(w, g, m, v, lr):\n    return g, m, v\n", "decorators"),
    (HEADER + "    x = g * 2\n", "must end with 'return"),
    (HEADER + "    return g, m\n", "three names"),
    (HEADER + "    return g * 2, m, v\n", "three names"),
    (HEADER + "    return update, m, v\n", "'update' is not defined"),
    (HEADER + "    x = g *\n", "syntax error"),
    (HEADER + "    return g, m, v\nx = 1\n", "exactly one"),
])
def test_malformed_structure(text, fragment):
    with pytest.raises(ProgramError) as info:
        parse(text)
    assert fragment in str(info.value)
    assert info.value.line is not None


def test_huge_input_rejected_without_parsing():
    text = HEADER + "    x = g * 2\n" * 20_000 + "    return x, m, v\n"
    with pytest.raises(ProgramError, match="too large"):
        parse(text)


def test_non_utf8_rejected():
    with pytest.raises(ProgramError, match="UTF-8"):
        parse(HEADER.encode() + b"    x = g * 2 # \xff\xfe\n    return x, m, v\n")


def test_deep_nesting_rejected():
    with pytest.raises(ProgramError):
        parse(HEADER + "    x = " + "(" * 5000 + "g" + ")" * 5000 + "\n    return x, m, v\n")


def test_parse_file_names_the_file(tmp_path):
    path = tmp_path / "bad.train"
    path.write_text(HEADER + "    x = os.system(g)\n    return x, m, v\n")
    with pytest.raises(ProgramError) as info:
        parse_file(path)
    assert str(info.value).startswith(f"{path}:2:")


def test_program_constructor_validates():
    with pytest.raises(ProgramError, match="before it is defined"):
        Program((Statement("x", "sign", ("q",)),), ("x", "m", "v"))
    with pytest.raises(ProgramError, match="takes 1"):
        Statement("x", "sign", ("g", "m"))
    with pytest.raises(ProgramError, match="not finite"):
        Statement("x", "mul", ("g", float("nan")))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_statements=15, valid=False))
def test_print_then_parse_is_identity(program):
    assert parse(str(program)) == program


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300),
                 st.text(alphabet="deftrain(w,g,m,v,lr):\n =+-*/0123456789.#ecospix_", max_size=200)
                 .map(lambda body: HEADER + body)))
def test_parser_raises_nothing_but_program_error(text):
    try:
        parse(text)
    except ProgramError:
        pass


def test_the_shipped_reference_programs_are_the_shared_ones():
    """Tests read ``../shared/reference`` or, without it, the copies in ``dsl/library``: they
    must be the same programs."""
    from dsl import parse_file
    from tests.conftest import REFERENCE, ROOT, SHIPPED

    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} not found: nothing to compare the shipped copies with")
    for shared, shipped in SHIPPED.items():
        assert parse_file(REFERENCE / shared) == parse_file(ROOT / "dsl" / "library" / shipped), shared
