"""One seed of a replay's summary, typed (``SeedResult`` and its parts, ``json_record`` records):
the search's statistics and goal timeline, its answer simplified, the answer's goal after the
final comparison, and its front and one-state niche (``front_replay``). ``replay_summary`` holds
the rest of the summary and reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from search.experiments.json_record import Record


@dataclass(init=False)
class Event(Record):
    """A row of the search log the timeline points at (``goal_timeline``)."""

    evaluations: int | None
    id: int
    fitness: float


@dataclass(init=False)
class Timeline(Record):
    """When sign-momentum appeared, beat the seed program and led (``goal_timeline``)."""

    seed_program_fitness: float | None
    first_sign_momentum: Event | None
    first_sign_momentum_beating_seed: Event | None
    sign_momentum_lead: Event | None
    sign_momentum_leading_at_s: dict[str, bool]  # budget (seconds, as a string) -> leader is sign-momentum
    distinct_programs: int
    sign_momentum_programs: int
    sign_momentum_children_per_1000: float


@dataclass(init=False)
class Statistics(Record):
    evaluations: int
    children: int
    cache_hit_rate: float
    redundant_ratio: float
    wall_time: float | None
    evals_per_s: float | None


@dataclass(init=False)
class Answer(Record):
    """A seed's answer: raw as the search scored it, its lr baked in, simplified and recognized."""

    id: int
    scale: str
    fitness: float
    proxy_fitness: float | None
    raw: str
    raw_one_line: str
    lr_scale_baked: float
    simplified: str
    simplified_one_line: str
    derivation: str
    recognized: str | None
    family: str | None
    sign_momentum: bool
    sign_momentum_detail: str


@dataclass(init=False)
class Paired(Record):
    """``compare.paired``: the mean over seeds of the log loss ratio, its sd, and the seeds'."""

    mean_log_ratio: float
    sd: float
    per_seed: list[float]


@dataclass(init=False)
class SeedGoal(Record):
    """#17's goal for one answer (``goal.seed_goal``)."""

    lion_form: bool
    recognized: str | None
    betas: list[float] | None
    lion_betas: list[float]
    sign_momentum: bool
    vs_lion: Paired
    vs_adamw: Paired
    within_one_sd_of_lion: bool
    vs_lion_verdict: str
    vs_adamw_verdict: str
    beats_tuned_adamw: bool
    reached: bool


@dataclass(init=False)
class FrontPoint(Record):
    """A member of a seed's front (``analysis.front.FrontMember`` without its raw source)."""

    id: int
    fitness: float
    se: float | None
    seeds: int
    states: int
    length: int
    simplified: str
    family: str | None
    seed: bool


@dataclass(init=False)
class NicheEvent(Record):
    """When a sign-momentum program was first drawn in, or first led, the one-state niche."""

    evaluations: int | None
    minutes: float
    id: int
    fitness: float


@dataclass(init=False)
class NicheLeader(Record):
    """The one-state niche's leader (``front_study.niche_timeline``, completed by ``front_replay``)."""

    id: int
    fitness: float
    se: float | None
    seeds: int
    simplified: str
    family: str | None
    lion_form: bool
    raw: str
    baked: str
    sign_momentum: bool
    one_line: str
    same_as_answer: bool
    goal: SeedGoal


@dataclass(init=False)
class Niche(Record):
    """``front_study.niche_timeline`` of the one-state niche."""

    run_dir: str
    evaluations: int
    minutes: float
    niche_programs: int
    sign_momentum_in_niche: int
    first_sign_momentum_drawn: NicheEvent | None
    first_sign_momentum_led: NicheEvent | None
    leader: NicheLeader | None


@dataclass(init=False)
class FrontStudy(Record):
    """A seed's front and one-state niche (``front_replay.seed_front``)."""

    front: list[FrontPoint]
    front_png: str
    one_state: Niche


@dataclass(init=False)
class SeedResult(Record):
    """One seed's search, its answer and (after the final comparison) its goal."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("seed",)

    seed: int
    run_dir: str
    timeline: Timeline
    statistics: Statistics
    progress: list[list[float]]          # (evaluations, best proxy fitness so far)
    meta: dict[str, list[list[float]]]   # per funnel scale: (evaluations, fitness)
    answer: Answer | None
    search_seconds: float
    goal: SeedGoal
    front_study: FrontStudy

    @property
    def one_state_leader(self) -> NicheLeader | None:
        """The one-state niche's leader; None without a front study or without a leader."""
        niche = self.front_study.one_state if self.front_study else None
        return niche.leader if niche else None
