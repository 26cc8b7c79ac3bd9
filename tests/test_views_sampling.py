"""Chapter 5 views: quality numbers, traces, the σ = 0 sampler, SamplingView, DDIMView, static figures."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.plotting import tile_images
from diffusion_lab.sampling import SamplerStep
from diffusion_lab.views import sampling as sv


@pytest.fixture(scope="module")
def short_schedule():
    # 200 steps reaching ᾱ ≈ e^-10: fast, and still ends in N(0, I)
    return dl.make_schedule("linear", 200, beta_start=1e-4, beta_end=0.1)


@pytest.fixture(scope="module")
def ring():
    return dl.make_distribution("ring")


# ---- quality numbers -----------------------------------------------------------------------------
def test_mmd2_vstat_matches_a_hand_computation():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([[0.0, 1.0]])
    h = 1.0
    k = lambda d2: math.exp(-d2 / (2 * h * h))  # noqa: E731
    kxx = (1 + k(1.0) + k(1.0) + 1) / 4           # all pairs including i = j
    kyy = 1.0
    kxy = (k(1.0) + k(2.0)) / 2
    assert sv.mmd2_vstat(x, y, bandwidths=[h]) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-12)


def test_mmd2_vstat_is_zero_for_identical_sets_and_has_a_floor_for_two_samples(ring):
    x = ring.sample(500, generator=dl.make_generator(0))
    assert sv.mmd2_vstat(x, x) == pytest.approx(0.0, abs=1e-12)
    y = ring.sample(500, generator=dl.make_generator(1))
    same = sv.mmd2_vstat(x, y)
    # floor ≈ (1 − E k(x, x'))·(1/m + 1/n) > 0; a shifted ring is far above it
    shifted = sv.mmd2_vstat(x, y + 0.5)
    assert 0 < same < 0.01
    assert shifted > 10 * same


def test_mmd2_vstat_rejects_bad_input():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="bandwidths"):
        sv.mmd2_vstat(x, x, bandwidths=[0.0])
    with pytest.raises(ValueError, match="dimension"):
        sv.mmd2_vstat(x, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="NaN"):
        sv.mmd2_vstat(torch.full((4, 2), float("nan")), x)


def test_sample_quality_nll_is_the_mean_negative_log_density(ring):
    x = ring.sample(300, generator=dl.make_generator(2))
    ref = ring.sample(300, generator=dl.make_generator(3))
    q = sv.sample_quality(x, ring, ref)
    assert q.nll == pytest.approx(float(-ring.log_prob(x).double().mean()), rel=1e-6)
    assert q.mmd2 == pytest.approx(sv.mmd2_vstat(x, ref), rel=1e-12)
    assert q.n == 300 and "NLL" in str(q)
    # data scores the entropy of the ring: −E log q ≈ log 8 + log(2π·0.04) + 1 ≈ 1.70 (modes barely overlap)
    big = float(-ring.log_prob(ring.sample(20000, generator=dl.make_generator(4))).double().mean())
    assert big == pytest.approx(math.log(8) + math.log(2 * math.pi * 0.04) + 1, abs=0.03)
    with pytest.raises(ValueError, match="NaN"):
        sv.sample_quality(torch.full((3, 2), float("inf")), ring, ref)


def test_mode_spread_recovers_the_component_std(ring):
    x = ring.sample(8000, generator=dl.make_generator(5))
    assert sv.mode_spread(x, ring) == pytest.approx(0.2, abs=0.01)
    # points piled on the means have no spread; a wider ring has more
    assert sv.mode_spread(ring.means.repeat(3, 1), ring) == pytest.approx(0.0, abs=1e-12)
    wide = dl.make_distribution("ring", std=0.3).sample(8000, generator=dl.make_generator(6))
    assert sv.mode_spread(wide, ring) == pytest.approx(0.3, abs=0.02)


# ---- samplers and traces --------------------------------------------------------------------------
def test_ddpm_mean_steps_is_the_posterior_mean_walk(short_schedule):
    g = dl.make_distribution("gaussian_2d")
    eps = g.eps_model(short_schedule)
    x_T = torch.randn((6, 2), generator=dl.make_generator(7))
    first = next(sv.ddpm_mean_steps(eps, short_schedule, x_T.clone()))
    t = short_schedule.T - 1
    x0_hat = dl.predict_start_from_noise(short_schedule, x_T, t, eps(x_T, torch.full((6,), t)))
    mean = dl.q_posterior(short_schedule, x0_hat, x_T, t)[0]
    assert first.t == t and first.sigma == 0.0
    torch.testing.assert_close(first.x_prev, mean)
    torch.testing.assert_close(first.x0_pred, x0_hat)


def test_sigma_zero_collapses_while_ancestral_sampling_keeps_the_spread(short_schedule):
    # q(x0) = N((2, 2), 0.5² I): exact ε*; proper DDPM keeps std ≈ 0.5, the σ = 0 walk shrinks it a lot
    g = dl.make_distribution("gaussian_2d")
    eps = g.eps_model(short_schedule)
    x_T = torch.randn((2000, 2), generator=dl.make_generator(8))
    proper = dl.ddpm_sample(eps, short_schedule, x_T.clone(), generator=dl.make_generator(9))
    collapsed = sv.record(sv.ddpm_mean_steps(eps, short_schedule, x_T.clone())).x_final
    assert float(proper.std(0).mean()) == pytest.approx(0.5, abs=0.05)
    assert float(torch.as_tensor(collapsed).std(0).mean()) < 0.25
    assert torch.as_tensor(collapsed).mean(0).numpy() == pytest.approx([2.0, 2.0], abs=0.1)


def _fake_steps(n_steps=5, shape=(3, 2)):
    for k, t in enumerate(range(n_steps - 1, -1, -1)):
        x = torch.full(shape, float(t))
        yield SamplerStep(t=t, t_prev=t - 1, x_t=x, x_prev=x - 1, x0_pred=x * 10, eps=x, sigma=0.1 * t)


def test_record_keeps_every_step_and_the_final_sample():
    tr = sv.record(_fake_steps(), label="fake")
    assert tr.ts.tolist() == [4, 3, 2, 1, 0] and tr.num_calls == 5
    assert tr.x_t.shape == (5, 3, 2) and tr.x_t.dtype == np.float32
    assert tr.x0_pred[1, 0, 0] == 30.0 and tr.x_final[0, 0] == -1.0
    assert tr.sigmas.tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0])
    assert tr.index(3) == 1 and tr.index(100) == 0 and tr.at(-5)[0] == 0


def test_record_every_k_keeps_the_last_step_and_rejects_nonsense():
    tr = sv.record(_fake_steps(n_steps=7), every=3)
    assert tr.ts.tolist() == [6, 3, 0]
    with pytest.raises(ValueError, match="every"):
        sv.record(_fake_steps(), every=0)
    with pytest.raises(ValueError, match="no steps"):
        sv.record(iter([]))


def test_ddim_quality_curve_matches_direct_sampling(short_schedule, ring):
    eps = ring.eps_model(short_schedule)
    x_T = torch.randn((200, 2), generator=dl.make_generator(10))
    ref = ring.sample(200, generator=dl.make_generator(11))
    curve = sv.ddim_quality_curve(eps, short_schedule, ring, x_T, ref, step_counts=(5, 20))
    direct = dl.ddim_sample(eps, short_schedule, x_T.clone(), num_steps=20)
    assert sorted(curve) == [5, 20]
    assert curve[20].nll == pytest.approx(sv.sample_quality(direct, ring, ref).nll, rel=1e-6)
    assert curve[5].nll > curve[20].nll            # 5 big steps on 8 modes: worse


# ---- views -------------------------------------------------------------------------------------------
def test_sampling_view_2d_shows_the_recorded_step(short_schedule, ring):
    eps = ring.eps_model(short_schedule)
    tr = sv.record(dl.ddpm_steps(eps, short_schedule, (150, 2), generator=dl.make_generator(12)), label="test")
    view = sv.SamplingView(tr, data=ring.sample(100, generator=dl.make_generator(13)))
    for t in (199, 120, 50, 3, 0):
        view.update(t=t)
        view.fig.canvas.draw()
        np.testing.assert_array_equal(view.sc_xt.get_offsets(), tr.x_t[tr.index(t)])
        np.testing.assert_array_equal(view.sc_x0.get_offsets(), tr.x0_pred[tr.index(t)])
        assert f"t = {t}" in view.title_xt.get_text() and f"x_{t}" in view.title_x0.get_text()
    # moving the slider changes what is drawn
    view.update(t=199)
    a = np.array(view.sc_x0.get_offsets())
    view.update(t=0)
    assert np.abs(np.array(view.sc_x0.get_offsets()) - a).max() > 0.5


def test_sampling_view_images_tile_the_recorded_images():
    steps = []
    for t in (2, 1, 0):
        x = torch.full((4, 1, 3, 3), 0.3 * t) + torch.arange(4.0).reshape(4, 1, 1, 1) * 0.1
        steps.append(SamplerStep(t=t, t_prev=t - 1, x_t=x * 5, x_prev=x, x0_pred=x, eps=x, sigma=0.0))
    tr = sv.record(iter(steps))
    view = sv.SamplingView(tr, n_images=4)
    view.update(t=1)
    np.testing.assert_allclose(view.im_xt.get_array(), tile_images(np.clip(tr.x_t[1], -1, 1)))
    np.testing.assert_allclose(view.im_x0.get_array(), tile_images(tr.x0_pred[1]))
    view.update(t=2)
    assert float(np.max(view.im_xt.get_array())) == pytest.approx(1.0)      # x_t is clipped to [−1, 1] for display


def test_ddim_view_draws_the_ddim_samples_and_caches(short_schedule, ring):
    eps = ring.eps_model(short_schedule)
    x_T = torch.randn((150, 2), generator=dl.make_generator(14))
    ref = ring.sample(150, generator=dl.make_generator(15))
    view = sv.DDIMView(eps, short_schedule, ring, x_T, ref, step_choices=(5, 10, 50), seed=3, show_curve=True,
                       ddpm_quality=sv.Quality(nll=1.7, mmd2=1e-3, n=150))
    assert view.state["num_steps"] == 50
    for k, eta in ((10, 0.0), (5, 1.0), (50, 0.5)):
        view.update(num_steps=k, eta=eta)
        view.fig.canvas.draw()
        expected = dl.ddim_sample(eps, short_schedule, x_T.clone(), num_steps=k, eta=eta, generator=dl.make_generator(3))
        np.testing.assert_allclose(view.scatter.get_offsets(), expected.numpy(), atol=1e-6)
        mx, my = view.marker.get_data()
        assert list(mx) == [view.step_choices.index(k)] and my[0] == pytest.approx(view.result(k, eta)[1].nll)
        assert f"{k} network calls" in view.title.get_text() and "DDPM-1000: 1.70" in view.title.get_text()
    cached = view.result(5, 1.0)
    assert view.result(5, 1.0) is cached            # second visit: no recomputation
    view.precompute(etas=(0.0,))
    assert {(k, 0.0) for k in (5, 10, 50)} <= set(view._cache)
    # the default view has no curve panel, and computes only what is shown
    plain = sv.DDIMView(eps, short_schedule, ring, x_T, ref, step_choices=(5, 10, 50))
    assert plain.axq is None and plain.marker is None and set(plain._cache) == {(50, 0.0)}
    plain.update(num_steps=5)
    np.testing.assert_allclose(plain.scatter.get_offsets(), view.result(5, 0.0)[0])


# ---- static figures ------------------------------------------------------------------------------------
def test_static_figures(short_schedule, ring):
    import matplotlib.pyplot as plt

    eps = ring.eps_model(short_schedule)
    tr = sv.record(dl.ddpm_steps(eps, short_schedule, (100, 2), generator=dl.make_generator(16)), label="x")
    fig = sv.plot_reverse_snapshots(tr, [199, 100, 0], data=ring.sample(50))
    assert len(fig.axes) == 6 and fig.axes[3].get_title().startswith("x̂0")
    fig = sv.plot_sample_panels({"a": tr.x_final, "b": torch.zeros(4, 1, 8, 8)})
    assert [a.get_title() for a in fig.axes] == ["a", "b"]
    q = sv.Quality(nll=1.7, mmd2=1e-3, n=100)
    fig = sv.plot_quality_vs_calls({"exact": {10: q, 20: q}, "MLP": {10: q}}, references={"DDPM": q},
                                   entropy=1.7, mmd_floor=1e-3, mmd_skip=("MLP",))
    nll_ax, mmd_ax = fig.axes
    assert len(nll_ax.get_lines()) == 4 and len(mmd_ax.get_lines()) == 3     # MLP left out of the MMD² panel
    plt.close("all")


def test_demo_hooks():
    assert all(0 <= p["t"] <= 999 for p in sv.DEMO_SWEEP + sv.ANIMATION_SWEEP)
    assert len(sv.ANIMATION_SWEEP) <= 30
    assert sv.ANIMATION_SWEEP[0]["t"] == 999 and sv.ANIMATION_SWEEP[-1]["t"] == 0
    view = sv.demo_view(n=60)
    for p in sv.DEMO_SWEEP[:3]:
        view.update(**p)
    assert view.trace.num_calls == 1000
