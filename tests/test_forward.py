"""Forward process and posterior.

- the closed form q(x_t|x0) matches iterating q(x_t|x_{t−1}) in distribution (moments + KS);
- q_sample with given noise is the formula, and predict_* invert it;
- q(x_{t−1}|x_t, x0) matches Bayes' rule computed by quadrature on a grid, and the Gaussian
  product in closed form (numpy, written here).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

import diffusion_lab as dl
from diffusion_lab import (predict_noise_from_start, predict_start_from_noise, q_posterior, q_posterior_sample,
                           q_sample, q_step, q_trajectory)

T = 1000


@pytest.fixture(scope="module")
def sched():
    return dl.make_schedule("linear", T)


def np_abar(T=1000):
    return np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))


# ----------------------------------------------------------------------------------------------
# closed form vs step by step, in distribution
# ----------------------------------------------------------------------------------------------
def test_closed_form_matches_iterated_steps_in_distribution(sched):
    n, x0_value = 20_000, 5.0
    x0 = torch.full((n, 1), x0_value, dtype=torch.float64)
    traj = q_trajectory(sched, x0, generator=torch.Generator().manual_seed(1))   # (T+1, n, 1)
    assert traj.shape == (T + 1, n, 1)
    assert torch.equal(traj[0], x0)
    abar = np_abar()
    gen = torch.Generator().manual_seed(2)
    for t in (0, 9, 99, 299, 999):
        iterated = traj[t + 1, :, 0].numpy()                     # x_t after t+1 steps
        closed = q_sample(sched, x0, t, generator=gen)[:, 0].numpy()
        mean, var = math.sqrt(abar[t]) * x0_value, 1 - abar[t]
        se_mean = math.sqrt(var / n)                             # standard error of a sample mean
        se_var = var * math.sqrt(2 / (n - 1))                    # … of a Gaussian sample variance
        for x in (iterated, closed):
            # 5 standard errors: a false alarm has probability ~6e-7 per check
            assert abs(x.mean() - mean) < 5 * se_mean, (t, x.mean(), mean)
            assert abs(x.var(ddof=1) - var) < 5 * se_var, (t, x.var(ddof=1), var)
        assert scipy.stats.ks_2samp(iterated, closed).pvalue > 1e-3, t


def test_q_step_iterated_matches_q_trajectory_exactly_with_same_noise():
    short = dl.make_schedule("linear", 100, warn=False)      # 100 steps keep the python loop quick
    x0 = torch.tensor([[5.0], [-1.0], [0.3]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(3)
    traj = q_trajectory(short, x0, generator=gen)
    # q_trajectory draws all its noise as one (T, batch, ...) tensor from the generator
    noise = torch.randn((100, 3, 1), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x = x0
    for t in range(100):
        x = q_step(short, x, t, noise=noise[t])
        if t in (0, 1, 50, 99):
            torch.testing.assert_close(x, traj[t + 1], rtol=1e-12, atol=1e-12)


def test_q_step_is_one_step_formula(sched):
    x_prev = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    eps = torch.tensor([[0.1, 0.2], [-0.3, 1.5]])
    t = 123
    beta = float(np.linspace(1e-4, 0.02, T)[t])
    expected = math.sqrt(1 - beta) * x_prev + math.sqrt(beta) * eps
    torch.testing.assert_close(q_step(sched, x_prev, t, noise=eps), expected, rtol=1e-6, atol=1e-7)


def test_q_sample_with_given_noise_is_the_formula(sched):
    gen = torch.Generator().manual_seed(4)
    x0 = torch.rand((6, 1, 4, 4), generator=gen, dtype=torch.float64) * 2 - 1
    eps = torch.randn(x0.shape, generator=gen, dtype=torch.float64)
    t = torch.tensor([0, 1, 10, 500, 998, 999])
    abar = torch.as_tensor(np_abar()[t.numpy()]).reshape(-1, 1, 1, 1)
    expected = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    torch.testing.assert_close(q_sample(sched, x0, t, noise=eps), expected, rtol=1e-13, atol=1e-13)
    # int t: one step for the whole batch; float32 stays float32
    out = q_sample(sched, x0.float(), 250, noise=eps.float())
    assert out.dtype == torch.float32
    a = float(np_abar()[250])
    torch.testing.assert_close(out, (math.sqrt(a) * x0 + math.sqrt(1 - a) * eps).float(), rtol=1e-6, atol=1e-6)


def test_q_sample_with_generator_is_reproducible(sched):
    x0 = torch.zeros(8, 2)
    a = q_sample(sched, x0, 300, generator=torch.Generator().manual_seed(5))
    b = q_sample(sched, x0, 300, generator=torch.Generator().manual_seed(5))
    c = q_sample(sched, x0, 300, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("t", [0, 1, 500, 999])
def test_predict_start_and_noise_invert_q_sample(sched, t):
    gen = torch.Generator().manual_seed(7)
    x0 = torch.randn((16, 2), generator=gen, dtype=torch.float64)
    eps = torch.randn((16, 2), generator=gen, dtype=torch.float64)
    x_t = q_sample(sched, x0, t, noise=eps)
    # float64; at t = 999 1/√ᾱ ≈ 157 amplifies rounding of x_t: 1e-10 absolute is still tight
    torch.testing.assert_close(predict_start_from_noise(sched, x_t, t, eps), x0, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(predict_noise_from_start(sched, x_t, t, x0), eps, rtol=1e-10, atol=1e-10)
    # per-sample t
    tt = torch.randint(0, T, (16,), generator=gen)
    x_t = q_sample(sched, x0, tt, noise=eps)
    torch.testing.assert_close(predict_start_from_noise(sched, x_t, tt, eps), x0, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(predict_noise_from_start(sched, x_t, tt, x0), eps, rtol=1e-10, atol=1e-10)


def test_marginal_moments(sched):
    abar = np_abar()
    mean, var = dl.marginal_moments(sched, 99, x0_mean=5.0, x0_var=0.25)
    assert float(mean) == pytest.approx(math.sqrt(abar[99]) * 5.0, rel=1e-12)
    assert float(var) == pytest.approx(abar[99] * 0.25 + 1 - abar[99], rel=1e-12)


# ----------------------------------------------------------------------------------------------
# the posterior q(x_{t−1} | x_t, x0)
# ----------------------------------------------------------------------------------------------
def _bayes_by_quadrature(x0, x_t, t, abar):
    """Mean and variance of p(x_{t−1}) ∝ q(x_t|x_{t−1}) q(x_{t−1}|x0) by trapezoid quadrature.

    Code step t ≥ 1: q(x_t|x_{t−1}) = N(√α_t x_{t−1}, β_t), q(x_{t−1}|x0) = N(√ᾱ_{t−1} x0, 1−ᾱ_{t−1}).
    """
    alpha = abar[t] / abar[t - 1]
    beta = 1 - alpha
    prior_m, prior_s = math.sqrt(abar[t - 1]) * x0, math.sqrt(1 - abar[t - 1])
    lik_m, lik_s = x_t / math.sqrt(alpha), math.sqrt(beta / alpha)   # the likelihood as a function of x_{t−1}
    # the posterior lies between the two centres and is narrower than either factor
    s = min(prior_s, lik_s)
    lo, hi = min(prior_m, lik_m) - 14 * s, max(prior_m, lik_m) + 14 * s
    n = int(min(2_000_001, max(20_001, (hi - lo) / (s / 60))))
    grid = np.linspace(lo, hi, n)
    log_dens = (-0.5 * (x_t - math.sqrt(alpha) * grid) ** 2 / beta
                - 0.5 * (grid - prior_m) ** 2 / prior_s**2)
    dens = np.exp(log_dens - log_dens.max())
    z = np.trapezoid(dens, grid)
    mean = np.trapezoid(grid * dens, grid) / z
    var = np.trapezoid((grid - mean) ** 2 * dens, grid) / z
    return mean, var


@pytest.mark.parametrize("t", [1, 2, 50, 500, 998, 999])
def test_posterior_matches_bayes_rule_by_quadrature(sched, t):
    abar = np_abar()
    x0 = 1.3
    x_t = math.sqrt(abar[t]) * x0 + math.sqrt(1 - abar[t]) * 0.7      # a typical x_t for this x0
    mean_q, var_q = _bayes_by_quadrature(x0, x_t, t, abar)
    mean, var, log_var = q_posterior(sched, torch.tensor([[x0]], dtype=torch.float64),
                                     torch.tensor([[x_t]], dtype=torch.float64), t)
    # quadrature on ≥ 60 points per posterior std is accurate far beyond this; 1e-6 relative
    assert float(mean) == pytest.approx(mean_q, rel=1e-6, abs=1e-9)
    assert float(var) == pytest.approx(var_q, rel=1e-6)
    assert float(log_var) == pytest.approx(math.log(var_q), abs=1e-6)


@pytest.mark.parametrize("t", [1, 3, 100, 700, 999])
def test_posterior_gaussian_product_closed_form(sched, t):
    abar = np_abar()
    beta = float(np.linspace(1e-4, 0.02, T)[t])
    gen = torch.Generator().manual_seed(t)
    x0 = torch.randn((32, 2), generator=gen, dtype=torch.float64)
    x_t = torch.randn((32, 2), generator=gen, dtype=torch.float64) * 2
    # product of N(x_t; √α x, β) and N(x; √ᾱ_{t−1} x0, 1−ᾱ_{t−1}) in x: precisions add
    precision = (1 - beta) / beta + 1 / (1 - abar[t - 1])
    var = 1 / precision
    mean = var * (math.sqrt(1 - beta) / beta * x_t + math.sqrt(abar[t - 1]) / (1 - abar[t - 1]) * x0)
    m, v, _ = q_posterior(sched, x0, x_t, t)
    torch.testing.assert_close(m, mean, rtol=1e-9, atol=1e-11)
    assert float(v) == pytest.approx(var, rel=1e-9)
    # and the named formula β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) β_t
    assert float(v) == pytest.approx((1 - abar[t - 1]) / (1 - abar[t]) * beta, rel=1e-9)
    # per-sample t gives the same as the int
    m2, v2, _ = q_posterior(sched, x0, x_t, torch.full((32,), t))
    torch.testing.assert_close(m2, m, rtol=1e-12, atol=1e-12)
    assert v2.shape == (32, 1)


def test_posterior_at_t0_is_the_point_x0(sched):
    x0 = torch.tensor([[0.4, -1.2], [2.0, 0.0]], dtype=torch.float64)
    x_t = q_sample(sched, x0, 0, generator=torch.Generator().manual_seed(8))
    mean, var, log_var = q_posterior(sched, x0, x_t, 0)
    assert float(var) == 0.0
    assert bool(torch.isfinite(log_var).all())           # clipped: finite even though β̃_0 = 0
    torch.testing.assert_close(mean, x0, rtol=1e-9, atol=1e-9)
    drawn = q_posterior_sample(sched, x0, x_t, 0, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(drawn, x0, rtol=1e-9, atol=1e-9)


def test_posterior_sample_moments(sched):
    n, t = 20_000, 400
    x0 = torch.full((n, 1), 2.0, dtype=torch.float64)
    x_t = torch.full((n, 1), 0.5, dtype=torch.float64)
    mean, var, _ = q_posterior(sched, x0[:1], x_t[:1], t)
    draws = q_posterior_sample(sched, x0, x_t, t, generator=torch.Generator().manual_seed(10))[:, 0].numpy()
    se = math.sqrt(float(var) / n)
    assert abs(draws.mean() - float(mean)) < 5 * se                      # 5 standard errors
    assert abs(draws.var(ddof=1) - float(var)) < 5 * float(var) * math.sqrt(2 / (n - 1))


def test_marginal_moments_is_one_formula_for_numbers_vectors_matrices_and_many_t():
    sched = dl.make_schedule("linear", 1000)
    abar = sched.alphas_cumprod
    # a number: E = √ᾱ μ, Var = ᾱ v + 1 − ᾱ
    m, v = dl.marginal_moments(sched, 300, 2.0, 0.5)
    a = float(abar[300])
    assert float(m) == pytest.approx(math.sqrt(a) * 2.0, rel=1e-12)
    assert float(v) == pytest.approx(a * 0.5 + 1 - a, rel=1e-12)
    # K component means and covariances (a mixture's q(x_t)), and every t at once
    means = torch.tensor([[1.0, -1.0], [0.0, 3.0]], dtype=torch.float64)
    covs = torch.stack([torch.eye(2) * 0.04, torch.tensor([[0.5, 0.2], [0.2, 0.3]])]).double()
    m, c = dl.marginal_moments(sched, torch.arange(1000), means, covs)
    assert m.shape == (1000, 2, 2) and c.shape == (1000, 2, 2, 2)
    t = 777
    torch.testing.assert_close(m[t], abar[t].sqrt() * means)
    torch.testing.assert_close(c[t], abar[t] * covs + (1 - abar[t]) * torch.eye(2, dtype=torch.float64))
    # agrees with a mixture's marginal and with the sample moments of q_sample (n = 200k: 4 standard errors)
    ring = dl.make_distribution("ring")
    torch.testing.assert_close(ring.marginal(sched, t).covs, dl.marginal_moments(sched, t, ring.means, ring.covs)[1])
    x0 = torch.randn(200_000, dtype=torch.float64, generator=dl.make_generator(3)) * 0.5 + 2.0
    x_t = dl.q_sample(sched, x0[:, None], 100, generator=dl.make_generator(4))
    mean, var = dl.marginal_moments(sched, 100, 2.0, 0.25)
    assert abs(float(x_t.mean()) - float(mean)) < 4 * math.sqrt(float(var) / 200_000)
    assert abs(float(x_t.var()) - float(var)) < 4 * float(var) * math.sqrt(2 / 200_000)
    with pytest.raises(ValueError, match="covariance"):
        dl.marginal_moments(sched, 0, torch.zeros(3), torch.eye(2))


# ----------------------------------------------------------------------------------------------
# many x_t at once (q_sample_steps, q_sample_grid) and the long way round (q_sample_chain)
# ----------------------------------------------------------------------------------------------
def _closed_form_np(s, x0, t, eps):
    """x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε written out with numpy (ᾱ from the β's), independent of the package."""
    abar = float(np.prod(1.0 - s.betas.numpy()[: t + 1]))
    return math.sqrt(abar) * np.asarray(x0, dtype=np.float64) + math.sqrt(1 - abar) * np.asarray(eps, dtype=np.float64)


def test_q_sample_steps_is_q_sample_at_every_t_with_one_noise():
    short = dl.make_schedule("linear", 100, beta_start=0.001, beta_end=0.02, warn=False)
    x0 = dl.make_distribution("gaussian_2d").sample(50, generator=dl.make_generator(0))
    eps = torch.randn((50, 2), generator=dl.make_generator(1))
    clouds = dl.forward.q_sample_steps(short, x0, range(short.T), noise=eps)
    assert clouds.shape == (100, 50, 2) and clouds.dtype == x0.dtype
    for t in (0, 1, 50, 99):
        assert torch.equal(clouds[t], q_sample(short, x0, t, noise=eps))          # bit for bit
        np.testing.assert_allclose(clouds[t].numpy(), _closed_form_np(short, x0, t, eps), atol=1e-5)
    # one ε for all t: recovering ε from any x_t gives the same ε
    a, b = short.sqrt_alphas_cumprod, short.sqrt_one_minus_alphas_cumprod
    for t in (3, 60, 99):
        torch.testing.assert_close((clouds[t].double() - a[t] * x0.double()) / b[t], eps.double(), atol=1e-4, rtol=0)
    sub = dl.forward.q_sample_steps(short, x0, torch.tensor([7, 3]), noise=eps)
    assert torch.equal(sub[0], clouds[7]) and torch.equal(sub[1], clouds[3])


def test_q_sample_steps_rejects_bad_input(sched):
    with pytest.raises(ValueError, match="shape"):
        dl.forward.q_sample_steps(sched, torch.zeros(5, 2), [0], noise=torch.zeros(4, 2))
    with pytest.raises(ValueError, match="non-empty"):
        dl.forward.q_sample_steps(sched, torch.zeros(5, 2), [])
    with pytest.raises(ValueError, match="outside"):
        dl.forward.q_sample_steps(sched, torch.zeros(5, 2), [0, T])


def test_q_sample_grid_rows_differ_only_through_abar():
    schedules = dl.schedules.make_schedules(T=1000)
    digit = torch.rand((1, 1, 8, 8), generator=dl.make_generator(2)) * 2 - 1
    eps = torch.randn(digit.shape, generator=dl.make_generator(3))
    ts = [0, 259, 999]
    grid = dl.forward.q_sample_grid(schedules, digit, ts, noise=eps)
    assert grid.shape == (5, 3, 1, 1, 8, 8)
    for r, s in enumerate(schedules.values()):
        for k, t in enumerate(ts):
            np.testing.assert_allclose(grid[r, k].numpy(), _closed_form_np(s, digit, t, eps), atol=1e-5)
            assert torch.equal(grid[r, k], q_sample(s, digit, t, noise=eps))              # bit for bit
    # same ε everywhere: at t = 999 every schedule is almost pure ε
    assert float((grid[:, 2] - eps).abs().max()) < 0.05
    with pytest.raises(ValueError, match="empty"):
        dl.forward.q_sample_grid({}, digit, ts)


def test_q_sample_grid_has_the_closed_form_moments_statistically():
    # x0 ~ N((2, 2), 0.5² I): x_t ~ N(√ᾱ·2, ᾱ·0.25 + 1 − ᾱ) per coordinate
    s = dl.schedules.make_schedules(["cosine"], T=1000)
    x0 = dl.make_distribution("gaussian_2d").sample(20000, generator=dl.make_generator(4))
    t = 500
    x_t = dl.forward.q_sample_grid(s, x0, [t], generator=dl.make_generator(5))[0, 0]
    abar = float(s["cosine"].alphas_cumprod[t])
    assert float(x_t.mean()) == pytest.approx(2 * math.sqrt(abar), abs=0.03)        # ~5 standard errors
    assert float(x_t.var()) == pytest.approx(abar * 0.25 + 1 - abar, rel=0.05)


def test_q_sample_chain_draws_like_q_step_calls_and_keeps_only_the_last(sched):
    x0 = torch.randn(5, 2, generator=dl.make_generator(6), dtype=torch.float64)
    assert torch.equal(dl.forward.q_sample_chain(sched, x0, 0, generator=dl.make_generator(7)),
                       q_step(sched, x0, 0, generator=dl.make_generator(7)))
    gen = dl.make_generator(8)
    x = x0
    for s in range(31):
        x = q_step(sched, x, s, generator=gen)
    assert torch.equal(dl.forward.q_sample_chain(sched, x0, 30, generator=dl.make_generator(8)), x)
    with pytest.raises(TypeError, match="one int"):
        dl.forward.q_sample_chain(sched, x0, torch.tensor([1, 2, 3, 4, 5]))
