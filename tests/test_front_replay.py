"""#28's judging pieces: a seed's front and one-state niche, the held-out comparison with Lion's
form, and how the report shows them (search/experiments/front_replay.py, report.front_section)."""

from __future__ import annotations

import pytest

from search.experiments import front_replay, lion_reach
from search.experiments.front_study import LION_FORM
from search.experiments.report import front_section
from tests.test_engine import new_search, toy_config


def test_held_out_pairs_each_program_with_lion_form_seed_by_seed(monkeypatch):
    per = {LION_FORM: [0.10, 0.20, 0.15, 0.05], "ahead": [0.30, 0.41, 0.33, 0.26],
           "noisy": [0.30, 0.00, 0.35, -0.05], "behind": [0.00, 0.10, 0.04, -0.06]}

    def fake_ranking(cfg, programs, n_seeds=0, seeds=None):
        assert list(seeds) == list(front_replay.HELD_OUT[:4])
        return {n: {"mean": sum(per[n]) / 4, "per_seed": per[n], "lr_scale": 1.0} for n in programs}

    monkeypatch.setattr(lion_reach, "ranking", fake_ranking)
    r = front_replay.held_out(None, {"ahead": None, "noisy": None, "behind": None},
                              seeds=front_replay.HELD_OUT[:4], log=lambda s: None)
    rows = r["rows"]
    assert r["reference"] == LION_FORM and "vs_lion_form" not in rows[LION_FORM]
    assert rows["ahead"]["vs_lion_form"] == pytest.approx(0.20) and rows["ahead"]["verdict"] == "leads"
    assert rows["ahead"]["wins"] == 4
    assert rows["noisy"]["verdict"] == "ties"  # ahead on average, but not beyond the paired sd
    assert rows["behind"]["verdict"] == "trails" and rows["behind"]["vs_lion_form_sd"] > 0


def test_seed_front_of_a_front_search(tmp_path):
    cfg = toy_config(search__objectives=["fitness", "states"], search__max_evaluations=40)
    d = new_search(tmp_path, cfg, "run")
    d.run()
    f = front_replay.seed_front(cfg, tmp_path / "run", tmp_path, 0)
    assert (tmp_path / f["front_png"]).exists() and f["front"]
    fits = [m["fitness"] for m in f["front"]]
    assert fits == sorted(fits, reverse=True)  # fittest first; fewer states further down
    states = [m["states"] for m in f["front"]]
    assert all(a > b for a, b in zip(states, states[1:]))
    n = f["one_state"]
    assert {"niche_programs", "sign_momentum_in_niche", "first_sign_momentum_led", "leader"} <= set(n)
    if n["leader"] is not None:
        assert {"baked", "one_line", "lion_form", "sign_momentum"} <= set(n["leader"])


def summary_with_front() -> dict:
    leader = {"id": 7, "fitness": 0.09, "se": 0.01, "seeds": 4, "one_line": "update = sign(interp(g, m, 0.9))",
              "family": "lion (beta1=0.9, beta2=0.99)", "lion_form": True, "same_as_answer": False,
              "goal": {"lion_form": True, "within_one_sd_of_lion": True,
                       "vs_lion": {"mean_log_ratio": -0.01, "sd": 0.02}}}
    niche = {"niche_programs": 30, "sign_momentum_in_niche": 4, "leader": leader,
             "first_sign_momentum_drawn": {"minutes": 3.5, "evaluations": 120},
             "first_sign_momentum_led": {"minutes": 12.25, "evaluations": 700}}
    front = [{"states": 2, "fitness": 0.1, "se": None, "seeds": 1, "simplified": "adam-ish", "family": None},
             {"states": 1, "fitness": 0.09, "se": 0.01, "seeds": 4, "simplified": "lion-ish", "family": "lion"}]
    held = {"seeds": list(front_replay.HELD_OUT), "reference": LION_FORM,
            "rows": {LION_FORM: {"mean": 0.09, "sd": 0.04, "per_seed": [0.09] * 8},
                     "fittest (seed 0)": {"mean": 0.08, "sd": 0.03, "per_seed": [0.08] * 8, "vs_lion_form": -0.01,
                                          "vs_lion_form_sd": 0.02, "wins": 3, "verdict": "ties"}}}
    return {"seeds": [{"seed": 0, "front_study": {"front": front, "front_png": "front_seed0.png", "one_state": niche}},
                      {"seed": 1, "front_study": {"front": front[:1], "front_png": "front_seed1.png",
                                                  "one_state": {**niche, "leader": None,
                                                                "first_sign_momentum_led": None}}}],
            "held_out": held}


def test_report_front_section_states_each_figure_with_its_spread():
    text = "\n".join(front_section(summary_with_front()))
    assert "**1 of 2** seeds" in text  # one seed's one-state leader is Lion's form
    assert "12.2 min, 700 evals" in text
    assert "never" in text  # seed 1: no sign-momentum program ever led its niche
    assert "-0.0100 ± 0.0200 | yes |" in text  # vs tuned Lion with its sd, within one sd
    assert "![front of seed 0](front_seed0.png)" in text
    assert "| fittest (seed 0) | 0.0800 ± 0.0300 | -0.0100 ± 0.0200 | 3 of 8 | ties |" in text


def test_niche_ranks_lists_the_one_state_niche_best_first_with_its_children(tmp_path, capsys):
    from dsl import parse
    from search.analysis import runs
    from search.experiments import niche_ranks
    from simplify.costs import count_states

    cfg = toy_config(search__objectives=["fitness", "states"], search__max_evaluations=40)
    new_search(tmp_path, cfg, "runs/seed0").run()
    entries = niche_ranks.niche_ranks(tmp_path / "runs" / "seed0")
    run = runs.load_run(tmp_path / "runs" / "seed0")
    one_state = {r.fingerprint for r in runs.distinct_best(run)
                 if (r.states if r.states is not None else count_states(parse(r.source))) == 1}
    assert [e.rank for e in entries] == list(range(1, len(one_state) + 1)) and entries
    assert [e.fitness for e in entries] == sorted((e.fitness for e in entries), reverse=True)
    by_id = {r.id: r for r in run.rows}
    for e in entries:
        mine = {r.id for r in run.rows if r.fingerprint == by_id[e.id].fingerprint}
        kids = [r for r in run.rows if r.parent in mine]
        assert e.children == len(kids) and e.better_children == sum(k.fitness > e.fitness for k in kids)
        assert not e.lion_form or e.sign_momentum  # Lion's form is sign-momentum
    assert niche_ranks.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"## seed 0: {len(entries)} distinct one-state programs scored" in out
    assert niche_ranks.main([str(tmp_path / "nothing")]) == 1
