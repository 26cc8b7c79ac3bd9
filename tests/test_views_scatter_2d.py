"""Chapter 2's view and what it prepares to draw (diffusion_lab/views/scatter_2d.py), headless.

The density grid and level lines are checked against independent closed forms (log_prob_t, hand-computed
circles); the view by calling update and reading the artists back. The clouds' math (q_sample_steps,
moment_check) is tested with the core (test_forward, test_metrics).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.forward import q_sample_steps
from diffusion_lab.views import scatter_2d as scatter_view


@pytest.fixture(scope="module")
def schedules():
    return scatter_view.chapter_schedules()


@pytest.fixture(scope="module")
def view():
    return scatter_view.Scatter2DView(n=400, seed=3)


def gaussian_cloud(n=1000, seed=0):
    gen = dl.make_generator(seed)
    dist = dl.make_distribution("gaussian_2d")
    x0 = dist.sample(n, generator=gen)
    eps = torch.randn((n, 2), generator=gen)
    return dist, x0, eps


# ---------------------------------------------------------------------------------------------
# schedules of the chapter
# ---------------------------------------------------------------------------------------------
def test_chapter_schedules_known_values(schedules):
    short, long = schedules["T = 100"], schedules["T = 1000"]
    assert short.T == 100 and long.T == 1000
    # by hand in numpy (float64), independent of diffusion_lab
    assert short.signal_left() == pytest.approx(np.prod(1 - np.linspace(0.001, 0.02, 100)), rel=1e-12)
    assert short.signal_left() == pytest.approx(0.347455, abs=1e-6)
    assert long.signal_left() == pytest.approx(4.0358e-05, rel=1e-4)


def test_short_schedule_warns_when_built_plainly():
    with pytest.warns(dl.ScheduleWarning, match="not close to N"):
        dl.make_schedule("linear", 100, beta_start=0.001, beta_end=0.02)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scatter_view.chapter_schedules()  # built with warn=False: the view does not spam the warning


# ---------------------------------------------------------------------------------------------
# plain functions
# ---------------------------------------------------------------------------------------------
def test_density_grid_equals_log_prob_t(schedules):
    sched = schedules["T = 1000"]
    for name in ("gaussian_2d", "ring", "grid"):
        dist = dl.make_distribution(name)
        for t in (0, 37, 400):
            dens = scatter_view.density_grid(dist, sched, t, lim=4.0, size=41)
            ticks, pts = scatter_view.grid_points(4.0, 41)
            ref = torch.exp(dist.log_prob_t(sched, pts, t)).numpy().reshape(41, 41)
            np.testing.assert_allclose(dens, ref, rtol=1e-9, atol=1e-300)
    # orientation: row index = y, column index = x (for imshow(origin="lower"))
    dens = scatter_view.density_grid(dl.make_distribution("gaussian_2d", mean=(2.0, -1.0)), sched, 0, size=81)
    row, col = np.unravel_index(np.argmax(dens), dens.shape)
    ticks = np.linspace(-4, 4, 81)
    assert ticks[col] == pytest.approx(2.0 * math.sqrt(float(sched.alphas_cumprod[0])), abs=0.1)
    assert ticks[row] == pytest.approx(-1.0 * math.sqrt(float(sched.alphas_cumprod[0])), abs=0.1)


def test_density_grid_at_the_end_is_standard_normal(schedules):
    sched = schedules["T = 1000"]
    ticks = np.linspace(-4, 4, 101)
    gx, gy = np.meshgrid(ticks, ticks)
    std_normal = np.exp(-(gx**2 + gy**2) / 2) / (2 * np.pi)
    for name in ("gaussian_2d", "ring", "grid"):
        dens = scatter_view.density_grid(dl.make_distribution(name), sched, 999)
        assert np.max(np.abs(dens - std_normal)) < 2e-3
        # mass inside [−4, 4]² of N(0, I) is erf(4/√2)² ≈ 0.99987 (trapezoid on the grid)
        mass = np.trapezoid(np.trapezoid(dens, ticks), ticks)
        assert mass == pytest.approx(math.erf(4 / math.sqrt(2)) ** 2, abs=2e-3)


def test_density_grid_rejects_sample_only_shapes(schedules):
    with pytest.raises(TypeError, match="sampled"):
        scatter_view.density_grid(dl.make_distribution("moons"), schedules["T = 100"], 0)


@pytest.mark.parametrize("t", [0, 50, 99])
def test_level_lines_of_a_gaussian_are_its_1_and_2_sigma_circles(schedules, t):
    sched = schedules["T = 100"]
    dist = dl.make_distribution("gaussian_2d")
    dens = scatter_view.density_grid(dist, sched, t, size=201)
    lines = scatter_view.level_lines(dens)
    a = float(sched.alphas_cumprod[t])
    centre = math.sqrt(a) * np.array([2.0, 2.0])
    sigma = math.sqrt(0.25 * a + 1 - a)
    pts = lines[~np.isnan(lines[:, 0])]
    r = np.linalg.norm(pts - centre, axis=1)
    # two circles: radii σ and 2σ (the 2σ one may leave the [−4, 4]² window at large t: still radius 2σ)
    assert np.all((np.abs(r - sigma) < 0.02) | (np.abs(r - 2 * sigma) < 0.02))
    assert np.any(np.abs(r - sigma) < 0.02) and np.any(np.abs(r - 2 * sigma) < 0.02)
    assert np.isnan(lines[:, 0]).sum() >= 2   # pieces separated by NaN rows


def test_destination_circles():
    c = scatter_view.destination_circles()
    r = np.linalg.norm(c[~np.isnan(c[:, 0])], axis=1)
    assert np.all((np.abs(r - 1) < 1e-12) | (np.abs(r - 2) < 1e-12))
    assert np.sum(np.abs(r - 1) < 1e-12) == np.sum(np.abs(r - 2) < 1e-12) == 181


# ---------------------------------------------------------------------------------------------
# the view
# ---------------------------------------------------------------------------------------------
def line_xy(line):
    return np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])


def test_view_update_moves_points_to_x_t(view):
    for key in ("T = 100", "T = 1000"):
        sched = view.schedule(key)
        for t in (1, 8, sched.T // 2, sched.T):                       # the maths' t; code index t − 1
            frame = view.update(t=t, shape="gaussian_2d", schedule=key)
            offsets = view.scatter.get_offsets()
            expected = dl.q_sample(sched, torch.as_tensor(view.x0("gaussian_2d")), t - 1, noise=view.eps).numpy()
            np.testing.assert_allclose(offsets, expected, atol=1e-5)
            np.testing.assert_allclose(view.ghost.get_offsets(), view.x0("gaussian_2d"), atol=1e-6)
            assert frame.t == t and view.title.get_text().startswith(f"t = {t} ")
            assert f"ᾱ_t = {float(sched.alphas_cumprod[t - 1]):.3f}" in view.title.get_text()
            np.testing.assert_allclose(frame.mean_emp, expected.mean(0), atol=1e-5)
            np.testing.assert_allclose(line_xy(view.mean_emp)[0], expected.mean(0), atol=1e-5)


def test_view_same_noise_for_every_shape_and_step(view):
    for shape in view.shapes:
        for key, t in (("T = 100", 30), ("T = 1000", 640)):
            view.update(t=t, shape=shape, schedule=key)
            sched = view.schedule(key)
            a, b = float(sched.sqrt_alphas_cumprod[t - 1]), float(sched.sqrt_one_minus_alphas_cumprod[t - 1])
            eps = (view.scatter.get_offsets() - a * view.x0(shape)) / b
            np.testing.assert_allclose(eps, view.eps.numpy(), atol=2e-4)


def test_view_contours_follow_t_for_mixtures_and_vanish_for_samples(view):
    key = "T = 1000"
    view.update(t=1, shape="ring", schedule=key)
    early = line_xy(view.contour)
    view.update(t=600)
    late = line_xy(view.contour)
    density = scatter_view.density_grid(view.dist("ring"), view.schedule(key), 600 - 1, view.lim, view.grid_size)
    expected = scatter_view.level_lines(density, view.lim)
    np.testing.assert_allclose(late, expected, atol=1e-9)
    assert early.shape != late.shape or not np.allclose(early, late, equal_nan=True)
    assert not np.all(np.isnan(late))
    view.update(shape="moons")
    assert np.all(np.isnan(line_xy(view.contour)))
    assert "samples only" in view.title.get_text()


def test_view_mean_markers_follow_the_closed_form(view):
    key = "T = 100"
    for t in (1, 50, 100):
        frame = view.update(t=t, shape="gaussian_2d", schedule=key)
        a = math.sqrt(float(view.schedule(key).alphas_cumprod[t - 1]))
        np.testing.assert_allclose(line_xy(view.mean_cf)[0], [2 * a, 2 * a], atol=1e-9)
        np.testing.assert_allclose(frame.mean_path[t - 1], [2 * a, 2 * a], atol=1e-9)
        # 400 points: the mean of x_t is within 4 standard errors (≤ 1/√400 = 0.05) of the closed form
        assert np.all(np.abs(frame.mean_emp - frame.mean_cf) < 4 * 0.05)
    np.testing.assert_allclose(line_xy(view.path), frame.mean_path, atol=1e-12)


def test_a_kept_t_beyond_a_shorter_schedule_is_an_error_and_the_explorer_never_sends_one(view):
    view.update(t=800, shape="grid", schedule="T = 1000")
    with pytest.raises(ValueError, match="t = 800 is out of range; it runs 1..100"):
        view.update(schedule="T = 100")
    assert view.state == {"shape": "grid", "schedule": "T = 1000", "t": 800}
    frame = view.update(schedule="T = 100", t=100)
    assert frame.t == 100
    np.testing.assert_allclose(view.scatter.get_offsets(), view.clouds("grid", "T = 100")[100 - 1], atol=0)
    with pytest.raises(ValueError, match="t = 0 is out of range; it runs 1..100"):
        view.update(t=0)                                      # x0 is the grey ghost, not a slider position


def test_the_chapters_explorer_clamps_the_slider_before_the_view_sees_a_shorter_schedule():
    """Chapter 2 wires the t slider's max to the schedule menu before the explorer observes the menu, so
    switching to T = 100 at t = 800 clamps the slider first: every update the view gets is in range."""
    import ipywidgets as W

    from diffusion_lab.widgets import explorer

    v = scatter_view.Scatter2DView(n=50, seed=1)
    t_slider = W.IntSlider(800, min=1, max=1000, description="t")        # the maths' t, as in the chapter
    menu = W.Dropdown(options=list(v.schedules), value="T = 1000")
    menu.observe(lambda change: setattr(t_slider, "max", v.schedule(change.new).T), names="value")
    box = explorer(v, t=t_slider, schedule=menu)
    menu.value = "T = 100"
    assert v.state["t"] == 100 and v.state["schedule"] == "T = 100" and box.values()["t"] == 100
    assert v.title.get_text().startswith("t = 100 ")


def test_view_caches_and_rejects_unknown_names(view):
    a = view.density("ring", "T = 100", 12)
    assert view.mean_path("ring", "T = 100") is view.mean_path("ring", "T = 100")
    assert view.density("ring", "T = 100", 12) is a
    assert view.clouds("ring", "T = 100") is view.clouds("ring", "T = 100")
    before = dict(view.state)
    with pytest.raises(ValueError, match="unknown shape"):
        view.update(shape="spiral")
    assert view.state == before
    with pytest.raises(ValueError, match="unknown schedule"):
        view.frame(1, "ring", "T = 5")
    with pytest.raises(ValueError, match="unknown shape"):
        scatter_view.Scatter2DView(n=10, shapes=("gaussian_2d", "blob"))


def test_view_is_reproducible():
    v1, v2 = scatter_view.Scatter2DView(n=100, seed=5), scatter_view.Scatter2DView(n=100, seed=5)
    v3 = scatter_view.Scatter2DView(n=100, seed=6)
    for v in (v1, v2, v3):
        v.update(t=40, shape="swiss_roll", schedule="T = 100")
    np.testing.assert_array_equal(v1.scatter.get_offsets(), v2.scatter.get_offsets())
    assert not np.allclose(v1.scatter.get_offsets(), v3.scatter.get_offsets())


def test_demo_view_and_sweep():
    v = scatter_view.demo_view()
    assert v.n == 1000 and set(v.shapes) == set(scatter_view.SHAPES)
    assert len(scatter_view.DEMO_SWEEP) >= 20
    for params in scatter_view.DEMO_SWEEP[::7]:
        frame = v.update(**params)
        assert frame.t == params["t"] and frame.shape == params["shape"]
        np.testing.assert_allclose(v.scatter.get_offsets(),
                                   v.clouds(params["shape"], params["schedule"])[params["t"] - 1])
    v.fig.canvas.draw()


# ---------------------------------------------------------------------------------------------
# static figures
# ---------------------------------------------------------------------------------------------
def test_plot_snapshots_titles_and_points(schedules):
    sched = schedules["T = 100"]
    dist, x0, eps = gaussian_cloud(200)
    clouds = q_sample_steps(sched, x0, range(sched.T), noise=eps)
    axes = scatter_view.plot_snapshots(dist, sched, x0, clouds, [25, 99])
    assert [ax.get_title().split()[0:3] for ax in axes] == [["x0", "(data)"], ["t", "=", "26"], ["t", "=", "100"]]
    np.testing.assert_allclose(axes[2].collections[0].get_offsets(), clouds[99])
    for ax in axes:
        assert ax.get_xlim() == (-4.0, 4.0) and ax.get_ylim() == (-4.0, 4.0)


def test_plot_moments_draws_the_closed_form(schedules):
    sched = schedules["T = 100"]
    dist, x0, eps = gaussian_cloud(300)
    clouds = q_sample_steps(sched, x0, range(sched.T), noise=eps)
    chk = dl.metrics.moment_check(sched, clouds, dist.mean(), dist.covariance())
    ax_mean, ax_cov = scatter_view.plot_moments(chk)
    first_line = ax_mean.get_lines()[0]
    np.testing.assert_allclose(first_line.get_ydata(), chk.mean_cf[:, 0])
    assert any(np.allclose(ln.get_ydata(), chk.cov_cf[:, 0, 1]) for ln in ax_cov.get_lines())


def test_plot_shape_grid(view):
    fig = scatter_view.plot_shape_grid(view, "T = 100", [10, 99], shapes=("ring", "moons"))
    axes = fig.axes
    assert len(axes) == 6
    np.testing.assert_allclose(axes[2].collections[0].get_offsets(), view.clouds("ring", "T = 100")[99])


def test_live_view_has_a_readable_legend_and_fits_a_screen(view):
    """The key is inside the figure (not only HTML above it), at ≥ 9 pt, and the figure fits under the
    controls in a 900 px high window (≤ 5.2 in high at 90 dpi ≈ 470 px)."""
    legend = view.ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert "x_t" in texts and any("q(x_t)" in t for t in texts) and any("N(0, I)" in t for t in texts)
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9
    assert view.fig.get_size_inches()[1] <= 5.2
    assert view.ax.get_xlabel() and view.ax.get_ylabel()


def test_plot_moments_legend_is_readable(schedules):
    sched = schedules["T = 100"]
    dist, x0, eps = gaussian_cloud(200)
    clouds = q_sample_steps(sched, x0, range(sched.T), noise=eps).numpy()
    axes = scatter_view.plot_moments(dl.metrics.moment_check(sched, clouds, dist.mean(), dist.covariance()))
    for ax in axes:
        assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 9
        assert ax.get_xlabel() == "step t"
        assert ax.lines[0].get_xdata()[0] == 1 and ax.lines[0].get_xdata()[-1] == sched.T   # t = 1..T
