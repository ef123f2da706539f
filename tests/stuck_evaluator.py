"""A toy evaluator that gets stuck once, the way a jitted XLA call holds the main thread.

Used by ``tests/test_stop.py`` and ``benchmarks/faults.py`` (``evaluator.factory:
tests.stuck_evaluator:StuckEvaluator``). The first evaluation at ``stuck_at`` after
``stuck_after`` calls writes the marker file named by ``$OPTSEARCH_STUCK`` and sleeps with
SIGINT and SIGTERM blocked in this thread: like native code, it neither returns nor lets a Python
signal handler run. Once the marker exists it never sticks again, so ``resume`` finishes.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from proxy_tasks.toy import ToyEvaluator

STOPS = {signal.SIGINT, signal.SIGTERM}


def stuck(seconds: float = 60.0) -> None:
    """Hold this thread ``seconds`` with the stop signals blocked (a marker file says it began)."""
    marker = os.environ.get("OPTSEARCH_STUCK")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        time.sleep(seconds)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class StuckEvaluator(ToyEvaluator):
    """``pid_dir``: each process building one writes its pid there (``benchmarks/faults.py`` kills
    exactly those Ray workers, never another process)."""

    def __init__(self, *args, stuck_at: str = "x10", stuck_after: int = 0, stuck_s: float = 60.0,
                 pid_dir: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stuck_at, self.stuck_after, self.stuck_s, self.calls = stuck_at, stuck_after, stuck_s, 0
        if pid_dir:
            Path(pid_dir, str(os.getpid())).touch()

    def evaluate(self, programs, seeds=None, lr_scales=None, threshold=None):
        marker = os.environ.get("OPTSEARCH_STUCK")
        if self.scale == self.stuck_at and marker and not Path(marker).exists():
            self.calls += 1
            if self.calls > self.stuck_after:
                stuck(self.stuck_s)
        return super().evaluate(programs, seeds, lr_scales, threshold)
