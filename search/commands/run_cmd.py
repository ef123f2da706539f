"""Run an evolutionary search from a YAML config (default: the embedded quick demo).

Progress is shown live; Ctrl-C checkpoints and stops (press it twice to abort at once);
`optsearch resume DIR` continues the run.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

NAME = "run"
HELP = "run an evolutionary search from a YAML config"


def add_arguments(parser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config (default: the embedded demo config)")
    parser.add_argument("--out", help="run directory (default results/runs/<name>-<timestamp>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set search.population=50 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live display")


class Progress:
    """Live display (rich) on a terminal, a log line every few seconds otherwise."""

    def __init__(self, title: str, live: bool):
        self.title, self.live_mode = title, live
        self._last = 0.0
        self._live = None
        self._stats = None

    def __enter__(self):
        if self.live_mode:
            from rich.live import Live

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
            print(f"[{stats.elapsed:7.1f}s] {stats.phase}: {stats.evaluations} evals "
                  f"({stats.evals_per_s:.1f}/s), cache hits {stats.cache_hit_rate:.0%}, best {best}",
                  file=sys.stderr, flush=True)

    def _render(self, st):
        from rich.table import Table

        table = Table(title=self.title, show_header=False, expand=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold", max_width=110)
        if st is None:
            table.add_row("status", "starting (the first evaluation compiles the tasks)")
            return table
        table.add_row("phase", st.phase)
        table.add_row("evaluations", f"{st.evaluations}  ({st.evals_per_s:.2f}/s, {st.in_flight} in flight)")
        table.add_row("children", f"{st.proposals}  (cache hits {st.cache_hit_rate:.1%}, "
                                   f"redundant statements {st.redundant_ratio:.1%}, redraws {st.redraws})")
        best = "-" if st.best_fitness is None else f"{st.best_fitness:.4f}  (id {st.best_id})"
        table.add_row("best fitness", best)
        table.add_row("best program", st.best_program or "-")
        if st.funnel_best:
            fb = st.funnel_best
            table.add_row("funnel best", f"id {fb['id']}: {fb['fitness']:.4f} at {fb['scale']} "
                                         f"(proxy {fb['proxy_fitness']:.4f}), {st.funnel_rounds} round(s)")
        table.add_row("elapsed", f"{st.elapsed:.1f}s")
        return table


def print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    t = Table(title="search summary", show_header=False)
    t.add_column(style="bold")
    t.add_column(overflow="fold", max_width=110)
    t.add_row("run directory", summary["run_dir"])
    rate = f"{summary['evals_per_s']:.2f}/s over {summary['elapsed']:.1f}s"
    t.add_row("evaluations", f"{summary['evaluations']} ({rate})")
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


def execute(search, title: str, live: bool) -> int:
    """Run ``search`` with Ctrl-C checkpointing; print the summary. Shared by run and resume."""
    stop = {"flag": False}

    def on_sigint(signum, frame):
        if stop["flag"]:
            raise KeyboardInterrupt
        stop["flag"] = True
        print("\nstopping: finishing the evaluations in flight is skipped, checkpointing "
              "(Ctrl-C again to abort now)", file=sys.stderr)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        with Progress(title, live) as progress:
            search.on_progress = progress
            summary = search.run(stop=lambda: stop["flag"])
    finally:
        signal.signal(signal.SIGINT, old)
        search.backend.close()
        search.rundir.close()
    print_summary(summary)
    if summary["interrupted"]:
        print(f"interrupted; checkpoint saved. Continue with: optsearch resume {summary['run_dir']}",
              file=sys.stderr)
        return 130
    return 0


def run(args) -> int:
    from dsl.program import ProgramError
    from search import config
    from search.backends import make_backend
    from search.commands.common import fail
    from search.engine import Search, load_seed
    from search.rundir import RunDir, RunDirError, default_out

    try:
        cfg = config.load(args.config, args.overrides)
        for i, s in enumerate(cfg.search.seeds):
            try:
                load_seed(s)
            except (OSError, ProgramError) as exc:
                raise config.ConfigError(f"search.seeds[{i}]", f"{s}: {exc}") from None
    except config.ConfigError as exc:
        where = args.config or "default config"
        return fail(f"{where}: {exc}")
    out = Path(args.out or cfg.run.out or default_out(cfg.name))
    try:
        backend = make_backend(cfg)
        if hasattr(backend, "prepare"):
            backend.prepare()
    except Exception as exc:  # noqa: BLE001 - report any evaluator construction error as bad input
        return fail(f"evaluator: {type(exc).__name__}: {exc}")
    try:
        rundir = RunDir.create(out, config.dump(cfg))
    except (RunDirError, OSError) as exc:
        backend.close()
        return fail(str(exc))
    print(f"run directory: {rundir.path}", file=sys.stderr)
    search = Search(cfg, rundir, backend)
    live = cfg.run.progress and not args.no_progress and sys.stdout.isatty()
    return execute(search, f"optsearch run {cfg.name} ({cfg.backend})", live)
