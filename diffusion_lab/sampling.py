r"""Reverse-process samplers, written as generators that yield every step.

One code path serves the final sample, a slider over the reverse steps, an animation and the tests:

    for step in ddpm_steps(eps_model, schedule, x_T): ...   # step.x_t, step.x0_pred, step.x_prev
    x0 = ddpm_sample(eps_model, schedule, (1000, 2))        # just the end

``eps_model(x_t, t)`` is any callable taking x_t (batch, ...) and a LongTensor t (batch,) and
returning ε̂ with x_t's shape: a trained network, or the exact ε* of a known mixture
(``GaussianMixture.eps_model``).

DDPM (Ho et al., 2020), one step from the maths' t to t−1 (code index k = t − 1 to k − 1):
    x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t
    x_{t−1} = μ̃_t(x̂0, x_t) + σ_t z,   σ_t² = β̃_t ("beta_tilde") or β_t ("beta"), no noise at t = 1 (code index 0).
DDIM (Song et al., 2021) over a descending subsequence τ, from τ_i = t to τ_{i+1} = s (s = −1: ᾱ = 1):
    σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1 − ᾱ_t/ᾱ_s)
    x_s = √ᾱ_s x̂0 + √(1−ᾱ_s−σ²) ε̂ + σ z.
With η = 1 over all T steps DDIM is DDPM with σ² = β̃_t.

The end section (chapter 7) writes sampling as the probability-flow ODE in σ: x̃ = x_t/√ᾱ_t = x0 + σ_t ε,
dx̃/dσ = ε̂, with Euler (= DDIM, η = 0), Heun, DPM-Solver++(2M) and Euler ancestral over uniform or Karras
grids (:func:`sigma_sampler_steps`), counted network calls, measured convergence orders, and Langevin dynamics.

Checks happen once, when a sampler is called; the step loops use per-step coefficients computed up
front and check only what the model returns (a diverging network fails on the step it diverges).
:func:`record` keeps every step of a run as numpy arrays (:class:`SamplingTrace`) for sliders.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from .schedules import NoiseSchedule
from .seeding import make_generator
from .validation import check_finite, check_num_steps, check_timestep, unknown_name

if TYPE_CHECKING:
    from .distributions import GaussianMixture

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: σ_t² of a DDPM step: the exact posterior variance β̃_t, the forward variance β_t, or none at all.
VARIANCES = ("beta_tilde", "beta", "zero")


@dataclass
class SamplerStep:
    """One reverse step: from x_t at code index ``t`` (the maths' t + 1) to x_prev at code index ``t_prev``
    (−1 means x0).

    x_t, x_prev, x0_pred (the x̂0 implied by ε̂) and eps (ε̂) all have the sample's shape;
    sigma is the standard deviation of the noise added in this step.
    """
    t: int
    t_prev: int
    x_t: torch.Tensor
    x_prev: torch.Tensor
    x0_pred: torch.Tensor
    eps: torch.Tensor
    sigma: float


def _check_call(eps_model, schedule, x_T) -> None:
    """Checks that run when a sampler is called (not at its first step), so a bad argument fails on
    the line that passed it."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                        f"got {type(schedule).__name__}.")
    if not callable(eps_model):
        raise TypeError(f"eps_model must be a callable eps_model(x_t, t) -> ε̂, got {type(eps_model).__name__}.")
    if isinstance(x_T, torch.Tensor):
        check_finite(x_T, "x_T")
    elif not (isinstance(x_T, (tuple, list, torch.Size)) and all(isinstance(n, int) for n in x_T)):
        raise TypeError(f"x_T must be a tensor of starting noise or a shape tuple like (1000, 2), "
                        f"got {type(x_T).__name__}.")


def _initial_x(x_T, generator, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """x_T as a float tensor (already checked by :func:`_check_call`), or fresh noise of that shape."""
    if isinstance(x_T, torch.Tensor):
        return x_T if x_T.is_floating_point() else x_T.to(dtype)
    return torch.randn(tuple(x_T), generator=generator, dtype=dtype, device=device)


def predict_eps(eps_model: EpsModel, x_t: torch.Tensor, t) -> torch.Tensor:
    """ε̂ = eps_model(x_t, t) without gradients, with t (an int or a LongTensor (batch,)) as a batch.

    The one place a model is called for a prediction: it checks that the model returned a finite tensor
    of x_t's shape (the boundary between the course's code and any network or callable) and returns it
    in x_t's dtype.
    """
    t_batch = (torch.full((x_t.shape[0],), int(t), dtype=torch.long, device=x_t.device)
               if not isinstance(t, torch.Tensor) else t)
    with torch.no_grad():
        eps = eps_model(x_t, t_batch)
    if not isinstance(eps, torch.Tensor) or eps.shape != x_t.shape:
        shape = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ValueError(f"eps_model returned {shape} for x_t of shape {tuple(x_t.shape)}: it must return a "
                         f"noise prediction ε̂ with exactly x_t's shape.")
    where = f" at code index {t} (the maths' t = {t + 1})" if not isinstance(t, torch.Tensor) else ""
    check_finite(eps, "eps_model output" + where)
    return eps.to(x_t.dtype)


def _x0_and_eps(x_t, eps, sqrt_recip_abar: float, sqrt_recipm1_abar: float, clip_x0):
    """x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t; with ``clip_x0`` x̂0 is clamped and ε̂ made consistent with it."""
    x0_pred = sqrt_recip_abar * x_t - sqrt_recipm1_abar * eps
    if clip_x0 is not None:
        x0_pred = x0_pred.clamp(-clip_x0, clip_x0)
        eps = (sqrt_recip_abar * x_t - x0_pred) / sqrt_recipm1_abar
    return x0_pred, eps


def ddpm_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, variance: str = "beta_tilde",
               generator: torch.Generator | None = None, clip_x0: float | None = None,
               t_start: int | None = None) -> Iterator[SamplerStep]:
    r"""Ancestral DDPM sampling, yielding a :class:`SamplerStep` for code indices k = t_start, …, 0
    (the maths' t = k + 1).

    Args:
        x_T: starting noise (batch, ...) or a shape to draw it with ``generator``.
        variance: "beta_tilde" (σ_t² = β̃_t, the exact posterior variance), "beta" (σ_t² = β_t), or
            "zero" (σ_t = 0: every step lands on the posterior mean; see :func:`ddpm_mean_steps`).
        clip_x0: clamp x̂0 to [−clip_x0, clip_x0] (1.0 for images in [−1, 1]); None for none.
        t_start: code index of the first step (default T−1, the maths' t = T); x_T is then taken to be a
            sample at that step.
    """
    # validate now (this is not a generator function), step lazily in _ddpm_loop
    _check_call(eps_model, schedule, x_T)
    if variance not in VARIANCES:
        raise unknown_name("variance", variance, VARIANCES)
    t_start = schedule.T - 1 if t_start is None else check_timestep(t_start, schedule.T, "t_start")
    return _ddpm_loop(eps_model, schedule, x_T, variance, generator, clip_x0, t_start)


def ddpm_mean_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, **kwargs) -> Iterator[SamplerStep]:
    r"""DDPM with σ_t = 0: x_{t−1} = μ̃_t(x̂0, x_t), no noise added back — ``ddpm_steps(..., variance="zero")``.

    Not a correct sampler, and shown for that reason: each step lands on the *average* of where
    x_{t−1} could be, so the spread the noise should keep is lost step after step and the samples
    shrink towards the middles of the modes. (DDIM with η = 0 is also noise-free but keeps the spread:
    it re-noises x̂0 along the predicted ε̂ with √(1−ᾱ_{t−1}) instead of taking the posterior mean.)
    """
    return ddpm_steps(eps_model, schedule, x_T, variance="zero", **kwargs)


def _ddpm_loop(eps_model, schedule, x_T, variance, generator, clip_x0, t_start) -> Iterator[SamplerStep]:
    x = _initial_x(x_T, generator)
    # per-step coefficients as python floats, computed once (float64 schedule → exact to round-off)
    c_x0 = schedule.sqrt_recip_alphas_cumprod.tolist()
    c_eps = schedule.sqrt_recipm1_alphas_cumprod.tolist()
    mean_x0 = schedule.posterior_mean_coef1.tolist()
    mean_xt = schedule.posterior_mean_coef2.tolist()
    var = {"beta_tilde": schedule.posterior_variance, "beta": schedule.betas,
           "zero": torch.zeros_like(schedule.betas)}[variance].tolist()
    for t in range(t_start, -1, -1):
        eps = predict_eps(eps_model, x, t)
        x0_pred, eps = _x0_and_eps(x, eps, c_x0[t], c_eps[t], clip_x0)
        mean = mean_x0[t] * x0_pred + mean_xt[t] * x            # μ̃_t(x̂0, x_t)
        sigma = var[t] ** 0.5 if t > 0 else 0.0
        if sigma > 0:
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x_prev = mean + sigma * noise
        else:
            x_prev = mean
        yield SamplerStep(t=t, t_prev=t - 1, x_t=x, x_prev=x_prev, x0_pred=x0_pred, eps=eps, sigma=sigma)
        x = x_prev


def ddim_timesteps(T: int, num_steps: int) -> list[int]:
    """The descending code steps DDIM visits: ``num_steps`` values from T−1 down to 0, evenly spaced."""
    T = check_num_steps(T)
    num_steps = check_num_steps(num_steps)
    if num_steps > T:
        raise ValueError(f"num_steps = {num_steps} exceeds T = {T}: DDIM visits each of the T steps at most "
                         f"once. Use num_steps ≤ {T} (e.g. 50).")
    grid = torch.linspace(T - 1, 0, num_steps, dtype=torch.float64).round().long().tolist()
    return list(dict.fromkeys(grid))  # strictly decreasing, starts at T−1, ends at 0


def ddim_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, num_steps: int = 50, eta: float = 0.0,
               generator: torch.Generator | None = None, clip_x0: float | None = None,
               timesteps: Sequence[int] | None = None) -> Iterator[SamplerStep]:
    r"""DDIM sampling over ``num_steps`` of the T steps (or explicit descending ``timesteps``).

    eta = 0 is deterministic; eta = 1 with all T steps is DDPM with σ² = β̃_t.
    """
    _check_call(eps_model, schedule, x_T)
    if not 0.0 <= float(eta) <= 1.0:
        raise ValueError(f"eta must lie in [0, 1] (0: deterministic DDIM, 1: DDPM-like noise), got {eta}.")
    taus = list(timesteps) if timesteps is not None else ddim_timesteps(schedule.T, num_steps)
    if not taus:
        raise ValueError("timesteps is empty: give descending code steps such as ddim_timesteps(T, 50).")
    for t in taus:
        check_timestep(int(t), schedule.T, "timesteps")
    if any(a <= b for a, b in zip(taus, taus[1:])):
        raise ValueError(f"timesteps must be strictly decreasing (from high t down to 0), got {taus[:8]}"
                         f"{'...' if len(taus) > 8 else ''}. Sort them descending without repeats, or use "
                         f"ddim_timesteps(T, num_steps).")
    return _ddim_loop(eps_model, schedule, x_T, [int(t) for t in taus], float(eta), generator, clip_x0)


def _ddim_loop(eps_model, schedule, x_T, taus, eta, generator, clip_x0) -> Iterator[SamplerStep]:
    x = _initial_x(x_T, generator)
    abar = schedule.alphas_cumprod.tolist()
    for i, t in enumerate(taus):
        s = taus[i + 1] if i + 1 < len(taus) else -1
        eps = predict_eps(eps_model, x, t)
        a_t = abar[t]
        a_s = abar[s] if s >= 0 else 1.0
        x0_pred, eps = _x0_and_eps(x, eps, a_t ** -0.5, (1.0 / a_t - 1.0) ** 0.5, clip_x0)
        sigma = eta * ((1 - a_s) / (1 - a_t) * (1 - a_t / a_s)) ** 0.5
        direction = max(1.0 - a_s - sigma**2, 0.0) ** 0.5
        x_prev = a_s ** 0.5 * x0_pred + direction * eps
        if s >= 0:   # drawn even when σ = 0 (η = 0), so the generator's stream does not depend on η
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
            x_prev = x_prev + sigma * noise
        yield SamplerStep(t=t, t_prev=s, x_t=x, x_prev=x_prev, x0_pred=x0_pred, eps=eps, sigma=sigma)
        x = x_prev


def final(steps: Iterator[SamplerStep]) -> torch.Tensor:
    """Run a sampler to the end and return the last x_prev (the generated x0)."""
    last = None
    for step in steps:
        last = step
    if last is None:
        raise ValueError("the sampler yielded no steps")
    return last.x_prev


def ddpm_sample(eps_model: EpsModel, schedule: NoiseSchedule, x_T, **kwargs) -> torch.Tensor:
    """Generated x0 from :func:`ddpm_steps` (same arguments)."""
    return final(ddpm_steps(eps_model, schedule, x_T, **kwargs))


def ddim_sample(eps_model: EpsModel, schedule: NoiseSchedule, x_T, **kwargs) -> torch.Tensor:
    """Generated x0 from :func:`ddim_steps` (same arguments)."""
    return final(ddim_steps(eps_model, schedule, x_T, **kwargs))


# ---------------------------------------------------------------------------------------------
# Recording a run for sliders and figures
# ---------------------------------------------------------------------------------------------
@dataclass
class SamplingTrace:
    """Every recorded step of one sampling run, as float32 numpy arrays.

    Attributes:
        ts: (S,) code steps, descending; entry k is the step whose x_t is ``x_t[k]``.
        x_t: (S, N, ...) the current sample before step ``ts[k]`` is undone.
        x0_pred: (S, N, ...) the model's x̂0 from x_t[k] (the best guess of the clean data).
        x_final: (N, ...) the finished sample (after t = 0).
        sigmas: (S,) standard deviation of the noise added back at each step.
        label: what produced it ("DDPM, σ² = β̃_t", ...).
    """

    ts: np.ndarray
    x_t: np.ndarray
    x0_pred: np.ndarray
    x_final: np.ndarray
    sigmas: np.ndarray
    label: str = ""

    @property
    def num_calls(self) -> int:
        """Network evaluations the run needed (one per step)."""
        return int(len(self.ts))

    def index(self, t: int) -> int:
        """Index of the recorded step whose code step is closest to ``t``."""
        return int(np.argmin(np.abs(self.ts - int(t))))

    def at(self, t: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(recorded t, x_t, x̂0) nearest to code step ``t``."""
        k = self.index(t)
        return int(self.ts[k]), self.x_t[k], self.x0_pred[k]


def _numpy32(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


def record(steps: Iterable[SamplerStep], label: str = "", every: int = 1) -> SamplingTrace:
    """Run a sampler generator to the end, keeping x_t and x̂0 of every ``every``-th step (and the last).

    ``record(dl.ddpm_steps(eps_model, schedule, x_T, generator=gen))`` runs the sampler once; a
    slider over the reverse steps then just indexes the arrays.
    """
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int (keep every k-th step), got {every!r}.")
    ts, xs, x0s, sig = [], [], [], []
    last = None
    for i, step in enumerate(steps):
        last = step
        if i % every == 0 or step.t_prev < 0:
            ts.append(step.t)
            xs.append(_numpy32(step.x_t))
            x0s.append(_numpy32(step.x0_pred))
            sig.append(step.sigma)
    if last is None:
        raise ValueError("the sampler yielded no steps.")
    return SamplingTrace(ts=np.asarray(ts), x_t=np.stack(xs), x0_pred=np.stack(x0s),
                         x_final=_numpy32(last.x_prev), sigmas=np.asarray(sig, dtype=np.float64), label=label)


# =============================================================================================
# σ-space samplers: the probability-flow ODE and the samplers image apps name
# =============================================================================================
# Divide x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε by √ᾱ_t and the forward process becomes "data plus noise of
# level σ" (Karras et al., 2022):
#
#     x̃ = x_t/√ᾱ_t = x0 + σ_t ε,      σ_t = √((1−ᾱ_t)/ᾱ_t).
#
# One meaning of σ_t everywhere, the maths' t = 0..T: σ_0 = 0 is the data itself (ᾱ_0 = 1), σ_1 ≈ 0.01
# is the lowest level a network knows and σ_T = σ_1000 ≈ 157 the highest (linear schedule, T = 1000).
# In code, σ_t sits at index t − 1 (``sigmas_of(schedule)[t - 1]``), like ᾱ_t.
#
# The probability-flow ODE, the deterministic process with the same marginals as the forward one,
# is in this variable simply
#
#     dx̃/dσ = ε̂(x̃, σ),   ε̂ = eps_model(x_t = x̃/√(1+σ²) = √ᾱ_t x̃, t),
#
# and x̂0 = x̃ − σ ε̂. Why: q_σ = p0 ∗ N(0, σ²I) solves ∂q/∂σ = σ Δq = −∇·(q v) with v = −σ ∇log q_σ,
# and ε* = −σ ∇log q_σ (Tweedie in x̃), so moving every point with velocity ε* carries q_σ to q_σ'.
# An ODE solver walks σ down a grid σ_{t_0} > σ_{t_1} > … > σ_{t_{N−1}} > 0.
# Euler's method on it is DDIM with η = 0, step for step: x̃_s = x̃_t + (σ_s − σ_t) ε̂ = x̂0 + σ_s ε̂.
#
# Which t the network sees. A network knows only the T levels σ_1 < … < σ_T (code indices 0..T−1),
# so every sampler here evaluates ε̂ only at those levels: its grid is a list of code indices, and the
# solver steps exactly from σ_t to σ_s. A spacing defined in σ (Karras' ρ = 7 grid) is mapped onto
# code indices by one rule, :func:`sigma_to_t`: the index is interpolated linearly against log σ between
# the schedule's levels, then rounded to the nearest index (repeats removed, so a fine grid can lose
# steps). The last step of every sampler goes from the last index of its grid (0, i.e. σ_1, for the
# built-in grids) to σ_0 = 0, i.e. to x0.
#
# Cost: one network call (NFE) per evaluation, counted as it happens (``SigmaStep.nfe``): N steps
# cost N calls for Euler, Euler ancestral and DPM-Solver++(2M), and 2N − 1 for Heun (its second
# evaluation would be at σ = 0, where there is no network, so the last step is an Euler step).

#: Timestep spacings: evenly spaced code steps (DDIM's grid) or Karras et al.'s grid in σ.
SIGMA_SPACINGS = ("uniform", "karras")
#: Karras et al.'s ρ: σ_i^{1/ρ} is evenly spaced, so steps crowd towards small σ (ρ = 7 in the paper).
KARRAS_RHO = 7.0


@dataclass
class SigmaStep(SamplerStep):
    """A :class:`SamplerStep` of a σ-space sampler, plus where it stepped in σ and what it cost.

    x_t, x_prev, x0_pred and eps are in the usual x-space (x_t = √ᾱ_t x̃); ``sigma`` is the standard
    deviation of the fresh noise added to x_prev (0 for the ODE samplers). ``sigma_t``/``sigma_s``: the
    noise levels σ of x_t and of x_prev (σ_s = 0 on the last step); ``nfe``: network calls so far,
    this step included.
    """
    sigma_t: float
    sigma_s: float
    nfe: int


def sigmas_of(schedule: NoiseSchedule) -> torch.Tensor:
    """σ_t = √((1−ᾱ_t)/ᾱ_t) for the maths' steps t = 1..T at code indices 0..T−1 (float64, strictly
    increasing from σ_1 to σ_T): the noise level of x̃ = x_t/√ᾱ_t = x0 + σ_t ε. σ_0 = 0 (the data) is not
    listed: no network is evaluated there."""
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                        f"got {type(schedule).__name__}.")
    return schedule.sqrt_recipm1_alphas_cumprod.clone()


def sigma_to_t(schedule: NoiseSchedule, sigma) -> np.ndarray:
    """Continuous code index of noise level(s) ``sigma``: interpolated linearly against log σ between the
    schedule's levels (σ_t ↦ t − 1 exactly, the code index of step t). Round it to get a code index a
    network can take.

    Raises ValueError for σ outside [σ_1, σ_T], the lowest and highest levels the network was trained on
    (σ_0 = 0, the data, is reached by a sampler's last step, never by the network).
    """
    levels = sigmas_of(schedule).numpy()
    s = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    lo, hi = levels[0] * (1 - 1e-12), levels[-1] * (1 + 1e-12)
    if not np.all(np.isfinite(s)) or s.min() < lo or s.max() > hi:
        raise ValueError(f"σ must lie in [σ_1, σ_T] = [{levels[0]:.4g}, {levels[-1]:.4g}] for this schedule, "
                         f"got values in [{s.min():.4g}, {s.max():.4g}]: a network knows only the levels it was "
                         f"trained on. Clip σ into that range.")
    return np.interp(np.log(s), np.log(levels), np.arange(len(levels), dtype=np.float64))


def karras_sigmas(sigma_max: float, sigma_min: float, num_steps: int, rho: float = KARRAS_RHO) -> np.ndarray:
    """Karras et al.'s noise levels, descending: σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,
    i = 0..N−1 (from σ_max to σ_min; the final step to σ = 0 is not listed)."""
    num_steps = check_num_steps(num_steps)
    if not rho > 0:
        raise ValueError(f"rho must be positive (Karras et al. use 7), got {rho}.")
    if not 0 < sigma_min <= sigma_max:
        raise ValueError(f"need 0 < sigma_min ≤ sigma_max, got sigma_min = {sigma_min}, sigma_max = {sigma_max}.")
    if num_steps == 1:
        return np.array([float(sigma_max)])
    ramp = np.linspace(0.0, 1.0, num_steps)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def sigma_timesteps(schedule: NoiseSchedule, num_steps: int, spacing: str = "karras",
                    rho: float = KARRAS_RHO) -> list[int]:
    """The descending code steps a σ-space sampler evaluates ε̂ at, from T−1 down to 0.

    ``uniform``: evenly spaced code steps, exactly :func:`ddim_timesteps` (so Euler and DDIM share a grid).
    ``karras``: :func:`karras_sigmas` from σ_T to σ_1 (code indices T−1 and 0), mapped to code indices by
    :func:`sigma_to_t` and rounded; steps that round onto the same index are merged, so a fine Karras grid
    can have fewer than ``num_steps`` entries (80 → 79, 160 → 156 and 100 → 99 for the linear schedule,
    T = 1000; the samplers count the calls they really make).
    """
    if spacing not in SIGMA_SPACINGS:
        raise unknown_name("spacing", spacing, SIGMA_SPACINGS)
    if spacing == "uniform":
        return ddim_timesteps(schedule.T, num_steps)
    num_steps = check_num_steps(num_steps)
    levels = sigmas_of(schedule)
    sig = karras_sigmas(float(levels[-1]), float(levels[0]), num_steps, rho)
    ts = np.rint(sigma_to_t(schedule, np.clip(sig, float(levels[0]), float(levels[-1])))).astype(int).tolist()
    return list(dict.fromkeys(ts))


def _sigma_grid(schedule: NoiseSchedule, num_steps: int, spacing: str, timesteps) -> list[int]:
    """The checked descending code steps of one σ-space run (explicit ``timesteps`` win)."""
    if timesteps is None:
        return sigma_timesteps(schedule, num_steps, spacing)
    taus = [int(t) for t in timesteps]
    if not taus:
        raise ValueError("timesteps is empty: give descending code steps such as sigma_timesteps(schedule, 20).")
    for t in taus:
        check_timestep(t, schedule.T, "timesteps")
    if any(a <= b for a, b in zip(taus, taus[1:])):
        raise ValueError(f"timesteps must be strictly decreasing (from high t down to 0), got {taus[:8]}"
                         f"{'...' if len(taus) > 8 else ''}. Use sigma_timesteps(schedule, num_steps, spacing).")
    return taus


class _ScaledDenoiser:
    """ε̂ and x̂0 at a scaled sample x̃ and code step t, counting network calls.

    The model sees x_t = √ᾱ_t x̃; x̂0 = x̃ − σ_t ε̂ (with ``clip_x0``: x̂0 clamped, ε̂ made consistent).
    """

    def __init__(self, eps_model: EpsModel, schedule: NoiseSchedule, clip_x0: float | None):
        self.eps_model, self.clip_x0 = eps_model, clip_x0
        self.sigma = schedule.sqrt_recipm1_alphas_cumprod.tolist()      # σ_t
        self.scale = schedule.sqrt_alphas_cumprod.tolist()              # √ᾱ_t = 1/√(1+σ_t²)
        self.calls = 0

    def __call__(self, x_tilde: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        eps = predict_eps(self.eps_model, self.scale[t] * x_tilde, t)
        self.calls += 1
        x0 = x_tilde - self.sigma[t] * eps
        if self.clip_x0 is not None:
            x0 = x0.clamp(-self.clip_x0, self.clip_x0)
            eps = (x_tilde - x0) / self.sigma[t]
        return eps, x0

    def level(self, s: int) -> tuple[float, float]:
        """(σ_s, √ᾱ_s) of code step s; s = −1 is the data itself: (0, 1)."""
        return (self.sigma[s], self.scale[s]) if s >= 0 else (0.0, 1.0)


def _sigma_call(eps_model, schedule, x_T, num_steps, spacing, timesteps, clip_x0, generator):
    """Checks shared by the σ-space samplers; returns (denoiser, code steps, x_T as a tensor)."""
    _check_call(eps_model, schedule, x_T)
    if clip_x0 is not None and not float(clip_x0) > 0:
        raise ValueError(f"clip_x0 must be a positive number (1.0 for images in [−1, 1]) or None, got {clip_x0}.")
    taus = _sigma_grid(schedule, num_steps, spacing, timesteps)
    return _ScaledDenoiser(eps_model, schedule, clip_x0), taus, _initial_x(x_T, generator)


def _sigma_step(den: _ScaledDenoiser, t: int, s: int, x: torch.Tensor, x_next_tilde: torch.Tensor,
                x0: torch.Tensor, eps: torch.Tensor, noise_std: float = 0.0) -> SigmaStep:
    sigma_s, scale_s = den.level(s)
    return SigmaStep(t=t, t_prev=s, x_t=x, x_prev=scale_s * x_next_tilde, x0_pred=x0, eps=eps,
                     sigma=scale_s * noise_std, sigma_t=den.sigma[t], sigma_s=sigma_s, nfe=den.calls)


def euler_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, num_steps: int = 20, spacing: str = "karras",
                timesteps: Sequence[int] | None = None, clip_x0: float | None = None,
                generator: torch.Generator | None = None) -> Iterator[SigmaStep]:
    r"""Euler's method on the probability-flow ODE dx̃/dσ = ε̂: x̃_s = x̃_t + (σ_s − σ_t) ε̂(x̃_t, σ_t).

    First order (global error ∝ 1/N); one network call per step. With ``spacing="uniform"`` it is
    DDIM with η = 0 on the same grid, to round-off.

    Args (the same for every σ-space sampler):
        x_T: starting noise (batch, ...) at code step T−1, or a shape to draw it with ``generator``.
        num_steps, spacing: the grid, :func:`sigma_timesteps` (``"karras"`` or ``"uniform"``).
        timesteps: explicit descending code steps instead (they win over num_steps and spacing).
        clip_x0: clamp x̂0 to [−clip_x0, clip_x0] (1.0 for images) and make ε̂ consistent; None for none.
    Yields one :class:`SigmaStep` per step (x_prev of the last one is the generated x0).
    """
    den, taus, x = _sigma_call(eps_model, schedule, x_T, num_steps, spacing, timesteps, clip_x0, generator)
    return _euler_loop(den, taus, x)


def _euler_loop(den, taus, x) -> Iterator[SigmaStep]:
    xt = x / den.scale[taus[0]]
    for i, t in enumerate(taus):
        s = taus[i + 1] if i + 1 < len(taus) else -1
        eps, x0 = den(xt, t)
        x_next = xt + (den.level(s)[0] - den.sigma[t]) * eps
        step = _sigma_step(den, t, s, x, x_next, x0, eps)
        yield step
        x, xt = step.x_prev, x_next


def heun_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, num_steps: int = 20, spacing: str = "karras",
               timesteps: Sequence[int] | None = None, clip_x0: float | None = None,
               generator: torch.Generator | None = None) -> Iterator[SigmaStep]:
    r"""Heun's method (Karras et al. 2022, Algorithm 1, deterministic): an Euler step to σ_s as a trial,
    then the average of the slopes at both ends,

        x̃' = x̃_t + (σ_s − σ_t) ε̂(x̃_t, σ_t),    x̃_s = x̃_t + (σ_s − σ_t)·½(ε̂(x̃_t, σ_t) + ε̂(x̃', σ_s)).

    Second order (global error ∝ 1/N²); two calls per step, except the last step to σ = 0, which is a
    plain Euler step (there is no network at σ = 0): N steps cost 2N − 1 calls.
    """
    den, taus, x = _sigma_call(eps_model, schedule, x_T, num_steps, spacing, timesteps, clip_x0, generator)
    return _heun_loop(den, taus, x)


def _heun_loop(den, taus, x) -> Iterator[SigmaStep]:
    xt = x / den.scale[taus[0]]
    for i, t in enumerate(taus):
        s = taus[i + 1] if i + 1 < len(taus) else -1
        eps, x0 = den(xt, t)
        h = den.level(s)[0] - den.sigma[t]
        x_next = xt + h * eps
        if s >= 0:                                    # the correction needs ε̂ at σ_s > 0
            eps_end, _ = den(x_next, s)
            x_next = xt + h * 0.5 * (eps + eps_end)
        step = _sigma_step(den, t, s, x, x_next, x0, eps)
        yield step
        x, xt = step.x_prev, x_next


def dpmpp_2m_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, num_steps: int = 20, spacing: str = "karras",
                   timesteps: Sequence[int] | None = None, clip_x0: float | None = None,
                   generator: torch.Generator | None = None) -> Iterator[SigmaStep]:
    r"""DPM-Solver++(2M) (Lu et al., 2022), one network call per step, second order.

    Written with x̂0, the ODE is dx̃/dσ = (x̃ − x̂0)/σ, i.e. d(x̃/σ)/dσ = −x̂0/σ². Its linear part is
    integrated exactly: with λ = −log σ and h = λ_s − λ_t = log(σ_t/σ_s),

        x̃_s = (σ_s/σ_t) x̃_t + ∫_{λ_t}^{λ_s} e^{λ−λ_s} x̂0(λ) dλ = (σ_s/σ_t) x̃_t + (1 − σ_s/σ_t)·⟨x̂0⟩,

    ⟨x̂0⟩ an average of x̂0 over the step (weights e^{λ−λ_s}). This is exact when x̂0 is constant (then it
    is the Euler/DDIM step). The x̂0 integral is only approximated: ⟨x̂0⟩ ≈ D, the straight line (in λ)
    through the last two x̂0 read at the middle of the step, λ_t + h/2. With r = h_prev/h:

        D = (1 + 1/(2r)) x̂0_t − 1/(2r) x̂0_prev.

    Even for an x̂0 that really is linear in λ the step is not exact (the exact weighted average sits past
    the middle); the two differ by O(h³) per step (see :func:`exact_flow_step`). The first step (no x̂0_prev
    yet) uses D = x̂0_t, an Euler/DDIM step; the last step to σ = 0 lands on x̂0_t. One step is
    :func:`dpmpp_2m_update`.
    """
    den, taus, x = _sigma_call(eps_model, schedule, x_T, num_steps, spacing, timesteps, clip_x0, generator)
    return _dpmpp_2m_loop(den, taus, x)


def _dpmpp_2m_loop(den, taus, x) -> Iterator[SigmaStep]:
    xt = x / den.scale[taus[0]]
    x0_prev, sigma_prev = None, None
    for i, t in enumerate(taus):
        s = taus[i + 1] if i + 1 < len(taus) else -1
        eps, x0 = den(xt, t)
        sigma_t, sigma_s = den.sigma[t], den.level(s)[0]
        x_next = _dpmpp_2m(xt, sigma_t, sigma_s, x0, sigma_prev, x0_prev)
        sigma_prev, x0_prev = sigma_t, x0
        step = _sigma_step(den, t, s, x, x_next, x0, eps)
        yield step
        x, xt = step.x_prev, x_next


def _dpmpp_2m(x_tilde, sigma_t, sigma_s, x0_t, sigma_prev, x0_prev):
    """One DPM-Solver++(2M) step, unchecked (the loop's inner call; see :func:`dpmpp_2m_update`)."""
    if sigma_s == 0:
        return x0_t
    d = x0_t
    if x0_prev is not None:
        r = math.log(sigma_prev / sigma_t) / math.log(sigma_t / sigma_s)        # h_prev / h
        d = (1 + 1 / (2 * r)) * x0_t - (1 / (2 * r)) * x0_prev
    ratio = sigma_s / sigma_t
    return ratio * x_tilde + (1 - ratio) * d


def dpmpp_2m_update(x_tilde, sigma_t: float, sigma_s: float, x0_t, sigma_prev: float | None = None, x0_prev=None):
    r"""One DPM-Solver++(2M) step of the scaled sample x̃ from σ_t down to σ_s (σ_s = 0: returns x̂0_t).

    x̂0_t is the network's x̂0 at (x̃_t, σ_t); ``sigma_prev``/``x0_prev`` the level and x̂0 of the previous
    step (None on the first step, which is then the Euler/DDIM step). See :func:`dpmpp_2m_steps` for
    the derivation: x̃_s = (σ_s/σ_t) x̃_t + (1 − σ_s/σ_t)·D, D the line through the last two x̂0 (in
    λ = −log σ) read at the middle of the step. Works on floats, numpy arrays and tensors.
    """
    sigma_t, sigma_s = float(sigma_t), float(sigma_s)
    if not sigma_t > sigma_s >= 0:
        raise ValueError(f"need σ_t > σ_s ≥ 0 (sampling lowers the noise level), got σ_t = {sigma_t}, "
                         f"σ_s = {sigma_s}.")
    if (sigma_prev is None) != (x0_prev is None):
        raise ValueError("give both sigma_prev and x0_prev (the previous step's level and x̂0), or neither "
                         "(the first step).")
    if sigma_prev is not None and not float(sigma_prev) > sigma_t:
        raise ValueError(f"the previous level must be above σ_t: got sigma_prev = {sigma_prev}, σ_t = {sigma_t}.")
    return _dpmpp_2m(x_tilde, sigma_t, sigma_s, x0_t, None if sigma_prev is None else float(sigma_prev), x0_prev)


def exact_flow_step(x_tilde, sigma_t: float, sigma_s: float, x0_of_lambda: Callable, points: int = 2001):
    r"""The exact step of dx̃/dσ = (x̃ − x̂0)/σ from σ_t down to σ_s > 0 when x̂0 is a known function of
    λ = −log σ: x̃_s = (σ_s/σ_t) x̃_t + ∫_{λ_t}^{λ_s} e^{λ−λ_s} x̂0(λ) dλ, the integral by Simpson's rule on
    ``points`` (odd) nodes (error ∝ h⁵/points⁴: ~1e-14 for the chapter's h = 1).

    ``x0_of_lambda`` maps a float λ to x̂0 (a float or an array). It measures what DPM-Solver++(2M)
    leaves out: for x̂0(λ) = λ, h = h_prev = 1 and x̃_t = 1 the exact step gives 2/e ≈ 0.736, DPM++(2M)
    e^{−1} + (1 − e^{−1})/2 ≈ 0.684.
    """
    sigma_t, sigma_s = float(sigma_t), float(sigma_s)
    if not sigma_t > sigma_s > 0:
        raise ValueError(f"need σ_t > σ_s > 0 (λ = −log σ must be finite), got σ_t = {sigma_t}, σ_s = {sigma_s}.")
    if points < 3 or points % 2 == 0:
        raise ValueError(f"points must be odd and at least 3 (Simpson's rule), got {points}.")
    lam_t, lam_s = -math.log(sigma_t), -math.log(sigma_s)
    lams = np.linspace(lam_t, lam_s, points)
    weights = np.ones(points)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    weights *= (lam_s - lam_t) / (3 * (points - 1)) * np.exp(lams - lam_s)
    integral = sum(w * np.asarray(x0_of_lambda(float(lam)), dtype=np.float64) for w, lam in zip(weights, lams))
    return sigma_s / sigma_t * np.asarray(x_tilde, dtype=np.float64) + integral


def ancestral_sigmas(sigma_t: float, sigma_s: float, eta: float = 1.0) -> tuple[float, float]:
    r"""(σ_up, σ_down) of one Euler-ancestral step from σ_t down to σ_s:

        σ_up = min(σ_s, η σ_s √(σ_t² − σ_s²)/σ_t),   σ_down = √(σ_s² − σ_up²).

    σ_up² with η = 1 is the variance of x̃_s given x̃_t and x0 (x̃_s = x0 + σ_s ε, x̃_t = x̃_s + independent
    noise of variance σ_t² − σ_s²): DDPM's step in σ. σ_down² + σ_up² = σ_s²: the deterministic part lands
    at level σ_down and the fresh noise tops it up to σ_s. σ_s = 0 gives (0, 0).
    """
    sigma_up = min(sigma_s, eta * sigma_s * math.sqrt(max(sigma_t**2 - sigma_s**2, 0.0)) / sigma_t)
    return sigma_up, math.sqrt(max(sigma_s**2 - sigma_up**2, 0.0))


def euler_ancestral_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, num_steps: int = 20,
                          spacing: str = "karras", timesteps: Sequence[int] | None = None, eta: float = 1.0,
                          clip_x0: float | None = None, generator: torch.Generator | None = None
                          ) -> Iterator[SigmaStep]:
    r"""Euler ancestral ("Euler a"): a deterministic Euler step down to σ_down < σ_s, then fresh noise
    back up to σ_s (:func:`ancestral_sigmas`),

        σ_up = min(σ_s, η σ_s √(σ_t² − σ_s²)/σ_t),   σ_down = √(σ_s² − σ_up²),
        x̃_s = x̃_t + (σ_down − σ_t) ε̂ + σ_up z.

    Every step injects new randomness, so the sample changes with the step count instead of settling
    on one image; with η = 1 it is DDIM with η = 1 (the same noise per step: same generator, same
    result to round-off), with η = 0 it is Euler. One network call per step.
    """
    if not 0.0 <= float(eta) <= 1.0:
        raise ValueError(f"eta must lie in [0, 1] (1: full ancestral noise, 0: plain Euler), got {eta}.")
    den, taus, x = _sigma_call(eps_model, schedule, x_T, num_steps, spacing, timesteps, clip_x0, generator)
    return _euler_ancestral_loop(den, taus, x, float(eta), generator)


def _euler_ancestral_loop(den, taus, x, eta, generator) -> Iterator[SigmaStep]:
    xt = x / den.scale[taus[0]]
    for i, t in enumerate(taus):
        s = taus[i + 1] if i + 1 < len(taus) else -1
        eps, x0 = den(xt, t)
        sigma_t, sigma_s = den.sigma[t], den.level(s)[0]
        sigma_up, sigma_down = ancestral_sigmas(sigma_t, sigma_s, eta)
        x_next = xt + (sigma_down - sigma_t) * eps
        if s >= 0:   # drawn even when σ_up = 0 (η = 0), so the generator's stream does not depend on η
            x_next = x_next + sigma_up * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        step = _sigma_step(den, t, s, x, x_next, x0, eps, noise_std=sigma_up)
        yield step
        x, xt = step.x_prev, x_next


#: The σ-space samplers by name (what ``sigma_sampler_steps`` takes).
SIGMA_SAMPLERS: dict[str, Callable[..., Iterator[SigmaStep]]] = {
    "euler": euler_steps, "heun": heun_steps, "dpmpp_2m": dpmpp_2m_steps, "euler_ancestral": euler_ancestral_steps,
}
#: Display names, as image-generation apps spell them.
SAMPLER_LABELS = {"euler": "Euler", "heun": "Heun", "dpmpp_2m": "DPM++ 2M", "euler_ancestral": "Euler a"}
#: The order of each ODE sampler's global error in the step size (Euler ancestral is stochastic: its
#: error is not a smooth function of the steps, so it has no such order).
SAMPLER_ORDERS = {"euler": 1, "heun": 2, "dpmpp_2m": 2}


def sigma_sampler_steps(name: str, eps_model: EpsModel, schedule: NoiseSchedule, x_T, **kwargs) -> Iterator[SigmaStep]:
    """Run the σ-space sampler called ``name`` (one of :data:`SIGMA_SAMPLERS`) with its keyword arguments."""
    if name not in SIGMA_SAMPLERS:
        raise unknown_name("sampler", name, tuple(SIGMA_SAMPLERS))
    return SIGMA_SAMPLERS[name](eps_model, schedule, x_T, **kwargs)


def sigma_sample(name: str, eps_model: EpsModel, schedule: NoiseSchedule, x_T, **kwargs) -> torch.Tensor:
    """Generated x0 from :func:`sigma_sampler_steps` (same arguments)."""
    return final(sigma_sampler_steps(name, eps_model, schedule, x_T, **kwargs))


def calls_per_run(name: str, num_steps: int) -> int:
    """Network calls a sampler makes over a grid of ``num_steps`` code steps: 2N − 1 for Heun, else N."""
    if name not in SIGMA_SAMPLERS and name not in ("ddim", "ddpm"):
        raise unknown_name("sampler", name, tuple(SIGMA_SAMPLERS) + ("ddim", "ddpm"))
    num_steps = check_num_steps(num_steps)
    return 2 * num_steps - 1 if name == "heun" else num_steps


def steps_for_calls(name: str, max_calls: int) -> int:
    """The most steps ``name`` can take within ``max_calls`` network calls (inverse of :func:`calls_per_run`)."""
    max_calls = check_num_steps(max_calls)
    steps = (max_calls + 1) // 2 if name == "heun" else max_calls
    calls_per_run(name, steps)          # checks the name
    return steps


# ---------------------------------------------------------------------------------------------
# Measuring samplers: quality against network calls, and convergence order on Gaussian data
# ---------------------------------------------------------------------------------------------
def samples_vs_calls(eps_model: EpsModel, schedule: NoiseSchedule, x_T: torch.Tensor,
                     samplers: Sequence[str] = tuple(SIGMA_SAMPLERS), budgets: Sequence[int] = (4, 10, 20, 50),
                     spacing: str = "karras", seed: int = 0, clip_x0: float | None = None
                     ) -> dict[str, dict[int, torch.Tensor]]:
    """{sampler: {network calls made: samples}} from the same x_T, for each budget of calls.

    Each budget gets the most steps that fit it (:func:`steps_for_calls`); the key is the number of calls
    actually made (counted, so a Karras grid that merged steps shows its true cost). Stochastic samplers
    get a fresh generator seeded ``seed`` for every run.
    """
    if not isinstance(x_T, torch.Tensor):
        raise TypeError(f"x_T must be a tensor of starting noise (one x_T for every run), got {type(x_T).__name__}.")
    out: dict[str, dict[int, torch.Tensor]] = {}
    for name in samplers:
        runs = out.setdefault(name, {})
        for budget in budgets:
            steps = min(steps_for_calls(name, int(budget)), schedule.T)
            last = None
            for step in sigma_sampler_steps(name, eps_model, schedule, x_T.clone(), num_steps=steps,
                                            spacing=spacing, clip_x0=clip_x0, generator=make_generator(seed)):
                last = step
            runs.setdefault(last.nfe, last.x_prev)
    return out


def gaussian_flow_solution(dist: GaussianMixture, schedule: NoiseSchedule, x_T: torch.Tensor,
                           t_end: int | None = None, t_start: int | None = None) -> torch.Tensor:
    r"""The exact solution of the probability-flow ODE from x_T at code step ``t_start`` (default T−1) for
    Gaussian data N(μ, Σ) (a one-component :class:`GaussianMixture`), in float64.

    There ε*(x̃, σ) = σ (Σ + σ²I)⁻¹ (x̃ − μ), and dx̃/dσ = ε* is solved by

        x̃(σ) − μ = (Σ + σ²I)^{1/2} (Σ + σ_start² I)^{−1/2} (x̃_start − μ),   x̃_start = x_T/√ᾱ_start.

    Returns x_t = √ᾱ_t x̃(σ_t) at code step ``t_end``, or, with ``t_end=None``, the end point x0 = x̃(0).
    """
    if getattr(dist, "K", None) != 1:
        raise ValueError("the closed-form ODE solution needs Gaussian data: a GaussianMixture with one component "
                         "(e.g. make_distribution('gaussian_2d')).")
    t_start = schedule.T - 1 if t_start is None else check_timestep(t_start, schedule.T, "t_start")
    x = torch.as_tensor(x_T).to(torch.float64)
    if x.dim() != 2 or x.shape[1] != dist.dim:
        raise ValueError(f"x_T must have shape (n, {dist.dim}), got {tuple(x.shape)}.")
    sigmas = sigmas_of(schedule)
    sigma2_start = float(sigmas[t_start]) ** 2
    if t_end is None:
        sigma2_end, scale_end = 0.0, 1.0
    else:
        t_end = check_timestep(t_end, schedule.T, "t_end")
        sigma2_end, scale_end = float(sigmas[t_end]) ** 2, float(schedule.sqrt_alphas_cumprod[t_end])
    evals, evecs = torch.linalg.eigh(dist.covs[0])
    evals = evals.clamp(min=0)
    gain = evecs @ torch.diag((evals + sigma2_end).sqrt() / (evals + sigma2_start).sqrt()) @ evecs.T
    mu = dist.means[0]
    x_tilde = x / float(schedule.sqrt_alphas_cumprod[t_start])
    return scale_end * (mu + (x_tilde - mu) @ gain.T)


def convergence_errors(name: str, dist: GaussianMixture, schedule: NoiseSchedule, x_T: torch.Tensor,
                       step_counts: Sequence[int] = (10, 20, 40, 80), spacing: str = "karras"
                       ) -> dict[int, float]:
    """{steps: error} of a σ-space ODE sampler on Gaussian data, run in float64 from x_T.

    The error is the root-mean-square distance, at the lowest level the network knows, σ_1 (code index 0,
    where every grid ends before the final jump to σ_0 = 0), between the sampler's x_1 and the exact ODE
    solution (:func:`gaussian_flow_solution`). Measured there because the final jump from σ_1 to σ_0 = 0
    has the same size for every N: its error does not shrink with more steps and would hide the order.
    Keys are the numbers of steps actually taken (a fine Karras grid can merge steps).
    """
    exact = gaussian_flow_solution(dist, schedule, x_T, t_end=0)
    eps_model = dist.eps_model(schedule)
    out = {}
    for k in step_counts:
        taus = sigma_timesteps(schedule, int(k), spacing)
        if taus[-1] != 0:
            raise ValueError(f"the grid of {k} steps does not end at code step 0: {taus[-3:]}")
        at_zero = None
        for step in sigma_sampler_steps(name, eps_model, schedule, torch.as_tensor(x_T).to(torch.float64).clone(),
                                        timesteps=taus):
            if step.t == 0:
                at_zero = step.x_t
        out[len(taus)] = float((at_zero - exact).pow(2).sum(1).mean().sqrt())
    return out


def convergence_order(step_counts: Sequence[int], errors: Sequence[float]) -> float:
    """The measured order p of error ≈ C·N^(−p): minus the least-squares slope of log(error) against
    log(N). Needs at least two distinct step counts and positive errors."""
    n = np.asarray(list(step_counts), dtype=np.float64)
    e = np.asarray(list(errors), dtype=np.float64)
    if n.shape != e.shape or n.size < 2 or np.unique(n).size < 2:
        raise ValueError(f"give matching lists of at least two different step counts and their errors, got "
                         f"{n.size} step counts and {e.size} errors.")
    if not (np.all(n > 0) and np.all(e > 0) and np.all(np.isfinite(e))):
        raise ValueError("step counts and errors must be positive finite numbers (log-log fit).")
    slope = np.polyfit(np.log(n), np.log(e), 1)[0]
    return float(-slope)


# ---------------------------------------------------------------------------------------------
# Langevin dynamics: sampling with the score alone
# ---------------------------------------------------------------------------------------------
def score_from_eps(schedule: NoiseSchedule, eps: torch.Tensor, t: int) -> torch.Tensor:
    """∇ log q_t(x_t) = −ε̂/√(1−ᾱ_t) (Tweedie: ε* = −√(1−ᾱ_t) ∇ log q_t)."""
    t = check_timestep(t, schedule.T)
    return -eps / float(schedule.sqrt_one_minus_alphas_cumprod[t])


def langevin_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_init, t: int, num_steps: int = 100,
                   step_size: float = 0.01, generator: torch.Generator | None = None) -> Iterator[SamplerStep]:
    r"""Langevin dynamics at the fixed noise level of step t, towards q_t:

        x ← x + (δ/2) ∇ log q_t(x) + √δ z,   ∇ log q_t = −ε̂/√(1−ᾱ_t),   z ~ N(0, I).

    For small δ and many steps the samples are distributed as q_t — within each basin: probability mass
    moves between well separated modes only through rare crossings, so the modes keep the weights the
    starting points gave them. Yields one :class:`SamplerStep` per update (t_prev = t).
    """
    _check_call(eps_model, schedule, x_init)
    t = check_timestep(t, schedule.T)
    if not float(step_size) > 0:
        raise ValueError(f"step_size δ must be positive (try 0.01), got {step_size}.")
    return _langevin_loop(eps_model, schedule, _initial_x(x_init, generator), [t] * check_num_steps(num_steps),
                          [float(step_size)] * num_steps, generator)


def annealed_langevin_steps(eps_model: EpsModel, schedule: NoiseSchedule, x_T, levels: Sequence[int] | None = None,
                            steps_per_level: int = 5, step_scale: float = 0.1,
                            generator: torch.Generator | None = None) -> Iterator[SamplerStep]:
    r"""Annealed Langevin dynamics (Song & Ermon, 2019): a few Langevin updates at each noise level, from
    high t down to t = 0, with step size δ_t = step_scale·(1−ᾱ_t) (∝ the noise variance of the level).

    At high t the modes overlap and samples move freely between them, so each level hands the next one
    correctly weighted samples. ``levels``: descending code steps (default: 100 evenly spaced from T−1
    to 0). Uses only the score ∇ log q_t — no reverse process, no x̂0.
    """
    _check_call(eps_model, schedule, x_T)
    taus = list(levels) if levels is not None else ddim_timesteps(schedule.T, min(100, schedule.T))
    taus = _sigma_grid(schedule, 1, "uniform", taus)
    per = check_num_steps(steps_per_level)
    if not float(step_scale) > 0:
        raise ValueError(f"step_scale must be positive (try 0.1), got {step_scale}.")
    ts = [t for t in taus for _ in range(per)]
    deltas = [float(step_scale) * (1 - float(schedule.alphas_cumprod[t])) for t in ts]
    return _langevin_loop(eps_model, schedule, _initial_x(x_T, generator), ts, deltas, generator)


def _langevin_loop(eps_model, schedule, x, ts, deltas, generator) -> Iterator[SamplerStep]:
    sqrt_1m = schedule.sqrt_one_minus_alphas_cumprod.tolist()
    c_x0 = schedule.sqrt_recip_alphas_cumprod.tolist()
    c_eps = schedule.sqrt_recipm1_alphas_cumprod.tolist()
    for i, (t, delta) in enumerate(zip(ts, deltas)):
        eps = predict_eps(eps_model, x, t)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x_next = x - 0.5 * delta / sqrt_1m[t] * eps + delta ** 0.5 * noise
        yield SamplerStep(t=t, t_prev=ts[i + 1] if i + 1 < len(ts) else t, x_t=x, x_prev=x_next,
                          x0_pred=c_x0[t] * x - c_eps[t] * eps, eps=eps, sigma=delta ** 0.5)
        x = x_next
