"""The ``optsearch`` command line.

Each subcommand lives in its own module of this package, ``search/cli/<name>_cmd.py``, exposing
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; ``progress.py`` is the live
display of a running search and ``common.py`` what the subcommands share. Exit codes: 0 success,
1 failure of the job, 2 bad input (the error names the place).

This is the top layer of ``search/``: it may import the experiments, the analysis and the core;
nothing below imports it. ``python -m search.cli`` runs it as ``optsearch`` does.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Subcommands in the order ``--help`` lists them; a module that does not exist yet is skipped.
COMMANDS = (
    "run", "resume", "show", "eval", "replay", "simplify", "analyze", "export", "list", "check", "cache",
)


def _modules():
    for name in COMMANDS:
        try:
            yield importlib.import_module(f"search.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"search.cli.{name}_cmd":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optsearch",
        description="Discover optimizers by evolutionary program search, and explain them.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.__doc__)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    cache = sys.modules.get("proxy_tasks.compile_cache")
    if cache is not None:  # a second command in one process (tests) counts its own compilations
        cache.COUNTS.__init__()
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _compile_report()


def _compile_report() -> None:
    """One line on what this process compiled, when it compiled anything: the first run on a
    machine pays compilation, later ones load it (``proxy_tasks.compile_cache``)."""
    cache = sys.modules.get("proxy_tasks.compile_cache")  # imported only by commands that use JAX
    if cache is None or not cache.COUNTS.requests:
        return
    c, where = cache.COUNTS, cache.directory()
    kept = f"loaded {c.loaded} from the cache in {where}" if where else "the compilation cache is off"
    print(f"compiled {c.compiled} XLA programs in this process ({c.seconds:.1f} s with cache reads); {kept}",
          file=sys.stderr)
