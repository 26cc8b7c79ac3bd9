r"""Sample-quality numbers: how close are generated samples to the data?

* :func:`mmd_rbf` — squared maximum mean discrepancy with an RBF kernel (any sample sets).
* :func:`mixture_nll` — mean −log q(x) of samples under a known density (toy mixtures).
* :func:`sample_quality`, :func:`mode_spread` — the 2D chapters' numbers: NLL and MMD² (V-statistic)
  together, and how spread out the samples are within their modes.
* :func:`frechet_distance` — distance between Gaussians fitted to two feature sets (FID's formula).
* :func:`digit_fid` — Fréchet distance in a :class:`~diffusion_lab.models.DigitClassifier`'s
  feature space ("FID" for digits; numbers are only comparable with the same classifier).
* :func:`classifier_confidence_diversity` — do samples look like *some* digit, and like *all* digits?
* :class:`EvalProtocol`, :data:`PROTOCOLS`, :func:`evaluate_generator` — the one way the course scores a digit
  generator: held-out references, a fixed sampler, n and seeds, real against real on the same draws.

Checks of the forward process and of noise predictors against their closed forms (chapters 1, 2, 4):

* :func:`marginal_density_1d`, :func:`marginal_cdf_1d`, :func:`marginal_moments_1d` — the exact q(x_t)
  of 1D data (a number x0 or a 1D mixture), and :func:`histogram_l1`, how far a histogram of samples
  of x_t is from it next to how far sampling noise alone puts it;
* :func:`moment_check` — the mean and covariance of noised 2D clouds against E[x_t], Cov[x_t], in
  standard errors;
* :func:`closed_form_check` — t + 1 small noising steps against the one-jump closed form;
* :func:`eps_error_by_t`, :func:`eps_field`, :func:`denoise` — a noise predictor ε̂ against the exact ε*
  of a mixture, and its one-step guess x̂0.

All functions return python floats (or a dict of them) and compute in float64, except where a
docstring says they return arrays or tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.special import ndtr
from torch import Tensor

from .distributions import Distribution, GaussianMixture, point
from .forward import marginal_moments, predict_start_from_noise, q_sample, q_sample_chain
from .sampling import SIGMA_SAMPLERS, EpsModel, ddim_sample, predict_eps, samples_vs_calls
from .schedules import NoiseSchedule
from .seeding import make_generator
from .validation import check_timestep

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
    "frechet_report",
    "EIG_RTOL",
    "gaussian_stats",
    "classifier_features",
    "digit_fid",
    "classifier_confidence_diversity",
    "EvalProtocol", "PROTOCOLS", "protocol_for", "heldout_digits", "references_held_out", "protocol_sampler",
    "evaluate_generator",
    "as_mixture_1d", "marginal_params_1d", "marginal_density_1d", "marginal_cdf_1d", "marginal_moments_1d",
    "histogram_window", "histogram_l1",
    "cloud_moments", "data_moments", "MomentCheck", "moment_check",
    "ClosedFormCheck", "closed_form_check", "ErrorByT", "eps_error_by_t", "eps_field", "denoise",
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


#: Eigenvalues below this fraction of the largest one are round-off, not variance: they are set to 0 before square
#: roots are taken. Symmetric eigensolvers return eigenvalues with an absolute error of about d·ε_mach·λ_max
#: (d ≤ a few hundred features, ε_mach = 2.2e-16), so 1e-12 sits above that error; a real eigenvalue that small
#: changes tr (Σ₁Σ₂)^{1/2} by at most √(1e-12 λ_max) = 1e-6 √λ_max each.
EIG_RTOL = 1e-12


def _sqrt_psd(s: np.ndarray, rtol: float = EIG_RTOL) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix; eigenvalues below rtol·λ_max (round-off) → 0."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    w = np.where(w > rtol * max(float(w.max(initial=0.0)), 0.0), w, 0.0)
    return (v * np.sqrt(w)) @ v.T


def _frechet_parts(mu1, sigma1, mu2, sigma2) -> dict:
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.shape[0],) * 2:
        raise ValueError(f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {s1.shape}, {s2.shape}")
    if not (np.isfinite(mu1).all() and np.isfinite(mu2).all() and np.isfinite(s1).all() and np.isfinite(s2).all()):
        raise ValueError("means and covariances must be finite; a sampler diverged or the features hold NaN/inf")
    diff = mu1 - mu2
    # a feature whose variance is 0 in both sets (a ReLU that never fires) has zero rows and columns in both
    # covariances: it adds only (μ₁ − μ₂)² and is left out of the trace term exactly
    used = (np.diag(s1) > 0) | (np.diag(s2) > 0)
    a, b = s1[np.ix_(used, used)], s2[np.ix_(used, used)]
    if a.size:
        r = _sqrt_psd(a)
        m = r @ b @ r
        lam = np.linalg.eigvalsh((m + m.T) / 2)
        lam = np.where(lam > EIG_RTOL * max(float(lam.max()), 0.0), lam, 0.0)
        tr_covmean = float(np.sqrt(lam).sum())
        cov_term = float(np.trace(a) + np.trace(b) - 2.0 * tr_covmean)
    else:
        cov_term = 0.0
    mean_term = float(diff @ diff)
    return {"distance": mean_term + cov_term, "mean_term": mean_term, "cov_term": cov_term,
            "features": int(mu1.shape[0]), "features_used": int(used.sum())}


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    r"""Fréchet (2-Wasserstein²) distance between N(μ₁, Σ₁) and N(μ₂, Σ₂):

        d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2}).

    Which features it really uses: a feature with zero variance in *both* sets (for a classifier's ReLU
    features, one that is 0 on every image) contributes only its (μ₁ − μ₂)² (zero when it is 0 in both), so
    the trace term is computed on the other features alone (:func:`frechet_report` says how many). Of the
    shipped classifiers' 64 ReLU features, 38 are 0 on every held-out 8×8 digit (``classifier_digits``: the
    distance uses 26) and 35 on every held-out MNIST digit (``classifier_mnist``: it uses 29; both recorded as
    ``features_used`` in ``benchmarks/results/heldout_*.json``); leaving them in added round-off square roots
    (about −5·10⁻⁵ for two identical sets of digits) and nothing else.

    tr (Σ₁Σ₂)^{1/2} is computed as tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2} = Σᵢ √λᵢ, with λᵢ the eigenvalues of
    the symmetric PSD matrix Σ₁^{1/2} Σ₂ Σ₁^{1/2} (Σ₁Σ₂ is similar to it). Eigenvalues below
    :data:`EIG_RTOL` × the largest are round-off and are set to 0 before their square roots are taken
    (√ of a 10⁻¹⁶ round-off eigenvalue is 10⁻⁸, and many of them add up). Identical sets give 0 to round-off.
    """
    return _frechet_parts(mu1, sigma1, mu2, sigma2)["distance"]


def frechet_report(feats_a, feats_b) -> dict:
    """:func:`frechet_distance` with its parts: ``distance``, ``mean_term`` ‖μ₁ − μ₂‖², ``cov_term`` (the trace),
    ``features`` (d) and ``features_used`` (those that vary in at least one set; the rest are constant in both
    and enter only through the means)."""
    mu1, s1 = gaussian_stats(feats_a)
    mu2, s2 = gaussian_stats(feats_b)
    return _frechet_parts(mu1, s1, mu2, s2)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (n_a, d) and (n_b, d).

    Uses the sample mean and unbiased covariance of each set, then
    :func:`frechet_distance_from_stats`. Needs n ≫ d for stable covariances; it is biased upwards
    for small n (two samples of the *same* distribution give a positive value that shrinks ~1/n),
    so only compare numbers computed with equal n (an :class:`EvalProtocol` fixes n).
    """
    return frechet_report(feats_a, feats_b)["distance"]


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
    and the same numbers of images, against references the generator did not train on: the
    :data:`PROTOCOLS` fix all of that (:func:`evaluate_generator`).
    """
    fa = classifier_features(images_a, classifier, batch_size)
    fb = classifier_features(images_b, classifier, batch_size)
    return frechet_distance(fa, fb)


# ---------------------------------------------------------------------------------------------
# One evaluation protocol for the digit generators: held-out references, fixed sampler, n and seeds
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalProtocol:
    """How the course scores a digit generator, fixed so that its numbers can be compared.

    The references are a **held-out** block of the data set that no generator (``python -m diffusion_lab.train
    --split train``) and no judge (the shipped classifier) trains on (:func:`heldout_digits`). Each draw (one
    seed) splits the held-out images at random into two disjoint halves of ``n``: the reference half, and a real
    half that gives the real-against-real figure at the same n; the generator makes ``n`` images from fresh
    starting noise of the same seed. Every draw gives one digit Fréchet distance (samples against the
    reference half) and one real-against-real distance; the protocol reports their mean and standard deviation
    over ``seeds`` (how much one estimate moves between draws).

    Attributes:
        name: ``"digits8x8"`` or ``"mnist"``.
        judge: the shipped classifier whose 64 features define the distance (its sha256 is recorded).
        heldout: which images are held out (the judge's test images).
        n: images per draw, generated and real each (the Fréchet distance is biased upwards at small n: only
            numbers with the same n compare).
        seeds: one draw per seed.
        steps, eta, clip_x0: the sampler: DDIM with ``steps`` steps, η = ``eta``, x̂0 clamped to [−clip_x0, clip_x0].
    """

    name: str
    judge: str
    heldout: str
    n: int
    seeds: tuple[int, ...]
    steps: int
    eta: float = 0.0
    clip_x0: float = 1.0

    @property
    def sampler(self) -> str:
        return f"DDIM eta={self.eta:g}, {self.steps} steps, clip_x0={self.clip_x0:g}"

    def to_dict(self) -> dict:
        return {"name": self.name, "judge": self.judge, "heldout": self.heldout, "n": self.n,
                "seeds": list(self.seeds), "sampler": self.sampler}


#: The course's two protocols. 8×8 digits: the classifier's 359 test images (``data.load_digits_8x8("test")``),
#: halves of 179; MNIST: t10k images 8000–9999 (the MNIST classifier's test block), halves of 1000.
PROTOCOLS = {
    "digits8x8": EvalProtocol(
        name="digits8x8", judge="classifier_digits", n=179, seeds=tuple(range(10)), steps=50,
        heldout="sklearn digits 8x8, the 359 test images of load_digits_8x8('test') (the classifier's test split)"),
    "mnist": EvalProtocol(
        name="mnist", judge="classifier_mnist", n=1000, seeds=(0, 1, 2, 3, 4), steps=25,
        heldout="MNIST t10k images 8000..9999 (the MNIST classifier's held-out block)"),
}


def protocol_for(dataset: str) -> EvalProtocol:
    """The protocol of a checkpoint's ``dataset`` field ("sklearn digits 8x8 ...", "MNIST ...") or of a name."""
    if dataset in PROTOCOLS:
        return PROTOCOLS[dataset]
    if "mnist" in dataset.lower():
        return PROTOCOLS["mnist"]
    if "digits 8x8" in dataset or "8x8" in dataset:
        return PROTOCOLS["digits8x8"]
    raise ValueError(f"no evaluation protocol for data set {dataset!r}; known: {sorted(PROTOCOLS)}")


def heldout_digits(protocol: EvalProtocol | str = "digits8x8", mnist_root=None) -> tuple[Tensor, Tensor]:
    """The held-out images (N, 1, H, W) in [−1, 1] and labels (N,) of a protocol: no shipped judge trains on them,
    and no generator trained with ``--split train`` does."""
    from .data import MNIST_HELDOUT_START, load_digits_8x8, load_mnist

    p = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    if p.name == "digits8x8":
        return load_digits_8x8("test")
    x, y = load_mnist(mnist_root, split="test")
    return x[MNIST_HELDOUT_START:], y[MNIST_HELDOUT_START:]


def references_held_out(meta: dict) -> bool:
    """Whether a generator checkpoint's training data left out its protocol's held-out block (from its
    JSON ``split``, written by ``python -m diffusion_lab.train``; ``--split train`` leaves it out)."""
    split = str(meta.get("split", ""))
    return split.startswith("train") or "held out" in split


def protocol_sampler(model, schedule, protocol: EvalProtocol, image_shape: Sequence[int], w: float | None = None,
                     batch_size: int = 500):
    """``sample_fn(n, generator) -> images`` (or ``(images, intended)`` with ``w``) for :func:`evaluate_generator`.

    DDIM with the protocol's settings from x_T ~ N(0, I) drawn with ``generator`` (whose stream also gives η's
    fresh noise). ``w=None``: the model's own ε (an unconditional model, or a conditional one without a label);
    a number: classifier-free guidance at scale w towards the intended classes 0, 1, …, 9, 0, 1, … .
    """
    shape = tuple(int(s) for s in image_shape)

    @torch.no_grad()
    def sample_fn(n: int, generator: torch.Generator):
        x_T = torch.randn((n, *shape), generator=generator)
        if isinstance(model, torch.nn.Module):
            model.eval()
        if w is None:
            parts = [ddim_sample(model, schedule, x_T[i:i + batch_size], num_steps=protocol.steps, eta=protocol.eta,
                                 clip_x0=protocol.clip_x0, generator=generator) for i in range(0, n, batch_size)]
            return torch.cat(parts).clamp(-1, 1)
        from .guidance import sample_guided

        intended = torch.arange(n) % 10
        parts = [sample_guided(model, schedule, intended[i:i + batch_size], float(w), x_T[i:i + batch_size],
                               num_steps=protocol.steps, eta=protocol.eta, clip_x0=protocol.clip_x0,
                               generator=generator) for i in range(0, n, batch_size)]
        return torch.cat(parts).clamp(-1, 1), intended

    return sample_fn


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else float("nan")


def evaluate_generator(sample_fn, protocol: EvalProtocol | str, classifier, judge_meta: dict | None = None,
                       heldout: tuple[Tensor, Tensor] | None = None, mnist_root=None, log=None) -> dict:
    """Score a digit generator by ``protocol``: per seed, the digit Fréchet distance of n generated images to a
    random half of the held-out images, and of the other half (real, unseen) to the same references.

    Args:
        sample_fn: ``sample_fn(n, generator)`` → images (n, 1, H, W) in [−1, 1], or ``(images, intended)`` for
            a class-conditional generator (then the judge's accuracy on the intended classes is reported too);
            :func:`protocol_sampler` makes one with the protocol's sampler.
        protocol: an :class:`EvalProtocol` or a name in :data:`PROTOCOLS`.
        classifier: the judge (``protocol.judge``, e.g. ``load_checkpoint(shipped("classifier_digits"))[0]``).
        judge_meta: its checkpoint JSON (its ``weights_sha256`` and held-out accuracy are recorded).
        heldout: the held-out ``(images, labels)``; default :func:`heldout_digits`.

    Returns:
        a dict: ``protocol`` (its settings), ``judge`` (name, sha256, held-out accuracy), per-seed lists
        ``fid`` and ``fid_real``, their ``*_mean`` and ``*_sd`` (standard deviation over the draws),
        ``features_used`` (judge features that vary on the held-out images), and for a conditional
        generator ``accuracy`` per seed with ``accuracy_mean``.
    """
    p = PROTOCOLS[protocol] if isinstance(protocol, str) else protocol
    x, _ = heldout if heldout is not None else heldout_digits(p, mnist_root)
    if x.shape[0] < 2 * p.n:
        raise ValueError(f"the protocol needs 2 × {p.n} held-out images, got {x.shape[0]}")
    feats = classifier_features(x, classifier)
    out = {"protocol": p.to_dict(),
           "judge": {"name": p.judge, "sha256": (judge_meta or {}).get("weights_sha256"),
                     "heldout_accuracy": (judge_meta or {}).get("test_accuracy")},
           "fid": [], "fid_real": [], "accuracy": [],
           "features_used": frechet_report(feats, feats)["features_used"]}
    for seed in p.seeds:
        g = torch.Generator().manual_seed(int(seed))
        perm = torch.randperm(x.shape[0], generator=g)
        ref, real = feats[perm[:p.n]], feats[perm[p.n:2 * p.n]]
        made = sample_fn(p.n, g)
        images, intended = made if isinstance(made, tuple) else (made, None)
        if tuple(images.shape) != (p.n, *x.shape[1:]):
            raise ValueError(f"sample_fn returned shape {tuple(images.shape)}, expected {(p.n, *x.shape[1:])}")
        out["fid"].append(frechet_distance(classifier_features(images, classifier), ref))
        out["fid_real"].append(frechet_distance(real, ref))
        if intended is not None:
            out["accuracy"].append(_accuracy(images, intended, classifier))
        if log is not None:
            acc = f", accuracy {out['accuracy'][-1]:.3f}" if intended is not None else ""
            log(f"  seed {seed}: Fréchet {out['fid'][-1]:.2f} (real against real {out['fid_real'][-1]:.2f}){acc}")
    out["fid_mean"], out["fid_sd"] = _mean_sd(out["fid"])
    out["fid_real_mean"], out["fid_real_sd"] = _mean_sd(out["fid_real"])
    if out["accuracy"]:
        out["accuracy_mean"] = _mean_sd(out["accuracy"])[0]
    else:
        del out["accuracy"]
    return out


@torch.no_grad()
def _accuracy(images: Tensor, intended: Tensor, classifier, batch_size: int = 500) -> float:
    classifier.eval()
    dev = next(classifier.parameters()).device
    pred = torch.cat([classifier(images[i:i + batch_size].to(dev, torch.float32)).argmax(1).cpu()
                      for i in range(0, images.shape[0], batch_size)])
    return float((pred == intended.long().cpu()).double().mean())


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


# ---------------------------------------------------------------------------------------------
# 1D data: the exact q(x_t), and a histogram of samples against it (chapter 1)
# ---------------------------------------------------------------------------------------------
def as_mixture_1d(data) -> GaussianMixture:
    """A number x0 becomes the point mass at x0; a 1D GaussianMixture is returned as it is."""
    if isinstance(data, GaussianMixture):
        if data.dim != 1:
            raise ValueError(f"1D checks need 1D data, got a {data.dim}D mixture ({data.name}).")
        return data
    if isinstance(data, (int, float, np.integer, np.floating)) and not isinstance(data, bool):
        return point(float(data))
    raise TypeError(f"data must be a number x0 (e.g. 5.0) or a 1D GaussianMixture such as "
                    f"dl.make_distribution('mixture_1d'), got {type(data).__name__}.")


def _marginal_1d(data, schedule: NoiseSchedule, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights (K,), means, variances) of q(x_t)'s components, float64 numpy: means and variances are
    (K,) for one t (or t = None, the data itself) and (S, K) for S steps."""
    mix = as_mixture_1d(data)
    mean, var = mix.means[:, 0], mix.covs[:, 0, 0]
    if t is not None:
        mean, var = marginal_moments(schedule, t, mean, var)
    return mix.weights.numpy(), mean.numpy(), var.numpy()


def marginal_params_1d(data, schedule: NoiseSchedule, t):
    r"""(weights, means, stds) of q(x_t) = Σ_k w_k N(√ᾱ_t μ_k, ᾱ_t σ_k² + 1 − ᾱ_t) as numpy arrays
    (:func:`~diffusion_lab.forward.marginal_moments` per component).

    ``data`` is a number x0 (a point mass) or a 1D GaussianMixture. ``t``: one code step (arrays (K,)),
    several (a sequence or ``range``: means and stds (S, K)), or None for the data itself (ᾱ = 1).
    """
    w, m, v = _marginal_1d(data, schedule, t)
    return w, m, np.sqrt(v)


def marginal_density_1d(data, schedule: NoiseSchedule, x, t) -> np.ndarray:
    """Exact density q(x_t = x) at the points ``x`` (any shape) for one step t; needs a positive
    variance (t ≥ 0 for a point mass)."""
    w, m, s = marginal_params_1d(data, schedule, t)
    if np.any(s <= 0):
        raise ValueError("a point mass has no density at the clean data (t = None); use t ≥ 0.")
    x = np.asarray(x, dtype=np.float64)
    z = (x[..., None] - m) / s
    return (w * np.exp(-0.5 * z * z) / (s * math.sqrt(2 * math.pi))).sum(-1)


def marginal_cdf_1d(data, schedule: NoiseSchedule, x, t) -> np.ndarray:
    """Exact CDF P(x_t ≤ x) at the points ``x`` for one step t (a step function for a point mass at t = None)."""
    w, m, s = marginal_params_1d(data, schedule, t)
    x = np.asarray(x, dtype=np.float64)[..., None]
    safe = np.where(s > 0, s, 1.0)
    cdf = np.where(s > 0, ndtr((x - m) / safe), (x >= m).astype(np.float64))
    return (w * cdf).sum(-1)


def marginal_moments_1d(data, schedule: NoiseSchedule, t):
    """(mean, std) of x_t: mean Σ w_k m_k, variance Σ w_k (v_k + m_k²) − mean² over the components.

    Floats for one t (or None); arrays (S,) for several t (a sequence or ``range``)."""
    w, m, v = _marginal_1d(data, schedule, t)
    mean = (w * m).sum(-1)
    std = np.sqrt(np.maximum((w * (v + m**2)).sum(-1) - mean**2, 0.0))
    return (float(mean), float(std)) if np.ndim(mean) == 0 else (mean, std)


def histogram_window(data, schedule: NoiseSchedule, t, width: float = 4.0) -> tuple[float, float]:
    """The x-range holding (practically) all of q(x_t): every component's mean ± ``width`` stds."""
    _, m, s = marginal_params_1d(data, schedule, t)
    return float((m - width * s).min()), float((m + width * s).max())


def histogram_l1(data, schedule: NoiseSchedule, values, t, bins: int = 40) -> tuple[float, float]:
    r"""How far a histogram of samples ``values`` of x_t is from the exact q(x_t), and how far it should be.

    Returns (l1, expected): l1 = Σ_i |c_i/n − P_i| + |outside/n − P_out| (P_i the exact probability of
    bin i from the CDF over :func:`histogram_window`; c_i the count), i.e. the L1 distance between the
    histogram and the exact density averaged over each bin. ``expected`` is its size from sampling
    noise alone: Σ √(2/π) √(P_i (1 − P_i)/n) (the mean absolute deviation of a binomial count, normal
    approximation). A correct sampler gives l1 ≈ expected; a wrong formula gives l1 ≫ expected.
    """
    values = _as_2d64(values, "values", min_samples=1).reshape(-1).numpy()
    n = values.size
    lo, hi = histogram_window(data, schedule, t)
    edges = np.linspace(lo, hi, bins + 1)
    cdf = marginal_cdf_1d(data, schedule, edges, t)
    probs = np.append(np.diff(cdf), 1.0 - (cdf[-1] - cdf[0]))
    counts, _ = np.histogram(values, bins=edges)
    counts = np.append(counts, n - counts.sum())
    l1 = float(np.abs(counts / n - probs).sum())
    expected = float((math.sqrt(2 / math.pi) * np.sqrt(probs * (1 - probs) / n)).sum())
    return l1, expected


# ---------------------------------------------------------------------------------------------
# Noised 2D clouds: sample moments against E[x_t] and Cov[x_t] (chapter 2)
# ---------------------------------------------------------------------------------------------
def cloud_moments(clouds) -> tuple[np.ndarray, np.ndarray]:
    """Empirical mean (T, d) and covariance (T, d, d) (divisor n − 1) of each cloud in (T, n, d); one
    cloud (n, d) counts as T = 1."""
    c = np.asarray(clouds, dtype=np.float64)
    if c.ndim == 2:
        c = c[None]
    mean = c.mean(axis=1)
    centred = c - mean[:, None, :]
    cov = np.einsum("tni,tnj->tij", centred, centred) / (c.shape[1] - 1)
    return mean, cov


def data_moments(dist: Distribution, x0) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), covariance (d, d)) of x0's distribution: exact for a GaussianMixture, else from the
    sample ``x0`` (n, d)."""
    if isinstance(dist, GaussianMixture):
        return dist.mean().numpy(), dist.covariance().numpy()
    m, c = cloud_moments(torch.as_tensor(x0).detach().cpu().numpy()[None])
    return m[0], c[0]


@dataclass
class MomentCheck:
    """Empirical vs closed-form moments over t, with standard errors (all numpy, float64).

    mean_se[t, i] = √(C_ii/n); cov_se[t, i, j] = √((C_ij² + C_ii C_jj)/(n−1)) (exact for Gaussian
    clouds, close otherwise), where C is the closed-form covariance at t.
    """
    mean_emp: np.ndarray
    mean_cf: np.ndarray
    cov_emp: np.ndarray
    cov_cf: np.ndarray
    mean_se: np.ndarray
    cov_se: np.ndarray
    n: int

    def mean_z(self) -> float:
        """Largest |empirical − closed form| / standard error over all t and coordinates (mean)."""
        return float(np.max(np.abs(self.mean_emp - self.mean_cf) / self.mean_se))

    def cov_z(self) -> float:
        """Largest |empirical − closed form| / standard error over all t and entries (covariance)."""
        return float(np.max(np.abs(self.cov_emp - self.cov_cf) / self.cov_se))


def moment_check(schedule: NoiseSchedule, clouds, mean0, cov0) -> MomentCheck:
    r"""Compare clouds (T, n, d) — x_t for every t, e.g. from
    :func:`~diffusion_lab.forward.q_sample_steps` — with E[x_t] = √ᾱ_t μ and Cov[x_t] = ᾱ_t Σ + (1−ᾱ_t) I
    (:func:`~diffusion_lab.forward.marginal_moments`), where μ = ``mean0`` (d,) and Σ = ``cov0`` (d, d)."""
    clouds = np.asarray(clouds)
    if clouds.shape[0] != schedule.T:
        raise ValueError(f"clouds has {clouds.shape[0]} steps but the schedule has T = {schedule.T}.")
    n = clouds.shape[1]
    mean_emp, cov_emp = cloud_moments(clouds)
    mean_cf, cov_cf = marginal_moments(schedule, torch.arange(schedule.T),
                                       torch.as_tensor(np.asarray(mean0, dtype=np.float64).reshape(-1)),
                                       torch.as_tensor(np.asarray(cov0, dtype=np.float64)))
    mean_cf, cov_cf = mean_cf.numpy(), cov_cf.numpy()
    var = np.diagonal(cov_cf, axis1=1, axis2=2)                       # (T, d)
    mean_se = np.sqrt(var / n)
    cov_se = np.sqrt((cov_cf**2 + var[:, :, None] * var[:, None, :]) / (n - 1))
    return MomentCheck(mean_emp, mean_cf, cov_emp, cov_cf, mean_se, cov_se, n)


# ---------------------------------------------------------------------------------------------
# One jump = t + 1 small steps; a noise predictor against the exact ε* (chapter 4)
# ---------------------------------------------------------------------------------------------
@dataclass
class ClosedFormCheck:
    """Moments and quantiles of x_t from t + 1 small noising steps vs the one-jump closed form."""

    t: int
    mean_iterated: float
    mean_closed: float
    std_iterated: float
    std_closed: float
    quantiles_iterated: np.ndarray
    quantiles_closed: np.ndarray
    n: int

    @property
    def mean_z(self) -> float:
        """|difference of means| in standard errors (two independent samples of size n)."""
        se = math.sqrt(self.std_iterated**2 / self.n + self.std_closed**2 / self.n)
        return abs(self.mean_iterated - self.mean_closed) / se

    @property
    def std_z(self) -> float:
        """|difference of standard deviations| in standard errors (Gaussian: SE(s) ≈ s/√(2n))."""
        se = math.sqrt(self.std_iterated**2 / (2 * self.n) + self.std_closed**2 / (2 * self.n))
        return abs(self.std_iterated - self.std_closed) / se

    def agrees(self, z: float = 4.0) -> bool:
        """Both the means and the standard deviations agree within ``z`` standard errors."""
        return self.mean_z < z and self.std_z < z


def closed_form_check(schedule: NoiseSchedule, x0: float = 1.5, t: int = 300, n: int = 20000,
                      generator: torch.Generator | None = None) -> ClosedFormCheck:
    """Noise n copies of the number ``x0`` with t + 1 small steps
    (:func:`~diffusion_lab.forward.q_sample_chain`) and, separately, in one closed-form jump
    (:func:`~diffusion_lab.forward.q_sample`); compare mean, std and the 5/25/50/75/95 % quantiles."""
    x0s = torch.full((n, 1), float(x0), dtype=torch.float64)
    it = q_sample_chain(schedule, x0s, int(t), generator=generator)[:, 0]
    cf = q_sample(schedule, x0s, int(t), generator=generator)[:, 0]
    qs = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], dtype=torch.float64)
    return ClosedFormCheck(t=int(t), mean_iterated=float(it.mean()), mean_closed=float(cf.mean()),
                           std_iterated=float(it.std()), std_closed=float(cf.std()),
                           quantiles_iterated=torch.quantile(it, qs).numpy(),
                           quantiles_closed=torch.quantile(cf, qs).numpy(), n=int(n))


@dataclass
class ErrorByT:
    """Per code step t (arrays of shape (len(ts),)):

    mse_to_exact: mean_coords (ε̂ − ε*)² — the network's own error (0 for a perfect network);
    loss_model: L_simple of the network, mean_coords (ε − ε̂)²;
    loss_exact: L_simple of ε* itself — what no network can beat (ε is not fully knowable from x_t).
    For the exact ε*, loss_model − loss_exact ≈ mse_to_exact (the loss splits into these two parts).
    """

    ts: np.ndarray
    mse_to_exact: np.ndarray
    loss_model: np.ndarray
    loss_exact: np.ndarray


# The three functions below call the model through sampling.predict_eps, imported where it is used:
# sampling imports this module (for its quality numbers), so a module-level import would be circular.
def eps_error_by_t(model, schedule: NoiseSchedule, dist: GaussianMixture, ts, n: int = 1000,
                   generator: torch.Generator | None = None) -> ErrorByT:
    """Draw n pairs (x0, ε) per t, form x_t in closed form, and compare ε̂ = model(x_t, t) with ε and
    with the mixture's exact ε* = E[ε | x_t]."""

    mse, lm, le = [], [], []
    for t in ts:
        t = check_timestep(int(t), schedule.T)
        x0 = dist.sample(n, generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        x_t = q_sample(schedule, x0, t, noise=eps)
        eps_hat = predict_eps(model, x_t, t)
        eps_star = dist.eps_star(schedule, x_t, t).to(torch.float32)
        mse.append(float((eps_hat - eps_star).pow(2).mean()))
        lm.append(float((eps_hat - eps).pow(2).mean()))
        le.append(float((eps_star - eps).pow(2).mean()))
    return ErrorByT(ts=np.asarray([int(t) for t in ts]), mse_to_exact=np.asarray(mse), loss_model=np.asarray(lm),
                    loss_exact=np.asarray(le))


def eps_field(model, schedule: NoiseSchedule, dist: GaussianMixture, t: int, lim: float = 3.0, grid_n: int = 13):
    """ε̂ = model(x_t, t) and the exact ε* at x_t on a grid_n × grid_n grid over [−lim, lim]² (x fastest).

    Returns numpy (points (G, 2), ε̂ (G, 2), ε* (G, 2)) with G = grid_n².
    """

    t = check_timestep(int(t), schedule.T)
    g = torch.linspace(-lim, lim, grid_n)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    return pts.numpy(), predict_eps(model, pts, t).numpy(), dist.eps_star(schedule, pts, t).numpy()


def denoise(model, schedule: NoiseSchedule, x0, t: int, noise=None, generator: torch.Generator | None = None):
    """(x_t, x̂0): x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε (``noise`` = ε, drawn if None) and the model's one-step guess
    x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t from ε̂ = model(x_t, t)."""

    t = check_timestep(int(t), schedule.T)
    x_t = q_sample(schedule, x0, t, noise=noise, generator=generator)
    return x_t, predict_start_from_noise(schedule, x_t, t, predict_eps(model, x_t, t))


# ---------------------------------------------------------------------------------------------
# Samplers measured: quality against network calls
# ---------------------------------------------------------------------------------------------
def ddim_quality_curve(eps_model, schedule: NoiseSchedule, dist: GaussianMixture, x_T: torch.Tensor, reference,
                       step_counts: Sequence[int] = (10, 20, 50, 100, 250), eta: float = 0.0, seed: int = 0
                       ) -> dict[int, Quality]:
    """Quality (:func:`sample_quality`) of DDIM samples from the same x_T for each
    number of steps (= network calls), each run with a fresh generator seeded ``seed``."""
    out = {}
    for k in step_counts:
        x = ddim_sample(eps_model, schedule, x_T.clone(), num_steps=int(k), eta=eta, generator=make_generator(seed))
        out[int(k)] = sample_quality(x, dist, reference)
    return out


def quality_vs_calls(eps_model: EpsModel, schedule: NoiseSchedule, dist: GaussianMixture, x_T: torch.Tensor,
                     reference, samplers: Sequence[str] = tuple(SIGMA_SAMPLERS),
                     budgets: Sequence[int] = (4, 10, 20, 50), spacing: str = "karras", seed: int = 0
                     ) -> dict[str, dict[int, Quality]]:
    """{sampler: {network calls: Quality}} (:func:`sample_quality` of the samples of
    :func:`~diffusion_lab.sampling.samples_vs_calls` against ``reference``)."""
    runs = samples_vs_calls(eps_model, schedule, x_T, samplers, budgets, spacing, seed)
    return {name: {k: sample_quality(x, dist, reference) for k, x in curve.items()} for name, curve in runs.items()}


def fewest_calls_within(values: dict[int, float], target: float, rel_tol: float = 0.10) -> int | None:
    """The fewest network calls from which on every measured value stays within ``rel_tol``·|target| of
    ``target`` (e.g. DDPM-1000's NLL); None if even the most calls are not that close."""
    if not values:
        raise ValueError("values is empty: give {network calls: quality number}.")
    if not rel_tol > 0:
        raise ValueError(f"rel_tol must be positive (0.10 for 'within 10 %'), got {rel_tol}.")
    best = None
    for calls in sorted(values, reverse=True):
        if abs(values[calls] - target) > rel_tol * abs(target):
            break
        best = int(calls)
    return best
