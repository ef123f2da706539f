"""What a program costs beside its fitness: optimizer states, length, ops. Computed once per
fingerprint, from dataflow first and behaviour second.

Lion's case against AdamW is memory: one moving average instead of two. Counting the states a
program *writes* would miss the search's own stepping stone, ``update = sign(update)`` on the
AdamW seed: it still writes ``v``, but ``sign(m / sqrt(v)) = sign(m)``, so ``v`` no longer changes
any update and an implementation would not keep it. So a state counts when it carries
information from one step into a later update:

1. dataflow (``dsl.check.liveness``): a state the update never reads, directly or through the
   other state, is dead and costs nothing;
2. behaviour: for a live state, the program is run on random gradients from zero (its own
   trajectory), the state is replaced at one step by other values it could hold (another
   trajectory's, and the same values rescaled by positive factors), and the following updates
   are compared bit for bit. A state whose replacement never changes an update is cancelled
   (``sign(m / sqrt(v))``, ``sign(m * abs(v))``) and does not count.

``length`` counts the statements left after the exact simplification passes (``simplify_exact``),
so that dead code, copies and foldable constants cost nothing; ``ops`` counts those of them that
act on tensors (work per parameter per step).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dsl import ops
from dsl.check import TENSOR, infer_kinds, liveness, prune
from dsl.execute import execute, roll
from dsl.program import Program

STATE_NAMES = ("m", "v")
OBJECTIVES = ("fitness", "states", "length")  # fitness is maximized, the costs minimized

_WARM, _AFTER, _SIZE, _TRIALS = 5, 5, 16, 2
_QUICK = (1, 3, 3)  # trials, warm-up and steps after of the first, cheap pass (see carried_states)


@dataclass(frozen=True)
class Costs:
    """A program's costs: ``states`` (0-2, moving averages that reach a later update),
    ``length`` (statements after exact simplification) and ``ops`` (of them, tensor ops)."""

    states: int
    length: int
    ops: int

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def _run(program: Program, w: np.ndarray, gs: np.ndarray, m: np.ndarray, v: np.ndarray):
    """Updates and the final states along gradients ``gs`` from states ``(m, v)`` (lr = 1)."""
    r = roll(program, gs, w, 1.0, m=m, v=v)
    return r.updates, r.ms[-1], r.vs[-1]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to float rounding: numpy's vectorized loops may round the last bit of the same
    value differently by position, so bit equality would see information that is not there."""
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True))


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(_close(x, y) for x, y in zip(a, b))


def carried_states(program: Program, seed: int = 0) -> tuple[bool, bool]:
    """Whether ``m`` and ``v`` each carry information into a later update (module docstring).

    A changed update is proof that a state carries, so a quick pass (one trial, a few steps)
    settles most programs; only a state it finds cancelled is tested again in full."""
    _, live = liveness(program)
    if not any(live):
        return False, False
    if any(ops.BY_NAME[st.op].kind == ops.REDUCING or st.op in _MIXING for st in program.statements):
        return _carried_one_by_one(program, live, seed)
    quick = _carried_batched(program, live, seed, *_QUICK)
    if all(q or not lv for q, lv in zip(quick, live)):
        return quick
    rest = (live[0] and not quick[0], live[1] and not quick[1])
    full = _carried_batched(program, rest, seed, _TRIALS, _WARM, _AFTER)
    return quick[0] or full[0], quick[1] or full[1]


_MIXING = frozenset({"clip_by_global_norm"})  # elementwise in kind, but reads the whole tensor


def _probes(seed: int, trials: int = _TRIALS, warm: int = _WARM, after: int = _AFTER):
    """Per trial: w, the gradients (warm-up and after), another trajectory's gradients, and the
    positive factors and noise of the replacements."""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        drift = rng.normal(size=_SIZE)
        w = rng.normal(size=_SIZE)
        gs = 0.5 * drift + rng.normal(size=(warm + after, _SIZE))
        other = rng.normal(size=(warm, _SIZE)) * rng.uniform(0.5, 2.0)
        yield w, gs, other, np.exp(rng.normal(scale=0.7, size=_SIZE)), rng.normal(size=_SIZE)


def _replacements(own: np.ndarray, theirs: np.ndarray, factor: np.ndarray, noise: np.ndarray) -> list[np.ndarray]:
    return [theirs, own * factor, own + noise]


def _carried_batched(program: Program, live: tuple[bool, bool], seed: int, n_trials: int = _TRIALS,
                     warm: int = _WARM, after: int = _AFTER) -> tuple[bool, bool]:
    """Every trial and replacement as one row of a batch: one ``execute`` per step (elementwise
    programs only, so rows cannot mix)."""
    slots = [k for k in (0, 1) if live[k]]
    trials = list(_probes(seed, n_trials, warm, after))
    t = len(trials)
    w = np.stack([p[0] for p in trials])
    zero = np.zeros((2 * t, _SIZE))
    warm_g = np.concatenate([np.stack([p[1][:warm] for p in trials], 1), np.stack([p[2] for p in trials], 1)], 1)
    ww = np.concatenate([w, w])
    m, v = zero, zero
    with np.errstate(all="ignore"):
        for g in warm_g:
            _, m, v = execute(program, ww, g, m, v, 1.0)
        rows_m, rows_v, owner = [], [], []
        for i, (_, _, _, factor, noise) in enumerate(trials):
            own = (m[i], v[i])
            theirs = (m[t + i], v[t + i])
            rows_m.append(own[0])
            rows_v.append(own[1])
            owner.append((i, None))
            for k in slots:
                for r in _replacements(own[k], theirs[k], factor, noise):
                    states = [own[0], own[1]]
                    states[k] = r
                    rows_m.append(states[0])
                    rows_v.append(states[1])
                    owner.append((i, k))
        rows = len(owner)
        idx = [i for i, _ in owner]
        bm, bv, bw = np.stack(rows_m), np.stack(rows_v), w[idx]
        gs_after = np.stack([trials[i][1][warm:] for i in idx], 1)
        ups = []
        for g in gs_after:
            u, bm, bv = execute(program, bw, g, bm, bv, 1.0)
            ups.append(u)
        ups = np.stack(ups, 1).reshape(rows, -1)  # (rows, steps x size)
    base = {i: r for r, (i, k) in enumerate(owner) if k is None}
    carried = [False, False]
    for r, (i, k) in enumerate(owner):
        if k is not None and not _close(ups[r], ups[base[i]]):
            carried[k] = True
    return carried[0], carried[1]


def _carried_one_by_one(program: Program, live: tuple[bool, bool], seed: int) -> tuple[bool, bool]:
    """The same test one trajectory at a time (programs with reducing ops, which read the whole
    tensor and would mix the rows of a batch)."""
    carried = [False, False]
    zero = np.zeros(_SIZE)
    with np.errstate(all="ignore"):
        for w, gs, other, factor, noise in _probes(seed):
            _, m, v = _run(program, w, gs[:_WARM], zero, zero)
            _, m2, v2 = _run(program, w, other, zero, zero)
            base, _, _ = _run(program, w, gs[_WARM:], m, v)
            for slot in (0, 1):
                if not live[slot] or carried[slot]:
                    continue
                own = (m, v)[slot]
                for replacement in _replacements(own, (m2, v2)[slot], factor, noise):
                    states = [m, v]
                    states[slot] = replacement
                    ups, _, _ = _run(program, w, gs[_WARM:], *states)
                    if not _same(base, ups):
                        carried[slot] = True
                        break
            if all(c or not lv for c, lv in zip(carried, live)):
                break
    return carried[0], carried[1]


def count_states(program: Program) -> int:
    """How many of ``m``, ``v`` carry information from one step into a later update."""
    return sum(carried_states(program))


def costs(program: Program) -> Costs:
    """``Costs`` of ``program`` (states by behaviour, length and ops after exact simplification)."""
    from simplify.exact import simplify_exact  # the exact passes import sympy lazily; keep import light

    try:
        simple = simplify_exact(program)
    except (ValueError, ArithmeticError, RecursionError):  # a rewrite it cannot finish: pruning is exact too
        simple = prune(program)
    kinds = infer_kinds(simple)
    return Costs(count_states(program), len(simple.statements), sum(k == TENSOR for k in kinds))


def dominates(a: dict[str, float], b: dict[str, float], objectives: tuple[str, ...]) -> bool:
    """Whether ``a`` is at least as good as ``b`` in every objective (fitness higher, costs lower)
    and better in one."""
    better = False
    for name in objectives:
        x, y = (a[name], b[name]) if name == "fitness" else (-a[name], -b[name])
        if x < y:
            return False
        better = better or x > y
    return better
