"""Islands: populations that evolve apart and exchange their best (search.evolution.Islands)."""

from __future__ import annotations

from collections import Counter

from dsl import library
from proxy_tasks.toy import ToyEvaluator
from search import config
from search.evolution import Aging, Evolution, Islands, SectionMutator, Tournament
from search.results import to_outcome
from tests.test_engine import log_rows, new_search, resume, stop_after, toy_config


def grow(evo: Evolution, n: int, ev=None) -> list:
    """Seeds then ``n`` children scored by the toy evaluator; the candidates in order."""
    ev = ev or ToyEvaluator(steps=10, dim=4)
    out = []
    if not evo.ready:
        for c in evo.ask_seeds([library.get("sgd")]):
            evo.tell(c, to_outcome(ev.evaluate_one(c.program)).fitness)
    for _ in range(n):
        c = evo.ask()
        evo.tell(c, to_outcome(ev.evaluate_one(c.program)).fitness)
        out.append(c)
    return out


def make(islands: Islands | None, pop=6, seed=2) -> Evolution:
    return Evolution(Tournament(3), Aging(pop), SectionMutator(config.Config().mutation), seed, islands)


def test_one_island_is_plain_regularized_evolution_draw_for_draw():
    a, b = make(None), make(Islands(1, 5))
    assert [str(c.program) for c in grow(a, 25)] == [str(c.program) for c in grow(b, 25)]
    assert [i.id for i in a.population] == [i.id for i in b.population]
    assert b.counters["migrations"] == 0


def test_islands_take_turns_keep_their_size_and_children_join_the_parents_island():
    evo = make(Islands(3, 0), pop=6)
    grow(evo, 0)
    assert Counter(i.island for i in evo.population) == {0: 6, 1: 6, 2: 6}
    parents = {}
    for c in grow(evo, 30):
        parents[c.id] = c
        assert c.island == (c.id - 1) % 3  # seed id 0, then children in turn: islands 0, 1, 2, 0, ...
    members = {i.id: i for i in evo.population}
    for i in evo.population:
        if i.id in parents and parents[i.id].parent in members:
            assert members[parents[i.id].parent].island == i.island
    assert Counter(i.island for i in evo.population) == {0: 6, 1: 6, 2: 6}
    # without migration, no island holds another's children
    assert all(parents[i.id].island == i.island for i in evo.population if i.id in parents)


def test_migration_sends_each_islands_best_to_the_next_and_retires_its_oldest():
    evo = make(Islands(3, 0), pop=4)
    grow(evo, 12)
    best = {k: max((i for i in evo.population if i.island == k), key=lambda i: i.fitness) for k in range(3)}
    oldest = {k: next(i for i in evo.population if i.island == k) for k in range(3)}
    moved = evo.islands.migrate(evo.population, evo.policy)
    assert moved == 3
    for k in range(3):
        mine = [i for i in evo.population if i.island == (k + 1) % 3]
        assert len(mine) == 4
        assert mine[-1].id == best[k].id and mine[-1].fitness == best[k].fitness  # the migrant, youngest
        assert oldest[(k + 1) % 3] not in mine or oldest[(k + 1) % 3].id == best[k].id


def test_migration_happens_on_schedule_during_a_search():
    evo = make(Islands(2, 10), pop=5)
    grow(evo, 35)
    assert evo.counters["migrations"] == 3 * 2  # after children 10, 20 and 30, one migrant per island
    assert Counter(i.island for i in evo.population) == {0: 5, 1: 5}


def test_islands_survive_a_checkpoint_and_continue_identically():
    a = make(Islands(3, 7), pop=4, seed=5)
    grow(a, 20)
    b = make(Islands(3, 7), pop=4, seed=0)
    b.load_state_dict(a.state_dict())
    assert [(i.id, i.island) for i in b.population] == [(i.id, i.island) for i in a.population]
    assert [str(c.program) for c in grow(a, 15)] == [str(c.program) for c in grow(b, 15)]
    assert a.counters == b.counters


def test_restart_refills_every_island():
    evo = make(Islands(2, 0), pop=3)
    grow(evo, 8)
    evo.restart("best")
    assert Counter(i.island for i in evo.population) == {0: 3, 1: 3}
    assert {i.id for i in evo.population} == {evo.best.id}


def test_island_search_is_reproducible_and_resumes_to_the_same_log(tmp_path):
    over = {"search__islands": 3, "search__migrate_every": 8, "search__population": 5}
    new_search(tmp_path, toy_config(**over), "full").run()
    new_search(tmp_path, toy_config(**over), "again").run()
    assert log_rows(tmp_path / "full") == log_rows(tmp_path / "again")
    s = new_search(tmp_path, toy_config(**over), "cut")
    s.run(stop=stop_after(7))
    resume(tmp_path, "cut").run()
    assert log_rows(tmp_path / "cut") == log_rows(tmp_path / "full")
    new_search(tmp_path, toy_config(search__population=5), "plain").run()
    assert log_rows(tmp_path / "full") != log_rows(tmp_path / "plain")  # islands change which children come


def test_islands_are_checked_by_the_config():
    import pytest

    with pytest.raises(config.ConfigError, match="search.islands"):
        toy_config(search__islands=0)
    with pytest.raises(config.ConfigError, match="search.migrate_every"):
        toy_config(search__migrate_every=-1)
