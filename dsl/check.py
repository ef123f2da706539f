"""The checker: abstract execution of a program without running it.

It infers whether every name is a scalar or a tensor, rejects programs whose returned update or
states are not tensors, finds the redundant statements (those that cannot affect the returned
update in any later step) and computes a fingerprint that ignores temporary names, the order of
independent statements and redundant statements. The search uses the fingerprint as its cache
key, so that re-discovering a program costs nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from dsl import ops
from dsl.program import Program, ProgramError

SCALAR = "scalar"
TENSOR = "tensor"

_COMMUTATIVE = frozenset({"add", "mul", "max", "min", "dot"})


@dataclass(frozen=True)
class Analysis:
    """What the checker knows about a program.

    ``kinds[i]`` is the kind of the value statement ``i`` assigns; ``live`` and ``redundant`` are
    statement indices; ``state_live`` says whether the incoming m and v are ever read (if not,
    the returned m or v is dead); ``fingerprint`` is a hex digest.
    """

    kinds: tuple[str, ...]
    live: tuple[int, ...]
    redundant: tuple[int, ...]
    state_live: tuple[bool, bool]
    fingerprint: str


def input_kinds() -> dict[str, str]:
    return {"w": TENSOR, "g": TENSOR, "m": TENSOR, "v": TENSOR, "lr": SCALAR}


def scan_kinds(program: Program, upto: int | None = None) -> tuple[dict[str, str], list[str]]:
    """One abstract-execution pass over the first ``upto`` statements (default: all).

    Returns the kind of every name visible after them and the kind of each statement's result.
    """
    env = input_kinds()
    kinds = []
    for st in program.statements[:upto]:
        if ops.BY_NAME[st.op].kind != ops.ELEMENTWISE:  # reducing ops and constants
            kind = SCALAR
        else:
            kind = TENSOR if any(env[a] == TENSOR for a in st.names) else SCALAR
        env[st.dst] = kind
        kinds.append(kind)
    return env, kinds


def infer_kinds(program: Program) -> tuple[str, ...]:
    """The kind of each statement's result, by abstract execution over {scalar, tensor}."""
    return tuple(scan_kinds(program)[1])


def final_kinds(program: Program) -> dict[str, str]:
    """The kind of every name at the end of the body."""
    return scan_kinds(program)[0]


def liveness(program: Program) -> tuple[tuple[int, ...], tuple[bool, bool]]:
    """Live statement indices and whether the incoming m, v are read, across steps.

    The body runs once per step; the returned m and v become the next step's m and v. The
    returned update is always needed; a returned state is needed only if the body reads the
    incoming state (before overwriting it) in a computation that is itself needed (the least
    fixed point). One backward sweep tracks, for every name, which of the three returned values
    need it (a bit each), so the fixed point is taken over three bits rather than by sweeping
    the program again for each state found live.
    """
    statements = program.statements
    need: dict[str, int] = {}
    for bit, name in zip((1, 2, 4), program.returns):
        need[name] = need.get(name, 0) | bit
    masks = [0] * len(statements)
    for i in range(len(statements) - 1, -1, -1):
        st = statements[i]
        mask = need.pop(st.dst, 0)
        if mask:
            masks[i] = mask
            for a in st.names:
                need[a] = need.get(a, 0) | mask
    reads_m, reads_v = need.get("m", 0), need.get("v", 0)
    needed = 1  # the update
    while True:
        grown = needed | (2 if reads_m & needed else 0) | (4 if reads_v & needed else 0)
        if grown == needed:
            break
        needed = grown
    live = tuple(i for i, mask in enumerate(masks) if mask & needed)
    return live, (bool(needed & 2), bool(needed & 4))


def fingerprint(program: Program, live: tuple[int, ...] | None = None,
                state_live: tuple[bool, bool] | None = None) -> str:
    """A digest of what the program computes, up to renaming, reordering and dead code.

    Each live output is hashed as an expression tree over the inputs (commutative ops with
    sorted operands); dead returned states hash as a placeholder.
    """
    if live is None or state_live is None:
        live, state_live = liveness(program)
    env: dict[str, str] = {name: f"in:{name}" for name in ("w", "g", "m", "v", "lr")}
    for i in live:
        st = program.statements[i]
        parts = [env[a] if isinstance(a, str) else f"c:{a!r}" for a in st.args]
        if st.op in _COMMUTATIVE:
            parts.sort()
        env[st.dst] = _digest(f"{st.op}({','.join(parts)})")
        # names assigned by dead statements keep their old value in env; they are never read
        # by a live statement after that point, so the stale value cannot leak.
    upd, ret_m, ret_v = program.returns
    outs = [env[upd], env[ret_m] if state_live[0] else "dead", env[ret_v] if state_live[1] else "dead"]
    return _digest("|".join(outs))


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def analyze(program: Program) -> Analysis:
    """Check ``program`` and describe it; ``ProgramError`` if a returned value is not a tensor."""
    env, kinds = scan_kinds(program)
    for label, name in zip(("update", "m", "v"), program.returns):
        if env[name] != TENSOR:
            raise ProgramError(f"the returned {label} {name!r} is a scalar, not a tensor")
    live, state_live = liveness(program)
    live_set = set(live)
    redundant = tuple(i for i in range(len(program.statements)) if i not in live_set)
    return Analysis(tuple(kinds), live, redundant, state_live, fingerprint(program, live, state_live))


def check(program: Program) -> Analysis:
    """Alias of ``analyze``: the name the search uses for "is this child valid?"."""
    return analyze(program)


def prune(program: Program) -> Program:
    """The same program without its redundant statements (what the evaluator runs).

    A returned state that is never read is dead; if pruning removed its definition (or left it
    a scalar), the slot returns the update instead, which is always a defined tensor.
    """
    live, state_live = liveness(program)
    statements = [program.statements[i] for i in live]
    returns = list(program.returns)
    if not all(state_live):  # kinds only matter for a dead slot; skip the scan otherwise
        kinds = final_kinds(program.replace(statements=statements, returns=(program.returns[0],) * 3))
        for slot, is_live in ((1, state_live[0]), (2, state_live[1])):
            if not is_live and kinds.get(returns[slot]) != TENSOR:
                returns[slot] = returns[0]
    if len(statements) == len(program.statements) and tuple(returns) == program.returns:
        return program  # nothing to prune: no copy (the simplifier calls this once per rewrite)
    return program.replace(statements=statements, returns=returns)
