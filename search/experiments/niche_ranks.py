"""A replay's one-state niche per seed, ranked: where its Lion-form and other sign-momentum
programs stood at the end, when each was first logged, and how many children selection bred
from them. #28 asks for this when the one-state target is missed (the draws, the ranks of the
Lion-form programs in the niche, where they stalled)::

    python -m search.experiments.niche_ranks results/lion_rediscovery

Fitness is the search's own (the proxy's task seed, with racing's extra seeds where it raced
the program: mean ± standard error over ``seeds``), as selection saw it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from dsl import parse
from dsl.printer import one_line
from search.analysis import runs
from search.analysis.digits import signed
from search.experiments.front_study import lion_form
from simplify.costs import count_states
from simplify.exact import simplify_exact
from simplify.family import sign_momentum


@dataclass(frozen=True)
class NicheEntry:
    """One distinct program of the niche at its rank (1 = the leader)."""

    rank: int
    id: int
    fitness: float
    se: float | None
    seeds: int
    lion_form: bool
    sign_momentum: bool
    minutes: float
    evaluations: int | None
    children: int          # rows whose parent is this program (any of its ids)
    better_children: int   # of them, children scored above it
    text: str              # the exact passes' result, on one line


def niche_ranks(run_dir: Path, states: int = 1) -> list[NicheEntry]:
    """The ``states`` niche of one run, best first (``runs.distinct_best``'s order)."""
    run = runs.load_run(run_dir)
    ids: dict[str, list[int]] = {}
    for r in run.rows:
        ids.setdefault(r.fingerprint, []).append(r.id)
    fitness_of = {r.id: r.fitness for r in run.rows}
    kids: dict[int, list[int]] = {}
    for r in run.rows:
        if r.parent is not None:
            kids.setdefault(r.parent, []).append(r.id)
    out = []
    for r in runs.distinct_best(run):
        program = parse(r.source)
        if (r.states if r.states is not None else count_states(program)) != states:
            continue
        children = [k for i in ids[r.fingerprint] for k in kids.get(i, [])]
        simple = simplify_exact(program)
        out.append(NicheEntry(
            rank=len(out) + 1, id=r.id, fitness=r.fitness, se=r.fitness_se,
            seeds=max(1, len(r.seed_fitness)), lion_form=lion_form(program)[0],
            sign_momentum=sign_momentum(simple).member,
            minutes=(r.time or 0.0) / 60, evaluations=r.evaluations,
            children=len(children),
            better_children=sum(fitness_of[k] > r.fitness for k in children),
            text=one_line(simple)))
    return out


def render(seed: int, entries: list[NicheEntry], top: int = 8) -> str:
    """One seed's niche as text: counts, the ranks of Lion's form and sign-momentum, the top."""
    lion = [e for e in entries if e.lion_form]
    signs = [e for e in entries if e.sign_momentum]
    lines = [f"## seed {seed}: {len(entries)} distinct one-state programs scored, "
             f"{len(signs)} sign-momentum, {len(lion)} of Lion's form"]
    if lion:
        best, leader = signed(lion[0].fitness), signed(entries[0].fitness)
        lines.append("Lion's form at ranks " + ", ".join(str(e.rank) for e in lion)
                     + f"; the best of them {best} against the leader's {leader}")
    if signs:
        lines.append("sign-momentum at ranks " + ", ".join(str(e.rank) for e in signs[:20])
                     + (" ..." if len(signs) > 20 else ""))
    shown = entries[:top] + [e for e in entries[top:] if e.lion_form or e.sign_momentum][:top]
    lines.append("rank  id     fitness (se, seeds)       lion sign  first at       children (better)  program")
    for e in shown:
        se = "-" if e.se is None else f"{e.se:.4f}"
        at = f"{e.minutes:5.1f} min / {e.evaluations}" if e.evaluations is not None else f"{e.minutes:5.1f} min"
        lines.append(f"{e.rank:>4}  {e.id:<6} {signed(e.fitness):>8} ({se}, {e.seeds})  "
                     f"{'yes' if e.lion_form else 'no':>4} {'yes' if e.sign_momentum else 'no':>4}  {at:<14} "
                     f"{e.children:>4} ({e.better_children})        {e.text}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m search.experiments.niche_ranks REPLAY_DIR", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    seeds = sorted(folder.glob("runs/seed*"), key=lambda p: int(p.name[4:]))
    if not seeds:
        print(f"{folder}: no runs/seed<k> run directories", file=sys.stderr)
        return 1
    print(f"# The one-state niche of each seed of {folder}, ranked by the search's fitness\n")
    for run_dir in seeds:
        print(render(int(run_dir.name[4:]), niche_ranks(run_dir)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
