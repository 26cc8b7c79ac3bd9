r"""Chapter 2: a 2D point cloud under the forward process, x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε.

The numbers come from the core: x_t for every t with ONE fixed ε is
:func:`diffusion_lab.forward.q_sample_steps` (so the points move continuously as t grows and a
slider is just an index); the moment check against E[x_t] = √ᾱ_t μ, Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I is
:func:`diffusion_lab.metrics.moment_check`. This module prepares what to draw:

* :func:`density_grid` and :func:`level_lines` — the exact density q(x_t) of a Gaussian mixture on a
  grid (a numpy fast path, tested equal to ``GaussianMixture.log_prob_t``) and a few of its level
  lines as one NaN-separated polyline;
* :func:`circle` / :func:`destination_circles` — the 1σ/2σ circles of N(0, I), where the process ends.

:class:`Scatter2DView` draws them: the scatter is built once and moved with ``set_offsets``; the
level lines of q(x_t) are one ``Line2D`` changed with ``set_data`` (never ``ax.contour`` per move;
a density image was tried and dropped: resampling it cost more than the rest of the figure). The
density for each (shape, schedule, t) is computed on first use and cached. :func:`plot_snapshots`,
:func:`plot_shape_grid` and :func:`plot_moments` draw the chapter's static figures.

Time convention: the view's ``t`` parameter, its slider, every title and axis are the maths' t = 1..T
(x0 the data, x_T the end of the chain); arrays are indexed by the code index k = t − 1 (row k of the
clouds is x_t for t = k + 1), and so are :func:`density_grid` and the ``steps`` of the static figures,
like the core functions they call.
"""
from __future__ import annotations

from dataclasses import dataclass

from matplotlib.lines import Line2D

import contourpy
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..distributions import Distribution, GaussianMixture, make_distribution
from ..forward import marginal_moments, q_sample_steps
from ..metrics import MomentCheck, data_moments
from ..i18n import Message, tr_fig
from ..plotting import PALETTE, new_figure, to_numpy
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from ..validation import check_timestep, unknown_name
from . import View

#: The shapes of the chapter (names for ``make_distribution``), the Gaussian cloud first.
SHAPES: tuple[str, ...] = ("gaussian_2d", "moons", "swiss_roll", "ring", "grid", "checkerboard")
#: Readable labels for the shape dropdown.
SHAPE_LABELS = {"gaussian_2d": "Gaussian N((2,2), 0.5²I)", "moons": "two moons", "swiss_roll": "swiss roll",
                "ring": "ring of 8 Gaussians", "grid": "3×3 grid of Gaussians", "checkerboard": "checkerboard"}
#: Relative density levels drawn as contour lines: exp(−r²/2) of the peak. For one Gaussian these are
#: exactly its 1σ and 2σ ellipses (r = 1, 2), the same radii as the N(0, I) circles.
RELATIVE_LEVELS = (float(np.exp(-0.5)), float(np.exp(-2.0)))
#: A key in words, as HTML (optional: the live view also carries its legend inside the figure, a static
#: artist that costs nothing per move when the view blits).
LEGEND_HTML = Message(                 # shown by the explorer in the chosen language
    "<span style='color:#999'>● x0 (data)</span> &nbsp; "
    "<span style='color:{c0}'>● x_t</span> &nbsp; "
    "<span style='color:{c3}'>━ exact q(x_t): 1σ, 2σ levels</span> &nbsp; "
    "<span>╌ N(0, I): 1σ, 2σ circles</span> &nbsp; "
    "<span style='color:{c2}'>○ √ᾱ_t E[x0] (closed-form mean) on its path</span> &nbsp; "
    "<b>×</b> mean of the points &nbsp;·&nbsp; axes [−4, 4]², grid lines every 2 units, slider t = 1..T",
    c0=PALETTE[0], c2=PALETTE[2], c3=PALETTE[3])


def chapter_schedules() -> dict[str, NoiseSchedule]:
    """The chapter's two schedules: the course text's short one (T = 100, β 0.001→0.02), which does
    NOT reach N(0, I) (ᾱ_99 ≈ 0.35), and the standard one (T = 1000, β 1e-4→0.02, ᾱ_999 ≈ 4e-5)."""
    return {"T = 100": make_schedule("linear", 100, beta_start=0.001, beta_end=0.02, warn=False),
            "T = 1000": make_schedule("linear", 1000)}


# ---------------------------------------------------------------------------------------------
# What to draw (plain functions)
# ---------------------------------------------------------------------------------------------
def grid_points(lim: float = 4.0, size: int = 101) -> tuple[np.ndarray, torch.Tensor]:
    """The coordinates (size,) of a square grid over [−lim, lim]² and its points (size², 2), x fastest."""
    ticks = np.linspace(-lim, lim, size)
    gx, gy = np.meshgrid(ticks, ticks, indexing="xy")
    return ticks, torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1))


def density_grid(dist: GaussianMixture, schedule: NoiseSchedule, k: int, lim: float = 4.0,
                 size: int = 101) -> np.ndarray:
    """The exact density q(x_t) at code index k = t − 1 on a size × size grid over [−lim, lim]²;
    row = y, column = x (ready for ``imshow(origin="lower")``).

    Uses ``dist.marginal(schedule, k)`` (means √ᾱ_t μ_k, covariances ᾱ_t Σ_k + (1−ᾱ_t) I) and evaluates
    the 2D Gaussians in numpy with the 2 × 2 inverses written out, several times faster than the torch
    ``log_prob_t`` on this grid, so a slider can afford it on first visit. Equal to
    ``exp(dist.log_prob_t(schedule, points, k))`` (tested).
    """
    if not isinstance(dist, GaussianMixture):
        raise TypeError(f"density_grid needs a GaussianMixture (it has a closed-form q(x_t)); "
                        f"{getattr(dist, 'name', dist)!r} can only be sampled.")
    if dist.dim != 2:
        raise ValueError(f"density_grid draws 2D data; {dist.name!r} has dimension {dist.dim}.")
    k = check_timestep(k, schedule.T)
    q = dist.marginal(schedule, k)
    ticks = np.linspace(-lim, lim, size)
    dens = np.zeros((size, size))
    for w, m, c in zip(q.weights.numpy(), q.means.numpy(), q.covs.numpy()):
        det = c[0, 0] * c[1, 1] - c[0, 1] * c[1, 0]
        dx, dy = ticks[None, :] - m[0], ticks[:, None] - m[1]          # x along columns, y along rows
        maha = (c[1, 1] * dx**2 - 2 * c[0, 1] * dx * dy + c[0, 0] * dy**2) / det
        dens += w * np.exp(-0.5 * maha) / (2 * np.pi * np.sqrt(det))
    return dens


def level_lines(density: np.ndarray, lim: float = 4.0, levels=RELATIVE_LEVELS) -> np.ndarray:
    """Contour lines of ``density`` at ``levels`` × its peak, as one (m, 2) polyline with NaN rows
    between pieces (one ``Line2D.set_data`` draws them all)."""
    size = density.shape[0]
    ticks = np.linspace(-lim, lim, size)
    gen = contourpy.contour_generator(ticks, ticks, density, line_type=contourpy.LineType.Separate)
    peak = float(density.max())
    pieces = []
    for rel in levels:
        for line in gen.lines(rel * peak):
            pieces.append(np.asarray(line))
            pieces.append(np.full((1, 2), np.nan))
    return np.concatenate(pieces) if pieces else np.full((1, 2), np.nan)


def circle(radius: float = 1.0, center=(0.0, 0.0), num: int = 181) -> np.ndarray:
    """Points (num, 2) on a circle: the kσ contour of N(center, I) has radius k."""
    a = np.linspace(0, 2 * np.pi, num)
    return np.stack([center[0] + radius * np.cos(a), center[1] + radius * np.sin(a)], 1)


def destination_circles() -> np.ndarray:
    """The 1σ and 2σ circles of N(0, I) as one NaN-separated polyline."""
    return np.concatenate([circle(1.0), np.full((1, 2), np.nan), circle(2.0)])


# ---------------------------------------------------------------------------------------------
# The live view
# ---------------------------------------------------------------------------------------------
@dataclass
class Frame:
    """Everything one picture of the view needs."""
    shape: str
    schedule: str
    t: int                       # the maths' t (1..T); arrays below are at code index t − 1
    abar: float
    points: np.ndarray           # (n, 2): x_t
    density: np.ndarray | None   # (size, size) q(x_t) scaled to peak 1, or None (sample-only shape)
    lines: np.ndarray            # (m, 2) level lines of q(x_t) (NaN rows only if no density)
    mean_emp: np.ndarray         # (2,) mean of the points
    mean_cf: np.ndarray          # (2,) √ᾱ_t E[x0]
    mean_path: np.ndarray        # (T, 2) √ᾱ_t E[x0] for all t


def title_text(f: Frame) -> str:
    """The view's one-line title: the maths' t and ᾱ_t (kept short: in a redraw every glyph costs).

    The markers need no words here: ○ is the closed-form mean √ᾱ_t E[x0] (on its green path), × the
    mean of the points (the chapter explains both)."""
    exact = "" if f.density is not None else tr_fig("  (samples only)")
    return f"t = {f.t}   ᾱ_t = {f.abar:.3f}{exact}"


class Scatter2DView(View):
    """x_t of a 2D cloud for one fixed ε, with q(x_t) (Gaussian cases) and N(0, I) as the goal.

    ``update(t=..., shape=..., schedule=...)``: t is the maths' step 1..T of the chosen schedule, shape
    one of :data:`SHAPES`, schedule a key of ``view.schedules``. The data x0 stays visible as a faint
    grey ghost; x0 per shape and ε are drawn once from ``seed``. The figure carries its own legend and
    axis labels (static: drawn once into the kept background, since every parameter only moves the
    :meth:`dynamic_artists`). Its default size (4.6 × 5.2 in at 90 dpi, about 415 × 470 px) leaves room
    for the three controls in a 900 px high window.
    """

    def __init__(self, n: int = 1000, seed: int = 0, schedules: dict[str, NoiseSchedule] | None = None,
                 shapes=SHAPES, lim: float = 4.0, grid_size: int = 101, figsize=(4.6, 5.2)):
        self.n, self.seed, self.lim, self.grid_size = int(n), int(seed), float(lim), int(grid_size)
        self.schedules = dict(schedules) if schedules else chapter_schedules()
        self.shapes = tuple(shapes)
        for s in self.shapes:
            if s not in SHAPES:
                raise unknown_name("shape", s, SHAPES)
        self.eps = torch.randn((self.n, 2), generator=make_generator(self.seed), dtype=torch.float64)
        self._dists: dict[str, Distribution] = {}
        self._x0: dict[str, np.ndarray] = {}
        self._clouds: dict[tuple, np.ndarray] = {}
        self._density: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._mean_path: dict[tuple, np.ndarray] = {}
        self.fig, self.ax = new_figure(1, 1, figsize=figsize)
        self._build_axes()
        self._build_artists()
        self.fig.tight_layout()
        self.update(shape=self.shapes[0], schedule=next(iter(self.schedules)), t=1)

    # -- building the figure ------------------------------------------------------------------
    def _build_axes(self) -> None:
        """Fixed square axes [−lim, lim]² with ticks every 2 units and axis labels (static); the grid is one
        NaN-separated Line2D."""
        ax, L = self.ax, self.lim
        ax.set_xlim(-L, L); ax.set_ylim(-L, L); ax.set_aspect("equal")
        ticks = np.arange(-L, L + 1e-9, 2.0)
        ax.set_xticks(ticks); ax.set_yticks(ticks); ax.grid(False)
        ax.set_xlabel(tr_fig("first coordinate of x")); ax.set_ylabel(tr_fig("second coordinate of x"))
        g = np.arange(-L, L + 1e-9, 2.0)
        seg = [[(v, -L), (v, L), (np.nan, np.nan), (-L, v), (L, v), (np.nan, np.nan)] for v in g]
        grid_xy = np.array([pt for block in seg for pt in block])
        ax.plot(grid_xy[:, 0], grid_xy[:, 1], color="0.85", lw=0.8, zorder=0)

    def _build_artists(self) -> None:
        """The ghost of x0, the scatter of x_t, the N(0, I) circles, q(x_t)'s level lines, the mean's
        closed-form path with its marker (○), the points' mean (×) and a one-line title."""
        ax, zeros = self.ax, np.zeros(self.n)
        self.ghost = ax.scatter(zeros, zeros, s=4, color="0.7", alpha=0.45, lw=0, zorder=1, label="x0")
        self.scatter = ax.scatter(zeros, zeros, s=7, color=PALETTE[0], alpha=0.55, lw=0, zorder=2, label="x_t")
        goal = destination_circles()
        ax.plot(goal[:, 0], goal[:, 1], color="black", ls="--", lw=1.0, zorder=3, label="N(0, I)")
        (self.contour,) = ax.plot([], [], color=PALETTE[3], lw=1.5, zorder=3, label="q(x_t)")
        (self.path,) = ax.plot([], [], color=PALETTE[2], lw=1.0, alpha=0.8, zorder=3)
        (self.mean_cf,) = ax.plot([], [], "o", ms=9, mfc="none", mec=PALETTE[2], mew=2, zorder=4)
        (self.mean_emp,) = ax.plot([], [], "x", ms=8, color="black", mew=2, zorder=5)
        self.title = ax.set_title("", fontsize=11, y=1.0)          # fixed position: the title is blitted
        handles = [
            Line2D([], [], ls="", marker="o", ms=5, color="0.6", label=tr_fig("x0 (data)")),
            Line2D([], [], ls="", marker="o", ms=5, color=PALETTE[0], label="x_t"),
            Line2D([], [], color=PALETTE[3], lw=1.5, label=tr_fig("exact q(x_t): 1σ, 2σ")),
            Line2D([], [], color="black", ls="--", lw=1.0, label="N(0, I): 1σ, 2σ"),
            Line2D([], [], color=PALETTE[2], marker="o", mfc="none", mew=2, label=tr_fig("√ᾱ_t E[x0] and its path")),
            Line2D([], [], ls="", marker="x", mew=2, color="black", label=tr_fig("mean of the points")),
        ]
        # below the axes, so no point is ever drawn over it (blitting draws the points last)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, fontsize=9,
                  frameon=False, handlelength=1.6, columnspacing=1.0, labelspacing=0.25)

    # -- data, computed on first use and cached ----------------------------------------------
    def dist(self, shape: str) -> Distribution:
        if shape not in self.shapes:
            raise unknown_name("shape", shape, self.shapes)
        if shape not in self._dists:
            self._dists[shape] = make_distribution(shape)
        return self._dists[shape]

    def x0(self, shape: str) -> np.ndarray:
        if shape not in self._x0:
            dist = self.dist(shape)                      # checks the name
            gen = make_generator(self.seed + 1 + SHAPES.index(shape))
            self._x0[shape] = to_numpy(dist.sample(self.n, generator=gen)).astype(np.float64)
        return self._x0[shape]

    def schedule(self, key: str) -> NoiseSchedule:
        if key not in self.schedules:
            raise unknown_name("schedule", key, tuple(self.schedules))
        return self.schedules[key]

    def clouds(self, shape: str, schedule: str) -> np.ndarray:
        """x_t for all t, (T, n, 2) float32, one ε for every t and every shape."""
        key = (shape, schedule)
        if key not in self._clouds:
            sched = self.schedule(schedule)
            x_t = q_sample_steps(sched, torch.from_numpy(self.x0(shape)), range(sched.T), noise=self.eps)
            self._clouds[key] = x_t.numpy().astype(np.float32)
        return self._clouds[key]

    def density(self, shape: str, schedule: str, k: int):
        """(density scaled to peak 1, level lines) of q(x_t) at code index k = t − 1, or (None, NaN line)
        for sample-only shapes."""
        key = (shape, schedule, k)
        if key not in self._density:
            dist = self.dist(shape)
            if isinstance(dist, GaussianMixture):
                dens = density_grid(dist, self.schedule(schedule), k, self.lim, self.grid_size)
                self._density[key] = (dens / dens.max(), level_lines(dens, self.lim))
            else:
                self._density[key] = (None, np.full((1, 2), np.nan))
        return self._density[key]

    def mean_path(self, shape: str, schedule: str) -> np.ndarray:
        """E[x_t] = √ᾱ_t E[x0] for every t, (T, 2) (E[x0] exact for a mixture, else the sample's mean)."""
        key = (shape, schedule)
        if key not in self._mean_path:
            sched = self.schedule(schedule)
            mean0, _ = data_moments(self.dist(shape), self.x0(shape))
            self._mean_path[key] = marginal_moments(sched, torch.arange(sched.T), torch.as_tensor(mean0))[0].numpy()
        return self._mean_path[key]

    # -- what to draw --------------------------------------------------------------------------
    def frame(self, t: int | None = None, shape: str | None = None, schedule: str | None = None) -> Frame:
        """What the view draws for the maths' step t (1..T), shape and schedule; None takes the view's
        current value."""
        shape = shape or self.state["shape"]
        schedule = schedule or self.state["schedule"]
        sched = self.schedule(schedule)
        t = self.state["t"] if t is None else int(t)
        if not 1 <= t <= sched.T:
            raise ValueError(f"Scatter2DView.frame: t = {t} is out of range; it runs 1..{sched.T}.")
        k = t - 1                                           # code index of x_t
        pts = self.clouds(shape, schedule)[k]
        dens, lines = self.density(shape, schedule, k)
        path = self.mean_path(shape, schedule)
        return Frame(shape, schedule, t, float(sched.alphas_cumprod[k]), pts, dens, lines,
                     pts.astype(np.float64).mean(0), path[k], path)

    # -- the contract ---------------------------------------------------------------------------
    def allowed(self, name: str, state: dict):
        if name == "t":
            return range(1, self.schedules[state["schedule"]].T + 1)
        return {"shape": self.shapes, "schedule": tuple(self.schedules)}[name]

    def update(self, t: int | None = None, shape: str | None = None, schedule: str | None = None) -> Frame:
        """Show the maths' step t (1..T) of ``shape`` under ``schedule`` (each optional); returns the
        :class:`Frame` drawn. A t beyond a newly chosen schedule's T is an error: give t as well."""
        return View.update(self, shape=shape, schedule=schedule, t=t)

    #: every parameter only moves the dynamic artists: the axes, ticks, labels and legend stay in the background
    DYNAMIC_PARAMS = ("t", "shape", "schedule")

    def dynamic_artists(self) -> list:
        """What an update changes: the data ghost, the points, q(x_t)'s lines, the mean's path and markers,
        the title."""
        return [self.ghost, self.scatter, self.contour, self.path, self.mean_cf, self.mean_emp, self.title]

    def show(self, changed: set[str]) -> Frame:
        f = self.frame()
        self.scatter.set_offsets(f.points)
        self.ghost.set_offsets(self.x0(f.shape))
        self.contour.set_data(f.lines[:, 0], f.lines[:, 1])
        self.path.set_data(f.mean_path[:, 0], f.mean_path[:, 1])
        self.mean_cf.set_data([f.mean_cf[0]], [f.mean_cf[1]])
        self.mean_emp.set_data([f.mean_emp[0]], [f.mean_emp[1]])
        self.title.set_text(title_text(f))
        return f


# ---------------------------------------------------------------------------------------------
# Static figures for the chapter
# ---------------------------------------------------------------------------------------------
def draw_cloud(ax, points, title: str = "", lim: float = 4.0, lines=None, density=None, ghost=None,
               goal: bool = True, color: str = PALETTE[0], s: float = 5):
    """One static scatter panel on fixed axes [−lim, lim]², with optional q(x_t) image/lines and goal circles."""
    pts = to_numpy(points)
    if density is not None:
        ax.imshow(density / density.max(), extent=(-lim, lim, -lim, lim), origin="lower", cmap="Oranges",
                  vmin=0, vmax=1.6, alpha=0.55, interpolation="bilinear", zorder=0)
    if ghost is not None:
        g = to_numpy(ghost)
        ax.scatter(g[:, 0], g[:, 1], s=3, color="0.75", alpha=0.5, lw=0, zorder=1)
    ax.scatter(pts[:, 0], pts[:, 1], s=s, color=color, alpha=0.5, lw=0, zorder=2)
    if goal:
        c = destination_circles()
        ax.plot(c[:, 0], c[:, 1], color="black", ls="--", lw=0.9, zorder=3)
    if lines is not None:
        ax.plot(lines[:, 0], lines[:, 1], color=PALETTE[3], lw=1.2, zorder=3)
    ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
    ax.set_title(title, fontsize=10)


def plot_snapshots(dist: Distribution, schedule: NoiseSchedule, x0, clouds, steps, lim: float = 4.0,
                   axes=None, contours: bool = True):
    """A row of panels: "x0 (data)" then x_t at each code index k = t − 1 in ``steps`` (fixed axes, same ε;
    titles show the maths' t = k + 1).

    For a GaussianMixture the exact q(x_t) level lines (and q(x0)'s) are drawn in red; the dashed
    circles are N(0, I)'s 1σ and 2σ. Returns the axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(steps) + 1, figsize=(2.6 * (len(steps) + 1), 2.9), sharey=True)
    exact = contours and isinstance(dist, GaussianMixture)
    lines0 = None
    if exact:
        dens0 = np.exp(dist.log_prob(grid_points(lim)[1]).numpy()).reshape(101, 101)
        lines0 = level_lines(dens0, lim)
    draw_cloud(axes[0], x0, tr_fig("x0 (data)"), lim, lines=lines0, color=PALETTE[1])
    for ax, t in zip(axes[1:], steps):
        lines = level_lines(density_grid(dist, schedule, t, lim), lim) if exact else None
        draw_cloud(ax, clouds[t], f"t = {t + 1}  (ᾱ_t = {float(schedule.alphas_cumprod[t]):.3f})", lim, lines=lines)
    return axes


def plot_shape_grid(view: Scatter2DView, schedule: str, steps, shapes=None):
    """Rows = shapes, columns = x0 then x_t at the code indices ``steps`` (titles t = index + 1), from the
    view's data (same x0 and ε). Returns fig."""
    shapes = tuple(shapes or view.shapes)
    fig, axes = plt.subplots(len(shapes), len(steps) + 1, figsize=(1.9 * (len(steps) + 1), 1.95 * len(shapes)),
                             squeeze=False)
    sched = view.schedule(schedule)
    for row, shape in zip(axes, shapes):
        clouds = view.clouds(shape, schedule)
        draw_cloud(row[0], view.x0(shape), tr_fig("x0 (data)"), view.lim, color=PALETTE[1], s=3)
        for ax, t in zip(row[1:], steps):
            _, lines = view.density(shape, schedule, t)
            draw_cloud(ax, clouds[t], f"t = {t + 1}", view.lim, lines=lines, s=3)
        row[0].set_ylabel(tr_fig(SHAPE_LABELS[shape]), fontsize=9)
        for ax in row:
            ax.set_xticks([]); ax.set_yticks([])
    fig.suptitle(tr_fig("linear schedule, {schedule} (steps t = 1..{T})", schedule=schedule, T=sched.T),
                 fontsize=11)
    fig.tight_layout()
    return fig


def plot_moments(check: MomentCheck, axes=None, title: str = "", k: float = 2.0):
    """Two panels: the mean's coordinates and the covariance's entries over t, empirical (dots) vs
    closed form (lines), with ±k standard-error bands, over the maths' t = 1..T. Returns the axes."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    T = check.mean_cf.shape[0]
    t = np.arange(1, T + 1)
    every = max(1, T // 60)
    for i, (name, c) in enumerate([("E[x_t]₁", PALETTE[0]), ("E[x_t]₂", PALETTE[5])]):
        cf, se = check.mean_cf[:, i], check.mean_se[:, i]
        axes[0].fill_between(t, cf - k * se, cf + k * se, color=c, alpha=0.2, lw=0)
        axes[0].plot(t, cf, color=c, label=f"{name}: √ᾱ_t μ")
        axes[0].plot(t[::every], check.mean_emp[::every, i], ".", color=c, ms=4)
    entries = [((0, 0), "Cov₁₁", PALETTE[3]), ((1, 1), "Cov₂₂", PALETTE[1]), ((0, 1), "Cov₁₂", PALETTE[2])]
    for (i, j), name, c in entries:
        cf, se = check.cov_cf[:, i, j], check.cov_se[:, i, j]
        axes[1].fill_between(t, cf - k * se, cf + k * se, color=c, alpha=0.2, lw=0)
        axes[1].plot(t, cf, color=c, label=f"{name}: ᾱ_t Σ + (1−ᾱ_t) I")
        axes[1].plot(t[::every], check.cov_emp[::every, i, j], ".", color=c, ms=4)
    axes[0].set_title(tr_fig("mean of the cloud {title}", title=title))
    axes[1].set_title(tr_fig("covariance of the cloud {title}", title=title))
    for ax in axes:
        ax.set_xlabel(tr_fig("step t")); ax.legend(fontsize=10)
    axes[1].axhline(1.0, color="black", ls=":", lw=1); axes[1].axhline(0.0, color="black", ls=":", lw=1)
    return axes


# ---------------------------------------------------------------------------------------------
# Benchmark hooks
# ---------------------------------------------------------------------------------------------
def demo_view() -> Scatter2DView:
    """The chapter's view as the notebook builds it."""
    return Scatter2DView()


#: Slider moves a student makes: sweep t on the Gaussian and on the ring (exact contours, computed on
#: first visit), then on moons (samples only), for both schedules.
DEMO_SWEEP: list[dict] = (
    [{"shape": "gaussian_2d", "schedule": "T = 100", "t": t} for t in range(1, 101, 5)]
    + [{"shape": "ring", "schedule": "T = 1000", "t": t} for t in range(1, 1001, 50)]
    + [{"shape": "moons", "schedule": "T = 1000", "t": t} for t in range(1, 1001, 100)]
)
