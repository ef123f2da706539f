"""`optsearch replay lion --quick`: every stage end to end, and the pieces it is made of."""

from __future__ import annotations

import contextlib
import io
import json
import math
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dsl import execute, library, parse
from proxy_tasks.tuned import Tuned, scale_decay
from proxy_tasks.tuned import pick as _pick
from search import cli
from search.analysis import runs
from search.experiments.compare import bake_lr, beats, best_lr_scale
from search.experiments.replay import goal_timeline
from simplify.family import sign_momentum
from simplify.recognize import recognize
from tests.test_printed_digits import long_numbers

ROOT = Path(__file__).resolve().parents[1]


# The quick replay, with a search budget in evaluations only (its 60 s would end the search
# before it can be stopped on a machine busy compiling): every run of the fixtures uses it.
QUICK = ("--quick", "--set", "search.max_seconds=600")
QUICK_PRINTED: list[str] = []  # what the continued quick replay printed (stdout and stderr)


def _replay_until(out: Path, rows: int, sig: int) -> tuple[list[str], int, str]:
    """Start a quick replay into ``out``, send it ``sig`` once its search has logged ``rows`` rows;
    return the complete log lines it had written, its exit code and its stderr."""
    log = out / "runs" / "seed0" / "evaluations.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "search.cli", "replay", "lion", *QUICK, "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 900
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if log.exists() and log.read_bytes().count(b"\n") >= rows:
                break
            time.sleep(0.1)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
        proc.wait()
    assert log.exists(), "the replay was stopped before its search started"
    lines = [x for x in log.read_text().splitlines(keepends=True) if x.endswith("\n")]
    assert rows <= len(lines), f"the replay's search ended before it could be stopped: {err[-2000:]}"
    return lines, proc.returncode, err


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A quick replay stopped with Ctrl-C (SIGINT) in the middle of its search, continued, then
    killed (SIGKILL) further on: its folder, and what each stop left."""
    out = tmp_path_factory.mktemp("replay") / "quick"
    at_int, rc, err = _replay_until(out, 12, signal.SIGINT)
    at_kill, _, _ = _replay_until(out, len(at_int) + 2, signal.SIGKILL)
    return out, {"sigint": (at_int, rc, err), "sigkill": at_kill}


@pytest.fixture(scope="module")
def quick(killed):
    """The stopped and killed replay, continued by running the same command again: every other test reads it."""
    out, _ = killed
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        rc = cli.main(["replay", "lion", *QUICK, "--out", str(out)])
    QUICK_PRINTED.append(printed.getvalue())
    print(QUICK_PRINTED[-1])
    assert rc == 0
    return out, json.loads((out / "summary.json").read_text())


def test_ctrl_c_stops_a_replay_cleanly_and_says_how_to_continue(killed, quick):
    out, stops = killed
    before, rc, err = stops["sigint"]
    assert rc == 130, err
    assert "Continue with: optsearch replay lion --quick --set search.max_seconds=600 --out" in err
    assert stops["sigkill"][: len(before)] == before  # the continued replay kept what Ctrl-C left


def test_killed_replay_continues_where_it_stopped(killed, quick):
    out, stops = killed
    before = stops["sigkill"]
    _, s = quick
    after = (out / "runs" / "seed0" / "evaluations.jsonl").read_text().splitlines(keepends=True)
    assert after[: len(before)] == before  # nothing written before the kill is lost or rewritten
    ids = [json.loads(x)["id"] for x in after]
    assert len(ids) == len(set(ids))  # nor evaluated again
    assert len(s["resumed"]) == 2 and "partial" not in s and s["paper"]["family"] == "lion"
    assert s["seeds"][0]["statistics"]["evaluations"] == sum(not json.loads(x)["cached"] for x in after)


def test_unfinished_replay_of_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "r"
    out.mkdir()
    plan = {"config": "configs/lion_rediscovery_quick.yaml", "overrides": [], "seeds": 2, "quick": True}
    (out / "summary.json").write_text(json.dumps({"partial": True, "plan": plan, "seeds": []}))
    assert cli.main(["replay", "lion", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unfinished replay of other settings" in err and "--force" in err
    assert json.loads((out / "summary.json").read_text())["plan"] == plan  # left as it was


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_quick_replay_writes_every_result(quick):
    out, s = quick
    for name in ("report.md", "summary.json", "best_raw.train", "best_simplified.train"):
        assert (out / name).stat().st_size > 0
    for name in ("search_progress.png", "loss_curves.png"):
        w, h = _png_size(out / name)
        assert w > 200 and h > 200
    report = (out / "report.md").read_text()
    assert "![search progress](search_progress.png)" in report and "![loss curves](loss_curves.png)" in report
    assert "optsearch replay lion --quick" in report and s["machine"]["cpus"]
    # #28: each seed's front, its one-state niche, and the held-out comparison with Lion's form
    assert all((out / d["front_study"]["front_png"]).exists() for d in s["seeds"])
    assert "## The front and the one-state niche" in report and "### Front of seed 0" in report
    assert s["held_out"]["rows"] and all("vs_lion_form" in r for n, r in s["held_out"]["rows"].items()
                                         if n != s["held_out"]["reference"])
    assert "one_state_lion_form" in s["goal"]
    from search.experiments.relocate import missing_paths

    assert missing_paths(out, ROOT) == []  # every path the summaries name resolves
    # the two .train files are the headline seed's answer, raw and simplified
    seed = next(d for d in s["seeds"] if d["seed"] == s["headline_seed"])
    assert str(parse((out / "best_raw.train").read_text())) == str(parse(seed["answer"]["raw"]))
    assert str(parse((out / "best_simplified.train").read_text())) == str(parse(seed["answer"]["simplified"]))


def test_quick_replay_paper_step_reaches_lion(quick):
    _, s = quick
    paper = s["paper"]
    assert paper["family"] == "lion"
    assert sign_momentum(parse(paper["final"])).member
    assert "step 1" in paper["derivation"] and "recognized: lion" in paper["derivation"]


def test_quick_replay_goal_counts_match_the_seeds(quick):
    out, s = quick
    assert len(s["seeds"]) == s["goal"]["seeds"] == 1
    members = sum(bool(d["answer"]["sign_momentum"]) for d in s["seeds"])
    assert s["goal"]["sign_momentum"] == members
    for d in s["seeds"]:
        a = d["answer"]
        assert a["sign_momentum"] == sign_momentum(parse(a["simplified"])).member
        run = runs.load_run(out / "runs" / f"seed{d['seed']}")
        assert d["statistics"]["evaluations"] == runs.statistics(run).evaluations > 0
        assert d["timeline"] == json.loads(json.dumps(goal_timeline(run)))
        g = d["goal"]
        mean, sd_a = g["vs_adamw"]["mean_log_ratio"], g["vs_adamw"]["sd"]
        assert g["beats_tuned_adamw"] == (math.isfinite(sd_a) and mean > sd_a)  # beyond the spread only
        assert g["vs_adamw_verdict"] == ("beats" if g["beats_tuned_adamw"] else
                                         "loses" if (math.isfinite(sd_a) and mean < -sd_a) or mean == -math.inf
                                         else "ties")
        rec = recognize(parse(a["simplified"]))
        assert g["lion_form"] == (rec is not None and rec.name == "lion")
        assert (g["betas"] is not None) == g["lion_form"]
        for other in ("vs_lion", "vs_adamw"):
            assert len(g[other]["per_seed"]) == len(s["meta_validation"]["seeds"])
            assert g[other]["mean_log_ratio"] == pytest.approx(np.mean(g[other]["per_seed"]))
        sd = g["vs_lion"]["sd"] if math.isfinite(g["vs_lion"]["sd"]) else 0.0  # one seed: no spread
        assert g["within_one_sd_of_lion"] == (g["vs_lion"]["mean_log_ratio"] + sd >= 0)
        assert g["reached"] == (g["lion_form"] and g["within_one_sd_of_lion"])
    assert s["goal"]["lion_form_within_one_sd_of_lion"] == sum(d["goal"]["reached"] for d in s["seeds"])
    report = (out / "report.md").read_text()
    mv = s["meta_validation"]
    assert mv["searched_tasks"] == ["logreg", "mlp"]  # configs/lion_rediscovery_quick.yaml
    assert mv["outside_the_search"] == [t for t in mv["tasks"] if t not in ("logreg", "mlp")]
    assert ("every family here was searched on too" in report) == (not mv["outside_the_search"])
    assert "**Rediscovery**" in report and "**Generalization**" in report
    assert f"Seeds: **{s['goal']['lion_form']} of 1**" in report


def test_quick_replay_tunes_every_optimizer_on_the_same_grid(quick):
    out, s = quick
    mv = s["meta_validation"]
    size = len(mv["lr_grid"]) * len(mv["wd_grid"])
    for task, per in mv["results"].items():
        assert {"AdamW", "Lion"} <= set(per)
        for name, r in per.items():
            assert len(r["grid"]) == size, (task, name)
            assert r["mean"] == pytest.approx(min(r["grid"].values()))
            assert r["mean"] == pytest.approx(np.mean(r["finals"])) and len(r["finals"]) == len(mv["seeds"])
    for name, vs in mv["vs_adamw"].items():
        per_task = {t: math.log(per["AdamW"]["mean"] / per[name]["mean"]) for t, per in mv["results"].items()}
        assert vs["mean_log_ratio"] == pytest.approx(np.mean(list(per_task.values())))
    # the report flags a best point at the grid's edge (the optimum may lie outside the grid)
    report = (out / "report.md").read_text()
    edges = [(t, n) for t, per in mv["results"].items() for n, r in per.items()
             if r["lr_scale"] in (min(mv["lr_grid"]), max(mv["lr_grid"]))
             or r["wd_scale"] in (min(mv["wd_grid"]), max(mv["wd_grid"]))]
    assert report.count("at the grid's edge)") == len(edges)


def test_replay_refuses_to_overwrite_results(quick, capsys):
    out, _ = quick
    assert cli.main(["replay", "lion", "--quick", "--out", str(out)]) == 2
    assert "already holds replay results" in capsys.readouterr().err


def test_compare_only_reruns_the_final_comparison(quick, tmp_path):
    import shutil

    src, before = quick
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    assert cli.main(["replay", "lion", "--quick", "--out", str(out), "--compare-only"]) == 0
    after = json.loads((out / "summary.json").read_text())
    assert len(after["reruns"]) == 1 and "--compare-only" in after["reruns"][0]["command"]
    assert after["seeds"][0]["timeline"] == before["seeds"][0]["timeline"]  # the searches are kept
    assert after["seconds"] == before["seconds"] and after["started"] == before["started"]
    for task, per in after["meta_validation"]["results"].items():  # deterministic on CPU: the same figures
        for name, r in per.items():
            assert r["mean"] == pytest.approx(before["meta_validation"]["results"][task][name]["mean"], rel=1e-6)
            assert len(r["curves"]) == len(after["meta_validation"]["seeds"])
    assert "produced again by `optsearch replay lion --quick" in (out / "report.md").read_text()
    assert cli.main(["replay", "lion", "--out", str(tmp_path / "none"), "--compare-only"]) == 2


def test_rows_record_the_lr_grid_value_each_task_chose(quick, capsys):
    out, s = quick
    run_dir = out / "runs" / "seed0"
    rows = [json.loads(x) for x in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    grid = {0.3333333, 1.0, 3.0}  # configs/lion_rediscovery_quick.yaml
    scored = {r["fingerprint"]: r["lr_scales"] for r in rows if not r["cached"] and r["fitness"] > -100}
    assert scored and all(set(v) == {"mlp", "logreg"} and set(v.values()) <= grid for v in scored.values())
    assert len({x for v in scored.values() for x in v.values()}) > 1, "programs differ in the step size they want"
    # a cache hit records the lr of the evaluation it reuses
    assert all(r["lr_scales"] == scored[r["fingerprint"]] for r in rows if r["cached"] and r["fingerprint"] in scored)
    # the replay baked the answer's logged choice (geometric mean over tasks), without re-scoring it
    seed = next(d for d in s["seeds"] if d["seed"] == 0)
    logged = next(r["lr_scales"] for r in rows if r["id"] == seed["answer"]["id"])
    assert seed["answer"]["lr_scale_baked"] == pytest.approx(math.sqrt(logged["mlp"] * logged["logreg"]))
    assert cli.main(["show", str(run_dir), "--no-plots", "--no-simplify", "--json", "--top", "3"]) == 0
    top = json.loads(capsys.readouterr().out)["top"]
    assert [t["lr_scales"] for t in top] == [next(r["lr_scales"] for r in rows if r["id"] == t["id"]) for t in top]
    assert cli.main(["show", str(run_dir), "--no-plots", "--no-simplify", "--top", "3"]) == 0
    assert "lr x" in capsys.readouterr().out


def test_best_lr_scale_takes_the_logged_choice_without_evaluating():
    # cfg None: evaluating would fail, so a result means the logged values were used
    assert best_lr_scale(library.get("adamw"), None, {"vit": 3.0, "mlp": 1 / 3}) == pytest.approx(1.0)
    assert best_lr_scale(library.get("adamw"), None, {"vit": 1 / 3}) == pytest.approx(1 / 3)


def test_bake_lr_equals_a_scaled_learning_rate():
    p = library.get("lion")
    baked = bake_lr(p, 3.0)
    w, g = np.linspace(-1, 1, 7), np.cos(np.arange(7.0))
    z = np.zeros(7)
    assert np.allclose(execute(baked, w, g, z, z, 0.5)[0], execute(p, w, g, z, z, 1.5)[0], rtol=1e-12)
    assert bake_lr(p, 1.0) is p


def test_scale_decay_scales_the_decoupled_decay():
    p = library.get("lion")
    assert sign_momentum(scale_decay(p, 3.0)).decay == pytest.approx(3 * sign_momentum(p).decay)
    adam = library.get("adam")  # no decay: unchanged
    assert str(scale_decay(adam, 3.0)) == str(adam)


def test_pick_takes_the_lowest_mean_final_loss_and_skips_diverged_points():
    table = {(1.0, 1.0): np.array([[3.0, 2.0], [3.0, 2.2]]),
             (3.0, 1.0): np.array([[3.0, 1.0], [3.0, np.nan]]),
             (0.3, 1.0): np.array([[3.0, 1.5], [3.0, 1.7]])}
    t = _pick("x", "task", table)
    assert (t.lr_scale, t.wd_scale) == (0.3, 1.0) and t.mean == pytest.approx(1.6)
    assert t.grid["3 x 1"] == math.inf


def test_beats_is_the_mean_log_ratio_against_adamw():
    def tuned(mean):
        return Tuned("n", "t", 1.0, 1.0, [mean], [mean], [[mean]], {})

    table = {"a": {"AdamW": tuned(2.0), "P": tuned(1.0)}, "b": {"AdamW": tuned(1.0), "P": tuned(2.0)},
             "c": {"AdamW": tuned(1.0), "P": tuned(0.5)}}
    r = beats(table, "P")
    assert r["mean_log_ratio"] == pytest.approx(math.log(2) / 3) and r["wins"] == 2 and r["tasks"] == 3


def test_sign_watch_counts_sign_momentum_children_from_whole_lines_only(tmp_path):
    from search.driver import Stats
    from search.experiments.proxy_noise import path_program
    from search.experiments.replay import SignWatch

    log = tmp_path / "evaluations.jsonl"
    adam, lion = library.get("adamw"), path_program(0.95, split=True, sign=True)
    lion99 = path_program(0.99, split=True, sign=True)  # diverged: not counted

    def row(i, parent, program, fitness=0.0, evaluations=None):
        return json.dumps({"id": i, "parent": parent, "source": str(program), "fingerprint": str(program),
                           "fitness": fitness, "cached": False, "evaluations": evaluations}) + "\n"

    seen = []
    watch = SignWatch(log, lambda st: seen.append(dict(st.notes)))
    log.write_text(row(0, None, adam) + row(1, 0, adam, evaluations=2) + row(2, 1, lion, evaluations=3)[:30])
    watch(Stats())
    assert seen[-1]["sign-momentum children"] == "0 of 1 (0.0 per 1,000)"  # the torn line waits
    with open(log, "a") as f:
        f.write(row(2, 1, lion, evaluations=3)[30:] + row(3, 2, lion99, -100.0) + row(4, 1, lion))
    watch(Stats())
    assert seen[-1]["sign-momentum children"] == "2 of 4 (500.0 per 1,000); first at evaluation 3"


def test_goal_timeline_marks_when_sign_momentum_takes_the_lead_for_good(tmp_path):
    from search.experiments.proxy_noise import path_program
    from search.rows import EvaluationRow

    adam, lion = library.get("adamw"), path_program(0.95, split=True, sign=True)
    adam2, lion2 = path_program(0.99), path_program(0.99, split=True, sign=True)

    def row(i, parent, program, fitness):
        return EvaluationRow(i, parent, "x", str(program), f"fp{i}", fitness, False, evaluations=i + 1,
                             time=500.0 * i)

    rows = [row(0, None, adam, 0.0), row(1, 0, adam2, 0.01), row(2, 1, lion, 0.02),  # lion leads ...
            row(3, 1, adam2, 0.03),                                                   # ... then loses it
            row(4, 2, lion2, 0.04), row(5, 3, adam, -0.1)]                            # and takes it for good
    run = runs.Run(tmp_path, tuple(rows), (), (), None, None)
    tl = goal_timeline(run)
    assert tl["first_sign_momentum"]["evaluations"] == 3
    assert tl["sign_momentum_lead"] == {"evaluations": 5, "id": 4, "fitness": 0.04}
    # the leader's family after 600, 1200 and 1800 s of search (the log ends at 2500 s: no 2700)
    assert tl["sign_momentum_leading_at_s"] == {"600": False, "1200": True, "1800": False}
    tl = goal_timeline(runs.Run(tmp_path, tuple(rows[:4]), (), (), None, None))
    assert tl["sign_momentum_lead"] is None  # the last leader is an Adam variant


def test_report_compares_with_a_previous_replay_seed_by_seed(quick):
    from search.experiments.replay import previous_digest
    from search.experiments.report import render_report

    out, s = quick
    prev = previous_digest(out)
    assert [d["seed"] for d in prev["seeds"]] == [d["seed"] for d in s["seeds"]]
    assert prev["seeds"][0]["evaluations"] == s["seeds"][0]["statistics"]["evaluations"]
    text = render_report({**s, "previous": prev})
    assert "### Against the previous replay" in text
    assert text.count("| 0 | this |") == 1 and text.count("| 0 | previous |") == 1
    with pytest.raises(ValueError, match="previous replay"):
        previous_digest(out / "nowhere")


def test_a_second_replay_on_a_live_folder_is_refused_and_touches_nothing(tmp_path, capsys):
    out = tmp_path / "replay"
    (out / "runs").mkdir(parents=True)
    (out / "summary.json").write_text('{"partial": true}')
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from search import runlock; "
                               f"runlock.acquire({str(out)!r}); print('held', flush=True); time.sleep(60)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(["replay", "lion", "--quick", "--out", str(out), "--force"]) == 2
        err = capsys.readouterr().err
        assert f"in use by a running replay (pid {holder.pid})" in err
        assert (out / "runs").is_dir() and (out / "summary.json").read_text() == '{"partial": true}'
    finally:
        holder.kill()
        holder.wait()


def test_verdict_says_beats_only_beyond_the_seed_to_seed_spread():
    from search.experiments.compare import verdict
    from search.experiments.report import _f

    assert verdict({"mean_log_ratio": 0.0002, "sd": 0.003}) == "ties"  # the issue's +0.0002 inside 0.003
    assert verdict({"mean_log_ratio": 0.01, "sd": 0.003}) == "beats"
    assert verdict({"mean_log_ratio": -0.01, "sd": 0.003}) == "loses"
    assert verdict({"mean_log_ratio": 0.01, "sd": float("nan")}) == "ties"  # one seed: no spread to judge by
    assert verdict({"mean_log_ratio": -math.inf, "sd": float("nan")}) == "loses"
    assert _f(-0.0000432) == "-4.3e-05" and _f(0.04299045882372287) == "0.0430" and _f(0.0) == "0.0000"


def test_quick_replay_agrees_with_readme_and_leaves_no_lock(quick):
    """#31: the paper's last step names the weight decay README quotes, the report cites the
    shipped program (users have no ../shared), says "not applicable" where an answer is not Lion's
    form, and a finished replay folder keeps no empty lock file."""
    out, s = quick
    assert "weight_decay=0.4602" in s["paper"]["recognized"]
    assert "weight_decay=0.4602" in (ROOT / "README.md").read_text()
    report = (out / "report.md").read_text()
    assert "shared/reference" not in report and "dsl/library/discovered.train" in report
    for d in s["seeds"]:
        if not d["goal"]["lion_form"]:
            assert "not applicable (not Lion's form)" in report
    assert not (out / ".lock").exists()
    assert long_numbers(QUICK_PRINTED[-1]) == []  # e.g. "best proxy fitness 0.04299050902997579" before
