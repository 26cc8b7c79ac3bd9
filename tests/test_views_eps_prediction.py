"""Chapter 4's views (diffusion_lab/views/eps_prediction.py): the arrow and denoising views and the static
figures, headless. The numbers they draw (closed_form_check, eps_error_by_t, eps_field, denoise) are
tested in tests/test_metrics.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images, to_numpy
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
    for t in (1, 10, 400, 1000):                                   # the maths' t; code index t − 1
        view.update(t=t)
        view.fig.canvas.draw()
        _, e_model, e_exact = dl.metrics.eps_field(model, SCHEDULE, RING, t - 1, view.lim, view.grid_n)
        np.testing.assert_allclose(view.q_model.U, e_model[:, 0], rtol=1e-6)
        np.testing.assert_allclose(view.q_exact.V, e_exact[:, 1], rtol=1e-6)
        np.testing.assert_allclose(view.points.get_offsets(),
                                   dl.q_sample(SCHEDULE, view.x0, t - 1, noise=view.noise).numpy(), rtol=1e-6)
        assert list(view.vline.get_xdata()) == [t, t] and view.title.get_text().startswith(f"t = {t}:")
        x_t = dl.q_sample(SCHEDULE, view.x0, t - 1, noise=view.noise)
        on_samples = float((model(x_t, t - 1) - exact(x_t, t - 1)).pow(2).mean())   # not the arrows' grid
        assert "over the grey x_t" in view.title.get_text()
        assert view.title.get_text().endswith(f"= {on_samples:.4f}"), (view.title.get_text(), on_samples)
    np.testing.assert_allclose(view.axe.lines[0].get_xdata(), [1, 501, 1000])   # ErrorByT's indices + 1
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="1..1000"):
            view.update(t=bad)
    assert view.state == {"t": 1000}


def test_eps_field_view_is_labelled_and_keyed_inside_the_figure():
    """Axis labels with symbols, the maths' t on the error panel's x axis, titles ≥ 10 pt, a key inside the
    figure at ≥ 9 pt, and nothing outside the figure."""
    err = dl.metrics.eps_error_by_t(RING.eps_model(SCHEDULE), SCHEDULE, RING, [0, 999], n=50,
                                    generator=dl.make_generator(5))
    view = eps_view.EpsFieldView(RING.eps_model(SCHEDULE), SCHEDULE, RING, error=err, grid_n=5, n_points=30)
    assert "x_t" in view.ax.get_xlabel() and "x_t" in view.ax.get_ylabel()
    assert view.axe.get_xlabel().startswith("noising step t") and "ε*" in view.axe.get_ylabel()
    assert min(view.title.get_fontsize(), view.axe.title.get_fontsize()) >= 10
    texts = [t.get_text() for t in view.ax.get_legend().get_texts()]
    assert any("ε*" in t for t in texts) and any("ε̂" in t for t in texts) and any("x_t" in t for t in texts)
    assert min(t.get_fontsize() for t in view.ax.get_legend().get_texts()) >= 9
    view.fig.canvas.draw()
    renderer = view.fig.canvas.get_renderer()
    figure_box = view.fig.bbox
    for artist in [view.ax.get_legend(), view.title, view.axe.title, view.ax.xaxis.label, view.axe.xaxis.label,
                   view.ax.yaxis.label, view.axe.yaxis.label]:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1, artist
        assert box.y0 >= figure_box.y0 - 1 and box.y1 <= figure_box.y1 + 1, artist


def test_denoise_view_tiles_x0_xt_and_the_guess():
    x0 = torch.rand(3, 1, 4, 4, generator=dl.make_generator(6)) * 2 - 1
    model = lambda x, t: torch.zeros_like(x)  # noqa: E731
    view = eps_view.DenoiseView(model, SCHEDULE, x0, seed=1)
    for t in (1, 300, 1000):                                       # the maths' t; code index t − 1
        view.update(t=t)
        x_t, x0_hat = dl.metrics.denoise(model, SCHEDULE, x0, t - 1, noise=view.noise)
        expected = tile_images(torch.cat([x0, x_t.clamp(-1, 1), x0_hat.clamp(-1, 1)]), nrow=3)
        np.testing.assert_allclose(view.im.get_array(), expected, rtol=1e-6)
        assert view.title.get_text().startswith(f"t = {t}, ᾱ_t = {float(SCHEDULE.alphas_cumprod[t - 1]):.3f}")
    assert view.im.get_array().shape == (3 * 5 - 1, 3 * 5 - 1)
    assert [label.get_text() for label in view.ax.get_yticklabels()] == ["x0", "x_t", "x̂0"]
    with pytest.raises(ValueError, match="1..1000"):
        view.update(t=0)


def test_denoise_view_blits_like_a_full_draw():
    """DenoiseView has no demo_view, so tests/test_views_blit.py does not sweep it: the same check here."""
    import io

    from PIL import Image

    from diffusion_lab.plotting import figure_png

    def differing_fraction(a: bytes, b: bytes) -> float:          # as in tests/test_views_blit.py
        pa, pb = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16) for png in (a, b))
        return float((np.abs(pa - pb).max(axis=2) > 8).mean())

    x0 = torch.rand(4, 1, 8, 8, generator=dl.make_generator(6)) * 2 - 1
    view = eps_view.DenoiseView(lambda x, t: torch.zeros_like(x), SCHEDULE, x0, seed=1)
    for t in (1, 50, 300, 1000):
        view.update(t=t)
        assert differing_fraction(view.render_png(), figure_png(view.fig)) <= 0.005, t


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
    assert ax.get_xlabel().startswith("noising step t")
    np.testing.assert_allclose(ax.lines[0].get_xdata(), to_numpy(lb.t_mid) + 1)
    ax = eps_view.plot_eps_error_by_t(err)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [1, 1000])
    fig = eps_view.plot_denoise_grid(lambda x, t: torch.zeros_like(x), SCHEDULE, torch.zeros(1, 1, 4, 4), ts=[10, 1000])
    assert len(fig.axes) == 6 and fig.axes[2].get_title() == "x_t, t = 1000"
    with pytest.raises(ValueError, match="1..1000"):
        eps_view.plot_denoise_grid(lambda x, t: torch.zeros_like(x), SCHEDULE, torch.zeros(1, 1, 4, 4), ts=[0])
    plt.close("all")


def test_demo_hooks():
    view = eps_view.demo_view()
    for p in eps_view.DEMO_SWEEP:
        view.update(**p)
    assert view.state["t"] == eps_view.DEMO_SWEEP[-1]["t"]
