"""The schema of the search's YAML config: one section dataclass per top-level key, each field
with its documentation and bounds (``_field``); ``schema_rows`` prints it as the table in
``docs/search.md``. The ``mutation:`` weights come from ``MUTATIONS``, ``backend`` from
``BACKENDS``: a new mutation or backend gets its key without an edit here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import yaml

from search.backends import BACKENDS
from search.config.fields import bounds_text, is_section, type_hints
from search.config.limits import COUNT_MAX, NAME_MAX, SECONDS_MAX, SEED_MAX, TASK_SEED_MAX, WEIGHT_MAX
from search.mutate import MUTATIONS
from simplify.costs import OBJECTIVES

# ``batching`` values of ``proxy_tasks.evaluate.Evaluator`` (kept here so the config needs no JAX)
BATCHING = ("auto", "single", "runs", "map", "vmap")
# evaluator options that configs written before they were typed kept under evaluator.overrides
EVALUATOR_OPTIONS = ("batching", "batch_size", "hurdle_fraction", "hurdle_early", "hurdle_early_margin",
                     "hurdle_margin")


def _field(default, doc: str, *, ge=None, gt=None, le=None, choices=None, factory=False, items=None,
           max_items=None):
    """A schema field: documentation and bounds in ``metadata``; ``items`` holds the bounds of a
    list's entries or a mapping's values, ``max_items`` its length (default ``LIST_MAX``)."""
    meta = {"doc": doc, "ge": ge, "gt": gt, "le": le, "choices": choices, "items": items, "max_items": max_items}
    if factory:
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class SearchSection:
    population: int = _field(100, "population size P (aging evolution), per island", ge=2, le=1_000_000)
    tournament: int = _field(10, "tournament size T (<= population)", ge=1, le=1_000_000)
    max_evaluations: int = _field(1000, "stop after this many real evaluations (cache hits are free)", ge=1,
                                     le=COUNT_MAX)
    max_proposals: int | None = _field(None, "also stop after this many children (default 20 x max_evaluations)",
                                           ge=1, le=20 * COUNT_MAX)
    max_seconds: float | None = _field(None, "also stop after this wall time (not reproducible across machines)",
                                             gt=0, le=SECONDS_MAX)
    seeds: list[str] = _field(lambda: ["adamw"], "seed programs: built-in names or .train paths", factory=True,
                              max_items=100)
    restart_every: int = _field(0, "restart the population every N evaluations (0: never)", ge=0,
                                le=COUNT_MAX)
    restart_from: str = _field("best", "what a restart refills the population with",
                               choices=("seeds", "best", "both"))
    hurdle_quantile: float = _field(0.0, "dynamic hurdle: a child whose fitness at evaluator.hurdle_fraction of "
                                         "training is below this quantile of the population's stops there (0: off)",
                                    ge=0, le=1)
    hurdle_ceiling: float | None = _field(None, "the dynamic hurdle's threshold never rises above this fitness, so a "
                                                "slow starter this close to the baseline goes on (null: no ceiling)")
    islands: int = _field(1, "islands: populations that evolve apart, taking turns to propose (1: one population)",
                          ge=1, le=1024)
    migrate_every: int = _field(0, "every N children told, each island's best joins the next island (0: never)",
                               ge=0, le=COUNT_MAX)
    peers: str = _field("niche", "with a front, whom a child is measured against for the hurdle's threshold and for "
                                 "racing (which programs race, against which incumbent): its niche (a weak or young "
                                 "niche then stops fewer children and races more) or the whole population",
                        choices=("niche", "population"))
    hurdle_min: int = _field(8, "distinct programs in the population with a fitness at the hurdle point needed "
                                "before the hurdle applies", ge=1, le=1_000_000)
    objectives: list[str] = _field(lambda: ["fitness"], "what selection keeps: [fitness] (the fittest), or the front "
                                                        "[fitness, states] / [fitness, states, length]: a niche per "
                                                        "state count (and length band), each kept alive",
                                   factory=True, items={"choices": OBJECTIVES}, max_items=3)
    max_states: int | None = _field(None, "children must keep at most this many optimizer states (moving averages "
                                          "that reach a later update); the answer is the best within it "
                                          "(null: no budget)", ge=0, le=2)


# The mutation section: one weight per entry of the mutation table (``search.mutate.MUTATIONS``,
# so a new mutation gets its key without an edit here), then the options the mutations read.
_MUTATION_OPTIONS: list[tuple[str, Any, Any]] = [
    ("max_length", int, _field(30, "children longer than this (statements) are redrawn; must hold "
                                        "the longest seed program", ge=1, le=10_000)),
    ("max_redraws", int, _field(200, "give up (error) after this many invalid children in a row", ge=1,
                                         le=10_000)),
    ("constant_prob", float, _field(0.25, "probability that an inserted argument is a fresh constant", ge=0, le=1)),
    ("new_name_prob", float, _field(0.5, "probability that an insert assigns a fresh temporary", ge=0, le=1)),
    ("mutations_per_child", int, _field(1, "mutations applied to make one child", ge=1, le=10)),
    ("inplace_prob", float, _field(0.0, "probability that an insert transforms the previous statement's result in "
                                        "place (x = op(x, ...))", ge=0, le=1)),
    ("interp_logit", bool, _field(False, "modify moves an interp weight in (0, 1) by N(0, 1) on the logit scale "
                                         "instead of scaling it by 2**N(0, 1)")),
    ("ops", list[str] | None, _field(None, "ops the insert mutation may draw (default: every op of dsl.ops)")),
]
MutationSection = dataclasses.make_dataclass(
    "MutationSection",
    [(name, float, _field(m.weight, m.doc, ge=0, le=WEIGHT_MAX)) for name, m in MUTATIONS.items()] + _MUTATION_OPTIONS,
    namespace={"__doc__": "The ``mutation:`` section: a weight per registered mutation, then options.",
               "__module__": __name__})


@dataclass
class EvaluatorSection:
    tasks: dict[str, float] | None = _field(None, "proxy task name -> weight (null: the Evaluator's DEFAULT_TASKS); "
                                                     "at least one weight > 0", items={"ge": 0, "le": WEIGHT_MAX},
                                              max_items=100)
    seeds: list[int] = _field(lambda: [0], "task seeds averaged into the fitness", factory=True,
                              items={"ge": 0, "le": TASK_SEED_MAX})
    hurdle: float | None = _field(None, "hurdle passed to the Evaluator (skip later tasks below it)")
    hurdle_fraction: float = _field(0.3, "where the hurdle is checked, as a fraction of the first task's training",
                                    gt=0, le=1)
    hurdle_early: float = _field(0.0, "an earlier checkpoint of the dynamic hurdle, as a fraction of training (0: "
                                      "none): the hurdle's threshold already applies there (with hurdle_early_margin), "
                                      "so a program far behind stops at a fraction of the cost; must be before "
                                      "hurdle_fraction",
                                 ge=0, le=0.95)
    hurdle_early_margin: float | None = _field(None, "the margin at hurdle_early (null: hurdle_margin's); grid values "
                                                     "are closer together that early, so it may need to be wider", ge=0)
    hurdle_margin: float | None = _field(None, "at the dynamic hurdle, a grid value trailing the program's best value "
                                               "there by more than this fitness stops too (null: only the threshold "
                                               "stops values)", ge=0)
    lr_race: float = _field(0.0, "with an lr_grid: every grid value trains to this fraction of the steps, then only "
                                 "the best one there trains on (0: every value trains to the end)", ge=0, le=0.95)
    batching: str = _field("auto", "how the evaluator runs several programs or seeds at once: auto measures the "
                                   "fastest once per task; a fixed choice keeps local runs reproducible",
                           choices=BATCHING)
    batch_size: int = _field(32, "programs per vmapped batch (batching: vmap or map)", ge=1, le=65_536)
    lr_grid: list[float] = _field(lambda: [1.0], "learning-rate multipliers: each task scores a program (and the "
                                                 "AdamW baseline) at its best one", factory=True,
                                   items={"gt": 0, "le": 1e6}, max_items=100)
    cache_dir: str | None = _field(None, "baseline cache folder passed to the Evaluator")
    overrides: dict[str, Any] = _field(dict, "task settings (steps, batch, ...; a task's name maps to its own), "
                                             "see docs/proxy_tasks.md; checked against the task registry unless "
                                             "a factory is set",
                                      factory=True)
    factory: str | None = _field(None, "'module:callable' building the evaluator instead of "
                                       "proxy_tasks.evaluate.Evaluator (e.g. proxy_tasks.toy:ToyEvaluator); the "
                                       "module is imported: a config that sets it must be trusted like code")


@dataclass
class RaceSection:
    top_fraction: float = _field(0.0, "a program whose fitness would place it in this top fraction of the population "
                                      "is scored on more task seeds, one at a time, paired with the incumbent (0: off)",
                                 ge=0, le=1)
    max_seeds: int = _field(4, "task seeds a program is scored on at most (its first ones included)", ge=1,
                             le=1000)
    z: float = _field(1.0, "the paired test stops a race once the mean paired difference with the incumbent is more "
                           "than z standard errors away from 0", gt=0, le=1000)
    seeds: list[int] | None = _field(None, "task seeds a race draws, in order (default: the evaluator's seeds, then "
                                           "the next integers)", items={"ge": 0, "le": TASK_SEED_MAX})


@dataclass
class FunnelSection:
    every: int = _field(0, "run the funnel every N evaluations (0: only at the end)", ge=0, le=COUNT_MAX)
    top_k: int = _field(5, "distinct programs re-evaluated per round (by proxy fitness)", ge=1, le=10_000)
    scales: list[str] = _field(lambda: ["x10", "x100"], "successive scales; a program goes on only if "
                                                        "it beats the threshold at the previous one", factory=True,
                                     max_items=10)
    threshold: float = _field(0.0, "fitness needed at one scale to go on to the next (0: beats AdamW)")
    final: bool = _field(True, "run a funnel round when the search ends")


@dataclass
class RaySection:
    address: str | None = _field(None, "join this Ray cluster ('auto' or host:port); none: start a local Ray "
                                       "(with `RAY_AUTH_MODE=disabled` unless set: a loopback head of our own)")
    workers: int = _field(2, "evaluator actors", ge=1, le=100_000)
    cpus_per_worker: float = _field(1.0, "CPUs each actor reserves", gt=0, le=1024)
    calls_per_worker: int = _field(2, "calls queued on each actor (keeps it busy while the driver works)", ge=1,
                                   le=1000)
    timeout_s: float = _field(300.0, "per-program evaluation timeout once the actor is warm", gt=0,
                             le=SECONDS_MAX)
    startup_timeout_s: float = _field(900.0, "extra time for an actor's first call (compilation)", ge=0,
                                     le=SECONDS_MAX)
    max_retries: int = _field(2, "resubmissions of a program after its actor died", ge=0, le=1000)
    single_thread: bool = _field(True, "run each actor's XLA on one thread (no oversubscription when "
                                       "actors share a node's cores)")
    pin_cores: bool = _field(True, "pin each actor to a core of its node that no other actor holds, when "
                                   "cpus_per_worker <= 1 (XLA's idle threads spin: two unpinned actors on 2 "
                                   "cores did half the work of two pinned ones)")


@dataclass
class RunSection:
    out: str | None = _field(None, "run directory (default results/runs/<name>-<timestamp>)")
    checkpoint_every_s: float = _field(60.0, "checkpoint when this many seconds have passed since the last one",
                                       gt=0, le=SECONDS_MAX)
    checkpoint_every: int = _field(200, "or when N children were recorded since, whichever comes first", ge=1,
                                   le=COUNT_MAX)
    progress: bool = _field(True, "show live progress (rich) on a terminal")
    pin_core: bool = _field(False, "local backend: pin this whole process to one free core before XLA starts "
                                   "(XLA's idle threads spin; pinned, proxy-task searches ran 1.3-1.4x faster)")


@dataclass
class Config:
    name: str = _field("search", "run name (prefix of the run directory): printable, no / or \\, not "
                                        f"starting with a dot, at most {NAME_MAX} characters")
    seed: int = _field(0, "random seed of the search (numpy Generator)", ge=0, le=SEED_MAX)
    backend: str = _field("local", "where evaluations run", choices=tuple(BACKENDS))
    programs_per_call: int = _field(4, "programs handed to the evaluator per call (batched, vmapped)", ge=1,
                                  le=10_000)
    search: SearchSection = _field(SearchSection, "", factory=True)
    mutation: MutationSection = _field(MutationSection, "", factory=True)
    evaluator: EvaluatorSection = _field(EvaluatorSection, "", factory=True)
    race: RaceSection = _field(RaceSection, "", factory=True)
    funnel: FunnelSection = _field(FunnelSection, "", factory=True)
    ray: RaySection = _field(RaySection, "", factory=True)
    run: RunSection = _field(RunSection, "", factory=True)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def schema_rows(cls=Config, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, type, default, doc) for every leaf key: the documented schema."""
    rows = []
    hints = type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        tp = hints[f.name]
        if is_section(tp):
            rows.extend(schema_rows(tp, path + "."))
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        doc = f.metadata.get("doc", "") + bounds_text(f.metadata, tp)
        tname = str(tp).replace("typing.", "").replace("<class '", "").replace("'>", "").replace(" | None", " or null")
        rows.append((path, tname, yaml.safe_dump(default, default_flow_style=True).strip().removesuffix("..."
                                                                                                      ).strip(), doc))
    return rows
