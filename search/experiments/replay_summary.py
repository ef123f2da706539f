"""A replay's ``summary.json``, typed: ``ReplaySummary`` and its parts, read once by ``load``.

The replay writes it (``ReplaySummary.write``) after each seed and at the end; the report, the
final comparison, ``--compare-only``, ``relocate``, a later replay's ``--previous`` and the
benchmarks read it. Each part is a ``json_record.Record``: a field per key, checked on reading,
and ``to_json()`` gives back the JSON as it was read (same keys, order and values), so the
summaries already committed (the second and third replays, and the fourth's partial one) load
and are written back unchanged. Every field may be absent (an older writer, a summary cut short)
and then reads as None. Each seed's part is a ``seed_result.SeedResult``.

Summaries carry no ``format`` key: they are format 1 (``FORMAT``); one naming a later format
is refused. Parts other modules write and that stay open-ended are ``Json`` (the meta-validation
task settings, ``MetaValidation.overrides``); the rest is declared here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from search.experiments.json_record import Json, Record, RecordError
from search.experiments.seed_result import SeedResult
from search.rundir import atomic_write


class SummaryError(ValueError):
    """A replay summary that is not what ``ReplaySummary`` declares; names the file and the field."""

    def __init__(self, path: Path | str, error: RecordError):
        super().__init__(f"{path}: {error}")
        self.field = error.field


# --- the paper's step, the final comparison, the goal --------------------------------------------

@dataclass(init=False)
class Ablation(Record):
    task: str
    steps: int
    seeds: list[int]
    tolerance: float


@dataclass(init=False)
class PaperStep(Record):
    """``discovered_pruned.train`` simplified to Lion (``replay.paper_step``)."""

    source: str
    ablation: Ablation
    derivation: str
    final: str
    recognized: str | None
    family: str | None
    sign_momentum: str
    seconds: float


@dataclass(init=False)
class TunedResult(Record):
    """``proxy_tasks.tuned.Tuned`` as written: one optimizer on one task at its best grid point."""

    mean: float
    std: float
    finals: list[float]
    lr_scale: float
    wd_scale: float
    grid: dict[str, float]        # "lr x wd" -> mean final loss
    curves: list[list[float]]     # per seed


@dataclass(init=False)
class Beats(Record):
    """``compare.beats``: the mean log loss ratio against AdamW over tasks, and per task."""

    mean_log_ratio: float
    per_task: dict[str, float]
    wins: int
    tasks: int


@dataclass(init=False)
class MetaValidation(Record):
    tasks: list[str]
    searched_tasks: list[str]
    outside_the_search: list[str]
    scale: str
    seeds: list[int]
    lr_grid: list[float]
    wd_grid: list[float]
    overrides: dict[str, Json]               # the tasks' settings (``get_task`` keywords)
    results: dict[str, dict[str, TunedResult]]     # task -> optimizer -> tuned
    vs_adamw: dict[str, Beats]               # found program -> against AdamW
    lion_vs_adamw: Beats


@dataclass(init=False)
class HeldOutRow(Record):
    """A program scored on the held-out task seeds; against Lion's form except the reference."""

    mean: float
    sd: float
    per_seed: list[float]
    lr_scale: float
    vs_lion_form: float
    vs_lion_form_sd: float
    wins: int
    verdict: str


@dataclass(init=False)
class HeldOut(Record):
    """``front_replay.held_out``."""

    seeds: list[int]
    reference: str
    rows: dict[str, HeldOutRow]


@dataclass(init=False)
class Goal(Record):
    """The goal's counts over the seeds (``goal.count``)."""

    seeds: int
    lion_form: int
    lion_form_within_one_sd_of_lion: int
    sign_momentum: int
    beating_tuned_adamw: int
    tying_tuned_adamw: int
    sign_momentum_beating_tuned_adamw: int
    first_sign_momentum_evaluations: list[int | None]
    one_state_lion_form: int


# --- the previous replay, reruns, moves, the machine ----------------------------------------------

@dataclass(init=False)
class SeedDigest(Record):
    """What the seed-by-seed comparison of two replays shows of one seed (``previous.seed_digest``)."""

    REQUIRED: ClassVar[tuple[str, ...]] = ("seed",)

    seed: int
    evaluations: int
    children: int
    first_sign_momentum: int | None
    sign_momentum_children_per_1000: float | None
    answer_recognized: str | None
    answer_fitness: float | None
    answer_scale: str | None
    answer_sign_momentum: bool | None
    search_seconds: float | None


@dataclass(init=False)
class PreviousReplay(Record):
    path: str
    command: str | None
    config: str | None
    seeds: list[SeedDigest]


@dataclass(init=False)
class Rerun(Record):
    """A ``--compare-only`` run on the finished replay."""

    command: str
    what: str
    started: str
    seconds: float


@dataclass(init=False)
class Move(Record):
    """``relocate``: the folder's old path and its new one."""

    old: str = field(metadata={"key": "from"})
    to: str


@dataclass(init=False)
class Machine(Record):
    platform: str
    python: str
    jax: str
    backend: str
    cpus: int | None
    processor: str | None


@dataclass(init=False)
class Plan(Record):
    """What decides a replay's results (``replay.replay_plan``): a resume needs the same."""

    config: str
    overrides: list[str]
    seeds: int
    quick: bool


@dataclass(init=False)
class ReplaySummary(Record):
    """The replay's ``summary.json`` (module docstring). ``partial`` and ``seconds_before`` while
    it runs; ``held_out`` through ``finished`` once the final comparison is done."""

    FORMAT: ClassVar[int] = 1

    format: int
    command: str
    quick: bool
    config: str
    overrides: list[str]
    machine: Machine
    plan: Plan
    started: str
    seeds: list[SeedResult]
    partial: bool
    paper: PaperStep
    seconds_before: float
    resumed: list[str]
    held_out: HeldOut
    meta_validation: MetaValidation
    goal: Goal
    previous: PreviousReplay
    headline_seed: int | None
    seconds: float
    finished: str
    reruns: list[Rerun]
    moved: list[Move]
    notes: str                 # written by hand: what made the replay work, and what did not
    interrupted: bool          # on the summary ``replay`` returns when stopped; never written

    @classmethod
    def from_json(cls, raw: Any, field: str = "") -> ReplaySummary:
        out = super().from_json(raw, field)
        if out.format is not None and out.format > cls.FORMAT:
            raise RecordError("format", f"is {out.format}: written by a later optsearch (this one reads "
                                        f"up to {cls.FORMAT})")
        return out

    def dumps(self) -> str:
        """The text of ``summary.json``, as the replay writes it."""
        return json.dumps(self.to_json(), indent=1, default=_jsonable)

    def write(self, path: Path) -> None:
        atomic_write(path, self.dumps().encode("utf-8"))


def _jsonable(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def read(text: str, path: Path | str, what: str = "a replay summary") -> ReplaySummary:
    """The summary in ``text`` (the content of ``path``), parsed once. Text that is not JSON is a
    ``ValueError`` saying ``cannot read <what>``; a field of the wrong type, or one the summary
    does not declare, a ``SummaryError`` naming the file and the field."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc})") from None
    try:
        return ReplaySummary.from_json(raw)
    except RecordError as exc:
        raise SummaryError(path, exc) from None


def load(path: Path, what: str = "a replay summary") -> ReplaySummary:
    """The summary in the file ``path`` (``read``); a file that cannot be read says so as ``read`` does."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc})") from None
    return read(text, path, what)
