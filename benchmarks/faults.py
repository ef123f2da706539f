"""Faults injected into real (small, fast) searches: which ones a run survives, measured.

    python benchmarks/faults.py [--tries 3] [--only NAME ...]

Each fault is injected into an ``optsearch`` process (toy evaluator unless a real proxy task is
needed), and the run is then finished (``optsearch resume``, or run again) and checked against an
uninterrupted run of the same config:

* ``ray worker kill -9``: kill one of this run's evaluator actors (their pids come from the
  evaluator itself, so nothing else is touched) several times mid-evaluation; the search goes on.
* ``driver kill -9 (local|ray)``: kill the driver at a random moment, then resume. Local: the
  history equals the uninterrupted run's. Ray: no row lost or duplicated, the budget exact. Ray
  processes the dead driver started and left behind are watched until they exit on their own
  (ended after 120 s: then the try did not survive).
* ``disk full (checkpoint|log)``: the checkpoint's temporary file is a link to ``/dev/full``
  (every write: ENOSPC), or the driver runs under ``RLIMIT_FSIZE`` (the log's append gets EFBIG):
  a clear error, the last checkpoint intact, resume works once space is back.
* ``corrupt (compile|baseline) cache``: truncate or overwrite every entry of JAX's persistent
  compilation cache and of the AdamW baseline cache: the next run recomputes, same results.
* ``SIGTERM (funnel|final comparison)``: the funnel's evaluation stuck in native code
  (``tests/stuck_evaluator.py``), or the replay's real final comparison: a stop within 10 s, then
  resume (or the same command again) finishes.

Columns: tries, survived, rows lost, rows duplicated (against the reference, summed over tries),
the worst time to recover (resume's or the rerun's wall time; for a worker kill, kill to the
replacement actor's evaluator built). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "search.cli"]
FACTORY = "tests.stuck_evaluator:StuckEvaluator"
VOLATILE = {"seconds", "time", "elapsed"}  # row fields that are wall-clock measurements
STOP_LIMIT_S = 10.0


def toy_config(d: Path, *, evals: int = 200, backend: str = "local", delay_s: float = 0.01,
               pid_dir: Path | None = None, name: str = "faults") -> Path:
    extra = f", pid_dir: {json.dumps(str(pid_dir))}" if pid_dir else ""
    ray = "ray: {workers: 2, timeout_s: 60, startup_timeout_s: 120}\n" if backend == "ray" else ""
    p = d / f"{name}.yaml"
    p.write_text(f"""name: {name}
backend: {backend}
search: {{population: 10, tournament: 3, max_evaluations: {evals}}}
evaluator: {{factory: "{FACTORY}", tasks: {{toy: 1.0}}, overrides: {{steps: 10, dim: 4, delay_s: {delay_s}{extra}}}}}
funnel: {{top_k: 2, scales: [x10], every: 60}}
run: {{checkpoint_every: 10}}
{ray}""")
    return p


@dataclass
class Result:
    fault: str
    tries: int = 0
    survived: int = 0
    lost: int = 0
    duplicated: int = 0
    recover_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add(self, ok: bool, lost: int = 0, dup: int = 0, recover_s: float = 0.0, note: str = "") -> None:
        self.tries += 1
        self.survived += bool(ok and not lost and not dup)
        self.lost += lost
        self.duplicated += dup
        self.recover_s = max(self.recover_s, round(recover_s, 2))
        if note and note not in self.notes:
            self.notes.append(note)


def env(**extra: str) -> dict[str, str]:
    e = {**os.environ, "PYTHONUNBUFFERED": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    e["PYTHONPATH"] = str(ROOT) + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.pop("OPTSEARCH_STUCK", None)
    e.update(extra)
    return e


def start(args: list[str], e: dict | None = None, preexec: Callable[[], None] | None = None) -> subprocess.Popen:
    return subprocess.Popen(CLI + args, cwd=ROOT, env=e or env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=preexec)


def run(args: list[str], e: dict | None = None, timeout: float = 300) -> tuple[int, str, float]:
    t0 = time.monotonic()
    p = subprocess.run(CLI + args, cwd=ROOT, env=e or env(), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stderr, time.monotonic() - t0


def rows(out: Path) -> list[dict]:
    path = out / "evaluations.jsonl"
    if not path.exists():
        return []
    out_rows = []
    for line in path.read_text().splitlines():
        try:
            out_rows.append(json.loads(line))
        except ValueError:
            pass  # a torn last line
    return out_rows


def history(out: Path) -> list[tuple]:
    """The evaluation and funnel rows without wall-clock fields: what must not depend on a fault."""
    h = [tuple(sorted((k, json.dumps(v)) for k, v in r.items() if k not in VOLATILE)) for r in rows(out)]
    fpath = out / "funnel.jsonl"
    if fpath.exists():
        for line in fpath.read_text().splitlines():
            r = json.loads(line)
            h.append(tuple(sorted((k, json.dumps(v)) for k, v in r.items() if k not in VOLATILE)))
    return h


def compare(out: Path, ref: list[tuple]) -> tuple[int, int]:
    """(rows lost, rows duplicated) of ``out``'s history against the reference ``ref``."""
    got = history(out)
    lost = sum(1 for r in ref if r not in got)
    dup = len(got) - len(set(got)) + sum(1 for r in set(got) if r not in ref)
    return lost, dup


def ids(out: Path, budget: int) -> tuple[int, int, bool]:
    """(ids lost, ids duplicated, budget exact) of a run whose order may vary (Ray)."""
    rs = rows(out)
    seen = [r["id"] for r in rs]
    lost = len(set(range(max(seen) + 1)) - set(seen)) if seen else budget
    dup = len(seen) - len(set(seen))
    evaluated = sum(not r["cached"] for r in rs)
    died = sum(r.get("reason") in ("worker died", "timeout") for r in rs)
    return lost, dup, evaluated == budget and not died


def wait_rows(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if len(rows(out)) >= n:
            return True
        time.sleep(0.05)
    return False


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc): what that process started."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found.update(kids)
        todo.extend(kids)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def end(pids: set[int], grace_s: float = 15.0) -> int:
    """Wait for ``pids`` (ours) to exit; kill those left; how many were left."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    left = {p for p in pids if alive(p)}
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(left)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    try:
        return proc.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1] + "\n(timed out)"


# --- the faults -------------------------------------------------------------------------------

def ray_worker_kill(d: Path, tries: int) -> Result:
    res = Result("ray worker kill -9")
    pids = d / "pids"
    pids.mkdir()
    evals = 300
    out = d / "ray-workers"
    proc = start(["run", str(toy_config(d, evals=evals, backend="ray", delay_s=0.05, pid_dir=pids, name="rw")),
                  "--out", str(out), "--no-progress"])
    killed, recover = 0, 0.0
    if wait_rows(out, 20, proc, timeout=180):
        for _ in range(tries):
            time.sleep(random.uniform(0.5, 2.0))
            live = [int(p.name) for p in pids.iterdir() if alive(int(p.name)) and int(p.name) != proc.pid]
            if not live or proc.poll() is not None:
                break
            n = len(list(pids.iterdir()))
            os.kill(random.choice(live), signal.SIGKILL)
            killed += 1
            t0 = time.monotonic()  # recovered: a replacement actor has built its evaluator
            while proc.poll() is None and len(list(pids.iterdir())) <= n and time.monotonic() - t0 < 120:
                time.sleep(0.05)
            recover = max(recover, time.monotonic() - t0)
    err = finish(proc)
    lost, dup, exact = ids(out, evals)
    ok = proc.returncode == 0 and exact
    for i in range(max(killed, 1)):
        res.add(ok and killed > 0, lost if i == 0 else 0, dup if i == 0 else 0, recover,
                "" if ok else f"rc {proc.returncode}, budget exact {exact}: {err.strip()[-300:]}")
    res.tries = killed
    return res


class Leftovers:
    """Processes a killed driver started (Ray's) and left: watched in the background until they
    exit on their own (Ray's agents notice their raylet's death after about a minute)."""

    def __init__(self) -> None:
        self.lived: list[float] = []  # seconds each outlived its driver
        self.left: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def add(self, pids: set[int], killed_at: float) -> None:
        self.left.update({p: killed_at for p in pids})

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for p, t in list(self.left.items()):
                if not alive(p):
                    self.lived.append(time.monotonic() - t)
                    del self.left[p]

    def close(self, limit_s: float = 120.0) -> int:
        """Wait up to ``limit_s`` after each kill; end what is still there (ours); how many."""
        while self.left and any(time.monotonic() - t < limit_s for t in self.left.values()):
            time.sleep(0.5)
        self._stop.set()
        self._thread.join()
        return end(set(self.left), 0.0)


LEFTOVERS: Leftovers | None = None


def driver_kill(d: Path, tries: int, backend: str, ref: list[tuple] | None, span_s: float) -> Result:
    """``span_s``: how long the uninterrupted run logs rows; the kill lands in its first 80%."""
    res = Result(f"driver kill -9 ({backend})")
    evals = 200 if backend == "local" else 150
    for i in range(tries + 2):
        if res.tries == tries:
            break
        out = d / f"dk-{backend}-{i}"
        cfg = toy_config(d, evals=evals, backend=backend, delay_s=0.02 if backend == "local" else 0.05,
                         name="faults" if backend == "local" else "dkray")
        proc = start(["run", str(cfg), "--out", str(out), "--no-progress"])
        if not wait_rows(out, 1, proc, timeout=180):
            res.add(False, note=f"never started: {finish(proc)[-300:]}")
            continue
        time.sleep(random.uniform(0.0, span_s * 0.8))
        if proc.poll() is not None:
            continue  # finished before the kill: not a try
        ours = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if LEFTOVERS is not None:
            LEFTOVERS.add(ours, time.monotonic())
        rc, err, took = run(["resume", str(out), "--no-progress"])
        if backend == "local":
            lost, dup = compare(out, ref or [])
            ok = rc == 0
        else:
            lost, dup, exact = ids(out, evals)
            ok = rc == 0 and exact
        res.add(ok, lost, dup, took, "" if ok else f"resume rc {rc}: {err.strip()[-300:]}")
    return res


def _no_xfsz_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _checkpoint_ok(out: Path) -> bool:
    sys.path.insert(0, str(ROOT))
    from search.rundir import RunDir
    try:
        return RunDir.open(out, lock=False).read_checkpoint() is not None
    except Exception:  # noqa: BLE001 - any failure to read it back is the finding
        return False


def disk_full(d: Path, tries: int, where: str, ref: list[tuple]) -> Result:
    res = Result(f"disk full ({where})")
    for i in range(tries):
        out = d / f"full-{where}-{i}"
        cfg = toy_config(d, evals=200, delay_s=0.02)
        if where == "checkpoint":
            proc = start(["run", str(cfg), "--out", str(out), "--no-progress"])
            wait_rows(out, 40 + 30 * i, proc)
            link = out / "checkpoint.json.tmp.link"
            link.symlink_to("/dev/full")
            os.replace(link, out / "checkpoint.json.tmp")  # the next checkpoint writes to a full device
        else:
            proc = start(["run", str(cfg), "--out", str(out), "--no-progress"],
                         preexec=_no_xfsz_limit(200_000 * (i + 1)))
        err = finish(proc, timeout=120)
        clear = proc.returncode == 2 and "Traceback" not in err and ("No space" in err or "too large" in err)
        intact = _checkpoint_ok(out)
        tmp = out / "checkpoint.json.tmp"
        if tmp.is_symlink():
            tmp.unlink()  # space is back
        rc, err2, took = run(["resume", str(out), "--no-progress"])
        lost, dup = compare(out, ref)
        note = "" if clear else f"rc {proc.returncode}: {err.strip()[-300:]}"
        note = note or ("" if intact else "no readable checkpoint after the error")
        note = note or ("" if rc == 0 else f"resume rc {rc}: {err2.strip()[-300:]}")
        res.add(clear and intact and rc == 0, lost, dup, took, note)
    return res


REAL = ["--set", "search.max_evaluations=6", "--set", "search.population=4", "--set", "search.tournament=2",
        "--set", "funnel.scales=[]", "--set", "programs_per_call=3", "--set", "evaluator.tasks={quadratic: 1.0}",
        "--set", "evaluator.overrides={steps: 50}", "--set", "evaluator.batching=single"]


def corrupt_caches(d: Path, tries: int) -> list[Result]:
    caches = d / "caches"
    e = env(OPTSEARCH_CACHE=str(caches), OPTSEARCH_COMPILE_CACHE=str(caches / "xla"))
    cfg = str(ROOT / "configs" / "quick.yaml")
    rc, err, _ = run(["run", cfg, "--out", str(d / "real-ref"), "--no-progress", *REAL], e)
    if rc != 0:
        return [Result("corrupt caches", notes=[f"reference run failed: {err.strip()[-300:]}"])]
    ref = history(d / "real-ref")
    results = []
    for kind, pattern in (("compile", "xla/**/*"), ("baseline", "baselines/*.json")):
        res = Result(f"corrupt {kind} cache")
        damages = [("truncated", lambda b: b[: len(b) // 2]), ("garbage", lambda b: os.urandom(max(len(b), 8))),
                   ("JSON list", lambda b: b"[1, 2, 3]"), ("empty", lambda b: b"")]
        for i in range(tries):
            how, damage = damages[i % len(damages)]
            files = [p for p in caches.glob(pattern) if p.is_file()]
            for p in files:
                p.write_bytes(damage(p.read_bytes()))
            rc, err, took = run(["run", cfg, "--out", str(d / f"real-{kind}-{i}"), "--no-progress", *REAL], e)
            lost, dup = compare(d / f"real-{kind}-{i}", ref) if rc == 0 else (0, 0)
            res.add(rc == 0 and bool(files), lost, dup, took,
                    f"{how}: " + (f"{len(files)} entries" if rc == 0 else f"rc {rc}: {err.strip()[-300:]}"))
        results.append(res)
    return results


def sigterm_funnel(d: Path, tries: int, ref: list[tuple]) -> Result:
    res = Result("SIGTERM (funnel)")
    for i in range(tries):
        out, marker = d / f"term-funnel-{i}", d / f"stuck-{i}"
        proc = start(["run", str(toy_config(d, evals=200, delay_s=0.01)), "--out", str(out), "--no-progress"],
                     env(OPTSEARCH_STUCK=str(marker)))
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 1.0))
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        err = finish(proc, timeout=60)
        stop_s = time.monotonic() - t0
        rc, err2, took = run(["resume", str(out), "--no-progress"])
        lost, dup = compare(out, ref)
        ok = marker.exists() and proc.returncode == 130 and stop_s < STOP_LIMIT_S and rc == 0
        res.add(ok, lost, dup, took, f"stopped in {stop_s:.1f} s" if ok else
                f"rc {proc.returncode} in {stop_s:.1f} s, resume rc {rc}: {(err + err2).strip()[-300:]}")
    return res


def sigterm_comparison(d: Path, tries: int) -> Result:
    res = Result("SIGTERM (final comparison)")
    source = json.loads((ROOT / "results" / "lion_rediscovery_v3" / "summary.json").read_text())
    for i in range(tries):
        out = d / f"compare-{i}"
        out.mkdir()
        (out / "summary.json").write_text(json.dumps(source))  # its three searches' answers
        args = ["replay", "lion", "--quick", "--out", str(out), "--compare-only"]
        proc = start(args)
        lines: list[str] = []
        readers = [threading.Thread(target=lines.extend, args=(stream,), daemon=True)
                   for stream in (proc.stdout, proc.stderr)]  # the replay logs its stages on stdout
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline and not any("final comparison" in x for x in lines):
            time.sleep(0.05)
        time.sleep(random.uniform(0.2, 1.0))  # inside the comparison's jitted runs
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stop_s = time.monotonic() - t0
        for reader in readers:
            reader.join(timeout=5)
        err = "".join(lines)
        rc, err2, took = run(args, timeout=600)
        done = rc == 0 and "meta_validation" in json.loads((out / "summary.json").read_text())
        ok = proc.returncode == 130 and stop_s < STOP_LIMIT_S and done  # 0: it ended before the stop landed
        res.add(ok, 0, 0, took, f"stopped in {stop_s:.1f} s (rc {proc.returncode})" if ok else
                f"rc {proc.returncode} in {stop_s:.1f} s, rerun rc {rc}: {(err + err2).strip()[-300:]}")
    return res


FAULTS = ("ray-worker", "driver-local", "driver-ray", "disk-checkpoint", "disk-log", "caches", "sigterm-funnel",
          "sigterm-compare")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=3, help="injections per fault (default 3)")
    ap.add_argument("--only", nargs="*", choices=FAULTS, default=list(FAULTS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    random.seed(args.seed)
    d = Path(tempfile.mkdtemp(prefix="faults-"))
    t_start = time.monotonic()
    global LEFTOVERS
    LEFTOVERS = Leftovers()
    proc = start(["run", str(toy_config(d, evals=200, delay_s=0.02)), "--out", str(d / "ref"), "--no-progress"])
    wait_rows(d / "ref", 1, proc)
    t_first = time.monotonic()
    err = finish(proc)
    span_s = time.monotonic() - t_first
    if proc.returncode != 0:
        sys.exit(f"the reference run failed: {err[-2000:]}")
    ref = history(d / "ref")
    results: list[Result] = []
    for fault in args.only:
        t0 = time.monotonic()
        if fault == "ray-worker":
            results.append(ray_worker_kill(d, args.tries))
        elif fault == "driver-local":
            results.append(driver_kill(d, args.tries, "local", ref, span_s))
        elif fault == "driver-ray":
            results.append(driver_kill(d, max(1, args.tries - 1), "ray", None, span_s * 2))
        elif fault in ("disk-checkpoint", "disk-log"):
            results.append(disk_full(d, max(1, args.tries - 1), fault.split("-")[1], ref))
        elif fault == "caches":
            results.extend(corrupt_caches(d, args.tries))
        elif fault == "sigterm-funnel":
            results.append(sigterm_funnel(d, max(1, args.tries - 1), ref))
        elif fault == "sigterm-compare":
            results.append(sigterm_comparison(d, 1))
        print(f"  {fault}: {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    leaked = LEFTOVERS.close()
    lived = LEFTOVERS.lived
    for r in results:
        if r.fault == "driver kill -9 (ray)" and (lived or leaked):
            r.notes.append(f"{len(lived) + leaked} Ray agent processes outlived the killed driver, exiting on their "
                           f"own within {max(lived, default=0):.0f} s; {leaked} still there after 120 s")
            r.survived -= min(r.survived, leaked)
    print(f"{'fault':<28} {'tries':>5} {'survived':>8} {'lost':>5} {'dup':>4} {'recover s':>9}  notes")
    for r in results:
        print(f"{r.fault:<28} {r.tries:>5} {r.survived:>8} {r.lost:>5} {r.duplicated:>4} {r.recover_s:>9}  "
              f"{'; '.join(r.notes)[:300]}")
    total = time.monotonic() - t_start
    allok = all(r.tries and r.survived == r.tries for r in results)
    print(f"\n{len(results)} faults, {sum(r.tries for r in results)} injections: "
          f"{'all survived' if allok else 'NOT all survived'}, {total:.0f} s")
    print(json.dumps({"faults": [asdict(r) for r in results], "all_survived": allok, "seconds": round(total, 1),
                      "cpus": os.cpu_count(), "ray_leftovers_s": [round(x, 1) for x in sorted(lived)],
                      "ray_leftovers_killed": leaked}))
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
