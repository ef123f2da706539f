"""The bounds on a config, which is untrusted input until validated: upper bounds too, so a typo
cannot allocate until the machine runs out of memory, and caps on what a message quotes."""

from __future__ import annotations

# Bounds shared by several keys (the schema table prints each key's own).
COUNT_MAX = 10**9              # evaluations, children, "every N" counters
SECONDS_MAX = 1e8              # about three years
WEIGHT_MAX = 1e6               # mutation and task weights
SEED_MAX = 2**63 - 1           # the search's numpy seed (kept in checkpoints as a JSON int64)
TASK_SEED_MAX = 2**31 - 1      # task seeds become int32 arrays (JAX PRNG keys)
STR_MAX = 4096                 # characters of any string value
NAME_MAX = 100                 # characters of ``name`` (a folder name)
LIST_MAX = 1000                # entries of a list or mapping unless the key says otherwise
VALUE_CHARS = 200              # characters of a value quoted in a message
MESSAGE_CHARS = 2000           # characters of a whole ConfigError message
YAML_MAX_BYTES = 1 << 20       # a config file is read up to this size
YAML_MAX_DEPTH = 32            # nesting of a YAML document (with aliases expanded)
YAML_MAX_NODES = 10_000        # values of a YAML document (with aliases expanded; configs hold ~100)
