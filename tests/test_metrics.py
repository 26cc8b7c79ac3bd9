"""Metrics against closed forms, with the tolerances stated next to each check."""
import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.distributions import GaussianMixture
from diffusion_lab.metrics import (PROTOCOLS, EvalProtocol, classifier_confidence_diversity, digit_fid,
                                   evaluate_generator, frechet_distance, frechet_distance_from_stats, frechet_report,
                                   heldout_digits, median_bandwidth, mixture_nll, mmd_rbf, protocol_for,
                                   protocol_sampler, references_held_out)
from diffusion_lab.models import DigitClassifier


pytestmark = pytest.mark.usefixtures("one_thread")   # tests/conftest.py


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ MMD
def test_mmd_identical_sets_is_zero_up_to_the_diagonal_terms():
    x = torch.randn(300, 2, generator=_gen(0))
    # unbiased estimator on x vs x: every term is computed from the same kernel matrix, so
    # MMD² = 2/(m(m−1)) (Σ K − tr K) − 2/m² Σ K = 2(Σ K − m)/(m(m−1)) − 2 Σ K / m²  (K_ii = 1)
    h = [0.5, 1.0]
    d2 = torch.cdist(x.double(), x.double()) ** 2
    K = sum(torch.exp(-d2 / (2 * b * b)) for b in h) / len(h)
    m = x.shape[0]
    expected = 2 * (K.sum() - m) / (m * (m - 1)) - 2 * K.sum() / m**2
    assert mmd_rbf(x, x, bandwidths=h) == pytest.approx(float(expected), abs=1e-12)
    assert abs(mmd_rbf(x, x, bandwidths=h)) < 2 / m  # −(2/m)·(1 − mean K) lies in (−2/m, 0]


def test_mmd_same_distribution_near_zero_shifted_clearly_positive():
    x = torch.randn(500, 2, generator=_gen(1))
    y = torch.randn(500, 2, generator=_gen(2))
    z = torch.randn(500, 2, generator=_gen(3)) + torch.tensor([1.0, 0.0])
    same, shifted = mmd_rbf(x, y, bandwidths=[1.0]), mmd_rbf(x, z, bandwidths=[1.0])
    # population value for N(0,I) vs N(δ,I) with one RBF of width h=1 in d=2:
    # E k = (h²/(h²+2))^{d/2} exp(−‖δ‖²/(2(h²+2)))  ⇒  MMD² = 2·(1/3)·(1 − exp(−1/6)) = 0.10236
    pop = 2 * (1 / 3) * (1 - math.exp(-1 / 6))
    assert abs(same) < 0.005                        # estimator sd at n=500 is ≈ 0.002
    assert shifted == pytest.approx(pop, abs=0.02)  # ≈ 5 sd of the estimator
    assert shifted > 0.05                            # the threshold the course quotes as "clearly different"


def test_mmd_default_bandwidths_and_errors():
    x = torch.randn(200, 2, generator=_gen(4))
    assert median_bandwidth(x, x) > 0
    assert mmd_rbf(x, x + 3.0) > 0.5  # far apart sets, default median-heuristic bandwidths
    with pytest.raises(ValueError, match="same dimension"):
        mmd_rbf(x, torch.randn(10, 3))
    with pytest.raises(ValueError, match="positive"):
        mmd_rbf(x, x, bandwidths=[0.0])
    with pytest.raises(ValueError, match="NaN"):
        mmd_rbf(x, torch.full((5, 2), float("nan")))


# ------------------------------------------------------------------ mixture NLL
def test_mixture_nll_of_a_gaussian_equals_its_entropy():
    # q = N(0, σ² I) in d = 2: E[−log q] = H = (d/2) log(2πe σ²)
    sigma = 0.5
    q = GaussianMixture([1.0], [[0.0, 0.0]], stds=sigma)
    x = q.sample(20000, generator=_gen(5))
    H = math.log(2 * math.pi * math.e * sigma**2)
    # sd of −log q is √(d/2)=1 per sample → sd of the mean ≈ 0.007; tolerance 0.03
    assert mixture_nll(x, q) == pytest.approx(H, abs=0.03)
    # exact for fixed points: at the mean −log q = log(2πσ²)
    assert mixture_nll(torch.zeros(3, 2), q) == pytest.approx(math.log(2 * math.pi * sigma**2), abs=1e-6)


# ------------------------------------------------------------------ Fréchet distance
def test_frechet_from_stats_diagonal_by_hand():
    # μ1 = (0,0), Σ1 = diag(1, 4);  μ2 = (1, 2), Σ2 = diag(4, 9)
    # ‖μ1−μ2‖² = 1 + 4 = 5;  tr(Σ1+Σ2−2(Σ1Σ2)^½) = (1+4−2·2) + (4+9−2·6) = 1 + 1 = 2  ⇒  7
    d = frechet_distance_from_stats([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([4.0, 9.0]))
    assert d == pytest.approx(7.0, abs=1e-9)


def test_frechet_from_stats_non_commuting_matches_scipy_sqrtm():
    from scipy.linalg import sqrtm

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    s1, s2 = a @ a.T + np.eye(3), b @ b.T + np.eye(3)
    mu1, mu2 = rng.normal(size=3), rng.normal(size=3)
    # independent reference: the general matrix square root of the (non-symmetric) product Σ1Σ2
    tr_sqrt = np.trace(sqrtm(s1 @ s2)).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance_from_stats(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_singular_covariances():
    # rank-1 covariances (a feature that never varies): Σ1 = diag(1, 0), Σ2 = diag(4, 0), same means
    # d² = 1 + 4 − 2·√4 = 1 exactly; a general sqrtm of the singular product would warn here
    d = frechet_distance_from_stats([0, 0], np.diag([1.0, 0.0]), [0, 0], np.diag([4.0, 0.0]))
    assert d == pytest.approx(1.0, abs=1e-9)


def test_frechet_two_gaussians_closed_form_for_2x2():
    # for 2 × 2 PSD A = Σ1Σ2 (similar to a PSD matrix): tr A^{1/2} = √(tr A + 2 √det A), a closed form that
    # needs no matrix square root at all
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[1.0, -0.4], [-0.4, 3.0]])
    mu1, mu2 = np.array([0.5, -1.0]), np.array([-0.25, 2.0])
    a = s1 @ s2
    tr_sqrt = math.sqrt(np.trace(a) + 2 * math.sqrt(np.linalg.det(a)))
    expected = float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    assert frechet_distance_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-12)


def test_frechet_dead_features_add_only_their_means():
    # the 2 × 2 case padded with 35 features that never vary (a ReLU that never fires): the covariance part is
    # unchanged, the means of the constant features add (μ1 − μ2)²; exact up to float64 round-off (1e-12)
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[1.0, -0.4], [-0.4, 3.0]])
    base = frechet_distance_from_stats([0.0, 0.0], s1, [0.0, 0.0], s2)
    pad = lambda s: np.block([[s, np.zeros((2, 35))], [np.zeros((35, 2)), np.zeros((35, 35))]])
    mu1, mu2 = np.zeros(37), np.zeros(37)
    mu2[5] = 0.5                                          # one constant feature differs between the sets
    assert frechet_distance_from_stats(mu1, pad(s1), mu2, pad(s2)) == pytest.approx(base + 0.25, abs=1e-12)


def test_frechet_identical_sets_with_singular_covariances_is_zero_to_round_off():
    # 64 features of which 35 are identically 0 (as for the MNIST classifier on held-out digits) and the other
    # 29 are ReLU-like with a rank-deficient covariance (n = 20 < 29 samples): an identical pair must give 0
    # to round-off. Square roots of round-off eigenvalues (≈1e-16·λmax) used to add ≈1e-5; tolerance 1e-9·tr Σ.
    g = _gen(11)
    f = torch.zeros(20, 64, dtype=torch.float64)
    f[:, 35:] = torch.relu(torch.randn(20, 29, generator=g, dtype=torch.float64) * 3.0 + 1.0)
    rep = frechet_report(f, f)
    trace = float(f.var(0).sum())
    assert abs(rep["distance"]) <= 1e-9 * trace
    assert (rep["features"], rep["features_used"]) == (64, 29)
    assert frechet_distance(f, f.clone()) == rep["distance"]


def test_frechet_refuses_non_finite_statistics():
    with pytest.raises(ValueError, match="finite"):
        frechet_distance_from_stats([0.0, np.nan], np.eye(2), [0.0, 0.0], np.eye(2))


def test_frechet_distance_from_samples():
    g = _gen(6)
    n = 20000
    a = torch.randn(n, 2, generator=g) * torch.tensor([1.0, 2.0])
    b = torch.randn(n, 2, generator=g) * torch.tensor([2.0, 3.0]) + torch.tensor([1.0, 2.0])
    # same Gaussians as the hand case above: 7; sampling error of the fitted moments ≈ 0.1 at n = 2e4
    assert frechet_distance(a, b) == pytest.approx(7.0, abs=0.3)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------ classifier-based metrics
class _PixelFeatures(torch.nn.Module):
    """A stand-in "classifier" whose features are the first two pixels, so digit_fid has a closed form."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def features(self, x):
        return x.reshape(x.shape[0], -1)[:, :2]


def test_digit_fid_is_frechet_distance_of_the_features():
    g = _gen(7)
    n = 20000
    a = torch.zeros(n, 1, 2, 2)
    b = torch.zeros(n, 1, 2, 2)
    a[:, 0, 0, :2] = torch.randn(n, 2, generator=g) * torch.tensor([1.0, 2.0])
    b[:, 0, 0, :2] = torch.randn(n, 2, generator=g) * torch.tensor([2.0, 3.0]) + torch.tensor([1.0, 2.0])
    clf = _PixelFeatures()
    # features are exactly the pixels → identical to frechet_distance on them (float64 round-off)
    expected = frechet_distance(a.reshape(n, -1)[:, :2], b.reshape(n, -1)[:, :2])
    assert digit_fid(a, b, clf, batch_size=3000) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(7.0, abs=0.3)  # the hand-computed case above


def test_digit_fid_real_classifier_same_images_zero():
    torch.manual_seed(0)
    clf = DigitClassifier(width=4, feature_dim=8, image_size=8)  # left in training mode on purpose
    x = torch.rand(200, 1, 8, 8, generator=_gen(8)) * 2 - 1
    assert digit_fid(x, x, clf) == pytest.approx(0.0, abs=1e-6)
    assert clf.training is True  # mode restored after feature extraction


def test_confidence_diversity_by_construction():
    class Fixed(torch.nn.Module):
        """logits fixed per image: image i predicts class i % k with a known softmax."""

        def __init__(self, k):
            super().__init__()
            self.k = k
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            idx = x.reshape(x.shape[0], -1)[:, 0].long()
            return torch.nn.functional.one_hot(idx % self.k, self.k).float() * math.log(9.0)

    k = 10
    x = torch.arange(100, dtype=torch.float32).reshape(100, 1, 1, 1)
    out = classifier_confidence_diversity(x, Fixed(k))
    # each softmax puts 9/(9+9) = 0.5 on its class and 1/18 on the others
    # (logits are float32, so log 9 carries ≈1e-7 relative error: tolerance 1e-6)
    assert out["confidence"] == pytest.approx(0.5, abs=1e-6)
    assert out["class_counts"] == [10] * 10
    assert out["diversity"] == pytest.approx(1.0, abs=1e-12)
    # IS = exp(KL(p(y|x) ‖ uniform)) = exp(log 10 − H(p)), H(p) = −0.5 log 0.5 − 9·(1/18) log(1/18)
    H = -0.5 * math.log(0.5) - 9 * (1 / 18) * math.log(1 / 18)
    assert out["inception_score"] == pytest.approx(math.exp(math.log(10) - H), rel=1e-6)
    # a collapsed generator: all images the same class → diversity 0
    collapsed = classifier_confidence_diversity(torch.zeros(20, 1, 1, 1), Fixed(k))
    assert collapsed["diversity"] == 0.0 and collapsed["inception_score"] == pytest.approx(1.0, abs=1e-12)


# ---- the 2D chapters' numbers (moved here from the chapter-5 view) ---------------------------------
def mmd2_v(x, y, bandwidths=dl.metrics.RING_BANDWIDTHS):
    """MMD² V-statistic on the ring's fixed bandwidths, as the chapters compute it."""
    return dl.metrics.mmd_rbf(x, y, bandwidths, unbiased=False)


@pytest.fixture(scope="module")
def ring():
    return dl.make_distribution("ring")


# ---- quality numbers -----------------------------------------------------------------------------
def test_mmd_v_statistic_matches_a_hand_computation():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    y = torch.tensor([[0.0, 1.0]])
    h = 1.0
    k = lambda d2: math.exp(-d2 / (2 * h * h))  # noqa: E731
    kxx = (1 + k(1.0) + k(1.0) + 1) / 4           # all pairs including i = j
    kyy = 1.0
    kxy = (k(1.0) + k(2.0)) / 2
    assert dl.metrics.mmd_rbf(x, y, bandwidths=[h], unbiased=False) == pytest.approx(kxx + kyy - 2 * kxy, rel=1e-12)


def test_mmd_v_statistic_is_zero_for_identical_sets_and_has_a_floor_for_two_samples(ring):
    x = ring.sample(500, generator=dl.make_generator(0))
    assert mmd2_v(x, x) == pytest.approx(0.0, abs=1e-12)
    y = ring.sample(500, generator=dl.make_generator(1))
    same = mmd2_v(x, y)
    # floor ≈ (1 − E k(x, x'))·(1/m + 1/n) > 0; a shifted ring is far above it
    shifted = mmd2_v(x, y + 0.5)
    assert 0 < same < 0.01
    assert shifted > 10 * same


def test_mmd_v_statistic_rejects_bad_input():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="bandwidths"):
        mmd2_v(x, x, bandwidths=[0.0])
    with pytest.raises(ValueError, match="dimension"):
        mmd2_v(x, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="NaN"):
        mmd2_v(torch.full((4, 2), float("nan")), x)


def test_sample_quality_nll_is_the_mean_negative_log_density(ring):
    x = ring.sample(300, generator=dl.make_generator(2))
    ref = ring.sample(300, generator=dl.make_generator(3))
    q = dl.metrics.sample_quality(x, ring, ref)
    assert q.nll == pytest.approx(float(-ring.log_prob(x).double().mean()), rel=1e-6)
    assert q.mmd2 == pytest.approx(mmd2_v(x, ref), rel=1e-12)
    assert q.n == 300 and "NLL" in str(q)
    # data scores the entropy of the ring: −E log q ≈ log 8 + log(2π·0.04) + 1 ≈ 1.70 (modes barely overlap)
    big = float(-ring.log_prob(ring.sample(20000, generator=dl.make_generator(4))).double().mean())
    assert big == pytest.approx(math.log(8) + math.log(2 * math.pi * 0.04) + 1, abs=0.03)
    with pytest.raises(ValueError, match="NaN"):
        dl.metrics.sample_quality(torch.full((3, 2), float("inf")), ring, ref)


def test_mode_spread_recovers_the_component_std(ring):
    x = ring.sample(8000, generator=dl.make_generator(5))
    assert dl.metrics.mode_spread(x, ring) == pytest.approx(0.2, abs=0.01)
    # points piled on the means have no spread; a wider ring has more
    assert dl.metrics.mode_spread(ring.means.repeat(3, 1), ring) == pytest.approx(0.0, abs=1e-12)
    wide = dl.make_distribution("ring", std=0.3).sample(8000, generator=dl.make_generator(6))
    assert dl.metrics.mode_spread(wide, ring) == pytest.approx(0.3, abs=0.02)




def test_unbiased_and_v_statistic_differ_by_the_diagonal_terms(ring):
    # V = U + (1 − mean_{i≠j} k(x_i, x_j))/m + (same for y)/n, exactly (k(x, x) = 1 for every RBF kernel)
    x = ring.sample(50, generator=dl.make_generator(20))
    y = ring.sample(40, generator=dl.make_generator(21))
    h = dl.metrics.RING_BANDWIDTHS

    def offdiag_mean(a):
        k = sum(torch.exp(-torch.cdist(a.double(), a.double()).pow(2) / (2 * hl**2)) for hl in h) / len(h)
        n = a.shape[0]
        return float((k.sum() - k.diagonal().sum()) / (n * (n - 1)))

    u = dl.metrics.mmd_rbf(x, y, h)
    v = dl.metrics.mmd_rbf(x, y, h, unbiased=False)
    assert v == pytest.approx(u + (1 - offdiag_mean(x)) / 50 + (1 - offdiag_mean(y)) / 40, rel=1e-10)


# ------------------------------------------------------------------ 1D data: the exact q(x_t)
@pytest.fixture(scope="module")
def course():
    return dl.make_schedule("linear", 1000)


@pytest.fixture(scope="module")
def mix():
    return dl.make_distribution("mixture_1d")


@pytest.mark.parametrize("t", [0, 1, 99, 259, 500, 999])
def test_marginal_density_1d_matches_log_prob_t(course, mix, t):
    x = np.linspace(-7, 7, 301)
    ours = dl.metrics.marginal_density_1d(mix, course, x, t)
    exact = mix.log_prob_t(course, torch.as_tensor(x)[:, None], t).exp().numpy()
    np.testing.assert_allclose(ours, exact, rtol=1e-9, atol=1e-300)
    point = dl.metrics.marginal_density_1d(5.0, course, x, t)
    a = float(course.alphas_cumprod[t])
    gauss = np.exp(-0.5 * (x - math.sqrt(a) * 5) ** 2 / (1 - a)) / math.sqrt(2 * math.pi * (1 - a))
    np.testing.assert_allclose(point, gauss, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("t", [0, 300, 999])
def test_marginal_cdf_1d_is_the_integral_of_the_density(course, mix, t):
    x = np.linspace(-12, 12, 24001)
    cdf = dl.metrics.marginal_cdf_1d(mix, course, x, t)
    assert cdf[0] < 1e-12 and abs(cdf[-1] - 1) < 1e-12
    dens = dl.metrics.marginal_density_1d(mix, course, x, t)
    integral = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(x))])
    np.testing.assert_allclose(cdf - cdf[0], integral, atol=1e-6)       # trapezoid error at this spacing


def test_point_mass_at_x0_has_a_step_cdf_and_no_density(course):
    np.testing.assert_array_equal(dl.metrics.marginal_cdf_1d(5.0, course, [4.9, 5.0, 5.1], None), [0.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="point mass"):
        dl.metrics.marginal_density_1d(5.0, course, [5.0], None)


@pytest.mark.parametrize("t", [0, 100, 999])
def test_marginal_moments_1d_match_the_package(course, mix, t):
    m, s = dl.metrics.marginal_moments_1d(5.0, course, t)
    mean, var = dl.marginal_moments(course, t, x0_mean=5.0, x0_var=0.0)
    assert m == pytest.approx(float(mean), abs=1e-12) and s == pytest.approx(math.sqrt(float(var)), abs=1e-12)
    m, s = dl.metrics.marginal_moments_1d(mix, course, t)
    marg = mix.marginal(course, t)
    assert m == pytest.approx(float(marg.mean()[0]), abs=1e-10)
    assert s == pytest.approx(math.sqrt(float(marg.covariance()[0, 0])), abs=1e-10)


def test_marginal_1d_for_several_t_is_the_same_as_one_at_a_time(course, mix):
    means, stds = dl.metrics.marginal_moments_1d(mix, course, range(0, 1000, 111))
    _, comp_m, comp_s = dl.metrics.marginal_params_1d(mix, course, range(0, 1000, 111))
    assert means.shape == stds.shape == (10,) and comp_m.shape == comp_s.shape == (10, 2)
    for k, t in enumerate(range(0, 1000, 111)):
        assert (means[k], stds[k]) == pytest.approx(dl.metrics.marginal_moments_1d(mix, course, t), rel=1e-12)
        np.testing.assert_allclose(comp_s[k], dl.metrics.marginal_params_1d(mix, course, t)[2], rtol=1e-12)


def test_as_mixture_1d_rejects_wrong_data():
    with pytest.raises(TypeError, match="number x0"):
        dl.metrics.as_mixture_1d("five")
    with pytest.raises(ValueError, match="1D"):
        dl.metrics.as_mixture_1d(dl.make_distribution("ring"))
    assert dl.metrics.as_mixture_1d(5).means.item() == 5.0


def test_histogram_l1_accepts_correct_samples_and_rejects_the_template_bug(course, mix):
    gen = dl.make_generator(0)
    x0 = mix.sample(4000, generator=gen)
    for t in (0, 150, 400):
        good = dl.q_sample(course, x0, t, generator=gen)
        l1, expected = dl.metrics.histogram_l1(mix, course, good, t)
        assert 0 < expected < 0.2
        assert l1 < 2 * expected, (t, l1, expected)
    t = 150
    a = course.alphas_cumprod[t].float()
    buggy = a * x0 + (1 - a).sqrt() * torch.randn(x0.shape, generator=gen)   # ᾱ where √ᾱ belongs
    l1, expected = dl.metrics.histogram_l1(mix, course, buggy, t)
    assert l1 > 4 * expected


# ------------------------------------------------------------------ noised 2D clouds: moments
def _gaussian_clouds(schedule, n=1000, seed=0):
    """x0 ~ N((2, 2), 0.5² I) and its x_t for every t with one ε, (T, n, 2)."""
    gen = dl.make_generator(seed)
    dist = dl.make_distribution("gaussian_2d")
    x0 = dist.sample(n, generator=gen)
    eps = torch.randn((n, 2), generator=gen)
    return dist, dl.forward.q_sample_steps(schedule, x0, range(schedule.T), noise=eps).numpy()


SHORT = dict(T=100, beta_start=0.001, beta_end=0.02, warn=False)     # chapter 2's short schedule


def test_cloud_moments_match_numpy():
    rng = np.random.default_rng(0)
    clouds = rng.normal(size=(3, 200, 2)) @ np.array([[1.0, 0.5], [0.0, 2.0]])
    mean, cov = dl.metrics.cloud_moments(clouds)
    for k in range(3):
        np.testing.assert_allclose(mean[k], clouds[k].mean(0), atol=1e-12)
        np.testing.assert_allclose(cov[k], np.cov(clouds[k].T), atol=1e-12)


def test_data_moments_exact_for_mixtures_and_from_the_sample_otherwise():
    ring = dl.make_distribution("ring")
    m, c = dl.metrics.data_moments(ring, None)
    np.testing.assert_allclose(m, ring.mean().numpy()) and np.testing.assert_allclose(c, ring.covariance().numpy())
    moons = dl.make_distribution("moons")
    x0 = moons.sample(500, generator=dl.make_generator(1))
    m, c = dl.metrics.data_moments(moons, x0)
    np.testing.assert_allclose(m, x0.double().mean(0).numpy(), atol=1e-6)
    np.testing.assert_allclose(c, np.cov(x0.double().numpy().T), atol=1e-6)


@pytest.mark.parametrize("kwargs", [SHORT, dict(T=1000)])
def test_moment_check_agrees_within_standard_errors(kwargs):
    sched = dl.make_schedule("linear", **kwargs)
    dist, clouds = _gaussian_clouds(sched)
    chk = dl.metrics.moment_check(sched, clouds, dist.mean(), dist.covariance())
    # |emp − cf|/SE is a unit-variance combination of two standard errors at every t; its maximum over t
    # is bounded by a χ₂ variable, P(> 4) ≈ 3e-4 per coordinate. Covariance entries get 5 SE.
    assert chk.mean_z() < 4.0
    assert chk.cov_z() < 5.0
    # standard error of the mean: √(C_ii/n) — at t = 0 C_11 = ᾱ_0·0.25 + 1 − ᾱ_0
    a0 = float(sched.alphas_cumprod[0])
    assert chk.mean_se[0, 0] == pytest.approx(math.sqrt((0.25 * a0 + 1 - a0) / 1000), rel=1e-12)
    # the closed form by hand at one step: ᾱ Σ + (1 − ᾱ) I with Σ = 0.25 I
    a = float(sched.alphas_cumprod[sched.T // 2])
    np.testing.assert_allclose(chk.cov_cf[sched.T // 2], (0.25 * a + 1 - a) * np.eye(2), atol=1e-12)


def test_moment_check_catches_a_wrong_closed_form():
    """The check can fail: forgetting (1−ᾱ_t) I, or scaling the mean by ᾱ_t, is many SE off."""
    sched = dl.make_schedule("linear", 1000)
    dist, clouds = _gaussian_clouds(sched)
    chk = dl.metrics.moment_check(sched, clouds, dist.mean(), dist.covariance())
    a = sched.alphas_cumprod.numpy()
    wrong_cov = a[:, None, None] * dist.covariance().numpy()[None]
    assert np.max(np.abs(chk.cov_emp - wrong_cov) / chk.cov_se) > 15   # vs the 5 SE tolerance
    wrong_mean = a[:, None] * dist.mean().numpy()[None]
    assert np.max(np.abs(chk.mean_emp - wrong_mean) / chk.mean_se) > 10    # vs the 4 SE tolerance
    with pytest.raises(ValueError, match="steps"):
        dl.metrics.moment_check(dl.make_schedule("linear", **SHORT), clouds, dist.mean(), dist.covariance())
    with pytest.raises(ValueError, match="covariance"):
        dl.metrics.moment_check(sched, clouds, dist.mean(), np.eye(3))


def test_where_the_clouds_end_up():
    """Chapter 2's claim: T = 100 stops near (1.18, 1.18); T = 1000 reaches N(0, I)."""
    _, short = _gaussian_clouds(dl.make_schedule("linear", **SHORT))
    _, long = _gaussian_clouds(dl.make_schedule("linear", 1000))
    short, long = short[-1].astype(np.float64), long[-1].astype(np.float64)
    se = 1 / math.sqrt(1000)
    assert np.all(np.abs(short.mean(0) - 2 * math.sqrt(0.347455)) < 4 * se) and np.all(short.mean(0) > 1.0)
    assert np.all(np.abs(long.mean(0)) < 4 * se)
    assert np.all(np.abs(np.cov(long.T) - np.eye(2)) < 5 * math.sqrt(2 / 1000))


# ------------------------------------------------------------------ one jump = t + 1 small steps; ε̂ vs ε*
def test_iterated_noising_matches_the_closed_form_in_distribution(course):
    for t in (0, 50, 300, 999):
        c = dl.metrics.closed_form_check(course, x0=1.5, t=t, n=20000, generator=dl.make_generator(t))
        abar = float(course.alphas_cumprod[t])
        assert c.agrees(z=4.0), (t, c.mean_z, c.std_z)
        assert c.mean_iterated == pytest.approx(math.sqrt(abar) * 1.5, abs=4 * math.sqrt((1 - abar) / 20000) + 1e-9)
        assert c.std_iterated == pytest.approx(math.sqrt(1 - abar), rel=0.03)
        # the 5 % and 95 % quantiles of two samples of 20 000 differ with SE ≈ 0.017 here: 4 SE = 0.07
        np.testing.assert_allclose(c.quantiles_iterated, c.quantiles_closed, atol=0.07)


def test_closed_form_check_can_fail():
    # moments that differ by many standard errors are flagged
    bad = dl.metrics.ClosedFormCheck(t=100, mean_iterated=1.0, mean_closed=1.1, std_iterated=0.5, std_closed=0.5,
                                     quantiles_iterated=np.zeros(5), quantiles_closed=np.zeros(5), n=20000)
    assert bad.mean_z > 20 and not bad.agrees()
    wide = dl.metrics.ClosedFormCheck(t=100, mean_iterated=1.0, mean_closed=1.0, std_iterated=0.5, std_closed=0.55,
                                      quantiles_iterated=np.zeros(5), quantiles_closed=np.zeros(5), n=20000)
    assert wide.std_z > 10 and not wide.agrees()


def test_eps_error_by_t_for_the_exact_model_and_the_zero_model(course, ring):
    exact = ring.eps_model(course)
    ts = [0, 100, 500, 999]
    e = dl.metrics.eps_error_by_t(exact, course, ring, ts, n=2000, generator=dl.make_generator(2))
    np.testing.assert_allclose(e.mse_to_exact, 0.0, atol=1e-10)
    np.testing.assert_allclose(e.loss_model, e.loss_exact, rtol=1e-6)
    zero = dl.metrics.eps_error_by_t(lambda x, t: torch.zeros_like(x), course, ring, ts, n=2000,
                                     generator=dl.make_generator(2))
    # the zero model's loss is E ε² = 1 (SE ≈ √(2/4000) ≈ 0.022), and it splits into floor + distance to ε*
    np.testing.assert_allclose(zero.loss_model, 1.0, atol=0.1)
    np.testing.assert_allclose(zero.loss_model, zero.loss_exact + zero.mse_to_exact, atol=0.05)
    # at large t, ε ≈ x_t/√(1−ᾱ) is easy: the floor is tiny; at t = 0 it is near 1
    assert e.loss_exact[-1] < 1e-3 and e.loss_exact[0] > 0.8


def test_eps_field_returns_the_model_and_the_exact_field(course, ring):
    pts, e_model, e_exact = dl.metrics.eps_field(lambda x, t: 2 * x, course, ring, 300, lim=2.0, grid_n=5)
    assert pts.shape == (25, 2) and pts.min() == -2.0 and pts.max() == 2.0
    np.testing.assert_allclose(pts[:5, 0], np.linspace(-2, 2, 5)) and np.testing.assert_allclose(pts[:5, 1], -2.0)
    np.testing.assert_allclose(e_model, 2 * pts)
    np.testing.assert_allclose(e_exact, ring.eps_star(course, torch.as_tensor(pts), 300).numpy(), rtol=1e-6)


def test_denoise_with_the_true_noise_recovers_x0(course):
    x0 = torch.rand(3, 1, 4, 4, generator=dl.make_generator(3)) * 2 - 1
    eps = torch.randn(x0.shape, generator=dl.make_generator(4))
    oracle = lambda x_t, t: eps  # noqa: E731 — "knows" the noise that was used
    x_t, x0_hat = dl.metrics.denoise(oracle, course, x0, 400, noise=eps)
    torch.testing.assert_close(x_t, dl.q_sample(course, x0, 400, noise=eps))
    torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=1e-4)


# ------------------------------------------------------------------ the evaluation protocol
class _TwoPixels(torch.nn.Module):
    """A stand-in judge: its features are the first two pixels, its logits the first pixel's sign (2 classes)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def features(self, x):
        return x.reshape(x.shape[0], -1)[:, :2]

    def forward(self, x):
        v = x.reshape(x.shape[0], -1)[:, 0]
        return torch.stack([-v, v], 1) * 50.0


def _gaussian_images(n, shift, generator):
    x = torch.zeros(n, 1, 2, 2)
    x[:, 0, 0, :] = torch.randn(n, 2, generator=generator) + shift
    return x


def test_protocol_real_against_real_and_a_shifted_generator():
    # held-out "images": 2 features ~ N(0, I). A generator from the same Gaussian scores like real against real;
    # one shifted by (1, 1) adds ‖δ‖² = 2 to its distance. The estimate at n = 400 has sd ≈ 0.1 per draw (two
    # fitted means and covariances of 400 points), so the 4-draw means must agree within 0.3 (3 sd of a
    # difference of two means)
    held = (_gaussian_images(800, 0.0, _gen(12)), torch.zeros(800, dtype=torch.long))
    protocol = EvalProtocol(name="toy", judge="two pixels", heldout="800 toy images", n=400, seeds=(0, 1, 2, 3),
                            steps=1)
    same = evaluate_generator(lambda n, g: _gaussian_images(n, 0.0, g), protocol, _TwoPixels(), heldout=held)
    shifted = evaluate_generator(lambda n, g: _gaussian_images(n, 1.0, g), protocol, _TwoPixels(), heldout=held)
    assert len(same["fid"]) == len(same["fid_real"]) == 4
    assert same["fid_real"] == shifted["fid_real"]                  # the same reference draws for every generator
    assert same["fid_mean"] == pytest.approx(same["fid_real_mean"], abs=0.3)
    assert shifted["fid_mean"] - same["fid_mean"] == pytest.approx(2.0, abs=0.3)
    assert same["fid_sd"] > 0 and same["features_used"] == 2
    again = evaluate_generator(lambda n, g: _gaussian_images(n, 0.0, g), protocol, _TwoPixels(), heldout=held)
    assert again["fid"] == same["fid"]                              # seeded: the same numbers every time


def test_protocol_accuracy_of_a_conditional_generator_and_bad_input():
    held = (_gaussian_images(40, 0.0, _gen(13)), torch.zeros(40, dtype=torch.long))
    protocol = EvalProtocol(name="toy", judge="two pixels", heldout="40 toy images", n=20, seeds=(0,), steps=1)

    def labelled(n, g):                      # class 1 ⇔ first pixel > 0; intended: class 1 for all → accuracy ½
        return _gaussian_images(n, 0.0, g), torch.ones(n, dtype=torch.long)

    def perfect(n, g):
        x = _gaussian_images(n, 0.0, g)
        return x, (x[:, 0, 0, 0] > 0).long()

    assert evaluate_generator(perfect, protocol, _TwoPixels(), heldout=held)["accuracy"] == [1.0]
    assert 0.0 < evaluate_generator(labelled, protocol, _TwoPixels(), heldout=held)["accuracy_mean"] < 1.0
    with pytest.raises(ValueError, match="2 × 30"):
        evaluate_generator(labelled, EvalProtocol("toy", "j", "h", 30, (0,), 1), _TwoPixels(), heldout=held)
    with pytest.raises(ValueError, match="shape"):
        evaluate_generator(lambda n, g: torch.zeros(n, 1, 3, 3), protocol, _TwoPixels(), heldout=held)


def test_protocols_hold_out_what_the_judges_test_on():
    p = PROTOCOLS["digits8x8"]
    x, y = heldout_digits(p)
    assert torch.equal(x, dl.data.load_digits_8x8("test")[0]) and 2 * p.n <= x.shape[0] == 359
    assert p.judge == "classifier_digits" and PROTOCOLS["mnist"].judge == "classifier_mnist"
    assert PROTOCOLS["mnist"].n == 1000 and 2 * PROTOCOLS["mnist"].n == 10000 - dl.data.MNIST_HELDOUT_START
    assert protocol_for("sklearn digits 8x8, with its digit labels (0..9)") is p
    assert protocol_for("MNIST, with its digit labels (0..9)") is PROTOCOLS["mnist"]
    with pytest.raises(ValueError, match="protocol"):
        protocol_for("CIFAR-10")
    assert references_held_out({"split": "train (1438 images; the 359 test images held out)"})
    assert references_held_out({"split": "t10k test split: images 0..7999 (8,000); 8000..9999 held out"})
    assert not references_held_out({"split": "all (1797 images)"})
    assert not references_held_out({"split": "t10k test split (10,000 images)"})


def test_protocol_sampler_is_ddim_with_the_protocols_settings():
    with pytest.warns(UserWarning, match="not close to N"):    # a short schedule keeps x̂0 inside (−1, 1)
        schedule = dl.make_schedule("linear", 50)
    zero = lambda x, t: torch.zeros_like(x)         # ε ≡ 0: DDIM keeps x̂0 = x_T/√ᾱ_T, clamped to [−1, 1]
    p = EvalProtocol(name="toy", judge="j", heldout="h", n=4, seeds=(0,), steps=5, clip_x0=1.0)
    images = protocol_sampler(zero, schedule, p, (1, 2, 2))(4, _gen(3))
    x_T = torch.randn((4, 1, 2, 2), generator=_gen(3))
    assert torch.allclose(images, (x_T / schedule.alphas_cumprod[-1].sqrt()).clamp(-1, 1).float(), atol=1e-6)
