"""Continue a search from its run directory (config.yaml, checkpoint, evaluations log).

Children made after the last checkpoint are derived again and take their results from the log,
so nothing already evaluated is evaluated twice; on the local backend the finished log is the
same as that of an uninterrupted run.
"""

from __future__ import annotations

import sys

from search import config, session
from search.cli.common import fail
from search.cli.run_cmd import _evaluator_error, execute
from search.driver import Driver
from search.rundir import RunDirError

NAME = "resume"
HELP = "continue a search from its run directory"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="DIR", help="a run directory made by `optsearch run`")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live display")


def run(args) -> int:
    try:
        opened = session.reopen(args.run_dir)  # the lock first: RunDirLocked while another search writes here
    except config.ConfigError as exc:
        return fail(f"{args.run_dir}/config.yaml: {exc}")
    except RunDirError as exc:
        return fail(str(exc))
    with opened:  # closes the run directory (logs, lock) on every path out
        cfg, rundir = opened.cfg, opened.rundir
        try:
            rundir.read_checkpoint()  # fail on a damaged checkpoint before starting anything
        except RunDirError as exc:
            return fail(str(exc))
        try:
            backend = session.make_backend(cfg)
            backend.prepare()
        except config.ConfigError as exc:
            return fail(f"{args.run_dir}/config.yaml: {exc}")
        except Exception as exc:  # noqa: BLE001 - report any evaluator construction error as bad input
            return fail(_evaluator_error(cfg, exc))
        search = Driver(cfg, rundir, backend)
        try:
            search.resume()
        except (RunDirError, RuntimeError, KeyError) as exc:
            backend.close()
            return fail(f"{args.run_dir}: cannot resume: {exc}")
        if search.torn_row:
            print("note: the last log row was cut by the interruption and was removed", file=sys.stderr)
        if search.finished:
            print(f"{args.run_dir}: this run already finished", file=sys.stderr)
        print(f"resuming {rundir.path}: {search.rows} logged rows, {len(search.tail)} to replay", file=sys.stderr)
        live = cfg.run.progress and not args.no_progress and sys.stdout.isatty()
        return execute(search, f"optsearch resume {cfg.name} ({cfg.backend})", live)
