"""`optsearch run` and `optsearch resume`: files, errors, Ctrl-C, and a run on a real proxy task."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.cli import main

ROOT = Path(__file__).resolve().parents[1]


def toy_yaml(tmp_path, evals=30, extra="") -> Path:
    p = tmp_path / "toy.yaml"
    p.write_text(f"""name: toy
search: {{population: 10, tournament: 3, max_evaluations: {evals}}}
evaluator: {{factory: "proxy_tasks.toy:ToyEvaluator", tasks: {{toy: 1.0}}, overrides: {{steps: 10, dim: 4{extra}}}}}
funnel: {{top_k: 2, scales: [x10, x100]}}
""")
    return p


def test_run_writes_a_complete_run_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(toy_yaml(tmp_path)), "--out", str(out), "--no-progress",
                 "--set", "search.population=12"]) == 0
    for name in ("config.yaml", "evaluations.jsonl", "funnel.jsonl", "checkpoint.json", "summary.json", "best.train"):
        assert (out / name).exists(), name
    assert "population: 12" in (out / "config.yaml").read_text()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["evaluations"] == 30 and summary["answer"]["scale"] in ("x10", "x100")
    printed = capsys.readouterr().out
    assert "search summary" in printed and "cache hit rate" in printed
    # a second run into the same folder is refused, the first is untouched
    before = (out / "evaluations.jsonl").read_bytes()
    assert main(["run", str(toy_yaml(tmp_path)), "--out", str(out)]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (out / "evaluations.jsonl").read_bytes() == before
    assert main(["resume", str(out), "--no-progress"]) == 0
    assert "already finished" in capsys.readouterr().err


def test_bad_input_exits_2_naming_the_key(tmp_path, capsys):
    cfg = str(toy_yaml(tmp_path))
    assert main(["run", cfg, "--out", str(tmp_path / "x"), "--set", "search.tournament=0"]) == 2
    assert "search.tournament: must be >= 1" in capsys.readouterr().err
    assert main(["run", cfg, "--set", "mutation.deletee=0.1"]) == 2
    assert "mutation.deletee: unknown key" in capsys.readouterr().err
    assert main(["run", cfg, "--set", "search.seeds=[nosuchopt]"]) == 2
    assert "search.seeds[0]" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert not (tmp_path / "x").exists()


def test_resume_reports_a_corrupt_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(toy_yaml(tmp_path, 8)), "--out", str(out), "--no-progress"]) == 0
    (out / "checkpoint.json").write_text('{"format": 1, "sha')
    assert main(["resume", str(out)]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert (out / "checkpoint.json").read_text() == '{"format": 1, "sha'
    assert main(["resume", str(tmp_path)]) == 2


def test_ctrl_c_checkpoints_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    cfg = toy_yaml(tmp_path, 400, extra=", delay_s: 0.02")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "run", str(cfg), "--out", str(out), "--no-progress"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "evaluations.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 20):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "optsearch resume" in err
    state = json.loads((out / "checkpoint.json").read_text())["state"]
    assert not state["finished"] and 0 < state["counters"]["evaluations"] < 400
    assert main(["resume", str(out), "--no-progress"]) == 0
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    assert sum(not r["cached"] for r in rows) == 400
    assert len({r["id"] for r in rows}) == len(rows)


def test_run_on_a_real_proxy_task_is_reproducible(tmp_path):
    pytest.importorskip("proxy_tasks.evaluate")
    sets = ["--set", "search.max_evaluations=8", "--set", "funnel.top_k=1", "--set", "programs_per_call=3",
            "--set", "evaluator.tasks={quadratic: 1.0}", "--set", "evaluator.overrides={steps: 50}",
            "--set", "evaluator.batching=single"]
    for name in ("a", "b"):
        assert main(["run", str(ROOT / "configs" / "quick.yaml"), "--out", str(tmp_path / name), "--no-progress",
                     *sets]) == 0
    strip = lambda p: [{k: v for k, v in json.loads(x).items() if k not in ("seconds", "time")}
                       for x in (p / "evaluations.jsonl").read_text().splitlines()]
    rows = strip(tmp_path / "a")
    assert rows == strip(tmp_path / "b")  # same config and seed: same log
    assert sum(not r["cached"] for r in rows) == 8
    assert set(rows[0]["tasks"]) == {"quadratic"}
    assert all(-100.0 <= r["fitness"] < 10 for r in rows)
    assert len({r["fitness"] for r in rows}) > 1
    funnel = [json.loads(x) for x in (tmp_path / "a" / "funnel.jsonl").read_text().splitlines()]
    assert any(r["kind"] == "eval" and r["scale"] == "x10" for r in funnel)
