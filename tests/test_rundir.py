"""Run directory files: atomic checkpoints, fsynced logs, torn lines, refusal to overwrite."""

from __future__ import annotations

import json

import pytest

from search.rundir import CheckpointError, JsonlLog, RunDir, RunDirError, read_jsonl


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
