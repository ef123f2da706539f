"""`optsearch show` and ``search.analysis.runs``: top programs, lineage, statistics, plots, errors.

A toy run (numpy quadratic, two funnel scales, a periodic funnel) gives a real run directory
in a second; one tiny run on a real proxy task checks the loss curves retrained for ``--curves``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from dsl.check import analyze  # noqa: E402
from dsl.parse import parse  # noqa: E402
from search.analysis import ancestry, plots, runs  # noqa: E402
from search.cli import main  # noqa: E402
from simplify.equiv import equivalent  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("show")
    cfg = tmp / "toy.yaml"
    cfg.write_text("""name: toy
search: {population: 12, tournament: 4, max_evaluations: 80}
evaluator: {factory: "proxy_tasks.toy:ToyEvaluator", tasks: {toy: 1.0}, overrides: {steps: 10, dim: 4}}
funnel: {every: 40, top_k: 3, scales: [x10, x100], threshold: -100.0}
""")
    out = tmp / "run"
    assert main(["run", str(cfg), "--out", str(out), "--no-progress"]) == 0
    return out


def raw_rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in (path / "evaluations.jsonl").read_text().splitlines()]


def from_one_line(line: str):
    """Parse the ``one_line`` form back (statements joined by '; ', then the return)."""
    parts = line.split("; ")
    body = "\n".join(f"    {p}" for p in parts)
    return parse(f"def train(w, g, m, v, lr):\n{body}\n")


def test_top_programs_are_the_best_distinct_ones_in_order(run_dir):
    run = runs.load_run(run_dir)
    top = runs.top_programs(run, k=6)
    rows = raw_rows(run_dir)
    assert len(top) == 6
    fits = [t.fitness for t in top]
    assert fits == sorted(fits, reverse=True)
    assert len({t.fingerprint for t in top}) == len(top)
    # the first is the best fitness anywhere in the log; nothing scored better is left out
    assert fits[0] == max(r["fitness"] for r in rows)
    distinct = {r["fingerprint"]: r["fitness"] for r in rows}
    assert sorted(distinct.values(), reverse=True)[:6] == fits
    funnel = [json.loads(x) for x in (run_dir / "funnel.jsonl").read_text().splitlines()]
    for t in top:
        # raw is the recorded program; simplified is the same optimizer (exact passes only)
        row = next(r for r in rows if r["id"] == t.id)
        assert from_one_line(t.raw) == parse(row["source"])
        assert equivalent(parse(row["source"]), from_one_line(t.simplified))
        scored = {f["scale"]: f["fitness"] for f in funnel if f["kind"] == "eval" and f["fingerprint"] == t.fingerprint}
        assert t.funnel == scored
    assert any(t.funnel for t in top)  # the funnel re-scored the leaders


def test_lineage_runs_from_a_seed_to_the_answer_by_parent_links(run_dir):
    run = runs.load_run(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    ans = runs.answer(run)
    assert ans.id == summary["answer"]["id"] and ans.scale == summary["answer"]["scale"]
    steps = ancestry.lineage(run, ans.id)
    by_id = {r["id"]: r for r in raw_rows(run_dir)}
    assert steps[0].parent is None and steps[0].mutation == "seed" and steps[0].diff == ()
    assert steps[-1].id == ans.id
    assert len(steps) > 2
    for prev, step in zip(steps, steps[1:]):
        assert step.parent == prev.id
        assert step.fitness == by_id[step.id]["fitness"]


def expected_diff(mutation: str) -> list[str]:
    kind, _, rest = mutation.partition(" ")
    text = rest.split(": ", 1)[1]
    if kind == "insert":
        return [f"+ {text}"]
    if kind == "delete":
        return [f"- {text}"]
    old, new = text.split(" -> ")
    return [] if old == new else [f"- {old}", f"+ {new}"]


def test_each_lineage_diff_is_its_mutation(run_dir):
    run = runs.load_run(run_dir)
    ids = [t.id for t in runs.top_programs(run, k=5, simplify=False)]
    checked = 0
    for i in ids:
        for step in ancestry.lineage(run, i)[1:]:
            assert re.match(r"(insert|delete|modify) \d+: ", step.mutation), step.mutation
            assert list(step.diff) == expected_diff(step.mutation), (step.mutation, step.diff)
            checked += 1
    assert checked >= 5


def test_statistics_match_counts_from_the_log(run_dir):
    run = runs.load_run(run_dir)
    st = runs.statistics(run)
    rows = raw_rows(run_dir)
    children = [r for r in rows if r["parent"] is not None]
    assert st.rows == len(rows) and st.children == len(children)
    assert st.evaluations == sum(not r["cached"] for r in rows) == 80
    assert st.cache_hits == sum(r["cached"] for r in rows)
    assert st.cache_hit_rate == pytest.approx(st.cache_hits / len(children))
    programs = [parse(r["source"]) for r in children]
    redundant = sum(len(analyze(p).redundant) for p in programs)
    statements = sum(len(p.statements) for p in programs)
    assert (st.redundant, st.statements) == (redundant, statements)
    assert st.invalid_children == sum(r["redraws"] for r in rows)
    # the search's own counters agree
    summary = json.loads((run_dir / "summary.json").read_text())
    assert st.cache_hit_rate == pytest.approx(summary["cache_hit_rate"])
    assert st.redundant_ratio == pytest.approx(summary["redundant_ratio"])
    assert st.invalid_children == summary["redraws"]
    assert st.wall_time == summary["elapsed"] and st.evals_per_s == pytest.approx(80 / summary["elapsed"])
    funnel = [json.loads(x) for x in (run_dir / "funnel.jsonl").read_text().splitlines()]
    assert st.funnel_evaluations == sum(f["kind"] == "eval" for f in funnel)
    assert st.funnel_rounds == sum(f["kind"] == "round" for f in funnel) == len(summary["meta_validation"]) >= 2


def test_statistics_recompute_redundancy_when_rows_lack_it(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    rows = raw_rows(copy)
    for r in rows:
        del r["redundant"], r["length"], r["redraws"]
    (copy / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = runs.statistics(runs.load_run(run_dir)), runs.statistics(runs.load_run(copy))
    assert (b.redundant, b.statements) == (a.redundant, a.statements)
    assert b.invalid_children is None


def test_progress_is_the_running_best_and_meta_points_come_from_rounds(run_dir):
    run = runs.load_run(run_dir)
    pts = runs.progress_points(run)
    rows = raw_rows(run_dir)
    assert [y for _, y in pts] == sorted(y for _, y in pts)
    assert pts[-1] == (80.0, max(r["fitness"] for r in rows))
    meta = runs.meta_points(run)
    rounds = [json.loads(x) for x in (run_dir / "funnel.jsonl").read_text().splitlines()]
    rounds = [r for r in rounds if r["kind"] == "round"]
    assert [x for x, _ in meta["x10 of proxy best"]] == [float(r["evaluations"]) for r in rounds]
    assert [y for _, y in meta["x10 of proxy best"]] == [r["proxy_best"]["x10"] for r in rounds]


def png_size(path: Path) -> tuple[int, int]:
    from matplotlib.image import imread

    data = path.read_bytes()
    assert data[:8] == PNG
    img = imread(path)
    return img.shape[1], img.shape[0]


def test_cli_prints_tables_and_writes_plots(run_dir, tmp_path, capsys):
    plots_dir = tmp_path / "plots"
    assert main(["show", str(run_dir), "--top", "3", "--plots", str(plots_dir)]) == 0
    out = capsys.readouterr()
    assert "top 3 distinct programs" in out.out and "lineage of the best" in out.out
    assert "cache hits" in out.out and "redundant statements" in out.out
    assert "no loss curves" in out.err  # the toy log carries none, and --curves was not asked
    w, h = png_size(plots_dir / "search_progress.png")
    assert w > 100 and h > 100
    assert not (plots_dir / "loss_curves.png").exists()
    assert main(["show", str(run_dir), "--no-plots", "--json", "--top", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    run = runs.load_run(run_dir)
    assert [t["id"] for t in doc["top"]] == [t.id for t in runs.top_programs(run, 2, simplify=False)]
    assert doc["lineage"][-1]["id"] == doc["answer"]["id"] and doc["plots"] == {}
    assert doc["stats"]["evaluations"] == 80


def test_plot_functions_take_plain_data(tmp_path):
    p = plots.search_progress(tmp_path / "a" / "progress.png", {"seed 0": [(1, -0.1), (5, 0.2)], "seed 1": [(2, 0.0)]},
                              {"x10": [(5, 0.1)], "x100": [(5, float("nan"))]}, title="two seeds")
    assert png_size(p)[0] > 100
    curves = {"discovered": {"mlp": [[2.0, 1.0, 0.5], [2.1, 0.9, 0.6]], "logreg": [1.0, "nan", 0.3]},
              "adamw": {"mlp": [2.0, 1.2, 0.7]}}
    q = plots.loss_curves(tmp_path / "curves.png", curves)
    w, h = png_size(q)
    assert w > 2 * h * 0.8  # two task panels side by side
    with pytest.raises(ValueError):
        plots.loss_curves(tmp_path / "none.png", {})


@pytest.mark.parametrize("damage, where", [
    (lambda lines: lines[:2] + ["{not json"] + lines[3:], "evaluations.jsonl:3: not a JSON row"),
    (lambda lines: lines[:4] + ['{"id": 99}'] + lines[5:], "evaluations.jsonl:5: row lacks parent"),
    (lambda lines: lines[:1] + ['[1, 2]'] + lines[2:], "evaluations.jsonl:2: expected a JSON object"),
    (lambda lines: lines[:3] + [re.sub(r'"lr_scales": {[^}]*}', '"lr_scales": [1, 2]', lines[3])] + lines[4:],
     "evaluations.jsonl:4: bad value in row"),
])
def test_a_damaged_log_is_reported_by_file_and_line(run_dir, tmp_path, capsys, damage, where):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    log = copy / "evaluations.jsonl"
    log.write_text("\n".join(damage(log.read_text().splitlines())) + "\n")
    assert main(["show", str(copy), "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert where in err and "Traceback" not in err


def test_missing_run_and_bad_program_are_bad_input(run_dir, tmp_path, capsys):
    assert main(["show", str(tmp_path / "nothing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main(["show", str(tmp_path)]) == 2
    assert "no evaluations.jsonl" in capsys.readouterr().err
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    rows = raw_rows(copy)
    best = max(range(len(rows)), key=lambda i: rows[i]["fitness"])
    rows[best]["source"] = "def train(w, g, m, v, lr):\n    update = nosuchop(g)\n    return update, m, v\n"
    (copy / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["show", str(copy), "--no-plots"]) == 2
    assert f"evaluations.jsonl:{best + 1}: the recorded program does not parse" in capsys.readouterr().err
    assert main(["show", str(run_dir), "--top", "0"]) == 2


def test_a_torn_last_line_is_ignored_with_a_note(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "summary.json").unlink()
    with open(copy / "evaluations.jsonl", "a") as fh:
        fh.write('{"id": 1000, "par')
    run = runs.load_run(copy)
    assert run.torn and len(run.rows) == len(raw_rows(run_dir))
    # without summary.json the answer is found again from funnel.jsonl, as the search chose it
    summary = json.loads((run_dir / "summary.json").read_text())["answer"]
    ans = runs.answer(run)
    assert (ans.id, ans.scale, ans.fitness, ans.source) == (summary["id"], summary["scale"], summary["fitness"],
                                                            summary["source"])
    assert main(["show", str(copy), "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "cut by an interruption" in err and "has not finished" in err


def test_curves_retrained_on_a_real_proxy_task(tmp_path, capsys):
    pytest.importorskip("proxy_tasks.evaluate")
    out = tmp_path / "run"
    sets = ["--set", "search.max_evaluations=4", "--set", "programs_per_call=2", "--set", "funnel.final=false",
            "--set", "evaluator.tasks={quadratic: 1.0}", "--set", "evaluator.overrides={steps: 50}",
            "--set", "evaluator.batching=single",
            "--set", f"evaluator.cache_dir={tmp_path / 'cache'}"]
    assert main(["run", str(ROOT / "configs" / "quick.yaml"), "--out", str(out), "--no-progress", *sets]) == 0
    capsys.readouterr()
    run = runs.load_run(out)
    ans = runs.answer(run)
    assert ans.scale == "proxy"
    curves = runs.retrain_curves(run, ans.source)
    assert set(curves) == {"best", "adamw", "lion"}
    for per in curves.values():
        assert set(per) == {"quadratic"} and len(per["quadratic"]) > 5
        assert all(math.isfinite(x) for x in per["quadratic"])
    # the fitness the search logged is log(AdamW final loss / program final loss)
    best, adamw = curves["best"]["quadratic"], curves["adamw"]["quadratic"]
    assert math.log(adamw[-1] / best[-1]) == pytest.approx(ans.fitness, abs=1e-6)
    assert main(["show", str(out), "--curves", "--no-simplify"]) == 0
    assert png_size(out / "loss_curves.png")[0] > 100


def test_the_committed_replay_runs_show_on_a_fresh_clone(capsys):
    # logged before rows carried lr_scales: shown without the `lr x` column, nothing else lost
    run_dir = ROOT / "results" / "lion_rediscovery_v2" / "runs" / "seed1"
    assert main(["show", str(run_dir), "--no-plots", "--no-simplify", "--json", "--top", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["top"]) == 3 and all(t["lr_scales"] == {} for t in doc["top"])
    assert doc["answer"]["id"] == json.loads((run_dir / "summary.json").read_text())["answer"]["id"]
    assert main(["show", str(run_dir), "--no-plots", "--no-simplify", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "top 3 distinct programs" in out and "lr x" not in out


# --- failures by reason, folded lineage, number format ------------------------------------------

SEED = ("def train(w, g, m, v, lr):\n    g2 = square(g)\n    m = interp(g, m, 0.9)\n    v = interp(g2, v, 0.999)\n"
        "    sqrt_v = sqrt(v)\n    update = m / sqrt_v\n    update = update * lr\n    return update, m, v\n")


def _child(source: str, *lines: str, replace: tuple[str, str] | None = None) -> str:
    """``source`` with ``lines`` inserted before its return (dead code) or one line replaced."""
    if replace:
        return source.replace(*replace)
    head, ret = source.rsplit("    return", 1)
    return head + "".join(f"    {x}\n" for x in lines) + "    return" + ret


def synthetic_run(tmp: Path) -> Path:
    """A lineage seed -> 3 dead-code cache hits -> a real change -> 1 dead-code cache hit -> a cache
    hit that changes behaviour -> the answer; beside it, rows that failed, diverged or stopped
    at a hurdle."""
    s0 = SEED
    s1 = _child(s0, "t1 = sin(g)")
    s2 = _child(s1, "t2 = cos(w)")
    s3 = _child(s2, "t3 = exp(m)")
    s4 = _child(s3, replace=("update * lr", "update * 0.5"))
    s5 = _child(s4, "t4 = abs(g)")
    s6 = _child(s5, replace=("interp(g, m, 0.9)", "interp(g, m, 0.8)"))
    s7 = _child(s6, replace=("interp(g2, v, 0.999)", "interp(g2, v, 0.99)"))
    chain = [(s0, "A", -0.2, False), (s1, "A", -0.2, True), (s2, "A", -0.2, True), (s3, "A", -0.2, True),
             (s4, "B", -4.3e-05, False), (s5, "B", -4.3e-05, True), (s6, "C", 0.01, True),
             (s7, "D", 0.04299045882372287, False)]
    rows = []
    for i, (src, fp, fit, cached) in enumerate(chain):
        rows.append({"id": i, "parent": i - 1 if i else None, "mutation": "seed" if i == 0 else f"step {i}",
                     "source": src, "fingerprint": fp, "fitness": fit, "cached": cached, "tasks": {"vit": fit},
                     "reason": None, "seconds": 1.0})
    bad = [("vit: non-finite validation loss (nan) at curve point 1", -100.0),
           ("vit: non-finite validation loss (nan) at curve point 7", -100.0),
           ("vit: loss blew up to 1.065e+04 (> 10 x initial 2.04)", -100.0), ("timeout", -100.0),
           ("vit: hurdle: fitness -0.563 < -0.286 after 200 of 2000 steps", -0.563)]
    for k, (reason, fit) in enumerate(bad):
        rows.append({"id": 100 + k, "parent": 0, "mutation": "insert 1: t9 = sin(g)",
                     "source": _child(s0, "t9 = sin(g)"), "fingerprint": f"X{k}", "fitness": fit, "cached": False,
                     "tasks": {"vit": fit}, "reason": reason, "seconds": 1.0})
    out = tmp / "synthetic"
    out.mkdir()
    (out / "evaluations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "summary.json").write_text(json.dumps({"finished": True, "elapsed": 10.0, "answer": {
        "id": 7, "scale": "proxy", "fitness": rows[7]["fitness"], "proxy_fitness": rows[7]["fitness"], "source": s7}}))
    return out


@pytest.mark.parametrize("reason, kind", [
    ("vit: non-finite validation loss (nan) at curve point 1", "nan"),
    ("mlp: non-finite validation loss (inf) at curve point 3", "inf"),
    ("vit: loss blew up to 1.065e+04 (> 10 x initial 2.04)", "loss blew up"),
    ("vit: hurdle: fitness -0.563 < -0.286 after 200 of 2000 steps", "hurdle"),
    ("timeout", "timeout"), ("worker died", "worker died"), ("evaluator error: ValueError: x", "evaluator error"),
    ("toy: diverged", "diverged"), ("something new", "other"), (None, "no reason recorded"),
])
def test_reason_kinds(reason, kind):
    assert runs.reason_kind(reason) == kind


def test_failures_are_counted_by_reason_and_hurdle_stops_kept_apart(tmp_path, capsys, monkeypatch):
    run = runs.load_run(synthetic_run(tmp_path))
    st = runs.statistics(run)
    assert st.evaluations == 3 + 5  # the chain's rows not cached (0, 4, 7), and the five beside it
    assert st.failed == 4 and st.failure_reasons == {"nan": 2, "loss blew up": 1, "timeout": 1}
    assert st.hurdle_stops == 1  # scored at the hurdle, not a failure
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["show", str(run.path), "--no-plots", "--no-simplify"]) == 0
    out = capsys.readouterr().out
    assert "4 of 8 evaluations (50%): 2 nan, 1 loss blew up, 1 timeout" in out
    assert "stopped at a hurdle" in out and "1 of 8 evaluations" in out


def test_lineage_folds_runs_of_unchanged_cache_hits(tmp_path, capsys, monkeypatch):
    run = runs.load_run(synthetic_run(tmp_path))
    steps = ancestry.lineage(run, 7)
    assert [s.unchanged for s in steps] == [False, True, True, True, False, True, False, False]
    folded = ancestry.fold_lineage(steps)
    kinds = [("fold", tuple(s.id for s in x.steps)) if isinstance(x, ancestry.FoldedSteps) else x.id for x in folded]
    # a lone cache hit (5) is not worth a fold; a cache hit that changes behaviour (6) always shows
    assert kinds == [0, ("fold", (1, 2, 3)), 4, 5, 6, 7]
    assert folded[1].diff == ("+ t1 = sin(g)", "+ t2 = cos(w)", "+ t3 = exp(m)")
    assert ancestry.fold_lineage(steps[:4]) == steps[:1] + [ancestry.FoldedSteps(tuple(steps[1:3]), folded[1].diff[:2]),
                                                        steps[3]]  # the last step (the answer) is never folded
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["show", str(run.path), "--no-plots", "--no-simplify"]) == 0
    out = capsys.readouterr().out
    assert "3 cache-hit steps folded (--full-lineage shows them)" in out and "step 2" not in out
    assert "net change +3 -0 lines" in out and "+ t2 = cos(w)" not in out
    assert main(["show", str(run.path), "--no-plots", "--no-simplify", "--full-lineage"]) == 0
    out = capsys.readouterr().out
    assert "folded" not in out and all(f"step {i}" in out for i in range(1, 8))
    # --json keeps every step, with what folding uses
    assert main(["show", str(run.path), "--no-plots", "--no-simplify", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["lineage"]) == 8 and [s["unchanged"] for s in doc["lineage"]][1:4] == [True] * 3


def test_numbers_keep_meaningful_digits(tmp_path, capsys, monkeypatch):
    from search.cli import show_cmd

    assert show_cmd._f(0.04299045882372287) == "0.0430"
    assert show_cmd._f(-4.3e-05) == "-4.3e-05" and show_cmd._f(-0.0) == "0.0000" and show_cmd._f(None) == "-"
    assert show_cmd._f(float("nan")) == "nan"
    path = synthetic_run(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["show", str(path), "--no-plots", "--no-simplify"]) == 0
    out = capsys.readouterr().out
    assert "-4.3e-05" in out and "-0.0000" not in out and "0.04299" not in out
    # --json keeps full precision (it is data) and stays strict JSON
    assert main(["show", str(path), "--no-plots", "--no-simplify", "--json"]) == 0
    text = capsys.readouterr().out
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert doc["answer"]["fitness"] == 0.04299045882372287


# --- where the plots go ----------------------------------------------------------------------------

def test_show_writes_its_plot_into_the_run_directory_and_says_so(run_dir, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "search_progress.png").unlink(missing_ok=True)
    assert main(["show", str(copy), "--top", "1", "--no-simplify"]) == 0
    assert f"wrote {copy / 'search_progress.png'}" in capsys.readouterr().out
    assert png_size(copy / "search_progress.png")[0] > 100
    (copy / "search_progress.png").unlink()
    assert main(["show", str(copy), "--top", "1", "--no-simplify", "--no-plots"]) == 0
    assert "wrote" not in capsys.readouterr().out and not (copy / "search_progress.png").exists()
    assert main(["show", str(copy), "--top", "1", "--no-simplify", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["plots"] == {"search_progress": str(copy / "search_progress.png")}
    assert f"wrote {copy / 'search_progress.png'}" in out.err  # stdout stays one JSON document


def test_an_unwritable_run_directory_skips_the_plots_with_a_note(run_dir, tmp_path, capsys, monkeypatch):
    from types import SimpleNamespace

    from search.cli import show_cmd

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "search_progress.png").unlink(missing_ok=True)
    # a read-only directory as access(2) reports it (root ignores the mode bits, so ask directly) ...
    monkeypatch.setattr(show_cmd, "os", SimpleNamespace(access=lambda path, mode: False, W_OK=os.W_OK))
    assert main(["show", str(copy), "--top", "1", "--no-simplify"]) == 0
    out = capsys.readouterr()
    assert "top 1 distinct programs" in out.out and "wrote" not in out.out
    assert "plots skipped: the run directory" in out.err and "--plots DIR" in out.err
    assert not (copy / "search_progress.png").exists()
    # ... and a write that fails all the same (a read-only mount, a full disk)
    monkeypatch.undo()

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(plots, "search_progress", refuse)
    assert main(["show", str(copy), "--top", "1", "--no-simplify", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["plots"] == {} and "plots skipped" in out.err
    # a folder asked for by name that cannot be written is an error
    assert main(["show", str(copy), "--top", "1", "--no-simplify", "--plots", str(tmp_path / "p")]) == 1


# --- plots readable at any number of tasks -------------------------------------------------------

def _inside(fig, text) -> bool:
    fig.canvas.draw()
    box, page = text.get_window_extent(fig.canvas.get_renderer()), fig.bbox
    return page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1


@pytest.mark.parametrize("title", [
    "validation loss: best of quick-20261129-040000 (id 1176)",
    "validation loss: best of a-rather-long-run-directory-name-from-a-replay-20261129-040000 seed 2 (id 123456)",
])
def test_loss_curves_with_one_task_are_wide_enough_for_their_title(tmp_path, title):
    curves = {"best": {"vit": [2.0, 1.0, 0.5]}, "adamw": {"vit": [2.0, 1.2, 0.7]}, "lion": {"vit": [2.0, 1.1, 0.6]}}
    fig = plots.loss_curves_figure(curves, title=title)
    assert _inside(fig, fig._suptitle)  # the suptitle artist (no public getter)
    assert fig.get_suptitle().replace("\n", " ") == title  # wrapped, never cut
    w, h = png_size(plots.loss_curves(tmp_path / "one.png", curves, title=title))
    assert w >= plots.MIN_WIDTH * 100 and h > 300


def test_search_progress_title_fits(tmp_path):
    title = "search progress: " + " ".join(["seed"] * 40)
    fig = plots.search_progress_figure([(1, -0.1), (5, 0.2)], {"x10 of proxy best": [(5, 0.1)]}, title=title)
    assert _inside(fig, fig.axes[0].title)
    assert png_size(plots.search_progress(tmp_path / "p.png", [(1, -0.1), (5, 0.2)], title=title))[0] > 700


def test_show_is_concise_by_default_and_full_on_request(run_dir, capsys):
    """#31: the default fits a screen (simplified programs, one line per lineage step); --full
    keeps everything it printed before (raw and simplified programs, each step's diff)."""
    assert main(["show", str(run_dir), "--no-plots"]) == 0
    short = capsys.readouterr()
    assert "top 3 distinct programs" in short.out and "simplified:" not in short.out
    assert "--full" in short.err
    assert main(["show", str(run_dir), "--no-plots", "--full"]) == 0
    full = capsys.readouterr().out
    assert "top 10 distinct programs" in full and "simplified:" in full
    assert len(short.out.splitlines()) < len(full.splitlines())
