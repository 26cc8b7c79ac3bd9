r"""Chapter 3's explorer: the same x0 and the same ε, noised at the same t under five schedules.

Every schedule here has T = 1000 steps (code t = 0..T−1, the papers' 1..T) and noises with the
closed form x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε. Only ᾱ_t differs between schedules, so putting them side by
side at one t shows exactly what "a different schedule" changes.

Pure functions (tested without a figure):
    course_schedules(T)          -> {name: NoiseSchedule} for the five schedules, in SCHEDULES order
    schedule_table(schedules)    -> rows (dicts) with where each schedule crosses ᾱ = 0.5 and what is left
    table_markdown(rows)         -> the rows as a markdown table
    noised_grid(schedules, x0, eps, ts) -> (S, K, *x0.shape[1:]) x_t for every schedule and t
    schedules_frame(...)         -> ScheduleFrame: everything the live view draws at one (schedule, t)
    load_digit(index)            -> one 8×8 digit (1, 1, 8, 8) in [−1, 1]

Static figures (drawn once into the cell output): plot_overlay, plot_image_grid, plot_cloud_grid.
Live view: SchedulesView (update(schedule=..., t=...)), demo_view(), DEMO_SWEEP.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import matplotlib
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ..forward import q_sample
from ..plotting import PALETTE, new_figure, tile_images, to_numpy
from ..schedules import NoiseSchedule, make_schedule
from . import View

#: The five schedules compared in chapter 3, in the order every figure uses.
SCHEDULES: tuple[str, ...] = ("linear", "cosine", "quadratic", "quadratic_ramp", "sigmoid")

#: The ``beta_schedule`` string diffusers' DDPMScheduler uses for the same β_t (None: no equivalent).
DIFFUSERS_NAMES: dict[str, str | None] = {
    "linear": "linear",
    "cosine": "squaredcos_cap_v2",
    "quadratic": "scaled_linear",
    "quadratic_ramp": None,
    "sigmoid": "sigmoid",
}

#: Quantities plot_overlay can draw, with their axis labels.
QUANTITIES = {
    "betas": r"$\beta_t$ (log scale)",
    "alphas_cumprod": r"$\bar\alpha_t$",
    "log_snr": r"log-SNR $= \log\,\bar\alpha_t/(1-\bar\alpha_t)$",
}


def plt_rc(key: str):
    """The current matplotlib rcParam ``key`` (so the view follows ``plotting.presenting()``)."""
    return matplotlib.rcParams[key]


def schedule_colour(name: str) -> str:
    """The colour a schedule gets in every chapter-3 figure."""
    return PALETTE[SCHEDULES.index(name) % len(PALETTE)] if name in SCHEDULES else PALETTE[-1]


def course_schedules(T: int = 1000, names=SCHEDULES) -> dict[str, NoiseSchedule]:
    """{name: make_schedule(name, T)} for ``names``; no ScheduleWarning (short T is shown on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: make_schedule(name, T, warn=False) for name in names}


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def schedule_table(schedules: dict[str, NoiseSchedule]) -> list[dict]:
    """One row per schedule: β at the ends, where ᾱ crosses 0.5, and what is left at t = T−1.

    Keys: name, diffusers, T, beta_first, beta_last, t_half (first code t with ᾱ_t < 0.5),
    t_half_frac (t_half / T), abar_last (ᾱ_{T−1}), scale_last (√ᾱ_{T−1}: x0's share of x_T's scale).
    """
    rows = []
    for name, s in schedules.items():
        rows.append({
            "name": name, "diffusers": DIFFUSERS_NAMES.get(name), "T": s.T,
            "beta_first": float(s.betas[0]), "beta_last": float(s.betas[-1]),
            "t_half": s.t_half(), "t_half_frac": s.t_half() / s.T,
            "abar_last": s.signal_left(), "scale_last": math.sqrt(s.signal_left()),
        })
    return rows


def table_markdown(rows: list[dict]) -> str:
    """The rows of :func:`schedule_table` as a markdown table (for ``display(Markdown(...))``)."""
    lines = ["| schedule | diffusers name | β first | β last | ᾱ < 0.5 from t = | (fraction of T) | ᾱ_(T−1) | √ᾱ_(T−1) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        diff = f"`{r['diffusers']}`" if r["diffusers"] else "—"
        lines.append(f"| {r['name']} | {diff} | {r['beta_first']:.3g} | {r['beta_last']:.3g} | {r['t_half']} | "
                     f"{r['t_half_frac']:.0%} | {r['abar_last']:.2e} | {r['scale_last']:.2e} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Data for the figures
# ---------------------------------------------------------------------------------------------
def load_digit(index: int = 0) -> torch.Tensor:
    """Digit number ``index`` of scikit-learn's bundled 8×8 digits as (1, 1, 8, 8) float32 in [−1, 1].

    Uses ``diffusion_lab.data.load_digits_8x8`` when it is there, else scikit-learn directly (the
    same scaling: pixel v ∈ {0..16} ↦ v/8 − 1). Works offline: the digits ship with scikit-learn.
    """
    try:
        from ..data import load_digits_8x8
    except ImportError:  # pragma: no cover - data.py is optional for this chapter
        load_digits_8x8 = None
    if load_digits_8x8 is not None:
        images, _ = load_digits_8x8()
    else:  # pragma: no cover
        from sklearn.datasets import load_digits
        images = torch.as_tensor(load_digits().images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    if not 0 <= int(index) < images.shape[0]:
        raise ValueError(f"index must be in [0, {images.shape[0]}), got {index}.")
    return images[int(index): int(index) + 1].clone()


def noised_grid(schedules: dict[str, NoiseSchedule], x0: torch.Tensor, eps: torch.Tensor, ts) -> torch.Tensor:
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε for every schedule (rows) and every t in ``ts`` (columns).

    Same x0 and same ε everywhere, so the rows differ only through ᾱ_t.
    Returns a tensor (S, K, *x0.shape[1:]) in x0's dtype, with S = len(schedules) and K = len(ts);
    x0 and eps are (batch, ...) with batch 1 for an image or n for a point cloud (then (S, K, n, d)).
    """
    rows = []
    for s in schedules.values():
        rows.append(torch.stack([q_sample(s, x0, int(t), noise=eps) for t in ts]))
    out = torch.stack(rows)
    return out[:, :, 0] if x0.shape[0] == 1 else out


@dataclass
class ScheduleFrame:
    """What the live view draws at one (schedule, t).

    tile: (H, S·(W+pad)−pad) array in [−1, 1] (x_t of the digit under each schedule, side by side)
    clouds: {name: (n, 2) array}: the point cloud's x_t under each schedule
    abar: {name: ᾱ_t}; chosen: index of the chosen schedule in ``names``; names; t
    """

    t: int
    names: tuple[str, ...]
    chosen: int
    abar: dict[str, float]
    tile: np.ndarray
    clouds: dict[str, np.ndarray]


def schedules_frame(schedules: dict[str, NoiseSchedule], schedule: str, t: int,
                    image: torch.Tensor, eps_image: torch.Tensor,
                    cloud: torch.Tensor, eps_cloud: torch.Tensor, pad: int = 1) -> ScheduleFrame:
    """Noise ``image`` (1, 1, H, W) and ``cloud`` (n, 2) at step ``t`` under every schedule, same ε.

    The digits are tiled side by side with ``pad`` pixels between them (``frame.tile``).
    """
    names = tuple(schedules)
    if schedule not in schedules:
        raise ValueError(f"schedule must be one of {list(names)}, got {schedule!r}.")
    t = int(t)
    images = torch.cat([q_sample(s, image, t, noise=eps_image) for s in schedules.values()])
    clouds = {n: to_numpy(q_sample(s, cloud, t, noise=eps_cloud)) for n, s in schedules.items()}
    abar = {n: float(s.alphas_cumprod[t]) for n, s in schedules.items()}
    return ScheduleFrame(t=t, names=names, chosen=names.index(schedule), abar=abar,
                         tile=tile_images(images, nrow=len(names), pad=pad), clouds=clouds)


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_overlay(schedules: dict[str, NoiseSchedule], quantity: str, ax, mark_half: bool = False):
    """Overlay one coefficient (``betas``, ``alphas_cumprod`` or ``log_snr``) of every schedule on ``ax``.

    ``mark_half`` adds the line ᾱ = 0.5 and a dot where each schedule first drops below it.
    Returns {name: Line2D}.
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {list(QUANTITIES)}, got {quantity!r}.")
    lines = {}
    for name, s in schedules.items():
        values = to_numpy(getattr(s, quantity))
        lines[name], = ax.plot(np.arange(s.T), values, color=schedule_colour(name), label=name)
        if mark_half:
            th = min(s.t_half(), s.T - 1)
            ax.plot([th], [values[th]], "o", color=schedule_colour(name))
    if quantity == "betas":
        ax.set_yscale("log")
    if mark_half:
        ax.axhline(0.5, color="0.4", lw=1, ls="--")
    ax.set_xlabel("code step t (0 … T−1)")
    ax.set_ylabel(QUANTITIES[quantity])
    ax.legend()
    return lines


def plot_image_grid(ax, grid: torch.Tensor, names, ts, title: str | None = None):
    """Draw :func:`noised_grid` of a 1-channel image, (S, K, 1, H, W), as ONE tiled imshow with labels."""
    S, K, _, H, W = grid.shape
    im = ax.imshow(tile_images(grid.reshape(S * K, 1, H, W), nrow=K), cmap="gray", vmin=-1, vmax=1,
                   interpolation="nearest")
    ax.set_xticks([k * (W + 1) + (W - 1) / 2 for k in range(K)], [f"t = {t}" for t in ts])
    ax.set_yticks([r * (H + 1) + (H - 1) / 2 for r in range(S)], list(names))
    ax.tick_params(length=0)
    ax.grid(False)
    if title:
        ax.set_title(title)
    return im


def plot_cloud_grid(fig, grid: torch.Tensor, names, ts, lim: float = 4.5):
    """Small multiples of :func:`noised_grid` of a point cloud (S, K, n, 2): rows schedules, columns t."""
    S, K = grid.shape[:2]
    axes = fig.subplots(S, K, sharex=True, sharey=True, squeeze=False)
    for r, name in enumerate(names):
        for k, t in enumerate(ts):
            ax = axes[r, k]
            pts = to_numpy(grid[r, k])
            ax.scatter(pts[:, 0], pts[:, 1], s=3, color=schedule_colour(name), alpha=0.6, linewidths=0)
            ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
            ax.set_xticks([]); ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {t}")
            if k == 0:
                ax.set_ylabel(name)
    return axes


# ---------------------------------------------------------------------------------------------
# Live view
# ---------------------------------------------------------------------------------------------
class SchedulesView(View):
    """Five columns, one per schedule: the digit's x_t on top (ONE tiled imshow whose tiles sit over the
    columns; the chosen schedule boxed), the 2D cloud's x_t below (the chosen panel outlined). On the
    right the ᾱ_t curves, the chosen one bold, a dot per schedule at the current t, and the chosen ᾱ_t
    in the title.

    ``update(schedule=name, t=int)``. The digit, the cloud and both ε are drawn once (seeded), so moving
    t or switching schedule changes only ᾱ_t. Text is kept short: on a slow CPU, glyph rendering is most
    of a redraw.
    """

    #: gap between columns as a fraction of a column's width; the image tiles use the same gap (in pixels)
    WSPACE = 0.25

    def __init__(self, T: int = 1000, names=SCHEDULES, digit: int = 0, cloud: str = "ring",
                 n_points: int = 300, seed: int = 0, lim: float = 4.5):
        from ..distributions import make_distribution
        from ..seeding import make_generator

        self.schedules = course_schedules(T, names)
        self.names = tuple(self.schedules)
        self.T = T
        gen = make_generator(seed)
        self.image = load_digit(digit)
        self.eps_image = torch.randn(self.image.shape, generator=gen)
        self.cloud = make_distribution(cloud).sample(n_points, generator=gen).to(torch.float32)
        self.eps_cloud = torch.randn(self.cloud.shape, generator=gen)
        S = len(self.names)
        H, W = self.image.shape[-2:]
        self.pad = max(1, round(W * self.WSPACE))     # tile gap in pixels = column gap in panel widths
        self._tile_step = W + self.pad

        fig, axes = new_figure(2, S + 1, figsize=(1.9 * S + 3.4, 4.6),
                               gridspec_kw={"width_ratios": [1] * S + [2.1], "wspace": self.WSPACE,
                                            "hspace": 0.28})
        gs = axes[0, 0].get_gridspec()
        for ax in list(axes[0]) + [axes[1, -1]]:
            ax.remove()
        self.fig = fig
        self.ax_img = fig.add_subplot(gs[0, :S])
        self.ax_curve = fig.add_subplot(gs[:, S])
        self.ax_clouds = list(axes[1, :S])

        frame = self._frame(self.names[0], 0)
        self.im = self.ax_img.imshow(frame.tile, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        self.ax_img.set_axis_off()
        self.ax_img.set_anchor("S")                    # sit on the cloud row, keep the full width
        self.box = Rectangle((-0.5, -0.5), W, H, fill=False, lw=2.5, ec="#D55E00")
        self.ax_img.add_patch(self.box)

        self.curves = {}
        for n, s in self.schedules.items():
            # every 4th step (and the last) is plenty for a smooth curve at this size, and 4× cheaper to draw
            steps = np.unique(np.r_[np.arange(0, T, 4), T - 1])
            self.curves[n], = self.ax_curve.plot(steps, to_numpy(s.alphas_cumprod)[steps], color=schedule_colour(n), lw=1.2)
        self.markers = self.ax_curve.scatter(np.zeros(S), np.ones(S), s=30, zorder=3,
                                             c=[schedule_colour(n) for n in self.names])
        self.vline = self.ax_curve.axvline(0, color="0.3", lw=1)
        self.ax_curve.set_xlim(0, T - 1); self.ax_curve.set_ylim(-0.02, 1.02)
        # No tick machinery (it dominates a redraw on a slow CPU): reference lines and a few short labels.
        self.ax_curve.set_axis_off()
        for level in (0.0, 0.5, 1.0):
            self.ax_curve.axhline(level, color="0.6", lw=0.8, ls="--" if level == 0.5 else "-", zorder=0)
            self.ax_curve.text(-0.01 * T, level, f"{level:g}", ha="right", va="center", fontsize=9)
        for tick in (0, T - 1):
            self.ax_curve.text(tick, -0.04, f"t = {tick}", ha="center", va="top", fontsize=9)
        # plain texts, not axes titles: placing a title measures the axes' tick labels on every draw
        self.curve_title = self.ax_curve.text(0.5, 1.02, "", transform=self.ax_curve.transAxes, ha="center",
                                              va="bottom", fontsize=plt_rc("axes.titlesize"))

        self.scatters, self.frames = {}, {}
        for ax, n in zip(self.ax_clouds, self.names):
            # one Line2D with markers per panel: Agg stamps a cached marker, much faster than a scatter
            self.scatters[n], = ax.plot(*frame.clouds[n].T, "o", ms=2, mew=0, color=schedule_colour(n), alpha=0.7)
            ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
            ax.set_axis_off()                          # no axis machinery to draw; the frame is a patch
            self.frames[n] = ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False,
                                                    lw=2.5, ec="#D55E00", visible=False))
            ax.text(0.5, 1.03, n, transform=ax.transAxes, ha="center", va="bottom", fontsize=9,
                    color=schedule_colour(n))
        fig.subplots_adjust(left=0.02, right=0.97, top=0.93, bottom=0.1)
        self.frame = None
        self.update(schedule=self.names[0], t=0)

    def _frame(self, schedule: str, t: int) -> ScheduleFrame:
        return schedules_frame(self.schedules, schedule, t, self.image, self.eps_image,
                               self.cloud, self.eps_cloud, pad=self.pad)

    def dynamic_artists(self) -> list:
        """What a t move changes: the image row, its box, the markers, the t line, the title, the clouds."""
        return ([self.im, self.box, self.curve_title, self.markers, self.vline]
                + list(self.scatters.values()) + list(self.frames.values()))

    def static_key(self):
        """The chosen schedule (its ᾱ curve is drawn bold) plus the default limits and size."""
        return self.frame.chosen if self.frame is not None else None, super().static_key()

    def update(self, schedule: str = "linear", t: int = 0) -> ScheduleFrame:
        frame = self._frame(schedule, t)
        self.im.set_data(frame.tile)
        self.box.set_x(frame.chosen * self._tile_step - 0.5)
        self.curve_title.set_text(f"t = {frame.t}: ᾱ_t = {frame.abar[schedule]:.3f} ({schedule})")
        self.markers.set_offsets(np.column_stack([np.full(len(self.names), frame.t),
                                                  [frame.abar[n] for n in self.names]]))
        self.vline.set_xdata([frame.t, frame.t])
        for k, n in enumerate(self.names):
            chosen = k == frame.chosen
            self.curves[n].set_linewidth(3.0 if chosen else 1.2)
            self.curves[n].set_alpha(1.0 if chosen else 0.45)
            self.scatters[n].set_data(frame.clouds[n][:, 0], frame.clouds[n][:, 1])
            self.frames[n].set_visible(chosen)
        self.frame = frame
        self.redraw()
        return frame


def demo_view() -> SchedulesView:
    """The view as the chapter shows it (for the benchmark)."""
    return SchedulesView()


#: Parameter sweep for benchmarks/bench_views.py: every schedule at several t.
DEMO_SWEEP: list[dict] = [{"schedule": name, "t": t} for name in SCHEDULES for t in (0, 100, 259, 500, 750, 999)]
