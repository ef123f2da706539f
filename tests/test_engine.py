"""The evolution core (ask/tell), the driver's cache, restarts and funnel, determinism and resume
(local backend)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dsl import analyze, library, parse
from search import config
from search.backends import LocalBackend
from search.backends.base import EvaluatorSpec
from search.driver import Driver
from search.evolution import Aging, Candidate, Evolution, Individual, SectionMutator, Tournament
from search.results import Cache, Outcome
from search.rundir import CheckpointError, RunDir
from search.session import make_backend
from tests.fake_results import FakeResult

TOY = "proxy_tasks.toy:ToyEvaluator"
TIMING = ("seconds", "time")


def toy_config(**over) -> config.Config:
    data = {"name": "t", "seed": 3, "programs_per_call": 4,
            "search": {"population": 12, "tournament": 3, "max_evaluations": 60},
            "evaluator": {"factory": TOY, "tasks": {"toy": 1.0}, "overrides": {"steps": 10, "dim": 4}},
            "funnel": {"top_k": 3, "every": 25, "scales": ["x10", "x100"]},
            "run": {"checkpoint_every": 10, "checkpoint_every_s": 1000}}
    for key, value in over.items():
        node = data
        *path, last = key.split("__")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return config.from_dict(data)


def new_search(tmp_path, cfg, name="r") -> Driver:
    rd = RunDir.create(tmp_path / name, config.dump(cfg))
    return Driver(cfg, rd, make_backend(cfg))


def stop_after(n: int):
    """A ``stop`` callable that asks the search to stop at its (n+1)-th check (a Ctrl-C mid-run)."""
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > n

    return stop


def log_rows(path, drop=TIMING) -> list[dict]:
    rows = [json.loads(line) for line in (path / "evaluations.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


# --- the algorithm -----------------------------------------------------------------------------

def evolution(pop=5, tour=5) -> Evolution:
    return Evolution(Tournament(tour), Aging(pop), SectionMutator(config.Config().mutation), seed=0)


def select(evo: Evolution) -> Individual:
    return evo.selection.select(evo.population, evo.rng)


def individual(i, fitness) -> Individual:
    p = library.get("adamw")
    return Individual(i, p, analyze(p).fingerprint, fitness)


def test_tournament_returns_the_fittest_of_its_sample():
    evo = evolution(pop=6, tour=6)
    evo.population.extend(individual(i, f) for i, f in enumerate([0.1, 0.9, 0.3, -1.0, 0.5, 0.2]))
    assert all(select(evo).id == 1 for _ in range(20))
    evo.selection = Tournament(2)
    winners = {select(evo).id for _ in range(200)}
    assert 3 not in winners  # the worst member can never win a tournament of 2
    assert len(winners) >= 4  # small tournaments let weaker members win sometimes


def test_aging_retires_the_oldest_even_if_it_is_the_best():
    evo = evolution(pop=3, tour=3)
    evo.population.extend([individual(0, 10.0), individual(1, 0.0), individual(2, 0.0)])
    p = library.get("sgd")
    evo.tell(Candidate(3, 1, p, analyze(p).fingerprint, "insert"), -1.0)
    assert [i.id for i in evo.population] == [1, 2, 3]
    assert 0 not in {i.id for i in evo.population}


def test_cache_hit_reuses_the_fitness_without_evaluation(tmp_path):
    s = new_search(tmp_path, toy_config())
    s.run()
    rows = log_rows(tmp_path / "r")
    evaluated = [r for r in rows if not r["cached"]]
    cached = [r for r in rows if r["cached"]]
    assert cached, "a short run already rediscovers programs"
    fps = [r["fingerprint"] for r in evaluated]
    assert len(fps) == len(set(fps)), "no fingerprint is evaluated twice"
    by_fp = {r["fingerprint"]: r["fitness"] for r in evaluated}
    assert all(r["fitness"] == by_fp[r["fingerprint"]] for r in cached)
    assert len(evaluated) == s.counters["evaluations"] == 60
    st = s.stats()
    assert st.cache_hit_rate == pytest.approx(s.counters["cache_hits"] / s.evolution.counters["proposals"])
    assert 0 < st.redundant_ratio < 1


def test_children_descend_from_population_members(tmp_path):
    s = new_search(tmp_path, toy_config())
    s.run()
    rows = log_rows(tmp_path / "r")
    ids = {r["id"] for r in rows}
    assert rows[0]["mutation"] == "seed" and rows[0]["parent"] is None
    for r in rows[1:]:
        assert r["parent"] in ids and r["parent"] < r["id"]
        assert r["mutation"].split(" ")[0] in ("insert", "delete", "modify")
    assert max(r["fitness"] for r in rows) > rows[0]["fitness"]  # the toy task rewards search


def test_restart_refills_population_with_the_best():
    evo = evolution(pop=4, tour=2)
    evo.population.extend([individual(0, 1.0), individual(1, 5.0), individual(2, 0.0), individual(3, 2.0)])
    evo.best = evo.population[1]
    evo.restart("best")
    assert [i.id for i in evo.population] == [1, 1, 1, 1]
    evo.seeds = [individual(9, -1.0)]
    evo.restart("both")
    assert [i.id for i in evo.population] == [1, 9, 1, 9]
    assert evo.counters["restarts"] == 2


def test_restarts_happen_during_a_run(tmp_path):
    s = new_search(tmp_path, toy_config(search__restart_every=20, search__restart_from="seeds"))
    s.run()
    assert s.evolution.counters["restarts"] == 3  # after 20, 40 and 60 evaluations


# --- funnel ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _T:
    task: str
    fitness: float
    lr_scale: float = 1.0


class ScaleEvaluator:
    """Fitness = statement count at proxy; at x10 only programs of even length beat AdamW."""

    def __init__(self, scale="proxy", **kw):
        self.scale = scale

    def evaluate(self, programs):
        out = []
        for p in programs:
            n = float(len(p.statements))
            f = {"proxy": n, "x10": (1.0 if len(p.statements) % 2 == 0 else -1.0) * n, "x100": 100 + n}[self.scale]
            out.append(FakeResult(f, (_T("a", f),)))
        return out


def test_funnel_rescores_top_k_distinct_and_promotes_winners(tmp_path, monkeypatch):
    import sys
    import types

    mod = types.ModuleType("fake_funnel_eval")
    mod.ScaleEvaluator = ScaleEvaluator
    monkeypatch.setitem(sys.modules, "fake_funnel_eval", mod)
    cfg = toy_config(evaluator__factory="fake_funnel_eval:ScaleEvaluator", funnel__every=0, funnel__top_k=4,
                     search__max_evaluations=40)
    s = new_search(tmp_path, cfg)
    summary = s.run()
    rows = [json.loads(x) for x in (tmp_path / "r" / "funnel.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r["kind"] == "eval"]
    x10 = [r for r in evals if r["scale"] == "x10"]
    x100 = [r for r in evals if r["scale"] == "x100"]
    assert len(x10) == 4 and len({r["fingerprint"] for r in x10}) == 4
    top = sorted(s.cache.entries(), key=lambda e: (-e.fitness, e.id))[:4]
    assert {r["fingerprint"] for r in x10} == {e.fingerprint for e in top}
    assert {r["fingerprint"] for r in x100} == {r["fingerprint"] for r in x10 if r["fitness"] > 0}
    rnd = [r for r in rows if r["kind"] == "round"]
    assert len(rnd) == 1 and rnd[0]["evaluations"] == 40 and "proxy_best" in rnd[0]
    ans = summary["answer"]
    if x100:
        assert ans["scale"] == "x100" and ans["fitness"] == max(r["fitness"] for r in x100)
    else:
        assert ans["scale"] == "x10"


def test_periodic_funnel_records_meta_validation_against_evaluations(tmp_path):
    s = new_search(tmp_path, toy_config())
    summary = s.run()
    curve = summary["meta_validation"]
    assert [p["evaluations"] for p in curve] == sorted(p["evaluations"] for p in curve)
    assert len(curve) >= 3  # every 25 evaluations plus the final round
    assert all("x10" in p["proxy_best"] for p in curve)
    assert (tmp_path / "r" / "best.train").read_text().startswith("# optsearch run")


# --- determinism and resume --------------------------------------------------------------------

def test_same_seed_same_log_and_other_seed_differs(tmp_path):
    new_search(tmp_path, toy_config(), "a").run()
    new_search(tmp_path, toy_config(), "b").run()
    new_search(tmp_path, toy_config(seed=4), "c").run()
    assert log_rows(tmp_path / "a") == log_rows(tmp_path / "b")
    assert log_rows(tmp_path / "a") != log_rows(tmp_path / "c")


def resume(tmp_path, name) -> Driver:
    cfg = config.load_run_config(tmp_path / name / "config.yaml")
    s = Driver(cfg, RunDir.open(tmp_path / name), make_backend(cfg))
    s.resume()
    return s


def test_interrupted_then_resumed_run_writes_the_same_log(tmp_path):
    new_search(tmp_path, toy_config(), "full").run()
    s = new_search(tmp_path, toy_config(), "cut")
    first = s.run(stop=stop_after(9))  # Ctrl-C in the middle of the search
    assert first["interrupted"] and not first["finished"]
    assert 0 < first["evaluations"] < 60
    assert not (tmp_path / "cut" / "summary.json").exists()
    s2 = resume(tmp_path, "cut")
    assert s2.counters["evaluations"] == first["evaluations"]
    s2.run()
    assert log_rows(tmp_path / "cut") == log_rows(tmp_path / "full")
    f1 = (tmp_path / "full" / "funnel.jsonl").read_text().splitlines()
    f2 = (tmp_path / "cut" / "funnel.jsonl").read_text().splitlines()
    strip = lambda lines: [{k: v for k, v in json.loads(x).items() if k not in TIMING} for x in lines]
    assert strip(f1) == strip(f2)


class Crash(Exception):
    pass


def test_killed_run_loses_nothing_already_logged_and_resumes_identically(tmp_path):
    """A crash long after the last checkpoint: the logged rows are replayed, not re-evaluated."""
    new_search(tmp_path, toy_config(run__checkpoint_every=1000), "full").run()
    s = new_search(tmp_path, toy_config(run__checkpoint_every=1000), "kill")
    seen = {"n": 0}

    def crash(stats):
        seen["n"] += 1
        if seen["n"] == 12:
            raise Crash

    s.on_progress = crash
    with pytest.raises(Crash):
        s.run()
    logged = log_rows(tmp_path / "kill")
    assert len(logged) > 20  # rows written before the crash are on disk
    state = RunDir.open(tmp_path / "kill").read_checkpoint()
    assert state is None or state["rows"] < len(logged)
    # a torn final line, as a kill during a write leaves it
    with open(tmp_path / "kill" / "evaluations.jsonl", "a") as fh:
        fh.write('{"id": 99999, "par')
    s2 = resume(tmp_path, "kill")
    assert s2.torn_row
    backend = s2.backend
    assert isinstance(backend, LocalBackend)
    evaluated = {"n": 0}
    real = backend.pool.evaluate

    def counting(programs, scale, seeds=None, lr_scales=None, threshold=None):
        evaluated["n"] += len(programs) if scale == "proxy" else 0
        return real(programs, scale, seeds, lr_scales, threshold)

    backend.pool.evaluate = counting
    s2.run()
    assert log_rows(tmp_path / "kill") == log_rows(tmp_path / "full")
    already = sum(1 for r in logged if not r["cached"])
    assert evaluated["n"] == 60 - already  # nothing logged was evaluated again


def test_corrupt_checkpoint_is_reported_and_left_untouched(tmp_path):
    s = new_search(tmp_path, toy_config(search__max_evaluations=10), "r")
    s.run()
    ck = tmp_path / "r" / "checkpoint.json"
    data = ck.read_bytes()
    ck.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        resume(tmp_path, "r")
    assert ck.read_bytes() == data[: len(data) // 2]
    tampered = json.loads(data)
    tampered["state"]["rows"] += 1
    ck.write_text(json.dumps(tampered))
    with pytest.raises(CheckpointError, match="checksum"):
        resume(tmp_path, "r")


def test_local_backend_returns_results_in_submission_order():
    spec = EvaluatorSpec({"tasks": {"toy": 1.0}, "steps": 5}, TOY)
    b = LocalBackend(spec, programs_per_call=2)
    from search.backends.base import Job

    progs = [library.get(n) for n in ("sgd", "adamw", "lion", "momentum", "signum")]
    b.submit([Job(i, p) for i, p in enumerate(progs)])
    out = b.wait()
    assert [j.key for j, _ in out] == [0, 1, 2, 3, 4]
    assert out[0][1].fitness == pytest.approx(0.0)  # the toy baseline is SGD itself
    assert b.in_flight() == 0


def test_resume_keeps_rng_state():
    evo = evolution(pop=4, tour=2)
    (seed,) = evo.ask_seeds([library.get("adamw")])
    evo.tell(seed, 0.0)  # the last seed told: the population fills with it
    assert [i.id for i in evo.population] == [0, 0, 0, 0]
    for _ in range(5):
        evo.ask()
    state = json.loads(json.dumps(evo.state_dict()))
    nxt = [evo.ask().program for _ in range(5)]
    other = evolution(pop=4, tour=2)
    other.load_state_dict(state)
    assert [other.ask().program for _ in range(5)] == nxt


def test_cache_keeps_lr_scales_through_a_checkpoint_and_old_checkpoints_load():
    cache = Cache()
    p = library.get("adamw")
    fp = analyze(p).fingerprint
    cache.add(1, str(p), fp, Outcome(0.5, {"vit": 0.5}, None, 1.0, {"vit": 1 / 3}))
    cache.add(2, str(p), fp, Outcome(0.9, {"vit": 0.9}, None, 1.0, {}))  # the first evaluation stays
    state = json.loads(json.dumps(cache.state_dict()))
    other = Cache()
    other.load_state_dict(state)
    assert other.get(fp).lr_scales == {"vit": 1 / 3} and other.get(fp).id == 1
    assert other.get(fp).outcome.seconds == 0.0  # a cache hit costs no evaluator time
    for entry in state.values():  # written before entries had lr_scales
        del entry["lr_scales"]
    old = Cache()
    old.load_state_dict(state)
    assert old.get(fp).lr_scales == {}


def test_copy_of_run_dir_resumes(tmp_path):
    s = new_search(tmp_path, toy_config(search__max_evaluations=12), "r")
    s.run(stop=lambda: s.counters["evaluations"] >= 5)
    shutil.copytree(tmp_path / "r", tmp_path / "copy")
    s2 = resume(tmp_path, "copy")
    assert s2.run()["evaluations"] == 12


def test_resume_without_checkpoint_replays_the_whole_log(tmp_path):
    """A run killed before its first checkpoint (or whose damaged checkpoint was moved away)."""
    new_search(tmp_path, toy_config(search__max_evaluations=30), "full").run()
    s = new_search(tmp_path, toy_config(search__max_evaluations=30), "k")
    s.run(stop=lambda: s.counters["evaluations"] >= 12)
    (tmp_path / "k" / "checkpoint.json").unlink()
    s2 = resume(tmp_path, "k")
    assert s2.run()["evaluations"] == 30
    assert log_rows(tmp_path / "k") == log_rows(tmp_path / "full")


# --- the core without a driver, and runs written before the core was split ---------------------

def test_ask_tell_core_runs_without_driver_files_or_backend():
    """Evolution, cache and funnel are plain objects: a loop of a few lines drives them."""
    from proxy_tasks.toy import ToyEvaluator
    from search.funnel import Funnel
    from search.results import to_outcome

    class Greedy:  # a selection policy of our own: always the fittest member
        def select(self, population, rng):
            return max(population, key=lambda i: i.fitness)

    evo = Evolution(Greedy(), Aging(6), SectionMutator(config.Config().mutation), seed=1)
    ev, cache = ToyEvaluator(steps=10, dim=4), Cache()
    for c in evo.ask_seeds([library.get("sgd")]):
        o = to_outcome(ev.evaluate_one(c.program))
        cache.add(c.id, str(c.program), c.fingerprint, o)
        evo.tell(c, o.fitness)
    for _ in range(30):
        c = evo.ask()
        entry = cache.get(c.fingerprint)
        o = entry.outcome if entry else to_outcome(ev.evaluate_one(c.program))
        cache.add(c.id, str(c.program), c.fingerprint, o)
        evo.tell(c, o.fitness)
    assert len(evo.population) == 6 and evo.counters["proposals"] == 30
    assert evo.best.fitness >= 0.0  # the seed (SGD) scores 0 against itself; greedy never loses it
    x10 = ToyEvaluator(scale="x10", steps=10, dim=4)
    funnel = Funnel(("x10",), top_k=2)
    point, rows = funnel.round(cache.top(2), lambda scale, es: [to_outcome(x10.evaluate_one(parse(e.source)))
                                                               for e in es], 31, 30, cache.top(1)[0])
    assert [r.fingerprint for r in rows] == [e.fingerprint for e in cache.top(2)]
    ans = funnel.answer(cache.top(1)[0])
    assert ans.scale == "x10" and ans.fitness == max(r.fitness for r in rows)
    assert point.proxy_best["x10"] == rows[0].fitness


V1_RUN = Path(__file__).parent / "data" / "v1_run"  # tests/data/v1_run/README.md: how it was made


def test_run_checkpointed_before_the_core_split_resumes_like_an_uninterrupted_run(tmp_path):
    shutil.copytree(V1_RUN, tmp_path / "v1")
    assert json.loads((tmp_path / "v1" / "checkpoint.json").read_text())["format"] == 1
    s = resume(tmp_path, "v1")
    s.run()
    cfg = config.load_run_config(V1_RUN / "config.yaml")
    new_search(tmp_path, cfg, "full").run()
    keep = ("id", "parent", "mutation", "source", "fingerprint", "cached")
    rows = lambda name: [{k: r[k] for k in keep} for r in log_rows(tmp_path / name)]
    assert rows("v1") == rows("full")
    # the v1 rows were scored by an older numpy: the same numbers up to the last bit
    fitness = lambda name: [r["fitness"] for r in log_rows(tmp_path / name)]
    assert fitness("v1") == pytest.approx(fitness("full"), rel=1e-12, abs=1e-12)
    numbers = ("fitness", "proxy_fitness", "tasks", "proxy_best", "funnel_best")
    funnel = lambda name: [json.loads(x) for x in (tmp_path / name / "funnel.jsonl").read_text().splitlines()]
    strip = lambda name: [{k: v for k, v in r.items() if k not in (*TIMING, *numbers, "format", "lr_scales")}
                          for r in funnel(name)]
    assert strip("v1") == strip("full")
    close = lambda name: [r.get("fitness") or 0.0 for r in funnel(name)]
    assert close("v1") == pytest.approx(close("full"), rel=1e-12, abs=1e-12)
