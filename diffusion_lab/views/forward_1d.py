r"""Chapter 1's live view: many 1D forward trajectories, a marker at step t, and the histogram of
x_t beside them against the exact density of x_t.

Data is either one number x0 (a point mass, the course's x0 = 5) or a 1D Gaussian mixture
(``dl.make_distribution("mixture_1d")``). Both stay Gaussian (mixtures) under noising:

    x_t | x0 ~ N(√ᾱ_t x0, 1 − ᾱ_t)      so   q(x_t) = Σ_k w_k N(√ᾱ_t μ_k, ᾱ_t σ_k² + 1 − ᾱ_t).

The exact q(x_t) (density, CDF, moments) and the histogram check ``histogram_l1`` live in
:mod:`diffusion_lab.metrics`; this module prepares what the figures draw from them.

Time axis: the papers' steps t = 1..T (the course's convention for everything a student reads); the
clean x0 is drawn at t = 0, so position t on the axis is row t of a trajectory array. The schedule's
arrays are read at index t − 1.
Trajectory arrays follow :func:`diffusion_lab.q_trajectory`: shape (T + 1, n), row 0 is x0 and
row t is x_t for t = 1..T (the sampler's code index of that step is t − 1).
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..forward import q_trajectory
from ..i18n import Message, tr_fig
from ..metrics import as_mixture_1d, histogram_window, marginal_density_1d, marginal_moments_1d, marginal_params_1d
from ..plotting import PALETTE, new_figure, to_numpy
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from ..validation import check_timestep
from . import View

__all__ = [
    "histogram_density", "trajectory_polyline", "closed_form_band", "simulate_trajectories",
    "forward_1d_panel_data", "draw_trajectories", "draw_band", "Forward1DView", "title_text", "LEGEND_HTML",
    "demo_view", "DEMO_SWEEP",
]


def histogram_density(values, edges) -> np.ndarray:
    """Histogram heights normalised by the TOTAL count (values outside the edges included), so the
    heights are comparable with a density even when a few values fall outside the window."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    counts, _ = np.histogram(values, bins=edges)
    return counts / (values.size * np.diff(edges))


# ---------------------------------------------------------------------------------------------
# Trajectories
# ---------------------------------------------------------------------------------------------
def _as_traj_array(trajs) -> np.ndarray:
    arr = np.asarray(to_numpy(trajs), dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"trajectories must have shape (T + 1, n) or (T + 1, n, 1) as returned by "
                         f"dl.q_trajectory, got {arr.shape}.")
    return arr


def _check_traj_T(arr: np.ndarray, schedule: NoiseSchedule) -> None:
    if arr.shape[0] != schedule.T + 1:
        raise ValueError(f"trajectories have {arr.shape[0]} rows but the schedule has T = {schedule.T}: "
                         f"expected T + 1 = {schedule.T + 1} rows (x0, then x_1 .. x_T).")


def simulate_trajectories(schedule: NoiseSchedule, data=5.0, n: int = 200, seed: int = 0) -> np.ndarray:
    """n forward trajectories (T + 1, n) in float64 numpy, starting from ``data`` (x0 or a mixture), seeded."""
    gen = make_generator(seed)
    mix = as_mixture_1d(data)
    x0 = mix.sample(n, generator=gen)
    return _as_traj_array(q_trajectory(schedule, x0, generator=gen))


def trajectory_polyline(trajs, n_show: int | None = None, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_show`` trajectories as ONE polyline with NaN gaps (one Line2D draws them all).

    x is the step t (x0 at 0, x_t at t = 1..T, row t of ``trajs``); every ``stride``-th step is kept, plus the last one.
    Returns (x, y), each of length n_show · (points + 1).
    """
    arr = _as_traj_array(trajs)
    n = arr.shape[1] if n_show is None else int(n_show)
    if not 0 <= n <= arr.shape[1]:
        raise ValueError(f"n_show = {n_show} must lie in [0, {arr.shape[1]}] (the number of trajectories).")
    if stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride}.")
    rows = np.arange(0, arr.shape[0], stride)
    if rows[-1] != arr.shape[0] - 1:
        rows = np.append(rows, arr.shape[0] - 1)
    steps = rows.astype(float)
    y = np.concatenate([arr[rows, :n].T, np.full((n, 1), np.nan)], axis=1).reshape(-1)
    x = np.tile(np.append(steps, np.nan), n)
    return x, y


def closed_form_band(schedule: NoiseSchedule, data=5.0, k: float = 2.0) -> dict:
    r"""The closed form at every step t = 0..T (0 is x0): x_t's mean and std, and per component k
    of the data its mean √ᾱ_t μ_k and std √(ᾱ_t σ_k² + 1 − ᾱ_t) (:mod:`diffusion_lab.metrics`).

    Returns a dict with ``steps`` (T + 1,), ``mean``/``std``/``lo``/``hi`` (T + 1,) for x_t as a whole
    (lo/hi = mean ∓ k·std), and ``comp_mean``/``comp_std``/``comp_lo``/``comp_hi`` (T + 1, K).
    """
    every_t = range(schedule.T)
    _, m0, s0 = marginal_params_1d(data, schedule, None)                 # t = 0: the data itself
    _, m, s = marginal_params_1d(data, schedule, every_t)                 # (T, K)
    mean0, std0 = marginal_moments_1d(data, schedule, None)
    mean, std = marginal_moments_1d(data, schedule, every_t)             # (T,)
    m, s = np.concatenate([m0[None], m]), np.concatenate([s0[None], s])
    mean, std = np.concatenate([[mean0], mean]), np.concatenate([[std0], std])
    return {"steps": np.arange(0, schedule.T + 1), "mean": mean, "std": std, "lo": mean - k * std,
            "hi": mean + k * std, "k": k, "comp_mean": m, "comp_std": s, "comp_lo": m - k * s, "comp_hi": m + k * s}


def forward_1d_panel_data(trajs, schedule: NoiseSchedule, t: int, x0=5.0, bins: int = 40,
                          n_grid: int = 200) -> dict:
    r"""Everything the view draws at step t, as numpy arrays.

    Args:
        trajs: (T + 1, n) or (T + 1, n, 1) trajectories (row t is x_t, row 0 is x0).
        t: the papers' step 1..T (the schedule is read at index t − 1).
        x0: the data: a number (point mass) or a 1D GaussianMixture.
    Returns a dict: ``t``, ``abar``, ``values`` (x_t of every trajectory), ``edges``/``hist`` (a
    density histogram over a window holding q(x_t)), ``grid``/``density`` (the exact q(x_t)),
    ``mean``/``std`` (closed form), ``emp_mean``/``emp_std`` (over the trajectories).
    """
    arr = _as_traj_array(trajs)
    _check_traj_T(arr, schedule)
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)):
        raise TypeError(f"t must be one int step 1..T here, got {t!r}.")
    t = int(t)
    if not 1 <= t <= schedule.T:
        raise ValueError(f"t = {t} is outside the steps 1..T = 1..{schedule.T} (x0 is t = 0, not a noised step).")
    k = check_timestep(t - 1, schedule.T)      # the code index of step t
    values = arr[t]
    lo, hi = histogram_window(x0, schedule, k)
    edges = np.linspace(lo, hi, bins + 1)
    grid = np.linspace(lo, hi, n_grid)
    mean, std = marginal_moments_1d(x0, schedule, k)
    return {
        "t": t, "abar": float(schedule.alphas_cumprod[k]), "values": values, "edges": edges,
        "hist": histogram_density(values, edges), "grid": grid,
        "density": marginal_density_1d(x0, schedule, grid, k), "mean": mean, "std": std,
        "emp_mean": float(values.mean()), "emp_std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# Drawing helpers shared by the view and the chapter's static figures
# ---------------------------------------------------------------------------------------------
def draw_trajectories(ax, trajs, n_show: int | None = None, stride: int = 1, color=PALETTE[0], lw: float = 0.5,
                      alpha: float = 0.3, label: str | None = None):
    """Draw trajectories as one Line2D (x0 at 0, x_t at t = 1..T); returns the line."""
    x, y = trajectory_polyline(trajs, n_show, stride)
    (line,) = ax.plot(x, y, color=color, lw=lw, alpha=alpha, label=label)
    ax.set_xlabel(tr_fig("step t  (x0 at t = 0)"))
    ax.set_ylabel(tr_fig("value x_t"))
    return line


def draw_band(ax, schedule: NoiseSchedule, data=5.0, k: float = 2.0, color=PALETTE[1]):
    """The closed form over the runs: mean √ᾱ_t x0 (dashed) and a mean ± k std band per component of
    the data (one band for a point x0, one per bump for a mixture). Edges are drawn above the runs.
    Returns the :func:`closed_form_band` dict it drew."""
    b = closed_form_band(schedule, data, k)
    several = b["comp_mean"].shape[1] > 1
    for j in range(b["comp_mean"].shape[1]):
        first = j == 0
        ax.fill_between(b["steps"], b["comp_lo"][:, j], b["comp_hi"][:, j], color=color, alpha=0.15, lw=0,
                        label=(tr_fig("closed form: each bump's mean ± {k:g} std", k=k) if several else
                               tr_fig("closed form: mean ± {k:g} std", k=k)) if first else None)
        ax.plot(b["steps"], b["comp_lo"][:, j], color=color, lw=1.2, zorder=3)
        ax.plot(b["steps"], b["comp_hi"][:, j], color=color, lw=1.2, zorder=3)
        ax.plot(b["steps"], b["comp_mean"][:, j], color=color, lw=1.8, ls="--", zorder=3,
                label=(tr_fig("closed-form mean √ᾱ_t·μ_k") if several else tr_fig("closed-form mean √ᾱ_t·x0"))
                if first else None)
    return b


# ---------------------------------------------------------------------------------------------
# The live view
# ---------------------------------------------------------------------------------------------
#: The live view's key, as HTML for ``widgets.explorer(view, title=LEGEND_HTML, ...)``: the figure
#: itself carries no legend and no axis labels, which would cost more to redraw than the rest of it.
#: A :class:`~diffusion_lab.i18n.Message`: the explorer shows it in the chosen language.
LEGEND_HTML = Message(
    "<span style='color:{c0}'>━ runs</span> &nbsp; "
    "<span style='color:{c1}'>▒ closed form: mean ± 2 std (╌ mean); one band per bump of a "
    "mixture</span> &nbsp; <span style='color:{c3}'>│● x_t at the slider's t</span> &nbsp; "
    "right: <span style='color:{c0}'>▆ histogram of all runs at t</span> vs "
    "<span style='color:{c3}'>━ exact density q(x_t)</span> &nbsp;·&nbsp; "
    "horizontal: step t from x0 (at 0) to x_T (at T) &nbsp;·&nbsp; vertical: the value x_t &nbsp;·&nbsp; "
    "title: mean and std of x_t over all runs / exact", c0=PALETTE[0], c1=PALETTE[1], c3=PALETTE[3])


def title_text(d: dict) -> str:
    """The view's one short line of numbers (each glyph costs time on every redraw): t, ᾱ_t, and the
    mean and std of x_t over all runs / exact."""
    return tr_fig("t = {t}  ᾱ = {abar:.3f}  mean {emp_mean:.2f}/{mean:.2f}  std {emp_std:.2f}/{std:.2f}",
                  t=d["t"], abar=d["abar"], emp_mean=d["emp_mean"], mean=d["mean"], emp_std=d["emp_std"],
                  std=d["std"])


class Forward1DView(View):
    """Trajectories (drawn once) with a marker at t; beside them the histogram of x_t and q(x_t).

    ``update(t=..., n_show=..., seed=...)``: t moves the marker and the histogram; n_show changes
    how many trajectories are drawn (all ``n_traj`` always feed the histogram); seed draws a new
    set of trajectories. The figure keeps little text: the key is :data:`LEGEND_HTML`, shown above it
    by the explorer, and the numbers are one title line.
    """

    DYNAMIC_PARAMS = ("t",)

    def __init__(self, schedule: NoiseSchedule | None = None, data=5.0, n_traj: int = 500, n_show: int = 30,
                 seed: int = 0, t: int = 1, bins: int = 30, stride: int | None = None, figsize=(8.6, 3.6)):
        self.schedule = schedule if schedule is not None else make_schedule("linear", 1000)
        self.data, self.n_traj, self.bins = data, int(n_traj), int(bins)
        self.stride = stride if stride is not None else max(1, self.schedule.T // 100)
        self._trajs_seed = None
        self.trajs = self._trajectories(int(seed))
        self.fig, (self.ax, self.ax_hist) = new_figure(
            1, 2, figsize=figsize, sharey=True, gridspec_kw={"width_ratios": [3, 1]})
        self._build_runs(int(n_show), int(t))
        self._build_histogram(int(t))
        self.update(t=t, n_show=n_show, seed=seed)
        self._layout()

    def _layout(self) -> None:
        """Fit the axes inside the figure once, measured with the real labels, ticks and title (in the
        chosen language and style): without it the x-axis label falls off the bottom. The title's length
        barely changes with t, and its position is fixed (y=1.0), so one layout holds for every move."""
        self.fig.tight_layout(pad=0.4, w_pad=0.3)

    # -- building the figure ------------------------------------------------------------------
    def _build_runs(self, n_show: int, t: int) -> None:
        """Left: the closed-form band, the runs (one Line2D), the marker at t and the runs' dots on it;
        axis labels and ticks (static: blitting draws them once); the key is LEGEND_HTML, t is in the title."""
        T = self.schedule.T
        band = closed_form_band(self.schedule, self.data)
        lo = min(float(band["comp_lo"].min()), float(self.trajs.min()))
        hi = max(float(band["comp_hi"].max()), float(self.trajs.max()))
        draw_band(self.ax, self.schedule, self.data)
        self.line = draw_trajectories(self.ax, self.trajs, n_show, self.stride, alpha=0.5,
                                      label=tr_fig("trajectories"))
        self.marker = self.ax.axvline(t, color=PALETTE[3], lw=1.5)
        self.dots = self.ax.scatter(np.full(n_show, t), self.trajs[t, :n_show], s=9, color=PALETTE[3], zorder=3)
        self.ax.set_xlim(-0.01 * T, T + 0.01 * T)
        pad = 0.05 * (hi - lo)
        self.ax.set_ylim(lo - pad, hi + pad)
        self.ax.set_xticks([0, T // 2, T])              # x0 at 0, the middle, x_T
        self.ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        self.ax.set_xlabel(tr_fig("step t  (x0 at t = 0, x_T at t = T)"))
        self.ax.set_ylabel(tr_fig("value x_t"))
        self.title = self.ax.set_title("", loc="left", fontsize=10, y=1.0)

    def _build_histogram(self, t: int) -> None:
        """Right: the histogram of x_t over all runs and the exact density q(x_t); no ticks (the density
        axis rescales with t)."""
        d = forward_1d_panel_data(self.trajs, self.schedule, t, self.data, bins=self.bins)
        self.stairs = self.ax_hist.stairs(d["hist"], d["edges"], orientation="horizontal", fill=True,
                                          color=PALETTE[0], alpha=0.45,
                                          label=tr_fig("histogram of all x_t at the marker"))
        (self.density_line,) = self.ax_hist.plot(d["density"], d["grid"], color=PALETTE[3], lw=2,
                                                 label=tr_fig("exact density q(x_t)"))
        self.ax_hist.set_xticks([])
        self.ax_hist.tick_params(left=False, labelleft=False)

    def _trajectories(self, seed: int) -> np.ndarray:
        """The n_traj runs for ``seed``, simulated when the seed changes."""
        if seed != self._trajs_seed:
            self.trajs = simulate_trajectories(self.schedule, self.data, self.n_traj, seed)
            self._trajs_seed = seed
        return self.trajs

    # -- the contract ---------------------------------------------------------------------------
    def allowed(self, name: str, state: dict):
        return {"t": range(1, self.schedule.T + 1), "n_show": range(self.n_traj + 1), "seed": range(2**31)}[name]

    def update(self, t: int | None = None, n_show: int | None = None, seed: int | None = None) -> dict:
        """Move to step t, show n_show trajectories, draw a new set of runs for a new seed (all optional).
        Returns the panel data shown (:func:`forward_1d_panel_data`)."""
        return View.update(self, t=t, n_show=n_show, seed=seed)

    def show(self, changed: set[str]) -> dict:
        t, n_show = self.state["t"], self.state["n_show"]
        self._trajectories(self.state["seed"])
        if changed & {"seed", "n_show"}:
            self.line.set_data(*trajectory_polyline(self.trajs, n_show, self.stride))
        d = forward_1d_panel_data(self.trajs, self.schedule, t, self.data, bins=self.bins)
        self.stairs.set_data(values=d["hist"], edges=d["edges"])
        self.density_line.set_data(d["density"], d["grid"])
        self.ax_hist.set_xlim(0, 1.12 * max(float(d["hist"].max()), float(d["density"].max())))
        self.marker.set_xdata([t, t])
        self.dots.set_offsets(np.column_stack([np.full(n_show, t), self.trajs[t, :n_show]]))
        self.title.set_text(title_text(d))
        return d

    def dynamic_artists(self) -> list:
        """What a t move changes: the marker, the dots, the histogram, the density and the title."""
        return [self.marker, self.dots, self.stairs, self.density_line, self.title]

    def static_axes(self) -> list:
        """Only the runs' axes: the histogram axes' x-limit follows t, but nothing static is drawn there
        (no ticks), so it only scales the dynamic histogram and density."""
        return [self.ax]


def demo_view() -> Forward1DView:
    """The view as the chapter opens it: x0 = 5, the course's linear schedule, T = 1000."""
    return Forward1DView(make_schedule("linear", 1000), data=5.0, n_traj=500, n_show=30, seed=0)


#: Parameter sets the benchmark sweeps: the t slider dragged across, then the other two controls.
DEMO_SWEEP = ([{"t": t} for t in (1, 5, 20, 50, 100, 200, 300, 450, 600, 800, 1000)]
              + [{"n_show": n} for n in (10, 100, 30)] + [{"seed": 1, "t": 300}, {"seed": 0}])
