"""README's "Command line" table against the parser: every command has a row, every flag in the
table exists, and every flag a README example passes to `optsearch` is in the table (a reader who
copies an example finds each of its options there)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from search.cli import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
FLAG = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def table() -> dict[str, set[str]]:
    """command -> flags in its row of the "Command line" table."""
    section = README.split("## Command line", 1)[1].lstrip("\n").split("\n\n", 1)[0]
    rows: dict[str, set[str]] = {}
    for m in re.finditer(r"^\| `optsearch (\w+)([^`]*)`", section, re.M):
        rows.setdefault(m.group(1), set()).update(FLAG.findall(m.group(2)))
    return rows


def examples() -> list[tuple[str, set[str]]]:
    """(command, flags) of each `optsearch ...` command line outside the table."""
    rest = README.split("## Command line", 1)[1].lstrip("\n").split("\n\n", 1)[1]
    out = []
    for m in re.finditer(r"optsearch ([a-z]+)((?: +(?:[^\s`#|]+))*)", rest):
        out.append((m.group(1), set(FLAG.findall(m.group(2)))))
    return out


def test_every_command_has_a_row_and_every_flag_in_it_exists():
    parsers, rows = subparsers(), table()
    assert set(rows) == set(parsers)
    for cmd, flags in rows.items():
        known = {s for a in parsers[cmd]._actions for s in a.option_strings}
        assert flags <= known, (cmd, flags - known)


def test_every_flag_of_a_readme_example_is_in_the_table():
    rows, parsers = table(), subparsers()
    checked = 0
    for cmd, flags in examples():
        if cmd not in parsers:
            continue  # prose ("optsearch mutates such programs ...")
        assert flags <= rows[cmd], f"`optsearch {cmd}` example uses {sorted(flags - rows[cmd])}, not in the table"
        checked += bool(flags)
    assert checked >= 5
