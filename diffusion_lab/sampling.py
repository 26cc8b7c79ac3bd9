r"""Reverse-process samplers, written as generators that yield every step.

One code path serves the final sample, a slider over the reverse steps, an animation and the tests:

    for step in ddpm_steps(eps_model, schedule, x_T): ...   # step.x_t, step.x0_pred, step.x_prev
    x0 = ddpm_sample(eps_model, schedule, (1000, 2))        # just the end

``eps_model(x_t, t)`` is any callable taking x_t (batch, ...) and a LongTensor t (batch,) and
returning ε̂ with x_t's shape: a trained network, or the exact ε* of a known mixture
(``GaussianMixture.eps_model``).

DDPM (Ho et al., 2020), one step from code step t to t−1:
    x̂0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t
    x_{t−1} = μ̃_t(x̂0, x_t) + σ_t z,   σ_t² = β̃_t ("beta_tilde") or β_t ("beta"), no noise at t = 0.
DDIM (Song et al., 2021) over a descending subsequence τ, from τ_i = t to τ_{i+1} = s (s = −1: ᾱ = 1):
    σ = η √((1−ᾱ_s)/(1−ᾱ_t)) √(1 − ᾱ_t/ᾱ_s)
    x_s = √ᾱ_s x̂0 + √(1−ᾱ_s−σ²) ε̂ + σ z.
With η = 1 over all T steps DDIM is DDPM with σ² = β̃_t.

Checks happen once, when a sampler is called; the step loops use per-step coefficients computed up
front and check only what the model returns (a diverging network fails on the step it diverges).
:func:`record` keeps every step of a run as numpy arrays (:class:`SamplingTrace`) for sliders.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

from .metrics import Quality, sample_quality
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
    """One reverse step: from x_t at code step ``t`` to x_prev at step ``t_prev`` (−1 means x0).

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
    check_finite(eps, "eps_model output" + (f" at t = {t}" if not isinstance(t, torch.Tensor) else ""))
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
    r"""Ancestral DDPM sampling, yielding a :class:`SamplerStep` for t = t_start, …, 0.

    Args:
        x_T: starting noise (batch, ...) or a shape to draw it with ``generator``.
        variance: "beta_tilde" (σ_t² = β̃_t, the exact posterior variance), "beta" (σ_t² = β_t), or
            "zero" (σ_t = 0: every step lands on the posterior mean; see :func:`ddpm_mean_steps`).
        clip_x0: clamp x̂0 to [−clip_x0, clip_x0] (1.0 for images in [−1, 1]); None for none.
        t_start: first step (default T−1); x_T is then taken to be a sample at that step.
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


def ddim_quality_curve(eps_model, schedule: NoiseSchedule, dist: GaussianMixture, x_T: torch.Tensor, reference,
                       step_counts: Sequence[int] = (10, 20, 50, 100, 250), eta: float = 0.0, seed: int = 0
                       ) -> dict[int, Quality]:
    """Quality (:func:`~diffusion_lab.metrics.sample_quality`) of DDIM samples from the same x_T for each
    number of steps (= network calls), each run with a fresh generator seeded ``seed``."""
    out = {}
    for k in step_counts:
        x = ddim_sample(eps_model, schedule, x_T.clone(), num_steps=int(k), eta=eta, generator=make_generator(seed))
        out[int(k)] = sample_quality(x, dist, reference)
    return out


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
