"""The toy evaluator's former home: it is an evaluator, not a backend, and lives in
``proxy_tasks.toy``. Kept so that configs and run directories written before the move
(``evaluator.factory: search.backends.toy:ToyEvaluator``, e.g. ``tests/data/v1_run``) still
resolve."""

from proxy_tasks.toy import ToyEvaluator, ToyResult, ToyTaskResult

__all__ = ["ToyEvaluator", "ToyResult", "ToyTaskResult"]
