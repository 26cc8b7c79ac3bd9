"""Live views: each builds its figure once and changes artists in place on ``update(**params)``.

A view is a plain object (no ipywidgets): tests and ``benchmarks/bench_views.py`` call ``update``
directly; ``diffusion_lab.widgets.explorer`` binds it to sliders. Each module here pairs a pure
function that computes what to draw with a ``View`` subclass that draws it, and exposes
``demo_view()`` plus ``DEMO_SWEEP`` (a list of parameter dicts) for the benchmark.
"""
from __future__ import annotations


class View:
    """Base class: ``fig`` is built in ``__init__``; ``update(**params)`` redraws in place.

    A view may name the artists its slider moves in ``dynamic_artists()`` and everything else that
    can change in ``static_key()``. ``render_png`` then draws the rest of the figure once, keeps
    that picture, and on each later call only pastes it back and draws the dynamic artists over it
    (blitting): the axes, ticks, labels and static curves are not drawn again until ``static_key()``
    changes. Dynamic artists are drawn last, so a view lists only artists that sit on top anyway,
    and a title among them needs a fixed position (``set_title(..., y=1.0)``): matplotlib places an
    auto-positioned title only during a full draw. tests/test_views_blit.py checks, for every view
    that blits, that the result matches a full draw over its whole DEMO_SWEEP.
    """

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

    # ---- blitting (plain Agg canvas only) ------------------------------------------------------

    def dynamic_artists(self) -> list:
        """Artists ``update`` changes on a slider move (drawn over the kept background); [] = none."""
        return []

    def static_key(self):
        """Anything else ``update`` can change; the background is redrawn whenever this changes.

        The default covers every axes' limits and the figure's size in pixels."""
        limits = tuple((tuple(ax.get_xlim()), tuple(ax.get_ylim())) for ax in self.fig.axes)
        return limits, self.fig.canvas.get_width_height(physical=True)

    def render_png(self) -> bytes:
        """The figure as it is now, as PNG bytes: blitted when the view names dynamic artists."""
        from ..plotting import canvas_png, figure_png

        dynamic = self.dynamic_artists()
        if not dynamic:
            return figure_png(self.fig)
        canvas, key = self.fig.canvas, self.static_key()
        if getattr(self, "_background_key", None) != key:
            shown = [artist.get_visible() for artist in dynamic]
            for artist in dynamic:
                artist.set_visible(False)
            try:
                canvas.draw()
                self._background = canvas.copy_from_bbox(self.fig.bbox)
            finally:
                for artist, visible in zip(dynamic, shown):
                    artist.set_visible(visible)
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        for artist in sorted(dynamic, key=lambda a: a.get_zorder()):     # stable: list order breaks ties
            if artist.get_visible():
                self.fig.draw_artist(artist)
        return canvas_png(canvas)
