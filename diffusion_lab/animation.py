"""Animate any live view over a parameter sweep: a GIF for slides, an HTML player for the web.

A view (``diffusion_lab.views``) builds its figure once and ``update(**params)`` changes artists
in place, so an animation is just the sweep replayed frame by frame::

    from diffusion_lab.animation import animate, save_gif, save_html
    from diffusion_lab.views import schedule_comparison as schedule_view
    view = schedule_view.demo_view()
    save_gif(view, schedule_view.DEMO_SWEEP, "build/animations/schedule_comparison.gif", fps=4)
    save_html(view, schedule_view.DEMO_SWEEP, "build/animations/schedule_comparison.html")

``save_gif`` uses matplotlib's ``PillowWriter`` (no ffmpeg needed); ``save_html`` writes a
self-contained page from ``Animation.to_jshtml`` (frames embedded as PNG, nothing fetched).
``scripts/make_animations.py`` writes one of each per view module into ``build/animations/``.
"""
from __future__ import annotations

import html
import importlib
import pkgutil
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
from matplotlib.animation import FuncAnimation, PillowWriter

__all__ = ["check_sweep", "animate", "save_gif", "save_html", "save_animation", "find_view_modules",
           "module_sweep", "offline_player"]


def check_sweep(sweep) -> list[dict]:
    """The sweep as a list of parameter dicts; a clear error for anything else."""
    if isinstance(sweep, (str, bytes)) or not isinstance(sweep, Sequence):
        raise TypeError(f"sweep must be a list of parameter dicts like [{{'t': 0}}, {{'t': 10}}], "
                        f"got {type(sweep).__name__}.")
    if len(sweep) == 0:
        raise ValueError("sweep is empty: give at least one parameter dict, e.g. [{'t': 0}, {'t': 10}].")
    frames = []
    for i, params in enumerate(sweep):
        if not isinstance(params, Mapping):
            raise TypeError(f"sweep[{i}] is {type(params).__name__} {params!r}; each frame must be a dict of "
                            "view.update keyword arguments, e.g. {'t': 10}.")
        frames.append(dict(params))
    return frames


# to_jshtml links Font Awesome from a CDN for its button icons; offline that draws empty buttons.
# The page gets plain Unicode glyphs instead, so it needs nothing from the network.
_REMOTE_CSS = re.compile(r"""<link[^>]+href=["']https?://[^"']*font-awesome[^"']*["'][^>]*>""", re.IGNORECASE)
_ICON_CSS = "<style>\n.anim-buttons .fa { font-style: normal; }\n" + "\n".join(
    f'.fa-{name}:before {{ content: "{glyph}"; }}' for name, glyph in {
        "fast-backward": "\u23ee", "step-backward": "\u23f4\ufe0e|", "play": "\u25b6\ufe0e",
        "pause": "\u23f8\ufe0e", "step-forward": "|\u23f5\ufe0e", "fast-forward": "\u23ed",
        "minus": "\u2212", "plus": "+"}.items()) + "\n</style>"


def offline_player(player_html: str) -> str:
    """``to_jshtml`` output with the remote icon stylesheet replaced by inline glyphs."""
    return _REMOTE_CSS.sub(_ICON_CSS, player_html)


def _label(params: dict) -> str:
    return ", ".join(f"{k} = {v}" for k, v in params.items())


def animate(view, sweep, fps: float = 4, label: bool = True) -> FuncAnimation:
    """A ``FuncAnimation`` that calls ``view.update(**params)`` for each dict of ``sweep`` in turn.

    ``label=True`` writes the frame's parameters ("t = 100") in the figure's lower-left corner (a
    text artist added to the view's figure; it stays there, so use a fresh view for live use).
    """
    frames = check_sweep(sweep)
    fig = getattr(view, "fig", None)
    if fig is None or not hasattr(view, "update"):
        raise TypeError(f"animate needs a view with a .fig and .update(**params) (a diffusion_lab.views View), "
                        f"got {type(view).__name__}.")
    if fig.canvas is None or not hasattr(fig.canvas, "draw"):  # pragma: no cover - defensive
        raise TypeError("the view's figure has no canvas to draw on.")
    text = fig.text(0.005, 0.005, "", fontsize="small", color="0.35", ha="left", va="bottom") if label else None

    def draw_frame(i):
        params = frames[i]
        view.update(**params)
        if text is not None:
            text.set_text(_label(params))
        return []

    return FuncAnimation(fig, draw_frame, frames=len(frames), init_func=lambda: draw_frame(0),
                         interval=1000.0 / fps, blit=False, repeat=True, cache_frame_data=False)


def save_gif(view, sweep, path, fps: float = 4, dpi: float | None = 80, label: bool = True) -> Path:
    """Write the sweep as an animated GIF (PillowWriter) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim = animate(view, sweep, fps=fps, label=label)
    anim.save(str(path), writer=PillowWriter(fps=fps), dpi=dpi)
    return path


def save_html(view, sweep, path, fps: float = 4, dpi: float | None = 80, label: bool = True,
              title: str | None = None, embed_limit_mb: float = 100) -> Path:
    """Write the sweep as a self-contained HTML page (``to_jshtml`` player) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim = animate(view, sweep, fps=fps, label=label)
    with matplotlib.rc_context({"animation.embed_limit": embed_limit_mb, "savefig.dpi": dpi or "figure"}):
        player = offline_player(anim.to_jshtml(fps=fps, default_mode="loop"))
    title = title or path.stem
    path.write_text(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
                    f'</title></head>\n<body style="font-family: system-ui, sans-serif">\n'
                    f"<h1 style=\"font-size: 1.3em\">{html.escape(title)}</h1>\n{player}\n</body></html>\n",
                    encoding="utf-8")
    return path


def save_animation(view_factory, sweep, out_dir, name: str, fps: float = 4, dpi: float | None = 80,
                   formats: Sequence[str] = ("gif", "html")) -> dict[str, Path]:
    """Both files for one view: ``{out_dir}/{name}.gif`` and ``.html``. Each gets a fresh view."""
    unknown = set(formats) - {"gif", "html"}
    if unknown:
        raise ValueError(f"unknown animation format(s) {sorted(unknown)}; choose from 'gif', 'html'.")
    out_dir = Path(out_dir)
    written = {}
    if "gif" in formats:
        written["gif"] = save_gif(view_factory(), sweep, out_dir / f"{name}.gif", fps=fps, dpi=dpi)
    if "html" in formats:
        written["html"] = save_html(view_factory(), sweep, out_dir / f"{name}.html", fps=fps, dpi=dpi, title=name)
    return written


def module_sweep(module) -> list[dict]:
    """The sweep to animate for a views module: ``ANIMATION_SWEEP`` if it has one, else ``DEMO_SWEEP``."""
    return check_sweep(getattr(module, "ANIMATION_SWEEP", None) or module.DEMO_SWEEP)


def find_view_modules(package: str = "diffusion_lab.views") -> list:
    """Every module of ``package`` that exposes ``demo_view()`` and ``DEMO_SWEEP``, by name."""
    pkg = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        if callable(getattr(module, "demo_view", None)) and hasattr(module, "DEMO_SWEEP"):
            found.append(module)
    return found
