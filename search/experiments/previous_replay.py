"""An earlier replay beside this one, seed by seed (``Options.previous``, ``--previous``): what
the report's comparison table shows of each seed (``seed_digest``), for both replays."""

from __future__ import annotations

from pathlib import Path

from search.analysis import runs
from search.experiments import replay_summary
from search.experiments.goal_timeline import goal_timeline
from search.experiments.replay_options import shown
from search.experiments.replay_summary import PreviousReplay, SeedDigest
from search.experiments.seed_result import Answer, SeedResult


def seed_digest(d: SeedResult) -> SeedDigest:
    """What the seed-by-seed comparison of two replays shows of one seed."""
    st, tl, a = d.statistics, d.timeline, d.answer or Answer()
    first = tl.first_sign_momentum
    return SeedDigest(seed=d.seed, evaluations=st.evaluations, children=st.children,
                      first_sign_momentum=first.evaluations if first else None,
                      sign_momentum_children_per_1000=tl.sign_momentum_children_per_1000,
                      answer_recognized=a.recognized, answer_fitness=a.fitness,
                      answer_scale=a.scale, answer_sign_momentum=a.sign_momentum,
                      search_seconds=d.search_seconds)


def previous_replay(path: Path) -> PreviousReplay:
    """Each seed of the replay in ``path`` (its ``summary.json``) as ``seed_digest`` shows it;
    counts the previous replay's logs did not carry (sign-momentum children per 1,000) are
    computed from its run directories when they are there."""
    prev = replay_summary.load(path / "summary.json", "the previous replay's summary")
    seeds = []
    for d in prev.seeds or []:
        row = seed_digest(d)
        run_dir = path / "runs" / f"seed{d.seed}"
        if row.sign_momentum_children_per_1000 is None and (run_dir / "evaluations.jsonl").exists():
            row.sign_momentum_children_per_1000 = goal_timeline(runs.load_run(run_dir))[
                "sign_momentum_children_per_1000"]
        seeds.append(row)
    return PreviousReplay(path=shown(path), command=prev.command, config=prev.config, seeds=seeds)


def previous_digest(path: Path) -> dict:
    """``previous_replay`` as the summary holds it (JSON)."""
    return previous_replay(path).to_json()
