"""Chapter 2 view and helpers (diffusion_lab/views/scatter_2d.py), headless.

Formulas are checked against independent closed forms (q_sample, GaussianMixture.marginal /
log_prob_t, hand-computed ᾱ); statistical claims with standard-error tolerances; the view by
calling update and reading the artists back.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.views import scatter_2d as s2d


@pytest.fixture(scope="module")
def schedules():
    return s2d.chapter_schedules()


@pytest.fixture(scope="module")
def view():
    return s2d.Scatter2DView(n=400, seed=3)


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
        s2d.chapter_schedules()  # built with warn=False: the view does not spam the warning


# ---------------------------------------------------------------------------------------------
# plain functions
# ---------------------------------------------------------------------------------------------
def test_noised_clouds_match_q_sample_with_the_same_noise(schedules):
    _, x0, eps = gaussian_cloud(50)
    for sched in schedules.values():
        clouds = s2d.noised_clouds(sched, x0, eps)
        assert clouds.shape == (sched.T, 50, 2) and clouds.dtype == np.float32
        for t in (0, 1, sched.T // 2, sched.T - 1):
            expected = dl.q_sample(sched, x0.double(), t, noise=eps.double()).numpy()
            np.testing.assert_allclose(clouds[t], expected, atol=1e-5)
    # one ε for all t: recovering ε from any x_t gives the same ε
    sched = schedules["T = 100"]
    clouds = s2d.noised_clouds(sched, x0, eps)
    a, b = sched.sqrt_alphas_cumprod.numpy(), sched.sqrt_one_minus_alphas_cumprod.numpy()
    for t in (3, 60, 99):
        np.testing.assert_allclose((clouds[t] - a[t] * x0.numpy()) / b[t], eps.numpy(), atol=1e-4)


def test_noised_clouds_rejects_mismatched_shapes(schedules):
    with pytest.raises(ValueError, match="shape"):
        s2d.noised_clouds(schedules["T = 100"], torch.zeros(5, 2), torch.zeros(4, 2))


def test_cloud_moments_match_numpy():
    rng = np.random.default_rng(0)
    clouds = rng.normal(size=(3, 200, 2)) @ np.array([[1.0, 0.5], [0.0, 2.0]])
    mean, cov = s2d.cloud_moments(clouds)
    for k in range(3):
        np.testing.assert_allclose(mean[k], clouds[k].mean(0), atol=1e-12)
        np.testing.assert_allclose(cov[k], np.cov(clouds[k].T), atol=1e-12)


def test_closed_form_moments_match_gaussian_mixture_marginal(schedules):
    sched = schedules["T = 1000"]
    mu = np.array([1.0, -2.0])
    Sigma = np.array([[0.5, 0.3], [0.3, 0.4]])
    mean, cov = s2d.closed_form_moments(sched, mu, Sigma)
    dist = dl.GaussianMixture([1.0], [mu.tolist()], covs=[Sigma.tolist()])
    for t in (0, 10, 500, 999):
        q = dist.marginal(sched, t)
        np.testing.assert_allclose(mean[t], q.mean().numpy(), atol=1e-12)
        np.testing.assert_allclose(cov[t], q.covariance().numpy(), atol=1e-12)
    # by hand at one step: ᾱ Σ + (1 − ᾱ) I
    a = float(sched.alphas_cumprod[200])
    np.testing.assert_allclose(cov[200], [[0.5 * a + 1 - a, 0.3 * a], [0.3 * a, 0.4 * a + 1 - a]], atol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        s2d.closed_form_moments(sched, mu, np.eye(3))


@pytest.mark.parametrize("key", ["T = 100", "T = 1000"])
def test_moment_check_agrees_within_standard_errors(schedules, key):
    sched = schedules[key]
    dist, x0, eps = gaussian_cloud(1000)
    chk = s2d.moment_check(sched, s2d.noised_clouds(sched, x0, eps), dist.mean(), dist.covariance())
    # |emp − cf|/SE is a unit-variance combination of two standard errors at every t; its maximum over t
    # is bounded by a χ₂ variable, P(> 4) ≈ 3e-4 per coordinate. Covariance entries get 5 SE.
    assert chk.mean_z() < 4.0
    assert chk.cov_z() < 5.0
    # standard error of the mean: √(C_ii/n) — at t = 0 C_11 = ᾱ_0·0.25 + 1 − ᾱ_0
    a0 = float(sched.alphas_cumprod[0])
    assert chk.mean_se[0, 0] == pytest.approx(math.sqrt((0.25 * a0 + 1 - a0) / 1000), rel=1e-12)


def test_moment_check_catches_a_wrong_closed_form(schedules):
    """The check can fail: forgetting (1−ᾱ_t) I, or scaling the mean by ᾱ_t, is many SE off."""
    sched = schedules["T = 1000"]
    dist, x0, eps = gaussian_cloud(1000)
    clouds = s2d.noised_clouds(sched, x0, eps)
    chk = s2d.moment_check(sched, clouds, dist.mean(), dist.covariance())
    a = sched.alphas_cumprod.numpy()
    wrong_cov = a[:, None, None] * dist.covariance().numpy()[None]
    assert np.max(np.abs(chk.cov_emp - wrong_cov) / chk.cov_se) > 15   # vs the 5 SE tolerance
    wrong_mean = a[:, None] * dist.mean().numpy()[None]
    assert np.max(np.abs(chk.mean_emp - wrong_mean) / chk.mean_se) > 10    # vs the 4 SE tolerance
    with pytest.raises(ValueError, match="steps"):
        s2d.moment_check(schedules["T = 100"], clouds, dist.mean(), dist.covariance())


def test_where_the_clouds_end_up(schedules):
    """The chapter's claim: T = 100 stops near (1.18, 1.18); T = 1000 reaches N(0, I)."""
    dist, x0, eps = gaussian_cloud(1000)
    short = s2d.noised_clouds(schedules["T = 100"], x0, eps)[-1].astype(np.float64)
    long = s2d.noised_clouds(schedules["T = 1000"], x0, eps)[-1].astype(np.float64)
    se = 1 / math.sqrt(1000)
    assert np.all(np.abs(short.mean(0) - 2 * math.sqrt(0.347455)) < 4 * se) and np.all(short.mean(0) > 1.0)
    assert np.all(np.abs(long.mean(0)) < 4 * se)
    assert np.all(np.abs(np.cov(long.T) - np.eye(2)) < 5 * math.sqrt(2 / 1000))


def test_density_grid_equals_log_prob_t(schedules):
    sched = schedules["T = 1000"]
    for name in ("gaussian_2d", "ring", "grid"):
        dist = dl.make_distribution(name)
        for t in (0, 37, 400):
            dens = s2d.density_grid(dist, sched, t, lim=4.0, size=41)
            ticks, pts = s2d.grid_points(4.0, 41)
            ref = torch.exp(dist.log_prob_t(sched, pts, t)).numpy().reshape(41, 41)
            np.testing.assert_allclose(dens, ref, rtol=1e-9, atol=1e-300)
    # orientation: row index = y, column index = x (for imshow(origin="lower"))
    dens = s2d.density_grid(dl.make_distribution("gaussian_2d", mean=(2.0, -1.0)), sched, 0, size=81)
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
        dens = s2d.density_grid(dl.make_distribution(name), sched, 999)
        assert np.max(np.abs(dens - std_normal)) < 2e-3
        # mass inside [−4, 4]² of N(0, I) is erf(4/√2)² ≈ 0.99987 (trapezoid on the grid)
        assert np.trapezoid(np.trapezoid(dens, ticks), ticks) == pytest.approx(math.erf(4 / math.sqrt(2)) ** 2, abs=2e-3)


def test_density_grid_rejects_sample_only_shapes(schedules):
    with pytest.raises(TypeError, match="sampled"):
        s2d.density_grid(dl.make_distribution("moons"), schedules["T = 100"], 0)


@pytest.mark.parametrize("t", [0, 50, 99])
def test_level_lines_of_a_gaussian_are_its_1_and_2_sigma_circles(schedules, t):
    sched = schedules["T = 100"]
    dist = dl.make_distribution("gaussian_2d")
    dens = s2d.density_grid(dist, sched, t, size=201)
    lines = s2d.level_lines(dens)
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
    c = s2d.destination_circles()
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
        for t in (0, 7, sched.T // 2, sched.T - 1):
            frame = view.update(t=t, shape="gaussian_2d", schedule=key)
            offsets = view.scatter.get_offsets()
            expected = dl.q_sample(sched, torch.as_tensor(view.x0("gaussian_2d")), t, noise=view.eps).numpy()
            np.testing.assert_allclose(offsets, expected, atol=1e-5)
            np.testing.assert_allclose(view.ghost.get_offsets(), view.x0("gaussian_2d"), atol=1e-6)
            assert view.title.get_text().startswith(f"t = {t} ")
            assert f"ᾱ_t = {float(sched.alphas_cumprod[t]):.3f}" in view.title.get_text()
            np.testing.assert_allclose(frame.mean_emp, expected.mean(0), atol=1e-5)
            np.testing.assert_allclose(line_xy(view.mean_emp)[0], expected.mean(0), atol=1e-5)


def test_view_same_noise_for_every_shape_and_step(view):
    for shape in view.shapes:
        for key, t in (("T = 100", 30), ("T = 1000", 640)):
            view.update(t=t, shape=shape, schedule=key)
            sched = view.schedule(key)
            a, b = float(sched.sqrt_alphas_cumprod[t]), float(sched.sqrt_one_minus_alphas_cumprod[t])
            eps = (view.scatter.get_offsets() - a * view.x0(shape)) / b
            np.testing.assert_allclose(eps, view.eps.numpy(), atol=2e-4)


def test_view_contours_follow_t_for_mixtures_and_vanish_for_samples(view):
    key = "T = 1000"
    view.update(t=0, shape="ring", schedule=key)
    early = line_xy(view.contour)
    view.update(t=600)
    late = line_xy(view.contour)
    expected = s2d.level_lines(s2d.density_grid(view.dist("ring"), view.schedule(key), 600, view.lim, view.grid_size),
                               view.lim)
    np.testing.assert_allclose(late, expected, atol=1e-9)
    assert early.shape != late.shape or not np.allclose(early, late, equal_nan=True)
    assert not np.all(np.isnan(late))
    view.update(shape="moons")
    assert np.all(np.isnan(line_xy(view.contour)))
    assert "samples only" in view.title.get_text()


def test_view_mean_markers_follow_the_closed_form(view):
    key = "T = 100"
    for t in (0, 50, 99):
        frame = view.update(t=t, shape="gaussian_2d", schedule=key)
        a = math.sqrt(float(view.schedule(key).alphas_cumprod[t]))
        np.testing.assert_allclose(line_xy(view.mean_cf)[0], [2 * a, 2 * a], atol=1e-9)
        np.testing.assert_allclose(frame.mean_path[t], [2 * a, 2 * a], atol=1e-9)
        # 400 points: the mean of x_t is within 4 standard errors (≤ 1/√400 = 0.05) of the closed form
        assert np.all(np.abs(frame.mean_emp - frame.mean_cf) < 4 * 0.05)
    np.testing.assert_allclose(line_xy(view.path), frame.mean_path, atol=1e-12)


def test_view_clips_t_when_the_schedule_gets_shorter(view):
    view.update(t=800, shape="grid", schedule="T = 1000")
    assert view.state["t"] == 800
    frame = view.update(schedule="T = 100")
    assert frame.t == 99 and view.state["t"] == 99
    np.testing.assert_allclose(view.scatter.get_offsets(), view.clouds("grid", "T = 100")[99], atol=0)


def test_view_caches_and_rejects_unknown_names(view):
    a = view.density("ring", "T = 100", 12)
    assert view.density("ring", "T = 100", 12) is a
    assert view.clouds("ring", "T = 100") is view.clouds("ring", "T = 100")
    before = dict(view.state)
    with pytest.raises(ValueError, match="unknown shape"):
        view.update(shape="spiral")
    assert view.state == before
    with pytest.raises(ValueError, match="unknown schedule"):
        view.frame(0, "ring", "T = 5")
    with pytest.raises(ValueError, match="unknown shape"):
        s2d.Scatter2DView(n=10, shapes=("gaussian_2d", "blob"))


def test_view_is_reproducible():
    v1, v2 = s2d.Scatter2DView(n=100, seed=5), s2d.Scatter2DView(n=100, seed=5)
    v3 = s2d.Scatter2DView(n=100, seed=6)
    for v in (v1, v2, v3):
        v.update(t=40, shape="swiss_roll", schedule="T = 100")
    np.testing.assert_array_equal(v1.scatter.get_offsets(), v2.scatter.get_offsets())
    assert not np.allclose(v1.scatter.get_offsets(), v3.scatter.get_offsets())


def test_demo_view_and_sweep():
    v = s2d.demo_view()
    assert v.n == 1000 and set(v.shapes) == set(s2d.SHAPES)
    assert len(s2d.DEMO_SWEEP) >= 20
    for params in s2d.DEMO_SWEEP[::7]:
        frame = v.update(**params)
        assert frame.t == params["t"] and frame.shape == params["shape"]
        np.testing.assert_allclose(v.scatter.get_offsets(), v.clouds(params["shape"], params["schedule"])[params["t"]])
    v.fig.canvas.draw()


# ---------------------------------------------------------------------------------------------
# static figures
# ---------------------------------------------------------------------------------------------
def test_plot_snapshots_titles_and_points(schedules):
    sched = schedules["T = 100"]
    dist, x0, eps = gaussian_cloud(200)
    clouds = s2d.noised_clouds(sched, x0, eps)
    axes = s2d.plot_snapshots(dist, sched, x0, clouds, [25, 99])
    assert [ax.get_title().split()[0:3] for ax in axes] == [["x0", "(data)"], ["t", "=", "25"], ["t", "=", "99"]]
    np.testing.assert_allclose(axes[2].collections[0].get_offsets(), clouds[99])
    for ax in axes:
        assert ax.get_xlim() == (-4.0, 4.0) and ax.get_ylim() == (-4.0, 4.0)


def test_plot_moments_draws_the_closed_form(schedules):
    sched = schedules["T = 100"]
    dist, x0, eps = gaussian_cloud(300)
    chk = s2d.moment_check(sched, s2d.noised_clouds(sched, x0, eps), dist.mean(), dist.covariance())
    ax_mean, ax_cov = s2d.plot_moments(chk)
    first_line = ax_mean.get_lines()[0]
    np.testing.assert_allclose(first_line.get_ydata(), chk.mean_cf[:, 0])
    assert any(np.allclose(ln.get_ydata(), chk.cov_cf[:, 0, 1]) for ln in ax_cov.get_lines())


def test_plot_shape_grid(view):
    fig = s2d.plot_shape_grid(view, "T = 100", [10, 99], shapes=("ring", "moons"))
    axes = fig.axes
    assert len(axes) == 6
    np.testing.assert_allclose(axes[2].collections[0].get_offsets(), view.clouds("ring", "T = 100")[99])
