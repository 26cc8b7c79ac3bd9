r"""Chapter 6: classifier-free guidance under a live w slider — exact on 2D, for real on digits.

The numbers come from the core: the exact conditional and unconditional ε* of a labelled mixture
(:class:`diffusion_lab.distributions.LabelledMixture`), the guided ε-model and the precision/spread
measures (:mod:`diffusion_lab.guidance`), the samplers (:mod:`diffusion_lab.sampling`). This module
prepares what to draw:

* :func:`guided_samples_by_w` — DDIM samples for every w of a list from ONE starting noise, all in
  one batched run (a per-sample w), so the slider only indexes stored arrays;
* :func:`field_grid` — ε(x_t, ∅) and ε(x_t, y) on a grid of points at one t; the guided field is
  linear in w, ε̃ = ε_∅ + w (ε_y − ε_∅), so a move of the slider is one multiply-add;
* :func:`mosaic` — a (rows, columns) grid of images as one picture.

:class:`GuidedField2DView` draws samples and the guided field (arrows of −ε̃, the direction of the
guided score) with the precision and spread of the samples in its title; :class:`GuidanceGridView`
draws a grid of digits (rows = classes, columns = seeds) for the chosen w. Static figures:
:func:`plot_tilted_1d` (what the guided field follows at each noise level, on a 1D example),
:func:`plot_precision_spread`, :func:`plot_guidance_curves`, :func:`plot_attention_maps`.

Time convention: titles and labels show the maths' t = 1..T; the code index is k = t − 1.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..distributions import LabelledMixture, labelled_ring
from ..guidance import class_precision_spread, guided_eps_model
from ..i18n import tr_fig
from ..plotting import PALETTE, new_figure, to_numpy
from ..sampling import ddim_sample
from ..schedules import NoiseSchedule, make_schedule
from ..seeding import make_generator
from . import View

__all__ = [
    "W_CHOICES", "FIELD_T_CHOICES", "LEGEND_HTML", "CLASS_COLOURS", "guided_samples_by_w", "field_grid", "mosaic",
    "GuidedField2DView", "GuidanceGridView", "plot_tilted_1d", "plot_precision_spread", "plot_guidance_curves",
    "plot_attention_maps", "demo_view", "DEMO_SWEEP",
]

#: Guidance scales on the sliders (0 = unconditional, 1 = conditional).
W_CHOICES: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
#: Noise levels (maths t = 1..T) at which the 2D view can draw the guided field.
FIELD_T_CHOICES: tuple[int, ...] = (50, 200, 400, 700)
#: The key of :class:`GuidedField2DView`, as HTML for the explorer's title (a legend inside a live figure costs
#: a redraw; see benchmarks/README.md).
LEGEND_HTML = (                     # shown by the explorer in the chosen language (looked up as it is)
    "left: <span style='color:#999'>● data, coloured by class</span> &nbsp; <b>●</b> guided samples aimed at "
    "class y, coloured by the class the exact Bayes classifier gives them &nbsp;·&nbsp; right: arrows −ε̃, the "
    "direction the guided score pushes x_t (lengths ∝ √|ε̃|) &nbsp; <span style='color:#0072B2'>━</span> p_t(x_t | y): "
    "1σ, 2σ levels"
)
#: Colours of the classes (one per class; the ring has 4).
CLASS_COLOURS = (PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[3], "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf", "#9467bd")


# ---------------------------------------------------------------------------------------------
# What to draw (plain functions)
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def guided_samples_by_w(conditional_eps, schedule: NoiseSchedule, y: int, ws, x_T: torch.Tensor,
                        negative=None, num_steps: int = 25) -> dict[float, torch.Tensor]:
    """{w: DDIM (η = 0) samples from ``x_T`` (n, d) guided towards ``y`` at scale w}, every w in one run.

    The n starting points are repeated once per w and sampled together with a per-sample scale, so
    the samples for different w start from the same noise and differ only by the guidance."""
    ws = [float(w) for w in ws]
    n = x_T.shape[0]
    w_batch = torch.tensor(ws, dtype=x_T.dtype if x_T.is_floating_point() else torch.float32).repeat_interleave(n)
    model = guided_eps_model(conditional_eps, y, w_batch, negative=negative)
    out = ddim_sample(model, schedule, x_T.repeat(len(ws), *([1] * (x_T.dim() - 1))), num_steps=num_steps)
    return {w: out[i * n:(i + 1) * n] for i, w in enumerate(ws)}


@torch.no_grad()
def field_grid(conditional_eps, schedule: NoiseSchedule, y: int, k: int, lim: float = 3.0, grid_n: int = 15,
               negative=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid points (G², 2), ε(x_t, k, y⁻) and ε(x_t, k, y) on them (G², 2) at code index k (y⁻ = ∅ by default)."""
    ticks = torch.linspace(-lim, lim, grid_n, dtype=torch.float64)
    gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    t = torch.full((pts.shape[0],), int(k), dtype=torch.long)
    return (pts.numpy(), to_numpy(conditional_eps(pts, t, negative)), to_numpy(conditional_eps(pts, t, y)))


def mosaic(images, pad: float = 1.0) -> np.ndarray:
    """Images (rows, cols, 1, H, W) in [−1, 1] → one (rows·(H+1)−1, cols·(W+1)−1) picture, ``pad`` between."""
    arr = to_numpy(images)
    R, C, _, H, W = arr.shape
    out = np.full((R * (H + 1) - 1, C * (W + 1) - 1), pad, dtype=np.float32)
    for r in range(R):
        for c in range(C):
            out[r * (H + 1):r * (H + 1) + H, c * (W + 1):c * (W + 1) + W] = arr[r, c, 0]
    return out


# ---------------------------------------------------------------------------------------------
# The live views
# ---------------------------------------------------------------------------------------------
class GuidedField2DView(View):
    """Exact classifier-free guidance on a labelled 2D mixture: samples and guided field against w.

    Left: guided DDIM samples aimed at class ``y`` (coloured by the exact Bayes class of each sample),
    over the data coloured by class. Right: the guided field at noise level t, arrows of −ε̃ (the
    direction the guided score pushes x_t; lengths ∝ √|ε̃|, at most one grid cell, so the weak field
    near the data stays visible), with the density level lines of p_t(x_t | y).

    Parameters of ``update``: ``w`` (one of :data:`W_CHOICES`), ``t`` (maths t, one of
    :data:`FIELD_T_CHOICES`). Moving w only moves the samples, the arrows and the titles (blitted).
    """

    DYNAMIC_PARAMS = ("w",)

    def __init__(self, mixture: LabelledMixture, schedule: NoiseSchedule, y: int = 0, n: int = 400,
                 negative=None, ws=W_CHOICES, t_choices=FIELD_T_CHOICES, lim: float = 3.5, grid_n: int = 15,
                 num_steps: int = 25, seed: int = 1, w: float = 1.0, t: int | None = None):
        self.mixture, self.schedule, self.y, self.negative = mixture, schedule, int(y), negative
        self.ws, self.t_choices, self.lim, self.grid_n = tuple(float(v) for v in ws), tuple(t_choices), lim, grid_n
        self.field = mixture.conditional_eps_model(schedule)
        x_T = torch.randn((n, mixture.dim), generator=make_generator(seed), dtype=torch.float64)
        self.samples = guided_samples_by_w(self.field, schedule, self.y, self.ws, x_T, negative, num_steps)
        self.numbers = {w: class_precision_spread(x, mixture, self.y) for w, x in self.samples.items()}
        self.classes = {w: to_numpy(mixture.log_prob_y_given_x_t(None, x.double(), None).argmax(1))
                        for w, x in self.samples.items()}
        self._fields: dict[int, tuple] = {}
        data, labels = mixture.sample_labelled(600, generator=make_generator(seed + 1))

        self.fig, (self.ax_s, self.ax_f) = new_figure(1, 2, figsize=(8.4, 4.0))
        for ax in (self.ax_s, self.ax_f):
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
        colours = np.array(CLASS_COLOURS)[to_numpy(labels).astype(int) % len(CLASS_COLOURS)]
        self.ax_s.scatter(*to_numpy(data).T, s=6, c=colours, alpha=0.15, linewidths=0)
        self.scatter = self.ax_s.scatter(np.zeros(n), np.zeros(n), s=9, c="k", linewidths=0)
        self.title_s = self.ax_s.text(0.5, 1.02, "", transform=self.ax_s.transAxes, ha="center", va="bottom",
                                      fontsize=10)
        ticks = np.linspace(-lim, lim, grid_n)
        gx, gy = np.meshgrid(ticks, ticks, indexing="xy")              # the same order as field_grid's points
        pts = np.stack([gx.ravel(), gy.ravel()], 1)
        self.level_line, = self.ax_f.plot([], [], color=CLASS_COLOURS[self.y], lw=1.2)
        self.quiver = self.ax_f.quiver(pts[:, 0], pts[:, 1], np.zeros(len(pts)), np.zeros(len(pts)),
                                       angles="xy", scale_units="xy", scale=1.0, width=0.004, color="k")
        self.title_f = self.ax_f.text(0.5, 1.02, "", transform=self.ax_f.transAxes, ha="center", va="bottom",
                                      fontsize=10)
        self.update(w=w, t=t if t is not None else self.t_choices[1])

    def update(self, w=None, t=None):
        """Show the samples for guidance scale ``w`` and the guided field at maths step ``t``."""
        return View.update(self, w=w, t=t)

    def allowed(self, name, state):
        return {"w": self.ws, "t": self.t_choices}.get(name)

    def _field(self, t: int):
        if t not in self._fields:
            k = t - 1
            pts, eps_neg, eps_pos = field_grid(self.field, self.schedule, self.y, k, self.lim, self.grid_n,
                                               self.negative)
            from .scatter_2d import density_grid, level_lines
            dens = density_grid(self.mixture.conditional(self.y), self.schedule, k, lim=self.lim, size=81)
            self._fields[t] = (pts, eps_neg, eps_pos, level_lines(dens, lim=self.lim))
        return self._fields[t]

    def show(self, changed):
        w, t = self.state["w"], self.state["t"]
        x = to_numpy(self.samples[w])
        self.scatter.set_offsets(x)
        self.scatter.set_color(np.array(CLASS_COLOURS)[self.classes[w] % len(CLASS_COLOURS)])
        r = self.numbers[w]
        self.title_s.set_text(tr_fig("w = {w:g}: {precision:.0f} % in class {y}, spread {spread:.2f} of the data's",
                                     w=w, precision=100 * r["precision"], y=self.y, spread=r["spread"]))
        pts, eps_neg, eps_pos, lines = self._field(t)
        arrows = -(eps_neg + w * (eps_pos - eps_neg))
        # lengths compressed (square root of |−ε̃| over its 90th percentile, at most one grid cell), so the weak
        # field near the data stays visible next to the strong one far away; directions are exact
        norms = np.hypot(*arrows.T)
        cell = 2 * self.lim / (self.grid_n - 1)
        length = 0.9 * cell * np.minimum(1.0, np.sqrt(norms / max(1e-12, float(np.percentile(norms, 90)))))
        unit = arrows / np.maximum(norms, 1e-12)[:, None]
        self.quiver.set_UVC(unit[:, 0] * length, unit[:, 1] * length)
        if "t" in changed:
            self.level_line.set_data(lines[:, 0], lines[:, 1])
            self.title_f.set_text(tr_fig("guided field at t = {t}", t=t))
        return r

    def dynamic_artists(self):
        return [self.scatter, self.quiver, self.title_s]


class GuidanceGridView(View):
    """A grid of generated digits for a chosen guidance scale: rows = classes, columns = seeds.

    ``grids`` maps each w to images (classes, seeds, 1, H, W) (from :func:`diffusion_lab.guidance.guidance_grid`);
    ``update(w=...)`` swaps the picture (``set_data``)."""

    DYNAMIC_PARAMS = ("w",)

    def __init__(self, grids: dict, classes=tuple(range(10)), title: str = "", w: float | None = None):
        if not grids:
            raise ValueError("grids is empty: give {w: images (classes, seeds, 1, H, W)}")
        self.grids = {float(k): mosaic(v) for k, v in grids.items()}
        self.ws = tuple(sorted(self.grids))
        first = next(iter(grids.values()))
        R, C, _, H, W = first.shape
        self.fig, ax = new_figure(1, 1, figsize=(max(3.6, 0.32 * C * (W + 1) / 8 + 1.6), 0.32 * R * (H + 1) / 8 + 0.8))
        self.image = ax.imshow(self.grids[self.ws[0]], cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_yticks([r * (H + 1) + H / 2 for r in range(R)], [str(c) for c in classes])
        ax.set_xticks([c * (W + 1) + W / 2 for c in range(C)], [str(c + 1) for c in range(C)])
        ax.set_ylabel(tr_fig("intended class y"))
        ax.set_xlabel(tr_fig("seed (same noise for every w)"))
        ax.tick_params(length=0)
        self.prefix = tr_fig(title) if title else ""
        self.title = ax.set_title("", y=1.0)
        self.update(w=w if w is not None else self.ws[0])

    def update(self, w=None):
        """Show the grid sampled at guidance scale ``w``."""
        return View.update(self, w=w)

    def allowed(self, name, state):
        return self.ws if name == "w" else None

    def show(self, changed):
        self.image.set_data(self.grids[self.state["w"]])
        self.title.set_text(f"{self.prefix}w = {self.state['w']:g}")

    def dynamic_artists(self):
        return [self.image, self.title]


# ---------------------------------------------------------------------------------------------
# Static figures
# ---------------------------------------------------------------------------------------------
def plot_tilted_1d(levels: dict, samples, w: float):
    """One panel per noise level, from ``levels`` = {maths t: :func:`diffusion_lab.guidance.tilted_densities_1d`
    output} (t = 0 for the data, computed with ``t=None``): the density the guided field is the score of at t,
    the sharpened data density noised to t, and p_t(x | y); the t = 0 panel adds a histogram of the guided
    ``samples`` (n, 1). Returns the figure."""
    ts = sorted(levels, reverse=True)
    fig, axes = plt.subplots(1, len(ts), figsize=(3.6 * len(ts), 3.3), sharey=True)
    axes = np.atleast_1d(axes)
    for ax, t in zip(axes, ts):
        d = levels[t]
        xs = to_numpy(d["xs"])
        if t == 0:
            ax.hist(to_numpy(samples).ravel(), bins=np.linspace(xs[0], xs[-1], 97), density=True, color="0.8",
                    label=tr_fig("guided samples (DDIM), w = {w:g}", w=w))
            ax.set_title(tr_fig("t = 0: where the samples end"), fontsize=10)
        else:
            ax.plot(xs, to_numpy(d["guided_at_t"]), color=PALETTE[3], lw=2,
                    label=tr_fig("p_t(x)·p_t(y|x)^w: what the guided field follows"))
            ax.set_title(tr_fig("t = {t}: TV distance {tv:.2f}", t=t, tv=d["tv"]), fontsize=10)
        ax.plot(xs, to_numpy(d["noised_tilted"]), color=PALETTE[0], ls="--", lw=1.5,
                label=tr_fig("p(x0)·p(y|x0)^w, noised to t") if t else tr_fig("p(x0)·p(y|x0)^w: the sharpened data"))
        ax.plot(xs, to_numpy(d["conditional_at_t"]), color="0.35", ls=":", lw=1.5,
                label=tr_fig("p_t(x | y)") if t else tr_fig("p(x0 | y)"))
        ax.set_xlabel(tr_fig("x_t") if t else tr_fig("x0"))
        ax.set_xlim(-4, 4)
    axes[0].set_ylabel(tr_fig("density"))
    for ax in axes:
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_precision_spread(numbers: dict, title: str = "exact guidance on the labelled ring"):
    """Precision (fraction in the intended class) and spread (× the class's data) against w, from
    {w: class_precision_spread(...)}; returns the figure."""
    ws = sorted(numbers)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(ws, [numbers[w]["precision"] for w in ws], "o-", color=PALETTE[0],
            label=tr_fig("precision: fraction in class y"))
    ax.plot(ws, [numbers[w]["spread"] for w in ws], "s-", color=PALETTE[1],
            label=tr_fig("spread around the class's modes (× data's)"))
    ax.axhline(1.0, color="0.6", lw=0.8, ls=":")
    ax.axvline(1.0, color="0.6", lw=0.8, ls="--", label=tr_fig("w = 1: the conditional model"))
    ax.set_xlabel(tr_fig("guidance scale w"))
    ax.set_ylabel(tr_fig("value"))
    ax.set_title(tr_fig(title))
    ax.legend(fontsize=8)
    return fig


def plot_guidance_curves(curves: dict, title: str = ""):
    """The measured curves of a digit model against w (a dict with lists ``w``, ``accuracy``,
    ``confidence``, ``diversity``, ``fid``, as written by benchmarks/guidance_curves.py; optional ``fid_sd`` and
    ``fid_real_sd``, the standard deviations over draws, drawn as error bars and a band). The digit Fréchet
    distance gets a second panel only where the curve records the evaluation protocol it was measured by
    (``protocol``: held-out references, n, draws); a curve without one gets the first panel alone."""
    w = np.asarray(curves["w"], dtype=float)
    with_fid = bool(curves.get("protocol"))
    if with_fid:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10.5, 3.6))
    else:
        fig, a1 = plt.subplots(figsize=(5.6, 3.6))
    a1.plot(w, curves["accuracy"], "o-", color=PALETTE[0], label=tr_fig("accuracy on the intended class"))
    a1.plot(w, curves["confidence"], "s-", color=PALETTE[2], label=tr_fig("classifier confidence p(y | x)"))
    a1.plot(w, curves["diversity"], "^-", color=PALETTE[1], label=tr_fig("within-class diversity (× real)"))
    a1.set_xlabel(tr_fig("guidance scale w"))
    a1.set_ylabel(tr_fig("fraction / ratio"))
    a1.set_ylim(0, max(1.1, 1.05 * max(max(curves["diversity"]), 1.0)))
    a1.legend(fontsize=8)
    if with_fid:
        if "fid_sd" in curves:                # measured over several draws: mean ± one standard deviation
            a2.errorbar(w, curves["fid"], yerr=curves["fid_sd"], fmt="o-", capsize=3, color=PALETTE[3],
                        label=tr_fig("digit Fréchet distance to real digits (± sd over draws)"))
        else:
            a2.plot(w, curves["fid"], "o-", color=PALETTE[3], label=tr_fig("digit Fréchet distance to real digits"))
        if "fid_real" in curves:
            a2.axhline(curves["fid_real"], color="0.5", ls=":", label=tr_fig("real vs other real digits"))
            if "fid_real_sd" in curves:
                a2.axhspan(curves["fid_real"] - curves["fid_real_sd"], curves["fid_real"] + curves["fid_real_sd"],
                           color="0.5", alpha=0.15, lw=0)
        a2.set_xlabel(tr_fig("guidance scale w"))
        a2.set_ylabel(tr_fig("digit Fréchet distance d² (± sd over draws)"))
        a2.legend(fontsize=8)
    if title:
        fig.suptitle(tr_fig(title))
    return fig


def plot_attention_maps(images, maps: dict, token: int = -1, labels=None, t: int | None = None):
    """Each image (B, 1, H, W) and, per cross-attention block, its weight on ``token`` (default the
    label's, the last) at each position, upsampled to the image; ``maps`` from
    ``TinyUNet.cross_attention_maps``. Returns the figure."""
    imgs = to_numpy(images)
    B, _, H, W = imgs.shape
    names = list(maps)
    fig, axes = plt.subplots(B, len(names) + 1, figsize=(1.7 * (len(names) + 1) + 1.0, 1.7 * B + 0.6), squeeze=False)
    for b in range(B):
        axes[b, 0].imshow(imgs[b, 0], cmap="gray", vmin=-1, vmax=1)
        axes[b, 0].set_ylabel(f"y = {labels[b]}" if labels is not None else tr_fig("image {b}", b=b))
        for j, name in enumerate(names):
            a = to_numpy(maps[name][b].mean(0)[..., token])               # heads averaged, (h, w)
            a_img = np.kron(a, np.ones((int(np.ceil(H / a.shape[0])), int(np.ceil(W / a.shape[1])))))[:H, :W]
            ax = axes[b, j + 1]
            ax.imshow(imgs[b, 0], cmap="gray", vmin=-1, vmax=1)
            im = ax.imshow(a_img, cmap="magma", alpha=0.6, vmin=0, vmax=1)
            if b == 0:
                ax.set_title(f"{name} ({a.shape[0]}×{a.shape[1]})", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_title(tr_fig("sample (maps at t = {t})", t=t) if t is not None else tr_fig("sample"), fontsize=9)
    fig.colorbar(im, ax=axes[:, 1:].ravel().tolist(), shrink=0.8, label=tr_fig("attention weight on the label token"))
    return fig


# ---------------------------------------------------------------------------------------------
# for the benchmark, the blitting test and the animations
# ---------------------------------------------------------------------------------------------
def demo_view() -> GuidedField2DView:
    """The chapter's 2D view: the labelled ring (4 classes), the exact fields, samples aimed at class 0."""
    return GuidedField2DView(labelled_ring(), make_schedule("linear", 1000), y=0)


DEMO_SWEEP: list[dict] = [{"w": w} for w in W_CHOICES] + [{"t": t} for t in FIELD_T_CHOICES]
