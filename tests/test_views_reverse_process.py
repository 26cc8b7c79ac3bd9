"""Chapter 5's views (diffusion_lab/views/reverse_process.py): SamplingView, DDIMView and the static figures,
headless. Traces, the σ = 0 sampler and the quality numbers are tested with the core (test_sampling, test_metrics)."""
from __future__ import annotations


import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.sampling import SamplerStep
from diffusion_lab.views import reverse_process as reverse_view


SHORT = dl.make_schedule("linear", 200, beta_start=1e-4, beta_end=0.1)   # ᾱ_199 ≈ e^-10: fast, ends in N(0, I)
RING = dl.make_distribution("ring")


# ---- views -------------------------------------------------------------------------------------------
def test_sampling_view_2d_shows_the_recorded_step():
    eps = RING.eps_model(SHORT)
    tr = dl.record(dl.ddpm_steps(eps, SHORT, (150, 2), generator=dl.make_generator(12)), label="test")
    view = reverse_view.SamplingView(tr, data=RING.sample(100, generator=dl.make_generator(13)))
    assert view.state == {"t": 200}                                  # it opens at x_T, T = 200
    for t in (200, 121, 51, 4, 1):                                    # the maths' t; the trace's code index t − 1
        view.update(t=t)
        view.fig.canvas.draw()
        np.testing.assert_array_equal(view.sc_xt.get_offsets(), tr.x_t[tr.index(t - 1)])
        np.testing.assert_array_equal(view.sc_x0.get_offsets(), tr.x0_pred[tr.index(t - 1)])
        assert view.title_xt.get_text() == f"x_t at t = {t}" and view.title_x0.get_text().endswith(f"x_{t}")
    for bad in (0, 201):
        with pytest.raises(ValueError, match="1..200"):
            view.update(t=bad)
    # moving the slider changes what is drawn
    view.update(t=200)
    a = np.array(view.sc_x0.get_offsets())
    view.update(t=1)
    assert np.abs(np.array(view.sc_x0.get_offsets()) - a).max() > 0.5


def test_sampling_view_images_tile_the_recorded_images():
    steps = []
    for t in (2, 1, 0):
        x = torch.full((4, 1, 3, 3), 0.3 * t) + torch.arange(4.0).reshape(4, 1, 1, 1) * 0.1
        steps.append(SamplerStep(t=t, t_prev=t - 1, x_t=x * 5, x_prev=x, x0_pred=x, eps=x, sigma=0.0))
    tr = dl.record(iter(steps))
    view = reverse_view.SamplingView(tr, n_images=4)
    view.update(t=2)                                                  # code index 1
    np.testing.assert_allclose(view.im_xt.get_array(), tile_images(np.clip(tr.x_t[1], -1, 1)))
    np.testing.assert_allclose(view.im_x0.get_array(), tile_images(tr.x0_pred[1]))
    view.update(t=3)
    assert float(np.max(view.im_xt.get_array())) == pytest.approx(1.0)      # x_t is clipped to [−1, 1] for display


def test_ddim_view_draws_the_ddim_samples_and_caches():
    eps = RING.eps_model(SHORT)
    x_T = torch.randn((150, 2), generator=dl.make_generator(14))
    ref = RING.sample(150, generator=dl.make_generator(15))
    view = reverse_view.DDIMView(eps, SHORT, RING, x_T, ref, step_choices=(5, 10, 50), seed=3,
                                 show_curve=True, ddpm_quality=dl.metrics.Quality(nll=1.7, mmd2=1e-3, n=150))
    assert view.state["num_steps"] == 50
    for k, eta in ((10, 0.0), (5, 1.0), (50, 0.5)):
        view.update(num_steps=k, eta=eta)
        view.fig.canvas.draw()
        expected = dl.ddim_sample(eps, SHORT, x_T.clone(), num_steps=k, eta=eta,
                                  generator=dl.make_generator(3))
        np.testing.assert_allclose(view.scatter.get_offsets(), expected.numpy(), atol=1e-6)
        mx, my = view.marker.get_data()
        assert list(mx) == [view.step_choices.index(k)] and my[0] == pytest.approx(view.result(k, eta)[1].nll)
        assert f"{k} network calls" in view.title.get_text() and "DDPM-1000: 1.70" in view.title.get_text()
    cached = view.result(5, 1.0)
    assert view.result(5, 1.0) is cached            # second visit: no recomputation
    view.precompute(etas=(0.0,))
    assert {(k, 0.0) for k in (5, 10, 50)} <= set(view._cache)
    # the default view has no curve panel, and computes only what is shown
    plain = reverse_view.DDIMView(eps, SHORT, RING, x_T, ref, step_choices=(5, 10, 50))
    assert plain.axq is None and plain.marker is None and set(plain._cache) == {(50, 0.0)}
    plain.update(num_steps=5)
    np.testing.assert_allclose(plain.scatter.get_offsets(), view.result(5, 0.0)[0])


# ---- static figures ------------------------------------------------------------------------------------
def test_static_figures():
    import matplotlib.pyplot as plt

    eps = RING.eps_model(SHORT)
    tr = dl.record(dl.ddpm_steps(eps, SHORT, (100, 2), generator=dl.make_generator(16)), label="x")
    fig = reverse_view.plot_reverse_snapshots(tr, [200, 100, 1], data=RING.sample(50))   # the maths' t
    assert len(fig.axes) == 6 and fig.axes[3].get_title().startswith("x̂0")
    assert [fig.axes[j].get_title() for j in range(3)] == ["x_t, t = 200", "x_t, t = 100", "x_t, t = 1"]
    np.testing.assert_array_equal(fig.axes[1].collections[-1].get_offsets(), tr.x_t[tr.index(100 - 1)])
    with pytest.raises(ValueError, match="1..200"):
        reverse_view.plot_reverse_snapshots(tr, [0])
    fig = reverse_view.plot_sample_panels({"a": tr.x_final, "b": torch.zeros(4, 1, 8, 8)})
    assert [a.get_title() for a in fig.axes] == ["a", "b"]
    q = dl.metrics.Quality(nll=1.7, mmd2=1e-3, n=100)
    fig = reverse_view.plot_quality_vs_calls({"exact": {10: q, 20: q}, "MLP": {10: q}}, references={"DDPM": q},
                                   entropy=1.7, mmd_floor=1e-3, mmd_skip=("MLP",))
    nll_ax, mmd_ax = fig.axes
    assert len(nll_ax.get_lines()) == 4 and len(mmd_ax.get_lines()) == 3     # MLP left out of the MMD² panel
    plt.close("all")


def test_demo_hooks():
    assert all(1 <= p["t"] <= 1000 for p in reverse_view.DEMO_SWEEP + reverse_view.ANIMATION_SWEEP)   # the maths' t
    assert len(reverse_view.ANIMATION_SWEEP) <= 30
    assert reverse_view.ANIMATION_SWEEP[0]["t"] == 1000 and reverse_view.ANIMATION_SWEEP[-1]["t"] == 1
    view = reverse_view.demo_view(n=60)
    for p in reverse_view.DEMO_SWEEP[:3]:
        view.update(**p)
    assert view.trace.num_calls == 1000


@pytest.mark.parametrize("n, per_row", [(1, 1), (4, 2), (6, 3), (8, 4), (9, 3), (12, 4), (16, 4)])
def test_image_grids_leave_no_empty_slot(n, per_row):
    assert reverse_view.images_per_row(n) == per_row
    assert n % reverse_view.images_per_row(n) == 0


def test_image_grid_of_nothing_is_refused():
    with pytest.raises(ValueError, match="n ≥ 1"):
        reverse_view.images_per_row(0)


def test_eight_sample_images_are_drawn_as_two_rows_of_four():
    images = torch.zeros(8, 1, 8, 8)
    fig = reverse_view.plot_sample_panels({"eight": images}, n_images=8)
    (ax,) = fig.axes
    h, w = ax.images[0].get_array().shape
    assert (h, w) == (2 * 9 - 1, 4 * 9 - 1)


def test_ddim_view_title_fits_inside_the_figure():
    ring = dl.make_distribution("ring")
    schedule = dl.make_schedule("linear", 50)
    x_T = torch.randn(64, 2, generator=dl.make_generator(0))
    ref = ring.sample(64, generator=dl.make_generator(1))
    ddpm = dl.metrics.sample_quality(ref, ring, ref)
    view = reverse_view.DDIMView(ring.eps_model(schedule), schedule, ring, x_T, ref, ddpm_quality=ddpm,
                                 step_choices=(5, 10))
    view.fig.canvas.draw()
    box = view.title.get_window_extent(view.fig.canvas.get_renderer())
    assert box.y1 <= view.fig.bbox.y1 + 0.5 and box.x0 >= -0.5 and box.x1 <= view.fig.bbox.x1 + 0.5
