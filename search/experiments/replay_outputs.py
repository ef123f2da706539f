"""The replay's output files from its summary and the tuned comparison: the headline seed's
answer raw and simplified (``best_raw.train``, ``best_simplified.train``), the plots
(``search_progress.png``, ``loss_curves.png``), ``summary.json`` and ``report.md``."""

from __future__ import annotations

from pathlib import Path

from dsl.parse import parse
from dsl.printer import to_source
from proxy_tasks.tuned import Tuned
from search.analysis import plots
from search.experiments.replay_summary import ReplaySummary
from search.experiments.report import render_report


def write_outputs(out: Path, summary: ReplaySummary, tuned: dict[str, dict[str, Tuned]], headline: int | None) -> None:

    seeds_out = summary.seeds
    best = next((d for d in seeds_out if d.seed == headline), None)
    if best is not None:
        a = best.answer
        (out / "best_raw.train").write_text(to_source(parse(a.raw),
                                            f"Raw answer of the replay's search, seed {headline} "
                                            f"(fitness {a.fitness:.4f} at {a.scale})"), encoding="utf-8")
        note = f"Simplified answer, seed {headline}" + (f"; recognized: {a.recognized}" if a.recognized else "")
        (out / "best_simplified.train").write_text(to_source(parse(a.simplified), note), encoding="utf-8")
    proxy = {f"seed {d.seed}": d.progress for d in seeds_out if d.progress}
    meta = {f"seed {d.seed}: {k}": v for d in seeds_out for k, v in d.meta.items() if "proxy best" in k}
    marks = {}
    for d in seeds_out:
        tl = d.timeline
        events = [(e.evaluations if e else None, e.fitness if e else None, text)
                  for e, text in ((tl.first_sign_momentum, "first sign-momentum child (its fitness)"),
                                  (tl.sign_momentum_lead, "sign-momentum takes the lead"))]
        marks[f"seed {d.seed}"] = [(x, y, text) for x, y, text in events if x is not None]
    plots.search_progress(out / "search_progress.png", proxy, meta, marks=marks,
                          title="replay: best proxy fitness and meta-validation (x10) against evaluations")
    curves = {name: {task: per[name].curves for task, per in tuned.items()} for name in next(iter(tuned.values()))}
    plots.loss_curves(out / "loss_curves.png", curves,
                      title="meta-validation: tuned AdamW, Lion and the found programs (mean, min-max over seeds)")
    summary.write(out / "summary.json")
    (out / "report.md").write_text(render_report(summary), encoding="utf-8")
