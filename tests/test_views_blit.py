"""Blitting (View.render_png): for every view that names dynamic artists, the blitted picture must
match a full draw at every step of its DEMO_SWEEP, including sweeps that change what is kept in the
background (seed, n_show, schedule ...). A stale background differs over whole curves and fails.

Tolerance: at most 0.5 % of pixels may differ by more than 8 levels in a channel: where a static
artist (a grid line, a spine) sits above a dynamic one in a full draw, a blit draws the dynamic one
on top. A missing or stale artist changes far more than that.
"""
from __future__ import annotations

import importlib
import io
import pkgutil

import numpy as np
import pytest
from PIL import Image

import diffusion_lab.views as views_pkg
from diffusion_lab.plotting import figure_png, use_course_style
from diffusion_lab.views import View

pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py

MAX_DIFFERING = 0.005


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def differing_fraction(a: bytes, b: bytes) -> float:
    pa, pb = _pixels(a), _pixels(b)
    assert pa.shape == pb.shape
    return float((np.abs(pa - pb).max(axis=2) > 8).mean())


def _blitting_modules() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(views_pkg.__path__):
        module = importlib.import_module(f"diffusion_lab.views.{info.name}")
        if any(isinstance(obj, type) and issubclass(obj, View) and obj.dynamic_artists is not View.dynamic_artists
               for obj in vars(module).values()) and hasattr(module, "demo_view"):
            names.append(info.name)
    return sorted(names)


BLITTING = _blitting_modules()


def test_the_slowest_views_blit():
    assert {"forward_1d", "reverse_process", "schedule_comparison"} <= set(BLITTING)


@pytest.mark.parametrize("name", BLITTING)
def test_blitted_frames_match_a_full_draw_over_the_sweep(name):
    use_course_style(presenting=False)
    module = importlib.import_module(f"diffusion_lab.views.{name}")
    view = module.demo_view()
    for params in module.DEMO_SWEEP:
        view.update(**params)
        blitted = view.render_png()
        assert view._background_key == view.static_key()
        assert differing_fraction(blitted, figure_png(view.fig)) <= MAX_DIFFERING, params


def test_a_stale_background_is_caught_and_static_changes_redraw_it():
    """forward_1d keeps the trajectories in the background: a new seed must redraw them."""
    from diffusion_lab.views import forward_1d

    view = forward_1d.demo_view()
    view.update(t=300)
    view.render_png()
    key_before = view.static_key()
    view.update(seed=5)
    assert view.static_key() != key_before
    assert differing_fraction(view.render_png(), figure_png(view.fig)) <= MAX_DIFFERING
    # the same change with the key frozen leaves the old trajectories on screen: a large difference
    view.update(seed=6)
    view._background_key = view.static_key()
    view.update(seed=7)
    view.static_key = lambda: view._background_key              # a view that forgot to key its seed
    assert differing_fraction(view.render_png(), figure_png(view.fig)) > 10 * MAX_DIFFERING


def test_a_view_without_dynamic_artists_draws_in_full():
    from diffusion_lab.plotting import new_figure

    class Plain(View):
        def __init__(self):
            self.fig, self.ax = new_figure(figsize=(2, 2))
            (self.line,) = self.ax.plot([0, 1], [0, 1])

        def update(self, **_):
            pass

    plain = Plain()
    assert plain.render_png() == figure_png(plain.fig) and not hasattr(plain, "_background")
