"""``optsearch analyze``: the report with its numbers, the plots, non-members and bad input."""

from __future__ import annotations

import json

import pytest

from search.cli import main

LION_FOUND = """# Lion with the constants found from discovered_pruned.train.
def train(w, g, m, v, lr):
    update = interp(g, m, 0.899)
    update = sign(update)
    m = interp(g, m, 0.997)
    wd = w * 0.4602
    update = update + wd
    lr = lr * 0.0002
    update = update * lr
    return update, m, v
"""


@pytest.fixture
def lion_file(tmp_path):
    path = tmp_path / "lion_found.train"
    path.write_text(LION_FOUND)
    return path


def _json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_lion_found_report_and_plots(lion_file, tmp_path, capsys):
    out_dir = tmp_path / "plots"
    code = main(["analyze", str(lion_file), "--lr", "100", "--steps", "3000", "--out", str(out_dir), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Lion-K member, K = l1" in out
    assert "grad K(x) = sign(x)" in out and "K*(y) = 0 if ||y||_inf <= 1" in out
    assert "solves: minimize f(x) subject to ||x||_inf <= 1/lambda = 2.17" in out
    assert "beta1 = 0.899, beta2 = 0.997, lambda = 0.4602, eps = 0.0002 x lr" in out
    assert "steps where the distance exceeds the bound: 0 of 3000" in out
    assert "constraint at the end: holds" in out
    data = _json(out)
    assert data["member"] and data["K"] == "l1" and data["bound_violations"] == 0 and data["constraint_ok"]
    assert data["shrink_steps"] <= data["shrink_predicted"]
    for p in data["plots"]:
        with open(p, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(list(out_dir.glob("*.png"))) == 2


def test_small_eps_inside_the_box_is_monotone(lion_file, tmp_path, capsys):
    code = main(["analyze", str(lion_file), "--lr", "10", "--init-scale", "0.5", "--steps", "1500",
                 "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    assert code == 0 and "monotone non-increasing" in out
    data = _json(out)
    assert data["phase2_start"] == 0 and data["rises"] == 0


def test_large_eps_reports_the_rises(lion_file, tmp_path, capsys):
    code = main(["analyze", str(lion_file), "--lr", "1000", "--steps", "1000", "--out", str(tmp_path), "--json"])
    out = capsys.readouterr().out
    data = _json(out)
    assert code == 0 and data["rises"] > 0
    assert f"steps where H rose (beyond float rounding): {data['rises']} of" in out and "NOT monotone" in out
    assert "O(eps^2) allowance" in out


@pytest.mark.parametrize("problem", ["logreg", "mlp"])
def test_other_problems_run(lion_file, tmp_path, capsys, problem):
    code = main(["analyze", str(lion_file), "--problem", problem, "--lr", "100", "--steps", "300",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "phase 1" in out and problem in " ".join(p.name for p in tmp_path.glob("*.png"))


def test_builtin_non_member(tmp_path, capsys):
    code = main(["analyze", "adamw", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "not Lion-K: it breaks the state part of the form" in out
    assert not list(tmp_path.glob("*.png"))


def test_discovered_as_written_is_not_exactly_lionk(reference, tmp_path, capsys):
    code = main(["analyze", str(reference("discovered_pruned.train")), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "not Lion-K: it breaks the momentum part" in out and "depends on lr" in out


def test_bad_input(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.train")]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.train"
    bad.write_text("def train(w, g, m, v, lr):\n    update = nope(g)\n    return update, m, v\n")
    assert main(["analyze", str(bad)]) == 2
    assert "bad.train:2" in capsys.readouterr().err
    assert main(["analyze", "lion", "--steps", "0"]) == 2
