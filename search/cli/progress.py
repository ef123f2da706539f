"""The live display of a running search, and the summary printed when it ends.

``Progress(title, live)`` is a context manager whose value takes the driver's ``Stats``: a rich
table refreshed in place on a terminal (``live``), else a log line on standard error every few
seconds. ``optsearch run``/``resume`` use it, and ``optsearch replay`` hands it to the replay as
its progress factory.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table


class Progress:
    """Live display (rich) on a terminal, a log line every few seconds otherwise."""

    def __init__(self, title: str, live: bool):
        self.title, self.live_mode = title, live
        self._last = 0.0
        self._live = None
        self._stats = None

    def __enter__(self):
        if self.live_mode:
            self._live = Live(self._render(None), refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            if self._stats is not None:
                self._live.update(self._render(self._stats))
            self._live.__exit__(*exc)

    def __call__(self, stats) -> None:
        self._stats = stats
        now = time.monotonic()
        if self._live is not None:
            if now - self._last >= 0.25:
                self._live.update(self._render(stats))
                self._last = now
        elif now - self._last >= 5.0:
            self._last = now
            best = "-" if stats.best_fitness is None else f"{stats.best_fitness:.4f}"
            notes = "".join(f", {k} {v}" for k, v in stats.notes.items())
            print(f"[{stats.elapsed:7.1f}s] {stats.phase}: {stats.evaluations} evals "
                  f"({stats.evals_per_s:.2f}/s), cache hits {stats.cache_hit_rate:.0%}, best {best}{notes}"
                  f"{budget(stats, short=True)}", file=sys.stderr, flush=True)

    def _render(self, st):
        table = Table(title=self.title, show_header=False, expand=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold", max_width=110)
        if st is None:
            table.add_row("status", "starting (the first evaluation compiles the tasks)")
            return table
        table.add_row("phase", st.phase)
        table.add_row("evaluations", f"{st.evaluations}  ({st.evals_per_s:.2f}/s, {st.in_flight} in flight)"
                      + (f"; racing: {st.race_evaluations} more task seeds" if st.race_evaluations else ""))
        table.add_row("children", f"{st.proposals}  (cache hits {st.cache_hit_rate:.1%}, "
                                   f"redundant statements {st.redundant_ratio:.1%}, redraws {st.redraws})")
        best = "-" if st.best_fitness is None else f"{st.best_fitness:.4f}  (id {st.best_id})"
        table.add_row("best fitness", best)
        table.add_row("best program", st.best_program or "-")
        if st.funnel_best:
            fb = st.funnel_best
            table.add_row("funnel best", f"id {fb['id']}: {fb['fitness']:.4f} at {fb['scale']} "
                                         f"(proxy {fb['proxy_fitness']:.4f}), {st.funnel_rounds} round(s)")
        for key, value in st.notes.items():
            table.add_row(key, value)
        table.add_row("elapsed", f"{st.elapsed:.1f}s{budget(st)}")
        return table


def budget(st, short: bool = False) -> str:
    """What is left of the budget: evaluations, and time when ``max_seconds`` is set."""
    parts = []
    if st.max_evaluations:
        parts.append(f"{st.evaluations} of {st.max_evaluations} evaluations")
    if st.max_seconds:
        left = max(0.0, st.max_seconds - st.elapsed)
        parts.append(f"{left / 60:.1f} min left of {st.max_seconds / 60:.1f}")
    if not parts:
        return ""
    return (", " if short else "  (budget: ") + "; ".join(parts) + ("" if short else ")")


def print_summary(summary: dict) -> None:
    con = Console()
    t = Table(title="search summary", show_header=False)
    t.add_column(style="bold")
    t.add_column(overflow="fold", max_width=110)
    t.add_row("run directory", summary["run_dir"])
    rate = f"{summary['evals_per_s']:.2f}/s over {summary['elapsed']:.1f}s"
    t.add_row("evaluations", f"{summary['evaluations']} ({rate})"
              + (f"; racing: {summary['race_evaluations']} more task seeds" if summary.get("race_evaluations") else ""))
    t.add_row("children", f"{summary['proposals']}; cache hit rate {summary['cache_hit_rate']:.1%}; "
                          f"redundant statements {summary['redundant_ratio']:.1%}; invalid redraws "
                          f"{summary['redraws']}; restarts {summary['restarts']}")
    if summary["best_fitness"] is not None:
        t.add_row("best proxy fitness", f"{summary['best_fitness']:.4f} (id {summary['best_id']})")
    for p in summary["meta_validation"]:
        pb = p.get("proxy_best", {})
        scales = ", ".join(f"{k} {v:.4f}" for k, v in pb.items() if k not in ("id", "fitness") and v is not None)
        head = f"after {p['evaluations']} evals: proxy best id {pb.get('id')} {pb.get('fitness', float('nan')):.4f}"
        t.add_row(f"funnel round {p['round']}", head + (f" -> {scales}" if scales else ""))
    ans = summary["answer"]
    if ans:
        t.add_row("answer", f"id {ans['id']}: fitness {ans['fitness']:.4f} at {ans['scale']} "
                            f"(proxy {ans['proxy_fitness']:.4f})")
    con.print(t)
    if ans:
        con.print(ans["source"], markup=False, highlight=False)
