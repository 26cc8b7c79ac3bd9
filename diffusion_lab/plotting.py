"""Course figure style and small shared plotting helpers.

``use_course_style()`` is called by every chapter; ``presenting()`` switches to projector-sized
fonts and lines with one call. ``new_figure`` makes figures for live views: under ipympl
(``%matplotlib widget``) a pyplot figure whose canvas is a widget, otherwise a plain Agg figure
that is not auto-shown at the end of a cell (the explorer displays it itself).
"""
from __future__ import annotations

import io
import os

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .schedules import RECIPE_NAMES

#: Colour-blind-safe palette (Okabe & Ito), used for every line and scatter in the course.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

_BASE = {
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
    "figure.dpi": 90, "savefig.dpi": 110, "figure.autolayout": False, "image.cmap": "gray",
    "legend.frameon": False,
}
_NORMAL = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "lines.linewidth": 1.6,
           "lines.markersize": 5, "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10}
_PRESENTING = {"font.size": 17, "axes.titlesize": 19, "axes.labelsize": 17, "lines.linewidth": 3.0,
               "lines.markersize": 8, "xtick.labelsize": 15, "ytick.labelsize": 15, "legend.fontsize": 15,
               "axes.linewidth": 1.5, "figure.dpi": 100}

_state = {"presenting": False}


#: Environment variable that turns the presenting style on for every chapter (``make present`` and
#: ``make dashboard`` set it for the kernels they start): "1", "true", "yes" or "on".
PRESENTING_ENV = "DIFFUSION_LAB_PRESENTING"


def presenting_requested() -> bool:
    """True when ``$DIFFUSION_LAB_PRESENTING`` asks for projector-sized figures."""
    return os.environ.get(PRESENTING_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def use_course_style(presenting: bool | None = None) -> None:
    """Apply the course style to matplotlib (colour-blind-safe colours, light grid).

    ``presenting=True`` enlarges fonts (17 pt) and lines (3 px) so figures read on a projector.
    Left as ``None`` (what every chapter's first cell does), it follows ``$DIFFUSION_LAB_PRESENTING``,
    so ``make present`` gives big figures without editing a chapter.
    """
    if presenting is None:
        presenting = presenting_requested()
    matplotlib.rcParams.update(_BASE)
    matplotlib.rcParams.update(_PRESENTING if presenting else _NORMAL)
    _state["presenting"] = bool(presenting)


def use_font(family: str | None) -> None:
    """Draw figure text in ``family`` first (a font with Chinese characters, chosen by
    ``i18n.set_language``) and DejaVu Sans for glyphs it lacks (Greek, maths); ``None`` restores
    matplotlib's default sans-serif."""
    matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"] if family else ["sans-serif"]


def presenting(on: bool = True) -> None:
    """Switch the presenting style on (or off) with one call; figures made afterwards use it."""
    use_course_style(presenting=on)


def is_presenting() -> bool:
    return _state["presenting"]


def live_backend() -> bool:
    """True under ipympl (``%matplotlib widget``), where a figure's canvas is itself a widget."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


#: Environment variable with the explorers' pixel ratio (2 for sharp pictures on a high-DPI screen).
PIXEL_RATIO_ENV = "DIFFUSION_LAB_PIXEL_RATIO"
_state["pixel_ratio"] = None


def set_pixel_ratio(ratio: float) -> None:
    """Draw the explorers' pictures with ``ratio`` image pixels per screen (CSS) pixel: 2 makes them sharp
    on a high-DPI ("Retina", 4K) screen at the same size, for 4× the pixels to draw on every slider move;
    1 (the default) is fastest. Views built afterwards use it; ``$DIFFUSION_LAB_PIXEL_RATIO`` sets it for
    every chapter."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 1 <= ratio <= 3:
        raise ValueError(f"the pixel ratio is a number from 1 to 3 (2 for a high-DPI screen), got {ratio!r}")
    _state["pixel_ratio"] = float(ratio)


def pixel_ratio() -> float:
    """Image pixels per screen pixel of the explorers' pictures (``set_pixel_ratio``, else the environment
    variable, else 1)."""
    if _state["pixel_ratio"] is None:
        raw = os.environ.get(PIXEL_RATIO_ENV, "").strip()
        try:
            set_pixel_ratio(float(raw) if raw else 1.0)
        except ValueError as err:
            raise ValueError(f"${PIXEL_RATIO_ENV}={raw!r}: {err}") from None
    return _state["pixel_ratio"]


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(8, 4), **subplot_kw):
    """(fig, axes) for a live view; see the module docstring for how it is shown.

    An Agg figure is drawn at ``pixel_ratio()`` times the course's dpi; ``fig.dl_pixel_ratio`` records it
    so the explorer shows the picture at its size in screen pixels."""
    if live_backend():
        with plt.ioff():
            fig, axes = plt.subplots(nrows, ncols, figsize=figsize, **subplot_kw)
        fig.canvas.header_visible = False
        return fig, axes
    ratio = pixel_ratio()
    fig = Figure(figsize=figsize, dpi=matplotlib.rcParams["figure.dpi"] * ratio)
    fig.dl_pixel_ratio = ratio
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def new_figure_with_side_panel(side: bool, figsize=None, single=(5.0, 5.0), double=(9.0, 4.3),
                               side_ratio: float = 1.1):
    """(fig, ax, ax_side) for a live view: one main panel and, when ``side`` is true, a second one to its
    right, ``side_ratio`` times as wide (else ax_side is None). ``figsize`` overrides the default size
    (``single`` or ``double``)."""
    if side:
        fig, (ax, ax_side) = new_figure(1, 2, figsize=figsize or double, gridspec_kw={"width_ratios": [1, side_ratio]})
        return fig, ax, ax_side
    fig, ax = new_figure(1, 1, figsize=figsize or single)
    return fig, ax, None


def canvas_png(canvas, compress_level: int = 1) -> bytes:
    """The pixels an Agg canvas holds now (after a draw or a blit), encoded as PNG bytes."""
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    rgba = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = io.BytesIO()
    rgba.convert("RGB").save(out, format="png", compress_level=compress_level)
    return out.getvalue()


def figure_png(fig, compress_level: int = 1) -> bytes:
    """Render ``fig`` (an Agg-backed figure) to PNG bytes at its own dpi, no tight-bbox pass.

    The explorer sends these bytes to an ``ipywidgets.Image`` on every slider move, so this is on
    the latency path: one Agg draw plus a fast PNG encode (zlib level 1, several times faster than
    ``savefig``'s default level, and no second draw for a tight bbox; measured in benchmarks/README.md).
    A view that lists its ``dynamic_artists`` does better still: see ``View.render_png``.
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return canvas_png(canvas, compress_level)


def to_numpy(x) -> np.ndarray:
    """A tensor or array as a float numpy array on the CPU (for plotting)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def tile_images(images, nrow: int | None = None, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile images (N, C, H, W) or (N, H, W) in [−1, 1] into one 2D array for a single ``imshow``.

    One ``imshow`` whose data is replaced with ``set_data`` is far faster to update than N axes.
    Returns an array (rows·(H+pad)−pad, cols·(W+pad)−pad) in [−1, 1] (C must be 1).
    """
    arr = to_numpy(images)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(f"tile_images takes 1-channel images, got {arr.shape[1]} channels.")
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(f"images must be (N, C, H, W) or (N, H, W), got shape {arr.shape}.")
    n, h, w = arr.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol = int(np.ceil(n / nrow))
    out = np.full((ncol * (h + pad) - pad, nrow * (w + pad) - pad), pad_value, dtype=np.float32)
    for k in range(n):
        r, c = divmod(k, nrow)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = arr[k]
    return out


def show_images(ax, images, nrow: int | None = None, title: str | None = None):
    """Draw images (N, 1, H, W) in [−1, 1] as one tiled imshow on ``ax``; returns the AxesImage."""
    im = ax.imshow(tile_images(images, nrow), cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks([]); ax.set_yticks([]); ax.grid(False)
    if title:
        ax.set_title(title)
    return im


def square_axes(ax, lim: float, labels: bool = True) -> None:
    """Square axes over [−lim, lim]² with ticks at −lim, 0, lim; ``labels=False`` keeps the ticks but
    drops their numbers (in a live view, tick labels cost as much to redraw as the rest together)."""
    ax.set_xlim(-lim, lim); ax.set_ylim(-lim, lim); ax.set_aspect("equal")
    ax.set_xticks([-lim, 0, lim]); ax.set_yticks([-lim, 0, lim])
    if not labels:
        ax.set_xticklabels([]); ax.set_yticklabels([])


def schedule_colour(name: str) -> str:
    """The colour a schedule gets in every figure that compares schedules (chapter 3): its place in
    ``schedules.RECIPE_NAMES``; any other name gets the last colour of the palette."""
    return PALETTE[RECIPE_NAMES.index(name) % len(PALETTE)] if name in RECIPE_NAMES else PALETTE[-1]
