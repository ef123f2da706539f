"""Run an evolutionary search from a YAML config (default: the embedded quick demo).

Progress is shown live; Ctrl-C checkpoints and stops (press it twice to abort at once);
`optsearch resume DIR` continues the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dsl.program import Program
from search import config, session
from search.cli.common import fail, graceful_stop
from search.cli.front_view import print_front
from search.cli.progress import Heartbeat, Progress, print_summary
from search.driver import Driver, load_seed
from search.mutate import MutationFailed
from search.rundir import RunDirError, WriteFailed, default_out

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
    try:
        with (graceful_stop("the search", resume=f"optsearch resume {search.rundir.path}") as stop,
              Progress(title, live) as progress):
            summary = search.run(stop=stop, on_progress=progress)
    except WriteFailed as exc:  # a full disk: the logs are whole, the last checkpoint intact
        return fail(f"the search stopped: {exc}. Free some space, then: optsearch resume {search.rundir.path}")
    except MutationFailed as exc:  # a parent with no valid child (e.g. only growing mutations at max_length)
        return fail(f"the search stopped: {exc}\n(the mutation section gives this parent no valid child: give "
                    f"delete or modify a weight, or raise mutation.max_length or mutation.max_redraws)")
    finally:
        search.backend.close()
        search.rundir.close()
    print_summary(summary)
    print_front(summary)
    if summary["interrupted"]:
        print(f"interrupted; checkpoint saved. Continue with: optsearch resume {summary['run_dir']}",
              file=sys.stderr)
        return 130
    return 0


def _seed_programs(cfg: config.Config) -> list[Program]:
    """The seed programs, checked against the mutation section (``config.check_seeds``)."""
    programs = []
    for i, s in enumerate(cfg.search.seeds):
        try:
            programs.append(load_seed(s))
        except (OSError, ValueError) as exc:  # ProgramError and bad UTF-8 are ValueErrors
            raise config.ConfigError(f"search.seeds[{i}]", f"{s}: {exc}") from None
    config.check_seeds(cfg, programs)
    return programs


def _evaluator_error(cfg: config.Config, exc: Exception) -> str:
    """An exception from building the evaluator, as one short line naming the config key."""
    key = f"evaluator.factory ({cfg.evaluator.factory})" if cfg.evaluator.factory else "evaluator"
    text = f"{key}: cannot build the evaluator: {type(exc).__name__}: {exc}"
    return text if len(text) <= 600 else text[:597] + "..."


def run(args) -> int:
    where = args.config or "default config"  # every config message names the file once, here
    try:
        cfg = config.load(args.config, args.overrides)
        _seed_programs(cfg)
    except config.ConfigError as exc:
        return fail(f"{where}: {exc}")
    out = Path(args.out or cfg.run.out or default_out(cfg.name))
    backend = None
    try:
        tasks = ", ".join(map(str, cfg.evaluator.tasks or ()))
        with Heartbeat(stream=sys.stderr, stage=f"preparing the {cfg.backend} backend: building the proxy tasks "
                                                f"({tasks}) and their AdamW baselines"):
            backend = session.make_backend(cfg)
            backend.prepare()
    except config.ConfigError as exc:
        return fail(f"{where}: {exc}")
    except Exception as exc:  # noqa: BLE001 - report any evaluator construction error as bad input
        if backend is not None:
            backend.close()
        return fail(f"{where}: {_evaluator_error(cfg, exc)}")
    try:
        opened = session.start(out, cfg)
    except (RunDirError, OSError) as exc:
        backend.close()
        return fail(str(exc))
    with opened:
        print(f"run directory: {opened.rundir.path}", file=sys.stderr)
        search = Driver(cfg, opened.rundir, backend)
        live = cfg.run.progress and not args.no_progress and sys.stdout.isatty()
        return execute(search, f"optsearch run {cfg.name} ({cfg.backend})", live)
