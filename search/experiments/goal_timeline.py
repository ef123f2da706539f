"""A seed's search read for the goal: when a sign-momentum program was first evaluated, first
beat the seed program and took the lead for good, and whether it led at each search budget.

``goal_timeline(run)`` gives the replay's ``SeedResult.timeline`` (as JSON; ``lion_reach`` and
``search_quality`` count the same things in other runs).
"""

from __future__ import annotations

import math

from dsl.parse import parse
from search.analysis import runs
from search.backends.base import WORST_FITNESS
from simplify.family import sign_momentum

BUDGETS_S = (600, 1200, 1800, 2700)  # search budgets (seconds) at which the leader's family is read


def goal_timeline(run: runs.Run) -> dict:
    """When a sign-momentum program was first evaluated, first beat the seed program, and took the
    lead for good (``sign_momentum_lead``: the search's best so far is sign-momentum from then to
    the end, by the fitness each row logged; None if the last leader is not), and whether the
    leader was sign-momentum after each budget of ``BUDGETS_S`` the run reached (success against
    the budget, read from one run); how many
    distinct scored programs were sign-momentum, and how many children (cache hits included) per
    1,000 were: every way to the sign counts (``m / sqrt(m * m)`` as well as ``sign(...)``),
    because membership is tested by behaviour (``simplify.family``)."""
    seed_fit = next((r.fitness for r in run.rows if r.parent is None), None)
    verdict: dict[str, bool] = {}
    first = first_beating = lead = None
    members = 0
    best = -math.inf
    leader_sign = False
    end = max((r.time for r in run.rows if r.time is not None), default=0.0)
    leading_at: dict[str, bool] = {}
    for r in run.rows:
        for b in BUDGETS_S:  # the leader's family when the search had run b seconds
            if r.time is not None and r.time > b and str(b) not in leading_at:
                leading_at[str(b)] = leader_sign
        if r.cached or r.fitness <= WORST_FITNESS:
            continue
        if r.fingerprint not in verdict:
            verdict[r.fingerprint] = sign_momentum(parse(r.source)).member
            members += verdict[r.fingerprint]
        if r.fitness > best:  # a new leader (search-time fitness): sign-momentum or not
            best = r.fitness
            leader_sign = verdict[r.fingerprint]
            if not verdict[r.fingerprint]:
                lead = None
            elif lead is None:
                lead = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
        if not verdict[r.fingerprint]:
            continue
        if first is None:
            first = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
        if first_beating is None and seed_fit is not None and r.fitness > seed_fit:
            first_beating = {"evaluations": r.evaluations, "id": r.id, "fitness": r.fitness}
    for b in BUDGETS_S:
        if str(b) not in leading_at and end >= b * 0.98:  # the run ended at its budget
            leading_at[str(b)] = leader_sign
    children = [r for r in run.rows if r.parent is not None]
    in_family = sum(verdict.get(r.fingerprint, False) for r in children)
    return {"seed_program_fitness": seed_fit, "first_sign_momentum": first,
            "first_sign_momentum_beating_seed": first_beating, "sign_momentum_lead": lead,
            "sign_momentum_leading_at_s": leading_at,
            "distinct_programs": len(verdict), "sign_momentum_programs": members,
            "sign_momentum_children_per_1000": 1000.0 * in_family / len(children) if children else 0.0}
