"""Lion-K: the family of optimizers Lion belongs to, its constraint, and its Lyapunov certificate.

* ``kfuncs``: the convex K of lion_k.md (K, ∇K, K*, dom K*, the problem Lion-K solves).
* ``step``: the numpy reference step (explicit / implicit decay), the continuous-time mapping and
  the table of known special cases.
* ``optax_lionk``: ``lion_k`` as an optax transformation.
* ``programs``: members written as DSL programs.
* ``match``: ``match_lionk(program)``, behavioural membership test and constants.
* ``lyapunov``, ``problems``, ``analysis``: the two phases measured on a test problem.

Sign convention everywhere in this package: the momentum is an average of +g (as in the DSL and
optax); lion_k.md's m is its negative. See ``step`` for the mapping.
"""

from simplify.lionk.kfuncs import ALL_KINDS, L1, HalfSquaredL2, Huber, KFunction, Lp, ThresholdedL1, TopK, by_name
from simplify.lionk.match import LionKMatch, match_lionk
from simplify.lionk.step import SPECIAL_CASES, LionK, from_continuous

__all__ = [
    "ALL_KINDS", "L1", "HalfSquaredL2", "Huber", "KFunction", "LionK", "LionKMatch", "Lp", "SPECIAL_CASES",
    "ThresholdedL1", "TopK", "by_name", "from_continuous", "match_lionk",
]
