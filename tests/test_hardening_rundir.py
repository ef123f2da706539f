"""Issue #20, run directories: one writer at a time (the lock), and logs read strictly and within
bounds by `optsearch resume` and `optsearch show` (a bad row is a short error naming the file and
the line; nothing already written is changed)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from search.cli import main  # noqa: E402
from search.rundir import MAX_ROW_BYTES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def toy_yaml(tmp_path: Path, evals: int, delay_s: float = 0.0) -> Path:
    p = tmp_path / "toy.yaml"
    p.write_text(f"""name: toy
search: {{population: 10, tournament: 3, max_evaluations: {evals}}}
evaluator: {{factory: "proxy_tasks.toy:ToyEvaluator", tasks: {{toy: 1.0}},
             overrides: {{steps: 10, dim: 4, delay_s: {delay_s}}}}}
funnel: {{every: 60, top_k: 2, scales: [x10, x100]}}
run: {{checkpoint_every: 10}}
""")
    return p


def snapshot(run: Path) -> dict[str, bytes]:
    """Every file of a run directory but the lock file (whose pid a writer may refresh)."""
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file() and p.name != ".lock"}


def rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


# --- two writers ---------------------------------------------------------------------------------

def start_slow_run(tmp_path: Path, evals: int) -> tuple[subprocess.Popen, Path]:
    """``optsearch run`` in a subprocess, slow enough to be caught running; returns once it has
    logged a few rows."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "run", str(toy_yaml(tmp_path, evals, 0.03)),
                             "--out", str(out), "--no-progress"], cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = out / "evaluations.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 5):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    return proc, out


def assert_one_clean_search(out: Path, evals: int) -> None:
    """The log of one search: no id twice, the budget evaluated exactly once, funnel rows once."""
    ev = rows(out / "evaluations.jsonl")
    assert len({r["id"] for r in ev}) == len(ev)
    assert sum(not r["cached"] for r in ev) == evals
    funnel = rows(out / "funnel.jsonl")
    rounds = [r["round"] for r in funnel if r["kind"] == "round"]
    assert rounds and len(rounds) == len(set(rounds))
    evals_ = Counter((r["round"], r["scale"], r["fingerprint"]) for r in funnel if r["kind"] == "eval")
    assert evals_ and max(evals_.values()) == 1


def test_resume_or_run_on_a_live_run_directory_is_refused_naming_the_holder(tmp_path, capsys):
    evals = 300
    proc, out = start_slow_run(tmp_path, evals)
    try:
        assert main(["resume", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert f"pid {proc.pid}" in err and "Traceback" not in err and len(err.splitlines()) == 1
        assert main(["run", str(tmp_path / "toy.yaml"), "--out", str(out), "--no-progress"]) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err
        # a reader takes no lock, and says the run is live
        assert main(["show", str(out), "--no-plots", "--no-simplify", "--json"]) == 0
        assert f"still running (pid {proc.pid})" in capsys.readouterr().err
        assert proc.poll() is None, "the checks must run while the search is live"
    finally:
        _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert_one_clean_search(out, evals)
    assert not (out / ".lock").exists()  # released: the lock file goes with the search
    assert main(["resume", str(out), "--no-progress"]) == 0
    assert "already finished" in capsys.readouterr().err


def test_after_a_kill_9_resume_just_works(tmp_path, capsys):
    evals = 120
    proc, out = start_slow_run(tmp_path, evals)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (out / ".lock").read_text().strip() == str(proc.pid)  # the stale pid stays; the lock did not
    assert main(["resume", str(out), "--no-progress"]) == 0, capsys.readouterr().err
    assert_one_clean_search(out, evals)


# --- bad rows --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hardening")
    out = tmp / "run"
    assert main(["run", str(toy_yaml(tmp, 40)), "--out", str(out), "--no-progress"]) == 0
    return out


def _edit_evaluations(line: int, edit):
    def apply(run: Path) -> None:
        p = run / "evaluations.jsonl"
        lines = p.read_bytes().split(b"\n")
        lines[line - 1] = edit(lines[line - 1])
        p.write_bytes(b"\n".join(lines))
    return apply


def _json_edit(**over):
    def edit(raw: bytes) -> bytes:
        r = json.loads(raw)
        for k, v in over.items():
            if v is KeyError:
                del r[k]
            else:
                r[k] = v
        return json.dumps(r).encode()
    return edit


def _funnel_id_as_string(run: Path) -> None:
    p = run / "funnel.jsonl"
    lines = p.read_text().splitlines()
    i = next(i for i, x in enumerate(lines) if json.loads(x)["kind"] == "eval")
    r = json.loads(lines[i])
    r["id"] = str(r["id"])
    lines[i] = json.dumps(r)
    p.write_text("\n".join(lines) + "\n")


LONG = b"#" * 2 * MAX_ROW_BYTES
BAD_ROWS = {
    "a JSON array": (_edit_evaluations(3, lambda raw: b"[1, 2]"), "evaluations.jsonl:3: expected a JSON object"),
    "no fingerprint": (_edit_evaluations(3, _json_edit(fingerprint=KeyError)),
                       "evaluations.jsonl:3: row lacks fingerprint"),
    "invalid UTF-8": (_edit_evaluations(3, lambda raw: raw.replace(b'"mutation": "', b'"mutation": "\xff\xfe')),
                      "evaluations.jsonl:3: not UTF-8"),
    "id as a string": (_edit_evaluations(3, _json_edit(id="23")), "evaluations.jsonl:3: bad value in row (id must"),
    "id as a bool": (_edit_evaluations(3, _json_edit(id=True)), "evaluations.jsonl:3: bad value in row (id must"),
    "NaN fitness": (_edit_evaluations(3, lambda raw: json.dumps({**json.loads(raw), "fitness": 987654.321})
                                      .replace("987654.321", "NaN").encode()), "evaluations.jsonl:3: not a JSON row"),
    "infinite fitness": (_edit_evaluations(3, lambda raw: json.dumps({**json.loads(raw), "fitness": 987654.321})
                                           .replace("987654.321", "1e999").encode()),
                         "evaluations.jsonl:3: bad value in row (fitness must be a finite number"),
    "wrong-typed field": (_edit_evaluations(3, _json_edit(cached="no")), "evaluations.jsonl:3: bad value in row"),
    "a 2 MB row": (_edit_evaluations(3, lambda raw: raw.replace(b'"source": "', b'"source": "' + LONG)),
                   "evaluations.jsonl:3: line longer than"),
    "funnel id as a string": (_funnel_id_as_string, "funnel.jsonl:"),
}


@pytest.mark.parametrize("command", ["resume", "show"])
@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_is_a_short_error_naming_file_and_line(finished_run, tmp_path, capsys, command, case):
    corrupt, message = BAD_ROWS[case]
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    corrupt(run)
    with open(run / "races.jsonl", "ab") as fh:  # a torn last line elsewhere: resume must not cut it
        fh.write(b'{"id": 3, "finge')
    before = snapshot(run)
    capsys.readouterr()
    argv = ["resume", str(run), "--no-progress"] if command == "resume" else ["show", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith("optsearch: error:") and len(err.splitlines()) == 1 and len(err) < 500
    assert snapshot(run) == before


# --- a full disk (issue #29): a clear error, whole logs, the last checkpoint intact, resume ----------

def _finished_after_resume(out: Path, evals: int) -> None:
    assert main(["resume", str(out), "--no-progress"]) == 0
    rows = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines()]
    assert sum(not r["cached"] for r in rows) == evals
    assert len({r["id"] for r in rows}) == len(rows)


def _limit_file_size(limit: int):
    import resource

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_during_a_log_append_stops_cleanly_and_resume_finishes(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "search.cli", "run", str(toy_yaml(tmp_path, 150)), "--out", str(out),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          preexec_fn=_limit_file_size(60_000))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "File too large" in proc.stderr and f"optsearch resume {out}" in proc.stderr
    for line in (out / "evaluations.jsonl").read_text().splitlines():
        json.loads(line)  # cut back to whole rows
    json.loads((out / "checkpoint.json").read_text())
    _finished_after_resume(out, 150)


def test_a_full_disk_during_a_checkpoint_stops_cleanly_and_resume_finishes(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.json.tmp").symlink_to("/dev/full")  # every write: ENOSPC
    assert main(["run", str(toy_yaml(tmp_path, 40)), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "checkpoint.json" in err and "Traceback" not in err
    assert not (out / "checkpoint.json.tmp").exists()  # the partial file gave its space back
    _finished_after_resume(out, 40)
