"""``report.md`` of a replay, rendered from its summary (pure: ``ReplaySummary`` -> text; a dict
of its JSON is read as one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search.analysis.digits import fixed as _f
from search.experiments.previous_replay import seed_digest
from search.experiments.replay_summary import MetaValidation, ReplaySummary, SeedDigest, TunedResult
from search.experiments.seed_result import Event, NicheEvent, NicheLeader, Paired, SeedGoal


def _typed(s: ReplaySummary | Mapping[str, Any]) -> ReplaySummary:
    return s if isinstance(s, ReplaySummary) else ReplaySummary.from_json(s)


def _outside(mv: MetaValidation) -> str:
    """Which meta-validation task families the search never trained on, as the summary records."""
    if not mv.has("outside_the_search"):  # a summary written before this was recorded
        return "which families the search used is not recorded here"
    out = mv.outside_the_search
    if not out:
        return f"every family here was searched on too ({', '.join(mv.searched_tasks)}, at the proxy's scale)"
    return f"{', '.join(out)}: task famil{'y' if len(out) == 1 else 'ies'} outside the search"


def _within(goal: SeedGoal) -> str:
    """"within one sd of Lion" asks whether a Lion-form answer generalizes as Lion does; for an
    answer that is not Lion's form the question does not apply."""
    if not goal.lion_form:
        return "not applicable (not Lion's form)"
    return "yes" if goal.within_one_sd_of_lion else "no"


def paired_from(results: dict[str, dict[str, TunedResult]], name: str, other: str = "AdamW", tasks=None) -> dict:
    """``compare.paired`` and its verdict on a summary's meta-validation ``results`` (finals per
    task and seed), over ``tasks`` (default: all)."""
    from types import SimpleNamespace

    from search.experiments.compare import paired, verdict

    tasks = list(results) if tasks is None else list(tasks)
    tuned = {t: {n: SimpleNamespace(finals=results[t][n].finals) for n in (name, other)} for t in tasks}
    r = paired(tuned, name, other)  # type: ignore[arg-type]
    return {**r, "verdict": verdict(r)}


def paired_line(results: dict[str, dict[str, TunedResult]], name: str, other: str = "AdamW") -> str:
    """"-0.0314 ± 0.0183 (loses); vit +0.0256 ± 0.0350 (ties), ...": every mean with its spread."""
    def cell(r: dict) -> str:
        return f"{r['mean_log_ratio']:+.4f} ± {r['sd']:.4f} ({r['verdict']})"

    whole = paired_from(results, name, other)
    per = [f"{t} {cell(paired_from(results, name, other, [t]))}" for t in results]
    return f"{cell(whole)}; " + ", ".join(per)


def _code(text: str) -> list[str]:
    return ["```", text.rstrip(), "```"]


def answer_family(row: SeedDigest) -> str:
    if row.answer_recognized:
        return row.answer_recognized
    if row.answer_fitness is None:
        return "-"
    return "sign-momentum, no named family" if row.answer_sign_momentum else "no known family"


def previous_table(s: ReplaySummary) -> list[str]:
    """This replay against an earlier one (``s.previous``), seed by seed."""
    prev = {d.seed: d for d in s.previous.seeds}
    lines = ["", f"### Against the previous replay (`{s.previous.path}`, made by "
                 f"`{s.previous.command or '?'}`), seed by seed", "",
             "| seed | replay | search minutes | evaluations | children | first sign-momentum (evals) "
             "| sign-momentum children per 1,000 | answer | answer fitness |", "|---|---|---|---|---|---|---|---|---|"]
    for d in s.seeds:
        for label, row in (("this", seed_digest(d)), ("previous", prev.get(d.seed))):
            if row is None:
                continue
            minutes = _f(row.search_seconds / 60, 1) if row.search_seconds else "-"
            fit = "-" if row.answer_fitness is None else f"{_f(row.answer_fitness)} at {row.answer_scale}"
            first = row.first_sign_momentum if row.first_sign_momentum is not None else "never"
            lines.append(f"| {d.seed} | {label} | {minutes} | {row.evaluations} | {row.children} | {first} | "
                         f"{_f(row.sign_momentum_children_per_1000, 2)} | "
                         f"{answer_family(row)} | {fit} |")
    return lines


def _at(event: NicheEvent | None) -> str:
    return "never" if not event else f"{_f(event.minutes, 1)} min, {event.evaluations} evals"


def front_section(s: ReplaySummary | Mapping[str, Any]) -> list[str]:
    """#28's figures: each seed's front over fitness and states, its one-state niche (the leader
    after the exact passes, when a sign-momentum program was first drawn there and first led it),
    and the held-out comparison with Lion's form, every mean with its paired sd."""
    s = _typed(s)
    seeds = [d for d in s.seeds if d.front_study]
    lion = sum(bool(d.one_state_leader and d.one_state_leader.lion_form) for d in seeds)
    lines = ["## The front and the one-state niche", "",
             f"- **One-state leader in Lion's form** (after the exact passes, `simplify.recognize` says `lion`, or "
             f"sign-momentum with a second moving average): **{lion} of {len(seeds)}** seeds (target: 2 of 3).", "",
             "| seed | one-state programs | sign-momentum among them | first sign-momentum in the niche "
             "| first sign-momentum leading it | one-state leader (fitness ± se, seeds) | family | Lion's form "
             "| vs tuned Lion (paired ± sd) | within one sd of Lion |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for d in seeds:
        n = d.front_study.one_state
        lead = n.leader or NicheLeader()
        g = lead.goal or (d.goal if lead.same_as_answer else None) or SeedGoal()
        vs = g.vs_lion
        lines.append(
            f"| {d.seed} | {n.niche_programs} | {n.sign_momentum_in_niche} "
            f"| {_at(n.first_sign_momentum_drawn)} | {_at(n.first_sign_momentum_led)} | "
            + (f"`{lead.one_line if lead.has('one_line') else '?'}` ({_f(lead.fitness)} ± {_f(lead.se)}, "
               f"{lead.seeds}) | {lead.family or '-'} | "
               f"{'yes' if lead.lion_form else 'no'} | "
               if lead else "- | - | - | ")
            + (f"{_f(vs.mean_log_ratio)} ± {_f(vs.sd)} | {_within(g)} |" if vs else "- | - |"))
    for d in seeds:
        f = d.front_study
        lines += ["", f"### Front of seed {d.seed} (fitness against states)", "",
                  "| states | fitness ± se (task seeds) | program (exact passes) | family |", "|---|---|---|---|"]
        for m in f.front:
            lines.append(f"| {m.states} | {_f(m.fitness)} ± {_f(m.se)} ({m.seeds}) | "
                         f"`{m.simplified}` | {m.family or '-'} |")
        lines += ["", f"![front of seed {d.seed}]({f.front_png})"]
    ho = s.held_out
    if ho:
        lines += ["", f"### The fittest programs and the one-state leaders against {ho.reference}, on task "
                      f"seeds {ho.seeds[0]}-{ho.seeds[-1]} (no search or race scored them)", "",
                  "Proxy fitness per task seed at each program's best lr grid value; the paired difference "
                  f"from {ho.reference} seed by seed; \"leads\"/\"trails\" only beyond one sd of it.", "",
                  "| program | fitness (mean ± sd over seeds) | minus Lion's form (paired mean ± sd) | wins "
                  "| verdict |",
                  "|---|---|---|---|---|"]
        for name, r in ho.rows.items():
            paired = (f"{_f(r.vs_lion_form)} ± {_f(r.vs_lion_form_sd)} | {r.wins} of {len(r.per_seed)} | "
                      f"{r.verdict}") if r.has("vs_lion_form") else "- | - | (reference)"
            lines.append(f"| {name} | {_f(r.mean)} ± {_f(r.sd)} | {paired} |")
    return lines + [""]


def _count(x: int | None) -> int | str:
    """A goal count, ``-`` where the summary predates it."""
    return "-" if x is None else x


def _evals(event: Event | None) -> int | str | None:
    return event.evaluations if event else "never"


def _pm(r: Paired | None) -> str:
    return f"{_f(r.mean_log_ratio)} ± {_f(r.sd)}" if r else "-"


def render_report(s: ReplaySummary | Mapping[str, Any]) -> str:
    s = _typed(s)
    m = s.machine
    goal = s.goal
    mv = s.meta_validation
    lines = [
        "# Lion rediscovery replay" + (" (quick)" if s.quick else ""),
        "",
        f"Produced by `{s.command or 'optsearch replay lion'}` with `{s.config}`"
        + (f" and overrides `{' '.join(s.overrides)}`" if s.overrides else "") + ".",
        f"Machine: {m.platform}, {m.cpus} CPU(s), Python {m.python}, JAX {m.jax} ({m.backend}). "
        f"Started {s.started}, finished {s.finished}, {s.seconds / 60:.1f} minutes in all.",
        "",
        "## The goal",
        "",
        "- **Rediscovery**: the answer, after simplification, has Lion's form: the update is the sign of an",
        "  interpolation of the gradient and a momentum, that momentum is itself a moving average of the gradient",
        "  with its own weight, and `w` enters only as decoupled weight decay (`simplify.recognize`: `lion`).",
        f"  Seeds: **{_count(goal.lion_form)} of {goal.seeds}** (target: 2 of 3; stretch: 4 of 5).",
        "- **Generalization**: each Lion-form answer, tuned on the same grid as tuned optax Lion and tuned optax",
        "  AdamW, is within one seed-to-seed standard deviation of tuned Lion or better on the meta-validation",
        f"  tasks: **{_count(goal.lion_form_within_one_sd_of_lion)} of {_count(goal.lion_form)}**.",
        "",
        "| seed | recognized | betas (Lion: 0.9, 0.99) | vs tuned Lion (mean log ratio ± sd over seeds) "
        "| vs tuned AdamW (mean log ratio ± sd) | within one sd of Lion |",
        "|---|---|---|---|---|---|",
    ]
    for d in s.seeds:
        g = d.goal or SeedGoal()
        betas = ", ".join(f"{b:.3g}" for b in g.betas) if g.betas else "-"
        lines.append(f"| {d.seed} | {g.recognized or '-'} | {betas} | {_pm(g.vs_lion)} | "
                     f"{_pm(g.vs_adamw)} | {_within(g)} |")
    lines += [
        "",
        f"- Seeds whose answer is in the sign-momentum family: **{goal.sign_momentum} of {goal.seeds}**.",
        f"- ... and beats tuned AdamW on the meta-validation tasks (paired mean log loss ratio above one "
        f"seed-to-seed sd): **{goal.sign_momentum_beating_tuned_adamw} of {goal.seeds}**.",
        f"- Answers beating tuned AdamW on the meta-validation tasks beyond one sd, whatever their family: "
        f"{_count(goal.beating_tuned_adamw)} of {goal.seeds}; tying it (within one sd): "
        f"{_count(goal.tying_tuned_adamw)}.",
        "- Evaluations until the first sign-momentum program was evaluated, per seed: "
        + ", ".join(str(x) if x is not None else "never" for x in goal.first_sign_momentum_evaluations) + ".",
        "",
        "Sign-momentum is tested by behaviour (`simplify/family.py`): with `w = 0` every coordinate of",
        "the update has the same magnitude, the signs depend on past gradients as well as the current",
        "one, and `w` enters only as decoupled weight decay.",
        "",
        "## Per seed",
        "",
        "| seed | evaluations | cache hits | first sign-momentum (evals) "
        "| first sign-momentum beating the seed (evals) | sign-momentum leads from (evals) "
        "| sign-momentum children per 1,000 | answer at | answer fitness "
        "| sign-momentum | recognized | vs tuned AdamW (paired mean log ratio ± sd) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in s.seeds:
        st, tl, a = d.statistics, d.timeline, d.answer
        vs = (d.goal or SeedGoal()).vs_adamw or Paired()
        lines.append(
            f"| {d.seed} | {st.evaluations} | {st.cache_hit_rate:.0%} | "
            f"{_evals(tl.first_sign_momentum)} | "
            f"{_evals(tl.first_sign_momentum_beating_seed)} | "
            f"{_evals(tl.sign_momentum_lead)} | "
            f"{_f(tl.sign_momentum_children_per_1000, 2)} | "
            f"{a.scale if a else '-'} | {_f(a.fitness) if a else '-'} | "
            f"{'yes' if a and a.sign_momentum else 'no'} | {(a and a.recognized) or '-'} | "
            f"{_f(vs.mean_log_ratio)} ± {_f(vs.sd)} |")
    if s.previous:
        lines += previous_table(s)
    lines += ["", "![search progress](search_progress.png)", ""]
    for d in s.seeds:
        a = d.answer
        lines += [f"### Seed {d.seed}", ""]
        if not a:
            lines += ["No answer (the search evaluated nothing).", ""]
            continue
        lines += [f"Answer (id {a.id}, fitness {a.fitness:.4f} at {a.scale}, proxy {a.proxy_fitness:.4f}),"
                  f" raw:", ""] + _code(a.raw)
        lines += ["", f"Its best learning-rate grid value ({a.lr_scale_baked:.4g}) baked in, then simplified "
                      f"(exact passes, then ablation on the proxy tasks); {a.sign_momentum_detail}:", ""]
        lines += _code(a.simplified)
        lines += ["", "<details><summary>derivation</summary>", ""] + _code(a.derivation) + ["", "</details>", ""]
    if any(d.front_study for d in s.seeds):
        lines += front_section(s)
    lines += ["## Final comparison on meta-validation tasks", "",
              f"Tasks {', '.join(mv.tasks)} at scale `{mv.scale}` with settings {mv.overrides} "
              f"(a problem instance the search never scored; " + _outside(mv)
              + f"), seeds {mv.seeds}. Every optimizer is tuned on the same grid: learning-rate multipliers "
              f"{[round(x, 3) for x in mv.lr_grid]} x weight-decay multipliers "
              f"{[round(x, 3) for x in mv.wd_grid]}"
              " of its own defaults (AdamW: optax, bias-corrected, lr 1e-3, wd 0.01; Lion: optax, lr 1e-4, "
              "wd 0.1; a found program: its own constants). Final validation loss, mean ± std over seeds, "
              "at each optimizer's best grid point (one at the grid's edge may be better outside it):", ""]
    names = list(next(iter(mv.results.values())).keys())
    lines += ["| task | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for task, per in mv.results.items():
        best = min(per.values(), key=lambda r: r.mean).mean
        cells = []
        for n in names:
            r = per[n]
            edge = [k for k, grid, scale in (("lr", mv.lr_grid, r.lr_scale), ("wd", mv.wd_grid, r.wd_scale))
                    if len(grid) > 1 and scale in (min(grid), max(grid))]
            cell = (f"{r.mean:.4f} ± {r.std:.4f} (lr x{r.lr_scale:.3g}, wd x{r.wd_scale:.3g}"
                    + (f"; {' and '.join(edge)} at the grid's edge" if edge else "") + ")")
            cells.append(f"**{cell}**" if r.mean == best else cell)
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    lines += ["", "Against tuned AdamW, paired by seed (mean log loss ratio over the seeds ± their sd; "
                  "\"beats\"/\"loses\" only beyond one sd), overall and per task:", ""]
    for n in ["Lion", *mv.vs_adamw]:
        lines.append(f"- {n}: " + paired_line(mv.results, n))
    paper = s.paper
    lines += ["", "![loss curves](loss_curves.png)", "",
              "## The paper's own last step", "",
              f"`{paper.source}` through the simplifier (exact passes, then ablation on "
              f"{paper.ablation.to_json()}): recognized as **{paper.recognized}**; "
              f"{paper.sign_momentum}.", "", "<details><summary>derivation</summary>", ""]
    lines += _code(paper.derivation) + ["", "</details>", ""]
    for r in s.reruns or []:
        lines += [f"The final comparison and these outputs were produced again by `{r.command}` "
                  f"({r.started}, {(r.seconds or 0) / 60:.1f} minutes) from the same searches.", ""]
    if s.notes:
        lines += ["## What made it work, and what did not", "", s.notes.rstrip(), ""]
    return "\n".join(lines) + "\n"
