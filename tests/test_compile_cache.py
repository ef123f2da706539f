"""The persistent compilation cache: a second process loads the proxy tasks' compiled loops
instead of compiling them, scores the same, and `optsearch cache` shows and clears it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from search.cli import main

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json
from dsl import library
from proxy_tasks import compile_cache
from proxy_tasks.evaluate import Evaluator
ev = Evaluator(["quadratic"], batching=False, steps=40, cache_dir=CACHE)
fit = ev.evaluate_one(library.get("adamw")).fitness
c = compile_cache.COUNTS
print(json.dumps({"fitness": fit, "requests": c.requests, "loaded": c.loaded, "dir": str(compile_cache.directory())}))
"""


def _score(cache: str, baselines: Path) -> dict:
    env = {**os.environ, "OPTSEARCH_COMPILE_CACHE": cache, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SCRIPT.replace("CACHE", repr(str(baselines)))], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_second_process_loads_the_compiled_loops_and_scores_the_same(tmp_path):
    cache = tmp_path / "xla"
    cold = _score(str(cache), tmp_path / "baselines")
    warm = _score(str(cache), tmp_path / "baselines")
    assert cold["requests"] > 0 and cold["loaded"] == 0
    assert any(cache.iterdir())
    assert warm["loaded"] == warm["requests"] > 0  # nothing compiled again
    assert warm["fitness"] == cold["fitness"]


def test_the_cache_can_be_switched_off(tmp_path, monkeypatch):
    off = _score("off", tmp_path / "baselines")
    assert off["dir"] == "None" and off["loaded"] == 0 and off["requests"] > 0


def test_cache_command_shows_and_clears_only_its_own_files(tmp_path, monkeypatch, capsys):
    xla, root = tmp_path / "xla", tmp_path / "root"
    xla.mkdir()
    (xla / "jit_step-0123abcd-cache").write_bytes(b"x" * 1000)
    (xla / "notes.txt").write_text("not ours")
    (root / "baselines").mkdir(parents=True)
    (root / "baselines" / "adamw-mlp-proxy-seed0-0011.json").write_text("{}")
    monkeypatch.setenv("OPTSEARCH_COMPILE_CACHE", str(xla))
    monkeypatch.setenv("OPTSEARCH_CACHE", str(root))
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"{xla}: 1 files" in out and "baselines: 1 files" in out
    assert main(["cache", "clear"]) == 0
    assert "cleared 1 files" in capsys.readouterr().out
    assert [p.name for p in xla.iterdir()] == ["notes.txt"]
    assert not any((root / "baselines").iterdir())
    monkeypatch.setenv("OPTSEARCH_COMPILE_CACHE", "off")
    assert main(["cache"]) == 0
    assert "switched off" in capsys.readouterr().out
