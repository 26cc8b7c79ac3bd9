"""plotting (course style, presenting mode, tiled images) and widgets.explorer, headless (no browser)."""
from __future__ import annotations

import math

import ipywidgets as W
import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from diffusion_lab import plotting, widgets
from diffusion_lab.views import View


@pytest.fixture(autouse=True)
def _restore_rcparams():
    saved = matplotlib.rcParams.copy()
    yield
    matplotlib.rcParams.update(saved)
    plotting._state["presenting"] = False


# ----------------------------------------------------------------------------------------------
# style
# ----------------------------------------------------------------------------------------------
def test_course_style_and_presenting_change_font_size(monkeypatch):
    monkeypatch.delenv(plotting.PRESENTING_ENV, raising=False)
    matplotlib.rcParams["font.size"] = 6.0
    plotting.use_course_style()
    assert matplotlib.rcParams["font.size"] == 11
    assert matplotlib.rcParams["lines.linewidth"] == 1.6
    assert not plotting.is_presenting()
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][0] == plotting.PALETTE[0]
    plotting.presenting()
    assert matplotlib.rcParams["font.size"] == 17 and matplotlib.rcParams["lines.linewidth"] == 3.0
    assert matplotlib.rcParams["axes.titlesize"] > 17
    assert plotting.is_presenting()
    plotting.presenting(False)
    assert matplotlib.rcParams["font.size"] == 11 and not plotting.is_presenting()
    plotting.use_course_style(presenting=True)
    assert matplotlib.rcParams["font.size"] == 17


@pytest.mark.parametrize("value, big", [("1", True), ("true", True), ("ON", True),
                                        ("0", False), ("", False), ("no", False)])
def test_presenting_env_var_drives_the_default_style(monkeypatch, value, big):
    monkeypatch.setenv(plotting.PRESENTING_ENV, value)
    plotting.use_course_style()                        # what a chapter's first cell calls
    assert plotting.is_presenting() is big
    assert matplotlib.rcParams["font.size"] == (17 if big else 11)
    plotting.use_course_style(presenting=False)        # an explicit argument wins over the variable
    assert not plotting.is_presenting() and matplotlib.rcParams["font.size"] == 11


def test_make_present_and_dashboard_set_the_presenting_variable():
    from pathlib import Path
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    for target in ("present slides:", "dashboard:"):
        recipe = makefile.split("\n" + target, 1)[1].split("\n\n", 1)[0]
        assert f"{plotting.PRESENTING_ENV}=$(PRESENTING)" in recipe, target


def test_new_figure_headless_is_agg_and_not_in_pyplot():
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    fig, axes = plotting.new_figure(1, 2, figsize=(6, 3))
    assert isinstance(fig.canvas, FigureCanvasAgg) and len(axes) == 2
    assert plt.get_fignums() == before            # not auto-shown at the end of a notebook cell
    assert tuple(fig.get_size_inches()) == (6, 3)
    fig.canvas.draw()                             # renders headless


# ----------------------------------------------------------------------------------------------
# tile_images
# ----------------------------------------------------------------------------------------------
def test_tile_images_shape_and_placement():
    n, h, w = 5, 3, 4
    imgs = np.stack([np.full((1, h, w), k / 10, dtype=np.float32) for k in range(n)])   # image k filled with k/10
    out = plotting.tile_images(imgs, nrow=3, pad=1, pad_value=1.0)
    # 3 images per row → 2 rows: (2·(3+1)−1, 3·(4+1)−1)
    assert out.shape == (2 * (h + 1) - 1, 3 * (w + 1) - 1) == (7, 14)
    for k in range(n):
        r, c = divmod(k, 3)
        block = out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w]
        np.testing.assert_array_equal(block, np.full((h, w), k / 10, dtype=np.float32))
    assert np.all(out[h, :] == 1.0) and np.all(out[:, w] == 1.0)      # padding lines
    np.testing.assert_array_equal(out[h + 1:, 2 * (w + 1):], 1.0)        # empty sixth slot is padding
    # default: a square-ish grid (ceil √N per row), (N, H, W) accepted, torch accepted
    import torch
    out2 = plotting.tile_images(torch.zeros(9, 2, 2), pad=0)
    assert out2.shape == (6, 6)
    with pytest.raises(ValueError, match="1-channel"):
        plotting.tile_images(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        plotting.tile_images(np.zeros((4, 4)))


def test_show_images_is_one_imshow():
    fig, ax = plotting.new_figure()
    imgs = np.linspace(-1, 1, 4 * 8 * 8).reshape(4, 1, 8, 8)
    im = plotting.show_images(ax, imgs, nrow=2, title="x")
    assert len(ax.images) == 1 and im.get_clim() == (-1, 1)
    np.testing.assert_array_equal(im.get_array(), plotting.tile_images(imgs, 2))


# ----------------------------------------------------------------------------------------------
# widgets.explorer
# ----------------------------------------------------------------------------------------------
class RecordingView(View):
    """A tiny view: one line y = scale·sin(x + t); remembers every update's kwargs."""

    def __init__(self):
        self.fig, self.ax = plotting.new_figure()
        self.x = np.linspace(0, 2 * math.pi, 50)
        (self.line,) = self.ax.plot(self.x, np.sin(self.x))
        self.calls = []

    def update(self, t=0, scale=1.0, kind="sin"):
        self.calls.append({"t": t, "scale": scale, "kind": kind})
        fn = np.sin if kind == "sin" else np.cos
        self.line.set_ydata(scale * fn(self.x + t))
        self.redraw()


def test_explorer_calls_update_with_control_values():
    view = RecordingView()
    t = W.IntSlider(value=0, min=0, max=10)
    scale = W.FloatSlider(value=1.0, min=0.5, max=3.0)
    kind = W.Dropdown(options=["sin", "cos"], value="sin")
    box = widgets.explorer(view, title="demo", t=t, scale=scale, kind=kind)
    assert isinstance(box, W.VBox)
    assert view.calls == [{"t": 0, "scale": 1.0, "kind": "sin"}]           # drawn once on creation
    t.value = 5
    assert view.calls[-1] == {"t": 5, "scale": 1.0, "kind": "sin"}
    scale.value = 2.0
    assert view.calls[-1] == {"t": 5, "scale": 2.0, "kind": "sin"}
    kind.value = "cos"
    assert view.calls[-1] == {"t": 5, "scale": 2.0, "kind": "cos"}
    assert len(view.calls) == 4
    np.testing.assert_allclose(view.line.get_ydata(), 2.0 * np.cos(view.x + 5))
    assert box.values() == {"t": 5, "scale": 2.0, "kind": "cos"}
    assert math.isfinite(box.last_update_ms) and box.last_update_ms >= 0
    # without ipympl the figure is an Image widget holding the current PNG, and the title is shown
    assert not box.live and box.figure_area in box.children and isinstance(box.figure_area, W.Image)
    assert box.figure_area.value == plotting.figure_png(view.fig)
    assert any(isinstance(c, W.HTML) and "demo" in c.value for c in box.children)


def test_explorer_needs_a_control_and_time_slider():
    with pytest.raises(ValueError, match="at least one control"):
        widgets.explorer(RecordingView())
    s = widgets.time_slider(1000, value=3, continuous=False)
    assert (s.min, s.max, s.value, s.continuous_update, s.description) == (1, 1000, 3, False, "t")   # maths' t
    view = RecordingView()
    widgets.explorer(view, t=s)
    s.value = 1000
    assert view.calls[-1]["t"] == 1000
    with pytest.raises(ValueError, match="1..1000"):
        widgets.time_slider(1000, value=0)


def test_figure_png_is_the_figure_at_its_own_dpi():
    from PIL import Image
    import io

    fig, ax = plotting.new_figure(figsize=(4, 3))
    ax.plot([0, 1], [0, 1])
    png = plotting.figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(png))
    assert img.size == fig.canvas.get_width_height() == (round(4 * fig.dpi), round(3 * fig.dpi))
    pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    assert (pixels.sum(axis=2) < 600).mean() > 0.001          # the line was drawn: not a blank frame
    ax.lines[0].set_ydata([1, 0])
    assert plotting.figure_png(fig) != png                     # re-rendered, not cached


def test_explorer_falls_back_to_a_png_without_a_widget_front_end():
    import base64

    view = RecordingView()
    box = widgets.explorer(view, t=W.IntSlider(value=0, min=0, max=10))
    bundle = box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]) == box.figure_area.value


def test_a_high_dpi_pixel_ratio_draws_more_pixels_shown_at_the_same_size(monkeypatch):
    """set_pixel_ratio(2): the picture has twice the pixels each way and is shown at the width of ratio 1,
    so it is sharp on a high-DPI screen and not larger (the browser layout test checks the shown size)."""
    monkeypatch.setitem(plotting._state, "pixel_ratio", None)
    monkeypatch.delenv(plotting.PIXEL_RATIO_ENV, raising=False)
    assert plotting.pixel_ratio() == 1.0
    shown = {}
    for ratio in (1, 2):
        plotting.set_pixel_ratio(ratio)
        box = widgets.explorer(RecordingView(), t=W.IntSlider(value=0, min=0, max=10))
        shown[ratio] = (widgets.png_size(box.figure_area.value)[0], box.figure_area.layout.width)
    assert shown[2][0] == 2 * shown[1][0]
    assert shown[2][1] == shown[1][1] == f"{shown[1][0]}px"
    for bad in (0.5, 4, "2", True):
        with pytest.raises(ValueError, match="from 1 to 3"):
            plotting.set_pixel_ratio(bad)
    monkeypatch.setitem(plotting._state, "pixel_ratio", None)
    monkeypatch.setenv(plotting.PIXEL_RATIO_ENV, "2")
    assert plotting.pixel_ratio() == 2.0
    monkeypatch.setitem(plotting._state, "pixel_ratio", None)
    monkeypatch.setenv(plotting.PIXEL_RATIO_ENV, "retina")
    with pytest.raises(ValueError, match="DIFFUSION_LAB_PIXEL_RATIO"):
        plotting.pixel_ratio()
