"""Run directory files: atomic checkpoints, fsynced logs, torn lines, refusal to overwrite, the row schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from search import runlock
from search.rows import ROW_FORMAT, EvaluationRow, FunnelRow, RoundRow, read_evaluations, read_funnel
from search.rundir import (
    MAX_ROW_BYTES,
    CheckpointError,
    JsonlLog,
    RowError,
    RunDir,
    RunDirError,
    RunDirLocked,
    read_jsonl,
    repair_tail,
)

ROOT = Path(__file__).resolve().parents[1]


def test_checkpoint_round_trip_and_atomic_replace(tmp_path):
    rd = RunDir.create(tmp_path / "r", "name: x\n")
    assert rd.read_checkpoint() is None
    rd.write_checkpoint({"a": 1, "rng": {"state": 2**100}})
    rd.write_checkpoint({"a": 2, "rng": {"state": 2**100}})
    assert rd.read_checkpoint() == {"a": 2, "rng": {"state": 2**100}}
    assert not list((tmp_path / "r").glob("*.tmp"))


def test_damaged_checkpoints_are_reported(tmp_path):
    rd = RunDir.create(tmp_path / "r", "name: x\n")
    rd.checkpoint_path.write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="not an optsearch checkpoint"):
        rd.read_checkpoint()
    rd.checkpoint_path.write_bytes(b"\x00\xff")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        rd.read_checkpoint()


def test_create_refuses_an_existing_run_and_open_needs_one(tmp_path):
    RunDir.create(tmp_path / "r", "name: x\n")
    with pytest.raises(RunDirError, match="already holds a run"):
        RunDir.create(tmp_path / "r", "name: y\n")
    assert (tmp_path / "r" / "config.yaml").read_text() == "name: x\n"
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir.open(tmp_path / "nothing")


def test_jsonl_append_and_torn_line_repair(tmp_path):
    log = JsonlLog(tmp_path / "e.jsonl")
    log.append([{"id": 0}, {"id": 1}])
    log.append([{"id": 2}])
    log.close()
    assert read_jsonl(tmp_path / "e.jsonl") == ([{"id": 0}, {"id": 1}, {"id": 2}], False)
    with open(tmp_path / "e.jsonl", "a") as fh:
        fh.write('{"id": 3, "fit')
    rows, torn = read_jsonl(tmp_path / "e.jsonl", repair=True)
    assert torn and [r["id"] for r in rows] == [0, 1, 2]
    assert (tmp_path / "e.jsonl").read_text().endswith('{"id": 2}\n')
    (tmp_path / "e.jsonl").write_text('{"id": 0}\nnot json\n{"id": 2}\n')
    with pytest.raises(RunDirError, match=":2: not a JSON row"):
        read_jsonl(tmp_path / "e.jsonl")


def test_rows_must_be_standard_json(tmp_path):
    log = JsonlLog(tmp_path / "e.jsonl")
    with pytest.raises(ValueError):
        log.append([{"fitness": float("nan")}])
    log.close()
    assert json.loads(json.dumps({"ok": 1})) == {"ok": 1}


# --- the row schema ----------------------------------------------------------------------------

def _row(**over) -> dict:
    r = EvaluationRow(id=3, parent=1, mutation="insert 2: t1 = sin(g)", source="def train(w, g, m, v, lr):\n"
                      "    return g, m, v\n", fingerprint="ab", fitness=0.25, cached=False, tasks={"mlp": 0.25},
                      lr_scales={"mlp": 3.0}, seconds=1.5, length=0, redundant=0, redraws=2, evaluations=7,
                      time=9.0).to_json()
    r.update(over)
    return r


def test_rows_round_trip_through_json_and_carry_their_format(tmp_path):
    log = JsonlLog(tmp_path / "evaluations.jsonl")
    log.append([EvaluationRow.from_json(_row())])
    log.close()
    (back,), torn = read_evaluations(tmp_path / "evaluations.jsonl")
    assert not torn and back == EvaluationRow.from_json(_row()) and back.line == 1
    assert json.loads((tmp_path / "evaluations.jsonl").read_text())["format"] == ROW_FORMAT
    f = FunnelRow(round=1, scale="x10", id=3, fingerprint="ab", fitness=0.1, source="s", proxy_fitness=0.25,
                  evaluations=7, tasks={"mlp": 0.1}, lr_scales={"mlp": 1.0}, seconds=2.0)
    r = RoundRow(1, 7, 20, {"id": 3, "fitness": 0.25, "x10": 0.1}, {"x10": {"id": 3, "fitness": 0.1,
                                                                              "proxy_fitness": 0.25}})
    assert r.to_json()["best_x10"]["id"] == 3
    flog = JsonlLog(tmp_path / "funnel.jsonl")
    flog.append([f, r])
    flog.close()
    evals, rounds = read_funnel(tmp_path / "funnel.jsonl")
    assert evals == [f] and rounds == [r]


def test_rows_written_before_the_schema_load(tmp_path):
    """Format 1: no ``format``, no ``lr_scales``, and the fields older logs lacked."""
    old = {k: v for k, v in _row().items() if k not in ("format", "lr_scales", "length", "redundant", "redraws")}
    row = EvaluationRow.from_json(old, tmp_path / "e.jsonl", 4)
    assert row.lr_scales == {} and row.length is None and row.fitness == 0.25


@pytest.mark.parametrize("raw, message", [
    ([1, 2], "expected a JSON object, got list"),
    ({"id": 1}, "row lacks parent, mutation, source, fingerprint, fitness, cached"),
    ("X", "expected a JSON object, got str"),
])
def test_bad_rows_name_the_file_and_the_line(tmp_path, raw, message):
    with pytest.raises(RowError, match=f"e.jsonl:5: {message}"):
        EvaluationRow.from_json(raw, tmp_path / "e.jsonl", 5)


@pytest.mark.parametrize("over", [{"id": "23"}, {"id": True}, {"fitness": "high"}, {"lr_scales": [1]},
                                  {"tasks": {"mlp": "x"}}, {"parent": "p"}])
def test_rows_with_values_of_the_wrong_type_are_errors(tmp_path, over):
    with pytest.raises(RowError, match="e.jsonl:2: bad value in row"):
        EvaluationRow.from_json(_row(**over), tmp_path / "e.jsonl", 2)


def test_funnel_log_with_an_unknown_row_kind_is_an_error(tmp_path):
    (tmp_path / "funnel.jsonl").write_text('{"kind": "eval", "round": 1}\n')
    with pytest.raises(RowError, match="funnel.jsonl:1: row lacks scale"):
        read_funnel(tmp_path / "funnel.jsonl")
    (tmp_path / "funnel.jsonl").write_text('{"kind": "party"}\n')
    with pytest.raises(RowError, match="unknown row kind 'party'"):
        read_funnel(tmp_path / "funnel.jsonl")


def test_checkpoints_of_an_unknown_format_are_refused(tmp_path):
    rd = RunDir.create(tmp_path / "r", "name: x\n")
    rd.write_checkpoint({"a": 1})
    doc = json.loads(rd.checkpoint_path.read_text())
    doc["format"] = 99
    rd.checkpoint_path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="format 99 is not one this version reads"):
        rd.read_checkpoint()


# --- reading bounded and strict ------------------------------------------------------------------

def test_read_jsonl_names_the_line_of_invalid_utf8_nan_and_overlong_rows(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_bytes(b'{"id": 0}\n{"s": "\xff"}\n')
    with pytest.raises(RowError, match="e.jsonl:2: not UTF-8"):
        read_jsonl(p)
    p.write_bytes(b'{"id": 0}\n{"x": NaN}\n')
    with pytest.raises(RowError, match="e.jsonl:2: not a JSON row .NaN is not standard JSON"):
        read_jsonl(p)
    p.write_bytes(b'{"id": 0}\n{"x": "' + b"a" * MAX_ROW_BYTES + b'"}\n{"id": 2}\n')
    with pytest.raises(RowError, match="e.jsonl:2: line longer than"):
        read_jsonl(p)
    p.write_bytes(b'{"id": 0}\n{"x": "\xe2\x82')  # a kill in the middle of a character: a torn line
    assert read_jsonl(p) == ([{"id": 0}], True)
    assert repair_tail(p) and p.read_bytes() == b'{"id": 0}\n'
    p.write_bytes(b'{"id": 0}\n{"id": 1}')  # whole, but its newline was not written
    assert not repair_tail(p) and p.read_bytes() == b'{"id": 0}\n{"id": 1}\n'


# --- the lock ------------------------------------------------------------------------------------

HOLD = """import sys, time
from search.rundir import RunDir
rd = RunDir.open(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    run = tmp_path / "r"
    RunDir.create(run, "name: x\n").close()
    assert not (run / ".lock").exists()  # released on close: no empty lock file stays
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "held\n"
        with pytest.raises(RunDirLocked, match=f"pid {proc.pid}") as info:
            RunDir.open(run)
        assert info.value.pid == proc.pid
        with pytest.raises(RunDirLocked, match=f"pid {proc.pid}"):
            RunDir.create(run, "name: y\n")
        assert (run / "config.yaml").read_text() == "name: x\n"
        assert runlock.holder(run) == proc.pid
        assert RunDir.open(run, lock=False).read_checkpoint() is None  # a reader takes no lock
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert runlock.holder(run) is None  # its pid is still in the file, but the process is gone
    rd = RunDir.open(run)  # the OS released the lock with the process
    assert rd.locked and (run / ".lock").read_text() == f"{os.getpid()}\n"
    rd.close()


def test_the_lock_is_shared_within_a_process_and_released_by_the_last_close(tmp_path):
    """Tests abandon a search as a kill would and resume it in the same process."""
    a = RunDir.create(tmp_path / "r", "name: x\n")
    b = RunDir.open(tmp_path / "r")
    assert a.locked and b.locked and runlock.holder(tmp_path / "r") == os.getpid()
    a.close()
    a.close()  # twice is harmless and drops one reference only
    assert runlock.holder(tmp_path / "r") == os.getpid()
    del b  # an abandoned RunDir releases its share when collected
    assert runlock.holder(tmp_path / "r") is None
    assert not RunDir.open(tmp_path / "r", lock=False).locked


def test_a_live_pid_in_an_unheld_lock_file_is_not_a_live_run(tmp_path):
    """A reused pid (a live, unrelated process) in ``.lock`` left by a killed search: not live."""
    run = tmp_path / "r"
    RunDir.create(run, "name: x\n").close()
    other = subprocess.Popen(["sleep", "60"])
    try:
        (run / ".lock").write_text(f"{other.pid}\n")
        assert runlock.holder(run) is None
        rd = RunDir.open(run)  # and a reader's check never turned a writer away
        assert rd.locked
        rd.close()
    finally:
        other.kill()
        other.wait(timeout=30)
