"""The live display of a running search, and the summary printed when it ends.

``Progress(title, live)`` is a context manager whose value takes the driver's ``Stats``: a rich
table refreshed in place on a terminal (``live``), else a log line on standard error every few
seconds. ``optsearch run``/``resume`` use it, and ``optsearch replay`` hands it to the replay as
its progress factory.
"""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table

from search.analysis.digits import sig, signed

STARTING = ("starting: building the proxy tasks and compiling their training loops "
            "(the first run on a machine compiles; later runs load them from the compilation cache)")
QUIET_S = 5.0  # piped: a line at most this often, and at least this often while nothing else prints
_ACTIVE = 0  # Progress displays open now (a Heartbeat keeps quiet while one is)


class Heartbeat:
    """A log function for the long stages around the searches (analysis, ablation, comparison):
    prints each line with the time since the start, and while nothing is printed for ``quiet_s``
    seconds (and no search display is open) says again what is running and for how long."""

    def __init__(self, quiet_s: float = 8.0, stream=None, stage: str = "starting"):
        self.quiet_s, self.stream = quiet_s, stream or sys.stdout
        self._t0 = self._last = self._beat = time.monotonic()
        self._line = stage  # said only if it lasts ``quiet_s``: a quick failure prints just its error
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="optsearch-heartbeat", daemon=True)

    def __enter__(self):
        self._t0 = self._last = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join(timeout=2.0)

    def __call__(self, text: str) -> None:
        with self._lock:
            self._last = time.monotonic()
            self._line = text.strip().splitlines()[-1] if text.strip() else self._line
            print(text, file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._done.wait(1.0):
            with self._lock:
                now = time.monotonic()
                if _ACTIVE:
                    self._last = self._beat = now  # the search display speaks; after it, wait again
                    continue
                if now - max(self._last, self._beat) < self.quiet_s:
                    continue
                self._beat = now
                print(f"  ... still at: {self._line.lstrip('= ').rstrip(' =')} "
                      f"({now - self._last:.0f}s since it began, {(now - self._t0) / 60:.1f} min in all)",
                      file=self.stream, flush=True)


class Progress:
    """Live display (rich) on a terminal, a log line every few seconds otherwise.

    Never silent: a background thread keeps the display's clock running (a live table whose
    elapsed time and "waiting" line move while a slow step, compiling or a local funnel round,
    holds the search), and when piped prints a line every ``QUIET_S`` seconds that nothing else
    printed, saying what the search is waiting for and for how long."""

    def __init__(self, title: str, live: bool, starting: str = STARTING):
        self.title, self.live_mode, self.starting = title, live, starting
        self._last = 0.0
        self._live = None
        self._stats = None
        self._stats_at = self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self):
        global _ACTIVE
        _ACTIVE += 1
        self._t0 = self._stats_at = self._last = time.monotonic()
        if self.live_mode:
            self._live = Live(_Now(self), refresh_per_second=2, transient=False)
            self._live.__enter__()
        else:
            print(f"[{0.0:7.1f}s] {self.starting}", file=sys.stderr, flush=True)
        self._thread = threading.Thread(target=self._tick, name="optsearch-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        global _ACTIVE
        _ACTIVE -= 1
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, stats) -> None:
        with self._lock:
            self._stats, self._stats_at = stats, time.monotonic()
            if self._live is None and self._stats_at - self._last >= QUIET_S:
                self._print(stats, self._stats_at)

    def _tick(self) -> None:
        while not self._done.wait(1.0):
            if self._live is not None:
                continue  # rich redraws _Now itself
            with self._lock:
                now = time.monotonic()
                if now - self._last >= QUIET_S:
                    if self._stats is None:
                        self._last = now
                        print(f"[{now - self._t0:7.1f}s] still starting (no evaluation yet): "
                              "building and compiling the proxy tasks", file=sys.stderr, flush=True)
                    else:
                        self._print(self._stats, now)

    def _print(self, stats, now: float) -> None:
        self._last = now
        best = "-" if stats.best_fitness is None else signed(stats.best_fitness)
        notes = "".join(f", {k} {v}" for k, v in stats.notes.items())
        print(f"[{stats.elapsed + now - self._stats_at:7.1f}s] {stats.phase}: {stats.evaluations} evals "
              f"({sig(stats.evals_per_s)}/s so far), cache hits {stats.cache_hit_rate:.0%}, best {best}{notes}"
              f"{budget(stats, now - self._stats_at, short=True)}{self._waiting(now)}", file=sys.stderr, flush=True)

    def _waiting(self, now: float) -> str:
        quiet = now - self._stats_at
        return f"; waiting for results: {quiet:.0f}s" if quiet >= QUIET_S else ""

    def render(self):
        with self._lock:
            now = time.monotonic()
            if self._stats is None:
                table = Table(title=self.title, show_header=False, expand=False)
                table.add_column(style="bold")
                table.add_column(overflow="fold", max_width=110)
                table.add_row("status", self.starting)
                table.add_row("elapsed", f"{now - self._t0:.0f}s")
                return table
            return self._render(self._stats, now - self._stats_at)

    def _render(self, st, quiet: float = 0.0):
        table = Table(title=self.title, show_header=False, expand=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold", max_width=110)
        table.add_row("phase", st.phase)
        table.add_row("evaluations", f"{st.evaluations}  ({sig(st.evals_per_s)}/s so far, {st.in_flight} in flight)"
                      + (f"; racing: {st.race_evaluations} more task seeds" if st.race_evaluations else ""))
        table.add_row("children", f"{st.proposals}  (cache hits {st.cache_hit_rate:.1%}, "
                                   f"redundant statements {st.redundant_ratio:.1%}, redraws {st.redraws})")
        best = "-" if st.best_fitness is None else f"{signed(st.best_fitness)}  (id {st.best_id})"
        table.add_row("best fitness", best)
        table.add_row("best program", st.best_program or "-")
        if st.funnel_best:
            fb = st.funnel_best
            table.add_row("funnel best", f"id {fb['id']}: {signed(fb['fitness'])} at {fb['scale']} "
                                         f"(proxy {signed(fb['proxy_fitness'])}), {st.funnel_rounds} round(s)")
        for key, value in st.notes.items():
            table.add_row(key, value)
        wait = f"  (waiting for results: {quiet:.0f}s)" if quiet >= QUIET_S else ""
        table.add_row("elapsed", f"{st.elapsed + quiet:.0f}s{budget(st, quiet)}{wait}")
        return table


class _Now:
    """What rich's Live redraws: the table as of now, so its clock moves between results."""

    def __init__(self, progress: Progress):
        self.progress = progress

    def __rich__(self):
        return self.progress.render()


def budget(st, quiet: float = 0.0, short: bool = False) -> str:
    """What is left of the budget: evaluations, and time when ``max_seconds`` is set (``quiet``:
    seconds since ``st`` was taken)."""
    parts = []
    if st.max_evaluations:
        parts.append(f"{st.evaluations} of {st.max_evaluations} evaluations")
    if st.max_seconds:
        left = max(0.0, st.max_seconds - st.elapsed - quiet)
        parts.append(f"{left / 60:.1f} min left of {st.max_seconds / 60:.1f}")
    if not parts:
        return ""
    return (", " if short else "  (budget: ") + "; ".join(parts) + ("" if short else ")")


def print_summary(summary: dict) -> None:
    """The table at a search's end, then the answer after the exact passes and what it is.

    Every rate and fitness is labelled with what it covers: the evaluations per second over the
    whole run (funnel rounds included; the live display's rate is "so far"), and the seed beside
    the answer at the answer's scale."""
    from search.analysis.verdict import explain, seed_at

    con = Console()
    t = Table(title="search summary", show_header=False)
    t.add_column(style="bold")
    t.add_column(overflow="fold", max_width=110)
    t.add_row("run directory", summary["run_dir"])
    rate = f"{sig(summary['evals_per_s'])}/s over the whole run, {sig(summary['elapsed'])} s, funnel rounds included"
    t.add_row("evaluations", f"{summary['evaluations']} ({rate})"
              + (f"; racing: {summary['race_evaluations']} more task seeds" if summary.get("race_evaluations") else ""))
    t.add_row("children", f"{summary['proposals']}; cache hit rate {summary['cache_hit_rate']:.1%}; "
                          f"redundant statements {summary['redundant_ratio']:.1%}; invalid redraws "
                          f"{summary['redraws']}; restarts {summary['restarts']}")
    if summary["best_fitness"] is not None:
        t.add_row("best proxy fitness", f"{signed(summary['best_fitness'])} (id {summary['best_id']})")
    for p in summary["meta_validation"]:
        pb = p.get("proxy_best", {})
        scales = ", ".join(f"{k} {signed(v)}" for k, v in pb.items() if k not in ("id", "fitness") and v is not None)
        head = f"after {p['evaluations']} evals: proxy best id {pb.get('id')} {signed(pb.get('fitness'))}"
        t.add_row(f"funnel round {p['round']}", head + (f" -> {scales}" if scales else ""))
    ans = summary["answer"]
    if ans:
        with Heartbeat(stream=sys.stderr, stage=f"the seed at {ans['scale']}") as log:
            seed = seed_at(summary["run_dir"], ans["scale"], log=log)  # may compile: the heartbeat speaks
        t.add_row(f"answer at {ans['scale']}", f"id {ans['id']}: fitness {signed(ans['fitness'])} "
                                                f"(proxy {signed(ans['proxy_fitness'])})")
        if seed is not None:
            verdict = "beats" if ans["fitness"] > seed else "does not beat"
            t.add_row(f"the seed at {ans['scale']}", f"id 0: fitness {signed(seed)}: the answer {verdict} the seed "
                                                     f"at the scale it is judged at")
        t.add_row("fitness", "the mean log ratio of optax AdamW's loss to the program's, same tasks and scale; "
                             "> 0 is better")
    con.print(t)
    if ans:
        what = explain(ans["source"])
        con.print(f"the answer, simplified by the exact passes (raw program: {summary['run_dir']}/best.train); "
                  f"{what.what()}:", markup=False, highlight=False)
        con.print(what.simplified, markup=False, highlight=False)
