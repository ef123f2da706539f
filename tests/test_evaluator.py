"""The evaluator: fitness against cached baselines, divergence, hurdles, batching, config, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from dsl import library, parse
from proxy_tasks.evaluate import WORST_FITNESS, Evaluator, fitness_of, judge

FAST = {"steps": 40, "points": 4}

NAN = """
def train(w, g, m, v, lr):
    z = g * 0.0
    z = z + 2.0
    update = arccos(z)
    return update, m, v
"""
OVERFLOW = """
def train(w, g, m, v, lr):
    a = g * 1000.0
    a = a + 100.0
    update = exp(a)
    return update, m, v
"""
ASCENT = """
def train(w, g, m, v, lr):
    lr = lr * -0.005
    update = g * lr
    return update, m, v
"""
SCALAR_UPDATE = """
def train(w, g, m, v, lr):
    update = lr * 2.0
    return update, m, v
"""
SLOW = """
def train(w, g, m, v, lr):
    lr = lr * 0.00001
    update = g * lr
    return update, m, v
"""


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    return Evaluator(["quadratic", "mlp"], seeds=(0, 1), cache_dir=tmp_path_factory.mktemp("cache"),
                     batching=False, **FAST)


def test_result_fields_and_fitness(ev):
    res = ev.evaluate_one(library.get("adamw"))
    assert len(res.tasks) == 4 and res.reason is None
    for r in res.tasks:
        assert not r.diverged and r.steps == 40 and r.seconds > 0
        assert r.loss < r.curve[0]
        assert len(r.curve) == 5
        assert r.fitness == pytest.approx(math.log(r.baseline_loss / r.loss))
        assert r.baseline_loss == pytest.approx(ev.baseline(r.task, r.seed)[-1])
    assert res.fitness == pytest.approx(np.mean([r.fitness for r in res.tasks]))
    json.dumps(res.to_json())


def test_weights_change_the_mean(tmp_path):
    ev = Evaluator({"quadratic": 3.0, "mlp": 1.0}, cache_dir=tmp_path, batching=False, **FAST)
    res = ev.evaluate_one(library.get("signum"))
    by = {r.task: r.fitness for r in res.tasks}
    assert res.fitness == pytest.approx((3 * by["quadratic"] + by["mlp"]) / 4)


@pytest.mark.parametrize("source,words", [(NAN, "non-finite"), (OVERFLOW, "non-finite"), (ASCENT, "blew up")],
                         ids=["nan", "overflow", "blowup"])
def test_bad_programs_get_worst_fitness_and_a_reason(ev, source, words):
    res = ev.evaluate_one(parse(source))
    assert res.fitness == WORST_FITNESS
    assert words in res.reason
    bad = [r for r in res.tasks if r.diverged]
    assert bad and all(r.fitness == WORST_FITNESS and words in r.reason for r in bad)
    json.dumps(res.to_json())  # non-finite losses stay standard JSON


def test_invalid_program_never_raises(ev):
    res = ev.evaluate([parse(SCALAR_UPDATE), library.get("signum")])
    assert res[0].fitness == WORST_FITNESS and "invalid program" in res[0].reason and res[0].tasks == ()
    assert res[1].fitness > WORST_FITNESS


def test_judge_and_fitness_helpers():
    assert judge(np.array([1.0, 0.5, 0.2]), 10.0) is None
    assert "non-finite" in judge(np.array([1.0, np.inf]), 10.0)
    assert "blew up" in judge(np.array([1.0, 0.5, 20.0]), 10.0)
    assert judge(np.array([1.0, 20.0, 0.5]), 10.0) is None  # a spike that recovers
    assert fitness_of(float("nan"), 1.0) == WORST_FITNESS
    assert fitness_of(0.5, 1.0) == pytest.approx(math.log(2))


def test_hurdle_stops_slow_programs_and_counts_saved_steps(tmp_path):
    ev = Evaluator(["quadratic"], hurdle=-1.0, cache_dir=tmp_path, **FAST)
    slow, good = ev.evaluate([parse(SLOW), library.get("adam")])
    (r,) = slow.tasks
    assert r.steps < 40 and "hurdle" in r.reason and not r.diverged and r.fitness <= -1.0
    assert good.tasks[0].steps == 40 and good.reason is None


@pytest.mark.parametrize("mode", ["map", "vmap", "runs"])
def test_batched_modes_match_one_at_a_time(tmp_path, mode):
    programs = [library.get(n) for n in ("lion", "signum", "momentum", "sgd", "nesterov")]  # one bucket
    grid = {"lr_grid": (0.5, 1.0)} if mode == "runs" else {}
    single = Evaluator(["quadratic"], seeds=(0, 1), cache_dir=tmp_path, batching=False, **grid, **FAST)
    batched = Evaluator(["quadratic"], seeds=(0, 1), cache_dir=tmp_path, batching=mode, batch_size=4, **grid,
                        **FAST)
    for a, b in zip(single.evaluate(programs), batched.evaluate(programs)):
        assert len(a.tasks) == len(b.tasks) == 2
        for x, y in zip(a.tasks, b.tasks):
            assert (x.task, x.seed, x.lr_scale) == (y.task, y.seed, y.lr_scale)
            assert y.loss == pytest.approx(x.loss, rel=1e-4)


def test_lr_grid_scores_each_task_at_its_best_step_size(tmp_path):
    """A grid value and the same factor baked into the program's own lr constant are one thing."""
    base = library.get("adamw")
    tripled = parse(str(base).replace("lr * 0.001", "lr * 0.003"))
    ev = Evaluator(["quadratic", "logreg"], seeds=(0, 1), cache_dir=tmp_path, lr_grid=(1.0, 3.0, 9.0), **FAST)
    ev_third = Evaluator(["quadratic", "logreg"], seeds=(0, 1), cache_dir=tmp_path, lr_grid=(1 / 3, 1.0, 3.0),
                         **FAST)
    a, b = ev.evaluate_one(base), ev_third.evaluate_one(tripled)
    assert len(a.tasks) == 4 and a.seconds >= sum(r.seconds for r in a.tasks) * 2.5  # all 12 runs count
    for x, y in zip(a.tasks, b.tasks):
        assert x.lr_scale == pytest.approx(3 * y.lr_scale)
        assert x.loss == pytest.approx(y.loss, rel=1e-4)
    # each task keeps the runs of one grid value, and it is the best one for the mean over seeds
    single = {s: Evaluator(["quadratic"], seeds=(0, 1), cache_dir=tmp_path, lr_grid=(s,), **FAST)
              for s in (1.0, 3.0, 9.0)}
    per_scale = {s: np.mean([r.fitness for r in e.evaluate_one(base).tasks]) for s, e in single.items()}
    chosen = {r.lr_scale for r in a.tasks if r.task == "quadratic"}
    assert chosen == {max(per_scale, key=per_scale.get)}
    # the baseline is tuned on the same grid: its scale has the lowest mean final loss
    best = ev.baseline_scale("quadratic")
    finals = {s: np.mean([ev_s.baseline("quadratic", seed)[-1] for seed in (0, 1)]) for s, ev_s in single.items()}
    assert best == min(finals, key=finals.get)


def test_lr_grid_rejects_bad_values():
    with pytest.raises(ValueError, match="lr_grid"):
        Evaluator(["quadratic"], lr_grid=(1.0, -2.0))


def test_auto_batching_picks_a_mode(tmp_path):
    ev = Evaluator(["quadratic"], seeds=(0, 1), cache_dir=tmp_path, batch_size=4, **FAST)
    results = ev.evaluate([library.get("lion"), library.get("signum")])
    assert set(ev._batch_mode.values()) <= {"single", "runs", "map", "vmap"} and ev._batch_mode
    assert all(len(r.tasks) == 2 and r.reason is None for r in results)


def test_config_round_trips(ev):
    cfg = ev.config()
    assert json.loads(json.dumps(cfg)) == cfg
    again = Evaluator(**cfg)
    assert again.config() == cfg
    assert again.tasks["mlp"].settings == ev.tasks["mlp"].settings
    assert ev.evaluate_one(library.get("lion")).fitness == again.evaluate_one(library.get("lion")).fitness


def test_overrides_per_task_and_errors(tmp_path):
    ev = Evaluator(["quadratic", "mlp"], cache_dir=tmp_path, hidden=8, mlp={"steps": 20, "points": 2}, **FAST)
    assert ev.tasks["mlp"].settings["hidden"] == 8 and ev.tasks["mlp"].steps == 20
    assert ev.tasks["quadratic"].steps == 40
    with pytest.raises(KeyError, match="match no selected task"):
        Evaluator(["quadratic"], cache_dir=tmp_path, hidden=8)


def test_eval_command_json_and_errors(tmp_path, capsys):
    from search.cli import main

    code = main(["eval", "lion", "--task", "quadratic", "--seeds", "2", "--steps", "20",
                 "--cache-dir", str(tmp_path), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["tasks"]
    assert row["task"] == "quadratic" and len(out["runs"]) == 2
    assert row["loss"][0] == pytest.approx(np.mean([r["loss"] for r in out["runs"]]))
    assert row["adamw"][0] > 0 and row["lion"][0] > 0
    assert main(["eval", "lion", "--task", "quadratic", "--seeds", "2", "--steps", "20",
                 "--cache-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "AdamW" in table and "quadratic" in table
    assert main(["eval", "nosuch"]) == 2
    assert main(["eval", "lion", "--task", "nope"]) == 2


@pytest.mark.parametrize("batching", [False, "runs"])
def test_lr_race_trains_only_the_grid_value_best_at_the_race_point(tmp_path, batching):
    """With ``lr_race``, every grid value trains to that fraction of the steps and only the best
    one there trains on: where it is also the best at the end, the scores are the full grid's."""
    grid = {"lr_grid": (0.1, 1.0, 10.0), "seeds": (0, 1), "cache_dir": tmp_path, "batching": batching}
    full = Evaluator(["quadratic"], **grid, steps=80, points=8)
    raced = Evaluator(["quadratic"], **grid, lr_race=0.25, steps=80, points=8)
    for name in ("adam", "sgd"):
        a, b = full.evaluate_one(library.get(name)), raced.evaluate_one(library.get(name))
        assert [(t.seed, t.lr_scale) for t in a.tasks] == [(t.seed, t.lr_scale) for t in b.tasks]
        assert [t.loss for t in b.tasks] == pytest.approx([t.loss for t in a.tasks], rel=1e-4)
        assert b.fitness == pytest.approx(a.fitness, rel=1e-4, abs=1e-6)


def test_lr_race_scores_the_value_it_kept_on_more_seeds(tmp_path):
    ev = Evaluator(["quadratic"], seeds=(0,), cache_dir=tmp_path, lr_grid=(0.1, 1.0), lr_race=0.5, **FAST)
    r = ev.evaluate([library.get("adam")], seeds=(2, 3), lr_scales={"quadratic": 0.1})[0]
    assert sorted(r.seed_fitness) == [2, 3] and {t.lr_scale for t in r.tasks} == {0.1}
    with pytest.raises(ValueError, match="lr_race"):
        Evaluator(["quadratic"], lr_race=1.5, **FAST)


def test_dynamic_hurdle_stops_a_program_worse_at_the_hurdle_point_and_keeps_one_that_is_not(tmp_path):
    ev = Evaluator(["quadratic"], seeds=(0, 1), cache_dir=tmp_path, lr_grid=(0.5, 1.0), hurdle_fraction=0.25,
                   steps=80, points=8)
    free = ev.evaluate([parse(SLOW), library.get("adam")], threshold=WORST_FITNESS)
    slow_at, adam_at = free[0].hurdle_fitness, free[1].hurdle_fitness
    assert slow_at is not None and adam_at is not None and slow_at < adam_at
    cut = (slow_at + adam_at) / 2
    slow, adam = ev.evaluate([parse(SLOW), library.get("adam")], threshold=cut)
    assert all(t.steps == 20 and "hurdle" in t.reason and not t.diverged for t in slow.tasks)
    assert slow.fitness <= cut and slow.hurdle_fitness == pytest.approx(slow_at)  # never better than it is
    assert all(t.steps == 80 and t.reason is None for t in adam.tasks)
    # a program that goes on is scored as without the hurdle (the best grid value at the end)
    plain = ev.evaluate_one(library.get("adam"))
    assert adam.fitness == pytest.approx(plain.fitness, rel=1e-4, abs=1e-6)
    assert [t.lr_scale for t in adam.tasks] == [t.lr_scale for t in plain.tasks]
    assert slow.seconds < adam.seconds  # a stopped program costs what it ran


def test_hurdle_margin_stops_grid_values_trailing_the_programs_best_there(tmp_path, monkeypatch):
    """With ``hurdle_margin``, a grid value more than the margin behind the program's best value at
    the hurdle point stops there; with a margin wide enough, every value goes on as before."""
    grid = (0.01, 1.0)  # the tiny step size trails far behind at the hurdle point
    went_on: list[list[float]] = []
    best_scales = Evaluator._best_scales

    def spy(self, results):  # every run that trained to the end reaches _best_scales
        went_on.append(sorted(r.lr_scale for r in results))
        return best_scales(self, results)

    monkeypatch.setattr(Evaluator, "_best_scales", spy)
    kw = dict(seeds=(0,), cache_dir=tmp_path, lr_grid=grid, hurdle_fraction=0.25, steps=80, points=8)
    adam = library.get("adam")
    (a,) = Evaluator(["quadratic"], hurdle_margin=1e6, **kw).evaluate([adam], threshold=WORST_FITNESS)
    (b,) = Evaluator(["quadratic"], hurdle_margin=0.0, **kw).evaluate([adam], threshold=WORST_FITNESS)
    assert went_on == [[0.01, 1.0], [1.0]]
    assert a.fitness == pytest.approx(b.fitness, rel=1e-4, abs=1e-6)  # the best value went on both ways
    assert [t.lr_scale for t in a.tasks] == [t.lr_scale for t in b.tasks] == [1.0]
    with pytest.raises(ValueError, match="hurdle_margin"):
        Evaluator(["quadratic"], hurdle_margin=-1.0, **FAST)


def test_hurdle_then_race_two_checkpoints(tmp_path, monkeypatch):
    """A hurdle at ``hurdle_fraction`` and a later ``lr_race``: the values that pass the hurdle
    train to the race point, where only the best trains on; a program stopped at the hurdle stops
    there as with the hurdle alone. Where the race's pick is the best at the end, the score is the
    hurdle-only score."""
    went_on: list[list[float]] = []
    best_scales = Evaluator._best_scales

    def spy(self, results):
        went_on.append(sorted(r.lr_scale for r in results))
        return best_scales(self, results)

    monkeypatch.setattr(Evaluator, "_best_scales", spy)
    kw = dict(seeds=(0, 1), cache_dir=tmp_path, lr_grid=(0.5, 1.0, 2.0), hurdle_fraction=0.25, steps=80, points=8)
    adam = library.get("adam")
    (hurdle,) = Evaluator(["quadratic"], **kw).evaluate([adam], threshold=WORST_FITNESS)
    (both,) = Evaluator(["quadratic"], lr_race=0.5, **kw).evaluate([adam], threshold=WORST_FITNESS)
    assert went_on[0] == [0.5, 0.5, 1.0, 1.0, 2.0, 2.0] and len(set(went_on[1])) == 1  # one value to the end
    assert both.fitness == pytest.approx(hurdle.fitness, rel=1e-4, abs=1e-6)
    assert both.hurdle_fitness == pytest.approx(hurdle.hurdle_fitness)  # measured at the first checkpoint
    assert both.seconds > 0
    ev = Evaluator(["quadratic"], lr_race=0.5, **kw)
    assert ev._stages(ev.tasks["quadratic"], (0.5, 1.0), 0.0) == [(2, "hurdle"), (4, "both")]
    assert ev._stages(ev.tasks["quadratic"], (0.5, 1.0), None) == [(4, "race")]
    early = Evaluator(["quadratic"], lr_race=0.1, **kw)
    assert early._stages(early.tasks["quadratic"], (0.5, 1.0), 0.0) == [(1, "both")]
    slow, _ = ev.evaluate([parse(SLOW), adam], threshold=hurdle.hurdle_fitness)
    assert all("hurdle" in t.reason and t.steps == 20 for t in slow.tasks)


def test_early_hurdle_stops_a_slow_program_sooner_and_scores_the_rest_as_before(tmp_path):
    """``hurdle_early``: the same threshold already applies at an earlier checkpoint. A program far
    behind there stops after the early checkpoint's steps; one that passes both is scored as with
    the single hurdle, and its hurdle fitness is the one at ``hurdle_fraction``."""
    kw = dict(seeds=(0, 1), cache_dir=tmp_path, lr_grid=(0.5, 1.0), hurdle_fraction=0.5, steps=80, points=8)
    one, two = Evaluator(["quadratic"], **kw), Evaluator(["quadratic"], hurdle_early=0.25, **kw)
    assert two._stages(two.tasks["quadratic"], (0.5, 1.0), 0.0) == [(2, "early"), (4, "hurdle")]
    assert two._stages(two.tasks["quadratic"], (0.5, 1.0), None) == []  # no threshold: no hurdle
    adam = library.get("adam")
    (a1,), (a2,) = one.evaluate([adam], threshold=WORST_FITNESS), two.evaluate([adam], threshold=WORST_FITNESS)
    assert a2.fitness == pytest.approx(a1.fitness, rel=1e-4, abs=1e-6)
    assert a2.hurdle_fitness == pytest.approx(a1.hurdle_fitness, rel=1e-4, abs=1e-6)
    (slow,) = two.evaluate([parse(SLOW)], threshold=10.0)  # a threshold nothing reaches
    assert all("hurdle" in t.reason and t.steps == 20 for t in slow.tasks)  # stopped at the early checkpoint
    (later,) = one.evaluate([parse(SLOW)], threshold=10.0)
    assert all(t.steps == 40 for t in later.tasks)  # the single hurdle stops it only at its own point
    with pytest.raises(ValueError, match="hurdle_early"):
        Evaluator(["quadratic"], hurdle_early=1.0, **FAST)
    with pytest.raises(ValueError, match="hurdle_early_margin"):
        Evaluator(["quadratic"], hurdle_early=0.1, hurdle_early_margin=-1, **FAST)


def test_early_margin_is_its_own_and_the_threshold_holds_at_the_race_point(tmp_path, monkeypatch):
    """The early checkpoint takes ``hurdle_early_margin`` (grid values are closer that early); the
    race checkpoint under a threshold stops a program below it there, with its fitness there (at
    most the threshold) and its hurdle fitness from the hurdle point."""
    kw = dict(seeds=(0,), cache_dir=tmp_path, lr_grid=(0.01, 1.0), steps=80, points=8)
    seen: list[list[float]] = []
    best_scales = Evaluator._best_scales
    monkeypatch.setattr(Evaluator, "_best_scales", lambda self, r: (seen.append(sorted({t.lr_scale for t in r})),
                                                                    best_scales(self, r))[1])
    adam = library.get("adam")
    wide = Evaluator(["quadratic"], hurdle_fraction=0.5, hurdle_early=0.25, hurdle_margin=1e9,
                     hurdle_early_margin=1e-9, **kw)
    loose = Evaluator(["quadratic"], hurdle_fraction=0.5, hurdle_early=0.25, hurdle_margin=1e9, **kw)
    wide.evaluate([adam], threshold=WORST_FITNESS)
    loose.evaluate([adam], threshold=WORST_FITNESS)
    assert len(seen[0]) == 1 and seen[1] == [0.01, 1.0]  # the early margin alone dropped a value
    raced = Evaluator(["quadratic"], hurdle_fraction=0.25, lr_race=0.5, **kw)
    (free,) = raced.evaluate([adam], threshold=WORST_FITNESS)
    baseline = Evaluator.baseline

    def hard_at_the_race_point(self, task, seed, which="adamw"):  # the baseline far ahead at point 4 only
        curve = np.array(baseline(self, task, seed, which), copy=True)
        curve[4] = curve[4] * 1e-6
        return curve

    monkeypatch.setattr(Evaluator, "baseline", hard_at_the_race_point)
    (r,) = raced.evaluate([adam], threshold=free.hurdle_fitness - 1.0)  # passes the hurdle at point 2
    assert all("hurdle" in t.reason and t.steps == 40 for t in r.tasks)  # ... and stops at the race point
    assert r.fitness <= free.hurdle_fitness - 1.0 and r.hurdle_fitness == pytest.approx(free.hurdle_fitness)


def test_staged_runs_continue_one_at_a_time_with_the_same_curves(tmp_path, monkeypatch):
    """After a checkpoint stops some runs, the survivors train on one run per call (one compiled
    shape whatever the number that survive); their curves match training them alone."""
    from proxy_tasks import training

    shapes: list[int] = []
    advance = training.ProgramRunner.advance_runs

    def spy(self, state, enc, first, n):
        shapes.append(int(np.shape(state.w)[0]))
        return advance(self, state, enc, first, n)

    monkeypatch.setattr(training.ProgramRunner, "advance_runs", spy)
    kw = dict(seeds=(0,), cache_dir=tmp_path, lr_grid=(0.01, 0.5, 1.0), steps=80, points=8, batching="runs")
    staged = Evaluator(["quadratic"], hurdle_fraction=0.25, hurdle_margin=1e-9, **kw)
    (r,) = staged.evaluate([library.get("adam")], threshold=WORST_FITNESS)
    assert shapes[0] == 3 and set(shapes[1:]) == {1}  # all three together, then the survivor alone
    alone = Evaluator(["quadratic"], **{**kw, "lr_grid": (r.tasks[0].lr_scale,)}).evaluate_one(library.get("adam"))
    assert r.tasks[0].loss == pytest.approx(alone.tasks[0].loss, rel=1e-5)


def test_advance_runs_from_any_chunk_matches_the_whole_run(tmp_path):
    """The staged loop takes its chunk range as data (compiled once per number of runs): stopping
    and resuming at any checkpoints gives the whole run's curve exactly."""
    from dsl.check import prune
    from proxy_tasks import interpreter, registry, training

    task = registry.get_task("quadratic", "proxy", steps=80, points=8)
    enc = interpreter.encode(prune(library.get("adam")))
    runner, arrays = training.runner(task, enc.bucket), enc.arrays()
    seeds, scales = np.array([0, 1], np.int32), np.array([1.0, 0.5], np.float32)
    whole = runner.run_runs(arrays, seeds, scales)
    state, l0 = runner.init_runs(arrays, seeds, scales)
    parts = [np.asarray(l0)[:, None]]
    at = 0
    for n in (1, 3, 4):
        state, seg = runner.advance_runs(state, arrays, at, n)
        assert seg.shape == (2, n)
        parts.append(seg)
        at += n
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
