"""Toy distributions: sampling moments, exact noisy densities, the exact ε* and E[x0|x_t], and the
sample-only shapes. Independent references are numpy / scipy / torch.autograd written here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

import diffusion_lab as dl
from diffusion_lab import GaussianMixture, make_distribution

T = 1000
SE_MULT = 5.0     # moment checks fail beyond 5 standard errors (false alarm ≈ 6e-7 per check)


@pytest.fixture(scope="module")
def sched():
    return dl.make_schedule("linear", T)


def np_abar():
    return np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))


def full_cov_mixture():
    """A 2D mixture with correlated, unequal covariances (exercises the general code path)."""
    covs = [[[0.5, 0.3], [0.3, 0.4]], [[0.2, -0.1], [-0.1, 0.3]], [[0.05, 0.0], [0.0, 0.6]]]
    return GaussianMixture([0.5, 0.3, 0.2], [[1.0, 2.0], [-2.0, 0.0], [0.5, -1.5]], covs=covs, name="full")


MIXTURES = {
    "mixture_1d": lambda: make_distribution("mixture_1d"),
    "ring": lambda: make_distribution("ring"),
    "grid": lambda: make_distribution("grid"),
    "gaussian_2d": lambda: make_distribution("gaussian_2d"),
    "full": full_cov_mixture,
}


def np_mixture_logpdf(x, dist, abar=1.0):
    """log q(x_t) with scipy: Σ_k w_k N(x; √ᾱ μ_k, ᾱ Σ_k + (1−ᾱ) I)."""
    w, mu, cov = dist.weights.numpy(), dist.means.numpy(), dist.covs.numpy()
    d = mu.shape[1]
    marginals = [scipy.stats.multivariate_normal(math.sqrt(abar) * mu[k], abar * cov[k] + (1 - abar) * np.eye(d))
                 for k in range(len(w))]
    comps = [np.log(w[k]) + marginals[k].logpdf(x) for k in range(len(w))]
    return scipy.special.logsumexp(np.stack(comps, -1).reshape(x.shape[0], -1), axis=-1)


# ----------------------------------------------------------------------------------------------
# sampling and moments
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MIXTURES))
def test_sample_moments_match_mean_and_covariance(name):
    dist = MIXTURES[name]()
    n = 50_000
    x = dist.sample(n, generator=torch.Generator().manual_seed(0)).double().numpy()
    assert x.shape == (n, dist.dim)
    mean, cov = dist.mean().numpy(), dist.covariance().numpy()
    # mean() and covariance() against the law of total (co)variance written out here
    w, mu, covs = dist.weights.numpy(), dist.means.numpy(), dist.covs.numpy()
    m = (w[:, None] * mu).sum(0)
    c = sum(w[k] * (covs[k] + np.outer(mu[k] - m, mu[k] - m)) for k in range(len(w)))
    np.testing.assert_allclose(mean, m, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cov, c, rtol=1e-12, atol=1e-12)
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) < SE_MULT * se_mean)
    centred = x - mean
    products = centred[:, :, None] * centred[:, None, :]
    se_cov = products.std(0) / math.sqrt(n)
    assert np.all(np.abs(np.cov(x, rowvar=False).reshape(cov.shape) - cov) < SE_MULT * se_cov)


def test_sample_components_and_proportions():
    dist = make_distribution("mixture_1d")
    x, comp = dist.sample(40_000, generator=torch.Generator().manual_seed(1), return_components=True)
    p = np.bincount(comp.numpy(), minlength=2) / 40_000
    assert np.all(np.abs(p - [0.3, 0.7]) < SE_MULT * np.sqrt(0.21 / 40_000))
    for k, (m, s) in enumerate([(-2.0, 0.5), (3.0, 0.8)]):
        xk = x[comp == k, 0].double().numpy()
        assert scipy.stats.kstest(xk, scipy.stats.norm(m, s).cdf).pvalue > 1e-3


def test_sample_is_seeded_and_float32():
    dist = make_distribution("ring")
    a = dist.sample(100, generator=torch.Generator().manual_seed(2))
    b = dist.sample(100, generator=torch.Generator().manual_seed(2))
    c = dist.sample(100, generator=torch.Generator().manual_seed(3))
    assert a.dtype == torch.float32 and torch.equal(a, b) and not torch.equal(a, c)


def test_point_mass():
    dist = make_distribution("point", x0=5.0)
    assert torch.equal(dist.sample(4), torch.full((4, 1), 5.0))
    assert float(dist.mean()) == 5.0 and float(dist.covariance()) == 0.0
    with pytest.raises(ValueError, match="point mass"):
        dist.log_prob(torch.zeros(3, 1))


# ----------------------------------------------------------------------------------------------
# densities
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MIXTURES))
@pytest.mark.parametrize("t", [0, 100, 999])
def test_log_prob_t_matches_scipy_and_marginal(sched, name, t):
    dist = MIXTURES[name]()
    x = torch.randn((64, dist.dim), generator=torch.Generator().manual_seed(4), dtype=torch.float64) * 2
    lp = dist.log_prob_t(sched, x, t)
    assert lp.shape == (64,) and lp.dtype == torch.float64
    np.testing.assert_allclose(lp.numpy(), np_mixture_logpdf(x.numpy(), dist, np_abar()[t]), rtol=1e-9, atol=1e-9)
    marg = dist.marginal(sched, t)
    np.testing.assert_allclose(marg.log_prob(x).numpy(), lp.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(marg.means.numpy(), math.sqrt(np_abar()[t]) * dist.means.numpy(), rtol=1e-12)


def test_log_prob_matches_scipy():
    dist = full_cov_mixture()
    x = torch.randn((50, 2), generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), np_mixture_logpdf(x.numpy(), dist), rtol=1e-10)


@pytest.mark.parametrize("t", [0, 50, 999])
def test_log_prob_t_integrates_to_one_1d(sched, t):
    dist = make_distribution("mixture_1d")
    grid = torch.linspace(-12, 12, 24_001, dtype=torch.float64)[:, None]     # spacing 0.001
    dens = dist.log_prob_t(sched, grid, t).exp().numpy()
    # trapezoid on a smooth density whose tails beyond ±12 are < 1e-30: error ≪ 1e-8
    assert np.trapezoid(dens, grid[:, 0].numpy()) == pytest.approx(1.0, abs=1e-8)
    # the point mass has a density for every t (variance ≥ β_0 > 0)
    pt = make_distribution("point", x0=5.0)
    assert np.trapezoid(pt.log_prob_t(sched, grid, t).exp().numpy(), grid[:, 0].numpy()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name,t", [("ring", 0), ("full", 0), ("grid", 999)])
def test_log_prob_t_integrates_to_one_2d(sched, name, t):
    dist = MIXTURES[name]()
    ticks = torch.linspace(-7, 7, 561, dtype=torch.float64)                  # spacing 0.025 = σ_ring/8
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    dens = dist.log_prob_t(sched, pts, t).exp().reshape(561, 561).numpy()
    h = float(ticks[1] - ticks[0])
    # 2D trapezoid: on smooth Gaussians it is accurate far below 1e-5 at 8 points per σ, and the
    # mass beyond ±7 is < 1e-9 for all three (the farthest mean is 2.2 from the origin, σ ≤ 1)
    total = np.trapezoid(np.trapezoid(dens, dx=h, axis=1), dx=h)
    assert total == pytest.approx(1.0, abs=1e-5)


# ----------------------------------------------------------------------------------------------
# the exact ε* and E[x0 | x_t]
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MIXTURES))
@pytest.mark.parametrize("t", [0, 10, 300, 999])
def test_eps_star_is_scaled_score_by_autograd(sched, name, t):
    dist = MIXTURES[name]()
    x = torch.randn((32, dist.dim), generator=torch.Generator().manual_seed(6), dtype=torch.float64) * 2
    x.requires_grad_(True)
    (score,) = torch.autograd.grad(dist.log_prob_t(sched, x, t).sum(), x)
    expected = -math.sqrt(1 - np_abar()[t]) * score
    eps = dist.eps_star(sched, x.detach(), t)
    assert eps.shape == x.shape
    # float64 throughout; responsibilities can be tiny: 1e-8 relative / absolute
    torch.testing.assert_close(eps, expected, rtol=1e-8, atol=1e-8)


def test_eps_star_single_gaussian_closed_form(sched):
    mu, sigma = np.array([2.0, 2.0]), 0.5
    dist = make_distribution("gaussian_2d")                     # N((2, 2), 0.5² I)
    x = torch.randn((40, 2), generator=torch.Generator().manual_seed(7), dtype=torch.float64) * 3
    for t in (0, 1, 250, 999):
        a = np_abar()[t]
        expected = math.sqrt(1 - a) * (x.numpy() - math.sqrt(a) * mu) / (a * sigma**2 + 1 - a)
        np.testing.assert_allclose(dist.eps_star(sched, x, t).numpy(), expected, rtol=1e-10, atol=1e-12)
        # Tweedie: E[x0 | x_t] = μ + √ᾱ σ² (x_t − √ᾱ μ)/(ᾱσ² + 1 − ᾱ)
        x0 = mu + math.sqrt(a) * sigma**2 * (x.numpy() - math.sqrt(a) * mu) / (a * sigma**2 + 1 - a)
        np.testing.assert_allclose(dist.x0_mean(sched, x, t).numpy(), x0, rtol=1e-9, atol=1e-9)


def test_eps_star_full_covariance_gaussian(sched):
    mu = np.array([1.0, -1.0])
    cov = np.array([[0.6, 0.25], [0.25, 0.3]])
    dist = GaussianMixture([1.0], [mu], covs=[cov])
    x = torch.randn((20, 2), generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    for t in (0, 400):
        a = np_abar()[t]
        C = a * cov + (1 - a) * np.eye(2)
        diff = x.numpy() - math.sqrt(a) * mu
        expected = math.sqrt(1 - a) * np.linalg.solve(C, diff.T).T
        np.testing.assert_allclose(dist.eps_star(sched, x, t).numpy(), expected, rtol=1e-10, atol=1e-12)
        x0 = mu + math.sqrt(a) * (cov @ np.linalg.solve(C, diff.T)).T
        np.testing.assert_allclose(dist.x0_mean(sched, x, t).numpy(), x0, rtol=1e-9, atol=1e-9)


def test_eps_star_of_a_point_is_the_actual_noise(sched):
    """For a point mass x0 = 5 the noise is determined by x_t: ε* = (x_t − √ᾱ·5)/√(1−ᾱ)."""
    dist = make_distribution("point", x0=5.0)
    eps = torch.randn((10, 1), generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    for t in (0, 99, 999):
        x_t = dl.q_sample(sched, torch.full((10, 1), 5.0, dtype=torch.float64), t, noise=eps)
        torch.testing.assert_close(dist.eps_star(sched, x_t, t), eps, rtol=1e-8, atol=1e-8)
        torch.testing.assert_close(dist.x0_mean(sched, x_t, t), torch.full((10, 1), 5.0, dtype=torch.float64),
                                   rtol=1e-8, atol=1e-6)


def test_eps_star_matches_monte_carlo_conditional_mean(sched):
    """E[ε | x_t] estimated by binning x_t from simulated (x0, ε) pairs, 1D mixture, t = 200."""
    dist = make_distribution("mixture_1d")
    gen = torch.Generator().manual_seed(10)
    n, t = 400_000, 200
    x0 = dist.sample(n, generator=gen).double()
    eps = torch.randn((n, 1), generator=gen, dtype=torch.float64)
    x_t = dl.q_sample(sched, x0, t, noise=eps)
    exact = dist.eps_star(sched, x_t, t)[:, 0].numpy()
    xs, e = x_t[:, 0].numpy(), eps[:, 0].numpy()
    edges = np.quantile(xs, np.linspace(0.01, 0.99, 41))               # 40 bins with ≈ 9800 points each
    which = np.digitize(xs, edges) - 1
    checked = 0
    for b in range(40):
        sel = which == b
        k = sel.sum()
        # Within a bin, compare the average of ε with the average of ε*(x_t) over the SAME points
        # (no bin-width bias). E[ε − ε*(x_t) | bin] = 0; SE from the spread of ε − ε*.
        resid = e[sel] - exact[sel]
        se = resid.std(ddof=1) / math.sqrt(k)
        assert abs(resid.mean()) < SE_MULT * se, (b, resid.mean(), se)
        checked += 1
    assert checked == 40
    # and ε* is far from the naive guess 0 (the check is not vacuous)
    assert np.abs(exact).max() > 1.0


def test_batched_t_equals_per_t_calls(sched):
    dist = make_distribution("ring")
    gen = torch.Generator().manual_seed(11)
    x = torch.randn((12, 2), generator=gen) * 2
    t = torch.tensor([0, 999, 5, 5, 100, 500, 0, 998, 1, 42, 700, 5])
    batched = (dist.eps_star(sched, x, t), dist.log_prob_t(sched, x, t), dist.x0_mean(sched, x, t))
    for i in range(12):
        single = (dist.eps_star(sched, x[i:i + 1], int(t[i])), dist.log_prob_t(sched, x[i:i + 1], int(t[i])),
                  dist.x0_mean(sched, x[i:i + 1], int(t[i])))
        for b, s in zip(batched, single):
            torch.testing.assert_close(b[i:i + 1], s, rtol=1e-6, atol=1e-6)   # float32 in and out
    assert batched[0].dtype == torch.float32 and batched[1].dtype == torch.float32


def test_eps_model_for_samplers(sched):
    dist = make_distribution("grid")
    model = dist.eps_model(sched)
    x = torch.randn((7, 2), generator=torch.Generator().manual_seed(12))
    out = model(x, torch.full((7,), 300, dtype=torch.long))
    assert out.shape == x.shape and out.dtype == x.dtype
    torch.testing.assert_close(out, dist.eps_star(sched, x, 300))


def test_eps_star_1d_accepts_flat_points(sched):
    dist = make_distribution("mixture_1d")
    x = torch.linspace(-3, 3, 9)
    torch.testing.assert_close(dist.eps_star(sched, x, 10), dist.eps_star(sched, x[:, None], 10)[:, 0])


# ----------------------------------------------------------------------------------------------
# sample-only shapes
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["moons", "swiss_roll", "checkerboard"])
def test_sampled_shapes_seeded_shape_range(name):
    dist = make_distribution(name)
    a = dist.sample(3000, generator=torch.Generator().manual_seed(13))
    b = dist.sample(3000, generator=torch.Generator().manual_seed(13))
    c = dist.sample(3000, generator=torch.Generator().manual_seed(14))
    assert a.shape == (3000, 2) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert bool(torch.isfinite(a).all())
    assert float(a.abs().max()) < 3.0                            # "roughly [−2, 2]²" plus noise
    assert float(a.std(0).min()) > 0.5                           # spread out, not collapsed
    assert not dist.has_density


def test_moons_lie_on_two_half_circles():
    noise, scale = 0.08, 1.5
    x = make_distribution("moons").sample(4000, generator=torch.Generator().manual_seed(15)).double().numpy()
    # undo centring and scaling: upper arc is the unit half circle at (0, 0) (y ≥ 0), lower at (1, 0.5) (y ≤ 0.5)
    u = x / scale + np.array([0.5, 0.25])
    d_upper = np.abs(np.hypot(u[:, 0], u[:, 1]) - 1)
    d_lower = np.abs(np.hypot(u[:, 0] - 1, u[:, 1] - 0.5) - 1)
    d = np.minimum(d_upper, d_lower) * scale                     # distance in data units
    assert np.all(d < 6 * noise * math.sqrt(2))                  # 6σ of 2D Gaussian noise
    # both arcs are used about equally
    upper = d_upper < d_lower
    assert abs(upper.mean() - 0.5) < 0.05


@pytest.mark.parametrize("cells", [4, 3, 5, 8])
def test_checkerboard_points_on_dark_squares(cells):
    size = 4.0
    board = make_distribution("checkerboard", cells=cells, size=size)
    x = board.sample(20_000, generator=torch.Generator().manual_seed(16))
    assert float(x.min()) >= -size / 2 and float(x.max()) <= size / 2
    ij = torch.floor((x.double() + size / 2) / (size / cells)).long().clamp(0, cells - 1)
    assert bool(((ij.sum(1) % 2) == 0).all())                    # dark square: i + j even
    # uniform over the dark squares: every one used, counts within 5 binomial SEs
    n_dark = (cells * cells + 1) // 2
    counts = torch.bincount(ij[:, 0] * cells + ij[:, 1], minlength=cells * cells)
    used = counts[counts > 0].double().numpy()
    assert len(used) == n_dark
    p = 1 / n_dark
    assert np.all(np.abs(used / 20_000 - p) < SE_MULT * math.sqrt(p * (1 - p) / 20_000))


def test_swiss_roll_radius_range():
    x = make_distribution("swiss_roll").sample(3000, generator=torch.Generator().manual_seed(17)).double().numpy()
    r = np.hypot(x[:, 0], x[:, 1])
    # r = 0.15 · 1.5π(1 + 2u), u ∈ [0, 1): between 0.707 and 2.12, plus noise 0.05 (6σ margin)
    assert r.min() > 0.15 * 1.5 * math.pi - 0.3 and r.max() < 0.15 * 4.5 * math.pi + 0.3


def test_make_distribution_names():
    for name in dl.DISTRIBUTION_NAMES:
        dist = make_distribution(name)
        assert dist.sample(5, generator=torch.Generator().manual_seed(0)).shape[0] == 5
    with pytest.raises(ValueError) as err:
        make_distribution("rings")
    msg = str(err.value)
    assert "rings" in msg and all(repr(n) in msg for n in dl.DISTRIBUTION_NAMES)
    assert "Did you mean 'ring'" in msg
    with pytest.raises(TypeError, match="radius"):
        make_distribution("moons", radius=2.0)
    ring = make_distribution("ring", n=6, radius=3.0)
    np.testing.assert_allclose(np.hypot(*ring.means.numpy().T), 3.0, rtol=1e-12)
    assert ring.K == 6


# ---- Var(x0 | x_t) and the true reverse variance (chapter 01 §4(c)) --------------------------------
@pytest.mark.parametrize("std", [0.3, 1.0, 2.4])
@pytest.mark.parametrize("t", [0, 10, 300, 999])
def test_x0_variance_of_a_gaussian_is_the_closed_form(sched, std, t):
    """x0 ~ N(μ, s²): Var(x0 | x_t) = s²(1−ᾱ)/(ᾱ s² + 1 − ᾱ), the same for every x_t."""
    dist = GaussianMixture([1.0], [[1.5]], stds=[std])
    abar = np_abar()[t]
    x = torch.linspace(-5, 5, 7, dtype=torch.float64)[:, None]
    want = std**2 * (1 - abar) / (abar * std**2 + 1 - abar)
    np.testing.assert_allclose(dist.x0_variance(sched, x, t).numpy(), want, rtol=1e-10)


def test_reverse_variance_is_beta_exactly_for_unit_variance_data(sched):
    """β̃_t + c₁²·(1 − ᾱ_t) = β_t: for N(μ, 1) data the true reverse kernel has variance β_t."""
    dist = GaussianMixture([1.0], [[-0.7]], stds=[1.0])
    x = torch.tensor([[0.3]], dtype=torch.float64)
    for t in (1, 50, 500, 999):
        var = sched.posterior_variance[t] + sched.posterior_mean_coef1[t] ** 2 * dist.x0_variance(sched, x, t)[0, 0]
        assert float(var) == pytest.approx(float(sched.betas[t]), rel=1e-10)


def test_x0_variance_of_a_point_is_zero(sched):
    x = torch.linspace(-3, 3, 5, dtype=torch.float64)[:, None]
    assert float(make_distribution("point", x0=5.0).x0_variance(sched, x, 400).abs().max()) < 1e-12


def test_reverse_variance_matches_numerical_bayes_1d():
    """The mixture's Var(x_{t−1} | x_t) = β̃_t + c₁²·Var(x0 | x_t), against q(x_{t−1} | x_t) ∝
    N(x_t; √α_t x_{t−1}, β_t)·q(x_{t−1}) integrated on a fine grid with scipy's densities."""
    toy = dl.make_schedule("linear", 50, beta_start=0.01, beta_end=0.2)
    mix = make_distribution("mixture_1d")
    w, mu, sd = mix.weights.numpy(), mix.means[:, 0].numpy(), mix.covs[:, 0, 0].sqrt().numpy()
    grid = np.linspace(-12, 12, 48001)
    for k in (1, 6, 25, 49):                       # code index k: step t = k + 1, x_{t−1} at index k − 1
        a_prev = float(toy.alphas_cumprod[k - 1])
        prior = sum(wk * scipy.stats.norm.pdf(grid, np.sqrt(a_prev) * m, np.sqrt(a_prev * s**2 + 1 - a_prev))
                    for wk, m, s in zip(w, mu, sd))
        alpha, beta = float(toy.alphas[k]), float(toy.betas[k])
        x_t = np.array([-2.0, 0.0, 0.5, 2.5])
        post = scipy.stats.norm.pdf(x_t[:, None], np.sqrt(alpha) * grid, np.sqrt(beta)) * prior
        post /= post.sum(1, keepdims=True)
        mean = (post * grid).sum(1)
        want = (post * grid**2).sum(1) - mean**2
        got = toy.posterior_variance[k] + toy.posterior_mean_coef1[k] ** 2 * mix.x0_variance(
            toy, torch.tensor(x_t)[:, None], k)[:, 0]
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_x0_variance_full_covariance_gaussian(sched):
    """2D, one component with a full Σ: the diagonal of Σ − ᾱ Σ C⁻¹ Σ, C = ᾱΣ + (1−ᾱ) I, written in numpy."""
    Sigma = np.array([[1.2, 0.5], [0.5, 0.4]])
    dist = GaussianMixture([1.0], [[1.0, -1.0]], covs=[Sigma.tolist()])
    abar = np_abar()[200]
    C = abar * Sigma + (1 - abar) * np.eye(2)
    want = np.diag(Sigma - abar * Sigma @ np.linalg.solve(C, Sigma))
    got = dist.x0_variance(sched, torch.zeros(3, 2, dtype=torch.float64), 200).numpy()
    np.testing.assert_allclose(got, np.tile(want, (3, 1)), rtol=1e-10)
