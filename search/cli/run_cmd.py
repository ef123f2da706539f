"""Run an evolutionary search from a YAML config (default: the embedded quick demo).

Progress is shown live; Ctrl-C checkpoints and stops (press it twice to abort at once);
`optsearch resume DIR` continues the run.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from dsl.program import ProgramError
from search import config
from search.backends import make_backend
from search.cli.common import fail
from search.cli.progress import Progress, print_summary
from search.driver import Driver, load_seed
from search.rundir import RunDir, RunDirError, default_out

NAME = "run"
HELP = "run an evolutionary search from a YAML config"


def add_arguments(parser) -> None:
    parser.add_argument("config", nargs="?", help="YAML config (default: the embedded demo config)")
    parser.add_argument("--out", help="run directory (default results/runs/<name>-<timestamp>)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set search.population=50 (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live display")


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
            summary = search.run(stop=lambda: stop["flag"], on_progress=progress)
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
        backend.prepare()
    except Exception as exc:  # noqa: BLE001 - report any evaluator construction error as bad input
        return fail(f"evaluator: {type(exc).__name__}: {exc}")
    try:
        rundir = RunDir.create(out, config.dump(cfg))
    except (RunDirError, OSError) as exc:
        backend.close()
        return fail(str(exc))
    print(f"run directory: {rundir.path}", file=sys.stderr)
    search = Driver(cfg, rundir, backend)
    live = cfg.run.progress and not args.no_progress and sys.stdout.isatty()
    return execute(search, f"optsearch run {cfg.name} ({cfg.backend})", live)
