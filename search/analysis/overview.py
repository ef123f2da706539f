"""Everything ``optsearch show`` prints about a run, as one record (``report``).

The run's answer, its top programs, the answer's lineage, the statistics, and the progress and
meta-validation points, gathered from ``search.analysis.runs`` and ``search.analysis.ancestry``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from search.analysis.ancestry import LineageStep, lineage
from search.analysis.runs import (
    Point,
    Run,
    Statistics,
    TopProgram,
    answer,
    meta_points,
    progress_points,
    statistics,
    top_programs,
)
from search.funnel import Answer


@dataclass(frozen=True)
class Report:
    run_dir: str
    finished: bool
    answer: Answer | None
    top: list[TopProgram]
    lineage: list[LineageStep]
    stats: Statistics
    progress: list[Point]
    meta: dict[str, list[Point]]
    notes: list[str]

    def to_json(self) -> dict:
        return asdict(self)


def report(run: Run, k: int = 10, simplify: bool = True) -> Report:
    """What ``optsearch show`` prints, as one record."""
    ans = answer(run)
    notes = []
    if run.torn:
        notes.append("the log's last line was cut by an interruption and is ignored")
    if run.live is not None:
        who = f" (pid {run.live})" if run.live else ""
        notes.append(f"the search is still running{who}; this is a snapshot of its logs")
    elif run.summary is None:
        notes.append("no summary.json: the run has not finished (or is still running)")
    steps = lineage(run, ans.id) if ans is not None else []
    return Report(str(run.path), bool((run.summary or {}).get("finished")), ans, top_programs(run, k, simplify),
                  steps, statistics(run), progress_points(run), meta_points(run), notes)
