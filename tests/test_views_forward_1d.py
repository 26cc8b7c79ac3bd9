"""Chapter 1's view (diffusion_lab/views/forward_1d.py): what it prepares to draw (polylines, the band, the
panel) against closed forms, and the live view's artists after updates (headless, Agg). The exact 1D q(x_t)
and histogram_l1 are tested in tests/test_metrics.py."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.views import forward_1d as forward_view


@pytest.fixture(scope="module")
def course():
    return dl.make_schedule("linear", 1000)


@pytest.fixture(scope="module")
def toy():
    return dl.make_schedule("linear", 50, beta_start=0.01, beta_end=0.2)


@pytest.fixture(scope="module")
def mix():
    return dl.make_distribution("mixture_1d")


# ---- histograms -------------------------------------------------------------------------------
def test_histogram_density_is_normalised_by_the_total_count():
    values = np.array([0.1, 0.2, 0.6, 5.0])       # one value outside the edges
    hist = forward_view.histogram_density(values, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(hist, [2 / 4 / 0.5, 1 / 4 / 0.5])


# ---- trajectories -----------------------------------------------------------------------------
def test_trajectory_polyline_is_one_line_with_nan_gaps():
    trajs = np.arange(11 * 4, dtype=float).reshape(11, 4)          # T = 10, 4 runs
    x, y = forward_view.trajectory_polyline(trajs, n_show=3, stride=3)
    rows = [0, 3, 6, 9, 10]                                           # stride 3, plus the last row
    assert x.shape == y.shape == (3 * (len(rows) + 1),)
    assert np.isnan(y).sum() == 3 and np.isnan(x).sum() == 3
    for j in range(3):
        seg_x = x[j * (len(rows) + 1): (j + 1) * (len(rows) + 1) - 1]
        seg_y = y[j * (len(rows) + 1): (j + 1) * (len(rows) + 1) - 1]
        np.testing.assert_array_equal(seg_x, np.array(rows))        # x0 at 0, x_t at t = row t
        np.testing.assert_array_equal(seg_y, trajs[rows, j])
    with pytest.raises(ValueError, match="n_show"):
        forward_view.trajectory_polyline(trajs, n_show=5)
    x, y = forward_view.trajectory_polyline(torch.as_tensor(trajs)[..., None], n_show=0)
    assert x.size == y.size == 0


def test_closed_form_band(course, mix):
    b = forward_view.closed_form_band(course, 5.0, k=2)
    assert b["steps"][0] == 0 and b["steps"][-1] == course.T
    assert b["mean"][0] == 5.0 and b["std"][0] == 0.0
    np.testing.assert_allclose(b["mean"][1:], 5 * course.sqrt_alphas_cumprod.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b["std"][1:], course.sqrt_one_minus_alphas_cumprod.numpy(), rtol=1e-9)
    np.testing.assert_allclose(b["hi"] - b["lo"], 4 * b["std"])
    bm = forward_view.closed_form_band(course, mix)
    assert bm["comp_mean"].shape == (course.T + 1, 2)
    np.testing.assert_allclose(bm["comp_mean"][0], [-2.0, 3.0])
    np.testing.assert_allclose(bm["comp_std"][0], [0.5, 0.8])
    for t in (1, 500, course.T):                                   # step t: row t, schedule index t − 1
        m, s = dl.metrics.marginal_moments_1d(mix, course, t - 1)
        assert bm["mean"][t] == pytest.approx(m) and bm["std"][t] == pytest.approx(s)


def test_simulate_trajectories_is_seeded_and_follows_the_closed_form(toy):
    a = forward_view.simulate_trajectories(toy, 5.0, n=3000, seed=3)
    assert a.shape == (toy.T + 1, 3000) and np.all(a[0] == 5.0)
    np.testing.assert_array_equal(a, forward_view.simulate_trajectories(toy, 5.0, n=3000, seed=3))
    assert not np.array_equal(a, forward_view.simulate_trajectories(toy, 5.0, n=3000, seed=4))
    for t in (5, 25, 49):
        m, s = dl.metrics.marginal_moments_1d(5.0, toy, t)
        assert abs(a[t + 1].mean() - m) < 4 * s / math.sqrt(3000)
        assert abs(a[t + 1].std() - s) < 4 * s / math.sqrt(6000)


# ---- panel data -------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [1, 40, 1000])
def test_forward_1d_panel_data(course, t):
    """t is the papers' step 1..T: row t of the trajectories, the schedule at index k = t − 1."""
    trajs = forward_view.simulate_trajectories(course, 5.0, n=400, seed=0)
    d = forward_view.forward_1d_panel_data(trajs, course, t, 5.0, bins=25)
    k = t - 1
    assert d["t"] == t
    np.testing.assert_array_equal(d["values"], trajs[t])
    assert d["edges"].shape == (26,) and d["hist"].shape == (25,)
    inside = ((trajs[t] >= d["edges"][0]) & (trajs[t] <= d["edges"][-1])).mean()
    assert (d["hist"] * np.diff(d["edges"])).sum() == pytest.approx(inside)
    assert inside > 0.99
    np.testing.assert_allclose(d["density"], dl.metrics.marginal_density_1d(5.0, course, d["grid"], k))
    assert d["mean"] == pytest.approx(5 * float(course.sqrt_alphas_cumprod[k]))
    assert d["std"] == pytest.approx(float(course.sqrt_one_minus_alphas_cumprod[k]))
    assert d["emp_mean"] == pytest.approx(trajs[t].mean())
    assert abs(d["emp_mean"] - d["mean"]) < 4 * d["std"] / 20
    assert d["abar"] == pytest.approx(float(course.alphas_cumprod[k]))


def test_panel_data_rejects_mismatched_input(course, toy):
    trajs = forward_view.simulate_trajectories(toy, 5.0, n=10)
    with pytest.raises(ValueError, match="T \\+ 1"):
        forward_view.forward_1d_panel_data(trajs, course, 3)
    with pytest.raises(ValueError, match="outside"):
        forward_view.forward_1d_panel_data(trajs, toy, 51)
    with pytest.raises(ValueError, match="x0 is t = 0"):
        forward_view.forward_1d_panel_data(trajs, toy, 0)
    with pytest.raises(TypeError, match="1..T"):
        forward_view.forward_1d_panel_data(trajs, toy, 3.0)


# ---- the live view ----------------------------------------------------------------------------
def _stairs_values(view):
    return np.asarray(view.stairs.get_data().values)


def test_view_update_moves_marker_histogram_and_numbers(toy):
    view = forward_view.Forward1DView(toy, data=5.0, n_traj=300, n_show=20, seed=1, t=1)
    previous = _stairs_values(view).copy()
    for t in (3, 10, 25, 50, 1):
        view.update(t=t)
        d = forward_view.forward_1d_panel_data(view.trajs, toy, t, 5.0, bins=view.bins)
        assert list(view.marker.get_xdata()) == [t, t]
        np.testing.assert_array_equal(view.dots.get_offsets()[:, 0], np.full(20, t))
        np.testing.assert_allclose(view.dots.get_offsets()[:, 1], view.trajs[t, :20])
        np.testing.assert_allclose(_stairs_values(view), d["hist"])
        np.testing.assert_allclose(view.stairs.get_data().edges, d["edges"])
        dens_x, dens_y = view.density_line.get_data()
        np.testing.assert_allclose(dens_x, d["density"]) and np.testing.assert_allclose(dens_y, d["grid"])
        assert view.ax_hist.get_xlim()[1] >= max(d["hist"].max(), d["density"].max())
        title = view.ax.get_title(loc="left")
        assert title == forward_view.title_text(d) and title.startswith(f"t = {t} ")
        assert f"mean {d['emp_mean']:.2f}/{d['mean']:.2f}" in title
        assert f"std {d['emp_std']:.2f}/{d['std']:.2f}" in title
        assert not np.array_equal(_stairs_values(view), previous)
        previous = _stairs_values(view).copy()
    view.fig.canvas.draw()


def test_view_n_show_and_seed(toy):
    view = forward_view.Forward1DView(toy, data=5.0, n_traj=100, n_show=10, seed=0, t=20)
    assert np.isnan(view.line.get_ydata()).sum() == 10
    view.update(n_show=37)
    assert np.isnan(view.line.get_ydata()).sum() == 37 and view.dots.get_offsets().shape == (37, 2)
    assert view.state["t"] == 20 and view.state["seed"] == 0      # untouched controls keep their value
    old_y, old_hist = np.asarray(view.line.get_ydata()).copy(), _stairs_values(view).copy()
    view.update(seed=5)
    assert not np.allclose(np.asarray(view.line.get_ydata()), old_y, equal_nan=True)
    assert not np.array_equal(_stairs_values(view), old_hist)
    np.testing.assert_array_equal(view.trajs, forward_view.simulate_trajectories(toy, 5.0, 100, seed=5))
    view.update(seed=0)
    np.testing.assert_allclose(np.asarray(view.line.get_ydata()),
                               forward_view.trajectory_polyline(view.trajs, 37, view.stride)[1], equal_nan=True)
    with pytest.raises(ValueError, match="n_show = 101 is out of range; it runs 0..100"):
        view.update(n_show=101)
    assert view.state["n_show"] == 37


def test_view_with_mixture_data(course, mix):
    view = forward_view.Forward1DView(course, data=mix, n_traj=200, n_show=15, seed=2, t=300)
    view.update(t=100)
    d = forward_view.forward_1d_panel_data(view.trajs, course, 100, mix, bins=view.bins)
    np.testing.assert_allclose(view.density_line.get_data()[0], d["density"])
    assert len(np.unique(np.sign(view.trajs[0]))) == 2          # the runs start in both bumps
    view.fig.canvas.draw()


def test_update_does_not_render_a_headless_canvas(toy):
    """update changes artists only; rendering is the displayer's job (no double draw per update)."""
    view = forward_view.Forward1DView(toy, n_traj=50, n_show=5)
    draws = []
    view.fig.canvas.mpl_connect("draw_event", lambda _e: draws.append(1))
    for t in range(1, 51, 7):
        view.update(t=t)
    assert draws == []
    view.fig.canvas.draw()
    assert draws == [1]


def test_legend_html_names_every_coloured_artist():
    for colour in (forward_view.PALETTE[0], forward_view.PALETTE[1], forward_view.PALETTE[3]):
        assert colour in forward_view.LEGEND_HTML
    assert "exact density" in forward_view.LEGEND_HTML and "histogram" in forward_view.LEGEND_HTML


def test_demo_view_and_sweep():
    view = forward_view.demo_view()
    assert view.schedule.T == 1000
    for params in forward_view.DEMO_SWEEP:
        view.update(**params)
        for name, value in params.items():
            assert view.state[name] == value
        view.fig.canvas.draw()
    assert {"t", "n_show", "seed"} <= {k for p in forward_view.DEMO_SWEEP for k in p}


def test_slider_runs_over_the_papers_steps(toy):
    """The view's t is the papers' 1..T: 0 (the data) and T + 1 are refused, naming the range."""
    view = forward_view.Forward1DView(toy, n_traj=20, n_show=5, t=toy.T)
    assert view.allowed("t", view.state) == range(1, toy.T + 1)
    with pytest.raises(ValueError, match="t = 0 is out of range"):
        view.update(t=0)
    assert view.ax.get_xlabel().startswith("step t") and view.ax.get_ylabel() == "value x_t"


def test_explorer_shows_the_picture_at_its_natural_size(toy):
    """The explorer's Image is as wide in CSS pixels as its PNG (never stretched to the output width)."""
    import io

    import ipywidgets as W
    from PIL import Image

    from diffusion_lab.widgets import explorer, png_size

    view = forward_view.Forward1DView(toy, n_traj=20, n_show=5, t=10)
    box = explorer(view, t=W.IntSlider(10, min=1, max=toy.T))
    width, height = Image.open(io.BytesIO(box.figure_area.value)).size
    assert png_size(box.figure_area.value) == (width, height)
    assert box.figure_area.layout.width == f"{width}px" and box.figure_area.layout.max_width == "100%"
    assert "dl-explorer" in box._dom_classes and "dl-explorer-figure" in box.figure_area._dom_classes
    box.controls["t"].value = 30
    assert box.figure_area.layout.width == f"{width}px"
    with pytest.raises(ValueError, match="PNG"):
        png_size(b"GIF89a" + bytes(30))


@pytest.mark.parametrize("presenting", [False, True])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_label_lies_inside_the_figure(toy, presenting, lang):
    """Issue 19: the x-axis label was cut off at the bottom. Every text the view draws (axis labels, tick
    labels, the title) ends inside the figure, at the chapter's size and in presenting mode, in both
    languages (without a Chinese font the labels stay English; the layout is still measured)."""
    before = dl.i18n.language()
    dl.plotting.use_course_style(presenting=presenting)
    dl.set_language(lang)
    try:
        view = forward_view.Forward1DView(toy, data=5.0, n_traj=40, n_show=10, seed=0, t=toy.T)
        fig = view.fig
        fig.canvas.draw()
        renderer, box = fig.canvas.get_renderer(), fig.bbox
        texts = [view.ax.xaxis.label, view.ax.yaxis.label, view.title]
        for axis, (lo, hi) in ((view.ax.xaxis, view.ax.get_xlim()), (view.ax.yaxis, view.ax.get_ylim())):
            texts += [tick.label1 for tick in axis.get_major_ticks() if lo <= tick.get_loc() <= hi]   # drawn ones
        assert view.ax.xaxis.label.get_text() and view.title.get_text()
        for text in texts:
            ext = text.get_window_extent(renderer)
            inside = ext.x0 >= box.x0 and ext.y0 >= box.y0 and ext.x1 <= box.x1 and ext.y1 <= box.y1
            assert inside, (text.get_text(), ext, box)
    finally:
        dl.set_language(before)
        dl.plotting.use_course_style(presenting=False)
