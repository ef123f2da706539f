"""The funnel: the best distinct programs re-scored at successive larger scales, and the answer.

A round takes the top-K cache entries by proxy fitness, scores each at the first scale (``x10``),
keeps those that beat ``threshold`` there (0: beat AdamW) for the next scale (``x100``), and so on.
A program is scored once per scale for the whole run: scores are keyed by ``(scale,
fingerprint)``. Each round ends with a meta-validation point (``RoundRow``): the proxy-best
program's fitness at each scale, and the funnel's best at each scale, against evaluations.

No I/O: ``round`` is handed an ``evaluate(scale, entries) -> outcomes`` function (the driver's,
which uses the backend and the log) and returns the rows it made. ``answer`` is the one
definition of a run's answer, used by the driver and by ``search.analysis`` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from search.results import Entry, Outcome
from search.rows import FunnelRow, RoundRow

Evaluate = Callable[[str, list[Entry]], list[Outcome]]


@dataclass(frozen=True)
class Answer:
    """A run's answer: the funnel's best at the deepest scale reached, else the best proxy fitness."""

    id: int
    scale: str           # "proxy", or a funnel scale
    fitness: float       # at ``scale``
    proxy_fitness: float
    source: str

    def to_json(self) -> dict:
        return asdict(self)


def answer(scores: Iterable[FunnelRow], scales: Sequence[str], proxy_best: Entry | None) -> Answer | None:
    """The highest fitness at the deepest of ``scales`` with a score (ties: the lowest id), else
    ``proxy_best`` (the best cache entry) at the proxy scale, else None."""
    scores = list(scores)
    for scale in reversed(list(scales)):
        rows = [r for r in scores if r.scale == scale]
        if rows:
            b = max(rows, key=lambda r: (r.fitness, -r.id))
            return Answer(b.id, scale, b.fitness, b.proxy_fitness if b.proxy_fitness is not None else b.fitness,
                          b.source)
    if proxy_best is None:
        return None
    return Answer(proxy_best.id, "proxy", proxy_best.fitness, proxy_best.fitness, proxy_best.source)


@dataclass
class Funnel:
    """Funnel settings (``scales``, ``threshold``, ``top_k``) and state: rounds run, the scores by
    ``(scale, fingerprint)`` and the meta-validation curve."""

    scales: tuple[str, ...]
    threshold: float = 0.0
    top_k: int = 5
    rounds: int = 0
    scores: dict[tuple[str, str], FunnelRow] = field(default_factory=dict)
    curve: list[RoundRow] = field(default_factory=list)

    @classmethod
    def from_section(cls, section) -> Funnel:
        return cls(tuple(section.scales), section.threshold, section.top_k)

    def round(self, candidates: list[Entry], evaluate: Evaluate, evaluations: int, proposals: int,
              proxy_best: Entry | None = None) -> tuple[RoundRow, list[FunnelRow]]:
        """Score ``candidates`` (the top-K entries, best first) scale by scale; returns the round's
        summary and the re-evaluations it made (already-scored ``(scale, fingerprint)`` pairs are
        not scored again)."""
        self.rounds += 1
        rnd = self.rounds
        made: list[FunnelRow] = []
        for scale in self.scales:
            todo = [e for e in candidates if (scale, e.fingerprint) not in self.scores]
            outcomes = evaluate(scale, todo) if todo else []
            for e, o in zip(todo, outcomes):
                row = FunnelRow(round=rnd, scale=scale, id=e.id, fingerprint=e.fingerprint, fitness=o.fitness,
                                source=e.source, proxy_fitness=e.fitness, evaluations=evaluations, tasks=o.tasks,
                                lr_scales=o.lr_scales, reason=o.reason, seconds=round(o.seconds, 6))
                self.scores[(scale, e.fingerprint)] = row
                made.append(row)
            candidates = [e for e in candidates if self.scores[(scale, e.fingerprint)].fitness > self.threshold]
        point = self._point(rnd, evaluations, proposals, candidates_best=proxy_best)
        self.curve.append(point)
        return point, made

    def _point(self, rnd: int, evaluations: int, proposals: int, candidates_best: Entry | None) -> RoundRow:
        proxy_best = None
        if candidates_best is not None:
            proxy_best = {"id": candidates_best.id, "fitness": candidates_best.fitness}
            for scale in self.scales:
                row = self.scores.get((scale, candidates_best.fingerprint))
                proxy_best[scale] = row.fitness if row else None
        best = {}
        for scale in self.scales:
            rows = [r for (s, _), r in self.scores.items() if s == scale]
            if rows:
                b = max(rows, key=lambda r: (r.fitness, -r.id))
                best[scale] = {"id": b.id, "fitness": b.fitness, "proxy_fitness": b.proxy_fitness}
        return RoundRow(rnd, evaluations, proposals, proxy_best, best)

    def answer(self, proxy_best: Entry | None) -> Answer | None:
        return answer(self.scores.values(), self.scales, proxy_best)

    # --- persistence ---------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {"rounds": self.rounds, "scores": {f"{s}|{fp}": r.to_json() for (s, fp), r in self.scores.items()},
                "curve": [p.point() for p in self.curve]}

    def load_state_dict(self, d: dict) -> None:
        self.rounds = int(d["rounds"])
        self.scores = {}
        for key, raw in d["scores"].items():
            scale, _, fp = key.partition("|")
            self.scores[(scale, fp)] = FunnelRow.from_json({"kind": "eval", **raw}, "checkpoint", 0)
        self.curve = [RoundRow.from_json(p, "checkpoint", 0) for p in d["curve"]]
