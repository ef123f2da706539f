"""The analysis layer of ``search/``: reading run directories back and drawing them.

``runs`` (a run directory as records: top programs, the lineage of the best, statistics, plot
data) and ``plots`` (the PNG figures ``optsearch show`` and the replay draw). It imports the core
(``search.rundir``, ``search.config``, ``search.backends``) and never ``search.experiments`` or
``search.cli``.
"""

from search.analysis.plots import loss_curves, search_progress
from search.analysis.runs import (
    Answer,
    FoldedSteps,
    LineageStep,
    Report,
    Row,
    Run,
    RunReadError,
    Statistics,
    TopProgram,
    answer,
    fold_lineage,
    lineage,
    load_run,
    logged_curves,
    meta_points,
    progress_points,
    reason_kind,
    report,
    retrain_curves,
    statistics,
    top_programs,
)

__all__ = ["Answer", "FoldedSteps", "LineageStep", "Report", "Row", "Run", "RunReadError", "Statistics", "TopProgram",
           "answer", "fold_lineage", "lineage", "load_run", "logged_curves", "loss_curves", "meta_points",
           "progress_points", "reason_kind", "report", "retrain_curves", "search_progress", "statistics",
           "top_programs"]
