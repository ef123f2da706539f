"""Core claiming for evaluator processes: distinct cores, released when the holder exits."""

import os
import subprocess
import sys

import pytest

from search.backends import affinity

linux = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")


def test_claims_distinct_cores_until_none_is_free(tmp_path):
    try:
        assert affinity.claim_core([0, 1], tmp_path) == 0
        assert affinity.claim_core([0, 1], tmp_path) == 1
        assert affinity.claim_core([0, 1], tmp_path) is None
    finally:
        affinity.release_all()
    assert affinity.claim_core([0, 1], tmp_path) == 0  # released
    affinity.release_all()


def test_a_core_held_by_a_dead_process_is_free_again(tmp_path):
    code = ("import sys; from search.backends import affinity; "
            f"print(affinity.claim_core([5], {str(tmp_path)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "5"
    try:
        assert affinity.claim_core([5], tmp_path) == 5  # the child exited: its lock went with it
    finally:
        affinity.release_all()


def test_a_core_held_by_a_live_process_is_skipped(tmp_path):
    code = ("import sys, time; from search.backends import affinity; "
            f"print(affinity.claim_core([3, 4], {str(tmp_path)!r}), flush=True); time.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "3"
        assert affinity.claim_core([3, 4], tmp_path) == 4
    finally:
        child.kill()
        child.wait()
        affinity.release_all()


@linux
def test_pin_process_restricts_every_thread():
    code = ("import os, threading, time; from search.backends import affinity; "
            "t = threading.Thread(target=time.sleep, args=(2,)); t.start(); "
            "core = sorted(os.sched_getaffinity(0))[-1]; affinity.pin_process(core); "
            "tids = [int(x) for x in os.listdir('/proc/self/task')]; "
            "print(all(os.sched_getaffinity(tid) == {core} for tid in tids), len(tids) > 1)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


@linux
def test_run_pin_core_pins_the_local_backend_process_before_xla(tmp_path):
    code = (
        "import os; from search import config; from search.session import make_backend\n"
        "from search.backends import affinity\n"
        f"affinity.lock_dir = lambda: __import__('pathlib').Path({str(tmp_path)!r})\n"
        "cfg = config.from_dict({'evaluator': {'factory': 'proxy_tasks.toy:ToyEvaluator', 'tasks': {'toy': 1.0}},"
        " 'run': {'pin_core': True}})\n"
        "make_backend(cfg); print(len(os.sched_getaffinity(0)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


@linux
def test_pinning_is_skipped_once_xla_has_started(tmp_path):
    code = (
        "import os, warnings; import jax.numpy as jnp; jnp.ones(2).block_until_ready()\n"
        "from search.backends import affinity\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always'); core = affinity.pin_before_xla()\n"
        "unpinned = len(os.sched_getaffinity(0)) == len(affinity.available_cores())\n"
        "print(core, unpinned, 'XLA already started' in str(w[0].message))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "True", "True"]
