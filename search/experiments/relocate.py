"""Keep a moved replay's summaries pointing at real files (#28).

A replay's ``summary.json`` (and each run's) records where things were: the run directories, the
config, the previous replay's folder and config. Moving a finished replay aside (the third replay
to ``results/lion_rediscovery_v3`` when the fourth took ``results/lion_rediscovery``) or renaming
its config left those paths naming folders that no longer exist, and the final comparison reads
the config from the summary. ``relocate`` rewrites the paths (never the recorded commands: they
say what was run) and records the move in ``moved``. The replay's own summary goes through
``ReplaySummary`` (a bad one is refused, naming the field); each search's ``summary.json`` is the
driver's, rewritten as plain JSON.

    python -m search.experiments.relocate results/lion_rediscovery_v3 --from results/lion_rediscovery_3 \\
        --config configs/lion_rediscovery_v3.yaml --previous-config configs/lion_rediscovery_v2.yaml
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from search.experiments import replay_summary
from search.experiments.replay_summary import Move, ReplaySummary

KEEP = ("command", "moved")  # what was run, as it was typed; the record of moves


def _rewrite(value: Any, old: str, new: str, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: (v if k in KEEP else _rewrite(v, old, new, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, old, new, key) for v in value]
    if isinstance(value, str) and (value == old or value.startswith(old + "/")):
        return new + value[len(old):]
    return value


def relocate(folder: Path, old: str, config: str | None = None, previous_config: str | None = None,
             new: str | None = None) -> list[Path]:
    """Rewrite every path under ``old`` to ``new`` (default: ``folder`` as given) in the replay's
    summaries; set its ``config`` and its previous replay's ``config`` when given. Returns the
    files changed."""
    new = str(folder) if new is None else new
    changed = []
    for path in _summaries(folder):
        if not path.exists():
            continue
        text = path.read_text()
        if path.parent == folder:  # the replay's own summary
            doc = replay_summary.read(text, path).to_json()
            summary = ReplaySummary.from_json(_rewrite(doc, old, new))
            if config is not None:
                summary.config = config
            if previous_config is not None and summary.previous is not None:
                summary.previous.config = previous_config
            if summary.to_json() != doc:
                summary.moved = [*(summary.moved or []), Move(old=old, to=new)]
            out = summary.to_json()
        else:  # a search's summary.json (the driver's)
            doc = json.loads(text)
            out = _rewrite(doc, old, new)
        lines = text.splitlines()
        indent = len(lines[1]) - len(lines[1].lstrip(" ")) if len(lines) > 1 else None  # as it was written
        if out != doc:
            path.write_text(json.dumps(out, indent=indent or None) + "\n")
            changed.append(path)
    return changed


def _summaries(folder: Path) -> list[Path]:
    return [folder / "summary.json", *sorted((folder / "runs").glob("*/summary.json"))]


def missing_paths(folder: Path, root: Path = Path(".")) -> list[str]:
    """Paths named in the replay's summaries (run directories, configs, folders) that do not exist
    under ``root``; commands aside."""
    out = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k not in KEEP and k != "moved":
                    walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("run_dir", "path", "config") and value:
            if not (root / value).exists():
                out.append(f"{key}: {value}")

    for path in _summaries(folder):
        if path.exists():
            walk(replay_summary.load(path).to_json() if path.parent == folder else json.loads(path.read_text()))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", help="the replay's results folder, where it is now")
    ap.add_argument("--from", dest="old", required=True, help="the folder's old path, as its summaries name it")
    ap.add_argument("--config", help="the config it was made with, where it is now")
    ap.add_argument("--previous-config", help="the previous replay's config, where it is now")
    args = ap.parse_args(argv)
    folder = Path(args.folder)
    for path in relocate(folder, args.old, args.config, args.previous_config):
        print(f"rewrote {path}")
    left = missing_paths(folder)
    for p in left:
        print(f"still missing: {p}")
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
