"""Chapter 6's views: what they draw is what the core computes (guidance, LabelledMixture), read back
from the artists; the plain functions behind them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_lab import guidance as G
from diffusion_lab.distributions import labelled_ring
from diffusion_lab.schedules import make_schedule
from diffusion_lab.views import guidance_explorer as guidance_view

pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py

SHORT = make_schedule("linear", 100, beta_start=1e-3, beta_end=0.1, warn=False)
RING = labelled_ring()


def test_samples_by_w_are_one_batched_run_of_the_guided_sampler():
    field = RING.conditional_eps_model(SHORT)
    x_T = torch.randn(20, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    by_w = guidance_view.guided_samples_by_w(field, SHORT, 1, (0.0, 2.0), x_T, num_steps=5)
    for w, pts in by_w.items():
        alone = G.sample_guided(field, SHORT, 1, w, x_T, num_steps=5)
        torch.testing.assert_close(pts, alone, atol=1e-10, rtol=1e-10)


def test_field_grid_gives_the_two_exact_fields_and_the_guided_one_is_linear_in_w():
    field = RING.conditional_eps_model(SHORT)
    pts, eps_null, eps_y = guidance_view.field_grid(field, SHORT, 2, 40, lim=3.0, grid_n=5)
    assert pts.shape == (25, 2) and eps_null.shape == eps_y.shape == (25, 2)
    guided = RING.eps_star_guided(SHORT, torch.as_tensor(pts), 40, 2, 3.0).numpy()
    np.testing.assert_allclose(eps_null + 3.0 * (eps_y - eps_null), guided, atol=1e-10)


def test_mosaic_places_each_image():
    imgs = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 1, 2, 2)
    m = guidance_view.mosaic(imgs)
    assert m.shape == (2 * 3 - 1, 3 * 3 - 1)
    np.testing.assert_array_equal(m[3:5, 6:8], imgs[1, 2, 0].numpy())
    assert m[2, 0] == 1.0                                   # padding between rows


@pytest.fixture(scope="module")
def view2d():
    return guidance_view.GuidedField2DView(RING, SHORT, y=0, n=40, ws=(0.0, 1.0, 4.0), t_choices=(10, 50),
                                           grid_n=5, num_steps=5)


def test_2d_view_draws_the_samples_field_and_numbers_of_the_state(view2d):
    for w, t in ((4.0, 50), (0.0, 10), (1.0, 50)):
        numbers = view2d.update(w=w, t=t)
        np.testing.assert_allclose(view2d.scatter.get_offsets(), view2d.samples[w].numpy())
        assert numbers == G.class_precision_spread(view2d.samples[w], RING, 0)
        assert f"{100 * numbers['precision']:.0f} % in class 0" in view2d.title_s.get_text()
        pts, eps_null, eps_y, _ = view2d._field(t)
        np.testing.assert_allclose(view2d.quiver.get_offsets(), pts)
        # arrows point along −ε̃ (directions exact; lengths compressed)
        arrows = np.stack([view2d.quiver.U, view2d.quiver.V], 1)
        want = -(eps_null + w * (eps_y - eps_null))
        keep = np.hypot(*want.T) > 1e-6                      # skip points where the field vanishes (symmetry)
        cos = (arrows * want).sum(1)[keep] / (np.hypot(*arrows.T) * np.hypot(*want.T))[keep]
        assert keep.sum() >= 20 and cos.min() > 0.999
        assert f"t = {t}" in view2d.title_f.get_text()


def test_2d_view_rejects_values_off_its_sliders(view2d):
    with pytest.raises(ValueError, match="w"):
        view2d.update(w=2.5)
    with pytest.raises(ValueError, match="t"):
        view2d.update(t=11)


def test_grid_view_swaps_the_picture_for_w():
    grids = {0.0: torch.zeros(2, 3, 1, 4, 4), 2.0: torch.ones(2, 3, 1, 4, 4) * 0.5}
    view = guidance_view.GuidanceGridView(grids, classes=(3, 7), title="test, ")
    view.update(w=2.0)
    np.testing.assert_allclose(np.asarray(view.image.get_array()), guidance_view.mosaic(grids[2.0]))
    assert view.title.get_text() == "test, w = 2"
    assert [t.get_text() for t in view.image.axes.get_yticklabels()] == ["3", "7"]
    with pytest.raises(ValueError):
        view.update(w=1.0)


def test_tilted_1d_figure_draws_the_core_densities_with_a_key():
    """One panel per level (highest t first, t = 0 last); each line is the density the core computed, and each
    panel is labelled (axes, a legend)."""
    import matplotlib.pyplot as plt

    from diffusion_lab.distributions import LabelledMixture

    mix = LabelledMixture([0.5, 0.5], [[1.0], [-1.0]], [0, 1], stds=[0.7, 0.7])
    grid = torch.linspace(-6, 6, 241)
    levels = {t: G.tilted_densities_1d(mix, SHORT, t - 1, 0, 3.0, grid) for t in (60, 30)}
    levels[0] = G.tilted_densities_1d(mix, SHORT, None, 0, 3.0, grid)
    samples = torch.randn(200, 1, generator=torch.Generator().manual_seed(0)) + 1.5
    fig = guidance_view.plot_tilted_1d(levels, samples, 3.0)
    try:
        axes = fig.axes
        assert len(axes) == 3
        for ax, t in zip(axes, (60, 30, 0)):
            assert f"t = {t}" in ax.get_title()
            assert ax.get_xlabel() and ax.get_legend() is not None
            drawn = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
            key = "p(x0)·p(y|x0)^w, noised to t" if t else "p(x0)·p(y|x0)^w: the sharpened data"
            np.testing.assert_allclose(drawn[key], levels[t]["noised_tilted"].numpy())
            if t:
                np.testing.assert_allclose(drawn["p_t(x)·p_t(y|x)^w: what the guided field follows"],
                                           levels[t]["guided_at_t"].numpy())
                assert f"{levels[t]['tv']:.2f}" in ax.get_title()
        assert len(axes[2].patches) > 0                  # the histogram of the samples at t = 0
        assert axes[0].get_ylabel()
    finally:
        plt.close(fig)


def test_guidance_curves_draw_a_frechet_panel_only_for_a_result_that_records_its_protocol():
    """A Fréchet curve without its protocol (references, n, draws) cannot be read: chapter 06's MNIST curve
    (one draw against references from the generator's training set) gets the accuracy panel alone."""
    import matplotlib.pyplot as plt

    curves = {"w": [0.0, 1.0], "accuracy": [0.1, 0.9], "confidence": [0.1, 0.8], "diversity": [1.2, 1.0],
              "fid": [20.0, 6.0], "fid_real": 3.0}
    bare = guidance_view.plot_guidance_curves(curves)
    measured = guidance_view.plot_guidance_curves({**curves, "protocol": {"name": "digits8x8"},
                                                   "fid_sd": [2.0, 1.0], "fid_real_sd": 1.0})
    try:
        assert len(bare.axes) == 1
        assert not any("Fréchet" in line.get_label() for line in bare.axes[0].get_lines())
        assert len(measured.axes) == 2
        assert "Fréchet" in measured.axes[1].get_ylabel()
    finally:
        plt.close(bare)
        plt.close(measured)


def test_attention_maps_title_says_the_maps_not_the_picture_are_at_t():
    import matplotlib.pyplot as plt

    images = torch.zeros(2, 1, 8, 8)
    maps = {"mid": torch.full((2, 1, 4, 4, 2), 0.5)}
    fig = guidance_view.plot_attention_maps(images, maps, labels=[0, 1], t=300)
    try:
        assert fig.axes[0].get_title() == "sample (maps at t = 300)"
    finally:
        plt.close(fig)
