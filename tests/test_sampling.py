"""Reverse samplers.

- DDIM with η = 1 over all T steps IS DDPM with σ² = β̃_t, step by step (same generator);
- DDIM with η = 0 is deterministic; ``ddim_timesteps`` has the documented properties;
- one DDPM / DDIM step matches the papers' formulas written here;
- with the exact ε* of a 1D and a 2D Gaussian mixture, DDPM (both variances) and DDIM (50 steps)
  reproduce the mixture: mean, covariance, component proportions and a two-sample test;
- bad eps_model output is caught; ``clip_x0`` clamps x̂0.

Tolerances are multiples of standard errors computed for the sample size used (n = 2000).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from scipy.spatial.distance import cdist

import diffusion_lab as dl
from diffusion_lab import SamplerStep, ddim_sample, ddim_steps, ddim_timesteps, ddpm_sample, ddpm_steps

T = 1000
N = 2000          # samples per sampler run: DDPM-1000 with exact ε* then takes a few seconds
SE_MULT = 5.0     # a moment / proportion check fails beyond 5 standard errors (≈ 6e-7 two-sided)


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


@pytest.fixture(scope="module")
def sched():
    return dl.make_schedule("linear", T)


@pytest.fixture(scope="module")
def mix1d():
    return dl.make_distribution("mixture_1d")                 # 0.3 N(−2, 0.5²) + 0.7 N(3, 0.8²)


@pytest.fixture(scope="module")
def ring():
    return dl.make_distribution("ring")                       # 8 × N(2(cos, sin), 0.2² I)


# ----------------------------------------------------------------------------------------------
# DDIM(η=1, all steps) == DDPM(β̃), step by step
# ----------------------------------------------------------------------------------------------
def cheap_eps(x, t):
    """Any ε̂ will do for an identity between samplers: a cheap nonlinear function of x and t."""
    return torch.tanh(x) * (0.3 + t[:, None] / 2000) + 0.1 * torch.sin(3 * x)


def test_ddim_eta1_all_steps_equals_ddpm_beta_tilde_step_by_step(sched):
    model = cheap_eps
    x_T = torch.randn((16, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ddpm = ddpm_steps(model, sched, x_T, variance="beta_tilde", generator=torch.Generator().manual_seed(1))
    ddim = ddim_steps(model, sched, x_T, num_steps=T, eta=1.0, generator=torch.Generator().manual_seed(1))
    count = 0
    for a, b in zip(ddpm, ddim, strict=True):
        assert a.t == b.t and a.t_prev == b.t_prev
        # float64 through 1000 steps: the two formulas agree to rounding, far inside 1e-5
        torch.testing.assert_close(b.x0_pred, a.x0_pred, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(b.x_prev, a.x_prev, rtol=1e-5, atol=1e-5)
        assert b.sigma == pytest.approx(a.sigma, rel=1e-9, abs=1e-12)
        count += 1
    assert count == T


def test_ddim_eta1_equals_ddpm_in_float32_too(sched, mix1d):
    """The same identity in float32 (what the notebooks use), over the last 200 steps."""
    model = mix1d.eps_model(sched)
    x_T = torch.randn((16, 1), generator=torch.Generator().manual_seed(2))
    a = ddpm_sample(model, sched, x_T, generator=torch.Generator().manual_seed(3), t_start=199)
    b = ddim_sample(model, sched, x_T, eta=1.0, timesteps=range(199, -1, -1),
                    generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)    # float32 rounding over 200 steps


def test_ddim_eta0_is_deterministic(sched, ring):
    model = ring.eps_model(sched)
    x_T = torch.randn((64, 2), generator=torch.Generator().manual_seed(4))
    a = ddim_sample(model, sched, x_T, num_steps=20, eta=0.0, generator=torch.Generator().manual_seed(5))
    b = ddim_sample(model, sched, x_T, num_steps=20, eta=0.0, generator=torch.Generator().manual_seed(6))
    c = ddim_sample(model, sched, x_T, num_steps=20, eta=0.0)
    assert torch.equal(a, b) and torch.equal(a, c)
    # η > 0 does use the generator
    d = ddim_sample(model, sched, x_T, num_steps=20, eta=0.5, generator=torch.Generator().manual_seed(5))
    e = ddim_sample(model, sched, x_T, num_steps=20, eta=0.5, generator=torch.Generator().manual_seed(6))
    assert not torch.allclose(d, e)


@pytest.mark.parametrize("T_,n", [(1000, 50), (1000, 20), (1000, 10), (1000, 1000), (1000, 999), (1000, 2),
                                  (10, 3), (7, 7), (100, 33)])
def test_ddim_timesteps_properties(T_, n):
    taus = ddim_timesteps(T_, n)
    assert len(taus) == n
    assert taus[0] == T_ - 1 and taus[-1] == 0
    assert all(a > b for a, b in zip(taus, taus[1:]))
    assert all(isinstance(t, int) for t in taus)
    gaps = np.diff(taus[::-1])
    assert gaps.max() - gaps.min() <= 1          # evenly spaced up to rounding
    if n == T_:
        assert taus == list(range(T_ - 1, -1, -1))


def test_ddim_timesteps_single_step():
    assert ddim_timesteps(1000, 1) == [999]       # one jump from x_T straight to x0


# ----------------------------------------------------------------------------------------------
# one step against the papers' formulas
# ----------------------------------------------------------------------------------------------
def _replay_noise(gen_seed, shape, skip_draws):
    g = torch.Generator().manual_seed(gen_seed)
    for _ in range(skip_draws):
        torch.randn(shape, generator=g, dtype=torch.float64)
    return torch.randn(shape, generator=g, dtype=torch.float64)


def test_ddpm_step_is_ho_et_al_formula(sched):
    """x_{t−1} = 1/√α_t (x_t − β_t/√(1−ᾱ_t) ε̂) + σ_t z (Ho et al., 2020, Algorithm 2)."""
    betas = np.linspace(1e-4, 0.02, T)
    abar = np.cumprod(1 - betas)
    model = cheap_eps                                   # the update rule holds for any ε̂
    x_T = torch.randn((32, 2), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    for variance in ("beta_tilde", "beta"):
        steps = ddpm_steps(model, sched, x_T, variance=variance, generator=torch.Generator().manual_seed(8))
        for k, step in enumerate(steps):
            t = step.t
            if t not in (999, 998, 500, 1, 0):
                continue
            b, a = betas[t], 1 - betas[t]
            var = b if variance == "beta" else (b * (1 - abar[t - 1]) / (1 - abar[t]) if t > 0 else 0.0)
            sigma = math.sqrt(var) if t > 0 else 0.0
            assert step.sigma == pytest.approx(sigma, rel=1e-9, abs=0)
            eps = model(step.x_t, torch.full((32,), t))
            torch.testing.assert_close(step.eps, eps, rtol=1e-12, atol=1e-12)
            z = _replay_noise(8, (32, 2), k) if t > 0 else torch.zeros(32, 2, dtype=torch.float64)
            expected = (step.x_t - b / math.sqrt(1 - abar[t]) * eps) / math.sqrt(a) + sigma * z
            torch.testing.assert_close(step.x_prev, expected, rtol=1e-9, atol=1e-9)
            x0 = (step.x_t - math.sqrt(1 - abar[t]) * eps) / math.sqrt(abar[t])
            torch.testing.assert_close(step.x0_pred, x0, rtol=1e-9, atol=1e-9)


def test_ddim_eta0_step_is_song_et_al_formula(sched, ring):
    """x_s = √ᾱ_s x̂0 + √(1−ᾱ_s) ε̂ with no noise (Song et al., 2021, eq. 12 with σ = 0)."""
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, T))
    model = ring.eps_model(sched)
    x_T = torch.randn((32, 2), generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    steps = list(ddim_steps(model, sched, x_T, num_steps=10))
    taus = ddim_timesteps(T, 10)
    assert [s.t for s in steps] == taus and [s.t_prev for s in steps] == taus[1:] + [-1]
    for step in steps:
        a_t = abar[step.t]
        a_s = abar[step.t_prev] if step.t_prev >= 0 else 1.0
        x0 = (step.x_t - math.sqrt(1 - a_t) * step.eps) / math.sqrt(a_t)
        torch.testing.assert_close(step.x0_pred, x0, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(step.x_prev, math.sqrt(a_s) * x0 + math.sqrt(1 - a_s) * step.eps,
                                   rtol=1e-9, atol=1e-9)
        assert step.sigma == 0.0


def test_sampler_step_fields_chain(sched, mix1d):
    model = mix1d.eps_model(sched)
    steps = list(ddpm_steps(model, sched, (8, 1), generator=torch.Generator().manual_seed(10), t_start=49))
    assert [s.t for s in steps] == list(range(49, -1, -1))
    assert all(isinstance(s, SamplerStep) for s in steps)
    assert set(vars(steps[0])) == {"t", "t_prev", "x_t", "x_prev", "x0_pred", "eps", "sigma"}
    for prev, nxt in zip(steps, steps[1:]):
        assert nxt.t == prev.t_prev == prev.t - 1
        assert nxt.x_t is prev.x_prev                             # the chain hands x on
    for s in steps:
        assert s.x_t.shape == s.x_prev.shape == s.x0_pred.shape == s.eps.shape == (8, 1)
    assert steps[-1].t_prev == -1 and steps[-1].sigma == 0.0
    # final() returns the last x_prev (replayed from the same seed: x_T is drawn from it too)
    x = dl.final(ddpm_steps(model, sched, (8, 1), generator=torch.Generator().manual_seed(10), t_start=49))
    assert torch.equal(x, steps[-1].x_prev)


# ----------------------------------------------------------------------------------------------
# the samplers reproduce a known mixture with the exact ε*
# ----------------------------------------------------------------------------------------------
def _run(kind, dist, sched, seed):
    model = dist.eps_model(sched)
    gen = torch.Generator().manual_seed(seed)
    x_T = torch.randn((N, dist.dim), generator=gen)
    if kind == "ddpm_beta_tilde":
        return ddpm_sample(model, sched, x_T, variance="beta_tilde", generator=gen)
    if kind == "ddpm_beta":
        return ddpm_sample(model, sched, x_T, variance="beta", generator=gen)
    if kind == "ddim50":
        return ddim_sample(model, sched, x_T, num_steps=50, eta=0.0, generator=gen)
    raise AssertionError(kind)


KINDS = ["ddpm_beta_tilde", "ddpm_beta", "ddim50"]


@pytest.fixture(scope="module")
def reference_1d(mix1d):
    return mix1d.sample(200_000, generator=torch.Generator().manual_seed(11)).double().numpy()


@pytest.fixture(scope="module")
def reference_2d(ring):
    return ring.sample(200_000, generator=torch.Generator().manual_seed(12)).double().numpy()


@pytest.fixture(scope="module")
def samples_1d(sched, mix1d):
    return {k: _run(k, mix1d, sched, seed=100 + i).double().numpy() for i, k in enumerate(KINDS)}


@pytest.fixture(scope="module")
def samples_2d(sched, ring):
    return {k: _run(k, ring, sched, seed=200 + i).double().numpy() for i, k in enumerate(KINDS)}


def _check_moments(x, dist, reference):
    """Mean and covariance within SE_MULT standard errors; SEs from a large reference sample."""
    n = x.shape[0]
    mean, cov = dist.mean().numpy(), dist.covariance().numpy()
    se_mean = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(x.mean(0) - mean) < SE_MULT * se_mean), (x.mean(0), mean, se_mean)
    c = reference - mean
    products = c[:, :, None] * c[:, None, :]                      # per-sample terms of the covariance
    se_cov = products.std(0) / math.sqrt(n)
    sample_cov = np.cov(x, rowvar=False).reshape(cov.shape)
    assert np.all(np.abs(sample_cov - cov) < SE_MULT * se_cov), (sample_cov, cov, se_cov)


def _nearest(x, means):
    return np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)


def _check_proportions(x, dist, reference):
    """Share of samples nearest to each mean vs the same share in a large sample of the mixture."""
    means = dist.means.numpy()
    K, n = means.shape[0], x.shape[0]
    p_ref = np.bincount(_nearest(reference, means), minlength=K) / reference.shape[0]
    p = np.bincount(_nearest(x, means), minlength=K) / n
    se = np.sqrt(p_ref * (1 - p_ref) / n)                          # binomial standard error
    assert np.all(np.abs(p - p_ref) < SE_MULT * se + 1e-3), (p, p_ref)


def _mixture_cdf_1d(dist):
    w = dist.weights.numpy()
    mu = dist.means.numpy()[:, 0]
    sd = np.sqrt(dist.covs.numpy()[:, 0, 0])
    return lambda x: (w * scipy.stats.norm.cdf((np.asarray(x)[..., None] - mu) / sd)).sum(-1)


def mmd_test(x, y, bandwidths=(0.2, 1.0), n_perm=999, seed=0):
    """Kernel two-sample permutation test (Gretton et al., 2012): MMD² with a sum of RBF kernels.

    Bandwidth 0.2 is the ring's mode width (sees modes that are too wide or misplaced), 1.0 sees
    the global layout. Returns (MMD², p-value). With 999 permutations the smallest possible p is
    1/1000, so ``p > 1e-3`` fails exactly when the observed MMD² beats every permutation.
    """
    z = np.concatenate([x, y]).astype(np.float64)
    d2 = cdist(z, z, "sqeuclidean")
    K = sum(np.exp(-d2 / (2 * h * h)) for h in bandwidths).astype(np.float32)
    n, total = x.shape[0], z.shape[0]
    m = total - n
    rng = np.random.default_rng(seed)
    A = np.zeros((total, n_perm + 1), dtype=np.float32)
    A[:n, 0] = 1.0                                                 # column 0: the real split
    for j in range(n_perm):
        A[rng.permutation(total)[:n], j + 1] = 1.0
    KA = K @ A                                                     # all splits in one product
    row = K.sum(1, dtype=np.float64)[:, None]
    B = 1.0 - A
    xx = (A * KA).sum(0, dtype=np.float64) / n**2
    xy = (B * KA).sum(0, dtype=np.float64) / (n * m)
    yy = (B * (row - KA)).sum(0, dtype=np.float64) / m**2
    stat = xx + yy - 2 * xy
    p = (1 + np.sum(stat[1:] >= stat[0])) / (n_perm + 1)
    return float(stat[0]), float(p)


@pytest.mark.parametrize("kind", KINDS)
def test_samplers_reproduce_1d_mixture(kind, samples_1d, mix1d, reference_1d):
    x = samples_1d[kind]
    assert x.shape == (N, 1) and np.isfinite(x).all()
    reference = reference_1d
    _check_moments(x, mix1d, reference)
    _check_proportions(x, mix1d, reference)
    # one-sample KS against the exact mixture CDF; a correct sampler fails this with prob. 1e-3
    assert scipy.stats.kstest(x[:, 0], _mixture_cdf_1d(mix1d)).pvalue > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_samplers_reproduce_2d_ring(kind, samples_2d, ring, reference_2d):
    x = samples_2d[kind]
    assert x.shape == (N, 2) and np.isfinite(x).all()
    reference = reference_2d
    _check_moments(x, ring, reference)
    _check_proportions(x, ring, reference)
    # MMD permutation test against a fresh sample of the mixture (same size)
    fresh = ring.sample(N, generator=torch.Generator().manual_seed(13)).double().numpy()
    _, p = mmd_test(x, fresh)
    assert p > 1e-3, p
    # distance to the nearest mean: |x − μ_k|²/σ² is χ²₂ for a correct sample (components are far
    # apart, so the nearest mean is the right one); KS on it checks the spread of every mode
    means, sd = ring.means.numpy(), 0.2
    r2 = ((x - means[_nearest(x, means)]) ** 2).sum(1) / sd**2
    if kind.startswith("ddpm"):
        assert scipy.stats.kstest(r2, scipy.stats.chi2(df=2).cdf).pvalue > 1e-3
    else:
        # Deterministic DDIM shrinks narrow modes: for one Gaussian each step maps x_t linearly and, by
        # Cauchy–Schwarz, to a variance ≤ the true Var[x_s] (equality only as the step size → 0).
        # With 50 steps on σ = 0.2 modes E[r²] is ≈ 1.76 instead of 2 (1000 steps: ≈ 1.90).
        # Band: not wider than the truth (+5 SE; SE of a χ²₂ mean is 2/√n) and at most 20 % narrower.
        assert 0.8 * 2 < r2.mean() < 2 + SE_MULT * 2 / math.sqrt(N), r2.mean()


def test_ddim_on_one_gaussian_is_the_exact_linear_map():
    """Data N(0, σ²) in 1D: ε*(x, t) = √(1−ᾱ_t) x / v_t with v_t = ᾱ_t σ² + 1 − ᾱ_t, so one DDIM (η = 0)
    step from t to s multiplies x by c = (√(ᾱ_s ᾱ_t) σ² + √((1−ᾱ_s)(1−ᾱ_t)))/v_t. The whole run is
    x0 = x_T ∏ c: checked to float64 rounding (1e-10)."""
    sched = dl.make_schedule("linear", T)
    abar = np.cumprod(1 - np.linspace(1e-4, 0.02, T))
    s2 = 0.3**2
    gauss = dl.GaussianMixture([1.0], [[0.0]], stds=0.3)
    x_T = torch.linspace(-3, 3, 7, dtype=torch.float64)[:, None]
    for k in (50, 10):
        taus = ddim_timesteps(T, k)
        factor = 1.0
        for t, s in zip(taus, taus[1:] + [-1]):
            a_t, a_s = abar[t], (abar[s] if s >= 0 else 1.0)
            factor *= (math.sqrt(a_s * a_t) * s2 + math.sqrt((1 - a_s) * (1 - a_t))) / (a_t * s2 + 1 - a_t)
        out = ddim_sample(gauss.eps_model(sched), sched, x_T, num_steps=k)
        torch.testing.assert_close(out, x_T * factor, rtol=1e-10, atol=1e-12)
        assert factor < 0.3                          # under-dispersed: the DDIM shrink explained above


def test_two_sample_checks_have_power(ring, mix1d, reference_1d):
    """Negative controls: the same checks reject visibly wrong samples (so they can fail)."""
    fresh = ring.sample(N, generator=torch.Generator().manual_seed(13)).double().numpy()
    wide = dl.GaussianMixture(ring.weights, ring.means, stds=0.3)             # modes 1.5× too wide
    x = wide.sample(N, generator=torch.Generator().manual_seed(14)).double().numpy()
    assert mmd_test(x, fresh)[1] <= 1e-3
    means, sd = ring.means.numpy(), 0.2
    r2 = ((x - means[_nearest(x, means)]) ** 2).sum(1) / sd**2
    assert scipy.stats.kstest(r2, scipy.stats.chi2(df=2).cdf).pvalue < 1e-3
    lop = dl.GaussianMixture([0.4, 0.6], mix1d.means, covs=mix1d.covs)        # proportions off by 0.1
    y = lop.sample(N, generator=torch.Generator().manual_seed(15)).double().numpy()
    assert scipy.stats.kstest(y[:, 0], _mixture_cdf_1d(mix1d)).pvalue < 1e-3
    with pytest.raises(AssertionError):
        _check_proportions(y, mix1d, reference_1d)
    shifted = y + 0.5                                                          # mean off by 0.5
    with pytest.raises(AssertionError):
        _check_moments(shifted, mix1d, reference_1d)


# ----------------------------------------------------------------------------------------------
# bad eps_model output, clipping
# ----------------------------------------------------------------------------------------------
def test_eps_model_wrong_shape_raises(sched):
    bad = lambda x, t: torch.zeros(x.shape[0], 3)  # noqa: E731
    with pytest.raises(ValueError, match=r"x_t's shape"):
        ddpm_sample(bad, sched, (4, 2))
    with pytest.raises(ValueError, match=r"\(4, 3\)"):
        ddim_sample(bad, sched, (4, 2), num_steps=5)
    with pytest.raises(ValueError, match="must return"):
        ddpm_sample(lambda x, t: x.numpy(), sched, (4, 2))


def test_eps_model_nan_raises_naming_non_finite(sched):
    def nan_at_500(x, t):
        return torch.full_like(x, float("nan")) if int(t[0]) == 500 else torch.zeros_like(x)
    with pytest.raises(ValueError, match="non-finite") as err:
        ddpm_sample(nan_at_500, sched, (4, 2))
    assert "code index 500 (the maths' t = 501)" in str(err.value)
    with pytest.raises(ValueError, match="non-finite"):
        ddim_sample(lambda x, t: x * float("inf"), sched, (4, 2), num_steps=5)


def test_eps_model_receives_long_t_batch(sched):
    seen = []

    def spy(x, t):
        seen.append((t.dtype, tuple(t.shape), int(t[0])))
        return torch.zeros_like(x)
    ddim_sample(spy, sched, (3, 2), num_steps=4)
    assert seen == [(torch.long, (3,), t) for t in ddim_timesteps(T, 4)]


def test_clip_x0_clamps_prediction(sched):
    huge = lambda x, t: -10 * torch.ones_like(x)  # noqa: E731  (implies x̂0 far outside [−1, 1])
    x_T = torch.randn((16, 1, 4, 4), generator=torch.Generator().manual_seed(16))
    for steps in (ddpm_steps(huge, sched, x_T, clip_x0=1.0, generator=torch.Generator().manual_seed(0)),
                  ddim_steps(huge, sched, x_T, num_steps=10, clip_x0=1.0)):
        saw_clamp = False
        for s in steps:
            assert float(s.x0_pred.abs().max()) <= 1.0 + 1e-6
            saw_clamp |= bool((s.x0_pred.abs() > 1 - 1e-6).any())
            # ε is made consistent with the clamped x̂0
            x0 = dl.predict_start_from_noise(sched, s.x_t, s.t, s.eps)
            torch.testing.assert_close(x0, s.x0_pred, rtol=1e-4, atol=1e-4)
        assert saw_clamp
    unclipped = next(iter(ddpm_steps(huge, sched, x_T, generator=torch.Generator().manual_seed(0))))
    assert float(unclipped.x0_pred.abs().max()) > 1.0


# ---- the σ = 0 walk, recorded runs and quality curves (moved here from the chapter-5 view) -----------


@pytest.fixture(scope="module")
def short_schedule():
    # 200 steps reaching ᾱ ≈ e^-10: fast, and still ends in N(0, I)
    return dl.make_schedule("linear", 200, beta_start=1e-4, beta_end=0.1)


@pytest.fixture(scope="module")
def ring_mixture():
    return dl.make_distribution("ring")


# ---- samplers and traces --------------------------------------------------------------------------
def test_ddpm_mean_steps_is_the_posterior_mean_walk(short_schedule):
    g = dl.make_distribution("gaussian_2d")
    eps = g.eps_model(short_schedule)
    x_T = torch.randn((6, 2), generator=dl.make_generator(7))
    first = next(dl.ddpm_mean_steps(eps, short_schedule, x_T.clone()))
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
    collapsed = dl.record(dl.ddpm_mean_steps(eps, short_schedule, x_T.clone())).x_final
    assert float(proper.std(0).mean()) == pytest.approx(0.5, abs=0.05)
    assert float(torch.as_tensor(collapsed).std(0).mean()) < 0.25
    assert torch.as_tensor(collapsed).mean(0).numpy() == pytest.approx([2.0, 2.0], abs=0.1)


def _fake_steps(n_steps=5, shape=(3, 2)):
    for t in range(n_steps - 1, -1, -1):
        x = torch.full(shape, float(t))
        yield SamplerStep(t=t, t_prev=t - 1, x_t=x, x_prev=x - 1, x0_pred=x * 10, eps=x, sigma=0.1 * t)


def test_record_keeps_every_step_and_the_final_sample():
    tr = dl.record(_fake_steps(), label="fake")
    assert tr.ts.tolist() == [4, 3, 2, 1, 0] and tr.num_calls == 5
    assert tr.x_t.shape == (5, 3, 2) and tr.x_t.dtype == np.float32
    assert tr.x0_pred[1, 0, 0] == 30.0 and tr.x_final[0, 0] == -1.0
    assert tr.sigmas.tolist() == pytest.approx([0.4, 0.3, 0.2, 0.1, 0.0])
    assert tr.index(3) == 1 and tr.index(100) == 0 and tr.at(-5)[0] == 0


def test_record_every_k_keeps_the_last_step_and_rejects_nonsense():
    tr = dl.record(_fake_steps(n_steps=7), every=3)
    assert tr.ts.tolist() == [6, 3, 0]
    with pytest.raises(ValueError, match="every"):
        dl.record(_fake_steps(), every=0)
    with pytest.raises(ValueError, match="no steps"):
        dl.record(iter([]))


def test_ddim_quality_curve_matches_direct_sampling(short_schedule, ring_mixture):
    eps = ring_mixture.eps_model(short_schedule)
    x_T = torch.randn((200, 2), generator=dl.make_generator(10))
    ref = ring_mixture.sample(200, generator=dl.make_generator(11))
    curve = dl.metrics.ddim_quality_curve(eps, short_schedule, ring_mixture, x_T, ref, step_counts=(5, 20))
    direct = dl.ddim_sample(eps, short_schedule, x_T.clone(), num_steps=20)
    assert sorted(curve) == [5, 20]
    assert curve[20].nll == pytest.approx(dl.metrics.sample_quality(direct, ring_mixture, ref).nll, rel=1e-6)
    assert curve[5].nll > curve[20].nll            # 5 big steps on 8 modes: worse




def test_ddpm_mean_steps_is_ddpm_with_variance_zero_and_draws_no_noise(short_schedule, ring_mixture):
    eps = ring_mixture.eps_model(short_schedule)
    x_T = torch.randn((50, 2), generator=dl.make_generator(30))
    gen = dl.make_generator(31)
    walk = dl.final(dl.ddpm_mean_steps(eps, short_schedule, x_T.clone(), generator=gen))
    torch.testing.assert_close(walk, dl.ddpm_sample(eps, short_schedule, x_T.clone(), variance="zero"))
    assert torch.equal(torch.randn(3, generator=gen), torch.randn(3, generator=dl.make_generator(31)))


def test_exact_eps_model_equals_the_checked_eps_star(short_schedule, ring_mixture):
    # the samplers' unchecked inner ε* is the public, checked one, for one t and for a batch of t
    x = torch.randn((64, 2), generator=dl.make_generator(32))
    t = torch.randint(0, short_schedule.T, (64,), generator=dl.make_generator(33))
    model = ring_mixture.eps_model(short_schedule)
    torch.testing.assert_close(model(x, t), ring_mixture.eps_star(short_schedule, x, t))
    torch.testing.assert_close(model(x, torch.full((64,), 7)), ring_mixture.eps_star(short_schedule, x, 7))
    with pytest.raises(TypeError, match="NoiseSchedule"):
        ring_mixture.eps_model("linear")


def test_predict_eps_is_the_one_checked_model_call():
    x = torch.zeros(4, 2)
    torch.testing.assert_close(dl.predict_eps(lambda x_t, t: x_t + t[:, None], x, 3), torch.full((4, 2), 3.0))
    with pytest.raises(ValueError, match="exactly x_t's shape"):
        dl.predict_eps(lambda x_t, t: x_t[:, :1], x, 3)
    with pytest.raises(ValueError, match="non-finite"):
        dl.predict_eps(lambda x_t, t: x_t / 0.0, x, 3)
