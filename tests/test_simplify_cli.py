"""``optsearch simplify``: the derivation, the final program, -o, and errors."""

from __future__ import annotations

from dsl import parse_file
from search.cli import main
from simplify.equiv import compare
from tests.conftest import reference_path


def test_simplify_prints_derivation_and_writes_output(tmp_path, capsys):
    src = reference_path("discovered_pruned.train")
    out = tmp_path / "simple.train"
    assert main(["simplify", str(src), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "step 1: dead code" in text and "cosh" in text
    assert "sign(" in text and "0.996991" in text
    assert "\n    -    " in text and "\n    +    " in text  # per-step diffs
    # clip/arcsin remain without ablation: Lion on a transformed gradient, in its canonical form
    assert "recognized: lion (beta1=0.899, beta2=0.996991, weight_decay=0.4602, lr_scale=0.0002) " \
        "on arcsin(clip(g, lr))" in text
    assert "step 8: canonical form" in text and "    +    g = arcsin(g)" in text
    written = parse_file(out)
    assert compare(parse_file(src), written, states_from="own", atol=1e-12) is None


def test_simplify_names_a_built_in(capsys):
    assert main(["simplify", "lion"]) == 0
    text = capsys.readouterr().out
    assert "recognized: lion (beta1=0.9, beta2=0.99, weight_decay=0.01, lr_scale=0.0001)" in text


def test_simplify_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.train"
    bad.write_text("def train(w, g, m, v, lr):\n    update = foo(g)\n    return update, m, v\n")
    assert main(["simplify", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.train:2" in err and "foo" in err
    assert main(["simplify", str(tmp_path / "missing.train")]) == 2
    assert main(["simplify", "lion", "--tolerance", "-1"]) == 2


def test_simplify_bad_task_options(capsys):
    assert main(["simplify", "lion", "--task", "no_such_task"]) == 2
    assert "no_such_task" in capsys.readouterr().err
    assert main(["simplify", "lion", "--set", "steps=5"]) == 2
    assert main(["simplify", "lion", "--task", "mlp", "--set", "nonsense"]) == 2
