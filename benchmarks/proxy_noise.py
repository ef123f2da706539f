"""How much of a proxy fitness is the program, and how much is the run's luck.

For a few programs along the path from AdamW to Lion, on the replay's proxy (the tiny ViT at 2000
steps, sign flips), prints the mean log final loss over task seeds and the standard deviation of
each source of noise (seeds, learning-rate jitter, vmap width), then one JSON line with the gap
between neighbouring programs in units of the seed-to-seed noise (> 0: the later program is
better). The measurement is ``search/experiments/proxy_noise.py`` (its docstring says more).

    python benchmarks/proxy_noise.py [--task vit] [--steps 2000] [--seeds 4] [--jitter 4]
"""

from __future__ import annotations

import argparse
import json

from search.experiments.proxy_noise import measure


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="vit")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--jitter", type=int, default=4)
    ap.add_argument("--scale", type=float, default=1 / 3, help="learning-rate multiplier of every run")
    args = ap.parse_args(argv)
    out = measure(args.task, args.steps, args.seeds, args.jitter, args.scale)
    print(f"{args.task}, {args.steps} steps, sign flips, lr x{args.scale:.3g}: log final validation loss")
    print(f"{'program':24s} {'mean':>8s} {'sd seeds':>9s} {'sd jitter':>10s} {'width':>8s}")
    for name, r in out["rows"].items():
        print(f"{name:24s} {r['mean']:8.4f} {r['seeds_sd']:9.4f} {r['jitter_sd']:10.4f} {r['width_diff']:8.4f}")
    for k, g in out["gaps_in_sd"].items():
        print(f"{k}: log loss lower by {g:.2f} x the seed-to-seed sd ({out['seed_noise_sd']:.4f})")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
