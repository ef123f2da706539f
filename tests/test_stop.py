"""A stop takes effect within 10 s in every stage, even with an evaluation stuck in native code
(``tests/stuck_evaluator.py``): the search, the funnel, the replay's final comparison."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from search.cli import main

ROOT = Path(__file__).resolve().parents[1]
LIMIT_S = 10.0


def _config(tmp_path: Path, stuck_at: str, stuck_after: int, evals: int = 40) -> Path:
    p = tmp_path / "stuck.yaml"
    p.write_text(f"""name: stuck
search: {{population: 10, tournament: 3, max_evaluations: {evals}}}
evaluator: {{factory: "tests.stuck_evaluator:StuckEvaluator", tasks: {{toy: 1.0}},
  overrides: {{steps: 10, dim: 4, stuck_at: {stuck_at}, stuck_after: {stuck_after}}}}}
funnel: {{top_k: 2, scales: [x10]}}
""")
    return p


def _start(args: list[str], marker: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OPTSEARCH_STUCK": str(marker)}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stop_when_stuck(proc: subprocess.Popen, marker: Path, signals: tuple[int, ...]) -> tuple[float, str]:
    """Wait for the evaluation to stick, send ``signals`` (1 s apart); seconds until it exited."""
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.communicate()[1][-3000:]
    time.sleep(0.3)
    t0 = time.monotonic()
    for i, sig in enumerate(signals):
        if i:
            time.sleep(1.0)
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return time.monotonic() - t0, err


def _run_stopped(tmp_path: Path, stuck_at: str, stuck_after: int, signals=(signal.SIGTERM,)) -> tuple[Path, float, str]:
    out, marker = tmp_path / "run", tmp_path / "stuck.marker"
    proc = _start(["-m", "search.cli", "run", str(_config(tmp_path, stuck_at, stuck_after)), "--out", str(out),
                   "--no-progress"], marker)
    took, err = _stop_when_stuck(proc, marker, signals)
    assert proc.returncode == 130, err[-3000:]
    assert f"optsearch resume {out}" in err
    return out, took, err


def _resume_finishes(out: Path, evals: int = 40) -> None:
    os.environ["OPTSEARCH_STUCK"] = str(out.parent / "stuck.marker")  # exists: never sticks again
    try:
        assert main(["resume", str(out), "--no-progress"]) == 0
    finally:
        del os.environ["OPTSEARCH_STUCK"]
    rows = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines()]
    assert sum(not r["cached"] for r in rows) == evals
    assert len({r["id"] for r in rows}) == len(rows)
    assert json.loads((out / "summary.json").read_text())["finished"]


def test_sigterm_during_the_search_stops_within_10_s_and_resume_finishes(tmp_path):
    out, took, err = _run_stopped(tmp_path, "proxy", 3)
    assert took < LIMIT_S, err[-2000:]
    _resume_finishes(out)


def test_sigterm_during_the_final_funnel_stops_within_10_s_and_resume_finishes(tmp_path):
    out, took, err = _run_stopped(tmp_path, "x10", 0)
    assert took < LIMIT_S, err[-2000:]
    assert "dropping the evaluation in flight" in err
    _resume_finishes(out)
    assert (out / "funnel.jsonl").read_text().count('"x10"') >= 1


def test_a_second_ctrl_c_aborts_at_once(tmp_path):
    out, took, err = _run_stopped(tmp_path, "x10", 0, (signal.SIGINT, signal.SIGINT))
    assert took < 3.0, err[-2000:]  # 1 s between the two, then at once
    assert "aborted" in err


STUCK_COMPARE = """import sys
import search.experiments.replay as replay
from tests.stuck_evaluator import stuck
replay.compare = lambda *a, **k: stuck()
from search.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_during_the_replays_final_comparison_stops_within_10_s(tmp_path):
    out, marker = tmp_path / "replay", tmp_path / "stuck.marker"
    out.mkdir()
    seed = {"seed": 0, "answer": {"simplified": (ROOT / "dsl" / "library").joinpath("adamw.train").read_text()}}
    (out / "summary.json").write_text(json.dumps({"seeds": [seed]}))
    before = (out / "summary.json").read_text()
    proc = _start(["-c", STUCK_COMPARE, "replay", "lion", "--quick", "--out", str(out), "--compare-only"], marker)
    took, err = _stop_when_stuck(proc, marker, (signal.SIGTERM,))
    assert proc.returncode == 130 and took < LIMIT_S, err[-2000:]
    assert "Continue with: optsearch replay lion --quick" in err
    assert (out / "summary.json").read_text() == before  # nothing half-written


def test_nothing_in_the_project_stops_processes_by_name():
    """``ray stop`` (``--force`` or not), ``pkill`` and ``killall`` end processes this project did
    not start (a user's own Ray cluster, a test suite running beside it)."""
    import re

    pattern = re.compile(r"ray stop|[\"']stop[\"'],\s*[\"']--force|\bpkill\b|\bkillall\b")
    this = Path(__file__).resolve()
    found = [f"{p.relative_to(ROOT)}:{n}" for ext in ("py", "sh", "toml", "yaml", "cfg")
             for p in ROOT.rglob(f"*.{ext}") if p.resolve() != this and ".git" not in p.parts
             and "results" not in p.parts
             for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if pattern.search(line)]
    assert not found, found
