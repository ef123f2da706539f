"""A run directory: resolved config, append-only logs, atomic checkpoints.

Layout::

    config.yaml          the resolved config (every key)
    evaluations.jsonl    one row per child (evaluated or cache hit), flushed and fsynced
    funnel.jsonl         funnel re-evaluations (x10, x100) and one summary row per round
    races.jsonl          racing: programs scored on more task seeds (only when racing is on)
    checkpoint.json      population, RNG state, cache, counters; replaced atomically
    summary.json, best.train   written when the search ends
    .lock                the writer's lock (``search.runlock``), with its pid while it runs

Rows are fsynced before the checkpoint that counts them, so killing the process at any moment
loses at most the evaluations in flight. A checkpoint carries a SHA-256 of its payload: a
corrupt or truncated one is reported (``CheckpointError``) and never overwritten silently.

The rows of the three logs are declared in ``search.rows``; reading their lines is strict and
bounded here (``read_jsonl``): a line that is not UTF-8, not standard JSON or longer than
``MAX_ROW_BYTES`` is a ``RowError`` naming the file and the line, never silently kept.

One process writes a run directory at a time: ``create`` and ``open`` take its lock
(``RunDirLocked`` names the live holder's pid) and ``close`` releases it; readers pass
``lock=False`` or read the logs directly.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import weakref
from pathlib import Path
from typing import Any

from search import runlock

CHECKPOINT_FORMAT = 2
READABLE_CHECKPOINTS = (1, 2)  # format 1: written before the search core was split (0.1)
MAX_ROW_BYTES = 1 << 20  # a longer line is corruption, not a row (the longest real ones are ~1 KB)


class RunDirError(RuntimeError):
    """The run directory cannot be used (exists already, missing files, unreadable log)."""


class WriteFailed(RunDirError):
    """A write to the run directory failed (a full disk, a file size limit): the run stops. The
    log was cut back to its last whole row and the last checkpoint is untouched, so ``resume``
    continues once the cause is gone."""


class CheckpointError(RunDirError):
    """The checkpoint is missing, truncated or corrupt."""


class RowError(RunDirError):
    """A log row that is not what its schema says; the message names the file and the line."""


class RunDirLocked(RunDirError):
    """Another live process is writing the run directory; ``pid`` is the holder's (None: unknown)."""

    def __init__(self, message: str, pid: int | None):
        super().__init__(message)
        self.pid = pid


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

    def append(self, rows: list) -> None:
        """Append rows (``EvaluationRow``/``FunnelRow``/``RoundRow``, or plain dicts). Unbuffered:
        a failed write (``WriteFailed``) leaves no bytes behind to be flushed later, and the rows
        it wrote in part are cut off again."""
        if not rows:
            return
        if self._fh is None:
            self._fh = open(self.path, "ab", buffering=0)
        data = "".join(json.dumps(r if isinstance(r, dict) else r.to_json(), allow_nan=False) + "\n"
                       for r in rows).encode()
        fd = self._fh.fileno()
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass  # the next reader drops a torn last line anyway
            raise WriteFailed(f"{self.path}: cannot append ({exc.strerror or exc})") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_jsonl(path: Path, repair: bool = False) -> tuple[list[Any], bool]:
    """All rows of ``path`` (empty if absent) and whether a torn last line was found.

    A last line without its newline that does not parse is what a kill during a write leaves: it
    is dropped (with ``repair`` also cut off the file, see ``repair_tail``). Anywhere else a bad
    line is a ``RowError`` naming it: not UTF-8, not standard JSON, or over ``MAX_ROW_BYTES`` (read
    line by line, so a corrupt multi-gigabyte "row" costs no more memory than a good one).
    """
    if not path.exists():
        return [], False
    rows, torn = [], False
    with open(path, "rb") as fh:
        for number in itertools.count(1):
            data = fh.readline(MAX_ROW_BYTES + 1)
            if not data:
                break
            if data.endswith(b"\n"):
                rows.append(_parse_line(data[:-1], path, number))
            elif len(data) > MAX_ROW_BYTES:
                raise RowError(f"{path}:{number}: line longer than {MAX_ROW_BYTES} bytes; the log is corrupt")
            else:  # the last line, without its newline
                try:
                    rows.append(_parse_line(data, path, number))
                except RowError:
                    torn = True
    if repair:
        repair_tail(path)
    return rows, torn


def repair_tail(path: Path) -> bool:
    """Make ``path`` end with a complete line: a cut last row (a kill during a write) is removed,
    a whole one missing its newline gets it. True if a row was removed. Resume calls it only once
    every log has been read and checked, so a log it refuses is left exactly as it was."""
    if not path.exists():
        return False
    with open(path, "r+b") as fh:
        start = max(0, fh.seek(0, os.SEEK_END) - MAX_ROW_BYTES - 1)
        fh.seek(start)
        chunk = fh.read()
        if not chunk or chunk.endswith(b"\n"):
            return False
        cut = chunk.rfind(b"\n")
        if cut < 0 and start > 0:
            raise RowError(f"{path}: last line longer than {MAX_ROW_BYTES} bytes; the log is corrupt")
        try:
            _parse_line(chunk[cut + 1:], path, 0)
            fh.write(b"\n")
            removed = False
        except RowError:
            fh.truncate(start + cut + 1)
            removed = True
        fh.flush()
        os.fsync(fh.fileno())
    return removed


def _parse_line(data: bytes, path: Path, number: int) -> Any:
    """One JSON value from one line: UTF-8, standard JSON (no NaN or Infinity)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(f"{path}:{number}: not UTF-8 (byte {exc.start}); the log is corrupt") from None
    try:
        return json.loads(text, parse_constant=_not_a_number)
    except ValueError as exc:  # bad JSON, NaN/Infinity, an integer too long to convert
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise RowError(f"{path}:{number}: not a JSON row ({msg}); the log is corrupt") from None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not standard JSON")


class RunDir:
    """Files of one run. ``create`` refuses a folder that already holds a run; ``open`` needs one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.evaluations = JsonlLog(self.path / "evaluations.jsonl")
        self.funnel = JsonlLog(self.path / "funnel.jsonl")
        self.races = JsonlLog(self.path / "races.jsonl")
        self._unlock = None  # releases this RunDir's share of the lock (close, or when collected)

    def _lock(self) -> None:
        try:
            key = runlock.acquire(self.path)
        except runlock.LockedError as exc:
            raise RunDirLocked(str(exc), exc.pid) from None
        except OSError as exc:  # a read-only folder, say: it cannot be written anyway
            raise RunDirError(f"{self.path}: cannot take the run directory's lock ({exc.strerror})") from None
        self._unlock = weakref.finalize(self, runlock.release, key)

    @property
    def locked(self) -> bool:
        """Whether this RunDir holds the folder's lock (a writer's does; ``lock=False`` ones not)."""
        return self._unlock is not None and self._unlock.alive

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.json"

    @classmethod
    def create(cls, path: str | Path, config_yaml: str) -> RunDir:
        """A new run in ``path``, locked. ``RunDirLocked`` if a search is running there, else
        ``RunDirError`` if it holds a run already."""
        path = Path(path)
        taken = RunDirError(f"{path} already holds a run; continue it with `optsearch resume {path}` "
                            "or choose another --out")
        if _holds_run(path) and not (path / runlock.LOCK_NAME).exists():
            raise taken  # no search ever locked it: nothing can be running there
        path.mkdir(parents=True, exist_ok=True)
        rd = cls(path)
        rd._lock()  # a live run's holder is named before the folder's contents are judged
        if _holds_run(path):
            rd.close()
            raise taken
        atomic_write(rd.config_path, config_yaml.encode())
        return rd

    @classmethod
    def open(cls, path: str | Path, lock: bool = True) -> RunDir:
        """An existing run. ``lock`` (a writer: resume) takes the folder's lock until ``close``,
        ``RunDirLocked`` if a search is running there; a reader passes False."""
        path = Path(path)
        if not (path / "config.yaml").exists():
            raise RunDirError(f"{path}: no config.yaml here; not a run directory")
        rd = cls(path)
        if lock:
            rd._lock()
        return rd

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
        if not isinstance(doc, dict) or "state" not in doc or not isinstance(doc["state"], dict):
            raise CheckpointError(f"{path}: not an optsearch checkpoint")
        if doc.get("format") not in READABLE_CHECKPOINTS:
            raise CheckpointError(f"{path}: checkpoint format {doc.get('format')!r} is not one this version reads "
                                  f"({', '.join(map(str, READABLE_CHECKPOINTS))})")
        payload = json.dumps(doc["state"], sort_keys=True, allow_nan=False)
        if hashlib.sha256(payload.encode()).hexdigest() != doc.get("sha256"):
            raise CheckpointError(f"{path}: checksum mismatch, the checkpoint is corrupt; it was left as is")
        return doc["state"]

    def write_text(self, name: str, text: str) -> None:
        atomic_write(self.path / name, text.encode())

    def close(self) -> None:
        """Close the logs and release the lock (safe to call twice)."""
        self.evaluations.close()
        self.funnel.close()
        self.races.close()
        if self._unlock is not None:
            self._unlock()

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _holds_run(path: Path) -> bool:
    return (path / "config.yaml").exists() or (path / "evaluations.jsonl").exists()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a torn one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        try:
            tmp.unlink()  # the old file stays whole; the partial new one must not hold the space
        except OSError:
            pass
        raise WriteFailed(f"{path}: cannot write ({exc.strerror or exc}); the previous version is intact") from None
    os.replace(tmp, path)
    _fsync_dir(path.parent)
