"""What a replay is asked to do: ``Options`` (folder, seeds, config, settings of each stage), the
shipped configs, and the types of the callbacks its caller passes (``Log``, ``ProgressFactory``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy_tasks.tuned import QUICK_META, MetaSettings
from search import config as config_mod

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "lion_rediscovery.yaml"
QUICK_CONFIG = ROOT / "configs" / "lion_rediscovery_quick.yaml"
CONFIG_V2 = ROOT / "configs" / "lion_rediscovery_v2.yaml"  # the second replay's (benchmarks compare with it)


@dataclass(frozen=True)
class Options:
    out: Path
    seeds: int = 3
    quick: bool = False
    config: Path | None = None
    overrides: tuple[str, ...] = ()
    paper_tasks: dict[str, Any] = field(default_factory=lambda: {"task": "mlp", "steps": 1000, "seeds": (0, 1, 2)})
    ablation_tolerance: float = 0.0
    meta: MetaSettings | None = None
    command: str = ""
    previous: Path | None = None  # an earlier replay's folder: the report compares with it, seed by seed

    @property
    def config_path(self) -> Path:
        return self.config or (QUICK_CONFIG if self.quick else CONFIG)

    @property
    def meta_settings(self) -> MetaSettings:
        return self.meta or (QUICK_META if self.quick else MetaSettings())


Log = Callable[[str], None]
# ``progress(title)``: a context manager whose value takes the engine's progress reports (its
# ``on_progress``) while one search runs; the CLI passes its live display, None shows nothing.
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[Any], None]]]


def shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (reports stay valid on other machines)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def search_tasks(config: str | Path, overrides) -> list[str]:
    """The task families the replay's searches scored (their config's ``evaluator.tasks``; a
    relative path is the repository's), so the report says which meta-validation families were
    outside the search, not a fixed sentence."""
    from proxy_tasks.registry import DEFAULT_TASKS

    path = Path(config) if Path(config).is_absolute() else ROOT / config
    tasks = config_mod.load(path, list(overrides)).evaluator.tasks
    return sorted(tasks) if tasks is not None else sorted(DEFAULT_TASKS)
