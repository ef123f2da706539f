"""Whole training runs as jitted functions: the interpreter path and the optax path.

A run is ``points`` chunks of ``steps // points`` optimizer steps (``lax.scan`` inside
``lax.scan``), with the validation loss taken before the first chunk and after each one. A run
can stop after any number of chunks and resume from its returned state: that is how the hurdle
saves compute without a Python loop per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from proxy_tasks import interpreter
from proxy_tasks.task import Task


class RunState(NamedTuple):
    w: jax.Array      # flat parameters
    m: jax.Array
    v: jax.Array
    regs: jax.Array   # interpreter registers (constants persist across steps)
    batch_key: jax.Array
    lr_scale: jax.Array  # multiplies the schedule's value (the learning-rate grid), float32 scalar
    flip: jax.Array      # +-1 per parameter with ``sign_flip``, else the scalar 1.0


FLIP_SALT = 0x5F11  # folded into a run's init key to draw its sign flips


def sign_flips(k_init: jax.Array, size: int) -> jax.Array:
    """A run's random sign per parameter (``sign_flip``): the program trains ``flip * w``.

    Every update rule that is odd in (w, g) jointly (SGD, AdamW, Lion, any sign method) takes
    exactly the same steps in the flipped coordinates, since multiplying by -1 is exact in
    floating point; a rule that is not (a constant added to every coordinate, say) now pushes
    each parameter in a random direction instead of exploiting the task's sign conventions."""
    return jax.random.rademacher(jax.random.fold_in(k_init, FLIP_SALT), (size,), jnp.float32)


def _layout(task: Task) -> tuple[int, Callable[[jax.Array], Any], np.ndarray, int]:
    """(flat size, unravel, leaf id per flat parameter, number of leaves) of the task's parameters.

    Traced abstractly (``jax.eval_shape``): ``unravel`` depends only on the leaves' shapes and
    dtypes, and initializing parameters for real here compiled a dozen small eager ops per task."""
    found: list[Callable[[jax.Array], Any]] = []

    def flat(key):
        out, unravel = ravel_pytree(task.problem.init(key))
        found.append(unravel)  # static: the tree structure, sizes and shapes, no traced values
        return out

    size = int(jax.eval_shape(flat, jax.random.PRNGKey(0)).shape[0])
    leaves = jax.tree_util.tree_leaves(jax.eval_shape(task.problem.init, jax.random.PRNGKey(0)))
    ids = np.concatenate([np.full(math.prod(x.shape), i, np.int32) for i, x in enumerate(leaves)])
    return size, found[0], ids, len(leaves)


class ProgramRunner:
    """Compiled training loops for one task and one bucket, shared by every program.

    ``init(encoded arrays, seed, lr_scale) -> (state, initial loss)`` and ``advance(state, encoded
    arrays, first_chunk, n_chunks) -> (state, losses)``; ``batched`` variants take a leading program
    axis, ``runs`` variants a leading axis of runs (seeds, learning-rate scales) of ONE program.
    ``run`` and ``run_runs`` (whole runs) are each one compiled program, init and training fused.
    Take the process's shared instance from ``runner(task, bucket)``.
    """

    def __init__(self, task: Task, bucket: int):
        self.task = task
        self.bucket = bucket
        self.size, self.unravel, seg, n_leaves = _layout(task)
        step = interpreter.make_step(seg if n_leaves > 1 else None, n_leaves)
        loss, chunk = task.problem.loss, task.chunk
        unravel = self.unravel
        flipping = bool(task.settings.get("sign_flip", False))

        def init(enc, seed, lr_scale=1.0):
            consts = enc[2]
            k_init, k_batch = task.keys(seed)
            w = ravel_pytree(task.problem.init(k_init))[0].astype(jnp.float32)
            zeros = jnp.zeros_like(w)
            regs = interpreter.init_registers(consts, bucket, self.size)
            scale = jnp.asarray(lr_scale, jnp.float32)
            flip = sign_flips(k_init, self.size) if flipping else jnp.ones((), jnp.float32)
            return RunState(w, zeros, zeros, regs, k_batch, scale, flip), task.val_loss(unravel(w))

        def grad(state: RunState, t):
            batch = task.problem.batch(jax.random.fold_in(state.batch_key, t))
            return ravel_pytree(jax.grad(loss)(unravel(state.w), batch))[0]

        def apply(state: RunState, g, t, enc):
            op, args, _, ret, n = enc
            lr = task.lr(t) * state.lr_scale
            if flipping:  # the program's view: flipped parameters and gradients; m, v live there
                regs, upd, m, v = step(state.regs, op, args, ret, n, state.flip * state.w, state.flip * g,
                                       state.m, state.v, lr)
                upd = state.flip * upd
            else:
                regs, upd, m, v = step(state.regs, op, args, ret, n, state.w, g, state.m, state.v, lr)
            return RunState(state.w - upd, m, v, regs, state.batch_key, state.lr_scale, state.flip)

        def train_step(state, t, enc):
            return apply(state, grad(state, t), t, enc)

        def train_step_batched(state, t, enc):
            # The task (data, forward, backward) is vmapped; the interpreter runs program by
            # program (lax.map), because vmap would turn its lax.switch into a select that
            # evaluates every op of the table.
            g = jax.vmap(grad, in_axes=(0, None))(state, t)
            return jax.lax.map(lambda x: apply(x[0], x[1], t, x[2]), (state, g, enc))

        def make_advance(train_step, val):
            def advance(state, enc, first_chunk, n_chunks):
                def one_chunk(state, c):
                    ts = (first_chunk + c) * chunk + jnp.arange(chunk)
                    state, _ = jax.lax.scan(lambda s, t: (train_step(s, t, enc), None), state, ts)
                    return state, val(state.w)

                return jax.lax.scan(one_chunk, state, jnp.arange(n_chunks))
            return advance

        val = lambda w: task.val_loss(unravel(w))
        single = make_advance(train_step, val)
        self.init = jax.jit(init)
        self.advance = jax.jit(single, static_argnums=3)
        self.init_batched = jax.jit(jax.vmap(init))
        self._advance_batched = {
            "map": jax.jit(make_advance(train_step_batched, jax.vmap(val)), static_argnums=3),
            "vmap": jax.jit(jax.vmap(single, in_axes=(0, 0, None, None)), static_argnums=3),
        }
        # Runs of one program: the program (op codes) is shared, so under vmap each lax.switch
        # keeps an unbatched index and stays a real branch; only the data is batched.
        self.init_runs = jax.jit(jax.vmap(init, in_axes=(None, 0, 0)))

        # Chunks [first, stop) with both bounds traced: one compiled loop per number of runs,
        # whatever the checkpoints (a static chunk count compiled a loop per stage length, ~9 s
        # each on the ViT). The losses land in a [points] buffer; ``advance_runs`` slices it.
        def stage(state, enc, first_chunk, stop_chunk):
            def body(c, carry):
                s, buf = carry
                ts = c * chunk + jnp.arange(chunk)
                s, _ = jax.lax.scan(lambda x, t: (train_step(x, t, enc), None), s, ts)
                return s, buf.at[c].set(val(s.w))

            return jax.lax.fori_loop(first_chunk, stop_chunk, body,
                                     (state, jnp.zeros(task.points, jnp.float32)))

        self._stage_runs = jax.jit(jax.vmap(stage, in_axes=(0, None, None, None)))

        # Whole runs as one program each: a run from start to end needs no state in between, and
        # compiling init and advance apart cost two compilations for it.
        def whole(enc, seed, lr_scale):
            state, l0 = init(enc, seed, lr_scale)
            return jnp.concatenate([l0[None], single(state, enc, 0, task.points)[1]])

        self._whole = jax.jit(whole)
        self._whole_runs = jax.jit(jax.vmap(whole, in_axes=(None, 0, 0)))

    def run(self, enc, seed: int, lr_scale: float = 1.0) -> np.ndarray:
        """Whole run of one program: the curve [points + 1] (initial loss first)."""
        return np.asarray(self._whole(enc, seed, lr_scale))

    def run_runs(self, enc, seeds, lr_scales) -> np.ndarray:
        """Several runs of ONE program at once (seeds and learning-rate scales, same length R):
        the curves [R, points + 1]. The cheapest batching: the interpreter's switch is not batched."""
        return np.asarray(self._whole_runs(enc, np.asarray(seeds, np.int32), np.asarray(lr_scales, np.float32)))

    def advance_runs(self, state: RunState, enc, first_chunk: int, n_chunks: int) -> tuple[RunState, np.ndarray]:
        """Runs of ONE program (leading axis of ``state``) trained ``n_chunks`` chunks on from
        ``first_chunk``: (state, validation losses [R, n_chunks]). Compiled once per number of
        runs and bucket, whatever ``first_chunk`` and ``n_chunks``."""
        state, buf = self._stage_runs(state, enc, np.int32(first_chunk), np.int32(first_chunk + n_chunks))
        return state, np.asarray(buf)[:, first_chunk: first_chunk + n_chunks]

    def run_batched(self, encs, seeds, mode: str = "map", lr_scales=None) -> np.ndarray:
        """Whole runs of a batch (leading axis on every encoded array and on ``seeds``): [B, points + 1].

        ``mode`` "map": the task is vmapped, the interpreter runs program by program (best where
        per-op dispatch is cheap, as on CPU). "vmap": everything vmapped, so each statement
        evaluates every op of the table and selects (best where wide arithmetic is cheap and
        launches are not, as on accelerators).
        """
        scales = np.ones(len(seeds), np.float32) if lr_scales is None else np.asarray(lr_scales, np.float32)
        state, l0 = self.init_batched(encs, seeds, scales)
        _, losses = self._advance_batched[mode](state, encs, 0, self.task.points)
        losses = np.asarray(losses)
        return np.concatenate([np.asarray(l0)[:, None], losses.T if mode == "map" else losses], axis=1)


_RUNNERS: dict[tuple[str, int], ProgramRunner] = {}


def runner(task: Task, bucket: int) -> ProgramRunner:
    """The process's ``ProgramRunner`` for ``task`` and ``bucket``, built on first use.

    Every caller (the evaluator, the tuned comparison, the noise study) shares it, so a loop is
    compiled once per process: a ``ProgramRunner`` made per program or per grid point holds new
    jitted closures, which jit's cache cannot recognize, and compiled the identical loop again."""
    key = (task.key, bucket)
    if key not in _RUNNERS:
        _RUNNERS[key] = ProgramRunner(task, bucket)
    return _RUNNERS[key]


def make_optax_run(task: Task, tx: optax.GradientTransformation) -> Callable[[int], Any]:
    """A jitted ``run(seed) -> curve [points + 1]`` training with ``tx`` (compiled per ``tx``).

    The same batches, init and schedule as ``ProgramRunner``; used for the AdamW/Lion baselines,
    for the ``dsl.to_optax`` reference and as the benchmark's hand-written floor.
    """
    return jax.jit(lambda seed: _optax_curve(task, tx, seed))


def _optax_curve(task: Task, tx: optax.GradientTransformation, seed) -> jax.Array:
    """The validation curve [points + 1] of one run with ``tx`` (traceable)."""
    loss, chunk = task.problem.loss, task.chunk
    k_init, k_batch = task.keys(seed)
    params = task.problem.init(k_init)
    opt_state = tx.init(params)

    def train_step(carry, t):
        params, opt_state = carry
        batch = task.problem.batch(jax.random.fold_in(k_batch, t))
        grads = jax.grad(loss)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), None

    def one_chunk(carry, c):
        carry, _ = jax.lax.scan(train_step, carry, c * chunk + jnp.arange(chunk))
        return carry, task.val_loss(carry[0])

    _, losses = jax.lax.scan(one_chunk, (params, opt_state), jnp.arange(task.points))
    return jnp.concatenate([task.val_loss(params)[None], losses])


def make_tuned_optax_run(task: Task, make_tx: Callable[[Any, Any], optax.GradientTransformation]) -> Callable:
    """``run(seeds, lr_scales, wd_scales) -> curves [R, points + 1]``: R runs at once, vmapped.

    ``make_tx(lr_scale, wd_scale)`` builds the optimizer from traced multipliers (for example
    ``lambda a, b: adamw(task, a, b)``), so a whole learning-rate x weight-decay grid over
    several seeds is one compilation and one call.
    """
    run = jax.jit(jax.vmap(lambda seed, a, b: _optax_curve(task, make_tx(a, b), seed)))
    return lambda seeds, a, b: np.asarray(run(jnp.asarray(seeds, jnp.int32), jnp.asarray(a, jnp.float32),
                                              jnp.asarray(b, jnp.float32)))


def adamw(task: Task, lr_scale: float = 1.0, wd_scale: float = 1.0) -> optax.GradientTransformation:
    """The AdamW baseline: optax.adamw (bias-corrected, eps 1e-8) on the task's schedule."""
    return _adamw_at(task, lr_scale * task.settings["baseline_lr"], wd_scale)


def lion(task: Task, lr_scale: float = 1.0, wd_scale: float = 1.0) -> optax.GradientTransformation:
    """The Lion baseline: optax.lion at a tenth of AdamW's learning rate, ten times its decay."""
    return _lion_at(task, lr_scale * 0.1 * task.settings["baseline_lr"], wd_scale)


def _adamw_at(task: Task, peak: Any, wd_scale: Any = 1.0) -> optax.GradientTransformation:
    """AdamW with peak learning rate ``peak`` (a number or a traced float32 scalar)."""
    return optax.adamw(lambda c: peak * task.lr(c), b1=0.9, b2=0.999, eps=1e-8,
                       weight_decay=wd_scale * task.settings["baseline_wd"])


def _lion_at(task: Task, peak: Any, wd_scale: Any = 1.0) -> optax.GradientTransformation:
    """Lion with peak learning rate ``peak`` (a number or a traced float32 scalar)."""
    return optax.lion(lambda c: peak * task.lr(c), b1=0.9, b2=0.99,
                      weight_decay=wd_scale * 10 * task.settings["baseline_wd"])


BASELINE_PEAK: dict[str, Callable[[Task, float], float]] = {
    "adamw": lambda task, lr_scale: lr_scale * task.settings["baseline_lr"],
    "lion": lambda task, lr_scale: lr_scale * 0.1 * task.settings["baseline_lr"],
}
"""A baseline's peak learning rate at grid value ``lr_scale``, computed as ``adamw``/``lion`` do."""


def make_baseline_run(task: Task, which: str) -> Callable[[int, float], np.ndarray]:
    """``run(seed, lr_scale) -> curve [points + 1]`` of the ``which`` baseline ("adamw" or "lion"),
    compiled once per task: seed and peak learning rate are traced arguments, so every seed and
    every value of the learning-rate grid reuses one loop (a ``make_optax_run`` per grid value
    compiled the same loop again for each). The peak is multiplied out in Python (float64) and
    rounded to float32 once, exactly as the constant ``adamw(task, lr_scale)`` bakes in, so the
    curves are bit-identical to it."""
    peak_of, make = BASELINE_PEAK[which], {"adamw": _adamw_at, "lion": _lion_at}[which]
    run = jax.jit(lambda seed, peak: _optax_curve(task, make(task, peak), seed))
    return lambda seed, lr_scale=1.0: np.asarray(run(np.int32(seed), np.float32(peak_of(task, lr_scale))))


class StepwiseOptax:
    """Step-by-step training with any optax transformation, compiling the task once.

    The gradient and the validation loss are jitted once per task; each new transformation
    compiles only its own small update function. Slow per step (a Python loop) but cheap per
    new optimizer: the reference for checking the interpreter against ``dsl.to_optax``.
    """

    def __init__(self, task: Task):
        self.task = task
        loss = task.problem.loss
        self._grad = jax.jit(lambda params, key, t: jax.grad(loss)(params, task.problem.batch(
            jax.random.fold_in(key, t))))
        self._val = jax.jit(task.val_loss)

    def run(self, tx: optax.GradientTransformation, seed: int) -> np.ndarray:
        task = self.task
        k_init, k_batch = task.keys(seed)
        params = task.problem.init(k_init)
        state = tx.init(params)
        update = jax.jit(tx.update)
        curve = [float(self._val(params))]
        for t in range(task.steps):
            grads = self._grad(params, k_batch, jnp.int32(t))
            updates, state = update(grads, state, params)
            params = optax.apply_updates(params, updates)
            if (t + 1) % task.chunk == 0:
                curve.append(float(self._val(params)))
        return np.asarray(curve)
