"""Proxy tasks and the evaluator that scores optimizer programs on them.

``Evaluator`` (``proxy_tasks.evaluate``) is what the search uses; ``registry`` lists the tasks.
"""

from proxy_tasks.evaluate import DEFAULT_TASKS, WORST_FITNESS, EvalResult, Evaluator, TaskResult
from proxy_tasks.registry import SCALES, TASKS, get_task

__all__ = ["DEFAULT_TASKS", "SCALES", "TASKS", "WORST_FITNESS", "EvalResult", "Evaluator", "TaskResult", "get_task"]
