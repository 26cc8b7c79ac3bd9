r"""Chapter 4: training ε_θ(x_t, t) with L_simple = E‖ε − ε_θ(√ᾱ_t x0 + √(1−ᾱ_t) ε, t)‖².

Plain functions compute what to draw (tests call them without a figure):

* :func:`iterate_forward` / :func:`closed_form_check` — noising step by step (t + 1 applications of
  q(x_t | x_{t−1})) lands on the same distribution as the one-shot closed form q(x_t | x0), which is
  why training needs a single noising step per example;
* :func:`eps_error_by_t` — how far a network's ε̂ is from the exact ε* of a Gaussian mixture, per t,
  next to the training loss of both (the exact ε* has a non-zero loss too: the irreducible part);
* :func:`eps_field` — ε̂ and ε* on a grid of x_t (for the arrow view);
* :func:`denoise` — x_t and the network's x̂0 for fixed images and noise.

Views: :class:`EpsFieldView` (arrows of ε* and ε̂ over the plane, error-by-t curve with a marker;
``update(t=...)``) and :class:`DenoiseView` (rows x0 / x_t / x̂0 of a few digits in ONE tiled
``imshow``; ``update(t=...)``). Static figures: :func:`plot_loss_curve`, :func:`plot_eps_error_by_t`,
:func:`plot_loss_by_t`, :func:`plot_denoise_grid`.

Time convention: code steps t = 0..T−1 (the papers' 1..T); x_t is the sample after step t.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from ..checkpoints import DATA_DIR, shipped
from ..distributions import GaussianMixture, make_distribution
from ..forward import predict_start_from_noise, q_sample, q_step
from ..plotting import PALETTE, new_figure, tile_images, to_numpy
from ..sampling import predict_eps
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from ..validation import check_timestep
from . import View

__all__ = [
    "DATA_DIR", "shipped", "iterate_forward", "ClosedFormCheck", "closed_form_check", "ErrorByT", "eps_error_by_t", "eps_field",
    "denoise", "EpsFieldView", "DenoiseView", "plot_loss_curve", "plot_eps_error_by_t", "plot_loss_by_t",
    "plot_denoise_grid", "smooth", "demo_view", "DEMO_SWEEP",
]


# ---------------------------------------------------------------------------------------------
# One noising step for training: the closed form equals T small steps
# ---------------------------------------------------------------------------------------------
def iterate_forward(schedule: NoiseSchedule, x0, t: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """x_t by applying q(x_s | x_{s−1}) for s = 0..t (t + 1 small noising steps), keeping only the last."""
    t = check_timestep(int(t), schedule.T)
    x = torch.as_tensor(x0, dtype=torch.float64)
    for s in range(t + 1):
        x = q_step(schedule, x, s, generator=generator)
    return x


@dataclass
class ClosedFormCheck:
    """Moments and quantiles of x_t from T-step noising vs the closed form, with standard errors."""

    t: int
    mean_iterated: float
    mean_closed: float
    std_iterated: float
    std_closed: float
    quantiles_iterated: np.ndarray
    quantiles_closed: np.ndarray
    n: int

    @property
    def mean_z(self) -> float:
        """|difference of means| in standard errors (two independent samples of size n)."""
        se = math.sqrt(self.std_iterated**2 / self.n + self.std_closed**2 / self.n)
        return abs(self.mean_iterated - self.mean_closed) / se

    @property
    def std_z(self) -> float:
        """|difference of standard deviations| in standard errors (Gaussian: SE(s) ≈ s/√(2n))."""
        se = math.sqrt(self.std_iterated**2 / (2 * self.n) + self.std_closed**2 / (2 * self.n))
        return abs(self.std_iterated - self.std_closed) / se

    def agrees(self, z: float = 4.0) -> bool:
        return self.mean_z < z and self.std_z < z


def closed_form_check(schedule: NoiseSchedule, x0: float = 1.5, t: int = 300, n: int = 20000,
                      generator: torch.Generator | None = None) -> ClosedFormCheck:
    """Noise n copies of the number ``x0`` with t + 1 small steps and, separately, in one closed-form step."""
    x0s = torch.full((n, 1), float(x0), dtype=torch.float64)
    it = iterate_forward(schedule, x0s, t, generator=generator)[:, 0]
    cf = q_sample(schedule, x0s, int(t), generator=generator)[:, 0]
    qs = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], dtype=torch.float64)
    return ClosedFormCheck(t=int(t), mean_iterated=float(it.mean()), mean_closed=float(cf.mean()),
                           std_iterated=float(it.std()), std_closed=float(cf.std()),
                           quantiles_iterated=torch.quantile(it, qs).numpy(),
                           quantiles_closed=torch.quantile(cf, qs).numpy(), n=int(n))


# ---------------------------------------------------------------------------------------------
# How good is ε̂? Compared with the exact ε* across t
# ---------------------------------------------------------------------------------------------
@dataclass
class ErrorByT:
    """Per code step t (arrays of shape (len(ts),)):

    mse_to_exact: mean_coords (ε̂ − ε*)² — the network's own error (0 for a perfect network);
    loss_model: L_simple of the network, mean_coords (ε − ε̂)²;
    loss_exact: L_simple of ε* itself — what no network can beat (ε is not fully knowable from x_t).
    For the exact ε*, loss_model − loss_exact ≈ mse_to_exact (the loss splits into these two parts).
    """

    ts: np.ndarray
    mse_to_exact: np.ndarray
    loss_model: np.ndarray
    loss_exact: np.ndarray


def eps_error_by_t(model, dist: GaussianMixture, schedule: NoiseSchedule, ts: Sequence[int], n: int = 1000,
                   generator: torch.Generator | None = None) -> ErrorByT:
    """Draw n pairs (x0, ε) per t, form x_t in closed form, and compare ε̂ = model(x_t, t) with ε and ε*."""
    mse, lm, le = [], [], []
    for t in ts:
        t = check_timestep(int(t), schedule.T)
        x0 = dist.sample(n, generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        x_t = q_sample(schedule, x0, t, noise=eps)
        eps_hat = predict_eps(model, x_t, t)
        eps_star = dist.eps_star(schedule, x_t, t).to(torch.float32)
        mse.append(float((eps_hat - eps_star).pow(2).mean()))
        lm.append(float((eps_hat - eps).pow(2).mean()))
        le.append(float((eps_star - eps).pow(2).mean()))
    return ErrorByT(ts=np.asarray([int(t) for t in ts]), mse_to_exact=np.asarray(mse), loss_model=np.asarray(lm),
                    loss_exact=np.asarray(le))


def eps_field(model, dist: GaussianMixture, schedule: NoiseSchedule, t: int, lim: float = 3.0, grid_n: int = 13):
    """ε̂ and ε* on a grid_n × grid_n grid over [−lim, lim]²: returns (points (G, 2), ε̂ (G, 2), ε* (G, 2)) numpy."""
    t = check_timestep(int(t), schedule.T)
    g = torch.linspace(-lim, lim, grid_n)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    return to_numpy(pts), to_numpy(predict_eps(model, pts, t)), to_numpy(dist.eps_star(schedule, pts, t))


def denoise(model, schedule: NoiseSchedule, x0: torch.Tensor, eps: torch.Tensor, t: int):
    """(x_t, x̂0) for clean images x0 and fixed noise eps: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, x̂0 from ε̂ = model(x_t, t)."""
    t = check_timestep(int(t), schedule.T)
    x_t = q_sample(schedule, x0, t, noise=eps)
    x0_hat = predict_start_from_noise(schedule, x_t, t, predict_eps(model, x_t, t))
    return x_t, x0_hat


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
class EpsFieldView(View):
    """Arrows of ε* (exact, orange) and ε̂ (network, blue) over the plane at step t, plus x_t samples.
    ``update(t=...)`` recomputes both fields (≈ 1 ms). With ``error`` (an :class:`ErrorByT`) a second panel
    shows the error-by-t curve with a marker at t (it roughly doubles the redraw time)."""

    def __init__(self, model, dist: GaussianMixture, schedule: NoiseSchedule, error: ErrorByT | None = None,
                 lim: float = 3.0, grid_n: int = 13, n_points: int = 600, seed: int = 0, figsize=None):
        self.model, self.dist, self.schedule = model, dist, schedule
        self.lim, self.grid_n = float(lim), int(grid_n)
        gen = make_generator(seed)
        self.x0 = dist.sample(n_points, generator=gen)
        self.noise = torch.randn(self.x0.shape, generator=gen)
        self.state = {"t": 100}
        if error is not None:
            self.fig, (ax, axe) = new_figure(1, 2, figsize=figsize or (9.0, 4.3), gridspec_kw={"width_ratios": [1, 1.1]})
        else:
            self.fig, ax = new_figure(1, 1, figsize=figsize or (5.0, 5.0))
            axe = None
        ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
        ax.set_xticks([-lim, 0, lim]); ax.set_yticks([-lim, 0, lim])
        ax.set_xticklabels([]); ax.set_yticklabels([])        # tick labels cost as much to redraw as the rest
        self.points = ax.scatter(np.zeros(n_points), np.zeros(n_points), s=3, color="0.7", lw=0, zorder=1)
        pts, _, _ = eps_field(lambda x, t: torch.zeros_like(x), dist, schedule, 0, lim, grid_n)
        scale = grid_n / (2 * lim) * 2.2  # an arrow of length 1 spans ~0.45 grid cells
        kw = dict(angles="xy", scale_units="xy", scale=scale, width=0.005, zorder=3)
        self.q_exact = ax.quiver(pts[:, 0], pts[:, 1], np.zeros(len(pts)), np.zeros(len(pts)), color=PALETTE[1], **kw)
        self.q_model = ax.quiver(pts[:, 0], pts[:, 1], np.zeros(len(pts)), np.zeros(len(pts)), color=PALETTE[0], **kw)
        # colours are named in the title: a legend with quiver keys costs a quarter of the redraw time
        self.title = ax.set_title("", fontsize=10)
        self.ax, self.axe = ax, axe
        self.error = error
        self.vline = None
        if error is not None:
            axe.plot(error.ts, error.mse_to_exact, "o-", color=PALETTE[0], ms=3)
            axe.set_title("mean (ε̂ − ε*)² by t", fontsize=10)
            axe.set_ylim(0, max(1e-3, 1.1 * float(np.max(error.mse_to_exact))))
            axe.yaxis.set_major_locator(MaxNLocator(3)); axe.xaxis.set_major_locator(MaxNLocator(3))
            self.vline = axe.axvline(0, color="black", lw=1)
        self.fig.tight_layout()
        self.update()

    def update(self, t: int | None = None) -> None:
        if t is not None:
            self.state["t"] = check_timestep(int(t), self.schedule.T)
        t = self.state["t"]
        _, e_model, e_exact = eps_field(self.model, self.dist, self.schedule, t, self.lim, self.grid_n)
        self.q_exact.set_UVC(e_exact[:, 0], e_exact[:, 1])
        self.q_model.set_UVC(e_model[:, 0], e_model[:, 1])
        x_t = q_sample(self.schedule, self.x0, t, noise=self.noise)
        self.points.set_offsets(to_numpy(x_t))
        err = float(np.mean((e_model - e_exact) ** 2))
        self.title.set_text(f"t = {t}: mean (ε̂ − ε*)² = {err:.4f}")
        if self.vline is not None:
            self.vline.set_xdata([t, t])
        self.redraw()


class DenoiseView(View):
    """Rows x0 / x_t / x̂0 for k images in one tiled imshow; ``update(t=...)`` re-noises with the SAME ε."""

    def __init__(self, model, schedule: NoiseSchedule, x0: torch.Tensor, seed: int = 0, figsize=(6.0, 2.8)):
        self.model, self.schedule = model, schedule
        self.x0 = torch.as_tensor(x0, dtype=torch.float32)
        self.k = self.x0.shape[0]
        self.noise = torch.randn(self.x0.shape, generator=make_generator(seed))
        self.state = {"t": 100}
        self.fig, ax = new_figure(1, 1, figsize=figsize)
        self.im = ax.imshow(self._tiles(self.x0, self.x0), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)        # rows are named in the title (fewer texts)
        self.title = ax.set_title("", fontsize=10)
        self.ax = ax
        self.fig.tight_layout()
        self.update()

    def _tiles(self, x_t, x0_hat) -> np.ndarray:
        stack = torch.cat([self.x0, x_t.clamp(-1, 1), x0_hat.clamp(-1, 1)])
        return tile_images(stack, nrow=self.k)

    def update(self, t: int | None = None) -> None:
        if t is not None:
            self.state["t"] = check_timestep(int(t), self.schedule.T)
        t = self.state["t"]
        x_t, x0_hat = denoise(self.model, self.schedule, self.x0, self.noise, t)
        self.im.set_data(self._tiles(x_t, x0_hat))
        mse = float((x0_hat.clamp(-1, 1) - self.x0).pow(2).mean())
        self.title.set_text(f"rows x0 / x_t / x̂0 at t = {t} (ᾱ_t = {float(self.schedule.alphas_cumprod[t]):.3f}): "
                            f"mean (x̂0 − x0)² = {mse:.3f}")
        self.redraw()


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_loss_curve(history, window: int = 50, ax=None, label: str | None = None, floor: float | None = None):
    """The per-step loss (faint) and its running mean; ``floor`` draws the exact ε*'s loss as a line."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 3.2))
    h = np.asarray(history, dtype=np.float64)
    ax.plot(h, color=PALETTE[0], alpha=0.2, lw=0.8)
    ax.plot(smooth(h, window), color=PALETTE[0], label=label or f"running mean over {window} steps")
    if floor is not None:
        ax.axhline(floor, color=PALETTE[1], ls="--", label=f"loss of the exact ε* ({floor:.3f})")
    ax.set_xlabel("training step"); ax.set_ylabel("L_simple (per coordinate)")
    ax.set_ylim(0, max(1.2, float(np.percentile(h, 99)) if h.size else 1.2))
    ax.legend(fontsize=8)
    return ax


def plot_eps_error_by_t(error: ErrorByT, ax=None, label: str = "network"):
    """Loss by t of the network and of ε*, and the network's squared distance to ε*."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot(error.ts, error.loss_model, "o-", ms=3, color=PALETTE[0], label=f"L_simple of the {label}")
    ax.plot(error.ts, error.loss_exact, "s--", ms=3, color=PALETTE[1], label="L_simple of the exact ε* (floor)")
    ax.plot(error.ts, error.mse_to_exact, "^-", ms=3, color=PALETTE[3], label=f"mean (ε̂ − ε*)² of the {label}")
    ax.set_yscale("log"); ax.set_xlabel("t"); ax.set_ylabel("per coordinate")
    ax.legend(fontsize=8)
    return ax


def plot_loss_by_t(results: dict, ax=None):
    """``results`` {label: training.LossByT}: mean loss per bucket of t with ±2 SE bands."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.4))
    for i, (label, lb) in enumerate(results.items()):
        mid, loss, sem = to_numpy(lb.t_mid), to_numpy(lb.loss), to_numpy(lb.sem)
        ax.plot(mid, loss, "o-", ms=3, color=PALETTE[i % len(PALETTE)], label=label)
        ax.fill_between(mid, loss - 2 * sem, loss + 2 * sem, color=PALETTE[i % len(PALETTE)], alpha=0.2)
    ax.set_yscale("log"); ax.set_xlabel("t"); ax.set_ylabel("L_simple (per coordinate)")
    ax.legend(fontsize=8)
    return ax


def plot_denoise_grid(model, schedule: NoiseSchedule, x0: torch.Tensor, ts: Sequence[int], seed: int = 0):
    """For ONE image x0 (1, C, H, W): x_t (top) and the network's x̂0 (bottom) at each t, x0 at the left."""
    import matplotlib.pyplot as plt

    noise = torch.randn(x0.shape, generator=make_generator(seed))
    fig, axes = plt.subplots(2, len(ts) + 1, figsize=(1.45 * (len(ts) + 1), 3.2))
    for ax in axes.ravel():
        ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    axes[0, 0].imshow(to_numpy(x0[0, 0]), cmap="gray", vmin=-1, vmax=1); axes[0, 0].set_title("x0", fontsize=9)
    axes[1, 0].axis("off")
    for j, t in enumerate(ts, start=1):
        x_t, x0_hat = denoise(model, schedule, x0, noise, int(t))
        axes[0, j].imshow(to_numpy(x_t[0, 0]).clip(-1, 1), cmap="gray", vmin=-1, vmax=1)
        axes[0, j].set_title(f"x_t, t={t}", fontsize=9)
        axes[1, j].imshow(to_numpy(x0_hat[0, 0]).clip(-1, 1), cmap="gray", vmin=-1, vmax=1)
        axes[1, j].set_title("x̂0", fontsize=9)
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
    return EpsFieldView(lambda x, t: 0.9 * exact(x, t), ring, schedule)


#: t moved across the whole range, for benchmarks/bench_views.py.
DEMO_SWEEP: list[dict] = [{"t": t} for t in (0, 10, 30, 60, 100, 150, 200, 300, 400, 500, 700, 999)]
