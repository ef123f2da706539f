"""What a fitness number means; no JAX here, so the search and the simplifier can import it cheaply.

The fitness of a run is ``log(baseline_loss / loss)`` against the AdamW baseline on the same task
and seed (> 0 beats AdamW), never below ``WORST_FITNESS``. ``WORST_FITNESS`` is also what a
program gets when it cannot be scored: it diverged, it is malformed, or it failed to run.
"""

from __future__ import annotations

import math

WORST_FITNESS: float = -100.0
"""Fitness of a program that diverged or could not be scored; the floor of every fitness."""


def fitness_of(loss: float, baseline_loss: float) -> float:
    """log(baseline / loss), > 0 beats AdamW; never below WORST_FITNESS."""
    if not (math.isfinite(loss) and loss > 0):
        return WORST_FITNESS
    return max(WORST_FITNESS, math.log(baseline_loss / loss))
