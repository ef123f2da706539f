"""Reading program files is bounded: only regular files, at most ``MAX_BYTES`` (+1) read, every
bad input a short error (exit 2) from every command that takes a program, never a traceback or
a hang. And ``--json`` output is strict JSON (no bare NaN)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsl import ProgramError, library, parse_file
from dsl.parse import MAX_BYTES, read_source
from search.cli import jsonout

GOOD = "def train(w, g, m, v, lr):\n    u = sign(g)\n    return u, m, v\n"


def optsearch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """The command as a user runs it; the timeout turns a hang into a failure, not a stuck run."""
    return subprocess.run([sys.executable, "-m", "search.cli", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def _fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    path = tmp_path / "pipe.train"
    os.mkfifo(path)
    return path


def test_special_files_are_refused_without_reading(tmp_path):
    # a FIFO with no writer: opening it for reading would block forever
    with pytest.raises(ProgramError, match="not a regular file \\(a named pipe\\)") as exc:
        parse_file(_fifo(tmp_path))
    assert exc.value.source.endswith("pipe.train")
    with pytest.raises(ProgramError, match="not a regular file \\(a directory\\)"):
        parse_file(tmp_path)
    if Path("/dev/zero").exists():  # an endless stream: reading it all was a MemoryError
        with pytest.raises(ProgramError, match="not a regular file \\(a character device\\)"):
            read_source("/dev/zero")


def test_size_limit_and_encoding(tmp_path):
    at_limit = tmp_path / "at.train"
    at_limit.write_bytes(GOOD.encode() + b"#" * (MAX_BYTES - len(GOOD)))
    assert len(read_source(at_limit)) == MAX_BYTES
    assert len(parse_file(at_limit)) == 1
    over = tmp_path / "over.train"
    over.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(ProgramError, match="too large"):
        parse_file(over)
    bad = tmp_path / "bad.train"
    bad.write_bytes(b"def train(w, g, m, v, lr):\n    x = \xff\n")
    with pytest.raises(ProgramError, match="not valid UTF-8") as exc:
        parse_file(bad)
    assert str(exc.value).startswith(str(bad))
    with pytest.raises(ProgramError, match="cannot read"):
        parse_file(tmp_path / "missing.train")


@pytest.mark.parametrize("command", [("check",), ("simplify",), ("export", "--to", "numpy")])
def test_commands_give_a_short_error_for_every_bad_file(tmp_path, command):
    huge = tmp_path / "huge.train"
    with open(huge, "wb") as f:  # sparse: 50 MB on disk costs nothing
        f.truncate(50 * 1024 * 1024)
    bad = tmp_path / "bad.train"
    bad.write_bytes(b"\xfe\xff" * 10)
    cases = {_fifo(tmp_path): "not a regular file", tmp_path: "not a regular file",
             huge: "too large", bad: "not valid UTF-8", tmp_path / "nope.train": "no such file"}
    if Path("/dev/zero").exists():
        cases[Path("/dev/zero")] = "not a regular file"
    for path, message in cases.items():
        cmd, *rest = command
        out = optsearch(cmd, str(path), *rest)
        assert out.returncode == 2, (path, out.stderr)
        assert message in out.stderr and "Traceback" not in out.stderr, (path, out.stderr)
        assert out.stderr.startswith("optsearch: error:") and out.stderr.count("\n") == 1


def test_builtin_names_still_load_and_files_still_win(tmp_path, monkeypatch):
    from search.cli.common import load_program

    assert load_program("lion") == ("lion", library.get("lion"))
    monkeypatch.chdir(tmp_path)
    Path("lion").write_text(GOOD)
    assert load_program("lion")[1] != library.get("lion")
    with pytest.raises(ProgramError, match="no such file"):
        load_program("x" * 5000)  # a name too long for the system is a clean error too


# --- strict JSON ----------------------------------------------------------------------------------

def _reject_constants(text: str):
    def fail(constant):
        raise AssertionError(f"not strict JSON: bare {constant}")
    return json.loads(text, parse_constant=fail)


def test_strict_json_maps_non_finite_values_to_null_with_a_note():
    doc = {"fitness": math.nan, "loss": (math.inf, 1.0), "ok": 2.5, "n": 3, "name": "nan",
           "rows": [{"x": -math.inf, "why": "diverged"}], "flag": True, "none": None}
    out = _reject_constants(jsonout.dumps(doc))
    assert out["fitness"] is None and out["fitness_note"] == "nan written as null"
    assert out["loss"] == [None, 1.0] and out["loss_note"] == "inf written as null"
    assert out["rows"] == [{"x": None, "x_note": "-inf written as null", "why": "diverged"}]
    assert out["ok"] == 2.5 and out["n"] == 3 and out["name"] == "nan" and out["flag"] is True
    assert "ok_note" not in out and out["none"] is None


def test_eval_json_of_a_diverging_program_is_strict(tmp_path):
    path = tmp_path / "boom.train"
    path.write_text("def train(w, g, m, v, lr):\n    u = exp(g)\n    u = u * 1e30\n"
                    "    u = u * u\n    return u, m, v\n")
    out = optsearch("eval", str(path), "--task", "quadratic", "--seeds", "1", "--steps", "20",
                    "--cache-dir", str(tmp_path / "cache"), "--json", timeout=300)
    assert out.returncode == 0, out.stderr
    doc = _reject_constants(out.stdout)
    (row,) = doc["tasks"]
    assert row["diverged"] == 1 and row["reason"]
    assert row["loss"] == [None, None] and "written as null" in row["loss_note"]
    (run,) = doc["runs"]
    assert run["diverged"] and run["loss"] is None and "loss_note" in run
