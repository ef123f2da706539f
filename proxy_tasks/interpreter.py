"""Programs as data: encode a program into arrays and run it with one compiled interpreter.

``encode`` turns the live statements of a program into int32 arrays (op code, three argument
slots) and float32 constants, padded to a length bucket with no-op statements, so one compiled
training loop per (task, scale, bucket) runs every program. The register file holds the five
inputs, one row per statement result (SSA: statement ``i`` writes slot ``5 + i``), the constants
and a scratch row that padding writes to.

All parameter leaves are flattened into one vector so the interpreter runs once per step.
Reducing ops stay per leaf, as in ``dsl.to_optax``: a segment sum over a leaf-id vector, gathered
back. Scalars (``lr``, constants, reductions) are rows holding one value per leaf; a reducing op
applied to a value the checker says is a scalar is remapped at encode time to an internal op with
the scalar semantics of ``dsl.jax_exec`` (``norm(s) = sqrt(s*s)``, ``dot(s, t) = s*t`` ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from dsl import ops
from dsl.check import SCALAR, infer_kinds
from dsl.program import INPUTS, Program, ProgramError

BUCKETS: tuple[int, ...] = (16, 32, 64, 128, 256)
"""Length buckets: one compiled loop per (task, bucket). None below 16: a search's programs (up to
~20 live statements) straddle 8 and 16, so a bucket of 8 compiled a second, identical loop per
task for the shortest ones; the statement count is traced, so the padding costs no steps and a
program computes bit-identical values in any bucket it fits."""

# internal ops, appended after the table (op code = len(ops.OPS) + position)
INTERNAL = ("nop", "norm_s", "dot_ss", "cos_ss", "cos_st", "cos_ts", "cbgn_s")
INTERNAL_CODE = {name: len(ops.OPS) + i for i, name in enumerate(INTERNAL)}
N_CODES = len(ops.OPS) + len(INTERNAL)


@dataclass(frozen=True)
class Encoded:
    """A program as arrays, padded to ``bucket`` statements (numpy, host side)."""

    op: np.ndarray       # int32 [bucket]
    args: np.ndarray     # int32 [bucket, 3] register slots
    consts: np.ndarray   # float32 [bucket] values of the constant slots
    ret: np.ndarray      # int32 [3] slots of update, m, v
    bucket: int
    length: int          # live statements actually encoded

    def arrays(self) -> tuple[np.ndarray, ...]:
        """What the compiled runners take: (op, args, consts, ret, length)."""
        return (self.op, self.args, self.consts, self.ret, np.int32(self.length))


def n_slots(bucket: int) -> int:
    return len(INPUTS) + 2 * bucket + 1


def bucket_for(length: int, n_consts: int = 0) -> int:
    need = max(length, n_consts)
    for b in BUCKETS:
        if need <= b:
            return b
    raise ProgramError(f"program too long for the interpreter ({need} > {BUCKETS[-1]} live statements)")


def _remap(name: str, arg_kinds: Sequence[str]) -> int:
    scalar = [k == SCALAR for k in arg_kinds]
    if name in ("norm", "global_norm") and scalar[0]:
        return INTERNAL_CODE["norm_s"]
    if name == "dot" and all(scalar):
        return INTERNAL_CODE["dot_ss"]
    if name == "cosine_sim" and any(scalar):
        return INTERNAL_CODE["cos_ss" if all(scalar) else "cos_st" if scalar[0] else "cos_ts"]
    if name == "clip_by_global_norm" and scalar[0]:
        return INTERNAL_CODE["cbgn_s"]
    return ops.OP_CODE[name]


def encode(program: Program, bucket: int | None = None) -> Encoded:
    """Arrays for ``program`` (already pruned by the caller: every statement is encoded)."""
    kinds_of = {name: SCALAR if name == "lr" else "tensor" for name in INPUTS}
    slot_of = {name: i for i, name in enumerate(INPUTS)}
    const_vals: list[float] = []
    stmt_kinds = infer_kinds(program)
    n = len(program.statements)
    n_consts = len({a for st in program.statements for a in st.args if not isinstance(a, str)})
    b = bucket or bucket_for(n, n_consts)
    if max(n, n_consts) > b:
        raise ProgramError(f"program does not fit bucket {b}")
    base_const = len(INPUTS) + b
    scratch = len(INPUTS) + 2 * b
    op = np.full(b, INTERNAL_CODE["nop"], np.int32)
    args = np.full((b, 3), scratch, np.int32)
    consts = np.zeros(b, np.float32)
    for i, st in enumerate(program.statements):
        arg_kinds = []
        for j, a in enumerate(st.args):
            if isinstance(a, str):
                args[i, j] = slot_of[a]
                arg_kinds.append(kinds_of[a])
            else:
                if a not in const_vals:
                    const_vals.append(a)
                args[i, j] = base_const + const_vals.index(a)
                arg_kinds.append(SCALAR)
        op[i] = _remap(st.op, arg_kinds)
        slot_of[st.dst] = len(INPUTS) + i
        kinds_of[st.dst] = stmt_kinds[i]
    consts[: len(const_vals)] = np.asarray(const_vals, np.float32)
    ret = np.asarray([slot_of[name] for name in program.returns], np.int32)
    return Encoded(op, args, consts, ret, b, n)


def stack(encoded: Sequence[Encoded]) -> tuple[np.ndarray, ...]:
    """Batch several programs of one bucket (leading axis on each of ``arrays()``)."""
    return tuple(np.stack(parts) for parts in zip(*(e.arrays() for e in encoded)))


# --- the interpreter -----------------------------------------------------------------------------

def _branches(seg: jax.Array | None, n_leaves: int) -> list[Callable]:
    """One function (a, b, c) -> vector per op code, in op-code order.

    Ops that sum over the tensor take their form from the op table (``Op.jnp_by_total``) over a
    per-leaf segment sum; their internal scalar variants pass the identity instead (a scalar row
    is its own total), or mix the two where one argument is a scalar (``cos_st``, ``cos_ts``).
    """

    def seg_sum(x):
        if seg is None or n_leaves == 1:
            return jnp.broadcast_to(jnp.sum(x), x.shape)
        return jax.ops.segment_sum(x, seg, num_segments=n_leaves)[seg]

    def itself(x):
        return x

    def over(name: str, total: Callable) -> Callable:
        op = ops.BY_NAME[name]
        fn = op.jnp_by_total(total)
        return lambda a, b, c: fn(*(a, b, c)[: op.arity])

    div = ops.BY_NAME["div"].jnp_fn
    norm, norm_s = ops.BY_NAME["norm"].jnp_by_total(seg_sum), ops.BY_NAME["norm"].jnp_by_total(itself)
    special = {op.name: over(op.name, seg_sum) for op in ops.OPS if op.jnp_by_total is not None}
    special |= {
        "nop": lambda a, b, c: a,
        "norm_s": over("norm", itself),
        "dot_ss": over("dot", itself),
        "cos_ss": over("cosine_sim", itself),
        "cos_st": lambda a, b, c: div(seg_sum(a * b), norm_s(a) * norm(b)),
        "cos_ts": lambda a, b, c: div(seg_sum(a * b), norm(a) * norm_s(b)),
        "cbgn_s": over("clip_by_global_norm", itself),
    }

    def generic(op: ops.Op):
        def fn(a, b, c):
            out = op.jnp_fn(*(a, b, c)[: op.arity])
            return jnp.broadcast_to(jnp.asarray(out, jnp.float32), a.shape).astype(jnp.float32)
        return fn

    out = []
    for name in [o.name for o in ops.OPS] + list(INTERNAL):
        if name in special:
            fn = special[name]
            out.append(lambda a, b, c, fn=fn: fn(a, b, c).astype(jnp.float32))
        else:
            out.append(generic(ops.BY_NAME[name]))
    return out


def init_registers(consts: jax.Array, bucket: int, size: int) -> jax.Array:
    """The register file [slots, size] with the constants in place (kept across steps)."""
    regs = jnp.zeros((n_slots(bucket), size), jnp.float32)
    base = len(INPUTS) + bucket
    return regs.at[base: base + bucket].set(jnp.broadcast_to(consts[:, None], (bucket, size)))


def make_step(seg: np.ndarray | None, n_leaves: int) -> Callable:
    """``step(regs, op, args, ret, n, w, g, m, v, lr) -> (regs, update, m, v)`` on flat vectors.

    Runs the first ``n`` statements (a traced count, so padding costs nothing) with one
    ``lax.switch`` each; statement ``i`` writes register ``5 + i``.
    """
    seg_j = None if seg is None else jnp.asarray(seg)
    branches = _branches(seg_j, n_leaves)

    def step(regs, op, args, ret, n, w, g, m, v, lr):
        size = w.shape[0]
        inputs = jnp.stack([w, g, m, v, jnp.broadcast_to(lr, (size,))])
        regs = jax.lax.dynamic_update_slice(regs, inputs, (0, 0))

        def body(i, regs):
            slots = args[i]
            out = jax.lax.switch(op[i], branches, regs[slots[0]], regs[slots[1]], regs[slots[2]])
            return jax.lax.dynamic_update_slice(regs, out[None], (len(INPUTS) + i, 0))

        regs = jax.lax.fori_loop(0, n, body, regs)
        return regs, regs[ret[0]], regs[ret[1]], regs[ret[2]]

    return step
