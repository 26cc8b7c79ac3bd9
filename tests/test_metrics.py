"""Metrics against closed forms, with the tolerances stated next to each check."""
import math

import numpy as np
import pytest
import torch

import diffusion_lab as dl
from diffusion_lab.distributions import GaussianMixture
from diffusion_lab.metrics import (classifier_confidence_diversity, digit_fid, frechet_distance,
                                   frechet_distance_from_stats, median_bandwidth, mixture_nll, mmd_rbf)
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
