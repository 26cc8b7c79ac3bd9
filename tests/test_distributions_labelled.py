"""LabelledMixture: exact conditional, unconditional and guided fields, the tilted density they are the
score of, and exact samples of it. Tolerances: float64 closed forms agree to 1e-10 (round-off of a
few hundred operations); statistical checks allow 4 standard errors (diffusion_lab.claims.Z_SAMPLING)."""

import math

import pytest
import torch

from diffusion_lab.claims import Z_SAMPLING
from diffusion_lab.distributions import GaussianMixture, LabelledMixture, labelled_ring
from diffusion_lab.schedules import make_schedule

SCHEDULE = make_schedule("linear", 1000)
EXACT = dict(atol=1e-10, rtol=1e-10)  # float64 round-off


@pytest.fixture(scope="module")
def ring4():
    return labelled_ring()


def _points(n=64, seed=0, scale=2.0):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def test_labels_prior_and_conditionals(ring4):
    assert ring4.num_classes == 4 and ring4.null_label == 4
    torch.testing.assert_close(ring4.class_prior(), torch.full((4,), 0.25, dtype=torch.float64))
    cond = ring4.conditional(1)
    assert isinstance(cond, GaussianMixture) and cond.K == 2
    torch.testing.assert_close(cond.means, ring4.means[2:4])
    x, y = ring4.sample_labelled(5000, generator=torch.Generator().manual_seed(1))
    assert x.shape == (5000, 2) and y.dtype == torch.long
    # each sample's label is its component's class: its nearest component (std 0.4, radius 2) mostly agrees
    nearest = ((x.double()[:, None] - ring4.means[None]) ** 2).sum(-1).argmin(1)
    assert float((ring4.labels[nearest] == y).double().mean()) > 0.8


def test_bad_labels_raise_clearly():
    with pytest.raises(ValueError, match="every class"):
        LabelledMixture([1, 1], [[0.0, 0.0], [1.0, 1.0]], labels=[0, 2], stds=0.3)
    with pytest.raises(ValueError, match="one per component"):
        LabelledMixture([1, 1], [[0.0, 0.0], [1.0, 1.0]], labels=[0], stds=0.3)
    with pytest.raises(ValueError, match="classes must divide"):
        labelled_ring(8, classes=3)
    m = labelled_ring()
    with pytest.raises(ValueError, match="class 0..3"):
        m.conditional(4)
    with pytest.raises(ValueError, match="sample_tilted needs w ≥ 0"):
        m.sample_tilted(10, 0, -1.0)


@pytest.mark.parametrize("t", [None, 0, 250, 999])
def test_posterior_is_bayes_rule(ring4, t):
    x = _points()
    logpost = ring4.log_prob_y_given_x_t(SCHEDULE, x, t)
    torch.testing.assert_close(logpost.exp().sum(1), torch.ones(64, dtype=torch.float64), **EXACT)
    # p(y | x_t) = p(y) p_t(x_t | y) / p_t(x_t), each term from the plain GaussianMixture code
    log_px = ring4.log_prob(x) if t is None else ring4.log_prob_t(SCHEDULE, x, t)
    for c in range(4):
        cond = ring4.conditional(c)
        log_pxy = cond.log_prob(x) if t is None else cond.log_prob_t(SCHEDULE, x, t)
        torch.testing.assert_close(logpost[:, c], math.log(0.25) + log_pxy - log_px, **EXACT)


@pytest.mark.parametrize("t", [0, 100, 500, 999])
def test_conditional_and_unconditional_eps_are_the_mixtures_eps(ring4, t):
    x = _points(seed=t)
    torch.testing.assert_close(ring4.eps_star_conditional(SCHEDULE, x, t, None), ring4.eps_star(SCHEDULE, x, t),
                               **EXACT)
    torch.testing.assert_close(ring4.eps_star_conditional(SCHEDULE, x, t, ring4.null_label),
                               ring4.eps_star(SCHEDULE, x, t), **EXACT)
    for c in range(4):
        torch.testing.assert_close(ring4.eps_star_conditional(SCHEDULE, x, t, c),
                                   ring4.conditional(c).eps_star(SCHEDULE, x, t), **EXACT)
    # a label per point
    y = torch.arange(64) % 5
    mixed = ring4.eps_star_conditional(SCHEDULE, x, t, y)
    for c in range(5):
        torch.testing.assert_close(mixed[y == c], ring4.eps_star_conditional(SCHEDULE, x[y == c], t, c), **EXACT)


@pytest.mark.parametrize("t", [0, 300, 900])
def test_guided_field_endpoints(ring4, t):
    """w = 1 is the conditional field, w = 0 the unconditional one (and the negative prompt's at w = 0)."""
    x = _points(seed=10 + t)
    cond = ring4.eps_star_conditional(SCHEDULE, x, t, 2)
    uncond = ring4.eps_star(SCHEDULE, x, t)
    torch.testing.assert_close(ring4.eps_star_guided(SCHEDULE, x, t, 2, 1.0), cond, **EXACT)
    torch.testing.assert_close(ring4.eps_star_guided(SCHEDULE, x, t, 2, 0.0), uncond, **EXACT)
    torch.testing.assert_close(ring4.eps_star_guided(SCHEDULE, x, t, 2, 3.0), uncond + 3.0 * (cond - uncond), **EXACT)
    neg = ring4.eps_star_conditional(SCHEDULE, x, t, 0)
    torch.testing.assert_close(ring4.eps_star_guided(SCHEDULE, x, t, 2, 0.0, negative=0), neg, **EXACT)


@pytest.mark.parametrize("w,negative", [(0.0, None), (1.0, None), (3.0, None), (5.0, 1), (-0.5, None)])
@pytest.mark.parametrize("t", [50, 400])
def test_guided_field_is_the_score_of_the_tilted_density(ring4, w, negative, t):
    """ε̃ = −√(1−ᾱ_t) ∇ log [p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w], checked with autograd."""
    x = _points(seed=3).requires_grad_(True)
    logd = ring4.tilted_log_prob_t(SCHEDULE, x, t, 0, w, negative)
    grad, = torch.autograd.grad(logd.sum(), x)
    eps = ring4.eps_star_guided(SCHEDULE, x.detach(), t, 0, w, negative)
    torch.testing.assert_close(eps, -SCHEDULE.sqrt_one_minus_alphas_cumprod[t] * grad, atol=1e-9, rtol=1e-9)


def test_tilted_density_is_p_times_posterior_to_the_w(ring4):
    """log p̃ = log p_t(x) + w log p_t(y | x) + const; w = 1 gives p_t(x | y) (differences are constant)."""
    x = _points(seed=4)
    t, w = 200, 2.5
    tilted = ring4.tilted_log_prob_t(SCHEDULE, x, t, 3, w)
    other = ring4.log_prob_t(SCHEDULE, x, t) + w * ring4.log_prob_y_given_x_t(SCHEDULE, x, t)[:, 3]
    diff = (tilted - other).detach()
    torch.testing.assert_close(diff, diff[:1].expand(64), **EXACT)
    torch.testing.assert_close(ring4.tilted_log_prob_t(SCHEDULE, x, t, 3, 1.0).detach(),
                               ring4.conditional(3).log_prob_t(SCHEDULE, x, t).detach(), **EXACT)


def test_tilted_grid_is_normalised_and_matches_the_conditional_at_w1(ring4):
    xs, ys, dens, cell = ring4.tilted_grid(None, None, 1, 1.0, lim=4.0, grid_n=161)
    assert dens.shape == (161, 161)
    assert abs(float(dens.sum()) * cell - 1.0) < 1e-12
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    exact = ring4.conditional(1).log_prob(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).exp().reshape(161, 161)
    # the grid holds all but ~1e-9 of the mass, and a Riemann sum of a smooth density on a 0.05 grid is exact
    # to far better than 1e-4 of its peak
    assert float((dens - exact).abs().max()) < 1e-4 * float(exact.max())


def _grid_moments(mixture, schedule, t, y, w, lim=5.0, grid_n=201):
    xs, ys, dens, cell = mixture.tilted_grid(schedule, t, y, w, lim=lim, grid_n=grid_n)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    p = dens * cell
    mean = torch.stack([(p * gx).sum(), (p * gy).sum()])
    second = torch.stack([(p * gx ** 2).sum(), (p * gy ** 2).sum()])
    return mean, (second - mean ** 2).sqrt()


@pytest.mark.parametrize("w,t", [(3.0, None), (0.5, None), (2.0, 300)])
def test_exact_tilted_samples_match_the_grid(ring4, w, t):
    """sample_tilted (rejection) against the grid's mean and std of each coordinate (4 standard errors)."""
    n = 4000
    x = ring4.sample_tilted(n, 0, w, schedule=SCHEDULE, t=t, generator=torch.Generator().manual_seed(5)).double()
    mean, std = _grid_moments(ring4, SCHEDULE, t, 0, w)
    assert bool(((x.mean(0) - mean).abs() <= Z_SAMPLING * std / math.sqrt(n)).all()), (x.mean(0), mean)
    # standard error of a standard deviation for any data: √((m4 − σ⁴)/(4σ²n)) (m4: the 4th central moment)
    m4 = ((x - x.mean(0)) ** 4).mean(0)
    se_std = ((m4 - std ** 4) / (4 * std ** 2 * n)).sqrt()
    assert bool(((x.std(0) - std).abs() <= Z_SAMPLING * se_std).all()), (x.std(0), std)
