"""Replay the Lion rediscovery end to end: search from AdamW, funnel, simplify, recognize, compare.

Writes report.md, summary.json, best_raw.train, best_simplified.train, search_progress.png and
loss_curves.png into --out (default results/lion_rediscovery; with --quick, a new folder under
results/runs/), with each seed's run directory under runs/.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from search import config, runlock
from search.cli.common import fail, graceful_stop
from search.cli.progress import Heartbeat, Progress
from search.driver import load_seed
from search.experiments.replay import Options, ReplayMismatch, compare_only, replay, unfinished
from search.mutate import MutationFailed
from search.rundir import RunDirError, default_out

NAME = "replay"
HELP = ("replay the Lion rediscovery end to end (about 3.4 hours on 2 cores; --quick: 1-2 minutes); run it again "
        "with the same --out to continue one that was interrupted")
WHAT = ("lion",)


def add_arguments(parser) -> None:
    parser.add_argument("what", choices=WHAT, help="what to replay (the Lion rediscovery)")
    parser.add_argument("--quick", action="store_true",
                        help="cheap tasks and a tiny budget: every stage in a few minutes")
    parser.add_argument("--seeds", type=int, default=None, metavar="N",
                        help="independent searches, seeds 0..N-1 (default 3; --quick 1)")
    parser.add_argument("--out", help="results folder (default results/lion_rediscovery; --quick: results/runs/...)")
    parser.add_argument("--config", help="search config (default configs/lion_rediscovery.yaml, "
                                         "--quick: configs/lion_rediscovery_quick.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a search config value, e.g. --set backend=local (repeatable)")
    parser.add_argument("--previous", metavar="DIR",
                        help="an earlier replay's folder: the report compares this replay with it, seed by seed")
    parser.add_argument("--force", action="store_true", help="replace the results already in --out")
    parser.add_argument("--compare-only", action="store_true",
                        help="rerun only the final comparison and rewrite the outputs of the replay in --out "
                             "(its searches and simplified answers are kept)")


def _command(args) -> str:
    """The command line that reproduces this replay (rebuilt from the parsed arguments)."""
    parts = ["optsearch", "replay", args.what]
    parts += ["--quick"] if args.quick else []
    parts += ["--seeds", str(args.seeds)] if args.seeds is not None else []
    parts += ["--config", args.config] if args.config else []
    for item in args.overrides:
        parts += ["--set", item]
    parts += ["--out", args.out] if args.out else []
    parts += ["--previous", args.previous] if getattr(args, "previous", None) else []
    parts += ["--compare-only"] if getattr(args, "compare_only", False) else []
    return " ".join(shlex.quote(p) for p in parts)


def run(args) -> int:
    seeds = args.seeds if args.seeds is not None else (1 if args.quick else 3)
    if seeds < 1:
        return fail(f"--seeds must be >= 1, got {seeds}")
    out = Path(args.out) if args.out else (default_out("replay-quick") if args.quick
                                           else Path("results/lion_rediscovery"))
    if args.compare_only:
        opts = Options(out=out, seeds=seeds, quick=args.quick, command=_command(args),
                       previous=Path(args.previous) if args.previous else None)
        try:
            with graceful_stop("the final comparison", resume=opts.command), Heartbeat() as log:
                compare_only(opts, log=log)
        except ValueError as exc:
            return fail(str(exc))
        return 0
    command = _command(args)
    opts = Options(out=out, seeds=seeds, quick=args.quick, config=Path(args.config) if args.config else None,
                   previous=Path(args.previous) if args.previous else None,
                   overrides=tuple(args.overrides), command=command)
    try:  # checked before anything in --out is touched, even with --force
        cfg = config.load(opts.config_path, list(opts.overrides))
        config.check_seeds(cfg, [load_seed(s) for s in cfg.search.seeds])
    except config.ConfigError as exc:
        return fail(f"{opts.config_path}: {exc}")
    except (OSError, ValueError) as exc:
        return fail(f"{opts.config_path}: search.seeds: {exc}")
    try:  # one replay per folder: a second one (or --force) on a live replay is refused
        out.mkdir(parents=True, exist_ok=True)
        key = runlock.acquire(out)
    except runlock.LockedError as exc:
        return fail(f"{out} is in use by a running replay (pid {exc.pid}); let it finish or stop it with "
                    "Ctrl-C before continuing it")
    except OSError as exc:
        return fail(f"{out}: {exc}")
    try:
        return _run(args, opts, out)
    finally:
        runlock.release(key)


def _run(args, opts: Options, out: Path) -> int:
    """The replay, with ``out`` locked."""
    try:
        partial = unfinished(out)
    except ValueError as exc:
        return fail(f"{exc}; --force replaces it")
    held = (out / "summary.json").exists() or (out / "runs").exists()
    if held and (partial is None or args.force):
        if not args.force:
            return fail(f"{out} already holds replay results; choose another --out, or --force to replace them")
        for name in ("runs", "summary.json", "report.md"):
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    live = sys.stdout.isatty()
    try:
        with graceful_stop("the replay", resume=opts.command) as stop, Heartbeat() as log:
            summary = replay(opts, log=log, progress=lambda title: Progress(title, live), stop=stop)
    except ReplayMismatch as exc:
        return fail(f"{exc}; run it with the same settings to continue it, or --force to start over")
    except RunDirError as exc:  # a seed's run directory is locked by a live search, or its logs are damaged
        return fail(str(exc))
    except MutationFailed as exc:
        return fail(f"the search stopped: {exc} (nothing written is lost; check the mutation section of the config)")
    if summary.interrupted:
        print(f"interrupted; nothing is lost. Continue with: {opts.command}", file=sys.stderr)
        return 130
    return 0 if summary.seeds else 1
