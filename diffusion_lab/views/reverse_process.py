r"""Chapter 5: running the reverse process — DDPM (both variances), DDPM without noise, DDIM.

What is drawn comes from the core: ``sampling.record`` (a run kept as a ``SamplingTrace``; a slider
only indexes it), ``sampling.ddpm_mean_steps`` (DDPM with σ = 0), ``metrics.ddim_quality_curve`` and
``metrics.sample_quality`` (mixture NLL and MMD²).

Views (``update`` only changes artists): :class:`SamplingView` (x_t and x̂0 side by side along the
reverse steps, 2D points or images) and :class:`DDIMView` (DDIM samples for a chosen number of steps
and η, with quality against network calls; results are cached per setting, so revisiting a setting
is instant and a new one costs one DDIM run). Static figures: :func:`plot_reverse_snapshots`,
:func:`plot_sample_panels`, :func:`plot_quality_vs_calls`.

Time convention: the views' ``t`` parameter (their slider), the ``ts`` of :func:`plot_reverse_snapshots`
and every title are the maths' t = T..1 (x_T the start, x_0 the finished sample). A trace holds code
indices: its entry i was recorded at code index ``ts[i]`` = t − 1 and holds x_t (before that step is
undone) and the x̂0 the model predicts from it; ``x_final`` is x_0, the sample after the last step.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from ..distributions import GaussianMixture, make_distribution
from ..metrics import Quality, sample_quality
from ..i18n import tr_fig
from ..plotting import PALETTE, new_figure, new_figure_with_side_panel, show_images, square_axes, tile_images, to_numpy
from ..sampling import SamplingTrace, ddim_sample, ddpm_steps, record
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from . import Interval, View

__all__ = [
    "SamplingView", "DDIMView", "plot_reverse_snapshots", "plot_sample_panels",
    "plot_quality_vs_calls", "images_per_row", "DDIM_STEP_CHOICES", "demo_view", "DEMO_SWEEP", "ANIMATION_SWEEP",
]

#: The DDIM step counts the chapter's slider offers.
DDIM_STEP_CHOICES = (2, 5, 10, 20, 50, 100, 250)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------
def _is_image_trace(trace: SamplingTrace) -> bool:
    return trace.x_t.ndim == 5  # (S, N, C, H, W)


def images_per_row(n: int) -> int:
    """Images per row for a grid of n images with no empty slot where possible: the smallest divisor of n
    that is at least √n (8 → 4 × 2, 16 → 4 × 4, 6 → 3 × 2); a prime n > 3 gets ⌈√n⌉ per row."""
    n = int(n)
    if n < 1:
        raise ValueError(f"images_per_row needs n ≥ 1 images, got {n}.")
    root = math.isqrt(n)
    start = root if root * root == n else root + 1
    for k in range(start, n + 1):
        if n % k == 0 and (k <= 2 * start or n <= 3):
            return k
    return start


class SamplingView(View):
    """x_t (left) and the model's x̂0 (right) along the reverse steps of one recorded run.

    ``update(t=...)`` shows the recorded step nearest to the maths' step t (T = pure noise x_T, 1 = the
    last step, whose x̂0 is the finished sample's guess); the trace is read at code index t − 1. Works for
    2D points (scatters, with the data as a grey ghost) and for images (one tiled ``imshow`` per panel,
    values shown in [−1, 1]).
    """

    DYNAMIC_PARAMS = ("t",)

    def __init__(self, trace: SamplingTrace, data=None, lim: float = 3.5, n_images: int = 16, figsize=None):
        self.trace = trace
        self.images = _is_image_trace(trace)
        self.n_images = int(n_images)
        if self.images:
            self.fig, (ax1, ax2) = new_figure(1, 2, figsize=figsize or (7.0, 3.8))
            blank = trace.x_t[0][: self.n_images]
            self.im_xt, self.im_x0 = show_images(ax1, blank), show_images(ax2, blank)
        else:
            self.fig, (ax1, ax2) = new_figure(1, 2, figsize=figsize or (8.4, 4.4))
            n = trace.x_t.shape[1]
            for ax in (ax1, ax2):
                square_axes(ax, lim, labels=False)
                if data is not None:
                    d = to_numpy(data)
                    ax.scatter(d[:, 0], d[:, 1], s=3, color="0.75", alpha=0.5, lw=0, zorder=1)
            self.sc_xt = ax1.scatter(np.zeros(n), np.zeros(n), s=4, color=PALETTE[0], alpha=0.5, lw=0, zorder=2)
            self.sc_x0 = ax2.scatter(np.zeros(n), np.zeros(n), s=4, color=PALETTE[3], alpha=0.5, lw=0, zorder=2)
        self.ax_xt, self.ax_x0 = ax1, ax2
        self.title_xt = ax1.set_title("", fontsize=10, y=1.0)    # fixed y: the titles are dynamic artists
        self.title_x0 = ax2.set_title("", fontsize=10, y=1.0)
        if trace.label:
            self.fig.suptitle(trace.label, fontsize=11)
        self.fig.tight_layout()
        self.update(t=int(trace.ts[0]) + 1)

    def allowed(self, name: str, state: dict):
        return range(1, int(np.max(self.trace.ts)) + 2)          # the maths' t = code index + 1

    def update(self, t: int | None = None) -> None:
        """Show the recorded step nearest to the maths' step t (1..T)."""
        return View.update(self, t=t)

    def show(self, changed: set[str]) -> None:
        k_shown, x_t, x0 = self.trace.at(self.state["t"] - 1)      # code index t − 1
        t_shown = k_shown + 1
        if self.images:
            self.im_xt.set_data(tile_images(np.clip(x_t[: self.n_images], -1, 1)))
            self.im_x0.set_data(tile_images(np.clip(x0[: self.n_images], -1, 1)))
        else:
            self.sc_xt.set_offsets(x_t)
            self.sc_x0.set_offsets(x0)
        self.title_xt.set_text(tr_fig("x_t at t = {t}", t=t_shown))
        self.title_x0.set_text(tr_fig("x̂0 predicted from x_{t}", t=t_shown))

    def dynamic_artists(self) -> list:
        """x_t and x̂0 (scatters or images) and their titles: all a t-slider move changes."""
        shown = [self.im_xt, self.im_x0] if self.images else [self.sc_xt, self.sc_x0]
        return shown + [self.title_xt, self.title_x0]


class DDIMView(View):
    """DDIM samples for a chosen number of steps and η, with their quality in the title.

    Left (always): the samples, the data as a grey ghost, and in the title the number of network calls
    and the NLL next to DDPM-1000's. Right (``show_curve=True``): NLL against network calls for η = 0
    with the DDPM-1000 line and a marker at the current setting (it makes each redraw markedly slower,
    so it is off by default; the chapter draws the same curve as a static figure). Every setting is
    computed once (from the same x_T, with a generator seeded with ``seed``, so a setting always gives
    the same picture) and then cached.
    """

    def __init__(self, eps_model, schedule: NoiseSchedule, dist: GaussianMixture, x_T: torch.Tensor, reference,
                 ddpm_quality: Quality | None = None, step_choices: Sequence[int] = DDIM_STEP_CHOICES,
                 seed: int = 0, lim: float = 3.5, show_curve: bool = False, figsize=None):
        self.eps_model, self.schedule, self.dist = eps_model, schedule, dist
        self.x_T = torch.as_tensor(x_T, dtype=torch.float32)
        self.reference = reference
        self.ddpm_quality = ddpm_quality
        self.step_choices = tuple(int(k) for k in step_choices)
        self.seed = int(seed)
        self._cache: dict[tuple[int, float], tuple[np.ndarray, Quality]] = {}
        self.fig, self.ax, self.axq = new_figure_with_side_panel(show_curve, figsize, double=(9.0, 4.2),
                                                                 side_ratio=1.15)
        self._build_samples(lim)
        self.marker = self._build_curve() if show_curve else None
        self.fig.tight_layout()
        self.update(num_steps=50 if 50 in self.step_choices else self.step_choices[0], eta=0.0)

    def _build_samples(self, lim: float) -> None:
        """Square axes without tick labels, the reference data as a grey ghost, the samples' scatter."""
        ax = self.ax
        square_axes(ax, lim, labels=False)
        ref = to_numpy(self.reference)
        ax.scatter(ref[:, 0], ref[:, 1], s=3, color="0.75", alpha=0.5, lw=0, zorder=1)
        n = self.x_T.shape[0]
        self.scatter = ax.scatter(np.zeros(n), np.zeros(n), s=4, color=PALETTE[0], alpha=0.55, lw=0, zorder=2)
        # a two-line placeholder as long as the real titles, so tight_layout leaves room for them
        self.title = ax.set_title(tr_fig("DDIM, 250 network calls, η = 0.75\nNLL 0.00 (DDPM-1000: 0.00)"), fontsize=10)

    def _build_curve(self):
        """NLL against the step choices for η = 0 (one evenly spaced position per choice: a log axis
        redraws far slower), the DDPM-1000 line, few texts; returns the marker of the current setting."""
        axq = self.axq
        curve = [self.result(k, 0.0)[1].nll for k in self.step_choices]
        pos = np.arange(len(self.step_choices))
        axq.plot(pos, curve, "o-", color=PALETTE[0])
        if self.ddpm_quality is not None:
            axq.axhline(self.ddpm_quality.nll, color=PALETTE[3], ls="--")
        axq.set_xticks(pos, [str(k) for k in self.step_choices])
        axq.yaxis.set_major_locator(MaxNLocator(3))
        axq.set_title(tr_fig("NLL vs network calls: DDIM η = 0 (blue),\nDDPM-1000 (dashed), current setting (square)"),
                      fontsize=9)
        (marker,) = axq.plot([], [], "s", ms=11, mfc="none", mec="black", mew=2)
        return marker

    def result(self, num_steps: int, eta: float) -> tuple[np.ndarray, Quality]:
        """(samples, quality) for one setting, computed on first use and cached."""
        key = (int(num_steps), round(float(eta), 3))
        if key not in self._cache:
            x = ddim_sample(self.eps_model, self.schedule, self.x_T.clone(), num_steps=key[0], eta=key[1],
                            generator=make_generator(self.seed))
            q = sample_quality(x, self.dist, self.reference)
            self._cache[key] = (to_numpy(x).astype(np.float32), q)
        return self._cache[key]

    def precompute(self, etas: Sequence[float] = (0.0, 0.5, 1.0)) -> None:
        """Fill the cache for every step choice and η (so every later slider move is instant)."""
        for eta in etas:
            for k in self.step_choices:
                self.result(k, eta)

    def allowed(self, name: str, state: dict):
        return {"num_steps": range(1, self.schedule.T + 1), "eta": Interval(0.0, 1.0)}[name]

    def update(self, num_steps: int | None = None, eta: float | None = None) -> None:
        """Show DDIM with ``num_steps`` network calls (1..T; the slider offers ``step_choices``) and η in [0, 1]."""
        return View.update(self, num_steps=num_steps, eta=eta)

    def show(self, changed: set[str]) -> None:
        k, eta = self.state["num_steps"], self.state["eta"]
        x, q = self.result(k, eta)
        self.scatter.set_offsets(x)
        if self.marker is not None:
            pos = self.step_choices.index(k) if k in self.step_choices else np.interp(
                k, self.step_choices, np.arange(len(self.step_choices)))
            self.marker.set_data([pos], [q.nll])
        ref = f" (DDPM-1000: {self.ddpm_quality.nll:.2f})" if self.ddpm_quality is not None else ""
        self.title.set_text(tr_fig("DDIM, {k} network calls, η = {eta:g}\nNLL {nll:.2f}{ref}",
                                   k=k, eta=eta, nll=q.nll, ref=ref))


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_reverse_snapshots(trace: SamplingTrace, ts: Sequence[int], data=None, lim: float = 3.5,
                           n_images: int = 8, figsize=None):
    """Small multiples along the reverse process: x_t (top row) and x̂0 (bottom row) at each maths' step t in
    ``ts`` (T..1; the trace is read at code index t − 1, the nearest recorded step).

    Returns the matplotlib figure (pyplot, so ``plt.show()`` draws it in the cell output).
    """
    import matplotlib.pyplot as plt

    ts = list(ts)
    images = _is_image_trace(trace)
    fig, axes = plt.subplots(2, len(ts), figsize=figsize or (2.1 * len(ts), 4.4), squeeze=False)
    d = to_numpy(data) if data is not None else None
    for j, t in enumerate(ts):
        t_max = int(np.max(trace.ts)) + 1
        if not 1 <= int(t) <= t_max:
            raise ValueError(f"plot_reverse_snapshots: t = {t} is out of range; it runs 1..{t_max}.")
        k_shown, x_t, x0 = trace.at(int(t) - 1)                    # code index t − 1
        t_shown = k_shown + 1
        for i, (arr, name) in enumerate(((x_t, f"x_t, t = {t_shown}"), (x0, tr_fig("x̂0 from x_{t}", t=t_shown)))):
            ax = axes[i, j]
            if images:
                show_images(ax, np.clip(arr[:n_images], -1, 1), nrow=images_per_row(min(n_images, len(arr))))
            else:
                if d is not None:
                    ax.scatter(d[:, 0], d[:, 1], s=2, color="0.78", lw=0)
                ax.scatter(arr[:, 0], arr[:, 1], s=2, color=PALETTE[0] if i == 0 else PALETTE[3], alpha=0.5, lw=0)
                square_axes(ax, lim, labels=False)
            ax.set_title(name, fontsize=10)
    if trace.label:
        fig.suptitle(trace.label, fontsize=11)
    fig.tight_layout()
    return fig


def plot_sample_panels(panels: dict, data=None, lim: float = 3.5, n_images: int = 16, figsize=None):
    """One panel per entry of ``panels`` {title: samples (N, 2) or images (N, 1, H, W)}."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=figsize or (3.2 * len(panels), 3.4), squeeze=False)
    d = to_numpy(data) if data is not None else None
    for ax, (title, x) in zip(axes[0], panels.items()):
        x = to_numpy(x)
        if x.ndim == 4:
            shown = x[:n_images]
            show_images(ax, np.clip(shown, -1, 1), nrow=images_per_row(len(shown)))
        else:
            if d is not None:
                ax.scatter(d[:, 0], d[:, 1], s=2, color="0.78", lw=0)
            ax.scatter(x[:, 0], x[:, 1], s=2, color=PALETTE[0], alpha=0.5, lw=0)
            square_axes(ax, lim)
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_quality_vs_calls(curves: dict[str, dict[int, Quality]], references: dict[str, Quality] | None = None,
                          entropy: float | None = None, mmd_floor: float | None = None,
                          mmd_skip: Sequence[str] = (), figsize=(9.5, 3.6)):
    """NLL (left) and MMD² (right) against network calls, one line per entry of ``curves``
    {label: {calls: Quality}}; ``references`` {label: Quality} are dashed horizontal lines (e.g. DDPM-1000).

    ``entropy`` (NLL of fresh data) and ``mmd_floor`` (MMD² of two data sets) are dotted lines. Curves and
    references whose label contains any text in ``mmd_skip`` are left out of the MMD² panel (use it for
    sets of another size n: MMD² floors depend on n, so only equal-n numbers share a panel).
    """
    import matplotlib.pyplot as plt

    def shown(label):
        return not any(s in label for s in mmd_skip)

    fig, (a1, a2) = plt.subplots(1, 2, figsize=figsize)
    for i, (label, curve) in enumerate(curves.items()):
        k = sorted(curve)
        colour = PALETTE[i % len(PALETTE)]
        a1.plot(k, [curve[c].nll for c in k], "o-", color=colour, label=label)
        if shown(label):
            a2.plot(k, [curve[c].mmd2 for c in k], "o-", color=colour, label=label)
    for j, (label, q) in enumerate((references or {}).items()):
        colour = PALETTE[(len(curves) + j) % len(PALETTE)]
        a1.axhline(q.nll, ls="--", color=colour, label=label)
        if shown(label):
            a2.axhline(q.mmd2, ls="--", color=colour, label=label)
    if entropy is not None:
        a1.axhline(entropy, ls=":", color="black", label=tr_fig("fresh data"))
    if mmd_floor is not None:
        a2.axhline(mmd_floor, ls=":", color="black", label=tr_fig("fresh data (floor)"))
    for ax, name in ((a1, tr_fig("NLL (nats)")), (a2, tr_fig("MMD² (V-statistic)"))):
        ax.set_xscale("log"); ax.set_xlabel(tr_fig("network calls")); ax.set_ylabel(name)
    a1.legend(fontsize=7)
    a2.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Benchmark / animation hooks
# ---------------------------------------------------------------------------------------------
def demo_view(n: int = 500, seed: int = 0) -> SamplingView:
    """The chapter's slider view: DDPM (σ² = β̃_t, T = 1000) with the exact ε* of the ring."""
    ring = make_distribution("ring")
    schedule = make_schedule("linear", 1000)
    gen = make_generator(seed)
    trace = record(ddpm_steps(ring.eps_model(schedule), schedule, (n, 2), generator=gen), label="DDPM with exact ε*")
    return SamplingView(trace, data=ring.sample(n, generator=make_generator(seed + 1)))


#: Slider moves over the reverse process (the maths' t from noise x_T down to the last step t = 1), for
#: benchmarks/bench_views.py.
DEMO_SWEEP: list[dict] = [{"t": t} for t in (1000, 900, 800, 700, 600, 500, 400, 300, 200, 150, 100, 60, 30, 10, 1)]
#: A smooth 30-frame pass for scripts/make_animations.py from t = 1000 to t = 1 (more frames where things
#: happen: small t).
ANIMATION_SWEEP: list[dict] = [{"t": 1 + int(round(999 * (1 - i / 29) ** 2))} for i in range(30)]
