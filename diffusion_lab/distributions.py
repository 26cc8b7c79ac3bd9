r"""Toy data distributions in 1D and 2D, with exact answers where they exist.

Gaussian mixtures q(x0) = Σ_k w_k N(μ_k, Σ_k) stay Gaussian mixtures under the forward process:

    q(x_t) = Σ_k w_k N(√ᾱ_t μ_k, ᾱ_t Σ_k + (1−ᾱ_t) I)

so their noisy density is exact (``log_prob_t``), and so is the best possible noise prediction
(Tweedie's formula), the ground truth learned models and samplers are held against:

    ε*(x_t, t) = E[ε | x_t] = −√(1−ᾱ_t) ∇ log q(x_t)
               = √(1−ᾱ_t) Σ_k r_k(x_t) C_k⁻¹ (x_t − √ᾱ_t μ_k),   C_k = ᾱ_t Σ_k + (1−ᾱ_t) I,

with r_k(x_t) the posterior probability of component k. Shapes: samples are (n, d).
Other shapes (two moons, swiss roll, checkerboard) can only be sampled.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .forward import marginal_moments
from .schedules import NoiseSchedule
from .validation import as_tensor, check_finite, check_timestep, unknown_name


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of samples) must be a positive int, got {n!r}.")
    return n


class Distribution:
    """Something to sample 2D (or 1D) toy data from: ``sample(n, generator) -> (n, dim)``."""

    name: str = "distribution"
    dim: int = 2
    has_density: bool = False

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, dim={self.dim})"


class GaussianMixture(Distribution):
    r"""q(x0) = Σ_k w_k N(μ_k, Σ_k) in d dimensions.

    Args:
        weights: (K,) non-negative, normalised here.
        means: (K, d).
        covs: (K, d, d) symmetric positive semi-definite, or
        stds: a float or (K,) of isotropic standard deviations (Σ_k = std_k² I). std 0 is a point mass.
    """

    has_density = True

    def __init__(self, weights, means, covs=None, stds=None, name: str = "mixture"):
        means = as_tensor(means, "means", torch.float64)
        if means.dim() == 1:
            means = means[:, None]
        if means.dim() != 2:
            raise ValueError(f"means must have shape (K, d), got {tuple(means.shape)}.")
        K, d = means.shape
        weights = as_tensor(weights, "weights", torch.float64).reshape(-1)
        if weights.shape[0] != K:
            raise ValueError(f"weights has {weights.shape[0]} entries but there are {K} means: "
                             f"give one weight per component.")
        if bool((weights < 0).any()) or float(weights.sum()) <= 0:
            raise ValueError("weights must be non-negative and not all zero.")
        if (covs is None) == (stds is None):
            raise ValueError("give exactly one of covs (K, d, d) or stds (a float or (K,)).")
        if covs is None:
            stds = as_tensor(stds, "stds", torch.float64).reshape(-1).expand(K)
            if bool((stds < 0).any()):
                raise ValueError("stds must be non-negative.")
            covs = stds[:, None, None] ** 2 * torch.eye(d, dtype=torch.float64)
        covs = as_tensor(covs, "covs", torch.float64)
        if tuple(covs.shape) != (K, d, d):
            raise ValueError(f"covs must have shape (K, d, d) = ({K}, {d}, {d}), got {tuple(covs.shape)}.")
        for x, nm in ((means, "means"), (weights, "weights"), (covs, "covs")):
            check_finite(x, nm)
        self.weights = weights / weights.sum()
        self.means, self.covs = means, 0.5 * (covs + covs.transpose(-1, -2))
        evals, evecs = torch.linalg.eigh(self.covs)
        if float(evals.min()) < -1e-10:
            raise ValueError("every covariance must be positive semi-definite.")
        self._factor = evecs * evals.clamp(min=0).sqrt()[:, None, :]  # A with A Aᵀ = Σ
        self.K, self.dim, self.name = K, d, name

    # -- data ---------------------------------------------------------------------------------
    def sample(self, n: int, generator: torch.Generator | None = None, return_components: bool = False):
        """Draw n samples (n, d) in float32 (and, optionally, which component each came from)."""
        n = _check_n(n)
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn((n, self.dim), generator=generator, dtype=torch.float64)
        x = self.means[comp] + torch.einsum("nij,nj->ni", self._factor[comp], z)
        x = x.to(torch.float32)
        return (x, comp) if return_components else x

    def mean(self) -> torch.Tensor:
        """E[x0], shape (d,)."""
        return (self.weights[:, None] * self.means).sum(0)

    def covariance(self) -> torch.Tensor:
        """Cov[x0], shape (d, d) (law of total covariance)."""
        m = self.mean()
        diff = self.means - m
        return (self.weights[:, None, None] * (self.covs + diff[:, :, None] * diff[:, None, :])).sum(0)

    # -- the forward process ------------------------------------------------------------------
    def marginal(self, schedule: NoiseSchedule, t: int) -> "GaussianMixture":
        """q(x_t) as a GaussianMixture: means √ᾱ_t μ_k, covariances ᾱ_t Σ_k + (1−ᾱ_t) I. The argument ``t`` is
        the code index k = t − 1 of the maths' step t (pass ``t - 1``)."""
        t = check_timestep(t, schedule.T)
        if not isinstance(t, int):
            raise TypeError("marginal takes one int t; use log_prob_t for a batch of different t.")
        means, covs = marginal_moments(schedule, t, self.means, self.covs)
        return GaussianMixture(self.weights, means, covs=covs, name=f"{self.name} at t={t}")

    def _abar(self, schedule: NoiseSchedule, t, n: int) -> torch.Tensor:
        t = check_timestep(t, schedule.T)
        if isinstance(t, int):
            return schedule.alphas_cumprod[t].expand(n)
        t = t.detach().cpu().long().reshape(-1)
        if t.numel() == 1:
            return schedule.alphas_cumprod[t].expand(n)
        if t.shape[0] != n:
            raise ValueError(f"t has {t.shape[0]} entries for {n} points: give one t per point or a single int.")
        return schedule.alphas_cumprod[t]

    def _components(self, x: torch.Tensor, abar: torch.Tensor):
        """Per point and component: log w_k N(x; m_k, C_k) and C_k⁻¹(x − m_k) (float64).

        C_k = ᾱ Σ_k + (1−ᾱ) I depends on the point only through ᾱ, so it is factored once per
        distinct ᾱ in the batch (usually one: a sampler uses the same t for every point).
        """
        eye = torch.eye(self.dim, dtype=torch.float64)
        levels, which = torch.unique(abar, return_inverse=True)
        cov = levels[:, None, None, None] * self.covs + (1 - levels)[:, None, None, None] * eye   # (U, K, d, d)
        L = torch.linalg.cholesky(cov)
        prec = torch.cholesky_inverse(L)                                                        # C⁻¹
        logdet = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)                     # (U, K)
        diff = x[:, None, :] - abar.sqrt()[:, None, None] * self.means                          # (n, K, d)
        if levels.numel() == 1:
            sol = torch.einsum("kij,nkj->nki", prec[0], diff)
        else:
            sol = torch.einsum("nkij,nkj->nki", prec[which], diff)
        maha = (diff * sol).sum(-1)
        logp = torch.log(self.weights) - 0.5 * (maha + logdet[which] + self.dim * math.log(2 * math.pi))
        return logp, sol

    def _points(self, x, keep_grad: bool = False) -> tuple[torch.Tensor, torch.dtype]:
        x = as_tensor(x, "x")
        if x.dim() == 1 and self.dim == 1:
            x = x[:, None]
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(f"points must have shape (n, {self.dim}), got {tuple(x.shape)}.")
        check_finite(x, "x")
        dtype = x.dtype if x.is_floating_point() else torch.float32
        # keep_grad (log_prob_t, log_prob): the density stays differentiable, so the score
        # ∇ log q(x_t) can be taken with autograd; ε* and E[x0|x_t] return plain tensors.
        x = x if keep_grad else x.detach()
        return x.to(torch.float64).cpu(), dtype

    def log_prob_t(self, schedule: NoiseSchedule, x_t, t) -> torch.Tensor:
        """Exact log q(x_t) for points (n, d) at step t (int or (n,)); returns (n,).

        Differentiable in ``x_t``: ``torch.autograd.grad(log_prob_t(x, ...).sum(), x)`` is the score.
        """
        x, dtype = self._points(x_t, keep_grad=True)
        logp, _ = self._components(x, self._abar(schedule, t, x.shape[0]))
        return torch.logsumexp(logp, dim=1).to(dtype)

    def log_prob(self, x) -> torch.Tensor:
        """Exact log q(x0) for points (n, d); returns (n,). Needs non-singular covariances."""
        x, dtype = self._points(x, keep_grad=True)
        if float(torch.linalg.eigvalsh(self.covs).min()) <= 0:
            raise ValueError(f"{self.name} has a point mass (zero variance), which has no density at t = 0; "
                             f"use log_prob_t at some t ≥ 0 instead.")
        logp, _ = self._components(x, torch.ones(x.shape[0], dtype=torch.float64))  # ᾱ = 1: C_k = Σ_k
        return torch.logsumexp(logp, dim=1).to(dtype)

    def eps_star(self, schedule: NoiseSchedule, x_t, t) -> torch.Tensor:
        r"""The exact optimal noise prediction ε*(x_t, t) = E[ε | x_t], shape of x_t.

        With q(x_t) = Σ_k w_k N(x_t; √ᾱ_t μ_k, C_k), C_k = ᾱ_t Σ_k + (1−ᾱ_t) I (Tweedie's formula):
        ε* = −√(1−ᾱ_t) ∇ log q(x_t) = √(1−ᾱ_t) Σ_k r_k(x_t) C_k⁻¹ (x_t − √ᾱ_t μ_k),
        where r_k(x_t) is the posterior probability that x_t came from component k.
        """
        x, dtype = self._points(x_t)
        eps = self._eps_star64(x, self._abar(schedule, t, x.shape[0]))
        return eps.to(dtype).reshape(as_tensor(x_t).shape)

    def _eps_star64(self, x: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
        """ε* for checked float64 points (n, d) and their ᾱ (n,): the unchecked core of :meth:`eps_star`."""
        logp, sol = self._components(x, abar)
        resp = torch.softmax(logp, dim=1)                                  # r_k(x_t), (n, K)
        return (1 - abar).sqrt()[:, None] * (resp[:, :, None] * sol).sum(1)

    def x0_mean(self, schedule: NoiseSchedule, x_t, t) -> torch.Tensor:
        r"""E[x0 | x_t] = (x_t − √(1−ᾱ_t) ε*)/√ᾱ_t: the best possible denoised guess."""
        x, dtype = self._points(x_t)
        abar = self._abar(schedule, t, x.shape[0])
        eps = self._eps_star64(x, abar)
        abar = abar[:, None]
        return ((x - (1 - abar).sqrt() * eps) / abar.sqrt()).to(dtype).reshape(as_tensor(x_t).shape)

    def x0_variance(self, schedule: NoiseSchedule, x_t, t) -> torch.Tensor:
        r"""Var(x0 | x_t) per coordinate, shape of x_t: how uncertain the best guess E[x0 | x_t] still is.

        Given x_t and component k, x0 is Gaussian with covariance Σ_k − ᾱ_t Σ_k C_k⁻¹ Σ_k and mean
        μ_k + √ᾱ_t Σ_k C_k⁻¹ (x_t − √ᾱ_t μ_k), C_k = ᾱ_t Σ_k + (1−ᾱ_t) I; the mixture over k (weights
        r_k(x_t)) adds the spread of those means (law of total variance). With it the true reverse
        variance is Var(x_{t−1} | x_t) = β̃_t + c₁²·Var(x0 | x_t), c₁ = ``schedule.posterior_mean_coef1``.
        """
        x, dtype = self._points(x_t)
        abar = self._abar(schedule, t, x.shape[0])
        logp, sol = self._components(x, abar)                              # sol = C_k⁻¹(x_t − √ᾱ μ_k)
        resp = torch.softmax(logp, dim=1)                                  # r_k(x_t), (n, K)
        eye = torch.eye(self.dim, dtype=torch.float64)
        levels, which = torch.unique(abar, return_inverse=True)          # C_k depends on the point only via ᾱ
        cov_t = levels[:, None, None, None] * self.covs + (1 - levels)[:, None, None, None] * eye  # (U, K, d, d)
        gain = torch.linalg.solve(cov_t, self.covs.expand_as(cov_t))                             # C_k⁻¹ Σ_k
        var_k = torch.diagonal(self.covs - levels[:, None, None, None] * self.covs @ gain, dim1=-2, dim2=-1)
        var_k = var_k[which]                                                                      # (n, K, d)
        mean_k = self.means + abar.sqrt()[:, None, None] * torch.einsum("kij,nkj->nki", self.covs, sol)
        mean = (resp[:, :, None] * mean_k).sum(1)
        var = (resp[:, :, None] * (var_k + mean_k**2)).sum(1) - mean**2
        return var.clamp(min=0).to(dtype).reshape(as_tensor(x_t).shape)

    def eps_model(self, schedule: NoiseSchedule) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The exact ε* as an ``eps_model(x_t, t)`` for the samplers in :mod:`diffusion_lab.sampling`.

        The samplers check their arguments once when called; this callable is their inner loop, so it
        does not re-validate x_t (n, d) and the LongTensor t (n,) on every step.
        """
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                            f"got {type(schedule).__name__}.")
        abar_all = schedule.alphas_cumprod

        def exact_eps(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            x = x_t.detach().reshape(x_t.shape[0], self.dim).to("cpu", torch.float64)
            t = torch.as_tensor(t).reshape(-1).cpu()
            abar = abar_all[t].expand(x.shape[0]) if t.numel() == 1 else abar_all[t]
            eps = self._eps_star64(x, abar)
            return eps.to(device=x_t.device, dtype=x_t.dtype if x_t.is_floating_point() else torch.float32
                          ).reshape(x_t.shape)
        exact_eps.__name__ = f"exact_eps_{self.name}"
        return exact_eps


# ---------------------------------------------------------------------------------------------
# Named data sets
# ---------------------------------------------------------------------------------------------
def point(x0: float = 5.0) -> GaussianMixture:
    """A single 1D value x0 (a point mass): the course's first example, x0 = 5."""
    return GaussianMixture([1.0], [[float(x0)]], stds=0.0, name=f"point x0={x0:g}")


def mixture_1d(weights=(0.3, 0.7), means=(-2.0, 3.0), stds=(0.5, 0.8)) -> GaussianMixture:
    """A 1D Gaussian mixture (two bumps by default)."""
    return GaussianMixture(weights, [[m] for m in means], stds=stds, name="mixture_1d")


def gaussian_2d(mean=(2.0, 2.0), std: float = 0.5) -> GaussianMixture:
    """One 2D Gaussian N(mean, std² I): the cloud N((2, 2), 0.5² I) of chapter 2."""
    return GaussianMixture([1.0], [list(mean)], stds=std, name="gaussian_2d")


def ring(n: int = 8, radius: float = 2.0, std: float = 0.2) -> GaussianMixture:
    """n equal Gaussians evenly spaced on a circle ("8 Gaussians")."""
    angles = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture(torch.ones(n), means, stds=std, name="ring")


def grid(n: int = 3, spacing: float = 1.5, std: float = 0.15) -> GaussianMixture:
    """n × n equal Gaussians on a square grid centred at the origin."""
    ticks = (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) * spacing
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture(torch.ones(n * n), torch.stack([gx.reshape(-1), gy.reshape(-1)], 1), stds=std, name="grid")


class SampledShape(Distribution):
    """A 2D shape known only through a sampler (no closed-form density)."""

    def __init__(self, name: str, sampler: Callable[[int, torch.Generator | None], torch.Tensor]):
        self.name, self._sampler, self.dim = name, sampler, 2

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self._sampler(_check_n(n), generator).to(torch.float32)


def moons(noise: float = 0.08, scale: float = 1.5) -> SampledShape:
    """Two interleaved half circles, centred and scaled to roughly [−2, 2]²."""
    def draw(n, gen):
        upper = torch.rand(n, generator=gen) < 0.5
        theta = torch.rand(n, generator=gen) * math.pi
        x = torch.where(upper, theta.cos(), 1 - theta.cos())
        y = torch.where(upper, theta.sin(), 0.5 - theta.sin())
        pts = torch.stack([x - 0.5, y - 0.25], 1) * scale
        return pts + noise * torch.randn((n, 2), generator=gen)
    return SampledShape("moons", draw)


def swiss_roll(noise: float = 0.05, scale: float = 0.15) -> SampledShape:
    """A 2D swiss roll (spiral), scaled to roughly [−2, 2]²."""
    def draw(n, gen):
        r = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=gen))
        pts = torch.stack([r * r.cos(), r * r.sin()], 1) * scale
        return pts + noise * torch.randn((n, 2), generator=gen)
    return SampledShape("swiss_roll", draw)


def checkerboard(cells: int = 4, size: float = 4.0) -> SampledShape:
    """Uniform on the dark squares of a cells × cells board spanning [−size/2, size/2]²."""
    def draw(n, gen):
        if cells % 2 == 0:
            # even board: moving a light square one column right (wrapping) lands on a dark one,
            # and every dark square is hit from exactly one light square, so this stays uniform.
            ij = torch.randint(0, cells, (n, 2), generator=gen)
            flip = (ij.sum(1) % 2 == 1)
            ij[flip, 1] = (ij[flip, 1] + 1) % cells
        else:
            # odd board: the wrap-around trick would land on light squares; pick a dark square directly.
            dark = torch.tensor([(i, j) for i in range(cells) for j in range(cells) if (i + j) % 2 == 0])
            ij = dark[torch.randint(0, dark.shape[0], (n,), generator=gen)]
        cell = size / cells
        return (ij + torch.rand((n, 2), generator=gen)) * cell - size / 2
    return SampledShape("checkerboard", draw)


_FACTORIES: dict[str, Callable[..., Distribution]] = {
    "point": point, "mixture_1d": mixture_1d, "gaussian_2d": gaussian_2d, "ring": ring, "grid": grid,
    "moons": moons, "swiss_roll": swiss_roll, "checkerboard": checkerboard,
}
#: Names accepted by :func:`make_distribution`.
DISTRIBUTION_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_distribution(name: str, **kwargs) -> Distribution:
    """Build a toy data set by name (see ``DISTRIBUTION_NAMES``); kwargs go to its factory."""
    if name not in _FACTORIES:
        raise unknown_name("distribution", name, DISTRIBUTION_NAMES)
    try:
        return _FACTORIES[name](**kwargs)
    except TypeError as err:
        raise TypeError(f"distribution {name!r} does not take {sorted(kwargs)}: {err}") from None


# ---------------------------------------------------------------------------------------------
# Labelled mixtures: exact conditional, unconditional and guided fields (chapter 6)
# ---------------------------------------------------------------------------------------------
class LabelledMixture(GaussianMixture):
    r"""A Gaussian mixture whose components carry class labels: p(x0, y) = Σ_{k: c_k = y} w_k N(μ_k, Σ_k).

    Everything classifier-free guidance needs is exact here, at every noise level t (code step; the
    same closed forms as :class:`GaussianMixture`, restricted to the components of one class):

    * the class prior p(y) = Σ_{k: c_k = y} w_k and p(x0 | y) (:meth:`conditional`);
    * the class posterior p_t(y | x_t) (:meth:`log_prob_y_given_x_t`) — the "classifier" that
      classifier guidance would need and classifier-free guidance never trains;
    * the conditional ε*(x_t, t, y) = −√(1−ᾱ_t) ∇ log p_t(x_t | y) (:meth:`eps_star_conditional`; the
      reserved label ∅ = ``null_label`` = C gives the unconditional ε*(x_t, t));
    * the guided field ε̃ = ε*(x_t, ∅) + w (ε*(x_t, y) − ε*(x_t, ∅)) (:meth:`eps_star_guided`), which
      is −√(1−ᾱ_t) ∇ log [p_t(x_t) p_t(y | x_t)^w]: the score of the **tilted** density
      p_t(x_t)^{1−w} p_t(x_t | y)^w ∝ p_t(x_t) p_t(y | x_t)^w (:meth:`tilted_log_prob_t`), which is
      p_t(x_t | y) only at w = 1. A negative prompt y⁻ takes the place of ∅:
      ε*(x_t, y⁻) + w (ε*(x_t, y) − ε*(x_t, y⁻)) is the score of p_t(x_t | y⁻)^{1−w} p_t(x_t | y)^w.

    ``t=None`` in the methods that accept it means the clean data x0 (ᾱ = 1). Exact samples of the
    tilted density come from :meth:`sample_tilted` (rejection sampling, for ∅ as the negative and
    w ≥ 0) and its normalised values on a 2D grid from :meth:`tilted_grid`.

    Args:
        weights, means, covs / stds: as :class:`GaussianMixture`.
        labels: (K,) the class 0..C−1 of each component; every class 0..C−1 must own a component.
        class_names: optional C names for legends.
    """

    def __init__(self, weights, means, labels, covs=None, stds=None, name: str = "labelled mixture",
                 class_names=None):
        super().__init__(weights, means, covs=covs, stds=stds, name=name)
        labels = torch.as_tensor(labels)
        if labels.dtype.is_floating_point or labels.dtype == torch.bool or labels.shape != (self.K,):
            raise ValueError(f"labels must be {self.K} integer class indices, one per component; "
                             f"got {tuple(labels.shape)} of {labels.dtype}.")
        labels = labels.long()
        C = int(labels.max()) + 1
        if int(labels.min()) < 0 or set(labels.tolist()) != set(range(C)):
            raise ValueError(f"labels must use every class 0..C−1 (each class owns a component) and nothing "
                             f"else; got {sorted(set(labels.tolist()))}.")
        self.labels, self.num_classes, self.null_label = labels, C, C
        self._member = torch.nn.functional.one_hot(labels, C).to(torch.float64)   # (K, C)
        if class_names is not None and len(class_names) != C:
            raise ValueError(f"class_names needs {C} names, got {len(class_names)}.")
        self.class_names = tuple(class_names) if class_names is not None else tuple(f"class {c}" for c in range(C))

    # -- data -----------------------------------------------------------------------------------
    def class_prior(self) -> torch.Tensor:
        """p(y) for y = 0..C−1, shape (C,)."""
        return self.weights @ self._member

    def conditional(self, y: int) -> GaussianMixture:
        """p(x0 | y) as a GaussianMixture (the components of class y, weights renormalised)."""
        y = self._class(y)
        keep = self.labels == y
        return GaussianMixture(self.weights[keep], self.means[keep], covs=self.covs[keep],
                               name=f"{self.name} | {self.class_names[y]}")

    def sample_labelled(self, n: int, generator: torch.Generator | None = None):
        """(x0 (n, d) float32, y (n,) long): draws from p(x0, y) (what ``train_eps_model`` calls)."""
        x, comp = self.sample(n, generator=generator, return_components=True)
        return x, self.labels[comp]

    # -- exact class posteriors and fields --------------------------------------------------------
    def _class(self, y, allow_null: bool = False) -> int:
        if isinstance(y, bool) or not isinstance(y, (int, torch.Tensor)) or (
                isinstance(y, torch.Tensor) and (y.numel() != 1 or y.is_floating_point())):
            raise TypeError(f"y must be one int class label, got {y!r}.")
        y = int(y)
        top = self.num_classes if allow_null else self.num_classes - 1
        if not 0 <= y <= top:
            extra = f" or {self.null_label} (∅, no label)" if allow_null else ""
            raise ValueError(f"y must be a class 0..{self.num_classes - 1}{extra}, got {y}.")
        return y

    def _labels_for(self, y, n: int) -> torch.Tensor:
        """y (None = ∅, an int, or (n,) ints in 0..C) as a LongTensor (n,)."""
        if y is None:
            return torch.full((n,), self.null_label, dtype=torch.long)
        if isinstance(y, torch.Tensor) and y.dim() >= 1 and (y.numel() != 1 or n == 1):
            if y.shape != (n,) or y.is_floating_point():
                raise ValueError(f"y must be an int or an integer tensor of shape ({n},), got {tuple(y.shape)} "
                                 f"of {y.dtype}.")
            y = y.detach().cpu().long()
            if bool(((y < 0) | (y > self.null_label)).any()):
                raise ValueError(f"labels must be in 0..{self.num_classes - 1} or {self.null_label} (∅).")
            return y
        return torch.full((n,), self._class(y, allow_null=True), dtype=torch.long)

    def _level(self, schedule, t, n: int) -> torch.Tensor:
        """ᾱ for each of n points: 1 for t=None (clean data), else from the schedule."""
        if t is None:
            return torch.ones(n, dtype=torch.float64)
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule (or pass t=None for clean data), "
                            f"got {type(schedule).__name__}.")
        return self._abar(schedule, t, n)

    def _class_log_joint(self, x: torch.Tensor, abar: torch.Tensor):
        """log p_t(x_t, y) per class (n, C), the component terms and solves (n, K), (n, K, d)."""
        logp, sol = self._components(x, abar)
        masked = logp[:, :, None] + torch.log(self._member)[None]                  # −inf off the class
        return torch.logsumexp(masked, dim=1), logp, sol

    def log_prob_y_given_x_t(self, schedule: NoiseSchedule | None, x_t, t) -> torch.Tensor:
        """Exact log p_t(y | x_t) for every class, shape (n, C) (t=None: log p(y | x0))."""
        x, dtype = self._points(x_t, keep_grad=True)
        joint, _, _ = self._class_log_joint(x, self._level(schedule, t, x.shape[0]))
        return (joint - torch.logsumexp(joint, dim=1, keepdim=True)).to(dtype)

    def _eps_by_label(self, x: torch.Tensor, abar: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """ε* of float64 points (n, d) given labels y (n,) in 0..C (C = ∅: every component counts)."""
        logp, sol = self._components(x, abar)
        member = torch.cat([self._member, torch.ones(self.K, 1, dtype=torch.float64)], dim=1)  # ∅ column
        resp = torch.softmax(logp + torch.log(member.T[y]), dim=1)                # r_k(x_t | y), (n, K)
        return (1 - abar).sqrt()[:, None] * (resp[:, :, None] * sol).sum(1)

    def eps_star_conditional(self, schedule: NoiseSchedule, x_t, t, y) -> torch.Tensor:
        r"""Exact ε*(x_t, t, y) = E[ε | x_t, y] = −√(1−ᾱ_t) ∇ log p_t(x_t | y), shape of x_t.

        ``y``: an int class, ``null_label`` (∅) or None for the unconditional ε*, or (n,) labels.
        The same formula as :meth:`GaussianMixture.eps_star` with the responsibilities r_k(x_t | y)
        taken over the components of class y only."""
        x, dtype = self._points(x_t)
        eps = self._eps_by_label(x, self._level(schedule, t, x.shape[0]), self._labels_for(y, x.shape[0]))
        return eps.to(dtype).reshape(as_tensor(x_t).shape)

    def eps_star_guided(self, schedule: NoiseSchedule, x_t, t, y, w: float, negative=None) -> torch.Tensor:
        r"""The exact guided field ε̃ = ε*(x_t, t, y⁻) + w (ε*(x_t, t, y) − ε*(x_t, t, y⁻)), y⁻ = ``negative``
        (default ∅: classifier-free guidance in the apps' convention; w = 0 unconditional, w = 1
        conditional). Equals −√(1−ᾱ_t) ∇ log of :meth:`tilted_log_prob_t`."""
        x, dtype = self._points(x_t)
        n, abar = x.shape[0], self._level(schedule, t, x.shape[0])
        eps_pos = self._eps_by_label(x, abar, self._labels_for(y, n))
        eps_neg = self._eps_by_label(x, abar, self._labels_for(negative, n))
        return (eps_neg + float(w) * (eps_pos - eps_neg)).to(dtype).reshape(as_tensor(x_t).shape)

    def conditional_eps_model(self, schedule: NoiseSchedule):
        """The exact ε*(x_t, t, y) as a callable with a conditional network's interface:
        ``f(x_t, t, y=None)`` (y None = ∅), with ``f.num_classes`` and ``f.null_label``, so
        :func:`diffusion_lab.guidance.guided_eps_model` guides it exactly like a trained model."""
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                            f"got {type(schedule).__name__}.")
        return _ExactConditionalEps(self, schedule)

    # -- the tilted density the guided field is the score of --------------------------------------
    def tilted_log_prob_t(self, schedule: NoiseSchedule | None, x_t, t, y, w: float, negative=None) -> torch.Tensor:
        r"""Unnormalised log of the density the guided field points up: (n,)

            log p̃_t(x_t) = (1 − w) log p_t(x_t | y⁻) + w log p_t(x_t | y)   (y⁻ = ``negative``, default ∅)

        With y⁻ = ∅ this is log p_t(x_t) + w log p_t(y | x_t) + const: the sharpened p(x_t)·p(y | x_t)^w,
        not p(x_t | y) (except at w = 1). Differentiable in ``x_t``. ``t=None``: the clean data."""
        x, dtype = self._points(x_t, keep_grad=True)
        n = x.shape[0]
        joint, logp, _ = self._class_log_joint(x, self._level(schedule, t, n))
        # column C (∅) holds the unconditional log p_t(x_t) with log p(∅) = 0
        joint = torch.cat([joint, torch.logsumexp(logp, dim=1, keepdim=True)], dim=1)        # (n, C + 1)
        log_prior = torch.cat([torch.log(self.class_prior()), torch.zeros(1, dtype=torch.float64)])

        def log_cond(label):                      # log p_t(x_t | c) = log p_t(x_t, c) − log p(c)
            c = self._labels_for(label, n)
            return joint.gather(1, c[:, None])[:, 0] - log_prior[c]

        return ((1 - float(w)) * log_cond(negative) + float(w) * log_cond(y)).to(dtype)

    def tilted_grid(self, schedule: NoiseSchedule | None, t, y, w: float, negative=None, lim: float = 3.0,
                    grid_n: int = 161):
        """The tilted density normalised on a 2D grid over [−lim, lim]²: returns (xs (G,), ys (G,),
        density (G, G) indexed [iy, ix], the grid's cell area). Its sum times the cell area is 1; the
        grid must hold nearly all the mass (a wider ``lim`` otherwise)."""
        if self.dim != 2:
            raise ValueError(f"tilted_grid is for 2D mixtures, this one has dim {self.dim}.")
        xs = torch.linspace(-lim, lim, grid_n, dtype=torch.float64)
        gy, gx = torch.meshgrid(xs, xs, indexing="ij")
        pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
        with torch.no_grad():
            logd = self.tilted_log_prob_t(schedule, pts, t, y, w, negative).double()
        cell = float(xs[1] - xs[0]) ** 2
        dens = torch.exp(logd - logd.max())
        dens = dens / (dens.sum() * cell)
        return xs, xs.clone(), dens.reshape(grid_n, grid_n), cell

    def sample_tilted(self, n: int, y: int, w: float, schedule: NoiseSchedule | None = None, t=None,
                      generator: torch.Generator | None = None, max_rounds: int = 1000) -> torch.Tensor:
        r"""Exact samples (n, d) of p̃_t(x) ∝ p_t(x) p_t(y | x)^w by rejection (t=None: the clean data).

        For w ≥ 1 propose from p_t(x | y) and accept with probability p_t(y | x)^{w−1}; for 0 ≤ w ≤ 1
        propose from p_t(x) and accept with probability p_t(y | x)^w (both ≤ 1, so the accepted points
        follow p̃_t exactly). w < 0 (an unbounded ratio) is not supported.
        """
        n = _check_n(n)
        y = self._class(y)
        w = float(w)
        if not w >= 0:
            raise ValueError(f"sample_tilted needs w ≥ 0 (got {w}); use tilted_grid for w < 0.")
        base = self if t is None else self.marginal(schedule, t)
        proposal = (LabelledMixture(base.weights, base.means, self.labels, covs=base.covs).conditional(y)
                    if w >= 1 else base)
        power = w - 1 if w >= 1 else w
        out, have = [], 0
        for _ in range(max_rounds):
            x = proposal.sample(max(2 * (n - have), 256), generator=generator).double()
            log_post = self.log_prob_y_given_x_t(schedule, x, t)[:, y].detach().double()
            keep = torch.rand(x.shape[0], generator=generator, dtype=torch.float64).log() < power * log_post
            out.append(x[keep])
            have += int(keep.sum())
            if have >= n:
                return torch.cat(out)[:n].to(torch.float32)
        raise RuntimeError(f"sample_tilted accepted only {have} of {n} points in {max_rounds} rounds "
                           f"(acceptance too low at w = {w}); use tilted_grid instead.")


class _ExactConditionalEps:
    """ε*(x_t, t, y) of a :class:`LabelledMixture` with a conditional network's call signature."""

    def __init__(self, mixture: LabelledMixture, schedule: NoiseSchedule):
        self.mixture, self.abar_all = mixture, schedule.alphas_cumprod
        self.num_classes, self.null_label = mixture.num_classes, mixture.null_label
        self.__name__ = f"exact_conditional_eps_{mixture.name}"

    def __call__(self, x_t: torch.Tensor, t, y=None) -> torch.Tensor:
        n = x_t.shape[0]
        x = x_t.detach().reshape(n, self.mixture.dim).to("cpu", torch.float64)
        t = torch.as_tensor(t).reshape(-1).cpu().long()
        abar = self.abar_all[t].expand(n) if t.numel() == 1 else self.abar_all[t]
        eps = self.mixture._eps_by_label(x, abar, self.mixture._labels_for(
            y if not (isinstance(y, torch.Tensor) and y.dim() == 0) else int(y), n))
        return eps.to(device=x_t.device, dtype=x_t.dtype if x_t.is_floating_point() else torch.float32
                      ).reshape(x_t.shape)


def labelled_ring(n: int = 8, classes: int = 4, radius: float = 2.0, std: float = 0.4) -> LabelledMixture:
    """A ring of ``n`` Gaussians (as :func:`ring`) with ``classes`` labels, each owning ``n // classes``
    neighbouring components (class c: components c·m … c·m + m − 1, m = n // classes).

    The default std 0.4 (twice :func:`ring`'s) makes neighbouring classes overlap, so p(y | x0) is
    not 0 or 1 everywhere and guidance has something to sharpen."""
    if classes < 1 or n % classes:
        raise ValueError(f"classes must divide n = {n} (each class owns n // classes neighbours), got {classes}.")
    base = ring(n, radius, std)
    labels = torch.arange(n) // (n // classes)
    return LabelledMixture(base.weights, base.means, labels, covs=base.covs, name=f"labelled ring ({classes} classes)")
