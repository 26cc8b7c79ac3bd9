"""Thin ipywidgets bindings: sliders and dropdowns that drive a View's ``update``.

``explorer(view, t=IntSlider(...), schedule=Dropdown(...))`` returns a widget box. Each control's
name is the keyword passed to ``view.update``. Under ipympl the figure's canvas sits in the box and
updates in place; otherwise the figure is re-shown in an ``Output`` widget with
``clear_output(wait=True)`` (no flicker). All the computing lives in the view, which tests call
without a browser.
"""
from __future__ import annotations

import time

import ipywidgets as W
from IPython.display import clear_output, display

from .plotting import live_backend


class Explorer(W.VBox):
    """A box of controls over a view. ``explorer.update()`` re-renders with the current values."""

    def __init__(self, view, controls: dict, title: str | None = None):
        self.view, self.controls = view, dict(controls)
        self.live = live_backend()
        self.output = W.Output()
        self.last_update_ms = float("nan")
        figure_area = view.fig.canvas if self.live else self.output
        header = [W.HTML(f"<b>{title}</b>")] if title else []
        super().__init__(header + [W.HBox(list(self.controls.values()), layout=W.Layout(flex_flow="row wrap")), figure_area])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, _change=None) -> None:
        self.update()

    def update(self) -> None:
        start = time.perf_counter()
        self.view.update(**self.values())
        if self.live:
            self.view.fig.canvas.draw_idle()
        else:
            with self.output:
                clear_output(wait=True)
                display(self.view.fig)
        self.last_update_ms = (time.perf_counter() - start) * 1e3


def explorer(view, title: str | None = None, **controls) -> Explorer:
    """Bind ipywidgets ``controls`` (keyword = ``view.update`` argument) to ``view``."""
    if not controls:
        raise ValueError("explorer needs at least one control, e.g. t=ipywidgets.IntSlider(0, 0, 99).")
    return Explorer(view, controls, title=title)


def time_slider(T: int, value: int = 0, description: str = "t", step: int = 1, continuous: bool = True) -> W.IntSlider:
    """An IntSlider over code time steps 0..T−1 (arrow keys move it one step)."""
    return W.IntSlider(value=value, min=0, max=T - 1, step=step, description=description,
                       continuous_update=continuous, layout=W.Layout(width="420px"))
