"""A new user's first minutes: each command cold (a fresh compilation cache) and then warm.

    python benchmarks/first_minutes.py [--commands eval,run,ray,replay] [--out DIR]

For every command: wall time, time to the first evaluation (``run``), compilations in the
command's main process (its last line: "compiled N XLA programs ... loaded M from the cache"),
the longest interval without a line of output, and the lines printed per 5 s of run time when
piped. Cold and warm run side by side in one call with the same fresh cache directory (the
baseline cache is fresh too, and warm for the second run, as on a user's machine). The machine
may be shared: compare the warm/cold ratios. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "search.cli"]

COMMANDS = {
    "eval": ["eval", "adamw"],
    "run": ["run", "--no-progress"],  # the embedded demo config: the README's first command
    "ray": ["run", "--no-progress", "--set", "backend=ray", "--set", "ray.workers=2"],
    "replay": ["replay", "lion", "--quick"],
}
COMPILED = re.compile(r"compiled (\d+) XLA programs .*?; loaded (\d+) from the cache")


def run_once(name: str, args: list[str], env: dict, out: Path) -> dict:
    """Run one command piped; time every line of its output as it arrives, and (``run``) the
    moment its first evaluation reaches the run's log."""
    extra = ["--out", str(out / name)] if name in ("run", "ray", "replay") else []
    log = out / name / ("runs/seed0/evaluations.jsonl" if name == "replay" else "evaluations.jsonl")
    t0 = time.monotonic()
    proc = subprocess.Popen([*CLI, *args, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    stamps: list[tuple[float, str]] = []

    def read() -> None:
        for line in proc.stdout:
            stamps.append((time.monotonic() - t0, line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    first = None
    while proc.poll() is None:
        if first is None and log.exists() and log.stat().st_size > 0:
            first = time.monotonic() - t0
        time.sleep(0.05)
    reader.join()
    wall = time.monotonic() - t0
    times = [0.0] + [t for t, _ in stamps] + [wall]
    gaps = [b - a for a, b in zip(times, times[1:])]
    compiled = [m for m in (COMPILED.search(text) for _, text in stamps) if m]
    return {"rc": proc.returncode, "wall_s": round(wall, 1), "first_eval_s": None if first is None else round(first, 1),
            "longest_silence_s": round(max(gaps), 1), "lines": len(stamps),
            "lines_per_5s": round(len(stamps) / max(wall / 5.0, 1.0), 2),
            "compiled": int(compiled[-1].group(1)) if compiled else None,
            "loaded": int(compiled[-1].group(2)) if compiled else None,
            "tail": [text for _, text in stamps[-3:]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commands", default="eval,run,ray,replay", help="which of: " + ",".join(COMMANDS))
    ap.add_argument("--out", default=None, help="folder for the runs (default: a temporary one)")
    args = ap.parse_args()
    names = [n.strip() for n in args.commands.split(",") if n.strip()]
    unknown = [n for n in names if n not in COMMANDS]
    if unknown:
        ap.error(f"unknown commands {unknown}; known: {list(COMMANDS)}")
    root = Path(args.out or tempfile.mkdtemp(prefix="first-minutes-"))
    results: dict[str, dict] = {}
    for name in names:
        caches = root / f"cache-{name}"
        env = {**os.environ, "OPTSEARCH_CACHE": str(caches), "OPTSEARCH_COMPILE_CACHE": str(caches / "xla"),
               "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        results[name] = {}
        for state in ("cold", "warm"):
            r = run_once(name, COMMANDS[name], env, root / state)
            results[name][state] = r
            print(f"{name:<7} {state}: rc {r['rc']}, {r['wall_s']:7.1f} s, first evaluation "
                  f"{r['first_eval_s']}, longest silence {r['longest_silence_s']} s, {r['lines_per_5s']} lines "
                  f"per 5 s, compiled {r['compiled']} (loaded {r['loaded']})", flush=True)
        c, w = results[name]["cold"], results[name]["warm"]
        results[name]["warm_over_cold"] = round(w["wall_s"] / c["wall_s"], 3) if c["wall_s"] else None
    print()
    print(f"{'command':<8} {'cold s':>8} {'warm s':>8} {'warm/cold':>9} {'1st eval warm':>13} "
          f"{'max silence':>11} {'compiled cold/warm':>18}")
    for name, r in results.items():
        c, w = r["cold"], r["warm"]
        print(f"{name:<8} {c['wall_s']:>8.1f} {w['wall_s']:>8.1f} {r['warm_over_cold']:>9} "
              f"{str(w['first_eval_s']):>13} {max(c['longest_silence_s'], w['longest_silence_s']):>11} "
              f"{str(c['compiled']) + '/' + str(w['compiled']):>18}")
    print(json.dumps({"results": results, "machine": {"cpus": os.cpu_count()}}))


if __name__ == "__main__":
    main()
