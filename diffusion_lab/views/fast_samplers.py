r"""Chapter 7: the score field, and the σ-space samplers with their paths and their cost in network calls.

What is drawn comes from the core: ``distributions`` (the exact log q_t and ε* of a mixture),
``sampling`` (σ_t and the grids, the samplers Euler, Heun, DPM-Solver++(2M) and Euler ancestral, counted
network calls, convergence errors) and ``metrics.sample_quality``. This module only prepares pictures.

Views: :class:`ScoreFieldView` (t = 1..T: the field −ε* = √(1−ᾱ_t) ∇ log q_t over the plane on log q_t) and
:class:`SamplerPathsView` (sampler, nfe, spacing: the samples and the paths of a few of them from x_T to
x0, with the calls made and the NLL; each setting is computed once, then cached). Static figures:
:func:`plot_point_panels`, :func:`plot_sigma_grids`, :func:`plot_convergence`, :func:`plot_quality_vs_nfe`,
:func:`plot_image_rows`, :func:`plot_dpmpp_line`; tables :func:`quality_table`, :func:`fewest_calls_table`
(numbers :func:`fewest_calls`, :func:`ring_ratios`, :func:`paired_mmd_ratios`, :func:`mmd2_floor`); the precomputed
benchmark :func:`load_nfe_results` (``benchmarks/samplers_vs_nfe.py`` writes it).

Time convention: everything a student reads (titles, labels, the score view's ``t``) uses the maths' steps
t = 1..T, with σ_0 = 0 the data; arrays and the samplers' step arguments are code indices k = t − 1. The
samplers start at index T − 1 (x_T, σ_T) and their last step goes from σ_1 (index 0) to σ_0 = 0.
"""
from __future__ import annotations

import json
from pathlib import Path
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from ..distributions import GaussianMixture, make_distribution
from ..metrics import Quality, sample_quality
from ..i18n import Message, tr, tr_fig
from ..plotting import PALETTE, new_figure, square_axes, tile_images, to_numpy
from ..sampling import (SAMPLER_LABELS, SIGMA_SAMPLERS, SIGMA_SPACINGS, sigma_sampler_steps, sigma_timesteps,
                        sigmas_of, steps_for_calls)
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from . import View

__all__ = [
    "ScoreFieldView", "SamplerPathsView", "SCORE_LEGEND_HTML", "PATHS_LEGEND_HTML", "score_field", "sampler_paths",
    "SamplerRun",
    "plot_point_panels", "plot_sigma_grids", "plot_convergence", "plot_quality_vs_nfe", "plot_image_rows",
    "plot_dpmpp_line", "quality_table", "fewest_calls", "fewest_calls_table", "ring_ratios", "load_nfe_results",
    "paired_mmd_ratios", "mmd2_floor", "heldout_digits_spread", "PAIRED_TOL", "UNPAIRED",
    "NFE_RESULTS", "NFE_CHOICES",
    "SAMPLER_COLOURS", "demo_view", "DEMO_SWEEP", "ANIMATION_SWEEP",
]

#: Network-call budgets the chapter's slider offers (Heun spends an odd number: 2N − 1).
NFE_CHOICES = (3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 250, 1000)
#: One colour per sampler, the same in every figure of the chapter.
SAMPLER_COLOURS = {"euler": PALETTE[0], "heun": PALETTE[1], "dpmpp_2m": PALETTE[2], "euler_ancestral": PALETTE[4]}
#: MMD² of a run against the same sampler's MMD² at its most calls in the same run (same x_T, same
#: references): "converged" when every run is within this, the same 10 % as the NLL's. It means something
#: here because the pairing removes the references' and the starting points' noise (fresh data alone reads
#: ±35 % from one draw to the next, :func:`mmd2_floor`, so 10 % against DDPM-1000's MMD² would not); the ODE
#: samplers' paired ratios at 99–765 calls are 1.00–1.05 in every stored run.
PAIRED_TOL = 0.10
#: Samplers whose runs at two call counts are not paired: Euler a draws new noise at every step, so its
#: run at the most calls is another random sample, not the converged version of the same one.
UNPAIRED = ("euler_ancestral",)
#: Where ``benchmarks/samplers_vs_nfe.py`` writes its results (read by :func:`load_nfe_results`).
NFE_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "samplers_vs_nfe.json"


# ---------------------------------------------------------------------------------------------
# What the views draw
# ---------------------------------------------------------------------------------------------
def _grid(lim: float, n: int) -> torch.Tensor:
    g = torch.linspace(-lim, lim, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)


def score_field(dist: GaussianMixture, schedule: NoiseSchedule, k: int, lim: float = 3.5, arrows_n: int = 15,
                image_n: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arrow positions (A, 2), −ε* = √(1−ᾱ_t) ∇ log q_t at them (A, 2), log q_t on an image_n × image_n grid
    over [−lim, lim]², rows from y = −lim up) for the exact mixture ``dist`` at step t, given by its code
    index k = t − 1 (0..T−1), numpy."""
    pts = _grid(lim, arrows_n)
    field = -dist.eps_star(schedule, pts, k)
    density = dist.log_prob_t(schedule, _grid(lim, image_n), k).detach().reshape(image_n, image_n)
    return to_numpy(pts), to_numpy(field), to_numpy(density)


class SamplerRun:
    """One sampler run kept for the explorer: final samples (N, 2), the paths of the first few points
    (P, steps + 1, 2) from x_T through every step's x_prev, the calls made and the quality."""

    def __init__(self, samples: np.ndarray, paths: np.ndarray, calls: int, quality: Quality | None):
        self.samples, self.paths, self.calls, self.quality = samples, paths, calls, quality


def sampler_paths(name: str, eps_model, schedule: NoiseSchedule, x_T: torch.Tensor, nfe: int,
                  spacing: str = "karras", n_paths: int = 24, seed: int = 0, dist: GaussianMixture | None = None,
                  reference=None) -> SamplerRun:
    """Run sampler ``name`` from x_T with the most steps that fit ``nfe`` network calls (a fresh generator
    seeded ``seed``), keeping the paths of the first ``n_paths`` points; with ``dist`` and ``reference``
    also the sample quality (:func:`~diffusion_lab.metrics.sample_quality`)."""
    steps = min(steps_for_calls(name, int(nfe)), schedule.T)
    path = [to_numpy(x_T[:n_paths])]
    last = None
    for step in sigma_sampler_steps(name, eps_model, schedule, x_T.clone(), num_steps=steps, spacing=spacing,
                                    generator=make_generator(seed)):
        path.append(to_numpy(step.x_prev[:n_paths]))
        last = step
    samples = last.x_prev
    quality = sample_quality(samples, dist, reference) if dist is not None and reference is not None else None
    return SamplerRun(to_numpy(samples).astype(np.float32), np.stack(path, axis=1).astype(np.float32), last.nfe,
                      quality)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
#: The score view's key, for ``widgets.explorer(view, title=SCORE_LEGEND_HTML, ...)`` (the figure carries
#: the same key as a static line under the axes, for pictures shown without the explorer).
SCORE_LEGEND_HTML = Message(           # shown by the explorer in the chosen language
    "<span style='color:{c3}'>→ −ε* = √(1−ᾱ_t)·∇log q_t</span> (the score scaled by the noise level; "
    "length ∝ √|ε*|) &nbsp;·&nbsp; shading: log q_t over 6 nats, dark = dense &nbsp;·&nbsp; axes [−3.5, 3.5]²",
    c3=PALETTE[3])
#: The sampler view's key, for ``widgets.explorer(view, title=PATHS_LEGEND_HTML, ...)``.
PATHS_LEGEND_HTML = Message(
    "<span style='color:#999'>● data</span> &nbsp; "
    "<span style='color:{c0}'>● samples</span> &nbsp; ○ x_T of the paths &nbsp; "
    "<span style='color:{c1}'>━ paths x_T → x0, one segment per step</span> &nbsp;·&nbsp; "
    "title: steps, network calls made, NLL (DDPM-1000's in brackets)", c0=PALETTE[0], c1=PALETTE[1])


class ScoreFieldView(View):
    """The score of q_t over the plane: arrows −ε* = √(1−ᾱ_t) ∇ log q_t (the score scaled by the noise
    level; drawn with length ∝ √|ε*|, the longest one grid cell, so weak arrows stay visible) on the
    shading of log q_t (6 nats from black to white). ``update(t=...)``: the maths' step t = 1..T (x_T at
    t = T; the schedule is read at code index t − 1); it recomputes both from the exact mixture (a few ms)
    and redraws only the shading, the arrows and the one-line title over the kept axes (blitting)."""

    DYNAMIC_PARAMS = ("t",)

    def __init__(self, dist: GaussianMixture, schedule: NoiseSchedule, lim: float = 3.5, arrows_n: int = 15,
                 image_n: int = 64, t: int = 300, figsize=None):
        if not isinstance(dist, GaussianMixture) or dist.dim != 2:
            raise TypeError("ScoreFieldView needs a 2D GaussianMixture (e.g. make_distribution('ring')): its exact "
                            "log q_t and ε* are what it draws.")
        self.dist, self.schedule = dist, schedule
        self.lim, self.arrows_n, self.image_n = float(lim), int(arrows_n), int(image_n)
        self.fig, self.ax = new_figure(1, 1, figsize=figsize or (5.2, 5.6))
        self._build_axes()
        self._build_field()
        self.fig.tight_layout(rect=(0, 0.05, 1, 1))
        self.update(t=t)

    def allowed(self, name: str, state: dict):
        return range(1, self.schedule.T + 1)

    def update(self, t: int | None = None):
        """Show step t, the maths' 1..T (code index t − 1)."""
        return View.update(self, t=t)

    def _build_axes(self) -> None:
        """Square axes a little wider than the shading (so the shading never covers a spine), axis labels,
        the key as one static line under the axes, the one-line title at a fixed position."""
        ax, lim = self.ax, self.lim
        square_axes(ax, lim * 1.02)
        ax.set_xticks([-lim, 0, lim]); ax.set_yticks([-lim, 0, lim])
        ax.grid(False)
        ax.set_xlabel("x₁"); ax.set_ylabel("x₂")
        self.title = ax.set_title("t", fontsize=10, y=1.0)
        self.fig.text(0.5, 0.012,
                      tr_fig("arrows: −ε* = √(1−ᾱ_t)·∇log q_t, length ∝ √|ε*|;  shading: log q_t (dark = dense)"),
                      ha="center", va="bottom", fontsize=8, color="0.25")

    def _build_field(self) -> None:
        """The shading (an image of log q_t) and one quiver of arrows on a grid."""
        lim, n = self.lim, self.image_n
        self.image = self.ax.imshow(np.zeros((n, n)), origin="lower", extent=(-lim, lim, -lim, lim), cmap="Greys",
                                    vmin=0.0, vmax=1.0, interpolation="bilinear", zorder=1)
        pts = _grid(lim, self.arrows_n).numpy()
        self._cell = 2 * lim / (self.arrows_n - 1)
        self.arrows = self.ax.quiver(pts[:, 0], pts[:, 1], np.zeros(len(pts)), np.zeros(len(pts)), color=PALETTE[3],
                                     angles="xy", scale_units="xy", scale=1.0, width=0.006, zorder=3)

    def show(self, changed: set[str]) -> None:
        t = self.state["t"]
        k = t - 1                                   # the code index of step t
        _, field, log_q = score_field(self.dist, self.schedule, k, self.lim, self.arrows_n, self.image_n)
        length = np.linalg.norm(field, axis=1, keepdims=True)
        longest = float(length.max())
        # direction of −ε*, length ∝ √|−ε*| (the longest one grid cell): short arrows stay visible
        shown = field / np.maximum(length, 1e-12) * np.sqrt(length / max(longest, 1e-12)) * 0.9 * self._cell
        self.arrows.set_UVC(shown[:, 0], shown[:, 1])
        # log q_t over the 6 nats below its largest value on the plane: 1 (black) down to 0 (white)
        self.image.set_data(np.clip(log_q - log_q.max(), -6.0, 0.0) / 6.0 + 1.0)
        sigma = float(sigmas_of(self.schedule)[k])
        self.title.set_text(tr_fig("t = {t}   σ_t = {sigma:.3g}   largest |ε*| = {longest:.2f}",
                                   t=t, sigma=sigma, longest=longest))

    def dynamic_artists(self) -> list:
        """The shading, the arrows and the title: all a move of t changes."""
        return [self.image, self.arrows, self.title]


class SamplerPathsView(View):
    """The samples of one σ-space sampler (blue, on the data in grey) and the paths of ``n_paths`` of them
    from x_T (black circles) to x0, one segment per step (orange); the one-line title gives the steps, the
    network calls made and the NLL next to DDPM-1000's. ``update(sampler=..., nfe=..., spacing=...)``: a
    sampler name of ``sampling.SIGMA_SAMPLERS``, a budget of calls 1..T (the run takes the most steps that
    fit), and "karras" or "uniform". Each setting is computed once from the same x_T and then cached; only
    the samples, the paths and the title change (blitted over the kept axes, data and legend)."""

    DYNAMIC_PARAMS = ("sampler", "nfe", "spacing")

    def __init__(self, eps_model, schedule: NoiseSchedule, dist: GaussianMixture, x_T: torch.Tensor, reference,
                 ddpm_nll: float | None = None, n_paths: int = 24, seed: int = 0, lim: float = 3.5,
                 sampler: str = "dpmpp_2m", nfe: int = 20, spacing: str = "karras", figsize=None):
        self.eps_model, self.schedule, self.dist = eps_model, schedule, dist
        self.x_T = torch.as_tensor(x_T, dtype=torch.float32)
        self.reference = reference
        self.ddpm_nll = ddpm_nll
        self.n_paths, self.seed = int(n_paths), int(seed)
        self._cache: dict[tuple[str, int, str], SamplerRun] = {}
        self.fig, self.ax = new_figure(1, 1, figsize=figsize or (5.4, 6.0))
        self._build_axes(lim)
        self._build_points()
        self.fig.tight_layout(rect=(0, 0.07, 1, 1))
        self.update(sampler=sampler, nfe=nfe, spacing=spacing)

    def _build_axes(self, lim: float) -> None:
        """Square axes with labels, the one-line title at a fixed position."""
        square_axes(self.ax, lim)
        self.ax.set_xlabel("x₁"); self.ax.set_ylabel("x₂")
        self.title = self.ax.set_title(tr_fig("sampler"), fontsize=10, y=1.0)

    def _build_points(self) -> None:
        """The data (grey, static), the start points of the paths (static), the samples and the paths
        (dynamic, on top), and a legend under the axes (static, so it costs nothing per move)."""
        ax = self.ax
        ref = to_numpy(self.reference)
        ghost = ax.scatter(ref[:, 0], ref[:, 1], s=3, color="0.75", alpha=0.6, lw=0, zorder=1)
        start = to_numpy(self.x_T[: self.n_paths])
        starts = ax.scatter(start[:, 0], start[:, 1], s=12, facecolors="none", edgecolors="black", lw=0.8, zorder=1.5)
        n = self.x_T.shape[0]
        self.scatter = ax.scatter(np.zeros(n), np.zeros(n), s=4, color=PALETTE[0], alpha=0.55, lw=0, zorder=2)
        self.paths = LineCollection([], colors=PALETTE[1], linewidths=1.0, alpha=0.85, zorder=3)
        ax.add_collection(self.paths)
        handles = [ghost, self.scatter, starts, Line2D([], [], color=PALETTE[1], lw=1.5)]
        self.fig.legend(handles, [tr_fig("data"), tr_fig("samples"), tr_fig("x_T of the paths"),
                                  tr_fig("paths of {n} samples to x0", n=self.n_paths)],
                        loc="lower center", ncol=2, fontsize=8, markerscale=2, frameon=False)

    def run(self, sampler: str, nfe: int, spacing: str) -> SamplerRun:
        """The run for one setting, computed on first use and cached."""
        key = (sampler, int(nfe), spacing)
        if key not in self._cache:
            self._cache[key] = sampler_paths(sampler, self.eps_model, self.schedule, self.x_T, nfe, spacing,
                                             self.n_paths, self.seed, self.dist, self.reference)
        return self._cache[key]

    def allowed(self, name: str, state: dict):
        return {"sampler": tuple(SIGMA_SAMPLERS), "nfe": range(1, self.schedule.T + 1),
                "spacing": SIGMA_SPACINGS}[name]

    def update(self, sampler: str | None = None, nfe: int | None = None, spacing: str | None = None):
        """Show ``sampler`` (a name of ``SIGMA_SAMPLERS``) with a budget of ``nfe`` calls on a ``spacing`` grid."""
        return View.update(self, sampler=sampler, nfe=nfe, spacing=spacing)

    def show(self, changed: set[str]) -> None:
        name, nfe, spacing = self.state["sampler"], self.state["nfe"], self.state["spacing"]
        run = self.run(name, nfe, spacing)
        self.scatter.set_offsets(run.samples)
        self.paths.set_segments(list(run.paths))
        steps = run.paths.shape[1] - 1
        quality = f"   NLL {run.quality.nll:.2f}" if run.quality is not None else ""
        ref = f" ({self.ddpm_nll:.2f})" if self.ddpm_nll is not None and quality else ""
        self.title.set_text(tr_fig("{sampler}, {spacing}: {steps} steps, {calls} calls{quality}{ref}",
                                   sampler=SAMPLER_LABELS[name], spacing=spacing, steps=steps, calls=run.calls,
                                   quality=quality, ref=ref))

    def dynamic_artists(self) -> list:
        """The samples, their paths and the title: all a change of sampler, calls or spacing touches."""
        return [self.scatter, self.paths, self.title]


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_point_panels(panels: dict, data=None, lim: float = 3.5, figsize=None):
    """One scatter panel per entry {title: points (N, 2)}, on the data in grey; legend in the first panel."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (3.3 * len(panels), 3.6), squeeze=False)
    d = to_numpy(data) if data is not None else None
    for i, (ax, (title, x)) in enumerate(zip(axes[0], panels.items())):
        x = to_numpy(x)
        if d is not None:
            ax.scatter(d[:, 0], d[:, 1], s=2, color="0.75", lw=0, label=tr_fig("data"))
        ax.scatter(x[:, 0], x[:, 1], s=2, color=PALETTE[0], alpha=0.5, lw=0, label=tr_fig("samples"))
        square_axes(ax, lim)
        ax.set_xlabel("x₁")
        if i == 0:
            ax.set_ylabel("x₂")
            ax.legend(loc="upper left", fontsize=8, markerscale=4)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_sigma_grids(schedule: NoiseSchedule, num_steps: int = 10, figsize=(8.0, 3.6)):
    """σ_t against the maths' step t = 1..T (log scale; σ_t is ``sigmas_of(schedule)[t - 1]``), with the steps
    of a uniform and of a Karras (ρ = 7) grid of ``num_steps`` steps marked on it (their code indices + 1)."""
    import matplotlib.pyplot as plt

    sigma = sigmas_of(schedule).numpy()
    fig, ax = plt.subplots(figsize=figsize)
    ax.semilogy(np.arange(1, schedule.T + 1), sigma, color="0.4", lw=1.5, label="σ_t = √((1−ᾱ_t)/ᾱ_t)")
    for spacing, colour, marker in (("uniform", PALETTE[0], "o"), ("karras", PALETTE[3], "s")):
        ks = np.asarray(sigma_timesteps(schedule, num_steps, spacing))      # code indices k = t − 1
        ax.plot(ks + 1, sigma[ks], marker, color=colour, ms=7, mfc="none", mew=1.8,
                label=tr_fig("{spacing} grid, {n} steps (then σ_0 = 0)", spacing=spacing, n=len(ks)))
    ax.set_xlabel(tr_fig("step t (1 … T)"))
    ax.set_ylabel(tr_fig("noise level σ_t (log scale)"))
    ax.set_title(tr_fig("Where the samplers evaluate ε̂: {name} schedule, T = {T}", name=schedule.name, T=schedule.T),
                 fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_convergence(errors: dict[str, dict[int, float]], orders: dict[str, float] | None = None, figsize=(6.4, 4.2),
                     fit_from: int | None = None):
    """End-point error against steps N on log-log axes, one line per sampler {name: {N: error}}, with
    dotted guide lines of slope −1 and −2 through Euler's and the first 2nd-order line at their first fitted
    point. ``fit_from``: the orders were fitted from N = fit_from on; fewer steps are shaded (pre-asymptotic)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize)
    if fit_from is not None and min(min(c) for c in errors.values()) < fit_from:
        lo = min(min(c) for c in errors.values())
        ax.axvspan(lo / 1.15, fit_from / 1.08, color="0.9", zorder=0,
                   label=tr_fig("fewer steps: not fitted (pre-asymptotic)"))
    for name, curve in errors.items():
        ns = sorted(curve)
        label = SAMPLER_LABELS.get(name, name)
        if orders and name in orders:
            label += tr_fig(": measured order {order:.2f}", order=orders[name])
        ax.loglog(ns, [curve[n] for n in ns], "o-", color=SAMPLER_COLOURS.get(name, "black"), label=label)
    all_n = sorted({n for curve in errors.values() for n in curve})
    n = np.asarray(all_n, dtype=float)
    for p, anchor in ((1, "euler"), (2, next((k for k in errors if k != "euler"), None))):
        if anchor in errors:
            first = min(k for k in errors[anchor] if fit_from is None or k >= fit_from)
            e0 = errors[anchor][first] * 1.6
            ax.loglog(n, e0 * (n / first) ** (-p), ":", color="0.35", lw=1.2, label=tr_fig("slope −{p} (guide)", p=p))
    ax.set_xticks(all_n, [str(k) for k in all_n])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(tr_fig("steps N (log scale)"))
    ax.set_ylabel(tr_fig("RMS error at σ_1 (log scale)"))
    ax.set_title(tr_fig("Gaussian data, exact ODE solution known: error ≈ C·N^(−order)"), fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def plot_dpmpp_line(lam_prev: float, lam_t: float, lam_s: float, x0_of_lambda, figsize=(6.4, 4.0)):
    """What DPM-Solver++(2M) does with x̂0 over one step, against λ = −log σ: the last two x̂0 (at λ_prev and
    λ_t), the line through them extended over the step [λ_t, λ_s], the value D it uses (the line at the middle
    of the step), the true x̂0(λ) (``x0_of_lambda``, a function of λ) and the average the exact step needs
    (weights e^{λ−λ_s}, shaded below). The numbers come from :func:`~diffusion_lab.sampling.exact_flow_step`
    and :func:`~diffusion_lab.sampling.dpmpp_2m_update`."""
    import math

    import matplotlib.pyplot as plt

    from ..sampling import dpmpp_2m_update, exact_flow_step

    h = lam_s - lam_t
    x0_prev, x0_t = float(x0_of_lambda(lam_prev)), float(x0_of_lambda(lam_t))
    slope = (x0_t - x0_prev) / (lam_t - lam_prev)
    sig = [math.exp(-v) for v in (lam_prev, lam_t, lam_s)]
    keep = 1 - sig[2] / sig[1]                                     # weight of ⟨x̂0⟩ in the step: 1 − σ_s/σ_t
    # ⟨x̂0⟩ = (x̃_s − (σ_s/σ_t) x̃_t)/(1 − σ_s/σ_t), from either step with x̃_t = 0
    d = float(dpmpp_2m_update(0.0, sig[1], sig[2], x0_t, sig[0], x0_prev)) / keep
    exact_mean = float(exact_flow_step(0.0, sig[1], sig[2], x0_of_lambda)) / keep
    fig, ax = plt.subplots(figsize=figsize)
    lams = np.linspace(lam_prev - 0.1 * h, lam_s + 0.05 * h, 200)
    true = np.array([float(x0_of_lambda(v)) for v in lams])
    ax.plot(lams, true, color="0.45", lw=2.5, alpha=0.6, label=tr_fig("true x̂0(λ)"))
    line_l = np.linspace(lam_prev, lam_s, 50)
    ax.plot(line_l, x0_t + slope * (line_l - lam_t), "--", color=SAMPLER_COLOURS["dpmpp_2m"], lw=1.6,
            label=tr_fig("line through the last two x̂0"))
    ax.plot([lam_prev, lam_t], [x0_prev, x0_t], "o", color="black", ms=7, zorder=4,
            label=tr_fig("x̂0 of the last two calls"))
    mid = lam_t + h / 2
    ax.plot([mid], [d], "s", color=SAMPLER_COLOURS["dpmpp_2m"], ms=9, zorder=5,
            label=tr_fig("D: the line at the middle of the step = {d:.3f}", d=d))
    ax.axhline(exact_mean, color=PALETTE[3], lw=1.4, ls=":",
               label=tr_fig("what the exact step averages, ⟨x̂0⟩ = {m:.3f}", m=exact_mean))
    ax.axvspan(lam_t, lam_s, color="0.93", zorder=0)
    lo = min(true.min(), x0_prev) - 0.15 * (true.max() - true.min() + 1e-9)
    wl = np.linspace(lam_t, lam_s, 100)
    weight = np.exp(wl - lam_s)
    height = 0.25 * (true.max() - true.min() + 1e-9)
    ax.fill_between(wl, lo, lo + height * weight, color=PALETTE[3], alpha=0.25, lw=0,
                    label=tr_fig("weight e^(λ−λ_s) of x̂0 in the exact step"))
    ax.set_ylim(bottom=lo)
    ax.set_xticks([lam_prev, lam_t, mid, lam_s], ["λ_prev", "λ_t", "λ_t + h/2", "λ_s"])
    ax.set_xlabel(tr_fig("λ = −log σ (grows as noise is removed)"))
    ax.set_ylabel("x̂0")
    ax.set_title(tr_fig("One DPM-Solver++(2M) step: x̂0 as a line through the last two calls"), fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def load_nfe_results(path=None) -> dict:
    """The results of ``benchmarks/samplers_vs_nfe.py`` (default :data:`NFE_RESULTS`)."""
    path = Path(path) if path is not None else NFE_RESULTS
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python benchmarks/samplers_vs_nfe.py` from the repository "
                                f"root to compute it (minutes on a CPU).")
    results = json.loads(path.read_text(encoding="utf-8"))
    if "ring" not in results or "exact" not in results["ring"].get("models", {}):
        raise ValueError(f"{path} does not hold the ring results of benchmarks/samplers_vs_nfe.py; run it again.")
    return results


def _mean_over_seeds(per_seed: list[list[float]]) -> np.ndarray:
    return np.asarray(per_seed, dtype=np.float64).mean(axis=0)


def _plot_curves(ax, curves: dict[str, tuple[list[int], np.ndarray]], reference: float, ylabel: str, title: str,
                 floor: float | None = None, floor_label: str = "") -> None:
    """Lines of quality against calls, the reference with its ±10 % band, values beyond the top shown as
    open triangles at the top edge (Heun with very few steps throws points far off)."""
    top = 2.2 * reference if reference > 0 else reference + 2.0
    bottom = min(min(float(v.min()) for _, v in curves.values()), reference * 0.9, floor or np.inf) - 0.05 * abs(top)
    ax.axhspan(0.9 * reference, 1.1 * reference, color="0.85", zorder=0, label="DDPM-1000 ± 10 %")
    ax.axhline(reference, color="black", ls="--", lw=1.2, label="DDPM-1000")
    if floor is not None:
        ax.axhline(floor, color="0.4", ls=":", lw=1.2, label=floor_label)
    for name, (calls, values) in curves.items():
        colour = SAMPLER_COLOURS.get(name, "black")
        shown = np.minimum(values, top)
        ax.plot(calls, shown, "o-", color=colour, ms=4, label=SAMPLER_LABELS.get(name, name))
        off = values > top
        if off.any():
            ax.plot(np.asarray(calls)[off], np.full(int(off.sum()), top), "^", color=colour, mfc="white", ms=7)
    ax.set_xscale("log")
    ax.set_ylim(bottom, top * 1.03)
    ax.set_xlabel(tr_fig("network calls (log scale)"))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)


def plot_quality_vs_nfe(results: dict, figsize=None):
    """Quality against network calls from :func:`load_nfe_results`. Top row: NLL of the ring for the exact ε* and
    the shipped MLP (mean over seeds), and the digit Fréchet distance of the digits U-Net, each with DDPM-1000
    and its ±10 % band (open triangles at the top edge: values off the chart). Bottom row, under each ring
    panel: MMD² as a multiple of DDPM-1000's (log scale), with the same band — the second number that
    "fewest calls" must be read with."""
    import matplotlib.pyplot as plt

    ring = results["ring"]
    panels = [(tr_fig("ring, exact ε* (n = {n}, {seeds} runs)", n=ring["n"], seeds=ring["seeds"]), "exact")]
    if "mlp" in ring["models"]:
        panels.append((tr_fig("ring, shipped MLP (n = {n}, {seeds} runs)", n=ring["n"], seeds=ring["seeds"]), "mlp"))
    digits = results.get("digits")
    ncols = len(panels) + (digits is not None)
    fig, grid = plt.subplots(2, ncols, figsize=figsize or (4.6 * ncols, 7.4), squeeze=False,
                             gridspec_kw={"height_ratios": [1.25, 1.0]})
    axes = grid[0]
    for col, (title, key) in enumerate(panels):
        model = ring["models"][key]
        curves = {name: (row["calls"], _mean_over_seeds(row["nll"])) for name, row in model["samplers"].items()}
        _plot_curves(axes[col], curves, float(np.mean(model["ddpm1000"]["nll"])), tr_fig("NLL (nats, lower = denser)"),
                     title, floor=float(np.mean(model["data"]["nll"])), floor_label=tr_fig("fresh data (entropy)"))
        _plot_mmd_ratio(grid[1, col], model, title)
    if digits is not None:
        curves = {name: (row["calls"], np.asarray(row["fid"])) for name, row in digits["samplers"].items()}
        _plot_curves(axes[-1], curves, float(digits["ddpm1000"]["fid"]),
                     tr_fig("digit Fréchet distance (lower = better)"),
                     tr_fig("8×8 digits, U-Net (n = {n})", n=digits["n"]),
                     floor=float(digits["real"]),
                     floor_label=tr_fig("real vs real digits"))
        grid[1, -1].axis("off")
    axes[0].legend(fontsize=7, loc="upper right")
    if digits is not None:                        # its own reference lines (the samplers' colours are in panel 1)
        handles, labels = axes[-1].get_legend_handles_labels()
        keep = [i for i, label in enumerate(labels) if label not in SAMPLER_LABELS.values()]
        axes[-1].legend([handles[i] for i in keep], [labels[i] for i in keep], fontsize=7, loc="center left")
    fig.tight_layout()
    return fig


def _plot_mmd_ratio(ax, model: dict, title: str) -> None:
    """Paired MMD²: each run's MMD² divided by the same sampler's at its most calls in the same run (mean over
    runs, with the runs' range shaded), against calls, log-log, with the 1 + PAIRED_TOL line. Euler a is left out
    (:data:`UNPAIRED`)."""
    ax.axhline(1.0, color="black", ls="--", lw=1.2)
    ax.axhline(1.0 + PAIRED_TOL, color="0.4", ls=":", lw=1.2, label=tr_fig("+10 %"))
    for name, per_calls in _paired(model).items():
        calls = sorted(per_calls)
        runs = np.array([per_calls[k] for k in calls])              # (calls, runs)
        colour = SAMPLER_COLOURS.get(name, "black")
        ax.fill_between(calls, runs.min(axis=1), runs.max(axis=1), color=colour, alpha=0.2, lw=0)
        ax.plot(calls, runs.mean(axis=1), "o-", color=colour, ms=3.5, label=SAMPLER_LABELS.get(name, name))
    ax.text(0.98, 0.95, tr_fig("Euler a not shown: new noise at every\ncall count, so its runs are not paired"),
            transform=ax.transAxes, ha="right", va="top", fontsize=7, color="0.3")
    ax.legend(fontsize=7, loc="center right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(tr_fig("network calls (log scale)"))
    ax.set_ylabel(tr_fig("MMD² ÷ its own at the most calls\n(same run; log scale)"))
    ax.set_title(tr_fig("{title}: MMD², paired", title=title), fontsize=9)


def plot_image_rows(rows: dict, n_images: int = 8, figsize=None):
    """One row of tiled images (N, 1, H, W) in [−1, 1] per entry {label: images}, the label on the left."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), 1, figsize=figsize or (1.0 * n_images + 2.2, 1.25 * len(rows) + 0.3),
                             squeeze=False)
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        tiles = tile_images(np.clip(to_numpy(images)[:n_images], -1, 1), nrow=n_images)
        ax.imshow(tiles, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def quality_table(curves: dict[str, dict[int, Quality]], ddpm: Quality, rel_tol: float = 0.10) -> str:
    """A text table: per sampler, NLL and MMD² at each number of calls; '*' marks NLL within ``rel_tol``
    of DDPM-1000's."""
    lines = [f"{'sampler':<9} {'calls':>5} {'NLL':>7} {'MMD²':>9}   (* = NLL within {rel_tol:.0%} of DDPM-1000's "
             f"{ddpm.nll:.3f})"]
    for name, curve in curves.items():
        for calls in sorted(curve):
            q = curve[calls]
            mark = "*" if abs(q.nll - ddpm.nll) <= rel_tol * abs(ddpm.nll) else ""
            lines.append(f"{SAMPLER_LABELS.get(name, name):<9} {calls:>5} {q.nll:>7.3f} {q.mmd2:>9.2e} {mark}")
    return "\n".join(lines)


def _ring_curves(results: dict, model: str, key: str) -> tuple[dict[str, dict[int, float]], float]:
    """({sampler: {calls: mean over seeds of ``key``}}, DDPM-1000's mean) of one ring model."""
    m = results["ring"]["models"][model]
    curves = {name: dict(zip(row["calls"], _mean_over_seeds(row[key]).tolist())) for name, row in m["samplers"].items()}
    return curves, float(np.mean(m["ddpm1000"][key]))


def ring_ratios(results: dict, model: str = "exact", max_calls: int = 50) -> dict[str, dict[int, tuple[float, float]]]:
    """{sampler: {calls: (NLL ratio, MMD² ratio)}} to DDPM-1000's numbers (means over seeds) for the ring
    with ``model`` ("exact" or "mlp"), at every stored budget up to ``max_calls``."""
    nll, nll_ref = _ring_curves(results, model, "nll")
    mmd, mmd_ref = _ring_curves(results, model, "mmd2")
    return {name: {k: (nll[name][k] / nll_ref, mmd[name][k] / mmd_ref) for k in sorted(nll[name]) if k <= max_calls}
            for name in nll}


def _paired(model: dict) -> dict[str, dict[int, np.ndarray]]:
    """{sampler: {calls: per-run MMD² ÷ the same run's MMD² at the sampler's most calls}} of one ring model, the
    samplers in :data:`UNPAIRED` left out."""
    out = {}
    for name, row in model["samplers"].items():
        if name in UNPAIRED:
            continue
        mmd = np.asarray(row["mmd2"], dtype=np.float64)             # (runs, calls)
        ratio = mmd / mmd[:, -1:]
        out[name] = {int(k): ratio[:, i] for i, k in enumerate(row["calls"])}
    return out


def paired_mmd_ratios(results: dict, model: str = "exact") -> dict[str, dict[int, np.ndarray]]:
    """{sampler: {calls: array of one ratio per run}}: each run's MMD² divided by the same sampler's MMD² at its
    most calls in the same run (the same 1000 starting points, the same fresh references). Pairing removes the
    references' own noise, which swamps differences of tens of per cent at n = 1000 (:func:`mmd2_floor`); the
    ratio says how far a sampler is from where it converges. Euler a (:data:`UNPAIRED`) is left out."""
    return _paired(results["ring"]["models"][model])


def mmd2_floor(results: dict, model: str = "exact") -> dict[str, float]:
    """What MMD² reads with no sampler error: fresh data against the references, per run. Keys "mean", "sd"
    (over runs, ddof = 1), "runs", and "converged_low"/"converged_high": the range over runs and ODE samplers
    of MMD² at the most calls ÷ fresh data's in the same run (a converged sampler against the floor)."""
    m = results["ring"]["models"][model]
    data = np.asarray(m["data"]["mmd2"], dtype=np.float64)
    conv = np.array([np.asarray(row["mmd2"], dtype=np.float64)[:, -1] / data
                     for name, row in m["samplers"].items() if name not in UNPAIRED])
    return {"mean": float(data.mean()), "sd": float(data.std(ddof=1)), "runs": int(data.size),
            "converged_low": float(conv.min()), "converged_high": float(conv.max())}


def _fewest_calls_at_most(values: dict[int, float], bound: float) -> int | None:
    """The fewest calls from which on every value is at most ``bound`` (MMD²: lower is simply better)."""
    best = None
    for calls in sorted(values, reverse=True):
        if values[calls] > bound:
            break
        best = int(calls)
    return best


def fewest_calls(results: dict, rel_tol: float = 0.10) -> dict[str, dict[str, dict]]:
    """{column: {sampler: {"nll" | "fid": fewest calls, "mmd2_there": the largest paired MMD² ratio over runs at
    those calls, "mmd2": fewest calls on paired MMD²}}} from :func:`load_nfe_results`: the fewest network calls
    from which on the NLL (mean over seeds) or the Fréchet distance stays within ``rel_tol`` of DDPM-1000's
    (None: not even at ~1000 calls); by MMD², the fewest calls from which on every run's paired ratio
    (:func:`paired_mmd_ratios`) is at most 1 + :data:`PAIRED_TOL` (None for :data:`UNPAIRED` samplers).
    Columns "exact", "mlp" (the ring) and "digits" (digit Fréchet distance)."""
    from ..metrics import fewest_calls_within

    out: dict[str, dict[str, dict]] = {}
    for model in results["ring"]["models"]:
        nll, nll_ref = _ring_curves(results, model, "nll")
        paired = paired_mmd_ratios(results, model)
        col = out.setdefault(model, {})
        for name in nll:
            k = fewest_calls_within(nll[name], nll_ref, rel_tol)
            worst = {c: float(r.max()) for c, r in paired.get(name, {}).items()}
            col[name] = {"nll": k, "mmd2_there": None if k is None or not worst else worst[k],
                         "mmd2": _fewest_calls_at_most(worst, 1 + PAIRED_TOL) if worst else None}
    if "digits" in results:
        ref = float(results["digits"]["ddpm1000"]["fid"])
        out["digits"] = {name: {"fid": fewest_calls_within(dict(zip(row["calls"], row["fid"])), ref, rel_tol)}
                         for name, row in results["digits"]["samplers"].items()}
    return out


def fewest_calls_table(results: dict) -> str:
    """A text table from :func:`fewest_calls`: per sampler, the fewest network calls from which on its quality
    number stays within 10 % of DDPM-1000's ('never' if not even at ~1000 calls) — on the ring by NLL, with
    the paired MMD² ratio at those calls beside it (the largest over runs) and the fewest calls by paired MMD²
    ('—' for Euler a), on digits by the Fréchet distance."""
    table = fewest_calls(results)
    titles = {"exact": "ring, exact ε*", "mlp": "ring, MLP", "digits": "digits"}

    def fmt(v):
        return "never" if v is None else str(v)

    head1 = f"{'':<9}" + "".join(f"{titles[c]:^29}" if c != "digits" else f"{titles[c]:>10}" for c in table)
    head2 = f"{'sampler':<9}" + "".join(f"{'NLL':>7}{'MMD² ×':>10}{'MMD²':>7}     " if c != "digits"
                                        else f"{'Fréchet':>10}" for c in table)
    lines = [tr("fewest network calls from which on NLL (Fréchet on digits) stays within 10 % of DDPM-1000's; "
                "MMD² ×: at the NLL's count, the worst run's MMD² ÷ the same sampler's at its most calls; MMD²: "
                "fewest calls from which on every run is within 10 % of that (Euler a: —, not paired)"),
             head1, head2]
    for name in SIGMA_SAMPLERS:
        row = f"{SAMPLER_LABELS[name]:<9}"
        for c, col in table.items():
            cell = col.get(name, {})
            if c == "digits":
                row += f"{fmt(cell.get('fid')):>10}"
            else:
                ratio = cell.get("mmd2_there")
                mmd_calls = "—" if name in UNPAIRED else fmt(cell.get("mmd2"))
                row += (f"{fmt(cell.get('nll')):>7}{'—' if ratio is None else f'{ratio:.2f}×':>10}"
                        f"{mmd_calls:>7}     ")
        lines.append(row.rstrip())
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Benchmark / animation hooks
# ---------------------------------------------------------------------------------------------
def demo_view(n: int = 300, seed: int = 0) -> SamplerPathsView:
    """The chapter's explorer with the exact ε* of the ring (linear schedule, T = 1000)."""
    ring = make_distribution("ring")
    schedule = make_schedule("linear", 1000)
    x_T = torch.randn((n, 2), generator=make_generator(seed))
    return SamplerPathsView(ring.eps_model(schedule), schedule, ring, x_T,
                            ring.sample(n, generator=make_generator(seed + 1)))


#: Sampler and call changes for benchmarks/bench_views.py and the blitting test.
DEMO_SWEEP: list[dict] = [
    {"sampler": "dpmpp_2m", "nfe": 20}, {"nfe": 10}, {"nfe": 5}, {"sampler": "heun", "nfe": 5}, {"nfe": 20},
    {"sampler": "euler"}, {"spacing": "uniform"}, {"sampler": "euler_ancestral"}, {"nfe": 50}, {"spacing": "karras"},
]
#: For scripts/make_animations.py: DPM++ 2M settles as the calls grow, Euler a keeps changing.
ANIMATION_SWEEP: list[dict] = (
    [{"sampler": "dpmpp_2m", "nfe": k, "spacing": "karras"} for k in (4, 6, 8, 10, 15, 20, 30, 50, 100)]
    + [{"sampler": "euler_ancestral", "nfe": k, "spacing": "karras"} for k in (4, 6, 8, 10, 15, 20, 30, 50, 100)]
)



def heldout_digits_spread(path=None) -> dict | None:
    """The digits U-Net (``data/unet_digits``, its own ε) over the evaluation protocol's draws, from
    ``benchmarks/results/heldout_digits8x8.json`` (``benchmarks/heldout_eval.py``): {"fid_mean", "fid_sd",
    "draws", "sampler", "real_mean", "real_sd", "model_sha256"}; None if the file is not there. It says how much
    one draw of references (what :func:`load_nfe_results` uses for digits) moves a Fréchet distance."""
    path = Path(path) if path is not None else NFE_RESULTS.parent / "heldout_digits8x8.json"
    if not path.exists():
        return None
    r = json.loads(path.read_text(encoding="utf-8"))
    gen = next((g for g in r["generators"] if g["model"].endswith("unet_digits") and g["w"] is None), None)
    if gen is None:
        return None
    return {"fid_mean": float(gen["fid_mean"]), "fid_sd": float(gen["fid_sd"]), "draws": len(r["protocol"]["seeds"]),
            "sampler": r["protocol"]["sampler"], "real_mean": float(r["real"]["fid_real_mean"]),
            "real_sd": float(r["real"]["fid_real_sd"]), "model_sha256": gen["model_sha256"]}
