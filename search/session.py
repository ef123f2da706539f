"""A search session: the run directory a search writes, opened for a new run or for the one it
holds, and the backend its evaluations run on.

Here rather than in ``search.config`` or ``search.backends`` because it needs both: the config
names its ``backend`` from ``BACKENDS``, so the backends cannot import the config back. A
session holds its run directory (the lock taken) until it is closed: use it in a ``with`` block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from search import config
from search.backends import BACKENDS, Backend
from search.rundir import RunDir


def make_backend(cfg: config.Config) -> Backend:
    """The backend ``cfg.backend`` names. Evaluator settings are checked against the task registry
    first, so a bad one is a ``ConfigError`` naming its key path (``evaluator.overrides.steps``)
    rather than an exception from inside the evaluator (or a Ray actor)."""
    config.check_evaluator(cfg)
    return BACKENDS[cfg.backend](cfg)


@dataclass(frozen=True)
class Session:
    """A run directory held for writing, the config that runs there, and whether the folder held
    that run already (then ``Driver.resume`` continues it)."""

    rundir: RunDir
    cfg: config.Config
    resumed: bool

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.rundir.close()


def start(out: str | Path, cfg: config.Config) -> Session:
    """A new run of ``cfg`` in ``out`` (its ``config.yaml`` written, the lock taken):
    ``RunDirLocked`` if a search is running there, ``RunDirError`` if it holds a run already."""
    return Session(RunDir.create(out, config.dump(cfg)), cfg, False)


def reopen(path: str | Path) -> Session:
    """The run in ``path`` with its config (one an earlier version wrote included). The lock is
    taken first, so a folder another search writes fails with ``RunDirLocked`` before its config
    is read; a bad config (``ConfigError``) releases the lock again."""
    rundir = RunDir.open(path)
    try:
        cfg = config.load_run_config(rundir.config_path)
    except BaseException:
        rundir.close()
        raise
    return Session(rundir, cfg, True)


def open_run(out: str | Path, cfg: config.Config) -> Session:
    """The run in ``out`` if the folder holds one (a run killed or stopped: it resumes with the
    config it was started with), else a new run of ``cfg`` there."""
    return reopen(out) if (Path(out) / "config.yaml").exists() else start(out, cfg)
