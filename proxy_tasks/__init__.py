"""Proxy tasks and the evaluator that scores optimizer programs on them.

``Evaluator`` (``proxy_tasks.evaluate``) is what the search uses; ``registry`` lists the tasks.
Importing this package, ``proxy_tasks.registry`` or ``proxy_tasks.fitness`` does not import JAX:
the evaluator (``Evaluator``, ``EvalResult``, ``TaskResult``) is loaded on first use, like
``dsl.to_optax``.
"""

from proxy_tasks.fitness import WORST_FITNESS, fitness_of
from proxy_tasks.registry import DEFAULT_TASKS, SCALES, TASKS, get_task

__all__ = ["DEFAULT_TASKS", "SCALES", "TASKS", "WORST_FITNESS", "EvalResult", "Evaluator", "TaskResult",
           "fitness_of", "get_task"]

_EVALUATE = ("EvalResult", "Evaluator", "TaskResult")


def __getattr__(name):
    if name in _EVALUATE:
        from proxy_tasks import evaluate

        return getattr(evaluate, name)
    raise AttributeError(name)
