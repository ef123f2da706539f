"""The analysis layer of ``search/``: reading run directories back and drawing them.

``runs`` (a run directory as records: top programs, the answer, statistics, plot data),
``ancestry`` (the lineage of a program), ``overview`` (all of it as ``optsearch show`` prints it)
and ``plots`` (the PNG figures ``optsearch show`` and the replay draw). It imports the core
(``search.rows``, ``search.rundir``, ``search.config``, ``search.backends``) and never
``search.experiments`` or ``search.cli``.
"""

from search.analysis.ancestry import FoldedSteps, LineageStep, fold_lineage, lineage
from search.analysis.overview import Report, report
from search.analysis.plots import loss_curves, search_progress
from search.analysis.runs import (
    Answer,
    Row,
    Run,
    RunReadError,
    Statistics,
    TopProgram,
    answer,
    load_run,
    logged_curves,
    meta_points,
    progress_points,
    reason_kind,
    retrain_curves,
    statistics,
    top_programs,
)

__all__ = ["Answer", "FoldedSteps", "LineageStep", "Report", "Row", "Run", "RunReadError", "Statistics", "TopProgram",
           "answer", "fold_lineage", "lineage", "load_run", "logged_curves", "loss_curves", "meta_points",
           "progress_points", "reason_kind", "report", "retrain_curves", "search_progress", "statistics",
           "top_programs"]
