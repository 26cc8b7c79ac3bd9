"""Chapter 4 views: closed form vs iterated noising, ε̂ vs ε* by t, the arrow and denoising views, figures."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.views import training as tv


@pytest.fixture(scope="module")
def schedule():
    return dl.make_schedule("linear", 1000)


@pytest.fixture(scope="module")
def ring():
    return dl.make_distribution("ring")


# ---- one jump = t + 1 small steps ----------------------------------------------------------------------
def test_iterate_forward_with_t0_is_one_step(schedule):
    x0 = torch.randn(5, 2, generator=dl.make_generator(0), dtype=torch.float64)
    a = tv.iterate_forward(schedule, x0, 0, generator=dl.make_generator(1))
    b = dl.q_step(schedule, x0, 0, generator=dl.make_generator(1))
    torch.testing.assert_close(a, b)


def test_iterated_noising_matches_the_closed_form_in_distribution(schedule):
    for t in (0, 50, 300, 999):
        c = tv.closed_form_check(schedule, x0=1.5, t=t, n=20000, generator=dl.make_generator(t))
        abar = float(schedule.alphas_cumprod[t])
        assert c.agrees(z=4.0), (t, c.mean_z, c.std_z)
        assert c.mean_iterated == pytest.approx(math.sqrt(abar) * 1.5, abs=4 * math.sqrt((1 - abar) / 20000) + 1e-9)
        assert c.std_iterated == pytest.approx(math.sqrt(1 - abar), rel=0.03)
        # the 5 % and 95 % quantiles of two samples of 20 000 differ with SE ≈ 0.017 here: 4 SE = 0.07
        np.testing.assert_allclose(c.quantiles_iterated, c.quantiles_closed, atol=0.07)


def test_closed_form_check_can_fail():
    # moments that differ by many standard errors are flagged
    bad = tv.ClosedFormCheck(t=100, mean_iterated=1.0, mean_closed=1.1, std_iterated=0.5, std_closed=0.5,
                             quantiles_iterated=np.zeros(5), quantiles_closed=np.zeros(5), n=20000)
    assert bad.mean_z > 20 and not bad.agrees()
    wide = tv.ClosedFormCheck(t=100, mean_iterated=1.0, mean_closed=1.0, std_iterated=0.5, std_closed=0.55,
                              quantiles_iterated=np.zeros(5), quantiles_closed=np.zeros(5), n=20000)
    assert wide.std_z > 10 and not wide.agrees()


# ---- ε̂ against ε* ------------------------------------------------------------------------------------------
def test_eps_error_by_t_for_the_exact_model_and_the_zero_model(schedule, ring):
    exact = ring.eps_model(schedule)
    ts = [0, 100, 500, 999]
    e = tv.eps_error_by_t(exact, ring, schedule, ts, n=2000, generator=dl.make_generator(2))
    np.testing.assert_allclose(e.mse_to_exact, 0.0, atol=1e-10)
    np.testing.assert_allclose(e.loss_model, e.loss_exact, rtol=1e-6)
    zero = tv.eps_error_by_t(lambda x, t: torch.zeros_like(x), ring, schedule, ts, n=2000, generator=dl.make_generator(2))
    # the zero model's loss is E ε² = 1 (SE ≈ √(2/4000) ≈ 0.022), and it splits into floor + distance to ε*
    np.testing.assert_allclose(zero.loss_model, 1.0, atol=0.1)
    np.testing.assert_allclose(zero.loss_model, zero.loss_exact + zero.mse_to_exact, atol=0.05)
    # at large t, ε ≈ x_t/√(1−ᾱ) is easy: the floor is tiny; at t = 0 it is near 1
    assert e.loss_exact[-1] < 1e-3 and e.loss_exact[0] > 0.8


def test_eps_field_returns_the_exact_field(schedule, ring):
    pts, e_model, e_exact = tv.eps_field(lambda x, t: 2 * x, ring, schedule, 300, lim=2.0, grid_n=5)
    assert pts.shape == (25, 2) and pts.min() == -2.0 and pts.max() == 2.0
    np.testing.assert_allclose(e_model, 2 * pts)
    np.testing.assert_allclose(e_exact, ring.eps_star(schedule, torch.as_tensor(pts), 300).numpy(), rtol=1e-6)


def test_denoise_with_the_true_noise_recovers_x0(schedule):
    x0 = torch.rand(3, 1, 4, 4, generator=dl.make_generator(3)) * 2 - 1
    eps = torch.randn(x0.shape, generator=dl.make_generator(4))
    oracle = lambda x_t, t: eps  # noqa: E731 — "knows" the noise that was used
    x_t, x0_hat = tv.denoise(oracle, schedule, x0, eps, 400)
    torch.testing.assert_close(x_t, dl.q_sample(schedule, x0, 400, noise=eps))
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=1e-4)


def test_smooth_is_a_running_mean():
    np.testing.assert_allclose(tv.smooth([1, 2, 3, 4], window=2), [1, 1.5, 2.5, 3.5])
    assert tv.smooth([], window=3).size == 0


def test_shipped_points_into_the_repository_data_folder(repo_root):
    assert tv.shipped("unet_digits") == repo_root / "data" / "unet_digits"


# ---- views ---------------------------------------------------------------------------------------------------
def test_eps_field_view_updates_arrows_points_and_marker(schedule, ring):
    exact = ring.eps_model(schedule)
    model = lambda x, t: 0.5 * exact(x, t)  # noqa: E731 — a deliberately wrong "network"
    err = tv.eps_error_by_t(model, ring, schedule, [0, 500, 999], n=200, generator=dl.make_generator(5))
    view = tv.EpsFieldView(model, ring, schedule, error=err, grid_n=7, n_points=50)
    for t in (10, 400, 999):
        view.update(t=t)
        view.fig.canvas.draw()
        _, e_model, e_exact = tv.eps_field(model, ring, schedule, t, view.lim, view.grid_n)
        np.testing.assert_allclose(view.q_model.U, e_model[:, 0], rtol=1e-6)
        np.testing.assert_allclose(view.q_exact.V, e_exact[:, 1], rtol=1e-6)
        np.testing.assert_allclose(view.points.get_offsets(),
                                   dl.q_sample(schedule, view.x0, t, noise=view.noise).numpy(), rtol=1e-6)
        assert list(view.vline.get_xdata()) == [t, t] and f"t = {t}" in view.title.get_text()
    with pytest.raises(ValueError):
        view.update(t=1000)


def test_denoise_view_tiles_x0_xt_and_the_guess(schedule):
    x0 = torch.rand(3, 1, 4, 4, generator=dl.make_generator(6)) * 2 - 1
    model = lambda x, t: torch.zeros_like(x)  # noqa: E731
    view = tv.DenoiseView(model, schedule, x0, seed=1)
    for t in (0, 300, 999):
        view.update(t=t)
        x_t, x0_hat = tv.denoise(model, schedule, x0, view.noise, t)
        expected = tile_images(torch.cat([x0, x_t.clamp(-1, 1), x0_hat.clamp(-1, 1)]), nrow=3)
        np.testing.assert_allclose(view.im.get_array(), expected, rtol=1e-6)
        assert f"at t = {t} " in view.title.get_text()
    assert view.im.get_array().shape == (3 * 5 - 1, 3 * 5 - 1)


# ---- static figures -----------------------------------------------------------------------------------------
def test_static_figures(schedule, ring):
    import matplotlib.pyplot as plt

    ax = tv.plot_loss_curve([1.0, 0.5, 0.3, 0.3], window=2, floor=0.25)
    assert len(ax.get_lines()) == 3
    err = tv.eps_error_by_t(ring.eps_model(schedule), ring, schedule, [0, 999], n=50, generator=dl.make_generator(7))
    err.mse_to_exact[:] = 1e-4  # (exact model: 0 would not show on a log axis)
    ax = tv.plot_eps_error_by_t(err)
    assert len(ax.get_lines()) == 3
    from diffusion_lab.training import loss_by_t
    lb = loss_by_t(ring.eps_model(schedule), schedule, ring, num_buckets=3, samples_per_bucket=20)
    ax = tv.plot_loss_by_t({"exact": lb})
    assert len(ax.get_lines()) == 1
    fig = tv.plot_denoise_grid(lambda x, t: torch.zeros_like(x), schedule, torch.zeros(1, 1, 4, 4), ts=[10, 500])
    assert len(fig.axes) == 6
    plt.close("all")


def test_demo_hooks():
    view = tv.demo_view()
    for p in tv.DEMO_SWEEP:
        view.update(**p)
    assert view.state["t"] == tv.DEMO_SWEEP[-1]["t"]
