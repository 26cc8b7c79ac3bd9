"""Chapter 3's schedule comparison: tables, noised grids, static figures and the live SchedulesView."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.views import schedules as sv


@pytest.fixture(scope="module")
def schedules():
    return sv.course_schedules(1000)


def closed_form(s, x0, t, eps):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε written out with numpy, independent of q_sample."""
    abar = float(np.prod(1.0 - s.betas.numpy()[: t + 1]))
    return math.sqrt(abar) * np.asarray(x0, dtype=np.float64) + math.sqrt(1 - abar) * np.asarray(eps, dtype=np.float64)


# ---- schedules and the table ------------------------------------------------------------------
def test_course_schedules_are_the_five_in_order(schedules):
    assert tuple(schedules) == sv.SCHEDULES == ("linear", "cosine", "quadratic", "quadratic_ramp", "sigmoid")
    assert all(s.T == 1000 for s in schedules.values())


@pytest.mark.parametrize("ours, diffusers", [("linear", "linear"), ("cosine", "squaredcos_cap_v2"),
                                             ("quadratic", "scaled_linear")])
def test_diffusers_names_give_the_same_betas(schedules, ours, diffusers):
    assert sv.DIFFUSERS_NAMES[ours] == diffusers
    assert torch.equal(dl.make_schedule(diffusers, 1000).betas, schedules[ours].betas)


def test_sigmoid_matches_diffusers_formula(schedules):
    # diffusers' DDPMScheduler "sigmoid": sigmoid(linspace(-6, 6, T)) * (β_end − β_start) + β_start
    u = np.linspace(-6, 6, 1000)
    expected = 1e-4 + (0.02 - 1e-4) / (1 + np.exp(-u))
    np.testing.assert_allclose(schedules["sigmoid"].betas.numpy(), expected, rtol=1e-12)


def test_linear_crosses_half_at_259_independently(schedules):
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, 1000))
    assert int(np.argmax(abar < 0.5)) == 259
    assert abar[258] >= 0.5 > abar[259]
    assert schedules["linear"].t_half() == 259


def test_cosine_crosses_half_where_the_closed_form_says(schedules):
    # ᾱ(τ) = f(τ)/f(0) = 0.5  ⇔  τ* = (1+s)·(2/π)·arccos(√(0.5 f(0))) − s; code t = papers' t − 1
    s = 0.008
    f0 = math.cos(s / (1 + s) * math.pi / 2) ** 2
    tau_star = (1 + s) * 2 / math.pi * math.acos(math.sqrt(0.5 * f0)) - s
    assert 0.49 < tau_star < 0.50
    assert schedules["cosine"].t_half() == math.floor(tau_star * 1000)  # first papers' t above τ*·T, minus 1
    assert schedules["cosine"].t_half() == 496


def test_table_rows(schedules):
    rows = {r["name"]: r for r in sv.schedule_table(schedules)}
    assert rows["linear"]["t_half"] == 259 and rows["cosine"]["t_half"] == 496
    assert rows["quadratic"]["t_half"] == 418 and rows["quadratic_ramp"]["t_half"] == 459
    assert rows["sigmoid"]["t_half"] == 439
    # ᾱ_(T−1) by hand (numpy products of the β's)
    assert rows["linear"]["abar_last"] == pytest.approx(np.prod(1 - np.linspace(1e-4, 0.02, 1000)), rel=1e-12)
    ramp = 1e-4 + (np.arange(1, 1001) / 1000) ** 2 * (0.02 - 1e-4)
    assert rows["quadratic_ramp"]["abar_last"] == pytest.approx(np.prod(1 - ramp), rel=1e-12)
    assert rows["quadratic"]["abar_last"] == pytest.approx(
        np.prod(1 - np.linspace(1e-2, math.sqrt(0.02), 1000) ** 2), rel=1e-12)
    for r in rows.values():
        assert r["scale_last"] == pytest.approx(math.sqrt(r["abar_last"]), rel=1e-12)
        assert r["t_half_frac"] == r["t_half"] / 1000
    assert rows["quadratic_ramp"]["diffusers"] is None


def test_table_markdown_has_a_row_per_schedule(schedules):
    md = sv.table_markdown(sv.schedule_table(schedules))
    lines = md.splitlines()
    assert len(lines) == 2 + 5
    assert "| linear | `linear` |" in md and "| 259 |" in md and "`squaredcos_cap_v2`" in md


def test_short_linear_schedules_keep_signal():
    with pytest.warns(dl.ScheduleWarning, match="T = 50"):
        dl.make_schedule("linear", 50)
    for T, scale in ((50, 0.7765), (200, 0.3636), (300, 0.2192)):
        abar = np.prod(1 - np.linspace(1e-4, 0.02, T))
        assert math.sqrt(abar) == pytest.approx(scale, abs=1e-4)
        assert sv.course_schedules(T, ["linear"])["linear"].signal_left() == pytest.approx(abar, rel=1e-12)


# ---- data and noising ---------------------------------------------------------------------------
def test_load_digit_matches_sklearn():
    from sklearn.datasets import load_digits

    x = sv.load_digit(3)
    assert x.shape == (1, 1, 8, 8) and x.dtype == torch.float32
    np.testing.assert_allclose(x[0, 0].numpy(), load_digits().images[3] / 8.0 - 1.0, atol=1e-6)
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    with pytest.raises(ValueError):
        sv.load_digit(5000)


def test_noised_grid_is_the_closed_form(schedules, generator):
    x0 = sv.load_digit(0)
    eps = torch.randn(x0.shape, generator=generator)
    ts = [0, 259, 999]
    grid = sv.noised_grid(schedules, x0, eps, ts)
    assert grid.shape == (5, 3, 1, 8, 8)
    for r, s in enumerate(schedules.values()):
        for k, t in enumerate(ts):
            np.testing.assert_allclose(grid[r, k].numpy(), closed_form(s, x0[0], t, eps[0]), atol=1e-5)
    # same ε everywhere: at t = 999 every schedule is almost pure ε
    assert float((grid[:, 2] - eps[0]).abs().max()) < 0.05
    cloud = dl.make_distribution("ring").sample(50, generator=generator)
    assert sv.noised_grid(schedules, cloud, torch.randn(cloud.shape, generator=generator), ts).shape == (5, 3, 50, 2)


def test_noised_cloud_has_the_right_moments_statistically(generator):
    # x0 ~ N((2, 2), 0.5² I): x_t ~ N(√ᾱ·2, ᾱ·0.25 + 1 − ᾱ) per coordinate
    s = sv.course_schedules(1000, ["cosine"])
    x0 = dl.make_distribution("gaussian_2d").sample(20000, generator=generator)
    t = 500
    xt = sv.noised_grid(s, x0, torch.randn(x0.shape, generator=generator), [t])[0, 0]
    abar = float(s["cosine"].alphas_cumprod[t])
    assert float(xt.mean()) == pytest.approx(2 * math.sqrt(abar), abs=0.03)        # ~5 standard errors
    assert float(xt.var()) == pytest.approx(abar * 0.25 + 1 - abar, rel=0.05)


def test_schedules_frame(schedules, generator):
    img = sv.load_digit(0)
    e_img = torch.randn(img.shape, generator=generator)
    cloud = dl.make_distribution("ring").sample(40, generator=generator)
    e_cloud = torch.randn(cloud.shape, generator=generator)
    frame = sv.schedules_frame(schedules, "cosine", 300, img, e_img, cloud, e_cloud)
    assert frame.chosen == 1 and frame.t == 300 and frame.names == sv.SCHEDULES
    expected_imgs = np.stack([closed_form(s, img[0], 300, e_img[0]) for s in schedules.values()])
    np.testing.assert_allclose(frame.tile, tile_images(expected_imgs, nrow=5), atol=1e-5)
    assert frame.tile.shape == (8, 5 * 9 - 1)
    for n, s in schedules.items():
        assert frame.abar[n] == pytest.approx(float(np.prod(1 - s.betas.numpy()[:301])), rel=1e-12)
        np.testing.assert_allclose(frame.clouds[n], closed_form(s, cloud, 300, e_cloud), atol=1e-5)
    with pytest.raises(ValueError, match="schedule must be one of"):
        sv.schedules_frame(schedules, "cosyne", 3, img, e_img, cloud, e_cloud)
    with pytest.raises(ValueError):
        sv.schedules_frame(schedules, "cosine", 1000, img, e_img, cloud, e_cloud)


# ---- static figures -----------------------------------------------------------------------------
@pytest.mark.parametrize("quantity", ["betas", "alphas_cumprod", "log_snr"])
def test_plot_overlay_draws_each_schedule(schedules, quantity):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    lines = sv.plot_overlay(schedules, quantity, ax, mark_half=quantity == "alphas_cumprod")
    assert list(lines) == list(schedules)
    for n, line in lines.items():
        np.testing.assert_array_equal(line.get_ydata(), getattr(schedules[n], quantity).numpy())
    assert (ax.get_yscale() == "log") == (quantity == "betas")
    if quantity == "alphas_cumprod":  # a dot at each t_half, on the curve
        dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
        assert sorted(int(d.get_xdata()[0]) for d in dots) == sorted(s.t_half() for s in schedules.values())
    with pytest.raises(ValueError, match="quantity"):
        sv.plot_overlay(schedules, "alpha_bar", ax)


def test_static_grids(schedules, generator):
    import matplotlib.pyplot as plt

    x0 = sv.load_digit(0)
    ts = [0, 250, 999]
    grid = sv.noised_grid(schedules, x0, torch.randn(x0.shape, generator=generator), ts)
    fig, ax = plt.subplots()
    im = sv.plot_image_grid(ax, grid, schedules, ts)
    assert im.get_array().shape == (5 * 9 - 1, 3 * 9 - 1)
    np.testing.assert_allclose(im.get_array()[9:17, 9:17], grid[1, 1, 0].numpy(), atol=1e-6)  # cosine, t = 250
    assert [t.get_text() for t in ax.get_yticklabels()] == list(schedules)
    cloud = dl.make_distribution("ring").sample(30, generator=generator)
    cgrid = sv.noised_grid(schedules, cloud, torch.randn(cloud.shape, generator=generator), ts)
    axes = sv.plot_cloud_grid(plt.figure(), cgrid, schedules, ts)
    assert axes.shape == (5, 3)
    np.testing.assert_allclose(axes[2, 1].collections[0].get_offsets(), cgrid[2, 1].numpy(), atol=1e-6)


# ---- live view ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def view():
    import matplotlib
    matplotlib.use("Agg", force=True)
    return sv.SchedulesView(n_points=60)


def test_view_update_changes_every_artist(view):
    before_tile = view.im.get_array().copy()
    before_pts = view.scatters["linear"].get_xydata().copy()
    for name in sv.SCHEDULES:
        for t in (0, 120, 259, 600, 999):
            frame = view.update(schedule=name, t=t)
            k = sv.SCHEDULES.index(name)
            np.testing.assert_allclose(view.im.get_array(), frame.tile)
            assert view.box.get_x() == pytest.approx(k * (8 + view.pad) - 0.5)
            offsets = view.markers.get_offsets()
            np.testing.assert_allclose(offsets[:, 0], t)
            np.testing.assert_allclose(offsets[:, 1], [float(view.schedules[n].alphas_cumprod[t]) for n in sv.SCHEDULES])
            assert list(view.vline.get_xdata()) == [t, t]
            for n, s in view.schedules.items():
                np.testing.assert_allclose(view.scatters[n].get_xydata(),
                                           closed_form(s, view.cloud, t, view.eps_cloud), atol=1e-5)
                assert view.curves[n].get_linewidth() == (3.0 if n == name else 1.2)
                assert view.frames[n].get_visible() == (n == name)
            assert view.curve_title.get_text() == f"t = {t}: ᾱ_t = {frame.abar[name]:.3f} ({name})"
    view.update(schedule="linear", t=999)
    # at the last step the digit is gone: the tile is (almost exactly) the noise under every schedule
    assert not np.allclose(view.im.get_array(), before_tile)
    assert not np.allclose(view.scatters["linear"].get_xydata(), before_pts)
    eps_tile = tile_images(view.eps_image.expand(5, -1, -1, -1), nrow=5, pad=view.pad)
    assert float(np.abs(view.im.get_array() - eps_tile).max()) < 0.05


def test_view_at_t0_shows_the_clean_digit(view):
    view.update(schedule="cosine", t=0)
    clean = tile_images(view.image.expand(5, -1, -1, -1), nrow=5, pad=view.pad)
    assert float(np.abs(view.im.get_array() - clean).max()) < 0.05   # √(1−ᾱ_0) ≤ 0.013 under every schedule
    assert view.box.get_x() == pytest.approx(8 + view.pad - 0.5)


def test_view_tiles_sit_over_their_columns(view):
    """The one tiled imshow is laid out so that tile k is centred over cloud panel k."""
    view.fig.canvas.draw()
    img_box = view.ax_img.get_window_extent()
    tile_w_px = img_box.width / view.im.get_array().shape[1]
    for k, ax in enumerate(view.ax_clouds):
        tile_centre = img_box.x0 + (k * (8 + view.pad) + 4) * tile_w_px
        panel = ax.get_window_extent()
        assert abs(tile_centre - (panel.x0 + panel.x1) / 2) < 0.05 * panel.width


def test_view_rejects_unknown_schedule(view):
    with pytest.raises(ValueError, match="schedule must be one of"):
        view.update(schedule="scaled_linear", t=0)


def test_view_draws_headless(view):
    view.update(schedule="sigmoid", t=400)
    view.fig.canvas.draw()
    rgba = np.asarray(view.fig.canvas.buffer_rgba())
    assert rgba.shape[2] == 4 and rgba[..., :3].std() > 10   # something was drawn


def test_demo_sweep_is_valid():
    assert {p["schedule"] for p in sv.DEMO_SWEEP} == set(sv.SCHEDULES)
    assert all(0 <= p["t"] < 1000 for p in sv.DEMO_SWEEP)
    assert isinstance(sv.demo_view(), sv.SchedulesView)
