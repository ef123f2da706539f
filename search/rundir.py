"""A run directory: resolved config, append-only logs, atomic checkpoints.

Layout::

    config.yaml          the resolved config (every key)
    evaluations.jsonl    one row per child (evaluated or cache hit), flushed and fsynced
    funnel.jsonl         funnel re-evaluations (x10, x100) and one summary row per round
    checkpoint.json      population, RNG state, cache, counters; replaced atomically
    summary.json, best.train   written when the search ends

Rows are fsynced before the checkpoint that counts them, so killing the process at any moment
loses at most the evaluations in flight. A checkpoint carries a SHA-256 of its payload: a
corrupt or truncated one is reported (``CheckpointError``) and never overwritten silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

CHECKPOINT_FORMAT = 1


class RunDirError(RuntimeError):
    """The run directory cannot be used (exists already, missing files, unreadable log)."""


class CheckpointError(RunDirError):
    """The checkpoint is missing, truncated or corrupt."""


def default_out(name: str, root: str | Path = "results/runs") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{name}-{stamp}"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JsonlLog:
    """An append-only JSON-lines file; ``append`` writes, flushes and fsyncs a batch of rows."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def append(self, rows: list[dict]) -> None:
        if not rows:
            return
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write("".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path, repair: bool = False) -> tuple[list[dict], bool]:
    """All rows of ``path`` (empty if absent) and whether a torn last line was found.

    A last line without its newline that does not parse is what a kill during a write leaves:
    with ``repair`` it is cut off the file (and reported); anywhere else a bad line is an error.
    """
    if not path.exists():
        return [], False
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunDirError(f"{path}:{i + 1}: not a JSON row ({exc.msg}); the log is corrupt") from None
    torn = False
    if tail:
        try:
            rows.append(json.loads(tail))
            if repair:
                with open(path, "ab") as fh:
                    fh.write(b"\n")
        except json.JSONDecodeError:
            torn = True
            if repair:
                with open(path, "r+b") as fh:
                    fh.truncate(len(data) - len(tail))
    return rows, torn


class RunDir:
    """Files of one run. ``create`` refuses a folder that already holds a run; ``open`` needs one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.evaluations = JsonlLog(self.path / "evaluations.jsonl")
        self.funnel = JsonlLog(self.path / "funnel.jsonl")

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.json"

    @classmethod
    def create(cls, path: str | Path, config_yaml: str) -> RunDir:
        path = Path(path)
        if (path / "config.yaml").exists() or (path / "evaluations.jsonl").exists():
            raise RunDirError(f"{path} already holds a run; continue it with `optsearch resume {path}` "
                              "or choose another --out")
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        atomic_write(rd.config_path, config_yaml.encode())
        return rd

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        path = Path(path)
        if not (path / "config.yaml").exists():
            raise RunDirError(f"{path}: no config.yaml here; not a run directory")
        return cls(path)

    # --- checkpoints ---------------------------------------------------------------------------

    def write_checkpoint(self, state: dict[str, Any]) -> None:
        """Atomically replace the checkpoint (tmp file, fsync, os.replace, fsync of the folder)."""
        payload = json.dumps(state, sort_keys=True, allow_nan=False)
        doc = {"format": CHECKPOINT_FORMAT, "sha256": hashlib.sha256(payload.encode()).hexdigest(),
               "written": time.strftime("%Y-%m-%dT%H:%M:%S"), "state": state}
        atomic_write(self.checkpoint_path, json.dumps(doc, allow_nan=False).encode())

    def read_checkpoint(self) -> dict[str, Any] | None:
        """The saved state, None if the run never checkpointed; CheckpointError if it is damaged."""
        path = self.checkpoint_path
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({exc}); it was left as is. "
                                  "Move it away to restart the run from its evaluations log only") from None
        if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT or "state" not in doc:
            raise CheckpointError(f"{path}: not an optsearch checkpoint (format {CHECKPOINT_FORMAT} expected)")
        payload = json.dumps(doc["state"], sort_keys=True, allow_nan=False)
        if hashlib.sha256(payload.encode()).hexdigest() != doc.get("sha256"):
            raise CheckpointError(f"{path}: checksum mismatch, the checkpoint is corrupt; it was left as is")
        return doc["state"]

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.path / name, text.encode())

    def close(self) -> None:
        self.evaluations.close()
        self.funnel.close()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)
