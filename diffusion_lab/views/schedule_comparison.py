r"""Chapter 3's explorer: the same x0 and the same ε, noised at the same t under five schedules.

Every schedule here has T = 1000 steps (the maths' t = 1..T; the view's ``t`` parameter and every array
index is the code index k = t − 1, and every label shows t = k + 1) and noises with the
closed form x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε. Only ᾱ_t differs between schedules, so putting them side by
side at one t shows exactly what "a different schedule" changes.

The numbers come from the core: ``schedules.make_schedules`` (the five schedules),
``schedules.schedule_table`` (where each crosses ᾱ = 0.5, what is left at the end) and
``forward.q_sample_grid`` (x_t for every schedule and t, one ε). This module draws them:
    table_markdown(rows)         -> the table's rows as markdown
    schedules_frame(...)         -> ScheduleFrame: everything the live view draws at one (schedule, t)
Static figures (drawn once into the cell output): plot_overlay, plot_image_grid, plot_cloud_grid.
Live view: SchedulesView (update(schedule=..., t=...)), demo_view(), DEMO_SWEEP.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np
import torch
from matplotlib.patches import Rectangle

from ..data import load_digit
from ..distributions import make_distribution
from ..forward import q_sample_grid
from ..plotting import new_figure, schedule_colour, show_images, tile_images, to_numpy
from ..schedules import RECIPE_NAMES, NoiseSchedule, make_schedules
from ..i18n import tr, tr_fig
from ..seeding import make_generator
from ..validation import unknown_name
from . import View

#: The five schedules compared in chapter 3, in the order every figure uses (their colours follow it).
SCHEDULES: tuple[str, ...] = RECIPE_NAMES

#: Quantities plot_overlay can draw, with their axis labels (English; drawn through ``tr_fig``).
QUANTITIES = {
    "betas": r"$\beta_t$ (log scale)",
    "alphas_cumprod": r"$\bar\alpha_t$",
    "log_snr": r"log-SNR $= \log\,\bar\alpha_t/(1-\bar\alpha_t)$",
}


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def table_markdown(rows: list[dict]) -> str:
    """The rows of ``schedules.schedule_table`` as a markdown table (for ``display(Markdown(...))``), in the
    maths' convention: the crossing column is t = code index ``t_half`` + 1 ("never" when ᾱ stays ≥ 0.5 over the
    whole chain), ᾱ_T is the last value."""
    lines = [tr("| schedule | diffusers name | β_1 | β_T | first t with ᾱ_t < 0.5 | (fraction of T) | ᾱ_T | √ᾱ_T |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        diff = f"`{r['diffusers']}`" if r["diffusers"] else "—"
        never = r["t_half"] >= r["T"]                 # t_half() returns T when ᾱ never drops below 0.5
        crossing, frac = (tr("never"), "—") if never else (str(r["t_half"] + 1), f"{r['t_half_frac']:.0%}")
        lines.append(f"| {r['name']} | {diff} | {r['beta_first']:.3g} | {r['beta_last']:.3g} | {crossing} | "
                     f"{frac} | {r['abar_last']:.2e} | {r['scale_last']:.2e} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# What the live view draws
# ---------------------------------------------------------------------------------------------
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
        raise unknown_name("schedule", schedule, names)
    t = int(t)
    images = q_sample_grid(schedules, image, [t], noise=eps_image)[:, 0, 0]          # (S, 1, H, W)
    clouds = dict(zip(names, q_sample_grid(schedules, cloud, [t], noise=eps_cloud)[:, 0].numpy()))
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
        lines[name], = ax.plot(np.arange(1, s.T + 1), values, color=schedule_colour(name), label=name)
        if mark_half:
            th = min(s.t_half(), s.T - 1)                    # code index of the first ᾱ_t < 0.5
            ax.plot([th + 1], [values[th]], "o", color=schedule_colour(name))
    if quantity == "betas":
        ax.set_yscale("log")
    if mark_half:
        ax.axhline(0.5, color="0.4", lw=1, ls="--")
    ax.set_xlabel(tr_fig("step t (1 … T)"))
    ax.set_ylabel(tr_fig(QUANTITIES[quantity]))
    ax.legend()
    return lines


def plot_image_grid(ax, grid: torch.Tensor, names, ts, title: str | None = None):
    """Draw a grid of 1-channel images (S, K, 1, H, W) — one digit noised under S schedules at K steps,
    e.g. ``forward.q_sample_grid(schedules, digit, ts, noise)[:, :, 0]`` — as ONE tiled imshow, rows
    labelled with ``names`` and columns with ``ts``."""
    S, K, _, H, W = grid.shape
    im = show_images(ax, grid.reshape(S * K, 1, H, W), nrow=K, title=title)
    ax.set_xticks([k * (W + 1) + (W - 1) / 2 for k in range(K)], [f"t = {t}" for t in ts])
    ax.set_yticks([r * (H + 1) + (H - 1) / 2 for r in range(S)], list(names))
    ax.tick_params(length=0)
    return im


def plot_cloud_grid(fig, grid: torch.Tensor, names, ts, lim: float = 4.5):
    """Small multiples of a noised point cloud (S, K, n, 2) (``forward.q_sample_grid``): rows schedules,
    columns t."""
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

    ``update(schedule=name, t=int)`` with the maths' t = 1 … T (the code index k = t − 1 is used inside).
    The digit, the cloud and both ε are drawn once (seeded), so moving
    t or switching schedule changes only ᾱ_t. Text is kept short and the axes carry no tick machinery:
    glyphs and ticks are most of a redraw.
    """

    #: gap between columns as a fraction of a column's width; the image tiles use the same gap (in pixels)
    WSPACE = 0.25
    DYNAMIC_PARAMS = ("t",)

    def __init__(self, T: int = 1000, names=SCHEDULES, digit: int = 0, cloud: str = "ring",
                 n_points: int = 300, seed: int = 0, lim: float = 4.5):
        self.schedules = make_schedules(names, T)
        self.names = tuple(self.schedules)
        self.T = T
        gen = make_generator(seed)
        self.image = load_digit(digit)
        self.eps_image = torch.randn(self.image.shape, generator=gen)
        self.cloud = make_distribution(cloud).sample(n_points, generator=gen).to(torch.float32)
        self.eps_cloud = torch.randn(self.cloud.shape, generator=gen)
        W = self.image.shape[-1]
        self.pad = max(1, round(W * self.WSPACE))     # tile gap in pixels = column gap in panel widths
        self._tile_step = W + self.pad
        first = self._frame(self.names[0], 0)
        self._layout()
        self._build_image_row(first)
        self._build_curves()
        self._build_cloud_row(first, lim)
        self.fig.subplots_adjust(left=0.02, right=0.97, top=0.93, bottom=0.1)
        self.update(schedule=self.names[0], t=1)

    # -- building the figure ------------------------------------------------------------------
    def _layout(self) -> None:
        """A 2 × (S + 1) grid: the image row spans the first S columns, the curves the last column."""
        S = len(self.names)
        fig, axes = new_figure(2, S + 1, figsize=(1.65 * S + 3.0, 4.4),
                               gridspec_kw={"width_ratios": [1] * S + [2.1], "wspace": self.WSPACE,
                                            "hspace": 0.28})
        gs = axes[0, 0].get_gridspec()
        for ax in list(axes[0]) + [axes[1, -1]]:
            ax.remove()
        self.fig = fig
        self.ax_img = fig.add_subplot(gs[0, :S])
        self.ax_curve = fig.add_subplot(gs[:, S])
        self.ax_clouds = list(axes[1, :S])

    def _build_image_row(self, frame: ScheduleFrame) -> None:
        """One imshow of the S noised digits side by side, and the box around the chosen one."""
        H, W = self.image.shape[-2:]
        self.im = self.ax_img.imshow(frame.tile, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        self.ax_img.set_axis_off()
        self.ax_img.set_anchor("S")                    # sit on the cloud row, keep the full width
        self.box = Rectangle((-0.5, -0.5), W, H, fill=False, lw=2.5, ec="#D55E00")
        self.ax_img.add_patch(self.box)

    def _build_curves(self) -> None:
        """ᾱ_t of every schedule, a dot per schedule at t, the t line, reference lines at 0, 0.5, 1 with
        short labels instead of ticks, and the title as a plain text (an axes title would measure the
        tick labels on every draw)."""
        T, ax = self.T, self.ax_curve
        steps = np.unique(np.r_[np.arange(0, T, 4), T - 1])   # every 4th step draws a smooth curve at this size
        self.curves = {}
        for n, s in self.schedules.items():
            self.curves[n], = ax.plot(steps, to_numpy(s.alphas_cumprod)[steps], color=schedule_colour(n), lw=1.2)
        self.markers = ax.scatter(np.zeros(len(self.names)), np.ones(len(self.names)), s=30, zorder=3,
                                  c=[schedule_colour(n) for n in self.names])
        self.vline = ax.axvline(0, color="0.3", lw=1)
        ax.set_xlim(0, T - 1); ax.set_ylim(-0.02, 1.02)
        ax.set_axis_off()
        for level in (0.0, 0.5, 1.0):
            ax.axhline(level, color="0.6", lw=0.8, ls="--" if level == 0.5 else "-", zorder=0)
            ax.text(-0.01 * T, level, f"{level:g}", ha="right", va="center", fontsize=11)
        for tick, label in ((0, "t = 1"), (T - 1, f"t = {T}")):
            ax.text(tick, -0.04, label, ha="center", va="top", fontsize=11)
        ax.text(0.02, 0.3, "ᾱ_t", transform=ax.transAxes, fontsize=11, color="0.3")
        self.curve_title = ax.text(0.5, 1.02, "", transform=ax.transAxes, ha="center", va="bottom",
                                   fontsize=matplotlib.rcParams["axes.titlesize"])   # follows plotting.presenting()

    def _build_cloud_row(self, frame: ScheduleFrame, lim: float) -> None:
        """One panel per schedule: the cloud as one Line2D with markers (Agg stamps a cached marker, much
        faster than a scatter), no axis machinery, the schedule's name, and a frame patch shown when chosen."""
        self.scatters, self.frames = {}, {}
        for ax, n in zip(self.ax_clouds, self.names):
            self.scatters[n], = ax.plot(*frame.clouds[n].T, "o", ms=2, mew=0, color=schedule_colour(n), alpha=0.7)
            ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
            ax.set_axis_off()
            self.frames[n] = ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False,
                                                    lw=2.5, ec="#D55E00", visible=False))
            ax.text(0.5, 1.03, n, transform=ax.transAxes, ha="center", va="bottom", fontsize=11,
                    color=schedule_colour(n))

    def _frame(self, schedule: str, t: int) -> ScheduleFrame:
        return schedules_frame(self.schedules, schedule, t, self.image, self.eps_image,
                               self.cloud, self.eps_cloud, pad=self.pad)

    # -- the contract ---------------------------------------------------------------------------
    def allowed(self, name: str, state: dict):
        return {"schedule": self.names, "t": range(1, self.T + 1)}[name]

    def update(self, schedule: str | None = None, t: int | None = None) -> ScheduleFrame:
        """Show noising step t (1 … T) under every schedule, ``schedule`` highlighted (both optional);
        returns the :class:`ScheduleFrame` drawn (its ``t`` is the code index t − 1)."""
        return View.update(self, schedule=schedule, t=t)

    def show(self, changed: set[str]) -> ScheduleFrame:
        schedule = self.state["schedule"]
        frame = self._frame(schedule, self.state["t"] - 1)      # code index k = t − 1
        self.im.set_data(frame.tile)
        self.box.set_x(frame.chosen * self._tile_step - 0.5)
        self.curve_title.set_text(tr_fig("t = {t}: ᾱ_t = {abar:.3f} ({schedule})", t=frame.t + 1,
                                         abar=frame.abar[schedule], schedule=schedule))
        self.markers.set_offsets(np.column_stack([np.full(len(self.names), frame.t),
                                                  [frame.abar[n] for n in self.names]]))
        self.vline.set_xdata([frame.t, frame.t])
        for k, n in enumerate(self.names):
            chosen = k == frame.chosen
            self.curves[n].set_linewidth(3.0 if chosen else 1.2)
            self.curves[n].set_alpha(1.0 if chosen else 0.45)
            self.scatters[n].set_data(frame.clouds[n][:, 0], frame.clouds[n][:, 1])
            self.frames[n].set_visible(chosen)
        return frame

    def dynamic_artists(self) -> list:
        """What a t move changes: the image row, its box, the markers, the t line, the title, the clouds."""
        return ([self.im, self.box, self.curve_title, self.markers, self.vline]
                + list(self.scatters.values()) + list(self.frames.values()))


def demo_view() -> SchedulesView:
    """The view as the chapter shows it (for the benchmark)."""
    return SchedulesView()


#: Parameter sweep for benchmarks/bench_views.py: every schedule at several t.
DEMO_SWEEP: list[dict] = [{"schedule": name, "t": t} for name in SCHEDULES for t in (1, 100, 260, 500, 750, 1000)]
