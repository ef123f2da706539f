"""Racing: more task seeds where a decision depends on them, paired with the incumbent."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import pytest

from dsl import analyze, library, parse
from search import config
from search.driver import Driver
from search.racing import BETTER, OPEN, WORSE, Racing
from search.rows import read_races
from search.rundir import RunDir
from search.session import make_backend
from tests.fake_results import FakeResult

# True mean and per-seed luck of two seed programs: on task seed 0 AdamW is lucky (0.30 against
# Lion's 0.10); over four seeds Lion is the better one (0.105 against 0.0625).
TABLE = {"adamw": {0: 0.30, 1: 0.00, 2: -0.05, 3: 0.00}, "lion": {0: 0.10, 1: 0.12, 2: 0.09, 3: 0.11}}
FP = {analyze(library.get(name)).fingerprint: name for name in TABLE}


@dataclass(frozen=True)
class _T:
    task: str
    fitness: float
    seed: int
    lr_scale: float = 1.0


class TableEvaluator:
    """Fitness per (program, task seed) from TABLE; any other program scores -1 on every seed."""

    calls: list = []

    def __init__(self, scale="proxy", seeds=(0,), **kw):
        self.scale, self.seeds = scale, tuple(seeds)

    def evaluate(self, programs, seeds=None, lr_scales=None):
        seeds = self.seeds if seeds is None else tuple(seeds)
        out = []
        for p in programs:
            name = FP.get(analyze(p).fingerprint)
            per = {s: (TABLE[name][s] if name else -1.0) for s in seeds}
            TableEvaluator.calls.append((name, seeds))
            out.append(FakeResult(sum(per.values()) / len(per), tuple(_T("t", f, s) for s, f in per.items()),
                          seed_fitness=per))
        return out


@pytest.fixture
def table_module(monkeypatch):
    mod = types.ModuleType("race_table_eval")
    mod.TableEvaluator = TableEvaluator
    monkeypatch.setitem(sys.modules, "race_table_eval", mod)
    TableEvaluator.calls = []


def table_config(top_fraction: float) -> config.Config:
    return config.from_dict({
        "name": "race", "seed": 0, "programs_per_call": 2,
        "search": {"population": 4, "tournament": 2, "max_evaluations": 20, "seeds": ["adamw", "lion"]},
        "evaluator": {"factory": "race_table_eval:TableEvaluator", "tasks": {"t": 1.0}},
        "race": {"top_fraction": top_fraction, "max_seeds": 4},
        "funnel": {"final": False, "scales": []}})


def test_racing_picks_the_truly_better_program_where_one_seed_does_not(tmp_path, table_module):
    one = Driver(table_config(0.0), RunDir.create(tmp_path / "one", "x: 1\n"), make_backend(table_config(0.0)))
    assert FP[analyze(library.get("adamw")).fingerprint] == "adamw"
    answer_one = one.run()["answer"]
    assert FP[analyze(parse(answer_one["source"])).fingerprint] == "adamw"  # the lucky one
    cfg = table_config(0.5)
    raced = Driver(cfg, RunDir.create(tmp_path / "raced", "x: 1\n"), make_backend(cfg))
    summary = raced.run()
    ans = summary["answer"]
    assert FP[analyze(parse(ans["source"])).fingerprint] == "lion"
    assert ans["fitness"] == pytest.approx(sum(TABLE["lion"].values()) / 4)
    rows, _ = read_races(tmp_path / "raced" / "races.jsonl")
    # AdamW raced first (as the candidate), Lion paired with it as the incumbent; each seed once
    assert (FP[rows[0].fingerprint], rows[0].role, FP[rows[1].fingerprint], rows[1].role) == \
        ("adamw", "candidate", "lion", "incumbent")
    for name in TABLE:
        assert sorted(r.seed for r in rows if FP.get(r.fingerprint) == name) == [1, 2, 3]
    assert summary["race_evaluations"] == len(rows) >= 6  # children near the top race too
    lion = raced.cache.get(analyze(library.get("lion")).fingerprint)
    assert sorted(lion.seeds) == [0, 1, 2, 3] and lion.se == pytest.approx(0.006455, abs=1e-5)
    # the evaluator ran each extra seed of a program alone, once
    extra = [c for c in TableEvaluator.calls if c[1] != (0,) and c[0] is not None]
    assert len(extra) == len(set(extra)) == 6 and all(len(c[1]) == 1 for c in extra)


def test_paired_verdict_and_seed_order():
    r = Racing(top_fraction=0.2, max_seeds=3, z=1.0, seeds=(0, 5, 6, 7))
    assert r.next_seed({0}) == 5 and r.next_seed({0, 5}) == 6 and r.next_seed({0, 5, 6}) is None
    assert r.verdict({0: 0.2}, {0: 0.1}) == OPEN  # one common seed decides nothing
    assert r.verdict({0: 0.2, 5: 0.3}, {0: 0.1, 5: 0.2}) == BETTER  # paired: +0.1 twice
    assert r.verdict({0: 0.1, 5: 0.2}, {0: 0.2, 5: 0.3, 6: 9.0}) == WORSE  # only common seeds count
    # unpaired these overlap (means 0.15 and 0.2, spreads 0.07); paired, the candidate loses both
    assert r.verdict({0: 0.1, 5: 0.2}, {0: 0.12, 5: 0.28}) == WORSE
    assert r.verdict({0: 0.1, 5: 0.3}, {0: 0.2, 5: 0.2}) == OPEN
    assert not r.worth_racing(0.1, [0.0, 0.2, 0.3, 0.4, 0.5]) and r.worth_racing(0.45, [0.0, 0.2, 0.3, 0.4, 0.5])
    assert not Racing().enabled and not Racing().worth_racing(9.0, [0.0])
    assert Racing.from_config(config.from_dict({"evaluator": {"seeds": [3]}, "race": {"max_seeds": 3}})).seeds[:3] \
        == (3, 4, 5)


def noisy_config(**race) -> config.Config:
    return config.from_dict({
        "name": "noisy", "seed": 2, "programs_per_call": 4,
        "search": {"population": 12, "tournament": 3, "max_evaluations": 70},
        "evaluator": {"factory": "proxy_tasks.toy:ToyEvaluator", "tasks": {"toy": 1.0},
                      "overrides": {"steps": 10, "dim": 4, "noise": 0.3}},
        "race": {"top_fraction": 0.25, "max_seeds": 4, **race},
        "funnel": {"top_k": 3, "every": 30, "scales": ["x10"]},
        "run": {"checkpoint_every": 10, "checkpoint_every_s": 1000}})


def _rows(path, name):
    drop = ("seconds", "time")
    return [{k: v for k, v in json.loads(x).items() if k not in drop} for x in (path / name).read_text().splitlines()]


class Crash(Exception):
    pass


def test_a_killed_racing_run_resumes_with_its_per_seed_scores(tmp_path):
    cfg = noisy_config()
    Driver(cfg, RunDir.create(tmp_path / "full", config.dump(cfg)), make_backend(cfg)).run()
    s = Driver(cfg, RunDir.create(tmp_path / "kill", config.dump(cfg)), make_backend(cfg))
    seen = {"n": 0}

    def crash(stats):
        seen["n"] += 1
        if seen["n"] == 9:
            raise Crash

    with pytest.raises(Crash):
        s.run(on_progress=crash)
    logged_races = len((tmp_path / "kill" / "races.jsonl").read_text().splitlines())
    assert logged_races > 0
    resumed = Driver(cfg, RunDir.open(tmp_path / "kill"), make_backend(cfg))
    resumed.resume()
    state = RunDir.open(tmp_path / "kill").read_checkpoint()
    assert state is not None and any(e["seeds"] and len(e["seeds"]) > 1 for e in state["cache"].values())
    calls = {"race": 0}
    real = resumed.backend.pool.evaluate

    def counting(programs, scale, seeds=None, lr_scales=None, threshold=None):
        calls["race"] += len(programs) if seeds is not None else 0
        return real(programs, scale, seeds, lr_scales, threshold)

    resumed.backend.pool.evaluate = counting
    summary = resumed.run()
    assert _rows(tmp_path / "kill", "evaluations.jsonl") == _rows(tmp_path / "full", "evaluations.jsonl")
    assert _rows(tmp_path / "kill", "races.jsonl") == _rows(tmp_path / "full", "races.jsonl")
    total_races = len((tmp_path / "full" / "races.jsonl").read_text().splitlines())
    assert summary["race_evaluations"] == total_races
    assert calls["race"] <= total_races - logged_races + 2  # logged seeds are not scored again


def test_racing_off_logs_what_it_logged_before(tmp_path):
    cfg = noisy_config(top_fraction=0.0)
    Driver(cfg, RunDir.create(tmp_path / "r", config.dump(cfg)), make_backend(cfg)).run()
    assert not (tmp_path / "r" / "races.jsonl").exists()
    rows = _rows(tmp_path / "r", "evaluations.jsonl")
    assert all(len(r["seed_fitness"]) == 1 and r["fitness_se"] is None for r in rows)


def test_dynamic_hurdle_stops_children_below_the_populations_quantile(tmp_path):
    """On a real proxy task: once enough members have a fitness at the hurdle point, children below
    the population's quantile there stop; the log says so and a second run is identical."""
    cfg = config.from_dict({
        "name": "hurdle", "seed": 1, "programs_per_call": 4,
        "search": {"population": 8, "tournament": 2, "max_evaluations": 40, "hurdle_quantile": 0.5,
                   "hurdle_min": 4},
        "evaluator": {"tasks": {"quadratic": 1.0}, "seeds": [0], "batching": "single", "hurdle_fraction": 0.25,
                      "cache_dir": str(tmp_path / "cache"), "overrides": {"steps": 40, "points": 4}},
        "funnel": {"final": False, "scales": []}})
    for name in ("a", "b"):
        Driver(cfg, RunDir.create(tmp_path / name, config.dump(cfg)), make_backend(cfg)).run()
    rows = _rows(tmp_path / "a", "evaluations.jsonl")
    assert rows == _rows(tmp_path / "b", "evaluations.jsonl")
    evaluated = [r for r in rows if not r["cached"]]
    assert all("hurdle_fitness" in r for r in evaluated if r["fitness"] > -100)
    stopped = [r for r in evaluated if (r["reason"] or "").startswith("quadratic: hurdle")]
    assert stopped and len(stopped) < len(evaluated)
    assert all(r["fitness"] <= r["hurdle_fitness"] + 1e-12 for r in stopped)  # never better than it is


def test_hurdle_threshold_counts_each_program_once_and_respects_the_ceiling(tmp_path):
    """The threshold is the quantile over distinct programs (the seed's copies count once) and
    never rises above ``search.hurdle_ceiling``."""
    from dsl import analyze, library
    from search.evolution import Individual
    from search.results import Outcome

    def threshold(**search):
        cfg = config.from_dict({"name": "t", "evaluator": {"factory": "proxy_tasks.toy:ToyEvaluator",
                                                           "tasks": {"toy": 1.0}},
                                "search": {"population": 10, "tournament": 2, "hurdle_quantile": 0.5,
                                           "hurdle_min": 3, **search}})
        d = Driver(cfg, RunDir.create(tmp_path / str(len(list(tmp_path.iterdir()))), config.dump(cfg)),
                   make_backend(cfg))
        names = ["adamw", "lion", "sgd", "signum"]
        values = [0.3, -0.1, 0.2, 0.1]
        for i, (name, v) in enumerate(zip(names, values)):
            p = library.get(name)
            fp = analyze(p).fingerprint
            d.cache.add(i, str(p), fp, Outcome(v, {}, None, 0.0, {}, {}, v))
            copies = 7 if name == "adamw" else 1  # the seed fills most of the population
            d.evolution.population.extend(Individual(i, p, fp, v) for _ in range(copies))
        return d._threshold()

    assert threshold() == pytest.approx(0.15)  # median of 0.3, -0.1, 0.2, 0.1: not 0.3, the copies' value
    assert threshold(hurdle_ceiling=0.0) == 0.0
    assert threshold(hurdle_ceiling=0.5) == pytest.approx(0.15)
    assert threshold(hurdle_min=5) == -100.0  # four distinct programs: not enough yet
