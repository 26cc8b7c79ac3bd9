r"""Sample-quality numbers: how close are generated samples to the data?

* :func:`mmd_rbf` — squared maximum mean discrepancy with an RBF kernel (any sample sets).
* :func:`mixture_nll` — mean −log q(x) of samples under a known density (toy mixtures).
* :func:`sample_quality`, :func:`mode_spread` — the 2D chapters' numbers: NLL and MMD² (V-statistic)
  together, and how spread out the samples are within their modes.
* :func:`frechet_distance` — distance between Gaussians fitted to two feature sets (FID's formula).
* :func:`digit_fid` — Fréchet distance in a :class:`~diffusion_lab.models.DigitClassifier`'s
  feature space ("FID" for digits; numbers are only comparable with the same classifier).
* :func:`classifier_confidence_diversity` — do samples look like *some* digit, and like *all* digits?

All functions return python floats (or a dict of them) and compute in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "mmd_rbf",
    "RING_BANDWIDTHS",
    "Quality",
    "sample_quality",
    "mode_spread",
    "median_bandwidth",
    "mixture_nll",
    "frechet_distance",
    "frechet_distance_from_stats",
    "gaussian_stats",
    "classifier_features",
    "digit_fid",
    "classifier_confidence_diversity",
]


def _as_2d64(x, name: str, min_samples: int = 2) -> Tensor:
    x = torch.as_tensor(x).detach().to("cpu", torch.float64)
    if x.dim() == 1:
        x = x[:, None]
    elif x.dim() > 2:
        x = x.reshape(x.shape[0], -1)
    if x.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf; a sampler diverged or the input is wrong")
    return x


def median_bandwidth(x, y) -> float:
    """Median pairwise distance of the pooled samples (the "median heuristic" bandwidth)."""
    z = torch.cat([_as_2d64(x, "x"), _as_2d64(y, "y")])
    if z.shape[0] > 2000:
        z = z[torch.randperm(z.shape[0], generator=torch.Generator().manual_seed(0))[:2000]]
    d = torch.cdist(z, z)
    iu = torch.triu_indices(z.shape[0], z.shape[0], offset=1)
    return float(d[iu[0], iu[1]].median())


def mmd_rbf(x, y, bandwidths=None, unbiased: bool = True) -> float:
    r"""MMD² between the distributions of samples ``x`` (m, d) and ``y`` (n, d), RBF kernels.

    With the kernel k(a, b) = (1/L) Σ_ℓ exp(−‖a − b‖² / (2 h_ℓ²)) (an average of L RBF kernels),

        MMD² = E k(x, x') + E k(y, y') − 2 E k(x, y).

    ``unbiased=True`` (default) estimates it without the i = j terms::

        1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j) − 2/(mn) Σ_{i,j} k(x_i, y_j);

    it scatters around 0 for two samples of one distribution and can be slightly negative.
    ``unbiased=False`` is the plain "V-statistic", all pairs *including* i = j: never negative, and for
    two samples of the SAME distribution it sits at a floor (1 − E k(x, x'))/m + (1 − E k(y, y'))/n > 0
    set by the sample sizes. That floor makes ratios meaningful: "within 1.5× of the exact sampler"
    means "as hard to tell from data, at this n, as samples that are nearly perfect".

    Meaning: it grows as the distributions differ, up to 2 for completely separated sets. Each kernel
    has values in [0, 1]; small bandwidths h compare fine detail (do the samples sit on the modes?),
    large ones compare coarse layout (are the modes weighted right?).

    Args:
        x: (m, d) samples (1D tensors are treated as (m, 1); images are flattened).
        y: (n, d) samples.
        bandwidths: the h_ℓ; default: the median pairwise distance of the pooled samples times
            (0.25, 0.5, 1, 2, 4). Pass fixed numbers (e.g. :data:`RING_BANDWIDTHS`) to compare several
            sample sets on one scale.
        unbiased: drop the i = j terms (True) or keep them (False, the V-statistic).
    Returns: MMD² as a float.
    """
    min_samples = 2 if unbiased else 1        # the unbiased estimate needs a pair i ≠ j in each set
    x, y = _as_2d64(x, "x", min_samples), _as_2d64(y, "y", min_samples)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same dimension, got {tuple(x.shape)} and {tuple(y.shape)}")
    if bandwidths is None:
        med = median_bandwidth(x, y)
        bandwidths = [med * f for f in (0.25, 0.5, 1.0, 2.0, 4.0)]
    h = torch.as_tensor(bandwidths, dtype=torch.float64).reshape(-1)
    if h.numel() == 0 or bool((h <= 0).any()):
        raise ValueError(f"bandwidths must be positive numbers, got {bandwidths!r}")

    def k(a, b):
        d2 = torch.cdist(a, b).pow(2)
        return torch.exp(-d2[None] / (2 * h[:, None, None] ** 2)).mean(0)

    m, n = x.shape[0], y.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    if not unbiased:
        return float(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    term_x = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    term_y = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(term_x + term_y - 2 * kxy.mean())


def mixture_nll(samples, mixture) -> float:
    """Mean negative log-likelihood −(1/n) Σ log q(x_i) of samples (n, d) under a known density.

    ``mixture`` is anything with ``log_prob(x) -> (n,)`` (e.g. ``GaussianMixture``). Lower is better,
    but a sampler that puts every point on the densest mode also scores well: read it together
    with :func:`mmd_rbf`. For reference, data drawn from the mixture itself gives its entropy H(q).
    """
    x = torch.as_tensor(samples).detach()
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or inf; the sampler diverged")
    lp = mixture.log_prob(x)
    return float(-torch.as_tensor(lp, dtype=torch.float64).mean())


#: Fixed RBF bandwidths for the ring of 8 Gaussians (mode std 0.2, radius 2): fine ones see blurred
#: or collapsed modes, coarse ones see wrong mode weights. Fixed, so every number shares one scale.
RING_BANDWIDTHS = (0.1, 0.2, 0.5, 1.0, 2.0)


@dataclass
class Quality:
    """Quality of one set of 2D samples: mean −log q(x) (nats) and MMD² (V-statistic) to fresh data."""

    nll: float
    mmd2: float
    n: int

    def __str__(self) -> str:
        return f"NLL {self.nll:.3f} nats, MMD² {self.mmd2:.2e} (n = {self.n})"


def sample_quality(samples, dist, reference, bandwidths: Sequence[float] = RING_BANDWIDTHS) -> Quality:
    """NLL under ``dist`` (:func:`mixture_nll`: lower = samples sit where the data is dense; data itself
    scores the entropy H(q)) and MMD² (:func:`mmd_rbf`, V-statistic) to ``reference`` (fresh data, the
    same size for a fair floor)."""
    x = _as_2d64(samples, "samples")
    return Quality(nll=mixture_nll(x, dist), mmd2=mmd_rbf(x, reference, bandwidths, unbiased=False),
                   n=int(x.shape[0]))


def mode_spread(samples, dist) -> float:
    """Spread of the samples within their modes: assign each point to the nearest component mean, then
    the standard deviation per coordinate around each cluster's own centre, averaged (weighted by size).

    Samples from ``dist`` (a GaussianMixture) give about the components' std (0.2 for the ring);
    samples that collapse onto a few points give much less, however well their centres sit.
    """
    x = _as_2d64(samples, "samples")
    which = torch.cdist(x, dist.means).argmin(1)
    total, count = 0.0, 0
    for k in range(dist.K):
        pts = x[which == k]
        if pts.shape[0] >= 2:
            total += float(pts.var(0, unbiased=True).mean()) * pts.shape[0]
            count += pts.shape[0]
    if count == 0:
        raise ValueError("no component received two or more samples.")
    return math.sqrt(total / count)


def gaussian_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of features (n, d), float64 numpy."""
    f = _as_2d64(feats, "feats").numpy()
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues → 0)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    r"""Fréchet (2-Wasserstein²) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂):

        d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2}).

    tr (Σ₁Σ₂)^{1/2} is computed as tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} = Σᵢ √λᵢ, with λᵢ the eigenvalues of
    the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2} (Σ₁Σ₂ is similar to it). Symmetric eigendecompositions
    stay accurate for singular covariances (e.g. dead ReLU features), where a general ``sqrtm`` of
    Σ₁Σ₂ warns and loses precision.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.shape[0],) * 2:
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}")
    diff = mu1 - mu2
    r = _sqrt_psd(s1)
    m = r @ s2 @ r
    lam = np.linalg.eigvalsh((m + m.T) / 2)
    tr_covmean = float(np.sqrt(np.clip(lam, 0.0, None)).sum())
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n_a, d) and (n_b, d).

    Uses the sample mean and unbiased covariance of each set, then
    :func:`frechet_distance_from_stats`. Needs n ≫ d for stable covariances; it is biased upwards
    for small n (two samples of the *same* distribution give a positive value that shrinks ~1/n),
    so only compare numbers computed with equal n.
    """
    mu1, s1 = gaussian_stats(feats_a)
    mu2, s2 = gaussian_stats(feats_b)
    return frechet_distance_from_stats(mu1, s1, mu2, s2)


@torch.no_grad()
def classifier_features(images: Tensor, classifier, batch_size: int = 500) -> Tensor:
    """``classifier.features`` of images (N, C, H, W) in [−1, 1] → (N, feature_dim), batched, eval mode."""
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    try:
        out = [classifier.features(images[i:i + batch_size].to(device, torch.float32)).cpu()
               for i in range(0, images.shape[0], batch_size)]
    finally:
        classifier.train(was_training)
    return torch.cat(out)


def digit_fid(images_a: Tensor, images_b: Tensor, classifier, batch_size: int = 500) -> float:
    """Fréchet distance between two image sets (N, C, H, W) in a DigitClassifier's feature space.

    Like FID but with a small digit classifier instead of Inception: 0 for identical statistics,
    larger when the sets differ. Only compare values computed with the same classifier checkpoint
    and the same numbers of images.
    """
    fa = classifier_features(images_a, classifier, batch_size)
    fb = classifier_features(images_b, classifier, batch_size)
    return frechet_distance(fa, fb)


@torch.no_grad()
def classifier_confidence_diversity(images: Tensor, classifier, batch_size: int = 500) -> dict:
    """How confidently and how evenly a digit classifier labels a set of images (N, C, H, W).

    Returns a dict:
        ``confidence``: mean over images of max_y p(y | x) (1 = every image is clearly some digit),
        ``class_counts``: list of how many images got each predicted label,
        ``class_entropy``: entropy (nats) of the predicted-label histogram,
        ``max_class_entropy``: log(num_classes), its value when all classes are equally frequent,
        ``diversity``: class_entropy / max_class_entropy in [0, 1] (1 = all digits equally often),
        ``inception_score``: exp(E_x KL(p(y|x) ‖ p(y))), between 1 and num_classes.
    """
    was_training = classifier.training
    classifier.eval()
    device = next(classifier.parameters()).device
    try:
        logits = torch.cat([classifier(images[i:i + batch_size].to(device, torch.float32)).cpu()
                            for i in range(0, images.shape[0], batch_size)]).double()
    finally:
        classifier.train(was_training)
    p = logits.softmax(dim=1)
    k = p.shape[1]
    counts = torch.bincount(p.argmax(1), minlength=k)
    freq = counts.double() / counts.sum()
    nz = freq[freq > 0]
    ent = max(0.0, float(-(nz * nz.log()).sum()))  # max: no "-0.0" for a single class
    p_y = p.mean(0)
    kl = (p * (p.clamp_min(1e-300).log() - p_y.clamp_min(1e-300).log())).sum(1).mean()
    return {
        "confidence": float(p.max(1).values.mean()),
        "class_counts": counts.tolist(),
        "class_entropy": ent,
        "max_class_entropy": math.log(k),
        "diversity": ent / math.log(k),
        "inception_score": float(kl.exp()),
    }
