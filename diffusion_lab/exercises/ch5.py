r"""Chapter 5 exercises — sampling.

q1  posterior_variance(betas): β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for every code t (β̃_0 = 0)
q2  ddpm_step(schedule, x_t, t, eps_hat, z): one ancestral DDPM step with σ_t² = β̃_t
q3  ddim_update(x_t, abar_t, abar_s, eps_hat): one deterministic DDIM step (η = 0) from t to s
q4  sampling_loop(eps_model, schedule, x_T, generator): the whole DDPM loop, checked state by state
q5  ddim_variance(abar_t, abar_s, eta): DDIM's σ², and the derivation η = 1, s = t − 1 ⇒ β̃_t

Code steps run t = 0..T−1 (the papers' 1..T); ᾱ_{−1} = 1 (before the first step nothing is noised).
"""
from __future__ import annotations

import math

import torch

from ..schedules import make_schedule
from ..i18n import tr
from .base import (ATOL, RTOL, Exercise, Incorrect, Mistake, as_float64, call_student, check_close, close,
                   diagnose, max_abs_diff, require_callable, source_of)

__all__ = ["q1", "q2", "q3", "q4", "q5", "reference_posterior_variance", "reference_ddpm_step",
           "reference_ddim_update", "reference_sampling_loop", "reference_ddim_variance"]

_SCHEDULE = make_schedule("linear", 1000)


# ---------------------------------------------------------------------------------------------
# q1 — β̃_t
# ---------------------------------------------------------------------------------------------
def reference_posterior_variance(betas):
    """β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t for t = 0..T−1, with ᾱ_{−1} = 1 (so β̃_0 = 0)."""
    abar = torch.cumprod(1 - betas, dim=0)
    abar_prev = torch.cat([torch.ones(1, dtype=betas.dtype), abar[:-1]])
    return (1 - abar_prev) / (1 - abar) * betas


def _abar_and_prev(betas, first=None):
    """(ᾱ_t, ᾱ_{t−1}) for all t; ᾱ_{−1} = 1, or ``first`` (a mistake) in its place."""
    abar = torch.cumprod(1 - betas, 0)
    head = torch.ones(1, dtype=betas.dtype) if first is None else first(abar)
    return abar, torch.cat([head, abar[:-1]])


def _shifted_right(betas):
    ref = reference_posterior_variance(betas)
    return torch.cat([torch.zeros(1, dtype=ref.dtype), ref[:-1]])


def _shifted_left(betas):
    ref = reference_posterior_variance(betas)
    return torch.cat([ref[1:], ref[-1:]])


POSTERIOR_VARIANCE_MISTAKES = (
    Mistake(lambda betas: betas.clone(),
            "you got β_t back: the ratio uses ᾱ_{t−1} on top and ᾱ_t below, (1 − ᾱ_{t−1})/(1 − ᾱ_t) < 1, so β̃_t "
            "is a bit smaller than β_t."),
    Mistake(lambda betas: (lambda a, p: (1 - p) / (1 - a) * betas)(*_abar_and_prev(betas, lambda a: a[:1])),
            "all right except t = 0: your β̃_0 is not 0. Before the first step nothing is noised (ᾱ_{−1} = 1), so "
            "1 − ᾱ_{−1} = 0 and β̃_0 = 0: the last step of sampling adds no noise. Pad ᾱ_prev with a 1 at the "
            "front."),
    Mistake(lambda betas: (lambda a, p: (1 - p) / (1 - a))(*_abar_and_prev(betas)),
            "the factor β_t is missing: β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) · β_t."),
    Mistake(lambda betas: (lambda a, p: (1 - a) / (1 - p).clamp(min=1e-300) * betas)(*_abar_and_prev(betas)),
            "the ratio is upside down (or divides by 1 − ᾱ_{−1} = 0): it is (1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous "
            "step on top."),
    Mistake(_shifted_right,
            "off by one step: in code ᾱ_{t−1} is alphas_cumprod[t−1] for t ≥ 1 and 1 for t = 0; your values are "
            "shifted by one index."),
    Mistake(_shifted_left,
            "off by one step: in code ᾱ_{t−1} is alphas_cumprod[t−1] for t ≥ 1 and 1 for t = 0; your values are "
            "shifted by one index."),
)


def _check_posterior_variance(fn) -> None:
    require_callable(fn, "q1.check(posterior_variance)")
    for sched in (_SCHEDULE, make_schedule("cosine", 200)):
        betas = sched.betas.clone()
        out = as_float64(call_student(fn, betas.clone()), "β̃", (sched.T,), finite=False,
                         shape_fix="Return one β̃ per step.")
        if not bool(torch.isfinite(out).all()):
            raise Incorrect(tr("your β̃ contains NaN or inf: the ratio is probably upside down and divides by 1 − "
                               "ᾱ_{−1} = 0. It is (1 − ᾱ_{t−1}) / (1 − ᾱ_t), previous step on top."))
        ref = reference_posterior_variance(betas)
        bad = int(torch.argmax((out - ref).abs()))
        check_close(out, ref, POSTERIOR_VARIANCE_MISTAKES, betas,
                    otherwise=tr("for {name} (T = {T}) your β̃ is farthest off at t = {bad}: expected {want:.6g}, "
                                 "got {got:.6g}.",
                                 name=sched.name, T=sched.T, bad=bad, want=float(ref[bad]), got=float(out[bad])))


q1 = Exercise(
    "Exercise 5.1 — the posterior variance β̃_t",
    _check_posterior_variance,
    hints=[
        "β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t: you need ᾱ_t and ᾱ_{t−1} for every t, both made from betas.",
        "ᾱ = torch.cumprod(1 − betas, 0). ᾱ_{t−1} is the same tensor shifted right by one, with ᾱ_{−1} = 1 in "
        "front (before the first step nothing is noised), so β̃_0 = 0.",
        'Build ᾱ as the cumulative product of 1 − β along the steps. For ᾱ_{t−1}, put a 1 in front and drop the '
        "last entry (torch.cat joins the two pieces; keep betas' dtype). Then β̃ is the elementwise ratio times "
        'betas, as in the formula.',
    ],
    solution=source_of(reference_posterior_variance),
    reference=reference_posterior_variance,
    mistakes=POSTERIOR_VARIANCE_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q2 — one DDPM step
# ---------------------------------------------------------------------------------------------
def reference_ddpm_step(schedule, x_t, t, eps_hat, z):
    """x_{t−1} = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t + σ_t z with σ_t² = β̃_t (no noise at t = 0)."""
    beta = float(schedule.betas[t])
    alpha = float(schedule.alphas[t])
    abar = float(schedule.alphas_cumprod[t])
    mean = (x_t - beta / math.sqrt(1 - abar) * eps_hat) / math.sqrt(alpha)
    if t == 0:
        return mean
    sigma = math.sqrt(float(schedule.posterior_variance[t]))
    return mean + sigma * z


def _floats(schedule, t):
    """β_t, α_t, ᾱ_t, ᾱ_{t−1}, β̃_t as python floats."""
    return (float(schedule.betas[t]), float(schedule.alphas[t]), float(schedule.alphas_cumprod[t]),
            float(schedule.alphas_cumprod_prev[t]), float(schedule.posterior_variance[t]))


def _ddpm_mean(schedule, x_t, t, eps_hat):
    b, a, ab, _, _ = _floats(schedule, t)
    return (x_t - b / math.sqrt(1 - ab) * eps_hat) / math.sqrt(a)


def _x0_hat(schedule, x_t, t, eps_hat):
    ab = float(schedule.alphas_cumprod[t])
    return (x_t - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)


def _plus_noise(mean_of, scale_of):
    """A wrong step: ``mean_of(...)`` plus ``scale_of(β_t, α_t, ᾱ_t, ᾱ_{t−1}, β̃_t)``·z for t > 0."""
    def wrong(schedule, x_t, t, eps_hat, z):
        mean = mean_of(schedule, x_t, t, eps_hat)
        return mean + scale_of(*_floats(schedule, t)) * z if t > 0 else mean
    return wrong


def _sqrt_beta_tilde(b, a, ab, abp, bt):
    return math.sqrt(bt)


def _template_step(schedule, x_t, t, eps_hat, z):
    abp = float(schedule.alphas_cumprod_prev[t])
    return math.sqrt(abp) * _x0_hat(schedule, x_t, t, eps_hat) + math.sqrt(1 - abp) * z


def _per_step_noise_mean(schedule, x_t, t, eps_hat):
    b = float(schedule.betas[t])
    return (x_t - math.sqrt(b) * eps_hat) / math.sqrt(1 - b)


_PER_STEP_NOISE_HINT = (
    "you wrote x_{t−1} = (x_t − √β_t·ε̂)/√(1 − β_t): that undoes ONE forward step x_t = √(1 − β_t)·x_{t−1} + "
    "√β_t·ε as if ε̂ were the noise added in that step alone. But ε̂ estimates the TOTAL noise in x_t "
    "(x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε), of which the last step added only a part, so its coefficient is "
    "β_t/√(1 − ᾱ_t) (≈ 0.0105 at t = 500, against √β_t ≈ 0.1): the mean is (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√α_t, "
    "and then σ_t·z is added.")

DDPM_STEP_MISTAKES = (
    Mistake(lambda schedule, x_t, t, eps_hat, z: reference_ddpm_step(schedule, x_t, t, eps_hat, z) if t > 0
            else _ddpm_mean(schedule, x_t, t, eps_hat) + math.sqrt(float(schedule.betas[t])) * z,
            "at t = 0 (the last step) add no noise: the result is the sample itself, σ_0 = 0 (β̃_0 = 0 anyway)."),
    Mistake(_template_step,
            "that is the template's update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z: the predicted x̂0 put back at noise "
            "level t − 1 with all-fresh noise. It is a valid sampler — the end of the DDIM family with "
            "σ_t² = 1 − ᾱ_{t−1}, which keeps nothing of x_t's noise — but not the DDPM step this exercise asks "
            "for. DDPM keeps part of x_t through the posterior mean (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t and adds only "
            "σ_t·z with σ_t² = β̃_t."),
    Mistake(_plus_noise(_ddpm_mean, lambda b, a, ab, abp, bt: math.sqrt(b)),
            "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t "
            "(schedule.posterior_variance[t]). Both are valid choices, but they differ — mostly at small t."),
    Mistake(_plus_noise(_ddpm_mean, lambda b, a, ab, abp, bt: bt),
            "you used the variance as the noise scale: multiply z by σ_t = √β̃_t, not by β̃_t."),
    Mistake(_plus_noise(_per_step_noise_mean, _sqrt_beta_tilde), _PER_STEP_NOISE_HINT),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _per_step_noise_mean(schedule, x_t, t, eps_hat),
            _PER_STEP_NOISE_HINT),
    Mistake(_plus_noise(lambda s, x_t, t, e: (x_t - float(s.betas[t]) * e) / math.sqrt(float(s.alphas[t])),
                        _sqrt_beta_tilde),
            "the ε̂ coefficient must be β_t/√(1 − ᾱ_t), not β_t: the network predicts the TOTAL noise in x_t, of "
            "which only a part was added in the last step."),
    Mistake(_plus_noise(lambda s, x_t, t, e: _ddpm_mean(s, x_t, t, e) * math.sqrt(float(s.alphas[t])),
                        _sqrt_beta_tilde),
            "the division by √α_t is missing: μ = (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t."),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _x0_hat(schedule, x_t, t, eps_hat),
            "you returned the predicted x̂0 = (x_t − √(1−ᾱ_t)ε̂)/√ᾱ_t — a jump straight to the end, which is only "
            "E[x0 | x_t], a blurry average. One step goes from t to t − 1 only."),
    Mistake(lambda schedule, x_t, t, eps_hat, z: _ddpm_mean(schedule, x_t, t, eps_hat),
            "you forgot to add the noise σ_t·z (for t > 0). Without it every step lands on the average of x_{t−1}: "
            "the samples shrink together."),
)


def _check_ddpm_step(fn) -> None:
    require_callable(fn, "q2.check(ddpm_step)")
    sch = _SCHEDULE
    gen = torch.Generator().manual_seed(5)
    for t in (500, 10, 999, 1, 0):
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        z = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        out = as_float64(call_student(fn, sch, x_t.clone(), t, eps_hat.clone(), z.clone()), "x_(t−1)", x_t.shape,
                         shape_fix="One step keeps x_t's shape.")
        ref = reference_ddpm_step(sch, x_t, t, eps_hat, z)
        check_close(out, ref, DDPM_STEP_MISTAKES, sch, x_t, t, eps_hat, z,
                    otherwise=tr("at t = {t} your x_(t−1) differs from the reference by up to {max_abs_diff:.3g}.",
                                 t=t, max_abs_diff=max_abs_diff(out, ref)))


q2 = Exercise(
    "Exercise 5.2 — one DDPM step",
    _check_ddpm_step,
    hints=[
        "One DDPM step is the mean of x_{t−1} given x_t and the predicted noise ε̂, plus fresh noise σ_t·z — "
        "except at t = 0, the last step, which adds none.",
        "The mean is (x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t: ε̂ estimates the TOTAL noise in x_t, so its coefficient is "
        "β_t/√(1−ᾱ_t), not √β_t. σ_t² = β̃_t = schedule.posterior_variance[t].",
        'Read β, α and ᾱ at index t as python floats (float(...)) and take square roots with math.sqrt. Form the '
        'mean of hint 2; at t = 0 return it as it is, otherwise add √β̃_t times z.',
    ],
    solution=source_of(reference_ddpm_step),
    reference=reference_ddpm_step,
    mistakes=DDPM_STEP_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q3 — one DDIM step (η = 0)
# ---------------------------------------------------------------------------------------------
def reference_ddim_update(x_t, abar_t, abar_s, eps_hat):
    """x_s = √ᾱ_s·x̂0 + √(1−ᾱ_s)·ε̂ with x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t (η = 0: no fresh noise)."""
    x0_hat = (x_t - math.sqrt(1 - abar_t) * eps_hat) / math.sqrt(abar_t)
    return math.sqrt(abar_s) * x0_hat + math.sqrt(1 - abar_s) * eps_hat


def _x0_from(x_t, a, e):
    return (x_t - math.sqrt(1 - a) * e) / math.sqrt(a)


DDIM_MISTAKES = (
    Mistake(lambda x_t, a_t, a_s, e: math.sqrt(a_s) * _x0_from(x_t, a_t, e),
            "you dropped the direction term √(1 − ᾱ_s)·ε̂: x_s is not clean yet, it must keep the noise level of "
            "step s, and with η = 0 that noise is the predicted ε̂ itself (not fresh noise)."),
    Mistake(lambda x_t, a_t, a_s, e: _x0_from(x_t, a_t, e),
            "you returned x̂0 (a jump to the end). DDIM goes to the next visited step s: "
            "√ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂."),
    Mistake(lambda x_t, a_t, a_s, e: a_s * (x_t - (1 - a_t) * e) / a_t + (1 - a_s) * e,
            "the square roots are missing: the coefficients are √ᾱ_s and √(1 − ᾱ_s) (standard deviations), and "
            "x̂0 uses √ᾱ_t and √(1 − ᾱ_t)."),
    Mistake(lambda x_t, a_t, a_s, e: math.sqrt(a_s) * _x0_from(x_t, a_s, e) + math.sqrt(1 - a_s) * e,
            "x̂0 is wrong: x̂0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, with ᾱ_t of the CURRENT step."),
    Mistake(lambda x_t, a_t, a_s, e: reference_ddim_update(x_t, a_s, a_t, e),
            "ᾱ_t and ᾱ_s are swapped."),
)


def _check_ddim(fn) -> None:
    require_callable(fn, "q3.check(ddim_update)")
    abar = _SCHEDULE.alphas_cumprod
    gen = torch.Generator().manual_seed(6)
    for t, s in ((999, 979), (500, 300), (40, 0), (20, -1)):
        a_t = float(abar[t])
        a_s = float(abar[s]) if s >= 0 else 1.0
        x_t = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        eps_hat = torch.randn(8, 2, generator=gen, dtype=torch.float64)
        out = as_float64(call_student(fn, x_t.clone(), a_t, a_s, eps_hat.clone()), "x_s", x_t.shape,
                         shape_fix="One step keeps x_t's shape.")
        ref = reference_ddim_update(x_t, a_t, a_s, eps_hat)
        check_close(out, ref, DDIM_MISTAKES, x_t, a_t, a_s, eps_hat,
                    otherwise=tr("from t = {t} to s = {s} your x_s differs from √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂ by up to "
                                 "{max_abs_diff:.3g}.", t=t, s=s, max_abs_diff=max_abs_diff(out, ref)))


q3 = Exercise(
    "Exercise 5.3 — one DDIM step (η = 0)",
    _check_ddim,
    hints=[
        "DDIM with η = 0: predict the clean x̂0 from x_t and ε̂, then put it back at the noise level of step s, "
        "reusing ε̂ as the noise (no fresh noise).",
        "x̂0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t inverts x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε; then "
        "x_s = √ᾱ_s·x̂0 + √(1 − ᾱ_s)·ε̂. ᾱ_t and ᾱ_s are python floats: use math.sqrt.",
        'Two lines: first x̂0 from the inverted closed form (x_t minus √(1 − ᾱ_t)·ε̂, divided by √ᾱ_t); then the '
        'new sample, √ᾱ_s times x̂0 plus √(1 − ᾱ_s) times ε̂. At s = 0 (ᾱ_s = 1) it returns x̂0 itself.',
    ],
    solution=source_of(reference_ddim_update),
    reference=reference_ddim_update,
    mistakes=DDIM_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q4 — the whole DDPM sampling loop
# ---------------------------------------------------------------------------------------------
#: A short schedule for the loop exercise: 100 steps keep the check (and each typical mistake it
#: replays) to a fraction of a second; the cosine schedule reaches ᾱ ≈ 0 at T = 100.
_LOOP_SCHEDULE = make_schedule("cosine", 100)


def reference_sampling_loop(eps_model, schedule, x_T, generator):
    """DDPM (σ_t² = β̃_t) from x_T down to x_0; returns [x_T, x_{T−1}, …, x_0] (T + 1 tensors).

    Code indices k = T−1 … 0 stand for the papers' t = T … 1; fresh noise z (drawn with ``generator``)
    at every step except the last."""
    xs = [x_T]
    x = x_T
    for k in range(schedule.T - 1, -1, -1):
        t_batch = torch.full((x.shape[0],), k, dtype=torch.long)
        eps_hat = eps_model(x, t_batch)
        beta, alpha = float(schedule.betas[k]), float(schedule.alphas[k])
        abar = float(schedule.alphas_cumprod[k])
        mean = (x - beta / math.sqrt(1 - abar) * eps_hat) / math.sqrt(alpha)
        if k > 0:
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
            x = mean + math.sqrt(float(schedule.posterior_variance[k])) * z
        else:
            x = mean
        xs.append(x)
    return xs


def _loop_with(step, noise_at_last=False, papers_t=False):
    """A loop written the way a student might: ``step(schedule, x, k, eps_hat, z)`` for each k, z drawn
    as the reference does (and at k = 0 too with ``noise_at_last``); ``papers_t`` calls the network with
    the papers' t = k + 1 (the checker's network refuses it, naming the fix)."""
    def wrong(eps_model, schedule, x_T, generator):
        xs, x = [x_T], x_T
        for k in range(schedule.T - 1, -1, -1):
            eps_hat = eps_model(x, torch.full((x.shape[0],), k + 1 if papers_t else k, dtype=torch.long))
            draw = k > 0 or noise_at_last
            z = torch.randn(x.shape, generator=generator, dtype=x.dtype) if draw else torch.zeros_like(x)
            x = step(schedule, x, k, eps_hat, z)
            xs.append(x)
        return xs
    return wrong


def _step_sigma_at_last(schedule, x_t, t, eps_hat, z):
    return _ddpm_mean(schedule, x_t, t, eps_hat) + math.sqrt(float(schedule.betas[t])) * z


SAMPLING_LOOP_MISTAKES = (
    Mistake(_loop_with(lambda s, x, k, e, z: _ddpm_mean(s, x, k, e)),
            "every step lands on the mean: no fresh noise σ_t·z is added, so the samples lose their spread "
            "(chapter 5, section 2). Add √β̃_t·z with z = torch.randn(x.shape, generator=generator, dtype=x.dtype) "
            "at every step but the last."),
    Mistake(_loop_with(_step_sigma_at_last, noise_at_last=True),
            "the last step (code index 0, the papers' t = 1) must add no noise: its result is the sample x_0. "
            "Draw z only for k > 0, so your random numbers also stay in step with the reference's."),
    Mistake(_loop_with(_plus_noise(_per_step_noise_mean, _sqrt_beta_tilde)),
            _PER_STEP_NOISE_HINT),
    Mistake(_loop_with(lambda s, x, k, e, z: _template_step(s, x, k, e, z)),
            "that is the update √ᾱ_{t−1}·x̂0 + √(1 − ᾱ_{t−1})·z at every step: a valid sampler (the end of the DDIM "
            "family with all-fresh noise), but not DDPM. DDPM's step is the posterior mean "
            "(x_t − β_t/√(1−ᾱ_t)·ε̂)/√α_t plus √β̃_t·z."),
    Mistake(_loop_with(lambda s, x, k, e, z: _ddpm_mean(s, x, k, e) + math.sqrt(float(s.betas[k])) * z
                       if k > 0 else _ddpm_mean(s, x, k, e)),
            "your noise has σ_t² = β_t; this exercise asks for σ_t² = β̃_t (schedule.posterior_variance[k]). Both are "
            "valid DDPM samplers, but only β̃_t reproduces the reference step by step."),
)


def _loop_model():
    """The ring's exact ε* for the loop schedule: a cheap, deterministic eps_model(x_t, t) that refuses a
    step index outside 0 … T − 1 with the reason (the papers' t passed where code wants t − 1)."""
    from ..distributions import make_distribution

    exact = make_distribution("ring").eps_model(_LOOP_SCHEDULE)
    T = _LOOP_SCHEDULE.T

    def eps_model(x_t, t):
        t_max, t_min = int(torch.as_tensor(t).max()), int(torch.as_tensor(t).min())
        if t_max > T - 1 or t_min < 0:
            raise ValueError(tr("the network was called with step {step}, but code indices run 0 … T − 1 = {last}: "
                                "the papers' t = 1 … T is index k = t − 1. Loop `for k in range(schedule.T - 1, -1, "
                                "-1)` and pass k.", step=t_max if t_max > T - 1 else t_min, last=T - 1))
        return exact(x_t, t)
    return eps_model


def _stack_states(states, T: int, what: str) -> torch.Tensor:
    if isinstance(states, torch.Tensor) and states.ndim >= 2:
        states = list(states)
    if not isinstance(states, (list, tuple)):
        raise Incorrect(tr("return a list of the states [x_T, x_(T−1), …, x_0], got {type_name}.",
                           type_name=type(states).__name__))
    if len(states) != T + 1:
        raise Incorrect(tr("your list has {n} states; x_T plus one state after each of the T = {T} steps makes "
                           "{n_want}. The loop runs over the code indices k = T − 1, …, 0: `for k in range(schedule.T "
                           "- 1, -1, -1)` (range(T − 1, 0, −1) skips the last step).",
                           n=len(states), T=T, n_want=T + 1))
    return torch.stack([as_float64(s, what) for s in states])


def _check_sampling_loop(fn) -> None:
    require_callable(fn, "q4.check(sampling_loop)")
    sch, model = _LOOP_SCHEDULE, _loop_model()
    x_T = torch.randn(16, 2, generator=torch.Generator().manual_seed(11), dtype=torch.float64)

    def run(loop):
        return _stack_states(loop(model, sch, x_T.clone(), torch.Generator().manual_seed(12)), sch.T, "a state")

    got = run(lambda *a: call_student(fn, *a))
    want = run(reference_sampling_loop)
    if got.shape != want.shape:
        raise Incorrect(tr("each state must keep x_T's shape {shape}; yours have {got}.",
                           shape=tuple(x_T.shape), got=tuple(got.shape[1:])))
    if close(got, want):
        return
    diagnose(got, SAMPLING_LOOP_MISTAKES, run=run)
    differs = ((got - want).abs().flatten(1).amax(1) > ATOL + RTOL * want.abs().flatten(1).amax(1)).nonzero()
    j = int(differs[0])
    k = sch.T - j
    raise Incorrect(tr("your loop first differs from the package's DDPM after step k = {k} (the papers' t = {t}; "
                       "state {j} of your list), by up to {max_abs_diff:.3g}. Same x_T and the same generator give "
                       "the same noise only if z is drawn once per step, with torch.randn(x.shape, "
                       "generator=generator, dtype=x.dtype), for k > 0 only.",
                       k=k, t=k + 1, j=j, max_abs_diff=max_abs_diff(got[j], want[j])))


q4 = Exercise(
    "Exercise 5.4 — the whole sampling loop",
    _check_sampling_loop,
    hints=[
        "Start from x = x_T and keep a list of states. For each step from the noisiest to the last: ask the "
        "network for ε̂, take one DDPM step (exercise 5.2), append the result.",
        "Loop over the code indices from T − 1 down to 0 (code index k is the papers' t = k + 1). Call the "
        "network with a LongTensor that holds k once per example. Draw z only when k > 0, with torch.randn on x's "
        'shape and dtype and the generator you are given: the check replays the same generator, so the number and '
        'order of the draws must match.',
        "Inside the loop the step is exercise 5.2's: the mean from ε̂ with β, α and ᾱ at index k, plus √β̃ at "
        'index k times z, except at k = 0. Append each new x to the list that started with x_T and return it: T + '
        '1 states.',
    ],
    solution=source_of(reference_sampling_loop),
    reference=reference_sampling_loop,
    mistakes=SAMPLING_LOOP_MISTAKES,
)


# ---------------------------------------------------------------------------------------------
# q5 — a derivation: DDIM with η = 1 and one step back has σ² = β̃_t
# ---------------------------------------------------------------------------------------------
def reference_ddim_variance(abar_t, abar_s, eta):
    """σ² of a DDIM step from t to s: η²·(1 − ᾱ_s)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_s)."""
    return eta ** 2 * (1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s)


DDIM_VARIANCE_MISTAKES = (
    Mistake(lambda a_t, a_s, eta: math.sqrt(reference_ddim_variance(a_t, a_s, eta)),
            "that is σ, the standard deviation; the exercise asks for σ² (the formula in section 4 gives σ)."),
    Mistake(lambda a_t, a_s, eta: eta * (1 - a_s) / (1 - a_t) * (1 - a_t / a_s),
            "η enters squared: σ = η·√(…)·√(…), so σ² = η²·(1 − ᾱ_s)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_s)."),
    Mistake(lambda a_t, a_s, eta: eta ** 2 * (1 - a_s) / (1 - a_t) * (1 - a_s / a_t),
            "the last factor is 1 − ᾱ_t/ᾱ_s (= β_t when s = t − 1): the current step's ᾱ on top."),
    Mistake(lambda a_t, a_s, eta: eta ** 2 * (1 - a_t) / (1 - a_s) * (1 - a_t / a_s),
            "the ratio is upside down: (1 − ᾱ_s)/(1 − ᾱ_t), the earlier (less noisy) step s on top, which is < 1."),
    Mistake(lambda a_t, a_s, eta: eta ** 2 * (1 - a_t / a_s),
            "the factor (1 − ᾱ_s)/(1 − ᾱ_t) is missing: without it, η = 1 and s = t − 1 give β_t, not β̃_t."),
)


def _check_ddim_variance(fn) -> None:
    require_callable(fn, "q5.check(ddim_variance)")
    abar = _SCHEDULE.alphas_cumprod.tolist()
    for t, s, eta in ((999, 979, 1.0), (500, 300, 0.5), (40, 39, 1.0), (200, 100, 0.3)):
        out = as_float64(call_student(fn, abar[t], abar[s], eta), "σ²", ())
        ref = reference_ddim_variance(abar[t], abar[s], eta)
        check_close(out, torch.tensor(ref, dtype=torch.float64), DDIM_VARIANCE_MISTAKES, abar[t], abar[s], eta,
                    otherwise=tr("from t = {t} to s = {s} with η = {eta}: expected σ² = {ref:.6g}, got {out:.6g}.",
                                 t=t, s=s, eta=eta, ref=ref, out=float(out)))
    # the derivation, checked at every step: η = 1 and s = t − 1 give β̃_t
    prev = _SCHEDULE.alphas_cumprod_prev.tolist()
    got = torch.tensor([float(call_student(fn, abar[k], prev[k], 1.0)) if k > 0 else 0.0
                        for k in range(_SCHEDULE.T)], dtype=torch.float64)
    if not close(got, _SCHEDULE.posterior_variance):
        raise Incorrect(tr("with η = 1 and s = t − 1 your σ² should equal β̃_t at every step, and does not."))


q5 = Exercise(
    "Exercise 5.5 — DDIM with η = 1 is DDPM's β̃_t",
    _check_ddim_variance,
    hints=[
        "Square the σ of section 4. Then, on paper, put s = t − 1 and use ᾱ_t/ᾱ_{t−1} = α_t = 1 − β_t.",
        "σ² = η²·(1 − ᾱ_s)/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_s). With s = t − 1 the last factor is 1 − α_t = β_t, and with "
        "η = 1 what is left is (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t = β̃_t.",
        'It is one product of three factors: η², (1 − ᾱ_s)/(1 − ᾱ_t), and 1 − ᾱ_t/ᾱ_s, all python floats. Take no '
        'square root: the function returns the variance σ², not σ.',
    ],
    solution=source_of(reference_ddim_variance),
    reference=reference_ddim_variance,
    mistakes=DDIM_VARIANCE_MISTAKES,
)
