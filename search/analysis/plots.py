"""PNG plots of a search, from plain data (so ``show`` and the replay report draw the same way).

The functions build a ``matplotlib.figure.Figure`` with the Agg canvas directly instead of going
through ``pyplot``: no global figure state, no display needed, safe in threads and on headless
machines whatever ``MPLBACKEND`` says.

Data shapes:

- a *series* is a list of ``(evaluations, fitness)`` points;
- a *curve* is a list of losses evenly spaced over training (first point: before any step), or
  a list of such lists (several seeds: drawn as the mean with a min-max band).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

Point = tuple[float, float]
Curve = Sequence[float] | Sequence[Sequence[float]]

# Fixed colours so a name keeps its colour across plots and reports.
COLOURS = {"adamw": "tab:blue", "lion": "tab:orange", "best": "tab:green", "discovered": "tab:green"}
_OTHERS = ("tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def palette(names) -> dict[str, str]:
    """One distinct colour per name, the same in every panel (AdamW and Lion keep theirs)."""
    fixed = {n: COLOURS[n.lower()] for n in names if n.lower() in COLOURS}
    free = [c for c in _OTHERS if c not in fixed.values()]
    rest = [n for n in names if n not in fixed]
    return {**fixed, **{n: free[i % len(free)] for i, n in enumerate(rest)}}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


MIN_WIDTH = 7.0  # inches: one panel alone still leaves room for its title, legend and labels
_MARGIN = 0.96   # share of the figure's width a title may take


def fit_text(text, fig, width: float | None = None) -> None:
    """Wrap ``text`` (a title) at spaces until it fits ``width`` pixels (default: the figure's
    width less a margin); a word too long for a line alone gets a smaller font, then is cut.

    Constrained layout makes room above the axes for a title but never narrows one: a long
    title on a narrow figure (one task panel) was cut off at both edges."""
    renderer = fig.canvas.get_renderer()
    limit = (width or fig.bbox.width) * _MARGIN
    original = text.get_text()

    def fits() -> bool:
        return text.get_window_extent(renderer).width <= limit

    if not original or fits():
        return

    def wrap(long_words: bool) -> bool:
        n = int(len(original) * limit / text.get_window_extent(renderer).width) + 1
        while n >= 8:
            text.set_text(textwrap.fill(original, n, break_long_words=long_words, break_on_hyphens=False))
            if fits():
                return True
            n = min(n - 1, int(n * 0.9))
        return False

    while not wrap(False) and text.get_fontsize() > 7:
        text.set_fontsize(text.get_fontsize() - 1)  # one word is wider than the line
    if not fits():
        wrap(True)


def _num(x) -> float:
    """JSON logs spell non-finite numbers as strings ("nan", "inf")."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def search_progress(path: str | Path, proxy: Sequence[Point] | Mapping[str, Sequence[Point]],
                    meta: Mapping[str, Sequence[Point]] | None = None, *, title: str | None = None,
                    baseline: float | None = 0.0, baseline_label: str = "AdamW (fitness 0)",
                    marks: Mapping[str, Sequence[tuple]] | None = None) -> Path:
    """Best proxy fitness so far against evaluations (a step line per series: one run, or one per
    seed when ``proxy`` is a mapping), and meta-validation points per funnel scale (``meta``:
    name -> points), so a proxy fitness that rises while meta-validation falls shows overfitting.
    ``marks``: per series, events to mark at an evaluation count, (x, text) on the series' line or
    (x, y, text) at the event's own fitness y, e.g. the replay's first sign-momentum child (a
    triangle, at that child's fitness) and the lead taken by the answer's family (a star).
    Returns the path written."""
    return _save(search_progress_figure(proxy, meta, title=title, baseline=baseline, baseline_label=baseline_label,
                                        marks=marks), path)


def search_progress_figure(proxy: Sequence[Point] | Mapping[str, Sequence[Point]],
                           meta: Mapping[str, Sequence[Point]] | None = None, *, title: str | None = None,
                           baseline: float | None = 0.0, baseline_label: str = "AdamW (fitness 0)",
                           marks: Mapping[str, Sequence[tuple]] | None = None):
    """The figure ``search_progress`` saves (a ``matplotlib.figure.Figure``)."""
    series = {"best proxy fitness": proxy} if not isinstance(proxy, Mapping) else dict(proxy)
    fig = _figure(7.5, 4.5)
    ax = fig.add_subplot()
    shapes: dict[str, str] = {}
    for name, pts in series.items():
        pts = sorted((float(x), _num(y)) for x, y in pts)
        if not pts:
            continue
        (line,) = ax.step([x for x, _ in pts], [y for _, y in pts], where="post", label=name, linewidth=1.6)
        for mark in (marks or {}).get(name, ()):
            x, *own, text = mark  # (x, text): on the line; (x, y, text): at the event's own fitness
            y = own[0] if own and own[0] is not None else next((v for px, v in reversed(pts) if px <= x), pts[0][1])
            shape = shapes.setdefault(text, "^*Pdv"[len(shapes) % 5])
            ax.plot([x], [y], marker=shape, markersize=11, color=line.get_color(), markeredgecolor="black",
                    linestyle="none", label="_nolegend_")
    for text, shape in shapes.items():
        ax.plot([], [], marker=shape, markersize=9, color="grey", markeredgecolor="black", linestyle="none",
                label=text)
    markers = "osD^v"
    for i, (name, pts) in enumerate((meta or {}).items()):
        pts = sorted((float(x), _num(y)) for x, y in pts)
        if pts:
            hollow = i % 2 == 1  # a second series at the same points stays visible around the first
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker=markers[i % len(markers)],
                    linestyle="--", linewidth=1.0, markersize=10 if hollow else 6,
                    markerfacecolor="none" if hollow else None, label=name)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linewidth=0.8, linestyle=":", label=baseline_label)
    ax.set_xlabel("evaluations")
    ax.set_ylabel("fitness  (log AdamW loss / loss)")
    fit_text(ax.set_title(title or "search progress"), fig, fig.bbox.width - fig.dpi)  # less the y labels
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return fig


def _stats(curve: Curve) -> tuple[list[float], list[float], list[float]] | None:
    """(mean, low, high) of one curve or of several (seeds), NaN where a value is not finite."""
    if not curve:
        return None
    runs = [list(map(_num, c)) for c in curve] if isinstance(curve[0], Sequence) else [list(map(_num, curve))]
    n = min(len(r) for r in runs)
    if n == 0:
        return None
    cols = [[r[i] for r in runs] for i in range(n)]
    mean = [math.fsum(c) / len(c) if all(map(math.isfinite, c)) else math.nan for c in cols]
    return mean, [min(c) for c in cols], [max(c) for c in cols]


def loss_curves(path: str | Path, curves: Mapping[str, Mapping[str, Curve]], *, title: str | None = None,
                log_y: bool = True, xlabel: str = "fraction of training") -> Path:
    """Validation loss against training progress, one panel per task, one line per optimizer
    (``curves``: name -> task -> curve). Curves of different lengths share the x axis as the
    fraction of training done. Returns the path written."""
    return _save(loss_curves_figure(curves, title=title, log_y=log_y, xlabel=xlabel), path)


def loss_curves_figure(curves: Mapping[str, Mapping[str, Curve]], *, title: str | None = None,
                       log_y: bool = True, xlabel: str = "fraction of training"):
    """The figure ``loss_curves`` saves: at least ``MIN_WIDTH`` wide whatever the number of
    tasks, its title wrapped to fit."""
    tasks = sorted({t for per in curves.values() for t in per})
    if not tasks:
        raise ValueError("loss_curves: no curves to plot")
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig = _figure(max(MIN_WIDTH, 4.2 * cols + 0.6), 3.4 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False)
    colours = palette(list(curves))
    for k, task in enumerate(tasks):
        ax = axes[k // cols][k % cols]
        for name, per in curves.items():
            if task not in per:
                continue
            st = _stats(per[task])
            if st is None:
                continue
            mean, lo, hi = st
            xs = [i / (len(mean) - 1) if len(mean) > 1 else 0.0 for i in range(len(mean))]
            colour = colours[name]
            ax.plot(xs, mean, label=name, color=colour, linewidth=1.6)
            if lo != hi:
                ax.fill_between(xs, lo, hi, color=ax.lines[-1].get_color(), alpha=0.2, linewidth=0)
        if log_y:
            ys = [y for line in ax.lines for y in line.get_ydata() if math.isfinite(y)]
            if ys and min(ys) > 0:
                ax.set_yscale("log")
        fit_text(ax.set_title(task), fig, fig.bbox.width / cols)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation loss")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for k in range(len(tasks), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    if title:
        fit_text(fig.suptitle(title), fig)
        lines = fig.get_suptitle().count("\n")
        if lines:  # a wrapped title takes room from the panels: give it back
            fig.set_figheight(fig.get_figheight() + 0.22 * lines)
    return fig


def front_plot(path: Path, points: Sequence[Mapping], members: Sequence[Mapping], title: str = "front") -> Path:
    """``front.png``: fitness against states and against length (left, right). Every scored
    program is a grey dot, the front's members are joined in order, the seed is a black square
    and recognized known optimizers carry their family's name. ``points`` and ``members`` are
    mappings with ``fitness``, ``states``, ``length`` (members also ``family``, ``seed``)."""
    import numpy as np

    fig = _figure(11.0, 4.4)
    axes = fig.subplots(1, 2, sharey=True)
    rng = np.random.default_rng(0)
    for ax, key in zip(axes, ("states", "length")):
        xs = np.asarray([p[key] for p in points], float)
        ys = np.asarray([p["fitness"] for p in points], float)
        jitter = rng.uniform(-0.15, 0.15, size=len(xs)) if key == "states" else rng.uniform(-0.2, 0.2, size=len(xs))
        ax.scatter(xs + jitter, ys, s=6, color="0.7", label="scored programs", zorder=1)
        best: dict[int, Mapping] = {}
        for m in members:  # the best member per x value: the front along this axis
            if m[key] not in best or m["fitness"] > best[m[key]]["fitness"]:
                best[m[key]] = m
        order = sorted(best)
        ax.step(order, [best[x]["fitness"] for x in order], where="post", color="tab:green", zorder=2)
        ax.scatter([m[key] for m in members], [m["fitness"] for m in members], s=28, color="tab:green",
                   label="front", zorder=3)
        for m in (*points, *members):
            if m.get("seed"):
                ax.scatter([m[key]], [m["fitness"]], s=60, marker="s", color="black", label="seed", zorder=4)
        for m in members:
            if m.get("family"):
                ax.annotate(str(m["family"]).split(" (")[0], (m[key], m["fitness"]), textcoords="offset points",
                            xytext=(4, 4), fontsize=8)
        ax.set_xlabel("optimizer states (moving averages that reach the update)" if key == "states"
                      else "statements after exact simplification")
        if key == "states":
            ax.set_xticks([0, 1, 2])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("proxy fitness (> 0: beats tuned AdamW)")
    handles, labels = axes[0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    axes[0].legend(seen.values(), seen.keys(), fontsize=8, loc="lower right")
    fit_text(fig.suptitle(title), fig)
    fig.savefig(path)
    return Path(path)
