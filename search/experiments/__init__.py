"""The experiments layer of ``search/``: research pipelines built on the search.

- ``replay``: the Lion rediscovery end to end (``optsearch replay lion``);
- ``report``: the replay's ``report.md``, rendered from its summary (``replay_summary``: the
  typed ``summary.json``); the replay's stages have their own modules (``replay_options``,
  ``goal_timeline``, ``seed_analysis``, ``goal``, ``front_replay``, ``previous_replay``,
  ``replay_outputs``);
- ``compare``: the tuned comparison on meta-validation tasks (every optimizer at its best point
  of one learning-rate x weight-decay grid);
- ``lion_reach``: is Lion within the replay's reach (``benchmarks/lion_reach.py``);
- ``proxy_noise``: how much of a proxy fitness is the run's luck (``benchmarks/proxy_noise.py``).

They import the core and ``search.analysis``, never ``search.cli``: a caller that wants a live
display passes one in (``replay(..., progress=...)``).
"""
