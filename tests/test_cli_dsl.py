"""`optsearch list` and `optsearch check`, run as a user would (a subprocess)."""

from __future__ import annotations

import subprocess
import sys

from dsl import library


def optsearch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_list_names_every_builtin():
    out = optsearch("list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(library.NAMES)


def test_check_prints_source_and_redundant_statements(reference):
    out = optsearch("check", str(reference("discovered_pruned.train")))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("def train(w, g, m, v, lr):\n    g = clip(g, lr)\n")
    assert "redundant statements (1 of 12):" in out.stdout
    assert "m = cosh(update)" in out.stdout.split("redundant statements")[1]
    assert "fingerprint:" in out.stdout


def test_check_bad_input_exits_2_with_line(tmp_path):
    path = tmp_path / "bad.train"
    path.write_text("def train(w, g, m, v, lr):\n    x = g * 2\n    y = relu(x)\n    return y, m, v\n")
    out = optsearch("check", str(path))
    assert out.returncode == 2
    assert f"{path}:3: unknown function 'relu'" in out.stderr
    missing = optsearch("check", str(tmp_path / "nope.train"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
