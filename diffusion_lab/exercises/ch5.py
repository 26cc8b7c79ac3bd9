r"""Chapter 5 exercises — sampling.

q1  posterior_variance(betas): β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for every code t (β̃_0 = 0)
q2  ddpm_step(x_t, t, eps_hat, schedule, z): one ancestral DDPM step with σ_t² = β̃_t
q3  ddim_update(x_t, eps_hat, abar_t, abar_s): one deterministic DDIM step (η = 0)

Code steps run t = 0..T−1 (the papers' 1..T); ᾱ_{−1} = 1 (before the first step nothing is noised).
"""
from __future__ import annotations

import math

import torch

from ..schedules import make_schedule
from .base import Exercise, Incorrect, call_student, source_of

__all__ = ["q1", "q2", "q3", "reference_posterior_variance", "reference_ddpm_step", "reference_ddim_update"]

_SCHEDULE = make_schedule("linear", 1000)


def _tensor(out, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        try:
            out = torch.as_tensor(out)
        except Exception:
            raise Incorrect(f"{what} should return a torch tensor, got {type(out).__name__}.") from None
    return out.detach().to(torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    return tuple(a.shape) == tuple(b.shape) and bool(torch.allclose(a, b, rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------------------------
# q1 — β̃_t
# ---------------------------------------------------------------------------------------------
def reference_posterior_variance(betas):
    """β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for t = 0..T−1, with ᾱ_{−1} = 1 (so β̃_0 = 0)."""
    abar = torch.cumprod(1 - betas, dim=0)
    abar_prev = torch.cat([torch.ones(1, dtype=betas.dtype), abar[:-1]])
    return (1 - abar_prev) / (1 - abar) * betas


def _check_posterior_variance(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q1.check(posterior_variance) (no brackets).")
    for sched in (_SCHEDULE, make_schedule("cosine", 200)):
        betas = sched.betas.clone()
        out = _tensor(call_student(fn, betas.clone()), "posterior_variance")
        ref = reference_posterior_variance(betas)
        if tuple(out.shape) != (sched.T,):
            raise Incorrect(f"expected one β̃ per step, shape ({sched.T},), got {tuple(out.shape)}.")
        if _close(out, ref):
            continue
        abar = sched.alphas_cumprod
        prev = sched.alphas_cumprod_prev
        if _close(out, betas):
            raise Incorrect("you got β_t back: the ratio uses ᾱ_{t−1} on top and ᾱ_t below, "
                            "(1 − ᾱ_{t−1})/(1 − ᾱ_t) < 1, so β̃_t is a bit smaller than β_t.")
        if _close(out[1:], ref[1:]) and not math.isclose(float(out[0]), 0.0, abs_tol=1e-12):
            raise Incorrect(f"all right except t = 0: you got β̃_0 = {float(out[0]):.3g}, but before the first "
                            "step nothing is noised (ᾱ_{−1} = 1), so 1 − ᾱ_{−1} = 0 and β̃_0 = 0: the last "
                            "step of sampling adds no noise. Pad ᾱ_prev with a 1 at the front.")
        if _close(out, (1 - prev) / (1 - abar)):
            raise Incorrect("the factor β_t is missing: β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t.")
        if _close(out, (1 - abar) / (1 - prev).clamp(min=1e-300) * betas, rtol=1e-4) or not bool(torch.isfinite(out).all()):
            raise Incorrect("the ratio is upside down (or divides by 1 − ᾱ_{−1} = 0): it is "
                            "(1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous step on top.")
        shifted = torch.cat([torch.zeros(1, dtype=torch.float64), ref[:-1]])
        if _close(out, shifted) or _close(out[:-1], ref[1:]):
            raise Incorrect("off by one step: in code ᾱ_{t−1} is alphas_cumprod[t−1] for t ≥ 1 and 1 for t = 0; "
                            "your values are shifted by one index.")
        bad = int(torch.nonzero(~torch.isclose(out, ref, rtol=1e-5, atol=1e-7))[0])
        raise Incorrect(f"for {sched.name} (T = {sched.T}) the first wrong value is at t = {bad}: expected "
                        f"{float(ref[bad]):.6g}, got {float(out[bad]):.6g}.")


q1 = Exercise(
    "Exercise 5.1 — the posterior variance β̃_t",
    _check_posterior_variance,
    hint="ᾱ = torch.cumprod(1 − betas, 0); ᾱ_prev = torch.cat([torch.ones(1, dtype=betas.dtype), ᾱ[:-1]]); "
         "return (1 − ᾱ_prev)/(1 − ᾱ)·betas.",
    solution=source_of(reference_posterior_variance),
    reference=reference_posterior_variance,
)


# ---------------------------------------------------------------------------------------------
# q2 — one DDPM step
# ---------------------------------------------------------------------------------------------
def reference_ddpm_step(x_t, t, eps_hat, schedule, z):
    """x_{t−1} = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t + σ_t z with σ_t² = β̃_t (no noise at t = 0)."""
    beta = float(schedule.betas[t])
    alpha = float(schedule.alphas[t])
    abar = float(schedule.alphas_cumprod[t])
    mean = (x_t - beta / math.sqrt(1 - abar) * eps_hat) / math.sqrt(alpha)
    if t == 0:
        return mean
    sigma = math.sqrt(float(schedule.posterior_variance[t]))
    return mean + sigma * z


def _check_ddpm_step(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q2.check(ddpm_step) (no brackets).")
    sch = _SCHEDULE
    gen = torch.Generator().manual_seed(5)
    for t in (500, 10, 999, 1, 0):
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        z = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        out = _tensor(call_student(fn, x_t.clone(), t, eps_hat.clone(), sch, z.clone()), "ddpm_step")
        ref = reference_ddpm_step(x_t, t, eps_hat, sch, z)
        if _close(out, ref):
            continue
        if tuple(out.shape) != tuple(ref.shape):
            raise Incorrect(f"expected x_(t−1) with x_t's shape {tuple(ref.shape)}, got {tuple(out.shape)}.")
        b, a, ab = float(sch.betas[t]), float(sch.alphas[t]), float(sch.alphas_cumprod[t])
        abp = float(sch.alphas_cumprod_prev[t])
        mean = (x_t - b / math.sqrt(1 - ab) * eps_hat) / math.sqrt(a)
        x0_hat = (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)
        var_tilde = float(sch.posterior_variance[t])
        wrong = {
            "that is the template's sampler: √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z throws x_t away and redraws the "
            "noise from scratch at every step. Use the posterior mean (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t and add "
            "only σ_t·z.": math.sqrt(abp) * x0_hat + math.sqrt(1 - abp) * z,
            "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t "
            "(schedule.posterior_variance[t]). Both are valid choices, but they differ — mostly at small t.":
                mean + (math.sqrt(b) * z if t > 0 else 0.0),
            "you used the variance as the noise scale: multiply z by σ_t = √β̃_t, not by β̃_t.":
                mean + (var_tilde * z if t > 0 else 0.0),
            "the ε̂ coefficient must be β_t/√(1 − ᾱ_t), not β_t: the network predicts the TOTAL noise in x_t, of "
            "which only a part was added in the last step.": (x_t - b * eps_hat) / math.sqrt(a)
            + (math.sqrt(var_tilde) * z if t > 0 else 0.0),
            "the division by √α_t is missing: μ = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t.":
                x_t - b / math.sqrt(1 - ab) * eps_hat + (math.sqrt(var_tilde) * z if t > 0 else 0.0),
            "you returned the predicted x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t — a jump straight to the end, which is only "
            "E[x0 | x_t], a blurry average. One step goes from t to t − 1 only.": x0_hat,
            "you forgot to add the noise σ_t·z (for t > 0). Without it every step lands on the average of x_{t−1}: "
            "the samples shrink together.": mean,
        }
        if t == 0:
            wrong = {"at t = 0 (the last step) add no noise: the result is the sample itself, σ_0 = 0 "
                     "(β̃_0 = 0 anyway).": mean + math.sqrt(b) * z, **wrong}
        for hint, w in wrong.items():
            if _close(out, torch.as_tensor(w, dtype=torch.float64)):
                raise Incorrect(hint)
        raise Incorrect(f"at t = {t} your x_(t−1) differs from the reference by up to "
                        f"{float((out - ref).abs().max()):.3g}.")


q2 = Exercise(
    "Exercise 5.2 — one DDPM step",
    _check_ddpm_step,
    hint="Read β_t, α_t, ᾱ_t and β̃_t = schedule.posterior_variance[t] (as floats); mean = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t; "
         "return mean + √β̃_t·z for t > 0 and just the mean at t = 0.",
    solution=source_of(reference_ddpm_step),
    reference=reference_ddpm_step,
)


# ---------------------------------------------------------------------------------------------
# q3 — one DDIM step (η = 0)
# ---------------------------------------------------------------------------------------------
def reference_ddim_update(x_t, eps_hat, abar_t, abar_s):
    """x_s = √ᾱ_s·x̂0 + √(1−ᾱ_s)·ε̂ with x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t (η = 0: no fresh noise)."""
    x0_hat = (x_t - math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(abar_t)
    return math.sqrt(abar_s) * x0_hat + math.sqrt(1 - abar_s) * eps_hat


def _check_ddim(fn) -> None:
    if not callable(fn):
        raise Incorrect("pass your function itself: q3.check(ddim_update) (no brackets).")
    abar = _SCHEDULE.alphas_cumprod
    gen = torch.Generator().manual_seed(6)
    for t, s in ((999, 979), (500, 300), (40, 0), (20, -1)):
        a_t = float(abar[t])
        a_s = float(abar[s]) if s >= 0 else 1.0
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        out = _tensor(call_student(fn, x_t.clone(), eps_hat.clone(), a_t, a_s), "ddim_update")
        ref = reference_ddim_update(x_t, eps_hat, a_t, a_s)
        if _close(out, ref):
            continue
        if tuple(out.shape) != tuple(ref.shape):
            raise Incorrect(f"expected x_s with x_t's shape {tuple(ref.shape)}, got {tuple(out.shape)}.")
        x0_hat = (x_t - math.sqrt(1 - a_t) * eps_hat) / math.sqrt(a_t)
        wrong = {
            "you dropped the direction term √(1 − ᾱ_s)·ε̂: x_s is not clean yet, it must keep the noise level of "
            "step s, and with η = 0 that noise is the predicted ε̂ itself (not fresh noise).": math.sqrt(a_s) * x0_hat,
            "you returned x̂0 (a jump to the end). DDIM goes to the next visited step s: "
            "√ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂.": x0_hat,
            "the square roots are missing: the coefficients are √ᾱ_s and √(1 − ᾱ_s) (standard deviations), "
            "and x̂0 uses √ᾱ_t and √(1 − ᾱ_t).": a_s * (x_t - (1 - a_t) * eps_hat) / a_t + (1 - a_s) * eps_hat,
            "x̂0 is wrong: x̂0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, with ᾱ_t of the CURRENT step.":
                math.sqrt(a_s) * (x_t - math.sqrt(1 - a_s) * eps_hat) / math.sqrt(a_s) + math.sqrt(1 - a_s) * eps_hat,
            "ᾱ_t and ᾱ_s are swapped.": math.sqrt(a_t) * (x_t - math.sqrt(1 - a_s) * eps_hat) / math.sqrt(a_s)
            + math.sqrt(1 - a_t) * eps_hat,
        }
        for hint, w in wrong.items():
            if _close(out, torch.as_tensor(w, dtype=torch.float64)):
                raise Incorrect(hint)
        raise Incorrect(f"from t = {t} to s = {s} your x_s differs from √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ by up to "
                        f"{float((out - ref).abs().max()):.3g}.")


q3 = Exercise(
    "Exercise 5.3 — one DDIM step (η = 0)",
    _check_ddim,
    hint="First x̂0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, then x_s = √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ (math.sqrt on the floats).",
    solution=source_of(reference_ddim_update),
    reference=reference_ddim_update,
)
