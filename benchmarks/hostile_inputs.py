"""Hostile inputs against the command line: every one must end in a short clear error.

    python benchmarks/hostile_inputs.py [--timeout 60]

Each case runs ``optsearch ...`` in its own process on a hostile config, program file or damaged
run directory, with a timeout. For each: exit code, whether a Python traceback reached the user,
the length of what it printed, wall time and the process's peak memory (``wait4``'s maxrss).
Targets (#20): no traceback, no hang, exit 2, output short. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "search.cli"]
TOY = ('name: toy\nsearch: {population: 10, tournament: 3, max_evaluations: 20}\n'
       'evaluator: {factory: "proxy_tasks.toy:ToyEvaluator", tasks: {toy: 1.0}, overrides: {steps: 10, dim: 4}}\n'
       'funnel: {top_k: 2, scales: [x10]}\n')
LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + "name: *i\n"


def configs(d: Path) -> dict[str, bytes]:
    return {
        "max_seconds NaN": TOY.encode() + b"search: {max_seconds: .nan}\n",
        "population 1e12": b"search: {population: 1000000000000}\n",
        "billion laughs (549 bytes)": LAUGHS.encode(),
        "lists nested 3000 deep": b"name: " + b"[" * 3000 + b"]" * 3000 + b"\n",
        "invalid UTF-8": b"name: \xff\xfe\n",
        "NUL in name": b'name: "a\\0b"\n',
        "task seed 1e23": b"evaluator: {seeds: [99999999999999999999999]}\n",
        "empty file": b"",
        "task weight NaN": b"evaluator: {tasks: {mlp: .nan}}\n",
        "mutation insert NaN": b"mutation: {insert: .nan}\n",
        "max_length 1": b"mutation: {max_length: 1}\n",
        "steps -5": b"evaluator: {overrides: {steps: -5}}\n",
        "unknown task": b"evaluator: {tasks: {nope: 1.0}}\n",
        "2 MB file": b"name: demo\n" + b"# " + b"x" * 2_000_000 + b"\n",
    }


def programs(d: Path) -> dict[str, str]:
    (d / "bad.train").write_bytes(b"def train(w, g, m, v, lr):\n    u = g\xff\n    return u, m, v\n")
    (d / "huge.train").write_bytes(b"# " + b"x" * 50_000_000 + b"\n")
    (d / "random.train").write_bytes(os.urandom(4096))
    fifo = d / "pipe.train"
    if not fifo.exists():
        os.mkfifo(fifo)
    return {"/dev/zero": "/dev/zero", "named pipe": str(fifo), "directory": str(d),
            "invalid UTF-8": str(d / "bad.train"), "50 MB file": str(d / "huge.train"),
            "random bytes": str(d / "random.train")}


def run_dirs(d: Path) -> dict[str, Path]:
    """A finished toy run, copied and damaged one way per case."""
    base = d / "run"
    if not base.exists():
        (d / "toy.yaml").write_text(TOY)
        subprocess.run([*CLI, "run", str(d / "toy.yaml"), "--out", str(base), "--no-progress"], cwd=ROOT,
                       capture_output=True, check=True, timeout=300)
    rows = (base / "evaluations.jsonl").read_bytes().splitlines(keepends=True)
    first = json.loads(rows[0])
    damage = {
        "row is a JSON array": b"[1, 2, 3]\n",
        "row without fingerprint": json.dumps({k: v for k, v in first.items() if k != "fingerprint"}).encode() + b"\n",
        "invalid UTF-8 in a row": rows[0][:-2] + b"\xff}\n",
        'id is the string "23"': json.dumps({**first, "id": "23"}).encode() + b"\n",
        "a 2 MB row": b'{"id": 1, "x": "' + b"y" * 2_000_000 + b'"}\n',
    }
    out = {}
    for i, (name, row) in enumerate(damage.items()):
        target = d / f"damaged{i}"
        if target.exists():
            subprocess.run(["rm", "-rf", str(target)], check=True)
        subprocess.run(["cp", "-r", str(base), str(target)], check=True)
        (target / ".lock").unlink(missing_ok=True)
        (target / "evaluations.jsonl").write_bytes(rows[0] + row + b"".join(rows[1:]))
        out[name] = target
    return out


def attempt(argv: list[str], timeout: float) -> dict:
    t0 = time.monotonic()
    proc = _Popen([*CLI, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
        hang = False
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        hang = True
    wall = time.monotonic() - t0
    usage = getattr(proc, "_rusage", None)
    text = (out + err).decode("utf-8", "replace")
    return {"rc": proc.returncode, "hang": hang, "traceback": "Traceback (most recent call last)" in text,
            "chars": len(text), "wall_s": round(wall, 2), "peak_mb": usage,
            "message": err.decode("utf-8", "replace").strip().splitlines()[-1][:160] if err.strip() else ""}


class _Popen(subprocess.Popen):
    """Popen that keeps the child's resource usage (peak memory) from ``wait4``."""

    def _try_wait(self, wait_flags):
        try:
            pid, sts, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            self._rusage = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
        return pid, sts



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="hostile-"))
    results = []
    for name, data in configs(d).items():
        path = d / f"config{len(results)}.yaml"
        path.write_bytes(data)
        results.append(("config", name, attempt(["run", str(path), "--out", str(d / f"out{len(results)}"),
                                                  "--no-progress"], args.timeout)))
    for name, spec in programs(d).items():
        for cmd in ("check", "simplify"):
            results.append((f"program ({cmd})", name, attempt([cmd, spec], args.timeout)))
    for name, path in run_dirs(d).items():
        for cmd in ("resume", "show"):
            extra = ["--no-plots"] if cmd == "show" else ["--no-progress"]
            results.append((f"run dir ({cmd})", name, attempt([cmd, str(path), *extra], args.timeout)))
    print(f"{'kind':<18} {'input':<28} {'rc':>3} {'trace':>5} {'hang':>4} {'chars':>6} {'s':>6} "
          f"{'peak MB':>8}  message")
    for kind, name, r in results:
        print(f"{kind:<18} {name:<28} {r['rc']!s:>3} {'yes' if r['traceback'] else 'no':>5} "
              f"{'yes' if r['hang'] else 'no':>4} {r['chars']:>6} {r['wall_s']:>6} {r['peak_mb']!s:>8}  {r['message']}")
    clean = sum(r["rc"] == 2 and not r["traceback"] and not r["hang"] for _, _, r in results)
    summary = {"inputs": len(results), "clean_errors": clean,
               "tracebacks": sum(r["traceback"] for _, _, r in results), "hangs": sum(r["hang"] for _, _, r in results),
               "peak_mb_worst": max((r["peak_mb"] or 0) for _, _, r in results),
               "longest_output_chars": max(r["chars"] for _, _, r in results),
               "cases": [{"kind": k, "input": n, **r} for k, n, r in results]}
    print(f"\n{len(results)} inputs: {clean} clean errors (exit 2), {summary['tracebacks']} tracebacks, "
          f"{summary['hangs']} hangs, worst peak memory {summary['peak_mb_worst']} MB")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
