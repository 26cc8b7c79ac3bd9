"""Live views: each builds its figure once and changes artists in place on ``update(**params)``.

A view is a plain object (no ipywidgets): tests and ``benchmarks/bench_views.py`` call ``update``
directly; ``diffusion_lab.widgets.explorer`` binds it to sliders. Each module here pairs a pure
function that computes what to draw with a ``View`` subclass that draws it, and exposes
``demo_view()`` plus ``DEMO_SWEEP`` (a list of parameter dicts) for the benchmark.
"""
from __future__ import annotations


class View:
    """Base class: ``fig`` is built in ``__init__``; ``update(**params)`` redraws in place."""

    fig = None

    def update(self, **params) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def redraw(self) -> None:
        """Ask the canvas to redraw (cheap: coalesced by the backend)."""
        self.fig.canvas.draw_idle()
