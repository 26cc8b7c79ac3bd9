r"""The forward (noising) process and the exact posterior that reverses one step of it.

Shapes: x0, x_t, ε are (batch, ...). The argument ``t`` of these functions is a code index k = 0..T−1,
an int (the same for the whole batch) or a LongTensor (batch,): index k holds the maths' step t = k + 1
(so ᾱ_t is ``alphas_cumprod[t - 1]``). x0 is the clean data.

    q(x_t | x0)          = N(√ᾱ_t x0, (1−ᾱ_t) I)                   -> q_sample
    q(x_t | x_{t−1})     = N(√α_t x_{t−1}, β_t I)                   -> q_step
    q(x_{t−1} | x_t, x0) = N(c1_t x0 + c2_t x_t, β̃_t I)             -> q_posterior
    x0 = (x_t − √(1−ᾱ_t) ε)/√ᾱ_t                                    -> predict_start_from_noise
"""
from __future__ import annotations

import torch

from .schedules import NoiseSchedule
from .validation import as_tensor, check_batch_t, check_finite, check_same_shape, check_timestep


def _prepare(schedule: NoiseSchedule, x: torch.Tensor, t, name: str = "x0"):
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                        f"got {type(schedule).__name__}.")
    x = as_tensor(x, name)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    check_finite(x, name)
    t = check_timestep(t, schedule.T)
    check_batch_t(t, x)
    return x, t


def _noise_like(x: torch.Tensor, noise, generator) -> torch.Tensor:
    if noise is None:
        return torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    noise = as_tensor(noise, "noise").to(dtype=x.dtype, device=x.device)
    check_same_shape(x, noise, ("x", "noise"))
    return noise


def q_sample(schedule: NoiseSchedule, x0, t, noise=None, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Sample x_t ~ q(x_t | x0) in one closed-form step: x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, ε ~ N(0, I).

    Args:
        x0: clean data, (batch, ...).
        t: the code index k = t − 1 of the maths' step t (pass ``t - 1``), an int or LongTensor (batch,),
            each in [0, T); ᾱ_t is read at that index.
        noise: the ε to use (same shape as x0); drawn from ``generator`` if None.
    Returns: x_t with x0's shape and dtype.
    """
    x0, t = _prepare(schedule, x0, t, "x0")
    eps = _noise_like(x0, noise, generator)
    return (schedule.gather("sqrt_alphas_cumprod", t, x0) * x0
            + schedule.gather("sqrt_one_minus_alphas_cumprod", t, x0) * eps)


def q_step(schedule: NoiseSchedule, x_prev, t, noise=None, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""One forward step x_t ~ q(x_t | x_{t−1}): x_t = √α_t x_{t−1} + √β_t ε.

    ``t`` is the code index k = t − 1; ``x_prev`` is x_{t−1} (for k = 0, the maths' t = 1, that is x0 itself).
    """
    x_prev, t = _prepare(schedule, x_prev, t, "x_prev")
    eps = _noise_like(x_prev, noise, generator)
    return schedule.gather("sqrt_alphas", t, x_prev) * x_prev + schedule.gather("betas", t, x_prev).sqrt() * eps


def q_trajectory(schedule: NoiseSchedule, x0, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Noise x0 step by step through all T steps.

    Returns a tensor (T + 1, batch, ...): entry 0 is x0 and entry t is x_t for the maths' t = 1..T (the step
    at code index t − 1).
    """
    x0, _ = _prepare(schedule, x0, 0, "x0")
    out = torch.empty((schedule.T + 1, *x0.shape), dtype=x0.dtype, device=x0.device)
    out[0] = x0
    noise = torch.randn(out[1:].shape, generator=generator, dtype=x0.dtype, device=x0.device)
    a = schedule.sqrt_alphas.to(x0.dtype)
    b = schedule.betas.sqrt().to(x0.dtype)
    for k in range(schedule.T):
        out[k + 1] = a[k] * out[k] + b[k] * noise[k]
    return out


def q_posterior(schedule: NoiseSchedule, x0, x_t, t):
    r"""The exact posterior q(x_{t−1} | x_t, x0) = N(μ̃_t, β̃_t I).

    μ̃_t = β_t √ᾱ_{t−1}/(1−ᾱ_t) · x0 + (1−ᾱ_{t−1}) √α_t/(1−ᾱ_t) · x_t,   β̃_t = (1−ᾱ_{t−1})/(1−ᾱ_t) · β_t.

    Returns (mean, variance, log_variance): mean has x_t's shape; variance and log_variance are
    broadcastable to it (log_variance is clipped at code index k = 0, the maths' t = 1, where β̃_1 = 0).
    """
    x_t, t = _prepare(schedule, x_t, t, "x_t")
    x0 = as_tensor(x0, "x0").to(dtype=x_t.dtype, device=x_t.device)
    check_same_shape(x0, x_t, ("x0", "x_t"))
    check_finite(x0, "x0")
    mean = schedule.gather("posterior_mean_coef1", t, x_t) * x0 + schedule.gather("posterior_mean_coef2", t, x_t) * x_t
    var = schedule.gather("posterior_variance", t, x_t)
    log_var = schedule.gather("posterior_log_variance_clipped", t, x_t)
    return mean, var, log_var


def q_posterior_sample(schedule: NoiseSchedule, x0, x_t, t, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw x_{t−1} ~ q(x_{t−1} | x_t, x0). At code index k = 0 (the maths' t = 1) this returns x0 exactly (β̃_1 = 0)."""
    mean, var, _ = q_posterior(schedule, x0, x_t, t)
    noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
    return mean + var.sqrt() * noise


def predict_start_from_noise(schedule: NoiseSchedule, x_t, t, eps) -> torch.Tensor:
    r"""x̂0 = (x_t − √(1−ᾱ_t) ε)/√ᾱ_t: the clean sample implied by a noise (prediction) ε."""
    x_t, t = _prepare(schedule, x_t, t, "x_t")
    eps = as_tensor(eps, "eps").to(dtype=x_t.dtype, device=x_t.device)
    check_same_shape(x_t, eps, ("x_t", "eps"))
    return (schedule.gather("sqrt_recip_alphas_cumprod", t, x_t) * x_t
            - schedule.gather("sqrt_recipm1_alphas_cumprod", t, x_t) * eps)


def predict_noise_from_start(schedule: NoiseSchedule, x_t, t, x0) -> torch.Tensor:
    r"""ε = (x_t − √ᾱ_t x0)/√(1−ᾱ_t): the noise that turns x0 into x_t in one closed-form step."""
    x_t, t = _prepare(schedule, x_t, t, "x_t")
    x0 = as_tensor(x0, "x0").to(dtype=x_t.dtype, device=x_t.device)
    check_same_shape(x_t, x0, ("x_t", "x0"))
    return ((x_t - schedule.gather("sqrt_alphas_cumprod", t, x_t) * x0)
            / schedule.gather("sqrt_one_minus_alphas_cumprod", t, x_t))


def marginal_moments(schedule: NoiseSchedule, t, x0_mean=0.0, x0_var=0.0):
    r"""The closed-form mean and (co)variance of x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, the one home of this formula.

        E[x_t] = √ᾱ_t E[x0],    Cov[x_t] = ᾱ_t Cov[x0] + (1 − ᾱ_t) I.

    Args:
        t: one code step (int), or several (a sequence or 1D LongTensor of length S; the results then
            get a leading axis S, e.g. ``torch.arange(schedule.T)`` for every t).
        x0_mean: E[x0]: a number, or a tensor (..., d) (e.g. the K component means of a mixture).
        x0_var: Var[x0] per coordinate (a number or a tensor (..., d)), or a covariance matrix
            (..., d, d) — any tensor with 2 or more axes is read as covariance matrices, and I is added.
    Returns:
        (mean, var) as float64 tensors: shapes of x0_mean and x0_var, with the leading S for several t.
    """
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(f"schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                        f"got {type(schedule).__name__}.")
    if isinstance(t, (list, tuple, range)):
        t = torch.as_tensor(list(t), dtype=torch.long)
    t = check_timestep(t, schedule.T)
    abar = schedule.alphas_cumprod[t]                                   # () or (S,)
    mean = torch.as_tensor(x0_mean, dtype=torch.float64)
    var = torch.as_tensor(x0_var, dtype=torch.float64)
    if var.dim() >= 2 and mean.dim() >= 1 and mean.shape[-1] != var.shape[-1]:
        raise ValueError(f"x0_mean has d = {mean.shape[-1]} coordinates but x0_var is a "
                         f"{tuple(var.shape[-2:])} covariance matrix: give a ({mean.shape[-1]}, "
                         f"{mean.shape[-1]}) covariance.")
    if var.dim() >= 2 and var.shape[-1] != var.shape[-2]:
        raise ValueError(f"a covariance matrix must be square, got shape {tuple(var.shape)}.")

    def per_t(a: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return a.reshape(a.shape + (1,) * like.dim())                   # broadcast ᾱ over like's axes

    noise_var = torch.eye(var.shape[-1], dtype=torch.float64) if var.dim() >= 2 else torch.tensor(1.0, dtype=var.dtype)
    return per_t(abar, mean).sqrt() * mean, per_t(abar, var) * var + per_t(1.0 - abar, var) * noise_var


# ---------------------------------------------------------------------------------------------
# Many x_t at once (one ε for every t), and x_t the long way round (one step at a time)
# ---------------------------------------------------------------------------------------------
def _steps(ts, T: int) -> torch.Tensor:
    """Code steps ``ts`` (a sequence, range or 1D LongTensor) as a checked 1D LongTensor."""
    ts = torch.as_tensor(ts if isinstance(ts, torch.Tensor) else list(ts), dtype=torch.long)
    if ts.dim() != 1 or ts.numel() == 0:
        raise ValueError(f"ts must be a non-empty 1D sequence of code steps, e.g. range({T}), "
                         f"got shape {tuple(ts.shape)}.")
    return check_timestep(ts, T, "ts")


def _closed_form(x0: torch.Tensor, eps: torch.Tensor, sqrt_abar: torch.Tensor, sqrt_one_minus_abar: torch.Tensor):
    """√ᾱ x0 + √(1−ᾱ) ε for a table of coefficients (..., K) (float64, cast to x0's dtype first, as
    :func:`q_sample` does): returns (..., K, *x0.shape)."""
    shape = sqrt_abar.shape + (1,) * x0.dim()                           # broadcast over x0's axes
    a = sqrt_abar.to(dtype=x0.dtype, device=x0.device).reshape(shape)
    b = sqrt_one_minus_abar.to(dtype=x0.dtype, device=x0.device).reshape(shape)
    return a * x0 + b * eps


def q_sample_steps(schedule: NoiseSchedule, x0, ts, noise=None,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε at every code index k in ``ts`` (the maths' t = k + 1), with the SAME ε.

    One ε for all t, so each point moves continuously as t grows (a slider over t is then an index).

    Args:
        x0: clean data, (batch, ...).
        ts: code indices, each in [0, T): a sequence, a ``range`` (``range(schedule.T)`` for all of
            them) or a 1D LongTensor.
        noise: the ε to use (x0's shape); drawn from ``generator`` if None.
    Returns: (len(ts), batch, ...) in x0's dtype; entry i equals ``q_sample(schedule, x0, ts[i], noise)``.
    """
    x0, _ = _prepare(schedule, x0, 0, "x0")
    eps = _noise_like(x0, noise, generator)
    ts = _steps(ts, schedule.T)
    return _closed_form(x0, eps, schedule.sqrt_alphas_cumprod[ts], schedule.sqrt_one_minus_alphas_cumprod[ts])


def q_sample_grid(schedules, x0, ts, noise=None, generator: torch.Generator | None = None) -> torch.Tensor:
    r""":func:`q_sample_steps` under several schedules with the same x0 and the same ε, so the rows
    differ only through ᾱ_t (chapter 3's comparison). Checked once, computed in one broadcast.

    Args:
        schedules: {name: NoiseSchedule}, e.g. ``schedules.make_schedules()``; rows follow its order.
        x0: clean data (batch, ...); ts and noise as in :func:`q_sample_steps` (every t must exist in
            every schedule).
    Returns: (len(schedules), len(ts), batch, ...) in x0's dtype.
    """
    if not schedules:
        raise ValueError("schedules is empty: give a dict {name: NoiseSchedule}, e.g. "
                         "diffusion_lab.schedules.make_schedules().")
    for s in schedules.values():
        if not isinstance(s, NoiseSchedule):
            raise TypeError(f"every schedule must be a NoiseSchedule (make one with make_schedule('linear', T)), "
                            f"got {type(s).__name__}.")
    x0, _ = _prepare(next(iter(schedules.values())), x0, 0, "x0")
    eps = _noise_like(x0, noise, generator)                              # one ε for every row
    ts = _steps(ts, min(s.T for s in schedules.values()))
    return _closed_form(x0, eps, torch.stack([s.sqrt_alphas_cumprod[ts] for s in schedules.values()]),
                        torch.stack([s.sqrt_one_minus_alphas_cumprod[ts] for s in schedules.values()]))


def q_sample_chain(schedule: NoiseSchedule, x0, t: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""x_t the long way round: t + 1 small steps x_s = √α_s x_{s−1} + √β_s ε_s (s = 0..t, a fresh ε_s
    each), keeping only the last.

    It has the distribution of :func:`q_sample`'s single jump, which is why training needs one noising
    step per example (chapter 4 checks this statistically). Unlike :func:`q_trajectory` it keeps no
    intermediate steps, so it stays small for a large batch. Same draws as t + 1 calls of
    :func:`q_step` with ``generator``.
    """
    x, t = _prepare(schedule, x0, t, "x0")
    if not isinstance(t, int):
        raise TypeError(f"t must be one int step for the whole batch here, got a tensor of shape {tuple(t.shape)}.")
    sqrt_alphas = schedule.sqrt_alphas.to(dtype=x.dtype, device=x.device)
    sqrt_betas = schedule.betas.to(dtype=x.dtype, device=x.device).sqrt()
    for s in range(t + 1):
        eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x = sqrt_alphas[s] * x + sqrt_betas[s] * eps
    return x
