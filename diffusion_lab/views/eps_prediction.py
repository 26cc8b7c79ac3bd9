r"""Chapter 4: training ε_θ(x_t, t) with L_simple = E‖ε − ε_θ(√ᾱ_t x0 + √(1−ᾱ_t) ε, t)‖².

The numbers come from :mod:`diffusion_lab.metrics`: ``closed_form_check`` (t + 1 small noising steps
land on the one-jump closed form, which is why training needs one noising step per example),
``eps_error_by_t`` (how far a network's ε̂ is from the exact ε* of a Gaussian mixture, per t, next to
the training loss of both), ``eps_field`` (ε̂ and ε* on a grid) and ``denoise`` (x_t and the network's
x̂0). This module draws them.

Views: :class:`EpsFieldView` (arrows of ε* and ε̂ over the plane, optionally the error-by-t curve with a
marker; ``update(t=...)``) and :class:`DenoiseView` (rows x0 / x_t / x̂0 of a few digits in ONE tiled
``imshow``; ``update(t=...)``). Static figures: :func:`plot_loss_curve`, :func:`plot_eps_error_by_t`,
:func:`plot_loss_by_t`, :func:`plot_denoise_grid`.

Time convention: the views' ``t`` parameter (their slider), every title and axis, and the ``ts`` of
:func:`plot_denoise_grid` are the maths' t = 1..T (x_t the sample after t noising steps); the core
functions are called with the code index k = t − 1. An :class:`~diffusion_lab.metrics.ErrorByT` or a
``LossByT`` holds code indices and is drawn at t = index + 1.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ..distributions import GaussianMixture, make_distribution
from ..forward import q_sample
from ..metrics import ErrorByT, denoise, eps_field
from ..i18n import tr_fig
from ..sampling import predict_eps
from ..plotting import PALETTE, new_figure, new_figure_with_side_panel, square_axes, tile_images, to_numpy
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from . import View

__all__ = [
    "EpsFieldView", "DenoiseView", "plot_loss_curve", "plot_eps_error_by_t", "plot_loss_by_t",
    "plot_denoise_grid", "smooth", "demo_view", "DEMO_SWEEP",
]


def smooth(values, window: int = 50) -> np.ndarray:
    """Running mean over ``window`` values (shorter at the start), for noisy loss curves."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
def _arrow_handle(colour: str, label: str) -> Line2D:
    """A legend entry for a quiver: a short thick line with an arrow head (plain markers: a mathtext
    arrow would be laid out again on every full draw)."""
    return Line2D([0, 1], [0, 0], color=colour, lw=2, marker=">", markevery=[1], ms=6, label=label)


def _maths_steps(schedule: NoiseSchedule) -> range:
    """The values a view's t may take: the maths' steps 1..T (code index t − 1)."""
    return range(1, schedule.T + 1)


class EpsFieldView(View):
    """Arrows of ε* (exact, orange) and ε̂ (network, blue) over the plane at step t, plus x_t samples
    (grey). ``update(t=...)`` (the maths' t, 1..T) recomputes both fields. With ``error`` (an
    :class:`~diffusion_lab.metrics.ErrorByT`) a second panel shows the error against t with a marker at t.

    The key, the axis labels and the error curve are static: the view blits (only the points, the two
    quivers, the title and the marker are redrawn per move), so they cost nothing per slider move."""

    DYNAMIC_PARAMS = ("t",)

    def __init__(self, model, schedule: NoiseSchedule, dist: GaussianMixture, error: ErrorByT | None = None,
                 lim: float = 3.0, grid_n: int = 13, n_points: int = 600, seed: int = 0, t: int = 100,
                 figsize=None):
        self.model, self.schedule, self.dist = model, schedule, dist
        self.lim, self.grid_n = float(lim), int(grid_n)
        gen = make_generator(seed)
        self.x0 = dist.sample(n_points, generator=gen)
        self.noise = torch.randn(self.x0.shape, generator=gen)
        self.error = error
        self.fig, self.ax, self.axe = new_figure_with_side_panel(error is not None, figsize, single=(4.8, 5.2),
                                                                 double=(9.0, 5.0))
        self._build_field(n_points)
        self.vline = self._build_error_panel() if error is not None else None
        self.fig.tight_layout()
        self.update(t=t)

    def allowed(self, name: str, state: dict):
        return _maths_steps(self.schedule)

    def update(self, t: int | None = None) -> None:
        """Show the maths' step t (1..T)."""
        return View.update(self, t=t)

    def _build_field(self, n_points: int) -> None:
        """Square axes over [−lim, lim]² (ticks at −lim, 0, lim, named in the axis labels: tick numbers
        would double a full redraw's text), the x_t points, the two quivers on the grid of eps_field, and
        the key below the axes (static)."""
        ax, lim, grid_n = self.ax, self.lim, self.grid_n
        square_axes(ax, lim, labels=False)
        ax.set_xlabel(tr_fig("x_t, coordinate 1 (ticks −{lim:g}, 0, {lim:g})", lim=lim))
        ax.set_ylabel(tr_fig("x_t, coordinate 2"))
        self.points = ax.scatter(np.zeros(n_points), np.zeros(n_points), s=3, color="0.6", lw=0, zorder=1)
        pts, _, _ = eps_field(self.model, self.schedule, self.dist, 0, lim, grid_n)
        zeros = np.zeros(len(pts))
        scale = grid_n / (2 * lim) * 2.2  # an arrow of length 1 spans ~0.45 grid cells
        kw = dict(angles="xy", scale_units="xy", scale=scale, width=0.005, zorder=3)
        self.q_exact = ax.quiver(pts[:, 0], pts[:, 1], zeros, zeros, color=PALETTE[1], **kw)
        self.q_model = ax.quiver(pts[:, 0], pts[:, 1], zeros, zeros, color=PALETTE[0], **kw)
        self.title = ax.set_title("", fontsize=10, y=1.0)          # fixed position: the title is blitted
        handles = [_arrow_handle(PALETTE[1], tr_fig("exact ε*(x_t, t)")),
                   _arrow_handle(PALETTE[0], tr_fig("network ε̂(x_t, t)")),
                   Line2D([], [], ls="", marker="o", ms=4, color="0.6", label=tr_fig("samples x_t"))]
        # below the axes, so no arrow is ever drawn over it (blitting draws the arrows last)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, fontsize=9,
                  frameon=False, handlelength=1.2, columnspacing=0.9)

    def _build_error_panel(self):
        """mean (ε̂ − ε*)² against the maths' t, with a vertical line at the current t (returned)."""
        axe, error = self.axe, self.error
        axe.plot(np.asarray(error.ts) + 1, error.mse_to_exact, "o-", color=PALETTE[0], ms=3,
                 label=tr_fig("mean (ε̂ − ε*)² over x_t ~ q(x_t)"))
        axe.set_title(tr_fig("network's distance to ε* by t"), fontsize=10)
        axe.set_xlabel(tr_fig("noising step t")); axe.set_ylabel(tr_fig("mean (ε̂ − ε*)² per coordinate"))
        axe.set_xlim(0, self.schedule.T + 1)
        axe.set_ylim(0, max(1e-3, 1.1 * float(np.max(error.mse_to_exact))))
        axe.yaxis.set_major_locator(MaxNLocator(3)); axe.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        vline = axe.axvline(1, color="black", lw=1, label=tr_fig("current t"))
        axe.legend(loc="best", fontsize=9)
        return vline

    def show(self, changed: set[str]) -> None:
        t = self.state["t"]
        k = t - 1                                                  # code index of step t
        _, e_model, e_exact = eps_field(self.model, self.schedule, self.dist, k, self.lim, self.grid_n)
        self.q_exact.set_UVC(e_exact[:, 0], e_exact[:, 1])
        self.q_model.set_UVC(e_model[:, 0], e_model[:, 1])
        x_t = q_sample(self.schedule, self.x0, k, noise=self.noise)
        self.points.set_offsets(to_numpy(x_t))
        # over the grey samples x_t ~ q(x_t), as the chapter's numbers; the arrows' grid also covers empty
        # regions, where the network never trained and errs far more
        err = float((predict_eps(self.model, x_t, k).double() - self.dist.eps_star(self.schedule, x_t, k).double())
                    .pow(2).mean())
        self.title.set_text(tr_fig("t = {t}: mean (ε̂ − ε*)² over the grey x_t = {err:.4f}", t=t, err=err))
        if self.vline is not None:
            self.vline.set_xdata([t, t])

    def dynamic_artists(self) -> list:
        """What a t move changes: the points, both quivers, the title and the error marker."""
        moving = [self.points, self.q_exact, self.q_model, self.title]
        return moving + ([self.vline] if self.vline is not None else [])


class DenoiseView(View):
    """Rows x0 / x_t / x̂0 for a few images in one tiled imshow; ``update(t=...)`` (the maths' t, 1..T)
    re-noises with the SAME ε. The rows are named on the left (static: the view blits the image and the
    title only)."""

    DYNAMIC_PARAMS = ("t",)

    def __init__(self, model, schedule: NoiseSchedule, x0: torch.Tensor, seed: int = 0, t: int = 100,
                 figsize=(6.0, 2.8)):
        self.model, self.schedule = model, schedule
        self.x0 = torch.as_tensor(x0, dtype=torch.float32)
        self.k = self.x0.shape[0]
        self.noise = torch.randn(self.x0.shape, generator=make_generator(seed))
        self.fig, self.ax = new_figure(1, 1, figsize=figsize)
        tiles = self._tiles(self.x0, self.x0)
        self.im = self.ax.imshow(tiles, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        row_height = (tiles.shape[0] + 1) / 3                      # three rows of images, 1 px padding
        self.ax.set_yticks([(i + 0.5) * row_height - 1 for i in range(3)], ["x0", "x_t", "x̂0"], fontsize=10)
        self.ax.set_xticks([]); self.ax.grid(False)
        self.ax.tick_params(left=False)
        for spine in self.ax.spines.values():                      # a frame would sit over the blitted image
            spine.set_visible(False)
        self.title = self.ax.set_title("", fontsize=10, y=1.0)     # fixed position: the title is blitted
        self.fig.tight_layout()
        self.update(t=t)

    def allowed(self, name: str, state: dict):
        return _maths_steps(self.schedule)

    def update(self, t: int | None = None) -> None:
        """Show the maths' step t (1..T)."""
        return View.update(self, t=t)

    def _tiles(self, x_t, x0_hat) -> np.ndarray:
        stack = torch.cat([self.x0, x_t.clamp(-1, 1), x0_hat.clamp(-1, 1)])
        return tile_images(stack, nrow=self.k)

    def show(self, changed: set[str]) -> None:
        t = self.state["t"]
        k = t - 1                                                  # code index of step t
        x_t, x0_hat = denoise(self.model, self.schedule, self.x0, k, noise=self.noise)
        self.im.set_data(self._tiles(x_t, x0_hat))
        mse = float((x0_hat.clamp(-1, 1) - self.x0).pow(2).mean())
        self.title.set_text(tr_fig("t = {t}, ᾱ_t = {abar:.3f}: mean (x̂0 − x0)² = {mse:.3f}",
                                   t=t, abar=float(self.schedule.alphas_cumprod[k]), mse=mse))

    def dynamic_artists(self) -> list:
        """What a t move changes: the tiled image and the title."""
        return [self.im, self.title]


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_loss_curve(history, window: int = 50, ax=None, label: str | None = None, floor: float | None = None):
    """The per-step loss (faint) and its running mean; ``floor`` draws the exact ε*'s loss as a line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.2))
    h = np.asarray(history, dtype=np.float64)
    ax.plot(h, color=PALETTE[0], alpha=0.2, lw=0.8, label=tr_fig("loss of each training step"))
    ax.plot(smooth(h, window), color=PALETTE[0],
            label=label or tr_fig("running mean over {window} steps", window=window))
    if floor is not None:
        ax.axhline(floor, color=PALETTE[1], ls="--", label=tr_fig("loss of the exact ε* ({floor:.3f})", floor=floor))
    ax.set_xlabel(tr_fig("training step")); ax.set_ylabel(tr_fig("L_simple (per coordinate)"))
    ax.set_ylim(0, max(1.2, float(np.percentile(h, 99)) if h.size else 1.2))
    ax.legend(fontsize=9)
    return ax


def plot_eps_error_by_t(error: ErrorByT, ax=None, label: str = "network"):
    """Loss against the maths' t (code index + 1) of the network and of ε*, and the network's squared
    distance to ε*."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    t = np.asarray(error.ts) + 1
    label = tr_fig(label)                      # the default "network" in the chosen language
    ax.plot(t, error.loss_model, "o-", ms=3, color=PALETTE[0], label=tr_fig("L_simple of the {label}", label=label))
    ax.plot(t, error.loss_exact, "s--", ms=3, color=PALETTE[1], label=tr_fig("L_simple of the exact ε* (floor)"))
    ax.plot(t, error.mse_to_exact, "^-", ms=3, color=PALETTE[3], label=tr_fig("mean (ε̂ − ε*)² of the {label}",
                                                                              label=label))
    ax.set_yscale("log"); ax.set_xlabel(tr_fig("noising step t (1 … T)"))
    ax.set_ylabel(tr_fig("squared error per coordinate"))
    ax.legend(fontsize=9)
    return ax


def plot_loss_by_t(results: dict, ax=None):
    """``results`` {label: training.LossByT}: mean loss per bucket of t with ±2 SE bands, against the maths'
    t (the buckets' code-index centres + 1)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, (label, lb) in enumerate(results.items()):
        mid, loss, sem = to_numpy(lb.t_mid) + 1, to_numpy(lb.loss), to_numpy(lb.sem)
        ax.plot(mid, loss, "o-", ms=3, color=PALETTE[i % len(PALETTE)], label=label)
        ax.fill_between(mid, loss - 2 * sem, loss + 2 * sem, color=PALETTE[i % len(PALETTE)], alpha=0.2)
    ax.set_yscale("log"); ax.set_xlabel(tr_fig("noising step t (centre of each bucket)"))
    ax.set_ylabel(tr_fig("L_simple (per coordinate)"))
    ax.legend(fontsize=9)
    return ax


def plot_denoise_grid(model, schedule: NoiseSchedule, x0: torch.Tensor, ts: Sequence[int], seed: int = 0):
    """For ONE image x0 (1, C, H, W): x_t (top) and the network's x̂0 (bottom) at each maths' step t in
    ``ts`` (1..T), x0 at the left."""
    noise = torch.randn(x0.shape, generator=make_generator(seed))
    fig, axes = plt.subplots(2, len(ts) + 1, figsize=(1.45 * (len(ts) + 1), 3.3))
    for ax in axes.ravel():
        ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    axes[0, 0].imshow(to_numpy(x0[0, 0]), cmap="gray", vmin=-1, vmax=1); axes[0, 0].set_title("x0", fontsize=10)
    axes[1, 0].axis("off")
    for j, t in enumerate(ts, start=1):
        if not 1 <= int(t) <= schedule.T:
            raise ValueError(f"plot_denoise_grid: t = {t} is out of range; it runs 1..{schedule.T}.")
        x_t, x0_hat = denoise(model, schedule, x0, int(t) - 1, noise=noise)     # code index t − 1
        axes[0, j].imshow(to_numpy(x_t[0, 0]).clip(-1, 1), cmap="gray", vmin=-1, vmax=1)
        axes[0, j].set_title(f"x_t, t = {t}", fontsize=10)
        axes[1, j].imshow(to_numpy(x0_hat[0, 0]).clip(-1, 1), cmap="gray", vmin=-1, vmax=1)
        axes[1, j].set_title(tr_fig("x̂0 from it"), fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Benchmark hooks
# ---------------------------------------------------------------------------------------------
def demo_view() -> EpsFieldView:
    """The arrow view as the chapter shows it, with the exact ε* scaled by 0.9 standing in for a network
    (no checkpoint needed)."""
    ring = make_distribution("ring")
    schedule = make_schedule("linear", 1000)
    exact = ring.eps_model(schedule)
    return EpsFieldView(lambda x, t: 0.9 * exact(x, t), schedule, ring)


#: The maths' t moved across the whole range 1..T, for benchmarks/bench_views.py and the blitting test.
DEMO_SWEEP: list[dict] = [{"t": t} for t in (1, 10, 30, 60, 100, 150, 200, 300, 400, 500, 700, 1000)]
