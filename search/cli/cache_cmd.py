"""Show or clear this machine's caches: compiled proxy-task loops (JAX's persistent compilation
cache) and AdamW baseline curves.

Both only save time. The compiled loops are what makes a second ``optsearch eval`` or ``run``
start in seconds; ``$OPTSEARCH_COMPILE_CACHE=off`` switches that cache off, a directory moves it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "cache"
HELP = "show (info) or clear this machine's compiled-code and baseline caches"


def add_arguments(parser) -> None:
    parser.add_argument("action", choices=("info", "clear"), nargs="?", default="info",
                        help="info (default): where the caches are and their size; clear: delete them")


# Only files these caches write are counted or deleted, so a cache pointed at a shared folder
# never loses anything else.
PATTERNS = {"compiled loops": ("*-cache", "*-atime"), "baselines": ("adamw-*.json", "lion-*.json")}


def _entries(path: Path | None, patterns: tuple[str, ...]) -> list[Path]:
    if path is None or not path.is_dir():
        return []
    return sorted({p for pat in patterns for p in path.glob(pat) if p.is_file()})


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def run(args) -> int:
    from proxy_tasks import baselines, compile_cache  # imports JAX

    caches = {"compiled loops": compile_cache.directory(), "baselines": baselines.default_cache_dir()}
    for label, path in caches.items():
        files = _entries(path, PATTERNS[label])
        size = sum(p.stat().st_size for p in files)
        where = "switched off ($OPTSEARCH_COMPILE_CACHE)" if path is None else str(path)
        if args.action == "clear":
            for p in files:
                p.unlink(missing_ok=True)
            print(f"{label:<15} {where}: cleared {len(files)} files, {_mb(size)}")
        else:
            print(f"{label:<15} {where}: {len(files)} files, {_mb(size)}")
    return 0
