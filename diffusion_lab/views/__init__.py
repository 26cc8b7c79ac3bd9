"""Live views: each builds its figure once and changes artists in place on ``update(**params)``.

A view is a plain object (no ipywidgets): tests and ``benchmarks/bench_views.py`` call ``update``
directly; ``diffusion_lab.widgets.explorer`` binds it to sliders. Views draw: the numbers they show
come from the core modules (``forward``, ``metrics``, ``sampling``, ``schedules``), and a view module
keeps only what prepares a picture (polylines, histogram bins, level lines, titles). One module per
chapter, named by what it shows, each exposing ``demo_view()`` and ``DEMO_SWEEP`` (a list of
parameter dicts) for the benchmark, the blitting test and the animations:

    forward_1d           chapter 1: 1D trajectories and the histogram of x_t against q(x_t)
    scatter_2d           chapter 2: a 2D cloud under the forward process, with q(x_t)'s level lines
    schedule_comparison  chapter 3: one digit and one cloud noised under five schedules at the same t
    eps_prediction       chapter 4: ε̂ against the exact ε* (arrows), x̂0 of digits, loss curves
    reverse_process      chapter 5: x_t and x̂0 along the reverse steps, DDIM samples and their quality
    guidance_explorer    chapter 6: exact guided samples and field against the guidance scale w, digit grids

The contract every view follows is :class:`View`'s docstring (and the checklist in
docs/architecture.md, "Views and widgets").
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

from ..validation import unknown_name


@dataclass(frozen=True)
class Interval:
    """The closed range [lo, hi] a float parameter may take (:meth:`View.allowed`)."""
    lo: float
    hi: float


class View:
    """Base class of every live view. The contract:

    * **Build once.** ``__init__`` builds ``self.fig`` (``plotting.new_figure``) and every artist, then
      calls ``self.update(**initial values)`` once; nothing is created or removed afterwards.
    * **One place for state.** ``self.state`` holds the current value of every ``update`` parameter;
      the view keeps them nowhere else (caches of computed data are fine).
    * **update changes only what it is given.** A subclass defines ``update(self, t=None, ...)`` with
      every parameter defaulting to None and returns ``View.update(self, t=t, ...)``: None or absent
      keeps the current value. It returns what :meth:`show` returns.
    * **Out of range is an error, the same in every view.** :meth:`allowed` says what each parameter may
      be (a ``range`` of ints, an :class:`Interval`, a tuple of choices); ``update`` checks every value,
      kept ones included (a new schedule may make a kept t invalid), and raises ``ValueError`` naming the
      allowed values before anything changes. Nothing is clamped silently.
    * **show draws.** :meth:`show` changes artists in place (``set_data``, ``set_offsets``, ...) to show
      ``self.state``; the numbers come from the core modules.
    * **Blitting** (optional, for a plain Agg canvas; see :meth:`render_png`): ``dynamic_artists()``
      lists every artist a change of a parameter in ``DYNAMIC_PARAMS`` touches; such a change may touch
      nothing else, except the limits of an axes left out of :meth:`static_axes` because nothing static
      is drawn there. ``static_key()`` must change whenever anything else that is drawn changes; the
      default covers the other parameters, the limits of ``static_axes()`` and the figure's size.
      Dynamic artists are drawn last, so list only artists that sit on top anyway, and give a title
      among them a fixed position (``set_title(..., y=1.0)`` or a plain ``ax.text``): matplotlib places
      an auto-positioned title only during a full draw. tests/test_views_blit.py checks every view
      that blits against a full draw over its whole ``DEMO_SWEEP``.
    """

    fig = None
    state: dict
    #: Parameters whose change only moves ``dynamic_artists()`` (the rest of the figure is kept).
    DYNAMIC_PARAMS: tuple[str, ...] = ()

    # ---- parameters ------------------------------------------------------------------------------

    def allowed(self, name: str, state: dict):
        """The values parameter ``name`` may take, given the other values in ``state`` (the candidate
        state, checked in its key order, so a parameter another one depends on comes first): a ``range``
        of ints, an :class:`Interval` of numbers, a tuple of choices, or None for anything."""
        return None

    def _checked(self, name: str, value, state: dict):
        allowed = self.allowed(name, state)
        where = f"{type(self).__name__}.update"
        if allowed is None:
            return value
        if isinstance(allowed, range):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or int(value) != value:
                raise TypeError(f"{where}: {name} must be a whole number, got {value!r}.")
            if int(value) not in allowed:
                raise ValueError(f"{where}: {name} = {int(value)} is out of range; it runs "
                                 f"{allowed.start}..{allowed.stop - 1}.")
            return int(value)
        if isinstance(allowed, Interval):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{where}: {name} must be a number, got {value!r}.")
            if not allowed.lo <= float(value) <= allowed.hi:
                raise ValueError(f"{where}: {name} = {value:g} is out of range; it runs "
                                 f"from {allowed.lo:g} to {allowed.hi:g}.")
            return float(value)
        if value not in allowed:
            if all(isinstance(choice, str) for choice in allowed):
                raise unknown_name(name, value, tuple(allowed))
            raise ValueError(f"{where}: {name} = {value!r} is not one of the allowed values "
                             f"{', '.join(map(repr, allowed))}.")
        return value

    def update(self, **params):
        """Set the parameters given (None or absent: keep the current value), check every value
        against :meth:`allowed`, then :meth:`show` the new state and redraw a live canvas.

        Returns what :meth:`show` returns."""
        current = self.__dict__.get("state", {})             # {} on the constructor's first call
        state = dict(current)
        state.update({name: value for name, value in params.items() if value is not None})
        for name in state:                                   # kept values too, in the state's key order
            state[name] = self._checked(name, state[name], state)
        changed = {name for name in state if name not in current or state[name] != current[name]}
        self.state = state
        shown = self.show(changed)
        self.redraw()
        return shown

    def show(self, changed: set[str]):  # pragma: no cover - abstract
        """Change the artists to show ``self.state``; ``changed`` names the parameters whose value
        differs from the last call (every parameter on the first)."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Ask a live (ipympl) canvas to redraw; coalesced by the backend.

        On a plain Agg canvas nothing is done: the explorer renders the figure itself when it encodes
        the PNG it shows, and that is the one render.
        """
        from ..plotting import live_backend
        if live_backend():
            self.fig.canvas.draw_idle()

    # ---- blitting (plain Agg canvas only) ------------------------------------------------------

    def dynamic_artists(self) -> list:
        """Artists a change of a ``DYNAMIC_PARAMS`` parameter touches (drawn over the kept background);
        [] = none (every picture is a full draw)."""
        return []

    def static_axes(self) -> list:
        """Axes whose limits are part of :meth:`static_key` (default: all of them)."""
        return list(self.fig.axes)

    def static_key(self):
        """Everything that is drawn and is not a dynamic artist; the kept background is redrawn whenever
        this changes. Default: the parameters outside ``DYNAMIC_PARAMS``, the limits of
        :meth:`static_axes` and the figure's size in pixels."""
        params = tuple((name, self.state[name]) for name in self.state if name not in self.DYNAMIC_PARAMS)
        limits = tuple((tuple(ax.get_xlim()), tuple(ax.get_ylim())) for ax in self.static_axes())
        return params, limits, self.fig.canvas.get_width_height(physical=True)

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
