"""XLA compilations per command, with the persistent compilation cache off (what a first run pays).

Each command runs in a fresh process with ``OPTSEARCH_COMPILE_CACHE=off``, a fresh baseline cache
(``OPTSEARCH_CACHE`` in a temporary directory, so the baselines are computed, as on a new machine)
and ``JAX_LOG_COMPILES=1``; the count and seconds come from the command's own report
(``proxy_tasks.compile_cache.COUNTS``, printed by ``search/cli``), the split by jitted function
from JAX's log. ``python benchmarks/compilations.py [--only NAME ...]``; prints a table, the last
line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMPARE = """
from dsl import library
from proxy_tasks import compile_cache
from proxy_tasks.tuned import QUICK_META
from search.experiments.compare import compare
c = compile_cache.count()
compare({"lion": library.get("lion"), "signum": library.get("signum")}, QUICK_META, print)
import sys
print(f"compiled {c.compiled} XLA programs in this process ({c.seconds:.1f} s with cache reads)", file=sys.stderr)
"""

GRID = """
from dsl import library
from proxy_tasks import compile_cache
from proxy_tasks.evaluate import Evaluator
c = compile_cache.count()
ev = Evaluator({"mlp": 1.0, "logreg": 0.5}, seeds=[0], lr_grid=[0.3333333, 1.0, 3.0], batching="runs")
ev.evaluate([library.get(n) for n in ("adamw", "lion", "signum", "momentum")])
import sys
print(f"compiled {c.compiled} XLA programs in this process ({c.seconds:.1f} s with cache reads)", file=sys.stderr)
"""

# name -> argv after the interpreter (``{out}``: a fresh scratch directory)
COMMANDS: dict[str, list[str]] = {
    "eval adamw --task mlp": ["-m", "search.cli", "eval", "adamw", "--task", "mlp"],
    "eval adamw --task mlp --task logreg --seeds 2":
        ["-m", "search.cli", "eval", "adamw", "--task", "mlp", "--task", "logreg", "--seeds", "2"],
    "run quick (10 evaluations)":
        ["-m", "search.cli", "run", "configs/quick.yaml", "--set", "search.max_evaluations=10",
         "--set", "funnel.every=0", "--no-progress", "--out", "{out}/run"],
    "evaluator of replay --quick (lr grid x3, 4 programs)": ["-c", GRID],
    "compare QUICK_META (lion, signum)": ["-c", COMPARE],
}

REPORT = re.compile(r"compiled (\d+) XLA programs in this process \(([\d.]+) s")
LOOPS = ("jit(init)", "jit(advance)", "jit(whole)", "jit(<lambda>)")
"""The training loops (the program runner's, the optax baselines'); everything else is eager ops
that build the tasks' data (tiny, once per shape)."""
FINISHED = re.compile(r"Finished XLA compilation of (\S+) in ([\d.eE+-]+) sec")


def measure(argv: list[str]) -> dict:
    """Compilations, their seconds, the wall time and the split by jitted function of one command."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "OPTSEARCH_COMPILE_CACHE": "off", "OPTSEARCH_CACHE": tmp, "JAX_LOG_COMPILES": "1",
               "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, *(a.replace("{out}", tmp) for a in argv)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    found = REPORT.search(proc.stderr)
    by_fn: Counter[str] = Counter()
    for name, _secs in FINISHED.findall(proc.stderr):
        by_fn[name] += 1
    loops = {k: v for k, v in by_fn.items() if k in LOOPS}
    return {"compiled": int(found.group(1)) if found else None, "seconds": float(found.group(2)) if found else None,
            "wall": round(wall, 1), "loops": loops, "eager": sum(by_fn.values()) - sum(loops.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="run only commands whose name contains these")
    args = parser.parse_args()
    rows = {}
    for name, argv in COMMANDS.items():
        if args.only and not any(s in name for s in args.only):
            continue
        rows[name] = measure(argv)
        r = rows[name]
        print(f"{name:52s} compiled {r['compiled']:>3}  {r['seconds']:>6.1f} s compiling  {r['wall']:>6.1f} s wall  "
              f"loops {sum(r['loops'].values()):>2} {r['loops']}  eager ops {r['eager']}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
