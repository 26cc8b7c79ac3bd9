r"""Chapter 1's live view: many 1D forward trajectories, a marker at step t, and the histogram of
x_t beside them against the exact density of x_t.

Data is either one number x0 (a point mass, the course's x0 = 5) or a 1D Gaussian mixture
(``dl.make_distribution("mixture_1d")``). Both stay Gaussian (mixtures) under noising:

    x_t | x0 ~ N(√ᾱ_t x0, 1 − ᾱ_t)      so   q(x_t) = Σ_k w_k N(√ᾱ_t μ_k, ᾱ_t σ_k² + 1 − ᾱ_t).

Time axis: code steps t = 0..T−1 (the papers' 1..T); the clean x0 is drawn at position t = −1.
Trajectory arrays follow :func:`diffusion_lab.q_trajectory`: shape (T + 1, n), row 0 is x0 and
row t + 1 is x_t.

The plain functions here (numpy, no figure) compute what to draw; tests and the notebook call them.
:class:`Forward1DView` draws them once and changes the artists in place on ``update``.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator
from scipy.special import ndtr

from ..distributions import GaussianMixture, point
from ..forward import marginal_moments, q_trajectory
from ..plotting import PALETTE, new_figure, to_numpy
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from ..validation import check_timestep
from . import View

__all__ = [
    "as_mixture_1d", "marginal_params_1d", "marginal_density_1d", "marginal_cdf_1d", "marginal_moments_1d",
    "histogram_window", "histogram_density", "histogram_l1", "trajectory_polyline", "closed_form_band",
    "simulate_trajectories", "forward_1d_panel_data", "draw_trajectories", "draw_band", "Forward1DView",
    "title_text", "LEGEND_HTML", "demo_view", "DEMO_SWEEP",
]


# ---------------------------------------------------------------------------------------------
# The exact marginal q(x_t) of 1D data (numpy: fast enough to call on every slider move)
# ---------------------------------------------------------------------------------------------
def as_mixture_1d(data) -> GaussianMixture:
    """A number x0 becomes the point mass at x0; a 1D GaussianMixture is returned as it is."""
    if isinstance(data, GaussianMixture):
        if data.dim != 1:
            raise ValueError(f"1D views need 1D data, got a {data.dim}D mixture ({data.name}).")
        return data
    if isinstance(data, (int, float, np.integer, np.floating)) and not isinstance(data, bool):
        return point(float(data))
    raise TypeError(f"data must be a number x0 (e.g. 5.0) or a 1D GaussianMixture such as "
                    f"dl.make_distribution('mixture_1d'), got {type(data).__name__}.")


def marginal_params_1d(data, schedule: NoiseSchedule, t):
    r"""(weights, means, stds) of q(x_t) as numpy arrays (K,): means √ᾱ_t μ_k, stds √(ᾱ_t σ_k² + 1 − ᾱ_t)
    (:func:`~diffusion_lab.forward.marginal_moments` per component).

    ``t = None`` gives the data distribution itself (ᾱ = 1).
    """
    mix = as_mixture_1d(data)
    mean0, var0 = mix.means[:, 0], mix.covs[:, 0, 0]
    mean, var = (mean0, var0) if t is None else marginal_moments(schedule, t, mean0, var0)
    return mix.weights.numpy(), mean.numpy(), np.sqrt(var.numpy())


def marginal_density_1d(data, schedule: NoiseSchedule, t, x) -> np.ndarray:
    """Exact density q(x_t = x) on the points ``x`` (any shape); needs a positive variance (t ≥ 0 for a point)."""
    w, m, s = marginal_params_1d(data, schedule, t)
    if np.any(s <= 0):
        raise ValueError("a point mass has no density at the clean data (t = None); use t ≥ 0.")
    x = np.asarray(x, dtype=np.float64)
    z = (x[..., None] - m) / s
    return (w * np.exp(-0.5 * z * z) / (s * math.sqrt(2 * math.pi))).sum(-1)


def marginal_cdf_1d(data, schedule: NoiseSchedule, t, x) -> np.ndarray:
    """Exact CDF P(x_t ≤ x) (a step for a point mass at t = None)."""
    w, m, s = marginal_params_1d(data, schedule, t)
    x = np.asarray(x, dtype=np.float64)[..., None]
    safe = np.where(s > 0, s, 1.0)
    cdf = np.where(s > 0, ndtr((x - m) / safe), (x >= m).astype(np.float64))
    return (w * cdf).sum(-1)


def marginal_moments_1d(data, schedule: NoiseSchedule, t) -> tuple[float, float]:
    """(mean, std) of x_t: mean Σ w_k m_k, variance Σ w_k (s_k² + m_k²) − mean²."""
    w, m, s = marginal_params_1d(data, schedule, t)
    mean = float((w * m).sum())
    var = float((w * (s**2 + m**2)).sum()) - mean**2
    return mean, math.sqrt(max(var, 0.0))


# ---------------------------------------------------------------------------------------------
# Histograms against the exact density
# ---------------------------------------------------------------------------------------------
def histogram_window(data, schedule: NoiseSchedule, t, width: float = 4.0) -> tuple[float, float]:
    """The x-range holding (practically) all of q(x_t): every component's mean ± ``width`` stds."""
    _, m, s = marginal_params_1d(data, schedule, t)
    return float((m - width * s).min()), float((m + width * s).max())


def histogram_density(values, edges) -> np.ndarray:
    """Histogram heights normalised by the TOTAL count (values outside the edges included), so the
    heights are comparable with a density even when a few values fall outside the window."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    counts, _ = np.histogram(values, bins=edges)
    return counts / (values.size * np.diff(edges))


def histogram_l1(values, data, schedule: NoiseSchedule, t, bins: int = 40) -> tuple[float, float]:
    r"""How far a histogram of samples of x_t is from the exact q(x_t), and how far it should be.

    Returns (l1, expected): l1 = Σ_i |c_i/n − P_i| + |outside/n − P_out| (P_i the exact probability of
    bin i from the CDF; c_i the count), i.e. the L1 distance between the histogram and the exact
    density averaged over each bin. ``expected`` is its size from sampling noise alone:
    Σ √(2/π) √(P_i (1 − P_i)/n) (the mean absolute deviation of a binomial count, normal
    approximation). A correct sampler gives l1 ≈ expected; a wrong formula gives l1 ≫ expected.
    """
    values = np.asarray(to_numpy(values), dtype=np.float64).reshape(-1)
    n = values.size
    lo, hi = histogram_window(data, schedule, t)
    edges = np.linspace(lo, hi, bins + 1)
    cdf = marginal_cdf_1d(data, schedule, t, edges)
    probs = np.append(np.diff(cdf), 1.0 - (cdf[-1] - cdf[0]))
    counts, _ = np.histogram(values, bins=edges)
    counts = np.append(counts, n - counts.sum())
    l1 = float(np.abs(counts / n - probs).sum())
    expected = float((math.sqrt(2 / math.pi) * np.sqrt(probs * (1 - probs) / n)).sum())
    return l1, expected


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
                         f"expected T + 1 = {schedule.T + 1} rows (x0, then x_0 .. x_(T−1)).")


def simulate_trajectories(schedule: NoiseSchedule, data=5.0, n: int = 200, seed: int = 0) -> np.ndarray:
    """n forward trajectories (T + 1, n) in float64 numpy, starting from ``data`` (x0 or a mixture), seeded."""
    gen = make_generator(seed)
    mix = as_mixture_1d(data)
    x0 = mix.sample(n, generator=gen)
    return _as_traj_array(q_trajectory(schedule, x0, generator=gen))


def trajectory_polyline(trajs, n_show: int | None = None, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_show`` trajectories as ONE polyline with NaN gaps (one Line2D draws them all).

    x is the code step (x0 at −1, x_t at t); every ``stride``-th step is kept, plus the last one.
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
    steps = rows - 1.0
    y = np.concatenate([arr[rows, :n].T, np.full((n, 1), np.nan)], axis=1).reshape(-1)
    x = np.tile(np.append(steps, np.nan), n)
    return x, y


def closed_form_band(schedule: NoiseSchedule, data=5.0, k: float = 2.0) -> dict:
    r"""The closed form at every position −1..T−1 (−1 is x0): x_t's mean and std, and per component k
    of the data its mean √ᾱ_t μ_k and std √(ᾱ_t σ_k² + 1 − ᾱ_t).

    Returns a dict with ``steps`` (T + 1,), ``mean``/``std``/``lo``/``hi`` (T + 1,) for x_t as a whole
    (lo/hi = mean ∓ k·std), and ``comp_mean``/``comp_std``/``comp_lo``/``comp_hi`` (T + 1, K).
    """
    mix = as_mixture_1d(data)
    steps = np.arange(-1, schedule.T)
    a = np.concatenate([[1.0], schedule.alphas_cumprod.numpy()])[:, None]          # (T + 1, 1)
    w, mu, var0 = mix.weights.numpy(), mix.means[:, 0].numpy(), mix.covs[:, 0, 0].numpy()
    m, v = np.sqrt(a) * mu, a * var0 + (1.0 - a)                                      # (T + 1, K)
    mean = (w * m).sum(1)
    std = np.sqrt(np.maximum((w * (v + m**2)).sum(1) - mean**2, 0.0))
    s = np.sqrt(v)
    return {"steps": steps, "mean": mean, "std": std, "lo": mean - k * std, "hi": mean + k * std, "k": k,
            "comp_mean": m, "comp_std": s, "comp_lo": m - k * s, "comp_hi": m + k * s}


def forward_1d_panel_data(trajs, schedule: NoiseSchedule, t: int, x0=5.0, bins: int = 40,
                          n_grid: int = 200) -> dict:
    r"""Everything the view draws at step t, as numpy arrays.

    Args:
        trajs: (T + 1, n) or (T + 1, n, 1) trajectories (row t + 1 is x_t).
        t: code step 0..T−1.
        x0: the data: a number (point mass) or a 1D GaussianMixture.
    Returns a dict: ``t``, ``abar``, ``values`` (x_t of every trajectory), ``edges``/``hist`` (a
    density histogram over a window holding q(x_t)), ``grid``/``density`` (the exact q(x_t)),
    ``mean``/``std`` (closed form), ``emp_mean``/``emp_std`` (over the trajectories).
    """
    arr = _as_traj_array(trajs)
    _check_traj_T(arr, schedule)
    t = check_timestep(t, schedule.T)
    if not isinstance(t, int):
        raise TypeError("t must be one int step here.")
    values = arr[t + 1]
    lo, hi = histogram_window(x0, schedule, t)
    edges = np.linspace(lo, hi, bins + 1)
    grid = np.linspace(lo, hi, n_grid)
    mean, std = marginal_moments_1d(x0, schedule, t)
    return {
        "t": t, "abar": float(schedule.alphas_cumprod[t]), "values": values, "edges": edges,
        "hist": histogram_density(values, edges), "grid": grid,
        "density": marginal_density_1d(x0, schedule, t, grid), "mean": mean, "std": std,
        "emp_mean": float(values.mean()), "emp_std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# Drawing helpers shared by the view and the chapter's static figures
# ---------------------------------------------------------------------------------------------
def draw_trajectories(ax, trajs, n_show: int | None = None, stride: int = 1, color=PALETTE[0], lw: float = 0.5,
                      alpha: float = 0.3, label: str | None = None):
    """Draw trajectories as one Line2D (x0 at −1, x_t at t); returns the line."""
    x, y = trajectory_polyline(trajs, n_show, stride)
    (line,) = ax.plot(x, y, color=color, lw=lw, alpha=alpha, label=label)
    ax.set_xlabel("code step t  (x0 at t = −1)")
    ax.set_ylabel("value")
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
                        label=(f"closed form: each bump's mean ± {k:g} std" if several else
                               f"closed form: mean ± {k:g} std") if first else None)
        ax.plot(b["steps"], b["comp_lo"][:, j], color=color, lw=1.2, zorder=3)
        ax.plot(b["steps"], b["comp_hi"][:, j], color=color, lw=1.2, zorder=3)
        ax.plot(b["steps"], b["comp_mean"][:, j], color=color, lw=1.8, ls="--", zorder=3,
                label=("closed-form mean √ᾱ_t·μ_k" if several else "closed-form mean √ᾱ_t·x0") if first else None)
    return b


# ---------------------------------------------------------------------------------------------
# The live view
# ---------------------------------------------------------------------------------------------
#: The live view's key, as HTML for ``widgets.explorer(view, title=LEGEND_HTML, ...)``: the figure
#: itself carries no legend and no axis labels, which would cost more to redraw than the rest of it.
LEGEND_HTML = (
    f"<span style='color:{PALETTE[0]}'>━ runs</span> &nbsp; "
    f"<span style='color:{PALETTE[1]}'>▒ closed form: mean ± 2 std (╌ mean); one band per bump of a "
    f"mixture</span> &nbsp; <span style='color:{PALETTE[3]}'>│● x_t at the slider's t</span> &nbsp; "
    f"right: <span style='color:{PALETTE[0]}'>▆ histogram of all runs at t</span> vs "
    f"<span style='color:{PALETTE[3]}'>━ exact density q(x_t)</span> &nbsp;·&nbsp; "
    "horizontal: code step t from x0 (at −1) to T−1, grid lines at 0, T/2, T−1 &nbsp;·&nbsp; vertical: the "
    "value &nbsp;·&nbsp; title: mean and std of x_t over all runs / exact"
)


def title_text(d: dict) -> str:
    """The view's one short line of numbers (each glyph costs time on every redraw): t, ᾱ_t, and the
    mean and std of x_t over all runs / exact."""
    return (f"t = {d['t']}  ᾱ = {d['abar']:.3f}  mean {d['emp_mean']:.2f}/{d['mean']:.2f}  "
            f"std {d['emp_std']:.2f}/{d['std']:.2f}")


class Forward1DView(View):
    """Trajectories (drawn once) with a marker at t; beside them the histogram of x_t and q(x_t).

    ``update(t=..., n_show=..., seed=...)``: t moves the marker and the histogram; n_show changes
    how many trajectories are drawn (all ``n_traj`` always feed the histogram); seed draws a new
    set of trajectories. Anything not given keeps its value.
    """

    def __init__(self, schedule: NoiseSchedule | None = None, data=5.0, n_traj: int = 500, n_show: int = 30,
                 seed: int = 0, t: int = 0, bins: int = 30, stride: int | None = None, figsize=(8.6, 3.6)):
        self.schedule = schedule if schedule is not None else make_schedule("linear", 1000)
        self.data, self.n_traj, self.bins = data, int(n_traj), int(bins)
        self.stride = stride if stride is not None else max(1, self.schedule.T // 100)
        self.t, self.n_show, self.seed = int(t), int(n_show), int(seed)
        self.trajs = simulate_trajectories(self.schedule, data, self.n_traj, self.seed)

        self.fig, (self.ax, self.ax_hist) = new_figure(
            1, 2, figsize=figsize, sharey=True, gridspec_kw={"width_ratios": [3, 1], "wspace": 0.05})
        band = closed_form_band(self.schedule, data)
        lo = min(float(band["comp_lo"].min()), float(self.trajs.min()))
        hi = max(float(band["comp_hi"].max()), float(self.trajs.max()))
        draw_band(self.ax, self.schedule, data)
        self.line = draw_trajectories(self.ax, self.trajs, self.n_show, self.stride, alpha=0.5, label="trajectories")
        self.marker = self.ax.axvline(self.t, color=PALETTE[3], lw=1.5)
        self.dots = self.ax.scatter(np.full(self.n_show, self.t), self.trajs[self.t + 1, :self.n_show],
                                    s=9, color=PALETTE[3], zorder=3)
        self.ax.set_xlim(-1 - 0.01 * self.schedule.T, self.schedule.T - 1 + 0.01 * self.schedule.T)
        pad = 0.05 * (hi - lo)
        self.ax.set_ylim(lo - pad, hi + pad)
        # Text is the slowest thing to redraw (matplotlib 3.11: ~1 ms a text plus ~0.2 ms a glyph, a
        # legend ~20 ms), so the live figure keeps little: no legend and no axis labels (the key is
        # LEGEND_HTML, shown above the figure by the explorer), few tick labels, one title line.
        T = self.schedule.T
        self.ax.set_xticks([0, T // 2, T - 1])          # grid lines at 0, T/2, T−1; t is in the title
        self.ax.tick_params(labelbottom=False)
        self.ax.yaxis.set_major_locator(MaxNLocator(nbins=3, integer=True))
        self.ax.set_xlabel("")
        self.ax.set_ylabel("")

        d = self._panel()
        self.stairs = self.ax_hist.stairs(d["hist"], d["edges"], orientation="horizontal", fill=True,
                                          color=PALETTE[0], alpha=0.45, label="histogram of all x_t at the marker")
        (self.density_line,) = self.ax_hist.plot(d["density"], d["grid"], color=PALETTE[3], lw=2,
                                                 label="exact density q(x_t)")
        # Text is the slowest thing to draw, so the live figure keeps little of it: no legend (the
        # chapter's text gives the colour key), no density tick labels (the axis rescales with t).
        self.ax_hist.set_xticks([])
        self.ax_hist.tick_params(left=False, labelleft=False)
        self.title = self.ax.set_title("", loc="left", fontsize=10, y=1.0)   # fixed y: no costly auto-placement
        self._show_panel(d)

    # -- plumbing -----------------------------------------------------------------------------
    def _panel(self) -> dict:
        return forward_1d_panel_data(self.trajs, self.schedule, self.t, self.data, bins=self.bins)

    def _show_panel(self, d: dict) -> None:
        self.stairs.set_data(values=d["hist"], edges=d["edges"])
        self.density_line.set_data(d["density"], d["grid"])
        self.ax_hist.set_xlim(0, 1.12 * max(float(d["hist"].max()), float(d["density"].max())))
        self.marker.set_xdata([self.t, self.t])
        self.dots.set_offsets(np.column_stack([np.full(self.n_show, self.t), self.trajs[self.t + 1, :self.n_show]]))
        self.title.set_text(title_text(d))

    def dynamic_artists(self) -> list:
        """What a t move changes: the marker, the dots, the histogram, the density and the title."""
        return [self.marker, self.dots, self.stairs, self.density_line, self.title]

    def static_key(self):
        """The trajectories drawn (seed, n_show) and the main axes' limits; the histogram axes'
        x-limit follows t but only scales the dynamic histogram and density drawn in it."""
        return (self.seed, self.n_show, tuple(self.ax.get_xlim()), tuple(self.ax.get_ylim()),
                self.fig.canvas.get_width_height(physical=True))

    def update(self, t: int | None = None, n_show: int | None = None, seed: int | None = None, **_ignored) -> None:
        """Move to step t, show n_show trajectories, redraw trajectories for a new seed (all optional)."""
        lines_changed = False
        if seed is not None and int(seed) != self.seed:
            self.seed = int(seed)
            self.trajs = simulate_trajectories(self.schedule, self.data, self.n_traj, self.seed)
            lines_changed = True
        if n_show is not None and int(n_show) != self.n_show:
            if not 0 <= int(n_show) <= self.n_traj:
                raise ValueError(f"n_show = {n_show} must lie in [0, {self.n_traj}].")
            self.n_show = int(n_show)
            lines_changed = True
        if t is not None:
            self.t = check_timestep(int(t), self.schedule.T)
        if lines_changed:
            self.line.set_data(*trajectory_polyline(self.trajs, self.n_show, self.stride))
        self._show_panel(self._panel())
        self.redraw()


def demo_view() -> Forward1DView:
    """The view as the chapter opens it: x0 = 5, the course's linear schedule, T = 1000."""
    return Forward1DView(make_schedule("linear", 1000), data=5.0, n_traj=500, n_show=30, seed=0)


#: Parameter sets the benchmark sweeps: the t slider dragged across, then the other two controls.
DEMO_SWEEP = ([{"t": t} for t in (0, 5, 20, 50, 100, 200, 300, 450, 600, 800, 999)]
              + [{"n_show": n} for n in (10, 100, 30)] + [{"seed": 1, "t": 300}, {"seed": 0}])
