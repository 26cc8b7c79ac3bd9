"""Chapter 4's views (diffusion_lab/views/eps_prediction.py): the arrow and denoising views and the static
figures, headless. The numbers they draw (closed_form_check, eps_error_by_t, eps_field, denoise) are
tested in tests/test_metrics.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.views import eps_prediction as eps_view


SCHEDULE = dl.make_schedule("linear", 1000)
RING = dl.make_distribution("ring")


def test_smooth_is_a_running_mean():
    np.testing.assert_allclose(eps_view.smooth([1, 2, 3, 4], window=2), [1, 1.5, 2.5, 3.5])
    assert eps_view.smooth([], window=3).size == 0


# ---- views ---------------------------------------------------------------------------------------------------
def test_eps_field_view_updates_arrows_points_and_marker():
    exact = RING.eps_model(SCHEDULE)
    model = lambda x, t: 0.5 * exact(x, t)  # noqa: E731 — a deliberately wrong "network"
    err = dl.metrics.eps_error_by_t(model, SCHEDULE, RING, [0, 500, 999], n=200, generator=dl.make_generator(5))
    view = eps_view.EpsFieldView(model, SCHEDULE, RING, error=err, grid_n=7, n_points=50)
    for t in (10, 400, 999):
        view.update(t=t)
        view.fig.canvas.draw()
        _, e_model, e_exact = dl.metrics.eps_field(model, SCHEDULE, RING, t, view.lim, view.grid_n)
        np.testing.assert_allclose(view.q_model.U, e_model[:, 0], rtol=1e-6)
        np.testing.assert_allclose(view.q_exact.V, e_exact[:, 1], rtol=1e-6)
        np.testing.assert_allclose(view.points.get_offsets(),
                                   dl.q_sample(SCHEDULE, view.x0, t, noise=view.noise).numpy(), rtol=1e-6)
        assert list(view.vline.get_xdata()) == [t, t] and f"t = {t}" in view.title.get_text()
    with pytest.raises(ValueError, match="0..999"):
        view.update(t=1000)
    assert view.state == {"t": 999}


def test_denoise_view_tiles_x0_xt_and_the_guess():
    x0 = torch.rand(3, 1, 4, 4, generator=dl.make_generator(6)) * 2 - 1
    model = lambda x, t: torch.zeros_like(x)  # noqa: E731
    view = eps_view.DenoiseView(model, SCHEDULE, x0, seed=1)
    for t in (0, 300, 999):
        view.update(t=t)
        x_t, x0_hat = dl.metrics.denoise(model, SCHEDULE, x0, t, noise=view.noise)
        expected = tile_images(torch.cat([x0, x_t.clamp(-1, 1), x0_hat.clamp(-1, 1)]), nrow=3)
        np.testing.assert_allclose(view.im.get_array(), expected, rtol=1e-6)
        assert f"at t = {t} " in view.title.get_text()
    assert view.im.get_array().shape == (3 * 5 - 1, 3 * 5 - 1)


# ---- static figures -----------------------------------------------------------------------------------------
def test_static_figures():
    import matplotlib.pyplot as plt

    ax = eps_view.plot_loss_curve([1.0, 0.5, 0.3, 0.3], window=2, floor=0.25)
    assert len(ax.get_lines()) == 3
    err = dl.metrics.eps_error_by_t(RING.eps_model(SCHEDULE), SCHEDULE, RING, [0, 999], n=50,
                                    generator=dl.make_generator(7))
    err.mse_to_exact[:] = 1e-4  # (exact model: 0 would not show on a log axis)
    ax = eps_view.plot_eps_error_by_t(err)
    assert len(ax.get_lines()) == 3
    from diffusion_lab.training import loss_by_t
    lb = loss_by_t(RING.eps_model(SCHEDULE), SCHEDULE, RING, num_buckets=3, samples_per_bucket=20)
    ax = eps_view.plot_loss_by_t({"exact": lb})
    assert len(ax.get_lines()) == 1
    fig = eps_view.plot_denoise_grid(lambda x, t: torch.zeros_like(x), SCHEDULE, torch.zeros(1, 1, 4, 4), ts=[10, 500])
    assert len(fig.axes) == 6
    plt.close("all")


def test_demo_hooks():
    view = eps_view.demo_view()
    for p in eps_view.DEMO_SWEEP:
        view.update(**p)
    assert view.state["t"] == eps_view.DEMO_SWEEP[-1]["t"]
