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
        """Ask a live (ipympl) canvas to redraw; coalesced by the backend.

        On a plain Agg canvas ``draw_idle`` renders at once, and the explorer renders the figure
        itself when it encodes the PNG it shows, so nothing is done here: that is the one render.
        """
        from ..plotting import live_backend
        if live_backend():
            self.fig.canvas.draw_idle()
