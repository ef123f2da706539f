"""The front (#26): costs of a program, niche selection, racing and hurdles per niche, the state
budget, ``show --front`` and ``check``'s costs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl import library, parse
from search import config
from search.evolution import Aging, Evolution, Individual, SectionMutator, Tournament
from search.front import Front, front_members
from simplify.costs import costs, count_states, dominates
from simplify.recognize import recognize
from tests.test_engine import log_rows, new_search, resume, stop_after, toy_config


def program(body: str):
    lines = "\n".join("    " + x for x in body.strip().splitlines())
    return parse(f"def train(w, g, m, v, lr):\n{lines}\n    return update, m, v\n")


# --- costs ---------------------------------------------------------------------------------------

BUILTIN_STATES = {"sgd": 0, "signsgd": 0, "momentum": 1, "nesterov": 1, "signum": 1, "lion": 1,
                  "discovered": 1, "adam": 2, "adamw": 2}


@pytest.mark.parametrize("name", sorted(BUILTIN_STATES))
def test_state_count_of_the_builtins(name):
    assert count_states(library.get(name)) == BUILTIN_STATES[name]


SEED_PLUS_SIGN = """
g2 = square(g)
m = interp(g, m, 0.9)
v = interp(g2, v, 0.999)
d = sqrt(v)
r = m / d
update = sign(r)
update = update * lr
"""


@pytest.mark.parametrize("body, states", [
    (SEED_PLUS_SIGN, 1),                                                  # sign(m / sqrt(v)) = sign(m)
    ("m = interp(g, m, 0.9)\nv = interp(g, v, 0.99)\na = abs(v)\nr = m * a\nupdate = sign(r)", 1),
    ("m = interp(g, m, 0.9)\nv = interp(g, v, 0.99)\nupdate = m * lr", 1),  # v written, never read
    ("m = interp(g, m, 0.9)\nv = interp(m, v, 0.99)\nupdate = v * lr", 2),  # m reaches the update through v
    ("m = interp(g, m, 0.9)\nv = v + 1.0\nupdate = m / v", 2),              # a step counter is a state
    ("update = g * lr\nm = interp(g, m, 0.9)", 0),                        # m written, dead
    ("m = interp(g, m, 0.9)\nr = m / m\nupdate = r * g", 0),              # m cancels itself (safe division)
])
def test_state_count_follows_behaviour_not_writes(body, states):
    assert count_states(program(body)) == states


def test_costs_length_is_after_exact_simplification():
    seed = library.get("adamw")
    padded = program(str(seed).split(":", 1)[1].replace("    return update, m, v", "").strip()
                     .replace("\n    ", "\n") + "\nz = g * 2.0\nz = z + 1.0")
    assert costs(padded).length == costs(seed).length
    assert costs(seed).states == 2 and costs(seed).ops <= costs(seed).length


def test_recognizer_sees_through_a_nonnegative_factor_under_sign():
    disguised = program("c = interp(g, m, 0.86)\nd = sqrt(w)\nc = c / d\nupdate = sign(c)\n"
                        "m = interp(g, m, 0.95)\nupdate = update * lr")
    found = recognize(disguised)
    assert found is not None and found.name == "lion"
    assert found.params["beta1"] == pytest.approx(0.86) and found.params["beta2"] == pytest.approx(0.95)
    assert "sqrt(w) = 0" in found.detail  # where it differs from Lion is said
    assert count_states(disguised) == 1
    assert recognize(program("c = interp(g, m, 0.86)\nd = sin(w)\nc = c / d\nupdate = sign(c)\n"
                             "m = interp(g, m, 0.95)")) is None  # sin(w) may be negative: not Lion


# --- dominance and the front ---------------------------------------------------------------------

points_st = st.lists(st.fixed_dictionaries({"fitness": st.floats(-1, 1), "states": st.integers(0, 2),
                                            "length": st.integers(1, 20)}), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(points_st, st.sampled_from([("fitness", "states"), ("fitness", "states", "length")]))
def test_every_front_member_is_non_dominated_and_every_other_point_is_dominated(points, objectives):
    keep = front_members(points, objectives)
    for i in keep:
        assert not any(dominates(p, points[i], objectives) for p in points)
    for j in set(range(len(points))) - set(keep):
        assert any(dominates(points[i], points[j], objectives) or
                   all(points[i][k] == points[j][k] for k in objectives) for i in keep)


# --- selection -----------------------------------------------------------------------------------

def _ind(i, fitness, niche):
    return Individual(i, library.get("sgd"), f"fp{i}", fitness, 0, niche)


def test_niches_take_turns_and_aging_retires_within_the_niche():
    front = Front(("fitness", "states"))
    pop = deque([_ind(i, 1.0, 2) for i in range(5)] + [_ind(9, -5.0, 1)])
    chosen = [front.turn(pop, k, 1) for k in range(4)]
    assert [{m.niche for m in c} for c in chosen] == [{1}, {2}, {1}, {2}]  # the lone one-state program gets half
    Aging(5).admit(pop, _ind(10, 3.0, 2))  # niche 2 is over its size: its oldest leaves, not the lone one
    assert [m.id for m in pop] == [1, 2, 3, 4, 9, 10]


def test_without_a_front_nothing_is_computed_and_selection_is_unchanged():
    front = Front()
    assert not front.active and front.niche_of("x", "not a program") == 0  # no costs computed
    pop = [_ind(i, float(i), 0) for i in range(5)]
    assert front.turn(pop, 3, 1) == pop


def test_restart_keeps_the_best_of_every_niche():
    evo = Evolution(Tournament(2), Aging(3), SectionMutator(config.Config().mutation), 0,
                    front=Front(("fitness", "states")))
    evo.population = deque([_ind(1, 0.5, 2), _ind(2, 0.9, 2), _ind(3, -0.2, 1)])
    evo.best = evo.population[1]
    evo.restart("best")
    assert sorted({(m.id, m.niche) for m in evo.population}) == [(2, 2), (3, 1)]
    assert len(evo.population) == 6


# --- searches ------------------------------------------------------------------------------------

def front_config(**over):
    return toy_config(search__objectives=["fitness", "states"], **over)


def test_fitness_only_log_has_no_cost_fields(tmp_path):
    new_search(tmp_path, toy_config(), "plain").run()
    assert all("states" not in r for r in log_rows(tmp_path / "plain"))


def test_front_search_logs_costs_keeps_niches_and_resumes_exactly(tmp_path):
    new_search(tmp_path, front_config(), "full").run()
    rows = log_rows(tmp_path / "full")
    assert all(r["states"] in (0, 1, 2) and "exact_length" not in r for r in rows)  # length: on read
    assert len({r["states"] for r in rows}) >= 2  # children in more than one niche
    s = new_search(tmp_path, front_config(), "cut")
    s.run(stop=stop_after(9))
    resume(tmp_path, "cut").run()
    assert log_rows(tmp_path / "cut") == rows
    summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    front = summary["front"]
    pts = [{"fitness": p["fitness"], "states": p["states"]} for p in front]
    assert front_members(pts, ("fitness", "states")) == list(range(len(front)))


def test_state_budget_children_reach_it_and_the_answer_is_within_it(tmp_path):
    d = new_search(tmp_path, toy_config(search__max_states=1, search__max_evaluations=30), "lean")
    summary = d.run()
    rows = log_rows(tmp_path / "lean")
    children = [r for r in rows if r["parent"] is not None]
    assert rows[0]["states"] == 2 and children and all(r["states"] <= 1 for r in children)
    assert count_states(parse(summary["answer"]["source"])) <= 1


def test_racing_compares_within_the_niche_only(tmp_path):
    d = new_search(tmp_path, front_config(), "race")
    d.run()
    cache, front = d.cache, d.front
    for e in cache.entries()[:30]:
        if e.fitness <= -1e8:
            continue
        niche = front.niche_of(e.fingerprint, e.source)
        inc = front.best(cache, niche, exclude=e.fingerprint)
        assert inc is None or front.niche_of(inc.fingerprint, inc.source) == niche
        peers = front.peers(d.evolution.population, niche)
        assert all(m.niche == niche for m in peers)
    assert d._threshold(99) is None  # no hurdle configured


def test_a_young_niche_takes_the_whole_populations_hurdle(tmp_path):
    """A niche with fewer than hurdle_min programs measured at the hurdle point is held to the
    population's threshold (capped by the ceiling), not let through untested."""
    d = new_search(tmp_path, front_config(search__hurdle_quantile=0.5, search__hurdle_min=2,
                                          search__hurdle_ceiling=-0.5), "h")
    d.run()
    members = list(d.evolution.population)
    for k, m in enumerate(members):  # give every program a fitness at the hurdle point
        e = d.cache.get(m.fingerprint)
        if e is not None:
            e.hurdle_fitness = -1.0 + 0.01 * k
    whole = d._threshold.__func__(d, 99)  # a niche nobody is in
    niche = members[0].niche
    own = d._threshold(niche)
    assert whole is not None and whole > -1e8 and whole <= -0.5
    assert own is not None and own <= -0.5


def test_peers_population_gives_every_niche_the_whole_populations_threshold(tmp_path):
    """``search.peers: population``: a niche's own (lower) median does not lower its
    children's threshold; with ``niche`` it does."""
    import numpy as np

    def thresholds(peers: str) -> tuple[float, float, float]:
        d = new_search(tmp_path, front_config(search__hurdle_quantile=0.5, search__hurdle_min=1,
                                              search__peers=peers), peers)
        d.run()
        members = list(d.evolution.population)
        niches = sorted({m.niche for m in members})
        assert len(niches) >= 2
        weak = niches[0]
        for m in members:  # the weak niche's programs far behind at the hurdle point
            e = d.cache.get(m.fingerprint)
            if e is not None:
                e.hurdle_fitness = -5.0 if m.niche == weak else -0.1 * (1 + m.id % 3)
        everyone = sorted({m.fingerprint: d.cache.get(m.fingerprint).hurdle_fitness for m in members
                           if d.cache.get(m.fingerprint) is not None}.values())
        return d._threshold(weak), d._threshold(niches[-1]), float(np.quantile(everyone, 0.5))

    weak_own, _, _ = thresholds("niche")
    weak_pop, strong_pop, median = thresholds("population")
    assert weak_own == pytest.approx(-5.0)  # its niche's median
    assert weak_pop == pytest.approx(median) == pytest.approx(strong_pop) and weak_pop > -5.0


@pytest.mark.parametrize("peers", ["niche", "population"])
def test_racing_follows_search_peers(tmp_path, monkeypatch, peers):
    """Racing asks for the incumbent of the child's niche with ``peers: niche``, and for the best
    program of the whole population with ``peers: population``."""
    from search.front import Front

    asked: list = []
    best = Front.best

    def spy(self, cache, niche=None, exclude=None):
        asked.append(niche)
        return best(self, cache, niche, exclude)

    monkeypatch.setattr(Front, "best", spy)
    cfg = front_config(search__peers=peers, race__top_fraction=0.5, race__max_seeds=3, evaluator__seeds=[0],
                       evaluator__overrides={"steps": 10, "dim": 4, "noise": 0.05})
    new_search(tmp_path, cfg, peers).run()
    assert asked, "no race started"
    assert (set(asked) == {None}) == (peers == "population")


def test_config_rejects_bad_objectives():
    for bad in (["states"], ["fitness", "length"], ["fitness", "fitness"], ["fitness", "memory"]):
        with pytest.raises(config.ConfigError, match="search.objectives"):
            toy_config(search__objectives=bad)
    with pytest.raises(config.ConfigError, match="search.max_states"):
        toy_config(search__max_states=3)


def test_check_prints_costs_and_show_front_works(tmp_path):
    f = tmp_path / "p.train"
    f.write_text(str(program(SEED_PLUS_SIGN)))
    out = subprocess.run([sys.executable, "-m", "search.cli", "check", str(f), "--json"],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert doc["costs"]["states"] == 1 and doc["costs"]["length"] >= 5
    text = subprocess.run([sys.executable, "-m", "search.cli", "check", "adamw"], capture_output=True, text=True,
                          check=True).stdout
    assert "states: 2" in text
    new_search(tmp_path, front_config(), "run").run()
    out = subprocess.run([sys.executable, "-m", "search.cli", "show", str(tmp_path / "run"), "--front", "--json"],
                         capture_output=True, text=True, check=True).stdout
    doc = json.loads(out)
    assert doc["front"] and all({"states", "length", "fitness", "raw"} <= set(m) for m in doc["front"])
    assert (tmp_path / "run" / "front.png").stat().st_size > 1000


def test_dominates():
    a = {"fitness": 0.1, "states": 1, "length": 5}
    assert dominates(a, {"fitness": 0.0, "states": 1, "length": 5}, ("fitness", "states"))
    assert not dominates(a, {"fitness": 0.0, "states": 0, "length": 5}, ("fitness", "states"))
    assert not dominates(a, a, ("fitness", "states", "length"))
    assert np.isfinite(a["fitness"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["append", "del", "pop", "popleft", "extend"]),
                          st.integers(0, 2), st.integers(0, 2)), max_size=40))
def test_population_counts_its_groups_through_every_change(ops):
    from search.evolution import Population

    pop = Population([_ind(0, 0.0, 1)])
    for op, island, niche in ops:
        ind = Individual(1, library.get("sgd"), "f", 0.0, island, niche)
        if op == "append":
            pop.append(ind)
        elif op == "extend":
            pop.extend([ind, ind])
        elif pop and op == "del":
            del pop[len(pop) // 2]
        elif pop and op == "pop":
            pop.pop()
        elif pop and op == "popleft":
            pop.popleft()
    from collections import Counter

    assert +pop.counts == Counter((i.island, i.niche) for i in pop)
