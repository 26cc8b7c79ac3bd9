"""Chapter 3's schedule comparison (diffusion_lab/views/schedule_comparison.py): the markdown table, the live
frame, the static figures and SchedulesView, headless. make_schedules, schedule_table and q_sample_grid are
tested with the core (test_schedules, test_forward)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.data import load_digit
from diffusion_lab.forward import q_sample_grid
from diffusion_lab.views import schedule_comparison as schedule_view


@pytest.fixture(scope="module")
def schedules():
    return dl.schedules.make_schedules(T=1000)


def closed_form(s, x0, t, eps):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε written out with numpy, independent of q_sample."""
    abar = float(np.prod(1.0 - s.betas.numpy()[: t + 1]))
    return math.sqrt(abar) * np.asarray(x0, dtype=np.float64) + math.sqrt(1 - abar) * np.asarray(eps, dtype=np.float64)


# ---- the table ---------------------------------------------------------------------------------
def test_table_markdown_has_a_row_per_schedule(schedules):
    md = schedule_view.table_markdown(dl.schedules.schedule_table(schedules))
    lines = md.splitlines()
    assert len(lines) == 2 + 5
    assert "| linear | `linear` |" in md and "| 260 | 26% |" in md and "`squaredcos_cap_v2`" in md


def test_table_markdown_crossing_and_its_fraction_of_T_agree():
    """Both crossing columns count the maths' t (code index + 1): T = 100's linear schedule crosses at t = 83,
    83 % of T (not the code index's 82 %)."""
    short = dl.schedules.make_schedules(["linear"], T=100)
    assert short["linear"].t_half() == 82
    md = schedule_view.table_markdown(dl.schedules.schedule_table(short))
    assert "| 83 | 83% |" in md


def test_schedules_frame(schedules, generator):
    img = load_digit(0)
    e_img = torch.randn(img.shape, generator=generator)
    cloud = dl.make_distribution("ring").sample(40, generator=generator)
    e_cloud = torch.randn(cloud.shape, generator=generator)
    frame = schedule_view.schedules_frame(schedules, "cosine", 300, img, e_img, cloud, e_cloud)
    assert frame.chosen == 1 and frame.t == 300 and frame.names == schedule_view.SCHEDULES
    expected_imgs = np.stack([closed_form(s, img[0], 300, e_img[0]) for s in schedules.values()])
    np.testing.assert_allclose(frame.tile, tile_images(expected_imgs, nrow=5), atol=1e-5)
    assert frame.tile.shape == (8, 5 * 9 - 1)
    for n, s in schedules.items():
        assert frame.abar[n] == pytest.approx(float(np.prod(1 - s.betas.numpy()[:301])), rel=1e-12)
        np.testing.assert_allclose(frame.clouds[n], closed_form(s, cloud, 300, e_cloud), atol=1e-5)
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule_view.schedules_frame(schedules, "cosyne", 3, img, e_img, cloud, e_cloud)
    with pytest.raises(ValueError):
        schedule_view.schedules_frame(schedules, "cosine", 1000, img, e_img, cloud, e_cloud)


# ---- static figures -----------------------------------------------------------------------------
@pytest.mark.parametrize("quantity", ["betas", "alphas_cumprod", "log_snr"])
def test_plot_overlay_draws_each_schedule(schedules, quantity):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    lines = schedule_view.plot_overlay(schedules, quantity, ax, mark_half=quantity == "alphas_cumprod")
    assert list(lines) == list(schedules)
    for n, line in lines.items():
        np.testing.assert_array_equal(line.get_ydata(), getattr(schedules[n], quantity).numpy())
        assert line.get_xdata()[0] == 1 and line.get_xdata()[-1] == schedules[n].T   # the maths' t = 1..T
    assert (ax.get_yscale() == "log") == (quantity == "betas")
    if quantity == "alphas_cumprod":  # a dot at each t_half, on the curve
        dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
        assert sorted(int(d.get_xdata()[0]) for d in dots) == sorted(s.t_half() + 1 for s in schedules.values())
    with pytest.raises(ValueError, match="quantity"):
        schedule_view.plot_overlay(schedules, "alpha_bar", ax)


def test_static_grids(schedules, generator):
    import matplotlib.pyplot as plt

    x0 = load_digit(0)
    ts = [0, 250, 999]
    grid = q_sample_grid(schedules, x0, ts, noise=torch.randn(x0.shape, generator=generator))[:, :, 0]
    fig, ax = plt.subplots()
    im = schedule_view.plot_image_grid(ax, grid, schedules, ts)
    assert im.get_array().shape == (5 * 9 - 1, 3 * 9 - 1)
    np.testing.assert_allclose(im.get_array()[9:17, 9:17], grid[1, 1, 0].numpy(), atol=1e-6)  # cosine, t = 250
    assert [t.get_text() for t in ax.get_yticklabels()] == list(schedules)
    cloud = dl.make_distribution("ring").sample(30, generator=generator)
    cgrid = q_sample_grid(schedules, cloud, ts, noise=torch.randn(cloud.shape, generator=generator))
    axes = schedule_view.plot_cloud_grid(plt.figure(), cgrid, schedules, ts)
    assert axes.shape == (5, 3)
    np.testing.assert_allclose(axes[2, 1].collections[0].get_offsets(), cgrid[2, 1].numpy(), atol=1e-6)


# ---- live view ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def view():
    import matplotlib
    matplotlib.use("Agg", force=True)
    return schedule_view.SchedulesView(n_points=60)


def test_view_update_changes_every_artist(view):
    before_tile = view.im.get_array().copy()
    before_pts = view.scatters["linear"].get_xydata().copy()
    for name in schedule_view.SCHEDULES:
        for t in (1, 121, 260, 601, 1000):                  # the maths' t; code index t − 1
            frame = view.update(schedule=name, t=t)
            k = schedule_view.SCHEDULES.index(name)
            np.testing.assert_allclose(view.im.get_array(), frame.tile)
            assert view.box.get_x() == pytest.approx(k * (8 + view.pad) - 0.5)
            offsets = view.markers.get_offsets()
            np.testing.assert_allclose(offsets[:, 0], t - 1)
            abar = [float(view.schedules[n].alphas_cumprod[t - 1]) for n in schedule_view.SCHEDULES]
            np.testing.assert_allclose(offsets[:, 1], abar)
            assert list(view.vline.get_xdata()) == [t - 1, t - 1]
            for n, s in view.schedules.items():
                np.testing.assert_allclose(view.scatters[n].get_xydata(),
                                           closed_form(s, view.cloud, t - 1, view.eps_cloud), atol=1e-5)
                assert view.curves[n].get_linewidth() == (3.0 if n == name else 1.2)
                assert view.frames[n].get_visible() == (n == name)
            assert view.curve_title.get_text() == f"t = {t}: ᾱ_t = {frame.abar[name]:.3f} ({name})"
    view.update(schedule="linear", t=1000)
    # at the last step the digit is gone: the tile is (almost exactly) the noise under every schedule
    assert not np.allclose(view.im.get_array(), before_tile)
    assert not np.allclose(view.scatters["linear"].get_xydata(), before_pts)
    eps_tile = tile_images(view.eps_image.expand(5, -1, -1, -1), nrow=5, pad=view.pad)
    assert float(np.abs(view.im.get_array() - eps_tile).max()) < 0.05


def test_view_at_t1_shows_the_clean_digit(view):
    view.update(schedule="cosine", t=1)
    clean = tile_images(view.image.expand(5, -1, -1, -1), nrow=5, pad=view.pad)
    assert float(np.abs(view.im.get_array() - clean).max()) < 0.05   # √(1−ᾱ_1) ≤ 0.013 under every schedule
    with pytest.raises(ValueError, match="1"):
        view.update(t=0)                                           # t = 0 is the data, not a noising step
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


def test_update_keeps_what_it_is_not_given(view):
    """The regression the view contract fixed: update(t=...) used to reset the schedule to linear."""
    view.update(schedule="cosine", t=300)
    frame = view.update(t=500)
    assert view.state == {"schedule": "cosine", "t": 500} and frame.chosen == 1
    assert view.update(schedule="sigmoid").t == 500 - 1          # the frame records the code index


def test_view_rejects_unknown_schedule(view):
    with pytest.raises(ValueError, match="unknown schedule"):
        view.update(schedule="scaled_linear", t=1)


def test_view_draws_headless(view):
    view.update(schedule="sigmoid", t=400)
    view.fig.canvas.draw()
    rgba = np.asarray(view.fig.canvas.buffer_rgba())
    assert rgba.shape[2] == 4 and rgba[..., :3].std() > 10   # something was drawn


def test_demo_sweep_is_valid():
    assert {p["schedule"] for p in schedule_view.DEMO_SWEEP} == set(schedule_view.SCHEDULES)
    assert all(1 <= p["t"] <= 1000 for p in schedule_view.DEMO_SWEEP)
    assert isinstance(schedule_view.demo_view(), schedule_view.SchedulesView)


def test_explorer_labels_are_readable_and_the_figure_fits(view):
    """Schedule names and curve labels at ≥ 11 pt (about 14 px at 90 dpi); the figure ≤ 11 in wide, so it
    is not shrunk in a ~1000 px output area."""
    texts = [t for ax in view.fig.axes for t in ax.texts]
    assert texts and min(t.get_fontsize() for t in texts) >= 11
    names = {t.get_text() for t in texts}
    assert set(schedule_view.SCHEDULES) <= names and "t = 1" in names and f"t = {view.T}" in names
    assert view.fig.get_size_inches()[0] <= 11.3


def test_table_markdown_says_never_when_abar_stays_above_half():
    """quadratic_ramp at T = 100 never drops below ᾱ = 0.5 (t_half() returns T): the table says 'never', not T + 1."""
    short = dl.schedules.make_schedules(T=100)
    assert short["quadratic_ramp"].t_half() == 100 and short["linear"].t_half() < 100
    md = schedule_view.table_markdown(dl.schedules.schedule_table(short))
    ramp_row = next(line for line in md.splitlines() if line.startswith("| quadratic_ramp |"))
    assert "| never | — |" in ramp_row and "101" not in ramp_row
    linear_row = next(line for line in md.splitlines() if line.startswith("| linear |"))
    assert f"| {short['linear'].t_half() + 1} |" in linear_row
