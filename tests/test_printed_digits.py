"""No printed number carries more than 4 significant digits unless it is an id or a count (#31).

The main commands' output (a search on configs/quick.yaml with a tiny budget, its summary, and
``eval``) is scanned for longer decimals. A program's own constants (its statements, and the
constants of the family it is recognized as, ``beta2=0.996991``) print as the program has them
and are not measurements: lines of program text (a derivation's diff lines too), constants
inside an expression (``interp(t2, v, 0.996991)``, ``lr * 0.0002``) and ``name=value`` constants
are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from search.cli import main

ROOT = Path(__file__).resolve().parents[1]
DECIMAL = re.compile(r"(?<![\w.=])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.])")
PROGRAM_LINE = re.compile(r"^[-+]?\s*(def train\(|return update|[A-Za-z_]\w* = \S)")
IN_EXPRESSION = ("(", ", ", "* ", "/ ", "+ ")  # what precedes a program's constant in its text


def significant(token: str) -> int:
    mantissa = token.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


def long_numbers(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        body = line.strip("│┃ ")
        if PROGRAM_LINE.match(body):
            continue
        for m in DECIMAL.finditer(line):
            before = line[: m.start()]
            if significant(m.group()) > 4 and not before.endswith(IN_EXPRESSION):
                found.append(f"{m.group()!r} in {line.strip()!r}")
    return found


def test_the_scanner_sees_long_floats():
    assert long_numbers("best proxy fitness 0.04299050902997579")
    assert long_numbers("AdamW 1.1730±0.0029")
    assert not long_numbers("fitness -0.0038 (proxy -1.1e-05), 1500 evaluations, id 4456, 8.297/s")
    assert not long_numbers("    v = interp(t1, v, 0.996991)\nrecognized: lion (beta2=0.996991)")
    assert not long_numbers("    -    v = interp(t1, v, 0.996991)\n  x = interp(t2, v, 0.996991)  [sympy]")


def test_run_and_eval_print_no_long_numbers(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(ROOT / "configs" / "quick.yaml"), "--out", str(out), "--no-progress",
                 "--set", "search.max_evaluations=12", "--set", "search.population=8",
                 "--set", "funnel.every=0", "--set", "funnel.top_k=1"]) == 0
    run = capsys.readouterr()
    assert "search summary" in run.out
    assert main(["eval", "adamw", "--task", "quadratic", "--seeds", "2", "--steps", "20",
                 "--cache-dir", str(tmp_path / "cache")]) == 0
    ev = capsys.readouterr()
    assert "learning rate chosen" in ev.out
    assert long_numbers(run.out + run.err + ev.out + ev.err) == []
