"""Thin ipywidgets bindings: sliders and dropdowns that drive a View's ``update``.

``explorer(view, t=IntSlider(...), schedule=Dropdown(...))`` returns a widget box. Each control's
name is the keyword passed to ``view.update``. Under ipympl the figure's canvas sits in the box and
updates in place; otherwise the figure is an ``ipywidgets.Image`` whose PNG bytes are replaced on
every change (one Agg draw and a fast PNG encode, sent as a binary buffer: the browser swaps the
picture without rebuilding any output area). All the computing lives in the view, which tests
call without a browser.

Shown by a front end without widgets (nbconvert, a notebook viewer), an explorer falls back to a
static PNG of its figure, so an executed chapter still shows every figure.

The picture is shown at its natural size: the Image's CSS width is the PNG's width in pixels (never
stretched to the output area's width, which blurs it), and ``max_width: 100%`` lets a narrow window
shrink it.
"""
from __future__ import annotations

import base64
import struct
import time

import ipywidgets as W

from .i18n import localized
from .plotting import figure_png, live_backend


class Explorer(W.VBox):
    """A box of controls over a view. ``explorer.update()`` re-renders with the current values.

    ``title`` (a view's HTML key) is shown in the language chosen with ``dl.set_language``; the
    controls' descriptions are translated too (their English text looked up in the catalog).

    ``figure_area`` is the widget that shows the figure: the ipympl canvas under
    ``%matplotlib widget``, else an ``ipywidgets.Image`` holding the figure as PNG.
    ``last_update_ms`` is the time the last update took in the kernel (compute, draw, encode).
    """

    def __init__(self, view, controls: dict, title: str | None = None):
        self.view, self.controls = view, dict(controls)
        self.live = live_backend()
        self.last_update_ms = float("nan")
        if self.live:
            self.figure_area = view.fig.canvas
        else:
            self.figure_area = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))
            self.figure_area.add_class("dl-explorer-figure")
        header = [W.HTML(f"<b>{localized(title)}</b>")] if title else []    # a view's key, in the chosen language
        for control in self.controls.values():
            if getattr(control, "description", ""):
                control.description = localized(control.description)
        controls_row = W.HBox(list(self.controls.values()), layout=W.Layout(flex_flow="row wrap"))
        super().__init__(header + [controls_row, self.figure_area])
        self.add_class("dl-explorer")
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.update()

    def update(self) -> None:
        """Pass every control's value to ``view.update``. Under ipympl the view asks its canvas to redraw
        (``View.redraw``, once per update); otherwise the explorer renders the PNG it shows."""
        start = time.perf_counter()
        self.view.update(**self.values())
        if not self.live:
            png = self._render()
            self.figure_area.value = png
            # natural size: one CSS pixel per PNG pixel, or per ratio² pixels for a high-DPI picture
            ratio = getattr(self.view.fig, "dl_pixel_ratio", 1.0)
            width = f"{round(png_size(png)[0] / ratio)}px"
            if self.figure_area.layout.width != width:
                self.figure_area.layout.width = width
        self.last_update_ms = (time.perf_counter() - start) * 1e3

    def _render(self) -> bytes:
        render = getattr(self.view, "render_png", None)     # a View blits when it can
        return render() if render is not None else figure_png(self.view.fig)

    def _repr_mimebundle_(self, **kwargs):
        """The widget view, plus the current figure as ``image/png`` for front ends without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None and not self.live:
            bundle["image/png"] = base64.b64encode(self.figure_area.value).decode("ascii")
        return bundle


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of PNG bytes, read from the IHDR header (no decoding)."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not PNG bytes: expected the PNG signature followed by an IHDR chunk.")
    return struct.unpack(">II", png[16:24])


def explorer(view, title: str | None = None, **controls) -> Explorer:
    """Bind ipywidgets ``controls`` (keyword = ``view.update`` argument) to ``view``."""
    if not controls:
        raise ValueError("explorer needs at least one control, e.g. t=ipywidgets.IntSlider(0, 0, 99).")
    return Explorer(view, controls, title=title)


def time_slider(T: int, value: int = 1, description: str = "t", step: int = 1, continuous: bool = True) -> W.IntSlider:
    """An IntSlider over the noising steps t = 1 … T, the maths' t (arrow keys move it one step)."""
    if not 1 <= value <= T:
        raise ValueError(f"time_slider: value is a step t in 1..{T}, got {value}")
    return W.IntSlider(value=value, min=1, max=T, step=step, description=description,
                       continuous_update=continuous, layout=W.Layout(width="420px"))
